//! Group commit: one thread owns the SQLite write connection and runs every write job it
//! finds waiting in one transaction, so many concurrent writes share one `fsync`
//! (`synchronous=FULL`). Each job runs inside its own savepoint: a job that fails rolls back
//! alone and the others still commit. A job's caller hears back only after the commit, so
//! "stored" always means "on disk".

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::StoreError;

/// Most jobs committed together.
const MAX_BATCH: usize = 512;

/// Tells a job's caller how its transaction ended: `None` committed, `Some(reason)` not.
type Completion = Box<dyn FnOnce(Option<String>) + Send>;

/// A unit of write work.
trait Job: Send {
    /// Runs the work on the connection; returns how to tell the caller once the
    /// transaction has ended.
    fn run(self: Box<Self>, conn: &Connection) -> Completion;
    /// Tells the caller the work could not run at all.
    fn fail(self: Box<Self>, reason: String);
}

struct WriteJob<T, F> {
    work: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for WriteJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Completion {
        let WriteJob { work, reply } = *self;
        let result = in_savepoint(conn, work);
        Box::new(move |commit_failure: Option<String>| {
            let outcome = match commit_failure {
                None => result,
                Some(reason) => Err(StoreError::Task(format!("the transaction did not commit: {reason}"))),
            };
            // The caller may have gone away (request cancelled); the work is settled either way.
            let _ = reply.send(outcome);
        })
    }

    fn fail(self: Box<Self>, reason: String) {
        let _ = self.reply.send(Err(StoreError::Task(format!("the transaction did not start: {reason}"))));
    }
}

/// The handle to the writer thread. Dropping it (with every clone) stops the thread.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(super) fn start(conn: Connection) -> Result<Writer, StoreError> {
        // Room for every statement the write path uses, so none is compiled twice.
        conn.set_prepared_statement_cache_capacity(128);
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(&conn, &queue))
            .map_err(|e| StoreError::Task(format!("cannot start the database writer: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `work` in the next group transaction and returns its result once committed.
    pub(super) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        self.jobs
            .send(Box::new(WriteJob { work, reply })).map_err(|_| StoreError::Task("the database writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Task("the database writer dropped a job".into()))?
    }
}

/// Runs `work` inside a savepoint, rolling back to it if the work fails or panics.
fn in_savepoint<T>(conn: &Connection, work: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
    control(conn, "SAVEPOINT job")?;
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(StoreError::Task("a database job panicked".into())));
    if result.is_err() {
        control(conn, "ROLLBACK TO job")?;
    }
    control(conn, "RELEASE job")?;
    result
}

/// Runs a transaction-control statement, compiled once and cached.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn run(conn: &Connection, queue: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
            for job in batch {
                job.fail(e.to_string());
            }
            continue;
        }
        let completions: Vec<Completion> = batch.into_iter().map(|job| job.run(conn)).collect();
        let failure = control(conn, "COMMIT").err().map(|e| {
            let _ = control(conn, "ROLLBACK");
            e.to_string()
        });
        if let Some(reason) = &failure {
            tracing::error!(%reason, jobs = completions.len(), "group commit failed");
        }
        for completion in completions {
            completion(failure.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer_on(path: &std::path::Path) -> Writer {
        let conn = Connection::open(path).expect("open");
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (n INTEGER PRIMARY KEY)").expect("schema");
        Writer::start(conn).expect("start")
    }

    fn rows(path: &std::path::Path) -> i64 {
        Connection::open(path).expect("open").query_row("SELECT count(*) FROM t", [], |r| r.get(0)).expect("count")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_all_commit_and_a_failing_one_rolls_back_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.sqlite");
        let writer = writer_on(&path);
        let mut tasks = Vec::new();
        for n in 0..200_i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                writer
                    .write(move |conn| {
                        conn.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                        if n % 50 == 7 {
                            // Fails after writing: its own insert must not survive.
                            conn.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                        }
                        Ok(n)
                    })
                    .await
            }));
        }
        let mut failed = 0;
        for task in tasks {
            if task.await.expect("task").is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 4);
        assert_eq!(rows(&path), 196);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_writer_keeps_working() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.sqlite");
        let writer = writer_on(&path);
        let panicked = writer
            .write(|conn| -> Result<(), StoreError> {
                conn.execute("INSERT INTO t (n) VALUES (1)", [])?;
                panic!("a bug in a job")
            })
            .await;
        assert!(panicked.is_err());
        writer.write(|conn| Ok(conn.execute("INSERT INTO t (n) VALUES (2)", [])?)).await.expect("next job");
        assert_eq!(rows(&path), 1);
    }

    #[tokio::test]
    async fn a_result_arrives_only_once_it_is_readable_from_another_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.sqlite");
        let writer = writer_on(&path);
        writer.write(|conn| Ok(conn.execute("INSERT INTO t (n) VALUES (5)", [])?)).await.expect("write");
        assert_eq!(rows(&path), 1);
    }
}
