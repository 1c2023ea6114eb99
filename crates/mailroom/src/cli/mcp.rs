//! `mailroom mcp`: the MCP tools over stdio, for MCP clients that start a command (Claude
//! Desktop, Cursor, …). Every tool call goes to the server at `MAILROOM_URL` with
//! `MAILROOM_API_KEY`, like every other client command; stdout carries only MCP messages, and
//! logs go to stderr (`RUST_LOG`, default `warn`).

use anyhow::Context as _;
use mailroom_client::{Client, ClientError};

pub(crate) async fn run(client: Client) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).try_init();
    // A wrong key will not get better: say so now rather than on every tool call. An
    // unreachable server may come up later: start anyway and let each call report it.
    match client.list_mailboxes(None, Some(1)).await {
        Ok(_) => {}
        Err(e @ ClientError::Api { status: 401 | 403, .. }) => return Err(e.into()),
        Err(e) => tracing::warn!(error = %e, "the Mailroom server did not answer; tool calls will fail until it does"),
    }
    mailroom_mcp::serve_stdio(client).await.map_err(|e| anyhow::anyhow!(e)).context("the MCP connection failed")
}
