//! The pass part of a resident's conversation (issue 7): "パス" (or "パス 名前") issues a pass
//! and answers with its text, its image and the link to its printable card; "パス一覧" lists
//! the live passes; "パス取消 番号" revokes one. Only a consented resident gets a pass: its
//! scans become their visits, and alerts for them come to this LINE account.

use oshirase_common::LineUserId;
use oshirase_common::pass::{Pass, PassId};
use time::{Duration, OffsetDateTime};

use super::Context;
use crate::line::messages::Message;
use crate::messages::catalog;
use crate::passes::PassLabel;
use crate::secrets::{ManageToken, random_bytes};
use crate::store::passes::{NewPass, PassIssue, PassRecord, PassRevocation};
use crate::store::{EventKey, Processed, StoreError};

/// The public paths of a pass's image, preview and card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassLinks {
    /// The QR code as a PNG, large (what LINE shows when the image is opened).
    pub image: String,
    /// The same, small (the chat's preview).
    pub preview: String,
    /// The printable card (PDF).
    pub card: String,
}

/// The links of a pass, from its link token (`PassKey::link_token`).
pub fn links(ctx: &Context<'_>, token: &ManageToken) -> PassLinks {
    let path = |file: &str| ctx.passes.base_url.join(&format!("/p/{}/{file}", token.expose()));
    PassLinks { image: path("qr.png"), preview: path("preview.png"), card: path("card.pdf") }
}

fn pass_of(record: &PassRecord) -> Pass {
    Pass { id: record.pass_id.clone(), expires_at: u32::try_from(record.expires_at.unix_timestamp()).unwrap_or(u32::MAX) }
}

fn holder(label: Option<&PassLabel>) -> (String, String) {
    let c = catalog();
    match label {
        Some(label) => (format!("「{}」", label.as_str()), label.as_str().to_owned()),
        None => (c.pass_holder_self.ja.clone(), c.pass_holder_self.en.clone()),
    }
}

fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(crate::pages::JST);
    format!("{}年{}月{}日", t.year(), u8::from(t.month()), t.day())
}

fn date_en(t: OffsetDateTime) -> String {
    let t = t.to_offset(crate::pages::JST);
    format!("{} {} {}", t.day(), t.month(), t.year())
}

/// "パス" / "パス 名前".
pub async fn issue(ctx: &Context<'_>, key: EventKey, user: LineUserId, name: &str) -> Result<Option<Vec<Message>>, StoreError> {
    let c = catalog();
    let label = match PassLabel::parse(name) {
        Ok(label) => label,
        Err(_) => return super::only_once(ctx, key, vec![Message::Text(c.pass_label_invalid.render(&[]))]).await,
    };
    // A pass's expiry is a u32 of Unix seconds in the QR code: whole seconds.
    let expires_at = ctx.now.replace_nanosecond(0).unwrap_or(ctx.now) + Duration::days(i64::from(ctx.passes.settings.valid_days));
    let pass = Pass { id: PassId::from_random(random_bytes()), expires_at: u32::try_from(expires_at.unix_timestamp()).unwrap_or(u32::MAX) };
    let token = ctx.passes.key.link_token(&pass);
    let new = NewPass { pass_id: pass.id.clone(), label: label.clone(), link_hash: token.hash(), issued_at: ctx.now, expires_at };
    let outcome = ctx.store.issue_pass(key, user, ctx.settings.terms_version.clone(), new, ctx.passes.settings.max_per_resident).await?;
    let Processed::New(outcome) = outcome else {
        return Ok(None);
    };
    Ok(Some(match outcome {
        PassIssue::Issued => {
            let links = links(ctx, &token);
            let (holder, holder_en) = holder(label.as_ref());
            let text = c.pass_issued.render(&[
                ("holder", &holder),
                ("holder_en", &holder_en),
                ("short", pass.id.short()),
                ("expires", &date(expires_at)),
                ("expires_en", &date_en(expires_at)),
                ("card_url", &links.card),
            ]);
            vec![Message::Text(text), Message::Image { original_url: links.image, preview_url: links.preview }]
        }
        PassIssue::NotConsented => {
            let mut messages = vec![Message::Text(c.pass_needs_consent.render(&[]))];
            messages.extend(super::consent_request(ctx));
            messages
        }
        PassIssue::TooMany(max) => vec![Message::Text(c.pass_too_many.render(&[("max", &max.to_string())]))],
    }))
}

/// "パス一覧".
pub async fn list(ctx: &Context<'_>, key: EventKey, user: LineUserId) -> Result<Option<Vec<Message>>, StoreError> {
    let c = catalog();
    let passes = ctx.store.passes_of(user, ctx.now).await?;
    let text = if passes.is_empty() {
        c.pass_list_empty.render(&[])
    } else {
        let items: Vec<String> = passes
            .iter()
            .map(|p| {
                let (holder, _) = holder(p.label.as_ref());
                let card = links(ctx, &ctx.passes.key.link_token(&pass_of(p))).card;
                c.pass_list_item.japanese(&[("holder", &holder), ("short", p.pass_id.short()), ("expires", &date(p.expires_at)), ("card_url", &card)])
            })
            .collect();
        c.pass_list.render(&[("count", &passes.len().to_string()), ("items", &items.join("\n"))])
    };
    super::only_once(ctx, key, vec![Message::Text(text)]).await
}

/// "パス取消 番号".
pub async fn revoke(ctx: &Context<'_>, key: EventKey, user: LineUserId, ending: &str) -> Result<Option<Vec<Message>>, StoreError> {
    let c = catalog();
    let ending = oshirase_common::base32::canonical(ending).unwrap_or_default();
    if ending.is_empty() {
        return super::only_once(ctx, key, vec![Message::Text(c.pass_revoke_unknown.render(&[]))]).await;
    }
    let Processed::New(outcome) = ctx.store.revoke_pass(key, user, ending).await? else {
        return Ok(None);
    };
    let text = match outcome {
        PassRevocation::Revoked(pass) => {
            let (holder, holder_en) = holder(pass.label.as_ref());
            c.pass_revoked.render(&[("holder", &holder), ("holder_en", &holder_en), ("short", pass.pass_id.short())])
        }
        PassRevocation::NotFound => c.pass_revoke_unknown.render(&[]),
        PassRevocation::Ambiguous => c.pass_revoke_ambiguous.render(&[]),
    };
    Ok(Some(vec![Message::Text(text)]))
}
