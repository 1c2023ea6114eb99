//! Tool runs (the audit record of every tool call) and the site's sending settings document.

use crate::access::not_found;
use crate::{Engine, EngineResult};
use mailroom_core::agent::ToolRun;
use mailroom_core::event_types;
use mailroom_core::{KeyScope, SiteId, ToolRunId};
use mailroom_store::{NewEvent, ToolRunFilter};
use serde_json::{Value, json};

/// The `data` of a `tool_run.created` event: what a live view lists about a run. The inputs,
/// checks and outputs stay out (they may hold personal data; the run itself, read with a key,
/// has them redacted).
pub fn tool_run_event(run: &ToolRun) -> Value {
    json!({
        "id": run.id,
        "tool": run.tool,
        "status": run.status,
        "code": run.code,
        "dry_run": run.dry_run,
        "decision": run.decision,
        "contact_id": run.contact_id,
        "message_id": run.message_id,
        "created_at": run.created_at,
    })
}

impl Engine {
    /// Records a tool run with the events it logs, in one transaction, followed by a
    /// `tool_run.created` event (see [`tool_run_event`]) so that live views see every run.
    pub async fn record_tool_run(&self, run: &ToolRun, events: &[NewEvent]) -> EngineResult<()> {
        let mailbox = events.iter().find_map(|e| e.mailbox_id);
        let mut all = events.to_vec();
        all.push(NewEvent::new(run.site_id, mailbox, event_types::TOOL_RUN_CREATED, tool_run_event(run)));
        Ok(self.store.insert_tool_run(run, &all).await?)
    }

    /// Lists tool runs, newest first.
    pub async fn list_tool_runs(&self, filter: &ToolRunFilter) -> EngineResult<Vec<ToolRun>> {
        Ok(self.store.list_tool_runs(filter).await?)
    }

    /// Returns a tool run the caller may see.
    pub async fn visible_tool_run(&self, scope: KeyScope, id: ToolRunId) -> EngineResult<ToolRun> {
        self.store.get_tool_run(id).await?.filter(|r| scope.allows(r.site_id)).ok_or_else(|| not_found("tool run", id))
    }

    /// Returns the site's sending settings document, if one was stored.
    pub async fn site_settings(&self, site: SiteId) -> EngineResult<Option<Value>> {
        Ok(self.store.get_site_settings(site).await?)
    }

    /// Replaces the site's sending settings document (checked by the caller's interface).
    pub async fn put_site_settings(&self, site: SiteId, doc: &Value) -> EngineResult<()> {
        Ok(self.store.put_site_settings(site, doc).await?)
    }
}
