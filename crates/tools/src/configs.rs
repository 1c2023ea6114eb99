//! Tool configs: builder-configured instances of the agent email tools. Creating and changing
//! them checks the name, the prompt and the settings for the wrapped tool (the settings parsers
//! live in this crate, so this service does too); REST and every other interface call these.

use mailroom_core::agent::ToolConfig;
use mailroom_core::api::{CreateToolConfigRequest, UpdateToolConfigRequest};
use mailroom_core::{KeyScope, SiteId, ToolConfigId};
use mailroom_engine::{Engine, EngineError, EngineResult, not_found};

/// The tools a config may wrap.
pub const TOOLS: [&str; 3] = ["send_email", "send_one_to_one_email", "send_information_email"];

fn invalid(code: &'static str, message: impl Into<String>) -> EngineError {
    EngineError::invalid(code, message)
}

fn check_name(name: &str) -> EngineResult<()> {
    let ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(invalid("invalid_tool_config_name", "`name` must be 1 to 64 of a-z, 0-9 and _"));
    }
    if TOOLS.contains(&name) {
        return Err(invalid("invalid_tool_config_name", format!("`{name}` is a built-in tool's name; choose another")));
    }
    if mailroom_core::agent::MCP_BUILTIN_TOOL_NAMES.contains(&name) {
        return Err(invalid(
            "invalid_tool_config_name",
            format!("`{name}` is the name of one of MCP's built-in tools, so MCP could not offer this config; choose another"),
        ));
    }
    Ok(())
}

fn check_prompt(prompt: &str) -> EngineResult<()> {
    let n = prompt.chars().count();
    if prompt.trim().is_empty() || n > 10_000 {
        return Err(invalid("invalid_prompt", "`prompt` must be 1 to 10000 characters"));
    }
    Ok(())
}

/// Checks a config's settings for its tool: `send_one_to_one_email` takes the sender rule,
/// default cc/bcc and `complete_on_send_failure`; `send_information_email` takes `enabled`,
/// `allowed_content`, `business_time_zone`, `default_language` and `team_member_id`;
/// `send_email` takes none.
fn check_settings(tool: &str, settings: Option<serde_json::Value>) -> EngineResult<serde_json::Value> {
    let settings = match settings {
        None | Some(serde_json::Value::Null) => serde_json::Value::Object(Default::default()),
        Some(v @ serde_json::Value::Object(_)) => v,
        Some(_) => return Err(invalid("validation_error", "`settings` must be an object")),
    };
    let checked = match tool {
        "send_one_to_one_email" => crate::one_to_one::OneToOneSettings::parse(&settings).map(|_| ()),
        "send_information_email" => crate::information::InformationSettings::validate(&settings),
        _ if settings.as_object().is_some_and(|o| !o.is_empty()) => Err("`send_email` configs take no settings".to_string()),
        _ => Ok(()),
    };
    checked.map_err(|e| invalid("invalid_settings", e))?;
    Ok(settings)
}

/// Returns a tool config the caller may see.
pub async fn visible(engine: &Engine, scope: KeyScope, id: ToolConfigId) -> EngineResult<ToolConfig> {
    engine.store().get_tool_config(id).await?.filter(|c| scope.allows(c.site_id)).ok_or_else(|| not_found("tool config", id))
}

/// Creates a tool config in the site the caller targets; its name is unique in the site
/// (a store conflict on `tool_config_name`).
pub async fn create(engine: &Engine, scope: KeyScope, req: CreateToolConfigRequest) -> EngineResult<ToolConfig> {
    let site = engine.target_site(scope, req.site_id).await?;
    check_name(&req.name)?;
    if !TOOLS.contains(&req.tool.as_str()) {
        return Err(invalid("invalid_tool", "`tool` must be send_email, send_one_to_one_email or send_information_email"));
    }
    check_prompt(&req.prompt)?;
    let settings = check_settings(&req.tool, req.settings)?;
    let now = chrono::Utc::now();
    let config = ToolConfig { id: ToolConfigId::new(), site_id: site, name: req.name, tool: req.tool, prompt: req.prompt, settings, created_at: now, updated_at: now };
    engine.store().create_tool_config(&config).await?;
    Ok(config)
}

/// Lists tool configs of `site` (every site: `None`) by name.
pub async fn list(engine: &Engine, site: Option<SiteId>) -> EngineResult<Vec<ToolConfig>> {
    Ok(engine.store().list_tool_configs(site).await?)
}

/// Returns the site's tool config named `name`, if any.
pub async fn by_name(engine: &Engine, site: SiteId, name: &str) -> EngineResult<Option<ToolConfig>> {
    Ok(engine.store().get_tool_config_by_name(site, name).await?)
}

/// Changes a tool config's name, prompt or settings (the tool itself cannot change).
pub async fn update(engine: &Engine, scope: KeyScope, id: ToolConfigId, req: UpdateToolConfigRequest) -> EngineResult<ToolConfig> {
    let mut config = visible(engine, scope, id).await?;
    if let Some(n) = req.name {
        check_name(&n)?;
        config.name = n;
    }
    if let Some(p) = req.prompt {
        check_prompt(&p)?;
        config.prompt = p;
    }
    if req.settings.is_some() {
        config.settings = check_settings(&config.tool, req.settings)?;
    }
    if let Some(p) = req.approval_policy {
        // Kept with the other approval policies (engine `drafts.rs`), once the rest is valid.
        engine.set_approval_policy("tool_config", &config.id.to_string(), p).await?;
    }
    config.updated_at = chrono::Utc::now();
    engine.store().update_tool_config(&config).await?;
    Ok(config)
}

/// Deletes a tool config; its runs stay (without it).
pub async fn delete(engine: &Engine, scope: KeyScope, id: ToolConfigId) -> EngineResult<()> {
    let config = visible(engine, scope, id).await?;
    if engine.store().delete_tool_config(config.id).await? { Ok(()) } else { Err(not_found("tool config", id)) }
}
