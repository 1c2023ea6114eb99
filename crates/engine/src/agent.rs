//! Tool runs (the audit record of every tool call) and the site's sending settings document.

use crate::access::not_found;
use crate::{Engine, EngineResult};
use mailroom_core::agent::{ToolRun, ToolRunDelivery};
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tool_run_event_leaves_inputs_checks_and_outputs_out() {
        let run = ToolRun {
            id: ToolRunId::new(),
            site_id: SiteId::new(),
            tool: "send_email".into(),
            tool_config_id: None,
            contact_id: None,
            status: "skipped".into(),
            code: Some("duplicate_email".into()),
            dry_run: false,
            inputs: json!({"email": "lead@customer.test", "api_key": "[redacted]"}),
            checks: json!([{"name": "not_duplicate", "passed": false}]),
            decision: json!({"action": "skip", "code": "duplicate_email"}),
            outputs: json!({"secret": "x"}),
            message_id: None,
            delivery: None,
            created_at: mailroom_core::now(),
        };
        let data = tool_run_event(&run);
        let mut keys: Vec<&str> = data.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "contact_id", "created_at", "decision", "dry_run", "id", "message_id", "status", "tool"]);
        assert_eq!((data["id"].as_str(), &data["code"], &data["decision"]), (Some(run.id.to_string().as_str()), &json!("duplicate_email"), &run.decision));
    }
}
