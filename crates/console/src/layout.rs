//! The page shell (navigation, site switcher, sign-out) and small rendering helpers.

use crate::session::Session;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

/// The console's sections, in navigation order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Mail,
    ToolRuns,
    Approvals,
    Contacts,
    Suppressions,
    Queue,
    Webhooks,
    Domains,
    Events,
    Keys,
}

const SECTIONS: &[(Nav, &str, &str)] = &[
    (Nav::Mail, "/mailboxes", "Mail"),
    (Nav::ToolRuns, "/tool-runs", "Tool runs"),
    (Nav::Approvals, "/approvals", "Approvals"),
    (Nav::Contacts, "/contacts", "Contacts"),
    (Nav::Suppressions, "/suppressions", "Suppressions"),
    (Nav::Queue, "/queue", "Queue"),
    (Nav::Webhooks, "/webhooks", "Webhooks"),
    (Nav::Domains, "/domains", "Domains"),
    (Nav::Events, "/events", "Events"),
    (Nav::Keys, "/api-keys", "API keys"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            // No inline styles or eval: the page's CSP allows neither.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"selfRequestsOnly":true}"#;
            title { (title) " · Mailroom" }
            link rel="stylesheet" href="/assets/console.css";
            script src="/assets/htmx.min.js" defer {}
            script src="/assets/console.js" defer {}
            script src="/assets/htmx-ext-sse.min.js" defer {}
        }
    }
}

/// Returns a page without navigation (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { (body) }
        }
    }
}

/// Returns the sign-in page.
pub fn login(next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let page = bare(
        "Sign in",
        html! {
            main class="narrow" {
                h1 { "Mailroom" }
                p { "Sign in with an API key: the admin key printed at the first start (also in "
                    code { "<data-dir>/admin-api-key" } "), or a key of one site." }
                @if let Some(e) = error { p class="error" role="alert" { (e) } }
                form method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    label for="api_key" { "API key" }
                    input id="api_key" name="api_key" type="password" autocomplete="off" required autofocus;
                    button type="submit" { "Sign in" }
                }
            }
        },
    );
    (status, page).into_response()
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

/// Returns a full console page.
pub fn page(
    s: &Session,
    sites: &[Value],
    nav: Nav,
    here: &str,
    title: &str,
    body: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/" { "Mailroom" }
                    nav aria-label="Sections" {
                        ul {
                            @for (n, href, label) in SECTIONS {
                                li { a href=(href) aria-current=[(*n == nav).then_some("page")] { (label) } }
                            }
                        }
                    }
                    div class="who" {
                        @if s.admin {
                            form method="post" action="/site" class="inline" {
                                (csrf(s))
                                input type="hidden" name="next" value=(here);
                                label for="site_id" { "Site" }
                                select id="site_id" name="site_id" {
                                    @for site in sites {
                                        @let id = str_of(site, "id");
                                        option value=(id) selected[s.site.as_deref() == Some(id)] { (str_of(site, "name")) }
                                    }
                                }
                                button type="submit" { "Switch" }
                            }
                            span class="badge" { "admin" }
                        } @else {
                            span class="badge" { "site key" }
                        }
                        form method="post" action="/logout" class="inline" {
                            (csrf(s))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    };
    markup.into_response()
}

/// Returns a string field, or "".
pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Returns a field as display text (strings plain, other values as JSON, null as "—").
pub fn show(v: &Value, key: &str) -> String {
    match v.get(key) {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Formats an RFC 3339 time as `2026-01-31 12:00:05` (UTC), keeping the full value as the
/// `datetime` of a `<time>` element.
pub fn time(v: &Value, key: &str) -> Markup {
    let raw = str_of(v, key);
    let short: String = raw.replace('T', " ").chars().take(19).collect();
    html! { time datetime=(raw) { (short) } }
}

/// Pretty-printed JSON in a `<pre>`.
pub fn json(v: &Value) -> Markup {
    html! { pre class="json" { (serde_json::to_string_pretty(v).unwrap_or_default()) } }
}

/// A status word as a coloured badge.
pub fn status(word: &str) -> Markup {
    let class = match word {
        "pass" | "delivered" | "sent" | "succeeded" | "success" | "ok" | "true" => "badge good",
        "fail" | "failed" | "bounced" | "permerror" | "refused" | "error" | "canceled"
        | "cancelled" | "false" => "badge bad",
        "softfail" | "deferred" | "temperror" | "queued" | "sending" | "pending" | "neutral"
        | "dry_run" => "badge warn",
        _ => "badge",
    };
    html! { span class=(class) { (word) } }
}

/// A flash message from a query string.
pub fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(t) = text { p class="notice" role="status" { (t) } } }
}

/// Raw HTML (already escaped or sanitised).
#[allow(dead_code)]
pub fn raw(s: String) -> PreEscaped<String> {
    PreEscaped(s)
}
