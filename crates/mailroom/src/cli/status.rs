//! `mailroom status`: the server at a glance.

use super::table::fields;
use super::{Ctx, out};

pub(crate) async fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let s = ctx.client.status().await?;
    if ctx.json {
        return ctx.print_json(&s);
    }
    let mut pairs = vec![
        ("server", ctx.client.base_url().to_string()),
        ("version", s.version.clone()),
        ("store", s.store.clone()),
        ("default domain", s.default_domain.clone()),
    ];
    for l in &s.listeners {
        pairs.push(("listener", format!("{} {}", l.name, l.addr)));
    }
    pairs.push(("queue depth", s.queue_depth.to_string()));
    pairs.push(("oldest queued", format!("{:.0} s", s.oldest_queued_secs)));
    pairs.push(("webhook backlog", s.webhook_backlog.to_string()));
    out(&fields(&pairs))
}
