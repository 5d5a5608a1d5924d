//! Staff accounts and API tokens (admin). New accounts and reset passwords get a generated
//! password shown once; tokens are shown once. Every change is in the audit log.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{FormFields, StaffUser};
use crate::audit::AuditEvent;
use crate::pages::staff::{self as pages, AccountNotice};
use crate::routes::error::{ApiError, PageError};
use crate::routes::extract::ApiJson;
use crate::routes::{AppState, no_store, timestamp};
use crate::secrets::StaffSecret;
use crate::staff::{Role, Roles, StaffAccount, StaffInputError, StaffLogin, StaffName, password};
use crate::store::StoreError;
use crate::store::staff::{NewApiToken, NewStaff, StaffChange};

/// `GET /staff/accounts`
pub async fn list_page(State(state): State<AppState>, Extension(user): Extension<StaffUser>) -> Result<Response, PageError> {
    accounts_page(&state, &user, None, StatusCode::OK).await
}

async fn accounts_page(state: &AppState, user: &StaffUser, notice: Option<AccountNotice>, status: StatusCode) -> Result<Response, PageError> {
    let accounts = state.store.list_staff().await?;
    Ok((status, no_store(), pages::accounts(user, &accounts, notice.as_ref())).into_response())
}

/// Why an account could not be created.
enum CreateError {
    Input(StaffInputError),
    Taken,
    Store(StoreError),
}

async fn create_account(state: &AppState, user: &StaffUser, login: &str, name: &str, roles: &[&str]) -> Result<(StaffAccount, secrecy::SecretString), CreateError> {
    let login = StaffLogin::parse(login).map_err(CreateError::Input)?;
    let name = StaffName::parse(name).map_err(CreateError::Input)?;
    let roles = roles.iter().map(|r| Role::parse(r)).collect::<Result<Vec<_>, _>>().map_err(CreateError::Input)?;
    let roles = Roles::new(&roles).ok_or(CreateError::Input(StaffInputError::NoRole))?;
    let initial = password::generate();
    let password_hash = password::hash(&initial).map_err(CreateError::Input)?;
    let audit = AuditEvent::new(user.actor.clone(), "account.created").about(format!("account:{login}")).with(json!({ "roles": roles.to_stored() }));
    match state.store.create_staff(NewStaff { login, name, roles, password_hash }, OffsetDateTime::now_utc(), audit).await {
        Ok(account) => Ok((account, initial)),
        Err(StoreError::Conflict(_)) => Err(CreateError::Taken),
        Err(e) => Err(CreateError::Store(e)),
    }
}

/// `POST /staff/accounts`
pub async fn create(State(state): State<AppState>, Extension(user): Extension<StaffUser>, form: FormFields) -> Result<Response, PageError> {
    use secrecy::ExposeSecret as _;
    let result = create_account(&state, &user, form.get("login").unwrap_or_default(), form.get("name").unwrap_or_default(), &form.all("roles")).await;
    let (notice, status) = match result {
        Ok((account, initial)) => (AccountNotice::Created { login: account.login.to_string(), password: initial.expose_secret().to_owned() }, StatusCode::OK),
        Err(CreateError::Input(e)) => (AccountNotice::Error(e.to_string()), StatusCode::UNPROCESSABLE_ENTITY),
        Err(CreateError::Taken) => (AccountNotice::Error("そのログイン名はすでに使われています。（That login is taken.）".into()), StatusCode::CONFLICT),
        Err(CreateError::Store(e)) => return Err(e.into()),
    };
    accounts_page(&state, &user, Some(notice), status).await
}

async fn change(state: &AppState, user: &StaffUser, id: i64, change: StaffChange, action: &'static str) -> Result<Option<StaffAccount>, PageError> {
    let Some(account) = state.store.staff_by_id(id).await? else {
        return Err(PageError::NotFound);
    };
    let audit = AuditEvent::new(user.actor.clone(), action).about(format!("account:{}", account.login));
    let audit = match &change {
        StaffChange::SetRoles(roles) => audit.with(json!({ "roles": roles.to_stored() })),
        _ => audit,
    };
    state.store.change_staff(id, change, OffsetDateTime::now_utc(), audit).await?;
    Ok(Some(account))
}

/// `POST /staff/accounts/{id}/disable`: no more sign-ins; sessions and the account's API
/// tokens end. An admin cannot disable themself (someone must be left to undo it).
pub async fn disable(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>) -> Result<Response, PageError> {
    if id == user.staff_id {
        return accounts_page(&state, &user, Some(AccountNotice::Error("自分のアカウントは無効にできません。（You cannot disable yourself.）".into())), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    change(&state, &user, id, StaffChange::Disable, "account.disabled").await?;
    Ok(Redirect::to("/staff/accounts").into_response())
}

/// `POST /staff/accounts/{id}/enable`
pub async fn enable(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>) -> Result<Response, PageError> {
    change(&state, &user, id, StaffChange::Enable, "account.enabled").await?;
    Ok(Redirect::to("/staff/accounts").into_response())
}

/// `POST /staff/accounts/{id}/reset-password`: a new generated password, shown once.
pub async fn reset_password(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>) -> Result<Response, PageError> {
    use secrecy::ExposeSecret as _;
    let fresh = password::generate();
    let hash = password::hash(&fresh).map_err(|e| PageError::Internal(e.into()))?;
    let Some(account) = change(&state, &user, id, StaffChange::SetPassword(hash), "account.password_reset").await? else {
        return Err(PageError::NotFound);
    };
    let notice = AccountNotice::PasswordReset { login: account.login.to_string(), password: fresh.expose_secret().to_owned() };
    accounts_page(&state, &user, Some(notice), StatusCode::OK).await
}

/// `POST /staff/accounts/{id}/roles`. An admin cannot take the admin role from themself.
pub async fn set_roles(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<i64>, form: FormFields) -> Result<Response, PageError> {
    let parsed = form.all("roles").into_iter().map(Role::parse).collect::<Result<Vec<_>, _>>();
    let roles = match parsed.ok().and_then(|r| Roles::new(&r)) {
        Some(roles) if id == user.staff_id && !roles.has(Role::Admin) => {
            return accounts_page(&state, &user, Some(AccountNotice::Error("自分から管理者の役割は外せません。（You cannot drop your own admin role.）".into())), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Some(roles) => roles,
        None => return accounts_page(&state, &user, Some(AccountNotice::Error(StaffInputError::NoRole.to_string())), StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    change(&state, &user, id, StaffChange::SetRoles(roles), "account.roles_changed").await?;
    Ok(Redirect::to("/staff/accounts").into_response())
}

/// `GET /staff/api-tokens`
pub async fn tokens_page(State(state): State<AppState>, Extension(user): Extension<StaffUser>) -> Result<Response, PageError> {
    let tokens = state.store.list_api_tokens().await?;
    Ok((no_store(), pages::api_tokens(&user, &tokens, None, None)).into_response())
}

/// `POST /staff/api-tokens`: name, role, optional days of validity. The secret is shown once.
pub async fn create_token(State(state): State<AppState>, Extension(user): Extension<StaffUser>, form: FormFields) -> Result<Response, PageError> {
    let name = oshirase_common::text::normalize(form.get("name").unwrap_or_default());
    let role = Role::parse(form.get("role").unwrap_or_default());
    let days = match form.get("days").map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => d.parse::<u16>().ok().filter(|d| (1..=3650).contains(d)).map(Some).ok_or(()),
    };
    let name_ok = !name.is_empty() && name.chars().count() <= 60;
    let (Ok(role), Ok(days), true) = (role, days, name_ok) else {
        let tokens = state.store.list_api_tokens().await?;
        let error = "用途（60文字まで）・役割・有効日数（1〜3650）を確かめてください。（Check the name, role and days.）";
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, pages::api_tokens(&user, &tokens, None, Some(error))).into_response());
    };
    let now = OffsetDateTime::now_utc();
    let secret = StaffSecret::generate();
    let token_id = oshirase_common::base32::encode(&crate::secrets::random_bytes::<5>(), 8);
    let expires_at = days.map(|d| now + time::Duration::days(i64::from(d)));
    let audit = AuditEvent::new(user.actor.clone(), "api_token.created").about(format!("token:{token_id}")).with(json!({ "role": role.as_str(), "name": name }));
    state.store.create_api_token(NewApiToken { token_id, hash: secret.hash(), name, role, created_by: user.staff_id, expires_at }, now, audit).await?;
    let tokens = state.store.list_api_tokens().await?;
    Ok((no_store(), pages::api_tokens(&user, &tokens, Some(secret.expose()), None)).into_response())
}

/// `POST /staff/api-tokens/{id}/revoke`
pub async fn revoke_token(State(state): State<AppState>, Extension(user): Extension<StaffUser>, Path(id): Path<String>) -> Result<Response, PageError> {
    let audit = AuditEvent::new(user.actor.clone(), "api_token.revoked").about(format!("token:{id}"));
    if !state.store.revoke_api_token(id, OffsetDateTime::now_utc(), audit).await? {
        return Err(PageError::NotFound);
    }
    Ok(Redirect::to("/staff/api-tokens").into_response())
}

fn account_json(a: &StaffAccount) -> Value {
    json!({
        "id": a.id,
        "login": a.login.as_str(),
        "name": a.name.as_str(),
        "roles": a.roles.iter().map(Role::as_str).collect::<Vec<_>>(),
        "created_at": timestamp(a.created_at),
        "disabled_at": a.disabled_at.map_or(Value::Null, timestamp),
        "locked_until": a.locked_until.map_or(Value::Null, timestamp),
    })
}

/// `GET /api/v1/staff/accounts`
pub async fn list_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let accounts = state.store.list_staff().await?;
    Ok(axum::Json(json!({ "accounts": accounts.iter().map(account_json).collect::<Vec<_>>() })).into_response())
}

/// A new account through the API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccountRequest {
    login: String,
    name: String,
    roles: Vec<String>,
}

/// `POST /api/v1/staff/accounts`: `201` with the account and its one-time `password`.
pub async fn create_json(State(state): State<AppState>, Extension(user): Extension<StaffUser>, ApiJson(body): ApiJson<NewAccountRequest>) -> Result<Response, ApiError> {
    use secrecy::ExposeSecret as _;
    let roles: Vec<&str> = body.roles.iter().map(String::as_str).collect();
    match create_account(&state, &user, &body.login, &body.name, &roles).await {
        Ok((account, initial)) => {
            let mut value = account_json(&account);
            value["password"] = Value::String(initial.expose_secret().to_owned());
            Ok((StatusCode::CREATED, no_store(), axum::Json(value)).into_response())
        }
        Err(CreateError::Input(e)) => Err(ApiError::Unprocessable { code: "invalid_account", message: e.to_string() }),
        Err(CreateError::Taken) => Err(ApiError::Unprocessable { code: "login_taken", message: "that login is taken".into() }),
        Err(CreateError::Store(e)) => Err(e.into()),
    }
}
