//! `mailroom usage` and the limit flags of `mailroom sites|mailboxes update` (issue 15).

use super::table::{Table, fields, time_utc};
use super::{Ctx, out};
use mailroom_core::controls::{ControlsView, Limits, LimitsPatch};
use mailroom_core::ids::SiteId;

/// A limit on the command line: a count, or `unlimited` (no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitValue(pub Option<u64>);

/// Reads a limit: a count, or `unlimited` / `none` (no limit).
fn limit(s: &str) -> Result<LimitValue, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "unlimited" | "none" | "null" => Ok(LimitValue(None)),
        n => n.parse().map(|n| LimitValue(Some(n))).map_err(|_| format!("`{s}` is not a count or `unlimited`")),
    }
}

/// Reads a duration in seconds, with an optional unit: `90`, `90s`, `15m`, `2h`, `7d`.
pub(crate) fn duration_secs(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mul) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('h') => (&s[..s.len() - 1], 3600),
        Some('d') => (&s[..s.len() - 1], 86_400),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().filter(|n| *n > 0).map(|n| n * mul).ok_or_else(|| format!("`{s}` is not a duration such as 90, 15m, 2h or 7d"))
}

/// The limit and retention flags of `sites update` and `mailboxes update`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LimitArgs {
    /// Messages sent per minute (a count, or `unlimited`).
    #[arg(long, value_name = "N", value_parser = limit)]
    pub send_per_minute: Option<LimitValue>,
    /// Messages sent per hour (a count, or `unlimited`).
    #[arg(long, value_name = "N", value_parser = limit)]
    pub send_per_hour: Option<LimitValue>,
    /// Messages sent per day (a count, or `unlimited`).
    #[arg(long, value_name = "N", value_parser = limit)]
    pub send_per_day: Option<LimitValue>,
    /// Bytes of stored mail (a count, or `unlimited`).
    #[arg(long, value_name = "BYTES", value_parser = limit)]
    pub storage_bytes: Option<LimitValue>,
    /// Stored messages (a count, or `unlimited`).
    #[arg(long, value_name = "N", value_parser = limit)]
    pub max_messages: Option<LimitValue>,
    /// Days messages are kept (`unlimited`: forever).
    #[arg(long, value_name = "DAYS", value_parser = limit)]
    pub retention_days: Option<LimitValue>,
}

impl LimitArgs {
    /// Returns the limits to change, if any flag was given.
    pub fn patch(&self) -> Option<LimitsPatch> {
        let p = LimitsPatch {
            send_per_minute: self.send_per_minute.map(|v| v.0),
            send_per_hour: self.send_per_hour.map(|v| v.0),
            send_per_day: self.send_per_day.map(|v| v.0),
            storage_bytes: self.storage_bytes.map(|v| v.0),
            max_messages: self.max_messages.map(|v| v.0),
        };
        (p != LimitsPatch::default()).then_some(p)
    }

    /// Returns the retention change, if given.
    pub fn retention(&self) -> anyhow::Result<Option<Option<u32>>> {
        self.retention_days
            .map(|d| d.0.map(|n| u32::try_from(n).map_err(|_| anyhow::anyhow!("--retention-days {n} is too large"))).transpose())
            .transpose()
    }
}

fn show(v: Option<u64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "unlimited".into())
}

/// The lines that describe limits, retention and usage.
pub(crate) fn control_fields(limits: &Limits, retention: Option<u32>, usage: &mailroom_core::controls::Usage) -> Vec<(&'static str, String)> {
    vec![
        ("send per minute", show(limits.send_per_minute)),
        ("send per hour", show(limits.send_per_hour)),
        ("send per day", show(limits.send_per_day)),
        ("storage", format!("{} of {} bytes", usage.storage_bytes, show(limits.storage_bytes))),
        ("messages", format!("{} of {}", usage.messages, show(limits.max_messages))),
        ("retention", retention.map(|d| format!("{d} days")).unwrap_or_else(|| "forever".into())),
    ]
}

/// Prints a site's or mailbox's controls.
pub(crate) fn controls(v: &ControlsView) -> String {
    fields(&control_fields(&v.limits, v.retention_days, &v.usage))
}

/// `mailroom usage`: the site's use and limits, and each mailbox's.
pub(crate) async fn run(ctx: &Ctx, site_id: Option<SiteId>) -> anyhow::Result<()> {
    let report = ctx.client.usage(site_id).await?;
    if ctx.json {
        return ctx.print_json(&report);
    }
    out(&format!("site {}\n{}", report.site_id, controls(&report.site)))?;
    let mut t = Table::new(["MAILBOX", "MESSAGES", "BYTES", "SEND/MIN", "SEND/HOUR", "SEND/DAY", "EXPIRES (UTC)"]);
    for m in &report.mailboxes {
        let c = &m.controls;
        t.row(vec![
            m.address.clone(),
            format!("{}/{}", c.usage.messages, show(c.limits.max_messages)),
            format!("{}/{}", c.usage.storage_bytes, show(c.limits.storage_bytes)),
            show(c.limits.send_per_minute),
            show(c.limits.send_per_hour),
            show(c.limits.send_per_day),
            m.expires_at.as_ref().map(time_utc).unwrap_or_else(|| "-".into()),
        ]);
    }
    out(&t.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_durations_parse() {
        assert_eq!(limit("5"), Ok(LimitValue(Some(5))));
        assert_eq!(limit("unlimited"), Ok(LimitValue(None)));
        assert!(limit("five").is_err());
        assert_eq!(duration_secs("2h"), Ok(7200));
        assert_eq!(duration_secs("90"), Ok(90));
        assert!(duration_secs("0").is_err());
    }
}
