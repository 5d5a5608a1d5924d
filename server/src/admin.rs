//! The server's administrative commands (`oshirase-server admin …`, `oshirase-server audit
//! verify`), run on the server machine against its database: creating the first admin (the
//! console cannot, since nobody can sign in yet), giving an account a new password when every
//! admin is locked out, and checking the audit chain.

use std::path::Path;

use anyhow::{Context as _, bail};
use rusqlite::{Connection, OpenFlags};
use secrecy::SecretString;
use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{Actor, AuditEvent, ChainBreak, ChainHead};
use crate::config::Settings;
use crate::staff::{Roles, StaffAccount, StaffLogin, StaffName, password};
use crate::store::SqliteStore;
use crate::store::staff::{NewStaff, StaffChange, StaffStore as _};

/// Creates an account with a generated password (returned, to be shown once).
pub async fn create_account(settings: &Settings, login: &str, name: &str, roles: Roles) -> anyhow::Result<(StaffAccount, SecretString)> {
    let login = StaffLogin::parse(login).map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = StaffName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = SqliteStore::open(&settings.database.path).context("opening the database")?;
    let initial = password::generate();
    let password_hash = password::hash(&initial).map_err(|e| anyhow::anyhow!("{e}"))?;
    let audit = AuditEvent::new(Actor::Cli, "account.created").about(format!("account:{login}")).with(json!({ "roles": roles.to_stored() }));
    let account = store
        .create_staff(NewStaff { login, name, roles, password_hash }, OffsetDateTime::now_utc(), audit)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => anyhow::anyhow!("that login name is taken"),
            other => other.into(),
        })?;
    Ok((account, initial))
}

/// Gives an account a new generated password, clears its lock and enables it.
pub async fn reset_password(settings: &Settings, login: &str) -> anyhow::Result<SecretString> {
    let login = StaffLogin::parse(login).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = SqliteStore::open(&settings.database.path).context("opening the database")?;
    let Some((account, _)) = store.staff_for_login(login.clone()).await? else {
        bail!("no account is called {login}");
    };
    let fresh = password::generate();
    let hash = password::hash(&fresh).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = OffsetDateTime::now_utc();
    store.change_staff(account.id, StaffChange::SetPassword(hash), now, AuditEvent::new(Actor::Cli, "account.password_reset").about(format!("account:{login}"))).await?;
    if account.disabled_at.is_some() {
        store.change_staff(account.id, StaffChange::Enable, now, AuditEvent::new(Actor::Cli, "account.enabled").about(format!("account:{login}"))).await?;
    }
    Ok(fresh)
}

/// Creates an API token acting with `role` of the account `login` (which must hold it).
pub async fn create_token(settings: &Settings, login: &str, role: crate::staff::Role, name: &str, days: Option<u16>) -> anyhow::Result<SecretString> {
    let login = StaffLogin::parse(login).map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = oshirase_common::text::normalize(name);
    if name.is_empty() || name.chars().count() > 60 {
        bail!("the name must be 1 to 60 characters");
    }
    let store = SqliteStore::open(&settings.database.path).context("opening the database")?;
    let Some((account, _)) = store.staff_for_login(login.clone()).await? else {
        bail!("no account is called {login}");
    };
    if !account.roles.has(role) || account.disabled_at.is_some() {
        bail!("{login} is disabled or does not hold the {role} role");
    }
    let now = OffsetDateTime::now_utc();
    let secret = crate::secrets::StaffSecret::generate();
    let token_id = oshirase_common::base32::encode(&crate::secrets::random_bytes::<5>(), 8);
    let audit = AuditEvent::new(Actor::Cli, "api_token.created").about(format!("token:{token_id}")).with(json!({ "role": role.as_str(), "name": name, "account": login.as_str() }));
    let token = crate::store::staff::NewApiToken { token_id, hash: secret.hash(), name, role, created_by: account.id, expires_at: days.map(|d| now + time::Duration::days(i64::from(d))) };
    store.create_api_token(token, now, audit).await?;
    Ok(SecretString::from(secret.expose().to_owned()))
}

/// Checks the audit chain of the database at `path`, opened read-only.
pub fn verify_audit(path: &Path) -> anyhow::Result<Result<ChainHead, ChainBreak>> {
    if !path.exists() {
        bail!("there is no database at {}", path.display());
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).with_context(|| format!("opening {}", path.display()))?;
    Ok(crate::store::sqlite::staff::verify_audit_chain(&conn)?)
}
