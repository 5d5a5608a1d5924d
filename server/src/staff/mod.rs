//! Health-centre and prefecture staff (issue 6): who they are, what each role may do, how
//! their passwords are kept. The HTTP side (sessions, CSRF, the role guard) is in
//! `routes::staff`; storage in `store::staff`.
//!
//! Roles are separate on purpose: an investigator creates cases, an approver approves sending,
//! an admin runs accounts, templates, retention and cluster notices. One account may hold
//! several roles; the "second person approves" rule is enforced on the case, not by roles.

pub mod password;

use std::fmt;

use thiserror::Error;

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Creates cases, records exposures, previews counts.
    Investigator,
    /// Approves sending alerts.
    Approver,
    /// Accounts, API tokens, templates, retention, cluster notices, the kiosk fleet.
    Admin,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 3] = [Role::Investigator, Role::Approver, Role::Admin];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Investigator => "investigator",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    /// The Japanese name shown in the console.
    pub fn label_ja(self) -> &'static str {
        match self {
            Role::Investigator => "調査担当",
            Role::Approver => "承認担当",
            Role::Admin => "管理者",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(input: &str) -> Result<Role, StaffInputError> {
        Role::ALL.into_iter().find(|r| r.as_str() == input.trim()).ok_or(StaffInputError::UnknownRole)
    }

    fn bit(self) -> u8 {
        match self {
            Role::Investigator => 1,
            Role::Approver => 2,
            Role::Admin => 4,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles of one account (at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Roles(u8);

impl Roles {
    /// A set of roles; `None` for no role at all.
    pub fn new(roles: &[Role]) -> Option<Roles> {
        let bits = roles.iter().fold(0, |acc, r| acc | r.bit());
        (bits != 0).then_some(Roles(bits))
    }

    /// One role.
    pub fn one(role: Role) -> Roles {
        Roles(role.bit())
    }

    /// Whether the set holds `role`.
    pub fn has(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// The roles in display order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.has(*r))
    }

    /// Stored form: `investigator,approver`.
    pub fn to_stored(self) -> String {
        self.iter().map(Role::as_str).collect::<Vec<_>>().join(",")
    }

    /// Parses the stored form.
    pub fn parse(input: &str) -> Result<Roles, StaffInputError> {
        let roles = input.split(',').filter(|s| !s.trim().is_empty()).map(Role::parse).collect::<Result<Vec<_>, _>>()?;
        Roles::new(&roles).ok_or(StaffInputError::NoRole)
    }
}

/// A staff login name: 3 to 32 of `a-z 0-9 . _ -`, starting with a letter; case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StaffLogin(String);

impl StaffLogin {
    /// Parses a login name (trimmed, lower-cased).
    pub fn parse(input: &str) -> Result<StaffLogin, StaffInputError> {
        let login = input.trim().to_ascii_lowercase();
        let ok = (3..=32).contains(&login.len())
            && login.starts_with(|c: char| c.is_ascii_lowercase())
            && login.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if ok { Ok(StaffLogin(login)) } else { Err(StaffInputError::BadLogin) }
    }

    /// The login name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StaffLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's name as shown in the console: 1 to 40 characters after NFKC and trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffName(String);

impl StaffName {
    /// Parses a display name.
    pub fn parse(input: &str) -> Result<StaffName, StaffInputError> {
        let name = oshirase_common::text::normalize(input);
        if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
            return Err(StaffInputError::BadName);
        }
        Ok(StaffName(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Staff input that does not parse. The messages are Japanese: staff read them in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StaffInputError {
    /// A role name that does not exist.
    #[error("役割は investigator、approver、admin のいずれかです（unknown role）")]
    UnknownRole,
    /// No role chosen.
    #[error("役割を1つ以上選んでください（choose at least one role）")]
    NoRole,
    /// A login name of the wrong shape.
    #[error("ログイン名は英小文字で始まる3〜32文字の英小文字・数字・「. _ -」です（bad login name）")]
    BadLogin,
    /// An empty or too long name.
    #[error("氏名は1〜40文字で入力してください（name: 1 to 40 characters）")]
    BadName,
    /// A password outside the policy.
    #[error("パスワードは12〜128文字にしてください（password: 12 to 128 characters）")]
    BadPassword,
}

/// A staff account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// Its row id.
    pub id: i64,
    /// Its login name.
    pub login: StaffLogin,
    /// Its display name.
    pub name: StaffName,
    /// Its roles.
    pub roles: Roles,
    /// When it was created.
    pub created_at: time::OffsetDateTime,
    /// Set when an admin disabled it: it can no longer sign in.
    pub disabled_at: Option<time::OffsetDateTime>,
    /// Locked after too many failed logins, until then.
    pub locked_until: Option<time::OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn logins_are_short_plain_and_lower_case() {
        assert_eq!(StaffLogin::parse(" Yamada.T ").map(|l| l.0), Ok("yamada.t".to_owned()));
        for ok in ["abc", "k-sato_2", "a".repeat(32).as_str()] {
            assert!(StaffLogin::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "1abc", "yamada taro", "山田", "a@b.jp", "a".repeat(33).as_str(), ""] {
            assert_eq!(StaffLogin::parse(bad), Err(StaffInputError::BadLogin), "{bad}");
        }
    }

    #[test]
    fn roles_round_trip_and_an_empty_set_is_refused() {
        let roles = Roles::parse("approver,investigator").unwrap();
        assert!(roles.has(Role::Investigator) && roles.has(Role::Approver) && !roles.has(Role::Admin));
        assert_eq!(roles.to_stored(), "investigator,approver");
        assert_eq!(Roles::parse(""), Err(StaffInputError::NoRole));
        assert_eq!(Roles::parse("admin,root"), Err(StaffInputError::UnknownRole));
    }

    #[test]
    fn names_are_normalised_and_bounded() {
        assert_eq!(StaffName::parse("　山田　太郎 ").unwrap().as_str(), "山田 太郎");
        assert_eq!(StaffName::parse("  "), Err(StaffInputError::BadName));
        assert_eq!(StaffName::parse(&"あ".repeat(41)), Err(StaffInputError::BadName));
    }
}
