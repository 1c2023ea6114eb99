//! Agent oversight: what the tools decided and why, who was emailed, what is suppressed, what
//! waits in the outbound queue, where webhooks went, which DNS records to publish, the event
//! log and the API keys.

use crate::api::{PageError, enc, items, with_site};
use crate::layout::{self, Nav, csrf, json, notice, show, status, str_of, time};
use crate::mail::sites;
use crate::session::Session;
use crate::{Console, PageResult, Posted, Signed};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

fn id_ok(id: &str) -> Result<&str, PageError> {
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

async fn page(
    c: &Console,
    s: &Session,
    nav: Nav,
    here: &str,
    title: &str,
    body: Markup,
) -> PageResult {
    Ok(layout::page(s, &sites(c, s).await, nav, here, title, body))
}

fn is_htmx(h: &HeaderMap) -> bool {
    h.contains_key("hx-request")
}

/// A `datetime-local` value (`2026-01-31T12:00`) or RFC 3339 time as RFC 3339 UTC.
fn rfc3339(v: &str) -> Option<String> {
    let v = v.trim();
    match v.len() {
        0 => None,
        16 => Some(format!("{v}:00Z")),
        19 => Some(format!("{v}Z")),
        _ => Some(v.to_string()),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct RunQuery {
    tool: Option<String>,
    contact_id: Option<String>,
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub(crate) async fn tool_runs(
    State(c): State<Console>,
    Signed(s): Signed,
    headers: HeaderMap,
    Query(q): Query<RunQuery>,
) -> PageResult {
    let mut query = vec!["limit=50".to_string()];
    for (k, v) in [
        ("tool", nonempty(&q.tool)),
        ("contact_id", nonempty(&q.contact_id)),
        ("status", nonempty(&q.status)),
        ("cursor", nonempty(&q.cursor)),
    ] {
        if let Some(v) = v {
            query.push(format!("{k}={}", enc(v)));
        }
    }
    for (k, v) in [("since", nonempty(&q.since)), ("until", nonempty(&q.until))] {
        if let Some(t) = v.and_then(rfc3339) {
            query.push(format!("{k}={}", enc(&t)));
        }
    }
    let v = c
        .api
        .get(
            &s,
            &with_site(&s, &format!("/v1/tool-runs?{}", query.join("&"))),
        )
        .await?;
    let runs = items(&v);
    let own_query: String = query
        .iter()
        .filter(|p| !p.starts_with("limit=") && !p.starts_with("cursor="))
        .cloned()
        .collect::<Vec<_>>()
        .join("&");
    let table = html! {
        table class="list" id="runs" {
            thead { tr { th { "When" } th { "Tool" } th { "Status" } th { "Code" } th { "Decision" } th { "Contact" } th { "Message" } } }
            tbody {
                @for r in &runs {
                    @let id = str_of(r, "id");
                    tr {
                        td { a href=(format!("/tool-runs/{id}")) { (time(r, "created_at")) } }
                        td { (str_of(r, "tool")) @if r["dry_run"] == true { " " span class="badge warn" { "dry run" } } }
                        td { (status(str_of(r, "status"))) }
                        td { code { (show(r, "code")) } }
                        td { (decision_summary(&r["decision"])) }
                        td { @if let Some(cid) = r["contact_id"].as_str() { a href=(format!("/contacts/{cid}")) { "contact" } } @else { "—" } }
                        td { @if let Some(mid) = r["message_id"].as_str() { a href=(format!("/messages/{mid}")) { "message" } } @else { "—" } }
                    }
                }
            }
        }
        @if runs.is_empty() { p class="empty" { "No tool run matches." } }
        @if let Some(n) = v["next_cursor"].as_str() { p { a href=(format!("/tool-runs?{own_query}&cursor={}", enc(n))) { "Older →" } } }
    };
    if is_htmx(&headers) {
        return Ok(table.into_response());
    }
    let body = html! {
        h1 { "Tool runs" }
        p class="muted" { "Every call of an agent email tool: its inputs, the checks it ran, what it decided, and what it sent." }
        form method="get" action="/tool-runs" class="filters" {
            label { "Tool " input name="tool" value=(q.tool.clone().unwrap_or_default()) placeholder="send_email" size="14"; }
            label { "Contact id " input name="contact_id" value=(q.contact_id.clone().unwrap_or_default()) size="14"; }
            label { "Status " input name="status" value=(q.status.clone().unwrap_or_default()) placeholder="sent, failed…" size="10"; }
            label { "Since " input type="datetime-local" name="since" value=(q.since.clone().unwrap_or_default()); }
            label { "Until " input type="datetime-local" name="until" value=(q.until.clone().unwrap_or_default()); }
            button type="submit" { "Filter" }
        }
        div hx-ext="sse" sse-connect="/live" {
            div hx-get=(format!("/tool-runs?{own_query}")) hx-trigger="sse:tool_run.created, every 30s" hx-swap="innerHTML" aria-live="polite" { (table) }
        }
    };
    page(&c, &s, Nav::ToolRuns, "/tool-runs", "Tool runs", body).await
}

fn decision_summary(d: &Value) -> Markup {
    match d {
        Value::Null => html! { "—" },
        Value::String(s) => html! { (s) },
        Value::Object(o) => {
            let main = ["action", "decision", "outcome", "result", "status"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str));
            let why = ["reason", "why", "message"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str));
            html! {
                @if let Some(m) = main { strong { (m) } } @else { code { (serde_json::to_string(d).unwrap_or_default().chars().take(80).collect::<String>()) } }
                @if let Some(w) = why { ": " (w) }
            }
        }
        other => html! { code { (other.to_string()) } },
    }
}

pub(crate) async fn tool_run(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
) -> PageResult {
    let id = id_ok(&id)?;
    let r = c.api.get(&s, &format!("/v1/tool-runs/{id}")).await?;
    let checks = r["checks"].as_array().cloned().unwrap_or_default();
    let body = html! {
        p { a href="/tool-runs" { "← Tool runs" } }
        h1 { "Tool run: " (str_of(&r, "tool")) }
        dl class="facts" {
            dt { "Status" } dd { (status(str_of(&r, "status"))) @if r["dry_run"] == true { " " span class="badge warn" { "dry run" } } }
            dt { "Code" } dd { code { (show(&r, "code")) } }
            dt { "When" } dd { (time(&r, "created_at")) }
            dt { "Tool config" } dd { code { (show(&r, "tool_config_id")) } }
            dt { "Contact" } dd { @if let Some(cid) = r["contact_id"].as_str() { a href=(format!("/contacts/{cid}")) { (cid) } } @else { "—" } }
            dt { "Message sent" } dd { @if let Some(mid) = r["message_id"].as_str() { a href=(format!("/messages/{mid}")) { "Open the message" } } @else { "none" } }
        }
        section aria-labelledby="decision-h" {
            h2 id="decision-h" { "Decision" }
            p class="decision" { (decision_summary(&r["decision"])) }
            (json(&r["decision"]))
        }
        section aria-labelledby="checks-h" {
            h2 id="checks-h" { "Checks" }
            @if checks.is_empty() { p { "No check was recorded." } }
            ol class="checks" {
                @for ch in &checks {
                    li {
                        @if let Some(name) = ch["name"].as_str().or(ch["check"].as_str()) { strong { (name) } " " }
                        @if let Some(st) = ch["status"].as_str().or(ch["result"].as_str()) { (status(st)) " " }
                        @else if let Some(p) = ch["passed"].as_bool() { (status(if p { "pass" } else { "fail" })) " " }
                        @if let Some(d) = ch["detail"].as_str().or(ch["message"].as_str()) { (d) }
                        @if !ch.is_object() { code { (ch.to_string()) } }
                    }
                }
            }
        }
        section aria-labelledby="inputs-h" { h2 id="inputs-h" { "Inputs" } (json(&r["inputs"])) }
        section aria-labelledby="outputs-h" { h2 id="outputs-h" { "Outputs" } (json(&r["outputs"])) }
    };
    page(&c, &s, Nav::ToolRuns, "/tool-runs", "Tool run", body).await
}

#[derive(Deserialize)]
pub(crate) struct Paging {
    cursor: Option<String>,
    after: Option<String>,
    done: Option<String>,
    status: Option<String>,
}

pub(crate) async fn contacts(
    State(c): State<Console>,
    Signed(s): Signed,
    Query(p): Query<Paging>,
) -> PageResult {
    let cursor = nonempty(&p.cursor)
        .map(|c| format!("&cursor={}", enc(c)))
        .unwrap_or_default();
    let v = c
        .api
        .get(
            &s,
            &with_site(&s, &format!("/v1/contacts?limit=50{cursor}")),
        )
        .await?;
    let list = items(&v);
    let body = html! {
        h1 { "Contacts" }
        table class="list" {
            thead { tr { th { "Email" } th { "Name" } th { "Consent" } th { "Marketing opt-out" } th { "Updated" } } }
            tbody {
                @for ct in &list {
                    tr {
                        td { a href=(format!("/contacts/{}", str_of(ct, "id"))) { (ct["email"].as_str().unwrap_or("(no email)")) } }
                        td { (show(ct, "name")) }
                        td { (consent(&ct["email_subscribed"])) }
                        td { (if ct["marketing_opt_out"] == true { "yes" } else { "no" }) }
                        td { (time(ct, "updated_at")) }
                    }
                }
            }
        }
        @if list.is_empty() { p class="empty" { "No contact yet." } }
        @if let Some(n) = v["next_cursor"].as_str() { p { a href=(format!("/contacts?cursor={}", enc(n))) { "More →" } } }
    };
    page(&c, &s, Nav::Contacts, "/contacts", "Contacts", body).await
}

fn consent(v: &Value) -> Markup {
    match v.as_bool() {
        Some(true) => html! { span class="badge good" { "subscribed" } },
        Some(false) => html! { span class="badge bad" { "unsubscribed" } },
        None => html! { span class="badge" { "unset" } },
    }
}

pub(crate) async fn contact(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
) -> PageResult {
    let id = id_ok(&id)?;
    let v = c.api.get(&s, &format!("/v1/contacts/{id}")).await?;
    let ct = v.get("contact").unwrap_or(&v);
    let history = v["history"].as_array().cloned().unwrap_or_default();
    let body = html! {
        p { a href="/contacts" { "← Contacts" } }
        h1 { (ct["email"].as_str().or(ct["name"].as_str()).unwrap_or("Contact")) }
        dl class="facts" {
            dt { "Name" } dd { (show(ct, "name")) }
            dt { "External id" } dd { (show(ct, "external_id")) }
            dt { "Consent" } dd { (consent(&ct["email_subscribed"])) }
            dt { "Marketing opt-out" } dd { (if ct["marketing_opt_out"] == true { "yes" } else { "no" }) }
            dt { "Owner" } dd { code { (show(ct, "owner_team_member_id")) } }
        }
        h2 { "Attributes" } (json(&ct["attributes"]))
        h2 { "Sent history" }
        @if history.is_empty() { p { "The tools have sent this contact nothing." } }
        table class="list" {
            thead { tr { th { "When" } th { "Subject" } th { "Tool" } th { "Template" } th { "Message" } } }
            tbody {
                @for h in &history {
                    tr {
                        td { (time(h, "created_at")) } td { (str_of(h, "subject")) } td { (str_of(h, "tool")) } td { (show(h, "template")) }
                        td { @if let Some(mid) = h["message_id"].as_str() { a href=(format!("/messages/{mid}")) { "open" } } @else { "—" } }
                    }
                }
            }
        }
    };
    page(&c, &s, Nav::Contacts, "/contacts", "Contact", body).await
}

pub(crate) async fn suppressions(
    State(c): State<Console>,
    Signed(s): Signed,
    Query(p): Query<Paging>,
) -> PageResult {
    let lists = allow_block_lists(&c, &s).await;
    let cursor = nonempty(&p.cursor)
        .map(|c| format!("&cursor={}", enc(c)))
        .unwrap_or_default();
    let v = c
        .api
        .get(
            &s,
            &with_site(&s, &format!("/v1/suppressions?limit=100{cursor}")),
        )
        .await?;
    let list = items(&v);
    let body = html! {
        h1 { "Suppressions" }
        p class="muted" { "Addresses this site never mails (bounces, complaints, unsubscribes, manual entries): the send step refuses them, whoever asks." }
        (notice(p.done.as_deref()))
        table class="list" {
            thead { tr { th { "Address" } th { "Reason" } th { "Detail" } th { "Since" } th { span class="sr" { "Actions" } } } }
            tbody {
                @for x in &list {
                    tr {
                        td { (str_of(x, "address")) } td { (str_of(x, "reason")) } td { (show(x, "detail")) } td { (time(x, "created_at")) }
                        td { form method="post" action="/suppressions/delete" class="inline" {
                            (csrf(&s)) input type="hidden" name="address" value=(str_of(x, "address"));
                            button type="submit" { "Remove" }
                        } }
                    }
                }
            }
        }
        @if list.is_empty() { p class="empty" { "Nothing is suppressed." } }
        @if let Some(n) = v["next_cursor"].as_str() { p { a href=(format!("/suppressions?cursor={}", enc(n))) { "More →" } } }
        h2 { "Suppress an address" }
        form method="post" action="/suppressions" class="stack" {
            (csrf(&s))
            label { "Address " input type="email" name="address" required; }
            label { "Detail (optional) " input name="detail"; }
            button type="submit" { "Suppress" }
        }
        (lists)
    };
    page(
        &c,
        &s,
        Nav::Suppressions,
        "/suppressions",
        "Suppressions",
        body,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct SuppressionForm {
    address: String,
    detail: Option<String>,
}

pub(crate) async fn add_suppression(
    State(c): State<Console>,
    Posted(s, f): Posted<SuppressionForm>,
) -> PageResult {
    let mut body = json!({ "address": f.address.trim(), "reason": "manual" });
    if let Some(d) = nonempty(&f.detail) {
        body["detail"] = json!(d);
    }
    if s.admin {
        body["site_id"] = json!(s.site);
    }
    c.api
        .call(&s, Method::POST, "/v1/suppressions", Some(&body))
        .await?;
    Ok(Redirect::to("/suppressions?done=Address+suppressed.").into_response())
}

pub(crate) async fn delete_suppression(
    State(c): State<Console>,
    Posted(s, f): Posted<SuppressionForm>,
) -> PageResult {
    c.api
        .call(
            &s,
            Method::DELETE,
            &with_site(&s, &format!("/v1/suppressions/{}", enc(f.address.trim()))),
            None,
        )
        .await?;
    Ok(Redirect::to("/suppressions?done=Suppression+removed.").into_response())
}

pub(crate) async fn queue(
    State(c): State<Console>,
    Signed(s): Signed,
    Query(p): Query<Paging>,
) -> PageResult {
    let statuses = nonempty(&p.status).unwrap_or("queued,sending,deferred");
    let v = c
        .api
        .get(
            &s,
            &with_site(&s, &format!("/v1/queue?limit=200&status={}", enc(statuses))),
        )
        .await?;
    let list = items(&v);
    let body = html! {
        h1 { "Outbound queue" }
        (notice(p.done.as_deref()))
        form method="get" action="/queue" class="filters" {
            label { "Status " select name="status" {
                @for (val, label) in [("queued,sending,deferred", "waiting"), ("failed,bounced", "failed or bounced"), ("delivered", "delivered"), ("canceled", "canceled"), ("all", "all")] {
                    option value=(val) selected[statuses == val] { (label) }
                }
            } }
            button type="submit" { "Show" }
        }
        div hx-ext="sse" sse-connect="/live" {
            div hx-get=(format!("/queue?status={}", enc(statuses))) hx-select="#queue" hx-target="this" hx-swap="innerHTML"
                hx-trigger="sse:message.sent, sse:message.delivered, sse:message.deferred, sse:message.bounced, sse:message.failed" {
                table class="list" id="queue" {
                    thead { tr { th { "Message" } th { "Recipient" } th { "Kind" } th { "Status" } th { "Attempts" } th { "Next attempt" } th { "Last SMTP reply" } th { span class="sr" { "Actions" } } } }
                    tbody {
                        @for e in &list {
                            @let mid = str_of(e, "message_id");
                            tr {
                                td { a href=(format!("/messages/{mid}")) { "open" } }
                                td { (str_of(e, "address")) } td { (str_of(e, "kind")) } td { (status(str_of(e, "status"))) }
                                td { (show(e, "attempts")) } td { (time(e, "next_attempt_at")) } td { code { (show(e, "last_reply")) } }
                                td {
                                    @for (action, label) in [("retry", "Retry now"), ("cancel", "Cancel")] {
                                        form method="post" action=(format!("/queue/{action}")) class="inline" {
                                            (csrf(&s))
                                            input type="hidden" name="message_id" value=(mid);
                                            input type="hidden" name="address" value=(str_of(e, "address"));
                                            button type="submit" { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if list.is_empty() { p class="empty" { "Nothing here." } }
            }
        }
    };
    page(&c, &s, Nav::Queue, "/queue", "Queue", body).await
}

#[derive(Deserialize)]
pub(crate) struct QueueForm {
    message_id: String,
    address: String,
}

pub(crate) async fn queue_action(
    State(c): State<Console>,
    Path(action): Path<String>,
    Posted(s, f): Posted<QueueForm>,
) -> PageResult {
    if action != "retry" && action != "cancel" {
        return Err(PageError::not_found("queue action"));
    }
    let mid = id_ok(&f.message_id)?;
    c.api
        .call(
            &s,
            Method::POST,
            &format!(
                "/v1/messages/{mid}/recipients/{}/{action}",
                enc(f.address.trim())
            ),
            Some(&json!({})),
        )
        .await?;
    let done = if action == "retry" {
        "Retry+scheduled."
    } else {
        "Delivery+canceled."
    };
    Ok(Redirect::to(&format!("/queue?done={done}")).into_response())
}

pub(crate) async fn webhooks(State(c): State<Console>, Signed(s): Signed) -> PageResult {
    let list = c.api.list(&s, "/v1/webhooks").await?;
    let body = html! {
        h1 { "Webhooks" }
        table class="list" {
            thead { tr { th { "URL" } th { "Events" } th { "State" } th { "Description" } } }
            tbody {
                @for w in &list {
                    tr {
                        td { a href=(format!("/webhooks/{}", str_of(w, "id"))) { (str_of(w, "url")) } }
                        td { (w["event_types"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).filter(|s| !s.is_empty()).unwrap_or("all".into())) }
                        td { @if w["enabled"] == true { (status("ok")) " enabled" } @else { (status("failed")) " " (show(w, "disabled_reason")) } }
                        td { (show(w, "description")) }
                    }
                }
            }
        }
        @if list.is_empty() { p class="empty" { "No webhook endpoint. Create one with " code { "POST /v1/webhooks" } " or " code { "mailroom webhooks create" } "." } }
    };
    page(&c, &s, Nav::Webhooks, "/webhooks", "Webhooks", body).await
}

pub(crate) async fn webhook(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Query(p): Query<Paging>,
) -> PageResult {
    let id = id_ok(&id)?;
    let w = c.api.get(&s, &format!("/v1/webhooks/{id}")).await?;
    let w = w.get("endpoint").unwrap_or(&w).clone();
    let d = c
        .api
        .get(&s, &format!("/v1/webhooks/{id}/deliveries?limit=50"))
        .await?;
    let deliveries = items(&d);
    let body = html! {
        p { a href="/webhooks" { "← Webhooks" } }
        h1 { (str_of(&w, "url")) }
        (notice(p.done.as_deref()))
        h2 { "Deliveries" }
        table class="list" {
            thead { tr { th { "Event" } th { "Cursor" } th { "Status" } th { "Attempts" } th { "Last answer" } th { "Updated" } } }
            tbody {
                @for x in &deliveries {
                    @let last = x["history"].as_array().and_then(|h| h.last()).cloned().unwrap_or(Value::Null);
                    tr {
                        td { (str_of(x, "event_type")) } td { code { (str_of(x, "event_cursor")) } } td { (status(str_of(x, "status"))) }
                        td { (show(x, "attempts")) }
                        td { @if last.is_object() { (show(&last, "status_code")) " " (show(&last, "error")) " (" (show(&last, "latency_ms")) " ms)" } @else { "—" } }
                        td { (time(x, "updated_at")) }
                    }
                }
            }
        }
        @if deliveries.is_empty() { p class="empty" { "Nothing delivered yet." } }
        h2 { "Replay" }
        p { "Sends the endpoint's events again (failed deliveries are re-queued), from the start of the log or after a cursor." }
        form method="post" action=(format!("/webhooks/{id}/replay")) class="inline" {
            (csrf(&s))
            label { "After cursor (optional) " input name="after" size="10"; }
            button type="submit" { "Replay" }
        }
    };
    page(&c, &s, Nav::Webhooks, "/webhooks", "Webhook", body).await
}

#[derive(Deserialize)]
pub(crate) struct ReplayForm {
    after: Option<String>,
}

pub(crate) async fn webhook_replay(
    State(c): State<Console>,
    Path(id): Path<String>,
    Posted(s, f): Posted<ReplayForm>,
) -> PageResult {
    let id = id_ok(&id)?;
    let body = match nonempty(&f.after) {
        Some(a) => json!({ "after": a }),
        None => json!({}),
    };
    let r = c
        .api
        .call(
            &s,
            Method::POST,
            &format!("/v1/webhooks/{id}/replay"),
            Some(&body),
        )
        .await?;
    let done = format!(
        "Replay: {} delivery(ies) created, {} re-queued.",
        show(&r, "created"),
        show(&r, "requeued")
    );
    Ok(Redirect::to(&format!("/webhooks/{id}?done={}", enc(&done))).into_response())
}

pub(crate) async fn domains(
    State(c): State<Console>,
    Signed(s): Signed,
    Query(p): Query<Paging>,
) -> PageResult {
    let list = c.api.list(&s, "/v1/domains").await?;
    let body = html! {
        h1 { "Domains" }
        (notice(p.done.as_deref()))
        table class="list" {
            thead { tr { th { "Domain" } th { "DKIM selectors" } th { "Added" } } }
            tbody {
                @for d in &list {
                    tr {
                        td { a href=(format!("/domains/{}", str_of(d, "id"))) { (str_of(d, "name")) } }
                        td { (d["dkim"].as_array().map(|a| a.iter().map(|k| format!("{} ({})", str_of(k, "selector"), str_of(k, "algorithm"))).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                        td { (time(d, "created_at")) }
                    }
                }
            }
        }
        @if list.is_empty() { p class="empty" { "No domain of this site's own yet; mailboxes use the server's default domain." } }
        h2 { "Add a domain" }
        form method="post" action="/domains" class="inline" {
            (csrf(&s))
            label { "Domain " input name="name" required placeholder="mail.example.com"; }
            button type="submit" { "Add" }
        }
    };
    page(&c, &s, Nav::Domains, "/domains", "Domains", body).await
}

#[derive(Deserialize)]
pub(crate) struct DomainForm {
    name: String,
}

pub(crate) async fn add_domain(
    State(c): State<Console>,
    Posted(s, f): Posted<DomainForm>,
) -> PageResult {
    let mut body = json!({ "name": f.name.trim() });
    if s.admin {
        body["site_id"] = json!(s.site);
    }
    let d = c
        .api
        .call(&s, Method::POST, "/v1/domains", Some(&body))
        .await?;
    Ok(Redirect::to(&format!("/domains/{}", str_of(&d, "id"))).into_response())
}

pub(crate) async fn domain(
    State(c): State<Console>,
    Signed(s): Signed,
    Path(id): Path<String>,
) -> PageResult {
    let id = id_ok(&id)?;
    let dns = c.api.get(&s, &format!("/v1/domains/{id}/dns")).await?;
    let records = dns["records"].as_array().cloned().unwrap_or_default();
    let body = html! {
        p { a href="/domains" { "← Domains" } }
        h1 { (str_of(&dns, "domain")) }
        h2 { "DNS records to publish" }
        table class="list dns" {
            thead { tr { th { "Type" } th { "Name" } th { "Value" } th { "Purpose" } } }
            tbody {
                @for r in &records {
                    tr { td { (str_of(r, "type")) } td { code { (str_of(r, "name")) } } td { code class="wrap" { (str_of(r, "value")) } } td { (str_of(r, "purpose")) } }
                }
            }
        }
    };
    page(&c, &s, Nav::Domains, "/domains", "Domain", body).await
}

pub(crate) async fn events(
    State(c): State<Console>,
    Signed(s): Signed,
    Query(p): Query<Paging>,
) -> PageResult {
    let after = nonempty(&p.after)
        .map(|a| format!("&after={}", enc(a)))
        .unwrap_or_default();
    let v = c
        .api
        .get(&s, &with_site(&s, &format!("/v1/events?limit=100{after}")))
        .await?;
    let list = items(&v);
    let body = html! {
        h1 { "Event log" }
        p class="muted" { "The site's append-only log, oldest first; webhooks, the SSE stream and polling are views of it." }
        table class="list" {
            thead { tr { th { "Cursor" } th { "Type" } th { "When" } th { "Data" } } }
            tbody {
                @for e in &list {
                    tr { td { code { (str_of(e, "cursor")) } } td { (str_of(e, "type")) } td { (time(e, "created_at")) }
                         td { details { summary { (event_summary(&e["data"])) } (json(&e["data"])) } } }
                }
            }
        }
        @if list.is_empty() { p class="empty" { "No more events." } }
        @if let Some(n) = v["next_cursor"].as_str().or(list.last().and_then(|e| e["cursor"].as_str())) {
            p { a href=(format!("/events?after={}", enc(n))) { "Newer →" } }
        }
    };
    page(&c, &s, Nav::Events, "/events", "Events", body).await
}

fn event_summary(d: &Value) -> String {
    ["subject", "address", "to", "recipient", "url", "name"]
        .iter()
        .find_map(|k| d.get(*k).and_then(Value::as_str))
        .unwrap_or("details")
        .chars()
        .take(80)
        .collect()
}

pub(crate) async fn api_keys(
    State(c): State<Console>,
    Signed(s): Signed,
    Query(p): Query<Paging>,
) -> PageResult {
    let list = items(&c.api.get(&s, "/v1/api-keys").await?);
    let shown: Vec<&Value> = list
        .iter()
        .filter(|k| {
            !s.admin || k["site_id"].is_null() || k["site_id"].as_str() == s.site.as_deref()
        })
        .collect();
    let body = html! {
        h1 { "API keys" }
        (notice(p.done.as_deref()))
        table class="list" {
            thead { tr { th { "Name" } th { "Scope" } th { "Prefix" } th { "Created" } th { span class="sr" { "Actions" } } } }
            tbody {
                @for k in &shown {
                    tr {
                        td { (str_of(k, "name")) } td { (str_of(k, "scope")) } td { code { (str_of(k, "prefix")) "…" } } td { (time(k, "created_at")) }
                        td { form method="post" action=(format!("/api-keys/{}/delete", str_of(k, "id"))) class="inline" {
                            (csrf(&s)) button type="submit" class="danger" { "Delete" }
                        } }
                    }
                }
            }
        }
        h2 { "New key" }
        form method="post" action="/api-keys" class="stack" {
            (csrf(&s))
            label { "Name " input name="name" required placeholder="support agent"; }
            @if s.admin {
                label { "Scope " select name="scope" { option value="site" { "this site" } option value="admin" { "admin (every site)" } } }
            }
            button type="submit" { "Create key" }
        }
    };
    page(&c, &s, Nav::Keys, "/api-keys", "API keys", body).await
}

#[derive(Deserialize)]
pub(crate) struct KeyForm {
    name: String,
    scope: Option<String>,
}

pub(crate) async fn create_api_key(
    State(c): State<Console>,
    Posted(s, f): Posted<KeyForm>,
) -> PageResult {
    let admin_scope = s.admin && f.scope.as_deref() == Some("admin");
    let body = if admin_scope {
        json!({ "name": f.name.trim(), "scope": "admin" })
    } else {
        json!({ "name": f.name.trim(), "scope": "site", "site_id": s.site })
    };
    let created = c
        .api
        .call(&s, Method::POST, "/v1/api-keys", Some(&body))
        .await?;
    let body = html! {
        h1 { "Key created" }
        p role="alert" class="notice" { "Copy the key now: it is shown this once and stored only as a hash." }
        p { code class="secret" id="new-key" { (str_of(&created, "key")) } }
        p { a href="/api-keys" { "Back to API keys" } }
    };
    page(&c, &s, Nav::Keys, "/api-keys", "Key created", body).await
}

pub(crate) async fn delete_api_key(
    State(c): State<Console>,
    Path(id): Path<String>,
    Posted(s, _): Posted<std::collections::HashMap<String, String>>,
) -> PageResult {
    let id = id_ok(&id)?;
    c.api
        .call(&s, Method::DELETE, &format!("/v1/api-keys/{id}"), None)
        .await?;
    Ok(Redirect::to("/api-keys?done=Key+deleted.").into_response())
}

/// The site's allow and block lists, when this server has them (`/v1/lists`); their entries
/// are shown as the API gives them.
async fn allow_block_lists(c: &Console, s: &Session) -> Markup {
    let Ok(lists) = c.api.list(s, "/v1/lists").await else {
        return html! {};
    };
    let columns: Vec<String> = lists
        .first()
        .and_then(Value::as_object)
        .map(|o| {
            o.keys()
                .filter(|k| !k.ends_with("_id") && k.as_str() != "id")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    html! {
        h2 { "Allow and block lists" }
        @if lists.is_empty() { p class="empty" { "No list entry." } }
        @else {
            table class="list" {
                thead { tr { @for col in &columns { th { (col) } } } }
                tbody {
                    @for entry in &lists {
                        tr { @for col in &columns { td { (show(entry, col)) } } }
                    }
                }
            }
        }
        p class="muted" { "Manage them with " code { "/v1/lists" } " or " code { "mailroom lists" } "." }
    }
}
