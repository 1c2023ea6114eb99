//! The `/mcp` route: Mailroom's MCP tools over streamable HTTP, behind the same Bearer keys
//! as the REST API.
//!
//! A request without a valid key is refused here with the API's own 401 body. A request that
//! passes reaches the MCP service, whose tools call this server's REST API over loopback with
//! that same key, so what a key may see and do over MCP is exactly what it may over REST.

use crate::config::Config;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use mailroom_api::AppState;
use mailroom_api::auth::Auth;
use mailroom_mcp::{CancellationToken, HttpOptions};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::sync::watch;

/// The path the MCP endpoint is served at.
pub const PATH: &str = "/mcp";

/// Returns the router serving [`PATH`]. In-flight MCP requests end when `shutdown` turns true.
pub fn router(
    state: AppState,
    config: &Config,
    http_addr: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<axum::Router> {
    // The tools reach the REST API through this listener; the pool's own key is never sent
    // (every request brings its caller's key).
    let pool = mailroom_client::Client::new(&format!("http://{}", loopback(http_addr)), "unused-per-request-key")?;
    let cancel = CancellationToken::new();
    let on_stop = cancel.clone();
    tokio::spawn(async move {
        let _ = shutdown.wait_for(|s| *s).await;
        on_stop.cancel();
    });
    let service = mailroom_mcp::http_service(
        pool,
        HttpOptions {
            allowed_hosts: allowed_hosts(config, http_addr),
            max_body_bytes: config.http.max_body_bytes,
            cancel,
        },
    );
    Ok(axum::Router::new().route_service(PATH, service).route_layer(middleware::from_fn_with_state(state, require_key)))
}

/// Lets a request through only with a valid API key; the [`Auth`] extractor answers 401
/// `missing_api_key` / `invalid_api_key` in the API's error shape otherwise.
async fn require_key(_auth: Auth, request: Request, next: Next) -> Response {
    next.run(request).await
}

/// Returns the address to reach a listener bound to `addr` from this host.
fn loopback(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

/// Returns the `Host` values `/mcp` accepts: loopback names, the public URL's host, the listen
/// address and `http.mcp_allowed_hosts`; an empty list (any host) when that holds `*`.
fn allowed_hosts(config: &Config, http_addr: SocketAddr) -> Vec<String> {
    let extra: Vec<String> =
        config.http.mcp_allowed_hosts.iter().map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).collect();
    if extra.iter().any(|h| h == "*") {
        return Vec::new();
    }
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let public = config.http.public_url.trim();
    if !public.is_empty()
        && let Ok(uri) = public.parse::<axum::http::Uri>()
        && let Some(host) = uri.host()
    {
        hosts.push(host.trim_start_matches('[').trim_end_matches(']').to_string());
    }
    if !http_addr.ip().is_unspecified() && !http_addr.ip().is_loopback() {
        hosts.push(http_addr.ip().to_string());
    }
    hosts.extend(extra);
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_come_from_the_config() {
        let mut c = Config::default();
        let local: SocketAddr = "127.0.0.1:8025".parse().unwrap();
        assert_eq!(allowed_hosts(&c, local), ["localhost", "127.0.0.1", "::1"]);
        c.http.public_url = "https://mail.example.com/".into();
        c.http.mcp_allowed_hosts = vec!["agents.example.com:8443".into(), " ".into()];
        let lan: SocketAddr = "10.0.0.5:8025".parse().unwrap();
        assert_eq!(
            allowed_hosts(&c, lan),
            ["localhost", "127.0.0.1", "::1", "mail.example.com", "10.0.0.5", "agents.example.com:8443"]
        );
        c.http.mcp_allowed_hosts = vec!["*".into()];
        assert!(allowed_hosts(&c, lan).is_empty());
    }

    #[test]
    fn unspecified_listen_addresses_are_reached_over_loopback() {
        assert_eq!(loopback("0.0.0.0:80".parse().unwrap()), "127.0.0.1:80".parse().unwrap());
        assert_eq!(loopback("[::]:80".parse().unwrap()), "[::1]:80".parse().unwrap());
        assert_eq!(loopback("10.0.0.5:80".parse().unwrap()), "10.0.0.5:80".parse().unwrap());
    }
}
