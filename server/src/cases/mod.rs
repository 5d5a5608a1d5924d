//! Cases (issue 6): where and when a positive person was, who overlapped, and the approved
//! alert. A case names no patient: an internal reference, exposures (a place and a time
//! range), and counts. Matching rules are in [`matching`]; the alert's text in [`template`].
//!
//! A case moves `open` → `sending` (approved: the outbox is written) → `sent`, or `paused`
//! when LINE's monthly quota is exhausted (it resumes), or `closed` without an alert when the
//! investigation judges none is needed (R7).

pub mod matching;
pub mod template;

use std::fmt;

use thiserror::Error;
use time::OffsetDateTime;

/// A case's internal reference: 1 to 32 of `A-Z a-z 0-9 - _ /` — a file number, never a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaseReference(String);

impl CaseReference {
    /// Parses a reference (NFKC, trimmed).
    pub fn parse(input: &str) -> Result<CaseReference, CaseInputError> {
        let text = oshirase_common::text::normalize(input);
        let ok = (1..=32).contains(&text.len()) && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'));
        if ok { Ok(CaseReference(text)) } else { Err(CaseInputError::BadReference) }
    }

    /// The reference.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    /// Being investigated: exposures can change.
    Open,
    /// Approved; the alert is being sent.
    Sending,
    /// Sending stopped until someone resumes it (LINE's monthly quota ran out).
    Paused,
    /// Every alert was accepted by LINE.
    Sent,
    /// Closed without an alert.
    Closed,
}

impl CaseStatus {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Sending => "sending",
            CaseStatus::Paused => "paused",
            CaseStatus::Sent => "sent",
            CaseStatus::Closed => "closed",
        }
    }

    /// The Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            CaseStatus::Open => "調査中",
            CaseStatus::Sending => "送信中",
            CaseStatus::Paused => "一時停止",
            CaseStatus::Sent => "送信済み",
            CaseStatus::Closed => "終了（通知なし）",
        }
    }

    /// Parses the stored name.
    pub fn parse(input: &str) -> Option<CaseStatus> {
        [CaseStatus::Open, CaseStatus::Sending, CaseStatus::Paused, CaseStatus::Sent, CaseStatus::Closed].into_iter().find(|s| s.as_str() == input)
    }
}

/// The time a positive person was at a place: `ends_at` after `starts_at`, at most a day
/// long, not in the future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StayPeriod {
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
}

impl StayPeriod {
    /// Checks a period against `now`.
    pub fn new(starts_at: OffsetDateTime, ends_at: OffsetDateTime, now: OffsetDateTime) -> Result<StayPeriod, CaseInputError> {
        if ends_at <= starts_at {
            return Err(CaseInputError::EndsBeforeStart);
        }
        if ends_at - starts_at > time::Duration::hours(24) {
            return Err(CaseInputError::TooLong);
        }
        if starts_at > now {
            return Err(CaseInputError::InTheFuture);
        }
        Ok(StayPeriod { starts_at, ends_at })
    }

    /// A period read back from the store (checked when it was stored).
    pub fn stored(starts_at: OffsetDateTime, ends_at: OffsetDateTime) -> StayPeriod {
        StayPeriod { starts_at, ends_at }
    }

    /// When they arrived.
    pub fn starts_at(self) -> OffsetDateTime {
        self.starts_at
    }

    /// When they left.
    pub fn ends_at(self) -> OffsetDateTime {
        self.ends_at
    }
}

/// Staff input about a case that does not parse. Japanese first: staff read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CaseInputError {
    /// A reference of the wrong shape.
    #[error("管理番号は英数字と「- _ /」の1〜32文字で入力してください（氏名は入力しないでください）。（reference: 1-32 of A-Z a-z 0-9 - _ /）")]
    BadReference,
    /// A reference already used.
    #[error("その管理番号はすでに使われています。（reference taken）")]
    ReferenceTaken,
    /// End not after start.
    #[error("退出時刻は入室時刻より後にしてください。（the end must be after the start）")]
    EndsBeforeStart,
    /// Longer than a day.
    #[error("滞在時間は24時間以内にしてください。分けて登録できます。（at most 24 hours）")]
    TooLong,
    /// Starts in the future.
    #[error("未来の日時は登録できません。（in the future）")]
    InTheFuture,
    /// A date or time that does not parse.
    #[error("日付と時刻を正しく入力してください。（date and time, e.g. 2026-11-20 and 18:30）")]
    BadTime,
    /// No such place, or a withdrawn one.
    #[error("場所が見つかりません。（no such place）")]
    UnknownPlace,
    /// Minutes outside 1 to 1440.
    #[error("分数は1〜1440で入力してください。（minutes: 1 to 1440）")]
    BadMinutes,
    /// The case can no longer change.
    #[error("この事例はすでに承認または終了しているため変更できません。（the case is no longer open）")]
    NotOpen,
    /// An irreversible step without its confirmation box ticked.
    #[error("確認の欄にチェックを入れてください。（tick the confirmation box）")]
    NotConfirmed,
    /// Resuming a case that is not paused.
    #[error("この事例は一時停止していません。（the case is not paused）")]
    NotPaused,
    /// The creator approving their own case while a second approver is required.
    #[error("作成した職員とは別の承認担当者が承認してください。（a second staff member must approve）")]
    SelfApproval,
    /// A history code that is unknown, expired or used.
    #[error("履歴コードが正しくないか、有効期限切れか、使用済みです。（unknown, expired or used history code）")]
    UnknownHistoryCode,
    /// Nothing to send.
    #[error("通知の対象者がいないため送信できません。終了してください。（nobody to alert）")]
    NobodyToAlert,
}

/// Parses a date (`2026-11-20`) and a time (`18:30`) typed in Japan time.
pub fn parse_jst(date: &str, time_of_day: &str) -> Result<OffsetDateTime, CaseInputError> {
    let date = time::Date::parse(date.trim(), time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| CaseInputError::BadTime)?;
    let t = time::Time::parse(time_of_day.trim(), time::macros::format_description!("[hour]:[minute]")).map_err(|_| CaseInputError::BadTime)?;
    let jst = time::UtcOffset::from_hms(9, 0, 0).map_err(|_| CaseInputError::BadTime)?;
    Ok(time::PrimitiveDateTime::new(date, t).assume_offset(jst).to_offset(time::UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn references_are_file_numbers_not_names() {
        assert_eq!(CaseReference::parse(" 2026-ｻｲﾀﾏ-1 ").map(|r| r.0), Err(CaseInputError::BadReference));
        assert_eq!(CaseReference::parse("２０２６-001").unwrap().as_str(), "2026-001", "full-width digits are NFKC'd");
        assert!(CaseReference::parse("R8/urawa_12").is_ok());
        for bad in ["", "山田太郎", "yamada taro", &"A".repeat(33)] {
            assert_eq!(CaseReference::parse(bad), Err(CaseInputError::BadReference), "{bad}");
        }
    }

    #[test]
    fn a_stay_is_forward_bounded_and_past() {
        let now = parse_jst("2026-11-25", "12:00").unwrap();
        let at = |t: &str| parse_jst("2026-11-24", t).unwrap();
        assert!(StayPeriod::new(at("18:00"), at("19:30"), now).is_ok());
        assert_eq!(StayPeriod::new(at("19:30"), at("18:00"), now), Err(CaseInputError::EndsBeforeStart));
        assert_eq!(StayPeriod::new(at("18:00"), at("18:00"), now), Err(CaseInputError::EndsBeforeStart));
        assert_eq!(StayPeriod::new(at("00:00"), parse_jst("2026-11-25", "00:01").unwrap(), now), Err(CaseInputError::TooLong));
        assert_eq!(StayPeriod::new(parse_jst("2026-11-25", "13:00").unwrap(), parse_jst("2026-11-25", "14:00").unwrap(), now), Err(CaseInputError::InTheFuture));
    }

    #[test]
    fn typed_times_are_japan_time() {
        assert_eq!(parse_jst("2026-11-24", "09:00").unwrap().unix_timestamp(), 1_795_478_400);
        assert_eq!(parse_jst("2026/11/24", "09:00"), Err(CaseInputError::BadTime));
        assert_eq!(parse_jst("2026-11-24", "25:00"), Err(CaseInputError::BadTime));
    }
}
