//! Mailroom's web console, served by `mailroom serve` at `/` on the HTTP listener.
//!
//! Pages are rendered on the server (maud) and work without JavaScript; the little script
//! there is (htmx and its SSE extension, vendored with their licences, plus `console.js` for
//! keyboard navigation) only refreshes parts of a page when the event stream says something
//! changed. Nothing is fetched from outside: every asset is compiled into the binary.
//!
//! The console holds no data access of its own. It signs in with an API key, keeps the key in
//! a server-side session, and serves every page and action through the REST router with that
//! key (see [`api`]), so the same tenant checks and the same send policy apply as for any API
//! client. Message HTML is sanitised with ammonia and shown in a sandboxed `iframe` whose own
//! Content-Security-Policy allows no script, no form and, until the user asks, no remote image.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
mod approvals;
mod layout;
mod mail;
mod oversight;
pub mod sanitize;
pub mod session;

use api::{Api, PageError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use session::{Session, Sessions};
use std::sync::Arc;

/// Settings of the console.
#[derive(Debug, Clone, Default)]
pub struct ConsoleConfig {
    /// Marks the session cookie `Secure` (the console is reached over HTTPS).
    pub secure_cookies: bool,
}

/// What every console handler gets.
#[derive(Clone)]
pub struct Console {
    api: Api,
    sessions: Arc<Sessions>,
    config: Arc<ConsoleConfig>,
}

/// The Content-Security-Policy of every console page: nothing but this server.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Returns the console's routes. `api` is the REST router the console calls in process.
pub fn router(api: Router, config: ConsoleConfig) -> Router {
    let console = Console {
        api: Api::new(api),
        sessions: Arc::new(Sessions::default()),
        config: Arc::new(config),
    };
    Router::new()
        .route("/", get(mail::home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/site", post(switch_site))
        .route("/live", get(mail::live))
        .route("/assets/{name}", get(asset))
        .route(
            "/mailboxes",
            get(mail::mailboxes).post(mail::create_mailbox),
        )
        .route("/mailboxes/{id}", get(mail::inbox))
        .route("/mailboxes/{id}/list", get(mail::inbox_list))
        .route("/mailboxes/{id}/rename", post(mail::rename_mailbox))
        .route(
            "/mailboxes/{id}/delete",
            get(mail::confirm_delete_mailbox).post(mail::delete_mailbox),
        )
        .route(
            "/mailboxes/{id}/compose",
            get(mail::compose_page).post(mail::compose),
        )
        .route("/threads/{id}", get(mail::thread))
        .route("/threads/{id}/messages", get(mail::thread_messages))
        .route("/messages/{id}", get(mail::message_redirect))
        .route("/messages/{id}/body", get(mail::message_body))
        .route("/messages/{id}/raw", get(mail::message_raw))
        .route("/messages/{id}/flags", post(mail::message_flags))
        .route("/messages/{id}/reply", post(mail::reply))
        .route("/attachments/{id}", get(mail::attachment))
        .route("/approvals", get(approvals::approvals))
        .route("/mailboxes/{id}/drafts", get(approvals::drafts))
        .route("/approvals/{id}/edit", post(approvals::edit))
        .route("/approvals/{id}/{action}", post(approvals::decide))
        .route("/tool-runs", get(oversight::tool_runs))
        .route("/tool-runs/{id}", get(oversight::tool_run))
        .route("/contacts", get(oversight::contacts))
        .route("/contacts/{id}", get(oversight::contact))
        .route(
            "/suppressions",
            get(oversight::suppressions).post(oversight::add_suppression),
        )
        .route("/suppressions/delete", post(oversight::delete_suppression))
        .route("/queue", get(oversight::queue))
        .route("/queue/{action}", post(oversight::queue_action))
        .route("/webhooks", get(oversight::webhooks))
        .route("/webhooks/{id}", get(oversight::webhook))
        .route("/webhooks/{id}/replay", post(oversight::webhook_replay))
        .route(
            "/domains",
            get(oversight::domains).post(oversight::add_domain),
        )
        .route("/domains/{id}", get(oversight::domain))
        .route("/events", get(oversight::events))
        .route(
            "/api-keys",
            get(oversight::api_keys).post(oversight::create_api_key),
        )
        .route("/api-keys/{id}/delete", post(oversight::delete_api_key))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(console)
}

async fn security_headers(req: Request, next: axum::middleware::Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::X_FRAME_OPTIONS) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// A signed-in request. Without a live session, pages redirect to the sign-in form (htmx
/// requests get `HX-Redirect`).
pub struct Signed(pub Session);

impl FromRequestParts<Console> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Console,
    ) -> Result<Self, Self::Rejection> {
        match state.sessions.from_headers(&parts.headers) {
            Some(s) => Ok(Signed(s)),
            None => Err(to_login(
                &parts.headers,
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/"),
            )),
        }
    }
}

fn to_login(headers: &HeaderMap, next: &str) -> Response {
    let target = format!("/login?next={}", api::enc(next));
    if headers.contains_key("hx-request") {
        return (StatusCode::UNAUTHORIZED, [("hx-redirect", target)]).into_response();
    }
    Redirect::to(&target).into_response()
}

/// A state-changing form post: needs a live session and the session's CSRF token in the
/// `csrf` field (or the `X-CSRF-Token` header); anything else is refused with 403 before the
/// form is read further.
pub struct Posted<T>(pub Session, pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

impl<T: DeserializeOwned> FromRequest<Console> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Console) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let Some(session) = state.sessions.from_headers(&parts.headers) else {
            // A post without a session is refused as a CSRF failure, not silently redirected.
            return Err(PageError::Csrf.into_response());
        };
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let header_token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let field: CsrfField =
            serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: None });
        let token = field.csrf.or(header_token).unwrap_or_default();
        if !session::same(&token, &session.csrf) {
            return Err(PageError::Csrf.into_response());
        }
        let form: T = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| PageError::bad(format!("The form is not valid: {e}.")).into_response())?;
        Ok(Posted(session, form))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            PageError::SignedOut => return Redirect::to("/login?expired=1").into_response(),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired".to_string(),
                "The form's security token is missing or stale (csrf_token_invalid). Reload the page and try again.".to_string(),
            ),
            PageError::Api { status, code, message } => (status, format!("{} ({code})", status.canonical_reason().unwrap_or("Error")), message),
        };
        (
            status,
            layout::bare(
                &title,
                maud::html! {
                    main class="narrow" {
                        h1 { (title) }
                        p role="alert" { (message) }
                        p { a href="/" { "Back to the console" } }
                    }
                },
            ),
        )
            .into_response()
    }
}

/// The result of a page handler.
pub type PageResult = Result<Response, PageError>;

// ---- assets ---------------------------------------------------------------------------------

const HTMX: &str = include_str!("../assets/htmx.min.js");
const HTMX_SSE: &str = include_str!("../assets/htmx-ext-sse.min.js");
const CONSOLE_JS: &str = include_str!("../assets/console.js");
const CONSOLE_CSS: &str = include_str!("../assets/console.css");
const LICENSE_HTMX: &str = include_str!("../assets/LICENSE-htmx");
const LICENSE_HTMX_SSE: &str = include_str!("../assets/LICENSE-htmx-ext-sse");

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (body, ct) = match name.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "htmx-ext-sse.min.js" => (HTMX_SSE, "text/javascript; charset=utf-8"),
        "console.js" => (CONSOLE_JS, "text/javascript; charset=utf-8"),
        "console.css" => (CONSOLE_CSS, "text/css; charset=utf-8"),
        "LICENSE-htmx" => (LICENSE_HTMX, "text/plain; charset=utf-8"),
        "LICENSE-htmx-ext-sse" => (LICENSE_HTMX_SSE, "text/plain; charset=utf-8"),
        _ => return PageError::not_found("asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

// ---- sign-in --------------------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

async fn login_page(axum::extract::Query(q): axum::extract::Query<LoginQuery>) -> Response {
    layout::login(
        q.next.as_deref().unwrap_or("/"),
        q.expired
            .is_some()
            .then_some("Your session ended; sign in again."),
        StatusCode::OK,
    )
}

#[derive(serde::Deserialize)]
struct LoginForm {
    api_key: String,
    next: Option<String>,
}

/// Only same-site paths are followed after sign-in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

async fn login(
    State(c): State<Console>,
    headers: HeaderMap,
    axum::extract::Form(f): axum::extract::Form<LoginForm>,
) -> Response {
    // The sign-in form carries no session token yet; a cross-site post is told apart by Origin.
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) && origin != "null"
        && origin.split("://").nth(1) != Some(host)
    {
        return PageError::Csrf.into_response();
    }
    let key = f.api_key.trim().to_string();
    let next = safe_next(f.next.as_deref());
    if key.is_empty() {
        return layout::login(
            &next,
            Some("Paste an API key to sign in."),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    // Which kind of key: an admin key may list sites; a site key learns its site from its keys.
    let probe = Session::probe(&key);
    let (admin, site) = match c.api.get(&probe, "/v1/sites").await {
        Ok(sites) => {
            let all = api::items(&sites);
            let default = all
                .iter()
                .find(|s| s["name"] == "default")
                .or(all.first())
                .and_then(|s| s["id"].as_str())
                .map(str::to_string);
            (true, default)
        }
        Err(PageError::SignedOut) => {
            return layout::login(
                &next,
                Some("That API key is not valid (unknown or deleted)."),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(_) => match c.api.get(&probe, "/v1/api-keys").await {
            Ok(keys) => (
                false,
                api::items(&keys)
                    .iter()
                    .find_map(|k| k["site_id"].as_str().map(str::to_string)),
            ),
            Err(_) => {
                return layout::login(
                    &next,
                    Some("That API key is not valid (unknown or deleted)."),
                    StatusCode::UNAUTHORIZED,
                );
            }
        },
    };
    let s = c.sessions.create(key, admin, site);
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                session::set_cookie(&s.id, c.config.secure_cookies),
            ),
            (header::LOCATION, next),
        ],
    )
        .into_response()
}

async fn logout(
    State(c): State<Console>,
    Posted(s, _): Posted<std::collections::HashMap<String, String>>,
) -> Response {
    c.sessions.remove(&s.id);
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                session::set_cookie("", c.config.secure_cookies),
            ),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct SiteForm {
    site_id: String,
    next: Option<String>,
}

async fn switch_site(State(c): State<Console>, Posted(s, f): Posted<SiteForm>) -> PageResult {
    if !s.admin {
        return Err(PageError::Api {
            status: StatusCode::FORBIDDEN,
            code: "forbidden".into(),
            message: "Only an admin key can switch sites.".into(),
        });
    }
    let sites = c.api.get(&s, "/v1/sites").await?;
    if !api::items(&sites)
        .iter()
        .any(|x| x["id"].as_str() == Some(f.site_id.as_str()))
    {
        return Err(PageError::not_found("site"));
    }
    c.sessions.set_site(&s.id, f.site_id);
    // Pages of one site's objects make no sense after a switch: go to the section's list.
    let next = safe_next(f.next.as_deref());
    let section = next.split('/').nth(1).unwrap_or("");
    Ok(Redirect::to(&format!("/{section}")).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(super::safe_next(Some("/threads/x")), "/threads/x");
        assert_eq!(super::safe_next(Some("//evil.test/")), "/");
        assert_eq!(super::safe_next(Some("https://evil.test/")), "/");
        assert_eq!(super::safe_next(None), "/");
    }
}
