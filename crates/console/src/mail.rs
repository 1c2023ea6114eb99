//! Mail: mailboxes, the inbox (threads by latest activity, search and filters), the thread
//! view with safe HTML, and the actions on messages (flags, labels, reply, compose).

use crate::api::{PageError, enc, items, with_site};
use crate::layout::{self, Nav, csrf, json, notice, show, status, str_of, time};
use crate::sanitize;
use crate::session::Session;
use crate::{Console, PageResult, Posted, Signed};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The event types that change what the inbox or a thread shows.
const MAIL_EVENTS: &str = "sse:message.received, sse:message.sent, sse:message.delivered, sse:message.deferred, \
    sse:message.bounced, sse:message.failed, sse:message.deleted";

pub(crate) async fn sites(c: &Console, s: &Session) -> Vec<Value> {
    if !s.admin {
        return Vec::new();
    }
    c.api
        .get(s, "/v1/sites")
        .await
        .map(|v| items(&v))
        .unwrap_or_default()
}

fn id_ok(id: &str) -> Result<&str, PageError> {
    // Ids are UUIDs; anything else cannot name an object (and must not reach a path).
    if !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(id)
    } else {
        Err(PageError::not_found("object"))
    }
}

pub(crate) async fn home(State(c): State<Console>, Signed(s): Signed) -> PageResult {
    let boxes = c.api.list(&s, "/v1/mailboxes?limit=1").await?;
    Ok(match boxes.first() {
        Some(m) => Redirect::to(&format!("/mailboxes/{}", str_of(m, "id"))).into_response(),
        None => Redirect::to("/mailboxes").into_response(),
    })
}

#[derive(Deserialize)]
pub(crate) struct Flash {
    done: Option<String>,
}

pub(crate) async fn mailboxes(
    State(c): State<Console>,
    Signed(s): Signed,
    Query(f): Query<Flash>,
) -> PageResult {
    let boxes = c.api.list(&s, "/v1/mailboxes?limit=100").await?;
    let body = html! {
        h1 { "Mailboxes" }
        (notice(f.done.as_deref()))
        @if boxes.is_empty() { p { "No mailbox yet: create one below." } }
        table class="list" {
            thead { tr { th { "Address" } th { "Name" } th { "client_id" } th { "Created" } th { span class="sr" { "Actions" } } } }
            tbody {
                @for m in &boxes {
                    @let id = str_of(m, "id");
                    tr {
                        td { a href=(format!("/mailboxes/{id}")) { (str_of(m, "address")) } }
                        td {
                            form method="post" action=(format!("/mailboxes/{id}/rename")) class="inline" {
                                (csrf(&s))
                                label class="sr" for=(format!("name-{id}")) { "Display name" }
                                input id=(format!("name-{id}")) name="display_name" value=(str_of(m, "display_name"));
                                button type="submit" { "Rename" }
                            }
                        }
                        td { code { (show(m, "client_id")) } }
                        td { (time(m, "created_at")) }
                        td { a href=(format!("/mailboxes/{id}/drafts")) { "Drafts" } " · " a href=(format!("/mailboxes/{id}/delete")) { "Delete…" } }
                    }
                }
            }
        }
        h2 { "New mailbox" }
        form method="post" action="/mailboxes" class="stack" {
            (csrf(&s))
            label { "Username " input name="username" required placeholder="support"; }
            label { "Domain (optional) " input name="domain" placeholder="the server's default domain"; }
            label { "Display name (optional) " input name="display_name"; }
            label { "client_id (optional: a retried create returns the same mailbox) " input name="client_id"; }
            button type="submit" { "Create mailbox" }
        }
    };
    Ok(layout::page(
        &s,
        &sites(&c, &s).await,
        Nav::Mail,
        "/mailboxes",
        "Mailboxes",
        body,
    ))
}

#[derive(Deserialize)]
pub(crate) struct NewMailbox {
    username: String,
    domain: Option<String>,
    display_name: Option<String>,
    client_id: Option<String>,
}

fn opt(s: &Option<String>) -> Value {
    match s.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Value::String(v.to_string()),
        _ => Value::Null,
    }
}

pub(crate) async fn create_mailbox(
    State(c): State<Console>,
    Posted(s, f): Posted<NewMailbox>,
) -> PageResult {
    let mut body = json!({ "username": f.username.trim(), "domain": opt(&f.domain), "display_name": opt(&f.display_name), "client_id": opt(&f.client_id) });
    if s.admin {
        body["site_id"] = json!(s.site);
    }
    let m = c
        .api
        .call(&s, Method::POST, "/v1/mailboxes", Some(&body))
        .await?;
    Ok(Redirect::to(&format!("/mailboxes/{}", str_of(&m, "id"))).into_response())
}

#[derive(Deserialize)]
pub(crate) struct Rename {
    display_name: String,
}

pub(crate) async fn rename_mailbox(
    State(c): State<Console>,
    Path(id): Path<String>,
    Posted(s, f): Posted<Rename>,
) -> PageResult {
    let id = id_ok(&id)?;
    let name = f.display_name.trim();
    let body = json!({ "display_name": if name.is_empty() { Value::Null } else { json!(name) } });
    c.api
        .call(
            &s,
            Method::PATCH,
            &format!("/v1/mailboxes/{id}"),
            Some(&body),
        )
        .await?;
    Ok(Redirect::to("/mailboxes?done=Mailbox+renamed.").into_response())
}

pub(crate) async fn confirm_delete_mailbox(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
) -> PageResult {
    let id = id_ok(&id)?;
    let m = c.api.get(&s, &format!("/v1/mailboxes/{id}")).await?;
    let body = html! {
        h1 { "Delete " (str_of(&m, "address")) "?" }
        p { "The mailbox, its threads, messages and attachments are deleted for good. Mail sent to the address afterwards is refused." }
        form method="post" action=(format!("/mailboxes/{id}/delete")) {
            (csrf(&s))
            button type="submit" class="danger" { "Delete the mailbox" }
            " " a href="/mailboxes" { "Cancel" }
        }
    };
    Ok(layout::page(
        &s,
        &sites(&c, &s).await,
        Nav::Mail,
        "/mailboxes",
        "Delete mailbox",
        body,
    ))
}

pub(crate) async fn delete_mailbox(
    State(c): State<Console>,
    Path(id): Path<String>,
    Posted(s, _): Posted<std::collections::HashMap<String, String>>,
) -> PageResult {
    let id = id_ok(&id)?;
    c.api
        .call(&s, Method::DELETE, &format!("/v1/mailboxes/{id}"), None)
        .await?;
    Ok(Redirect::to("/mailboxes?done=Mailbox+deleted.").into_response())
}

/// Search and filters of the inbox.
#[derive(Deserialize, Default, Clone)]
pub(crate) struct InboxQuery {
    q: Option<String>,
    unread: Option<String>,
    label: Option<String>,
    direction: Option<String>,
    cursor: Option<String>,
}

impl InboxQuery {
    fn filtered(&self) -> bool {
        [&self.q, &self.unread, &self.label, &self.direction]
            .iter()
            .any(|v| v.as_deref().is_some_and(|s| !s.trim().is_empty()))
    }

    /// The query string without the cursor.
    fn query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("unread", &self.unread),
            ("label", &self.label),
            ("direction", &self.direction),
        ] {
            if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", enc(v)));
            }
        }
        parts.join("&")
    }
}

async fn list_markup(
    c: &Console,
    s: &Session,
    mailbox: &str,
    q: &InboxQuery,
) -> Result<Markup, PageError> {
    let cursor = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| format!("&cursor={}", enc(c)))
        .unwrap_or_default();
    if !q.filtered() {
        let page = c
            .api
            .get(
                s,
                &format!("/v1/mailboxes/{mailbox}/threads?limit=50{cursor}"),
            )
            .await?;
        let threads = items(&page);
        let next = page.get("next_cursor").and_then(Value::as_str);
        return Ok(html! {
            @if threads.is_empty() { p class="empty" { "No mail yet. Send some to this address over SMTP or the API." } }
            ol class="rows" id="thread-list" data-keynav="" aria-label="Threads, latest activity first" {
                @for t in &threads {
                    @let participants = t["participants"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                    li {
                        a class="row" href=(format!("/threads/{}", str_of(t, "id"))) {
                            span class="who" { (participants) }
                            span class="subj" { (t["subject"].as_str().unwrap_or("(no subject)")) }
                            span class="snip" { (str_of(t, "snippet")) }
                            span class="count" title="messages" { (t["message_count"].as_u64().unwrap_or(0)) }
                            (time(t, "last_message_at"))
                        }
                    }
                }
            }
            @if let Some(n) = next { p { a href=(format!("/mailboxes/{mailbox}?cursor={}", enc(n))) { "Older threads →" } } }
        });
    }
    let mut path = format!("/v1/mailboxes/{mailbox}/messages?limit=50{cursor}");
    if let Some(v) = q.q.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        path.push_str(&format!("&q={}", enc(v)));
    }
    match q.unread.as_deref() {
        Some("unread") => path.push_str("&unread=true"),
        Some("read") => path.push_str("&unread=false"),
        _ => {}
    }
    if let Some(v) = q.label.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        path.push_str(&format!("&label={}", enc(v)));
    }
    if let Some(v) = q.direction.as_deref().filter(|v| !v.is_empty()) {
        path.push_str(&format!("&direction={}", enc(v)));
    }
    let page = c.api.get(s, &path).await?;
    let messages = items(&page);
    let next = page.get("next_cursor").and_then(Value::as_str);
    let query = q.query();
    Ok(html! {
        p class="muted" { (messages.len()) " matching message(s)" }
        ol class="rows" id="thread-list" data-keynav="" aria-label="Matching messages, newest first" {
            @for m in &messages {
                li.unread[m["read"] == false] {
                    a class="row" href=(format!("/threads/{}#m-{}", str_of(m, "thread_id"), str_of(m, "id"))) {
                        span class="who" { (addr(&m["from"])) }
                        span class="subj" { (m["subject"].as_str().unwrap_or("(no subject)")) }
                        span class="snip" { (str_of(m, "snippet")) }
                        span class="count" { (str_of(m, "direction")) }
                        (time(m, "created_at"))
                    }
                }
            }
        }
        @if let Some(n) = next { p { a href=(format!("/mailboxes/{mailbox}?{query}&cursor={}", enc(n))) { "Older →" } } }
    })
}

fn addr(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let email = o
                .get("address")
                .or(o.get("email"))
                .and_then(Value::as_str)
                .unwrap_or("");
            match o
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            {
                Some(n) => format!("{n} <{email}>"),
                None => email.to_string(),
            }
        }
        Value::Array(a) => a.iter().map(addr).collect::<Vec<_>>().join(", "),
        _ => String::new(),
    }
}

async fn mailbox_nav(c: &Console, s: &Session, current: &str) -> Markup {
    let boxes = c
        .api
        .list(s, "/v1/mailboxes?limit=100")
        .await
        .unwrap_or_default();
    html! {
        nav class="boxes" aria-label="Mailboxes" {
            ul {
                @for m in &boxes {
                    @let id = str_of(m, "id");
                    li { a href=(format!("/mailboxes/{id}")) aria-current=[(id == current).then_some("page")] { (str_of(m, "address")) } }
                }
            }
            a href="/mailboxes" { "Manage mailboxes" }
        }
    }
}

pub(crate) async fn inbox(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Query(q): Query<InboxQuery>,
) -> PageResult {
    let id = id_ok(&id)?;
    let m = c.api.get(&s, &format!("/v1/mailboxes/{id}")).await?;
    let (list, nav, sites) = tokio::join!(
        list_markup(&c, &s, id, &q),
        mailbox_nav(&c, &s, id),
        sites(&c, &s)
    );
    let list = list?;
    let query = q.query();
    let body = html! {
        div class="mail" {
            (nav)
            section class="inbox" hx-ext="sse" sse-connect=(format!("/live?mailbox_id={id}")) {
                header class="bar" {
                    h1 { (str_of(&m, "address")) }
                    a class="button" href=(format!("/mailboxes/{id}/compose")) { "Compose" }
                }
                form method="get" action=(format!("/mailboxes/{id}")) class="filters" role="search" {
                    label class="sr" for="q" { "Search" }
                    input id="q" type="search" name="q" value=(q.q.clone().unwrap_or_default()) placeholder="Search (press /)";
                    label { "State " select name="unread" {
                        option value="" { "any" }
                        option value="unread" selected[q.unread.as_deref() == Some("unread")] { "unread" }
                        option value="read" selected[q.unread.as_deref() == Some("read")] { "read" }
                    } }
                    label { "Direction " select name="direction" {
                        option value="" { "any" }
                        option value="inbound" selected[q.direction.as_deref() == Some("inbound")] { "received" }
                        option value="outbound" selected[q.direction.as_deref() == Some("outbound")] { "sent" }
                    } }
                    label { "Label " input name="label" size="10" value=(q.label.clone().unwrap_or_default()); }
                    button type="submit" { "Filter" }
                    @if q.filtered() { a href=(format!("/mailboxes/{id}")) { "Clear" } }
                }
                div id="list" hx-get=(format!("/mailboxes/{id}/list?{query}")) hx-trigger=(MAIL_EVENTS) hx-swap="innerHTML" aria-live="polite" {
                    (list)
                }
                p class="muted hint" { "Keys: j/k or ↓/↑ move, Enter opens, / searches. The list updates live." }
            }
        }
    };
    Ok(layout::page(
        &s,
        &sites,
        Nav::Mail,
        &format!("/mailboxes/{id}"),
        str_of(&m, "address"),
        body,
    ))
}

pub(crate) async fn inbox_list(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Query(q): Query<InboxQuery>,
) -> PageResult {
    let id = id_ok(&id)?;
    Ok(list_markup(&c, &s, id, &q).await?.into_response())
}

/// The event stream of the signed-in key, for htmx's SSE extension: the REST stream itself,
/// answered through the session instead of an `Authorization` header.
pub(crate) async fn live(
    State(c): State<Console>,
    Signed(s): Signed,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let mut path = "/v1/events/stream".to_string();
    if let Some(m) = q.get("mailbox_id") {
        path.push_str(&format!("?mailbox_id={}", enc(id_ok(m)?)));
    }
    let path = with_site(&s, &path);
    let resp = c.api.send(&s.key, Method::GET, &path, None).await;
    if resp.status() == StatusCode::UNAUTHORIZED {
        return Err(PageError::SignedOut);
    }
    Ok(resp)
}

pub(crate) async fn message_redirect(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
) -> PageResult {
    let id = id_ok(&id)?;
    let m = c.api.get(&s, &format!("/v1/messages/{id}")).await?;
    Ok(Redirect::to(&format!("/threads/{}#m-{id}", str_of(&m, "thread_id"))).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ThreadQuery {
    /// The message whose remote images the user allowed.
    images: Option<String>,
    done: Option<String>,
}

fn auth_badges(m: &Value) -> Markup {
    let a = &m["auth_results"];
    html! {
        @if a.is_object() {
            span class="auth" aria-label="Authentication results" {
                @for k in ["spf", "dkim", "dmarc"] {
                    @let v = a[k].as_str().unwrap_or("none");
                    span class=(format!("badge {}", match v { "pass" => "good", "fail" | "permerror" => "bad", "none" => "", _ => "warn" })) title=(str_of(a, "header")) {
                        (k.to_uppercase()) " " (v)
                    }
                }
            }
        }
    }
}

fn message_markup(s: &Session, m: &Value, images: Option<&str>) -> Markup {
    let id = str_of(m, "id");
    let allow = images == Some(id);
    let outbound = str_of(m, "direction") == "outbound";
    html! {
        article class="message" id=(format!("m-{id}")) aria-labelledby=(format!("h-{id}")) {
            header {
                h2 id=(format!("h-{id}")) { (m["subject"].as_str().unwrap_or("(no subject)")) }
                dl class="headers" {
                    dt { "From" } dd { (addr(&m["from"])) }
                    dt { "To" } dd { (addr(&m["to"])) }
                    @if m["cc"].as_array().is_some_and(|a| !a.is_empty()) { dt { "Cc" } dd { (addr(&m["cc"])) } }
                    dt { "Date" } dd { (time(m, "created_at")) }
                    @if let Some(mid) = m["message_id"].as_str() { dt { "Message-ID" } dd { code { (mid) } } }
                }
                p class="meta" {
                    (status(if outbound { "sent" } else { "received" }))
                    @if m["read"] == false { " " span class="badge warn" { "unread" } }
                    @for l in m["labels"].as_array().into_iter().flatten() { " " span class="badge label" { (l.as_str().unwrap_or("")) } }
                    " " (auth_badges(m))
                }
            }
            @if let Some(html) = m["html"].as_str().filter(|h| !h.trim().is_empty()) {
                @let src = if allow { format!("/messages/{id}/body?images=1") } else { format!("/messages/{id}/body") };
                @let _ = html;
                iframe class="body" title="Message content" sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" loading="lazy" src=(src) {}
                @if !allow { p class="muted" { "Remote images are blocked. " a href=(format!("?images={id}#m-{id}")) { "Show remote images in this message" } } }
                @if let Some(t) = m["text"].as_str() { details { summary { "Plain text" } pre class="text" { (t) } } }
            } @else {
                pre class="text" { (m["text"].as_str().unwrap_or("")) }
            }
            @if let Some(atts) = m["attachments"].as_array().filter(|a| !a.is_empty()) {
                h3 { "Attachments" }
                ul class="attachments" {
                    @for a in atts {
                        li { a href=(format!("/attachments/{}", str_of(a, "id"))) download { (a["filename"].as_str().unwrap_or("attachment")) }
                            " " span class="muted" { (str_of(a, "content_type")) ", " (a["size"].as_u64().unwrap_or(0)) " bytes" } }
                    }
                }
            }
            @if let Some(rcpts) = m["recipients"].as_array().filter(|r| !r.is_empty()) {
                h3 { "Delivery" }
                table class="list" {
                    thead { tr { th { "Recipient" } th { "Kind" } th { "Status" } th { "Attempts" } th { "Last SMTP reply" } th { "Updated" } } }
                    tbody {
                        @for r in rcpts {
                            tr { td { (str_of(r, "address")) } td { (str_of(r, "kind")) } td { (status(str_of(r, "status"))) }
                                 td { (show(r, "attempts")) } td { code { (show(r, "last_reply")) } } td { (time(r, "updated_at")) } }
                        }
                    }
                }
            }
            footer class="actions" {
                form method="post" action=(format!("/messages/{id}/flags")) class="inline" {
                    (csrf(s))
                    @if m["read"] == false { button name="action" value="read" { "Mark read" } } @else { button name="action" value="unread" { "Mark unread" } }
                }
                form method="post" action=(format!("/messages/{id}/flags")) class="inline" {
                    (csrf(s))
                    label class="sr" for=(format!("label-{id}")) { "Label" }
                    input id=(format!("label-{id}")) name="label" size="10" placeholder="label" required;
                    button name="action" value="add_label" { "Add label" }
                    button name="action" value="remove_label" { "Remove label" }
                }
                a href=(format!("/messages/{id}/raw")) { "Raw source" }
                details { summary { "All headers" } (json(&m["headers"])) }
            }
        }
    }
}

async fn thread_inner(
    c: &Console,
    s: &Session,
    id: &str,
    images: Option<&str>,
) -> Result<(Value, Markup), PageError> {
    let t = c.api.get(s, &format!("/v1/threads/{id}")).await?;
    let messages = t["messages"].as_array().cloned().unwrap_or_default();
    let markup = html! { @for m in &messages { (message_markup(s, m, images)) } };
    Ok((t, markup))
}

pub(crate) async fn thread(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Query(q): Query<ThreadQuery>,
) -> PageResult {
    let id = id_ok(&id)?;
    let (inner, sites) = tokio::join!(thread_inner(&c, &s, id, q.images.as_deref()), sites(&c, &s));
    let (t, messages) = inner?;
    // `thread` is flattened into the answer in some versions of the API.
    let thread = t.get("thread").filter(|v| v.is_object()).unwrap_or(&t);
    let mailbox = str_of(thread, "mailbox_id");
    let last = t["messages"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or(Value::Null);
    let images = q
        .images
        .as_deref()
        .map(|i| format!("?images={}", enc(i)))
        .unwrap_or_default();
    let body = html! {
        p { a href=(format!("/mailboxes/{mailbox}")) { "← Inbox" } }
        h1 { (thread["subject"].as_str().unwrap_or("(no subject)")) }
        (notice(q.done.as_deref()))
        p class="muted" { (thread["message_count"].as_u64().unwrap_or(0)) " message(s) · "
            (thread["participants"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
        div hx-ext="sse" sse-connect=(format!("/live?mailbox_id={mailbox}")) {
            div id="messages" hx-get=(format!("/threads/{id}/messages{images}")) hx-trigger=(MAIL_EVENTS) hx-swap="innerHTML" aria-live="polite" {
                (messages)
            }
        }
        @if last.is_object() {
            section class="reply" aria-labelledby="reply-h" {
                h2 id="reply-h" { "Reply" }
                form method="post" action=(format!("/messages/{}/reply", str_of(&last, "id"))) class="stack" {
                    (csrf(&s))
                    input type="hidden" name="idempotency_key" value=(crate::session::token());
                    label for="reply-text" { "Message" }
                    textarea id="reply-text" name="text" rows="6" required {}
                    label class="check" { input type="checkbox" name="reply_all" value="true"; "Reply to all" }
                    button type="submit" { "Send reply" }
                }
            }
        }
    };
    Ok(layout::page(
        &s,
        &sites,
        Nav::Mail,
        &format!("/threads/{id}"),
        thread["subject"].as_str().unwrap_or("Thread"),
        body,
    ))
}

pub(crate) async fn thread_messages(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Query(q): Query<ThreadQuery>,
) -> PageResult {
    let id = id_ok(&id)?;
    Ok(thread_inner(&c, &s, id, q.images.as_deref())
        .await?
        .1
        .into_response())
}

#[derive(Deserialize)]
pub(crate) struct BodyQuery {
    images: Option<String>,
}

/// The sanitised HTML of one message, for its sandboxed frame.
pub(crate) async fn message_body(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Query(q): Query<BodyQuery>,
) -> PageResult {
    let id = id_ok(&id)?;
    let m = c.api.get(&s, &format!("/v1/messages/{id}")).await?;
    let allow = q.images.as_deref() == Some("1");
    let inline: HashMap<String, String> = m["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let cid = a["content_id"]
                .as_str()?
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_ascii_lowercase();
            Some((cid, format!("/attachments/{}", str_of(a, "id"))))
        })
        .collect();
    let clean = sanitize::clean(m["html"].as_str().unwrap_or(""), &inline, allow);
    let doc = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"color-scheme\" content=\"light\"></head><body>{}</body></html>",
        clean.html
    );
    let mut resp = doc.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&sanitize::body_csp(allow))
            .unwrap_or(HeaderValue::from_static("sandbox")),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    Ok(resp)
}

/// The message exactly as stored, shown as text.
pub(crate) async fn message_raw(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
) -> PageResult {
    let id = id_ok(&id)?;
    let resp = c
        .api
        .send(&s.key, Method::GET, &format!("/v1/messages/{id}/raw"), None)
        .await;
    passthrough(resp, Some("text/plain; charset=utf-8"))
}

pub(crate) async fn attachment(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
) -> PageResult {
    let id = id_ok(&id)?;
    let resp = c
        .api
        .send(&s.key, Method::GET, &format!("/v1/attachments/{id}"), None)
        .await;
    passthrough(resp, None)
}

fn passthrough(resp: Response, content_type: Option<&'static str>) -> PageResult {
    match resp.status() {
        StatusCode::UNAUTHORIZED => Err(PageError::SignedOut),
        StatusCode::NOT_FOUND => Err(PageError::not_found("such file")),
        st if !st.is_success() => Err(PageError::Api {
            status: st,
            code: "error".into(),
            message: "The download failed.".into(),
        }),
        _ => {
            let (mut parts, body) = resp.into_parts();
            if let Some(ct) = content_type {
                parts
                    .headers
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            // Whatever the file is, it runs nothing in this origin.
            parts.headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            );
            Ok(Response::from_parts(parts, Body::new(body)))
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct FlagForm {
    action: String,
    label: Option<String>,
}

pub(crate) async fn message_flags(
    State(c): State<Console>,
    Path(id): Path<String>,
    Posted(s, f): Posted<FlagForm>,
) -> PageResult {
    let id = id_ok(&id)?;
    let label = f.label.as_deref().map(str::trim).unwrap_or("");
    let body = match f.action.as_str() {
        "read" => json!({ "read": true }),
        "unread" => json!({ "read": false }),
        "add_label" if !label.is_empty() => json!({ "add_labels": [label] }),
        "remove_label" if !label.is_empty() => json!({ "remove_labels": [label] }),
        _ => {
            return Err(PageError::bad(
                "Choose an action, and give a label to add or remove.",
            ));
        }
    };
    let m = c
        .api
        .call(
            &s,
            Method::PATCH,
            &format!("/v1/messages/{id}"),
            Some(&body),
        )
        .await?;
    Ok(Redirect::to(&format!("/threads/{}#m-{id}", str_of(&m, "thread_id"))).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ReplyForm {
    text: String,
    reply_all: Option<String>,
    idempotency_key: Option<String>,
}

pub(crate) async fn reply(
    State(c): State<Console>,
    Path(id): Path<String>,
    Posted(s, f): Posted<ReplyForm>,
) -> PageResult {
    let id = id_ok(&id)?;
    if f.text.trim().is_empty() {
        return Err(PageError::bad("Write the reply's text."));
    }
    let body = json!({ "text": f.text, "reply_all": f.reply_all.is_some() });
    let sent = c
        .api
        .call_idem(
            &s,
            &format!("/v1/messages/{id}/reply"),
            &body,
            f.idempotency_key.as_deref(),
        )
        .await?;
    Ok(Redirect::to(&format!(
        "/threads/{}?done=Reply+sent.#m-{}",
        str_of(&sent, "thread_id"),
        str_of(&sent, "id")
    ))
    .into_response())
}

pub(crate) async fn compose_page(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
) -> PageResult {
    let id = id_ok(&id)?;
    let m = c.api.get(&s, &format!("/v1/mailboxes/{id}")).await?;
    let body = html! {
        p { a href=(format!("/mailboxes/{id}")) { "← Inbox" } }
        h1 { "New message from " (str_of(&m, "address")) }
        form method="post" action=(format!("/mailboxes/{id}/compose")) class="stack" {
            (csrf(&s))
            input type="hidden" name="idempotency_key" value=(crate::session::token());
            label { "To " input name="to" required placeholder="a@example.com, b@example.com" autocomplete="off"; }
            label { "Cc " input name="cc" autocomplete="off"; }
            label { "Bcc " input name="bcc" autocomplete="off"; }
            label { "Subject " input name="subject" required; }
            label for="compose-text" { "Message" }
            textarea id="compose-text" name="text" rows="10" required {}
            p class="muted" { "Sent through the API's send path: suppressions, consent, rate limits and every other policy apply." }
            button type="submit" { "Send" }
        }
    };
    Ok(layout::page(
        &s,
        &sites(&c, &s).await,
        Nav::Mail,
        &format!("/mailboxes/{id}"),
        "Compose",
        body,
    ))
}

#[derive(Deserialize)]
pub(crate) struct ComposeForm {
    to: String,
    cc: Option<String>,
    bcc: Option<String>,
    subject: String,
    text: String,
    idempotency_key: Option<String>,
}

fn addresses(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) async fn compose(
    State(c): State<Console>,
    Path(id): Path<String>,
    Posted(s, f): Posted<ComposeForm>,
) -> PageResult {
    let id = id_ok(&id)?;
    let body = json!({
        "to": addresses(&Some(f.to)), "cc": addresses(&f.cc), "bcc": addresses(&f.bcc),
        "subject": f.subject, "text": f.text,
    });
    let sent = c
        .api
        .call_idem(
            &s,
            &format!("/v1/mailboxes/{id}/messages"),
            &body,
            f.idempotency_key.as_deref(),
        )
        .await?;
    Ok(Redirect::to(&format!(
        "/threads/{}?done=Message+sent.",
        str_of(&sent, "thread_id")
    ))
    .into_response())
}
