//! The checks every tool makes before sending, whatever the tool: suppression list, rate
//! limit and the server's own duplicate check. Consent differs per tool (seed 000 looks at
//! `marketing_opt_out`, seed 001 at `email_subscribed`) and stays in the tools.
//!
//! Site settings (`PUT /v1/settings`), all optional:
//!
//! ```json
//! {"tools": {"duplicate_window_days": 30, "near_duplicate_max_distance": 3,
//!            "rate_limit": {"per_recipient_per_day": 5}}}
//! ```

use crate::channel::check;
use crate::dedupe::{DEFAULT_MAX_DISTANCE, DuplicateCheck, DuplicateHit};
use chrono::{DateTime, Duration, Utc};
use mailroom_core::agent::SentEmail;
use mailroom_core::SiteId;
use mailroom_core::model::Suppression;
use mailroom_engine::Engine;
use serde_json::Value;

/// The largest SimHash distance a site may configure (beyond it unrelated emails collide).
pub const MAX_NEAR_DISTANCE: u32 = 16;

/// The site's tool policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// The duplicate rule.
    pub duplicates: DuplicateCheck,
    /// At most this many tool emails per recipient in 24 hours (`None`: no limit).
    pub per_recipient_per_day: Option<u32>,
}

impl Policy {
    /// Reads the `tools` section of the site settings; [`Policy::validate`] has checked it.
    pub fn from_settings(settings: &Value) -> Policy {
        let tools = settings.get("tools");
        let mut policy = Policy::default();
        if let Some(days) = tools.and_then(|t| t.get("duplicate_window_days")).and_then(Value::as_u64) {
            policy.duplicates.window = Duration::days(days.min(3650) as i64);
        }
        if let Some(d) = tools.and_then(|t| t.get("near_duplicate_max_distance")).and_then(Value::as_u64) {
            policy.duplicates.max_distance = (d as u32).min(MAX_NEAR_DISTANCE);
        }
        policy.per_recipient_per_day = tools
            .and_then(|t| t.pointer("/rate_limit/per_recipient_per_day"))
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
            .map(|n| n.min(u32::MAX as u64) as u32);
        policy
    }

    /// How far back earlier emails matter: the duplicate window, and at least the rate
    /// limit's day.
    pub fn since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.duplicates.window.max(Duration::days(1))
    }

    /// How many of `earlier` were sent in the 24 hours before `now`.
    pub fn sent_today(&self, earlier: &[SentEmail], now: DateTime<Utc>) -> usize {
        earlier.iter().filter(|e| e.created_at >= now - Duration::days(1)).count()
    }

    /// Whether an email of `subject` and `body` may follow `earlier` (the emails to the same
    /// recipient): the rate limit first, then the duplicate rule.
    pub fn blocks(&self, earlier: &[SentEmail], subject: &str, body: &str, now: DateTime<Utc>) -> Option<Blocked> {
        if let Some(limit) = self.per_recipient_per_day {
            let sent = self.sent_today(earlier, now);
            if sent >= limit as usize {
                return Some(Blocked::RateLimited { sent, limit });
            }
        }
        self.duplicates.check(subject, body, earlier, now).map(Blocked::Duplicate)
    }

    /// Checks the `tools` section of a settings document; the error names the field.
    pub fn validate(settings: &Value) -> Result<(), String> {
        let Some(tools) = settings.get("tools") else { return Ok(()) };
        let tools = tools.as_object().ok_or("`tools` must be an object")?;
        if let Some(v) = tools.get("duplicate_window_days")
            && !v.as_u64().is_some_and(|d| (1..=3650).contains(&d))
        {
            return Err("`tools.duplicate_window_days` must be a whole number of days from 1 to 3650".into());
        }
        if let Some(v) = tools.get("near_duplicate_max_distance")
            && v.as_u64().is_none_or(|d| d > MAX_NEAR_DISTANCE as u64)
        {
            return Err(format!(
                "`tools.near_duplicate_max_distance` must be 0 (exact duplicates only) to {MAX_NEAR_DISTANCE} bits (default {DEFAULT_MAX_DISTANCE})"
            ));
        }
        if let Some(rl) = tools.get("rate_limit") {
            let rl = rl.as_object().ok_or("`tools.rate_limit` must be an object")?;
            if let Some(v) = rl.get("per_recipient_per_day")
                && !v.is_null()
                && v.as_u64().is_none()
            {
                return Err("`tools.rate_limit.per_recipient_per_day` must be a whole number (0: no limit)".into());
            }
        }
        Ok(())
    }
}

/// Why the shared checks stop a send.
#[derive(Debug, Clone, PartialEq)]
pub enum Blocked {
    /// The recipient is on the site's suppression list.
    Suppressed(Suppression),
    /// The per-recipient rate limit is reached.
    RateLimited {
        /// Emails sent in the last 24 hours.
        sent: usize,
        /// The limit.
        limit: u32,
    },
    /// The same or similar content was sent earlier.
    Duplicate(DuplicateHit),
    /// An approval policy holds the message until a person approves it (issue 17).
    PendingApproval {
        /// The id the message has once sent.
        message_id: mailroom_core::MessageId,
        /// The approval to decide (`POST /v1/approvals/{id}/approve`).
        approval_id: Option<mailroom_core::ApprovalId>,
    },
}

impl Blocked {
    /// The tools' skip code: `suppressed`, `rate_limited` or `duplicate_email`.
    pub fn code(&self) -> &'static str {
        match self {
            Blocked::Suppressed(_) => "suppressed",
            Blocked::RateLimited { .. } => "rate_limited",
            Blocked::Duplicate(_) => "duplicate_email",
            Blocked::PendingApproval { .. } => "pending_approval",
        }
    }

    /// A sentence for the caller.
    pub fn message(&self) -> String {
        match self {
            Blocked::Suppressed(s) => format!("{} is on the suppression list ({})", s.address, s.reason),
            Blocked::RateLimited { sent, limit } => {
                format!("{sent} emails were sent to this recipient in the last 24 hours; the site allows {limit}")
            }
            Blocked::Duplicate(hit) => format!(
                "the same or similar content was already sent as email {} ({} duplicate)",
                hit.sent_email_id,
                match hit.kind {
                    crate::dedupe::DuplicateKind::Exact => "exact",
                    crate::dedupe::DuplicateKind::Near => "near",
                }
            ),
            Blocked::PendingApproval { message_id, approval_id } => format!(
                "the message is held for a person's approval (approval {}); it is sent as message {message_id} once approved",
                approval_id.map(|a| a.to_string()).unwrap_or_default()
            ),
        }
    }

    /// The earlier email a duplicate names.
    pub fn duplicate_of(&self) -> Option<String> {
        match self {
            Blocked::Duplicate(hit) => Some(hit.sent_email_id.to_string()),
            _ => None,
        }
    }
}

/// Checks the suppression list for `recipient`.
pub async fn suppression(engine: &Engine, site: SiteId, recipient: &str, checks: &mut Vec<Value>) -> Result<Option<Blocked>, String> {
    let found = engine.store().get_suppression(site, recipient).await.map_err(|e| format!("the suppression list could not be read: {e}"))?;
    match found {
        Some(s) => {
            check(checks, "not_suppressed", false, format!("{} is suppressed ({})", s.address, s.reason));
            Ok(Some(Blocked::Suppressed(s)))
        }
        None => {
            check(checks, "not_suppressed", true, "the recipient is not on the suppression list");
            Ok(None)
        }
    }
}

/// Checks the rate limit and the duplicate rule for an email of `subject` and `body` to
/// `recipient` (canonical address): the earlier tool emails to the same address are compared.
pub async fn rate_and_duplicates(
    engine: &Engine,
    site: SiteId,
    policy: &Policy,
    recipient: &str,
    subject: &str,
    body: &str,
    checks: &mut Vec<Value>,
) -> Result<Option<Blocked>, String> {
    let now = Utc::now();
    let earlier = engine
        .store()
        .list_sent_emails(site, recipient, policy.since(now), 1000)
        .await
        .map_err(|e| format!("the earlier emails could not be read: {e}"))?;
    if let Some(limit) = policy.per_recipient_per_day {
        let sent = policy.sent_today(&earlier, now);
        let passed = sent < limit as usize;
        check(checks, "rate_limit", passed, format!("{sent} of {limit} emails allowed per recipient per day"));
        if !passed {
            return Ok(Some(Blocked::RateLimited { sent, limit }));
        }
    }
    match policy.duplicates.check(subject, body, &earlier, now) {
        Some(hit) => {
            let blocked = Blocked::Duplicate(hit);
            check(checks, "not_duplicate", false, blocked.message());
            Ok(Some(blocked))
        }
        None => {
            check(
                checks,
                "not_duplicate",
                true,
                format!("no email within {} days is the same or similar ({} compared)", policy.duplicates.window.num_days(), earlier.len()),
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_are_read_and_validated() {
        let p = Policy::from_settings(&json!({}));
        assert_eq!(p, Policy::default());
        let s = json!({"tools": {"duplicate_window_days": 7, "near_duplicate_max_distance": 5, "rate_limit": {"per_recipient_per_day": 2}}});
        assert!(Policy::validate(&s).is_ok());
        let p = Policy::from_settings(&s);
        assert_eq!((p.duplicates.window.num_days(), p.duplicates.max_distance, p.per_recipient_per_day), (7, 5, Some(2)));
        assert!(Policy::validate(&json!({"tools": {"duplicate_window_days": 0}})).unwrap_err().contains("duplicate_window_days"));
        assert!(Policy::validate(&json!({"tools": {"near_duplicate_max_distance": 40}})).unwrap_err().contains("near_duplicate"));
        assert!(Policy::validate(&json!({"tools": {"rate_limit": {"per_recipient_per_day": "x"}}})).is_err());
        assert!(Policy::validate(&json!({"tools": []})).is_err());
        assert_eq!(Policy::from_settings(&json!({"tools": {"rate_limit": {"per_recipient_per_day": 0}}})).per_recipient_per_day, None);
    }
}
