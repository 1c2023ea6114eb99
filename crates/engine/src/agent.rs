//! Tool runs (the audit record of every tool call) and the site's sending settings document.

use crate::access::not_found;
use crate::{Engine, EngineResult};
use mailroom_core::agent::{ToolRun, ToolRunDelivery};
use mailroom_core::{KeyScope, SiteId, ToolRunId};
use mailroom_store::{NewEvent, ToolRunFilter};
use serde_json::Value;

impl Engine {
    /// Records a tool run with the events it logs, in one transaction.
    pub async fn record_tool_run(&self, run: &ToolRun, events: &[NewEvent]) -> EngineResult<()> {
        Ok(self.store.insert_tool_run(run, events).await?)
    }

    /// Lists tool runs, newest first, each with the delivery outcome of its message.
    pub async fn list_tool_runs(&self, filter: &ToolRunFilter) -> EngineResult<Vec<ToolRun>> {
        let mut runs = self.store.list_tool_runs(filter).await?;
        for run in &mut runs {
            self.with_delivery(run).await?;
        }
        Ok(runs)
    }

    /// Returns a tool run the caller may see, with the delivery outcome of its message.
    pub async fn visible_tool_run(&self, scope: KeyScope, id: ToolRunId) -> EngineResult<ToolRun> {
        let mut run = self.store.get_tool_run(id).await?.filter(|r| scope.allows(r.site_id)).ok_or_else(|| not_found("tool run", id))?;
        self.with_delivery(&mut run).await?;
        Ok(run)
    }

    /// Fills `run.delivery` from the recipients of the message it sent (in the run's site):
    /// the tools answer once the message is queued, and the final outcome is read here.
    async fn with_delivery(&self, run: &mut ToolRun) -> EngineResult<()> {
        let Some(message) = run.message_id else { return Ok(()) };
        run.delivery = match self.store.get_message(message).await? {
            Some(m) if m.site_id == run.site_id => ToolRunDelivery::of(&m.recipients),
            _ => None,
        };
        Ok(())
    }

    /// Returns the site's sending settings document, if one was stored.
    pub async fn site_settings(&self, site: SiteId) -> EngineResult<Option<Value>> {
        Ok(self.store.get_site_settings(site).await?)
    }

    /// Replaces the site's sending settings document (its shape checked by the caller's
    /// interface). The SMTP host it names (`channels.email.outgoingServer`) gets the same
    /// guard as a secure token's `smtpHost`.
    pub async fn put_site_settings(&self, site: SiteId, doc: &Value) -> EngineResult<()> {
        self.check_settings_smtp_host(doc).await?;
        Ok(self.store.put_site_settings(site, doc).await?)
    }
}
