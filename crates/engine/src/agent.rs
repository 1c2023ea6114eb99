//! Tool runs (the audit record of every tool call) and the site's sending settings document.

use crate::access::not_found;
use crate::{Engine, EngineResult};
use mailroom_core::agent::ToolRun;
use mailroom_core::{KeyScope, SiteId, ToolRunId};
use mailroom_store::{NewEvent, ToolRunFilter};
use serde_json::Value;

impl Engine {
    /// Records a tool run with the events it logs, in one transaction.
    pub async fn record_tool_run(&self, run: &ToolRun, events: &[NewEvent]) -> EngineResult<()> {
        Ok(self.store.insert_tool_run(run, events).await?)
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
