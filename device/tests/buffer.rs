//! The offline scan buffer: kept across reopening (a restart or power cut), sequence numbers
//! never reused, full means refusing new scans and keeping the old ones.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::LazyLock;

use oshirase_common::pass::PassId;
use oshirase_device::buffer::{BufferError, ScanBuffer};

static PASS: LazyLock<PassId> = LazyLock::new(|| PassId::parse("0W3GE1R70W3GE1R7").unwrap());

#[test]
fn scans_are_kept_across_a_reopen_and_synced_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scans.sqlite");
    {
        let mut buffer = ScanBuffer::open(&path, 1000).unwrap();
        assert_eq!(buffer.record(&PASS, 1_764_000_000_000, 120).unwrap(), 1);
        assert_eq!(buffer.record(&PASS, 1_764_000_060_000, 120).unwrap(), 2);
        assert_eq!(buffer.record(&PASS, 1_764_000_120_000, -30).unwrap(), 3);
    }
    let mut buffer = ScanBuffer::open(&path, 1000).unwrap();
    assert_eq!(buffer.pending().unwrap(), 3);
    let batch = buffer.after(1, 10).unwrap();
    assert_eq!(batch.iter().map(|s| s.seq).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!((batch[1].scanned_at_ms, batch[1].clock_offset_ms), (1_764_000_120_000, -30));
    assert_eq!(batch[1].pass_id, *PASS);
    assert_eq!(buffer.after(0, 2).unwrap().len(), 2, "batches are bounded");
    assert_eq!(buffer.acknowledge_through(2).unwrap(), 2);
    assert_eq!(buffer.pending().unwrap(), 1);
}

#[test]
fn sequence_numbers_are_never_reused_even_after_pruning_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scans.sqlite");
    {
        let mut buffer = ScanBuffer::open(&path, 1000).unwrap();
        for _ in 0..5 {
            buffer.record(&PASS, 0, 0).unwrap();
        }
        buffer.acknowledge_through(5).unwrap();
        assert_eq!(buffer.pending().unwrap(), 0);
    }
    let mut buffer = ScanBuffer::open(&path, 1000).unwrap();
    assert_eq!(buffer.last_seq().unwrap(), 5);
    assert_eq!(buffer.record(&PASS, 0, 0).unwrap(), 6);
}

#[test]
fn a_full_buffer_refuses_new_scans_and_keeps_every_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut buffer = ScanBuffer::open(&dir.path().join("scans.sqlite"), 3).unwrap();
    for _ in 0..3 {
        buffer.record(&PASS, 0, 0).unwrap();
    }
    assert!(matches!(buffer.record(&PASS, 0, 0), Err(BufferError::Full)));
    assert_eq!(buffer.pending().unwrap(), 3, "nothing was dropped to make room");
    buffer.acknowledge_through(1).unwrap();
    assert_eq!(buffer.record(&PASS, 0, 0).unwrap(), 4, "room again once the server has some");
}

#[test]
fn a_full_disk_is_a_refusal_not_a_loss() {
    let dir = tempfile::tempdir().unwrap();
    let mut buffer = ScanBuffer::open(&dir.path().join("scans.sqlite"), 1_000_000).unwrap();
    buffer.record(&PASS, 0, 0).unwrap();
    let pages: u32 = 6;
    buffer.limit_pages_for_tests(pages).unwrap();
    let mut kept = 1;
    let refused = loop {
        match buffer.record(&PASS, 0, 0) {
            Ok(_) => kept += 1,
            Err(e) => break e,
        }
        assert!(kept < 10_000, "the page limit never bit");
    };
    assert!(matches!(refused, BufferError::Full), "{refused:?}");
    assert_eq!(buffer.pending().unwrap(), kept, "every scan recorded before the disk filled is still there");
}
