//! The approvals page (issue 17): outbound messages held for a person, pending first, each
//! with its rendered text, who or what proposed it, and approve / edit / reject forms. Every
//! action is a REST call with the session's key, so the send policy is checked again.

use crate::api::{PageError, enc, items, with_site};
use crate::layout::{self, Nav, csrf, notice, show, status, str_of, time};
use crate::mail::sites;
use crate::session::Session;
use crate::{Console, PageResult, Posted, Signed};
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

fn id_ok(id: &str) -> Result<&str, PageError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        Ok(id)
    } else {
        Err(PageError::not_found("approval"))
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct ApprovalsQuery {
    status: Option<String>,
    done: Option<String>,
}

fn proposer(p: &Value) -> Markup {
    html! {
        (str_of(p, "kind"))
        @if let Some(run) = p["tool_run_id"].as_str() { " · " a href=(format!("/tool-runs/{run}")) { "tool run" } }
        @if let Some(k) = p["api_key_id"].as_str() { " · key " code { (k.chars().take(8).collect::<String>()) } }
        @if let Some(l) = p["label"].as_str() { " · " (l) }
    }
}

fn list_of(v: &Value, key: &str) -> String {
    v[key].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

fn item(s: &Session, it: &Value) -> Markup {
    let id = str_of(it, "id");
    let d = &it["draft"];
    let content = &d["content"];
    let pending = str_of(it, "status") == "pending";
    html! {
        article class="approval" id=(format!("approval-{id}")) data-status=(str_of(it, "status")) {
            h2 { (str_of(content, "subject")) " " (status(str_of(it, "status"))) }
            dl class="facts" {
                dt { "To" } dd { (list_of(content, "to")) }
                @if !list_of(content, "cc").is_empty() { dt { "Cc" } dd { (list_of(content, "cc")) } }
                @if !list_of(content, "bcc").is_empty() { dt { "Bcc" } dd { (list_of(content, "bcc")) } }
                dt { "From mailbox" } dd { a href=(format!("/mailboxes/{}", str_of(it, "mailbox_id"))) { code { (str_of(it, "mailbox_id")) } } }
                dt { "Proposed by" } dd { (proposer(&it["proposed_by"])) }
                dt { "Why" } dd { (str_of(it, "policy")) " policy of the " (str_of(it, "policy_source"))
                    @if !list_of(it, "first_contacts").is_empty() { " (first contact: " (list_of(it, "first_contacts")) ")" } }
                dt { "Requested" } dd { (time(it, "requested_at")) }
                dt { "Revision" } dd { (show(d, "revision")) }
                @if let Some(t) = d["send_at"].as_str() { dt { "Send at" } dd { (t) } }
                @if !pending {
                    dt { "Decided" } dd { (show(it, "decided_by")) " · " (time(it, "decided_at")) }
                    @if let Some(n) = it["note"].as_str() { dt { "Note" } dd { (n) } }
                }
            }
            pre class="body" { (content["text"].as_str().unwrap_or("(no plain-text body)")) }
            @if pending {
                form method="post" action=(format!("/approvals/{id}/approve")) class="inline" {
                    (csrf(s))
                    input name="note" placeholder="Note (optional)" size="30";
                    button type="submit" class="primary" { "Approve and send" }
                }
                form method="post" action=(format!("/approvals/{id}/reject")) class="inline" {
                    (csrf(s))
                    input name="note" placeholder="Why not (optional)" size="30";
                    button type="submit" class="danger" { "Reject" }
                }
                details {
                    summary { "Edit before approving" }
                    form method="post" action=(format!("/approvals/{id}/edit")) {
                        (csrf(s))
                        label { "Subject " input name="subject" value=(str_of(content, "subject")) size="60"; }
                        label { "Text " textarea name="text" rows="8" cols="70" { (content["text"].as_str().unwrap_or("")) } }
                        button type="submit" { "Save as a new revision" }
                    }
                }
            }
        }
    }
}

pub(crate) async fn approvals(State(c): State<Console>, Signed(s): Signed, Query(q): Query<ApprovalsQuery>) -> PageResult {
    let filter = q.status.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(|v| format!("&status={}", enc(v))).unwrap_or_default();
    let v = c.api.get(&s, &with_site(&s, &format!("/v1/approvals?limit=100{filter}"))).await?;
    let list = items(&v);
    let pending = list.iter().filter(|i| str_of(i, "status") == "pending").count();
    let body = html! {
        h1 { "Approvals" }
        p class="muted" { "Outbound messages held for a person: nothing is sent until it is approved here or with POST /v1/approvals/{id}/approve. "
            (pending) " pending." }
        (notice(q.done.as_deref()))
        form method="get" action="/approvals" class="filters" {
            label { "Status " select name="status" {
                option value="" { "all (pending first)" }
                @for st in ["pending", "approved", "rejected", "cancelled"] { option value=(st) selected[q.status.as_deref() == Some(st)] { (st) } }
            } }
            button type="submit" { "Filter" }
        }
        @for it in &list { (item(&s, it)) }
        @if list.is_empty() { p class="empty" { "Nothing waits for approval." } }
    };
    Ok(layout::page(&s, &sites(&c, &s).await, Nav::Approvals, "/approvals", "Approvals", body))
}

#[derive(Deserialize)]
pub(crate) struct DecisionForm {
    note: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct EditForm {
    subject: Option<String>,
    text: Option<String>,
}

pub(crate) async fn decide(State(c): State<Console>, Path((id, action)): Path<(String, String)>, Posted(s, f): Posted<DecisionForm>) -> PageResult {
    let id = id_ok(&id)?;
    let (path, done) = match action.as_str() {
        "approve" => (format!("/v1/approvals/{id}/approve"), "Approved; the message is on its way."),
        "reject" => (format!("/v1/approvals/{id}/reject"), "Rejected; the message will not be sent."),
        _ => return Err(PageError::not_found("action")),
    };
    let note = f.note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    c.api.call(&s, Method::POST, &path, Some(&json!({ "note": note }))).await?;
    Ok(Redirect::to(&format!("/approvals?done={}", enc(done))).into_response())
}

pub(crate) async fn edit(State(c): State<Console>, Path(id): Path<String>, Posted(s, f): Posted<EditForm>) -> PageResult {
    let id = id_ok(&id)?;
    let it = c.api.get(&s, &format!("/v1/approvals/{id}")).await?;
    let draft = str_of(&it, "draft_id").to_string();
    let mut patch = serde_json::Map::new();
    if let Some(subject) = f.subject {
        patch.insert("subject".into(), subject.trim().into());
    }
    if let Some(text) = f.text {
        patch.insert("text".into(), text.replace("\r\n", "\n").into());
    }
    c.api.call(&s, Method::PATCH, &format!("/v1/drafts/{}", id_ok(&draft)?), Some(&Value::Object(patch))).await?;
    Ok(Redirect::to("/approvals?done=Saved+as+a+new+revision.").into_response())
}

/// A mailbox's drafts: kept, scheduled, waiting for approval, and finished ones.
pub(crate) async fn drafts(State(c): State<Console>, Signed(s): Signed, Path(id): Path<String>) -> PageResult {
    let id = id_ok(&id)?;
    let v = c.api.get(&s, &format!("/v1/mailboxes/{id}/drafts?limit=100")).await?;
    let list = items(&v);
    let body = html! {
        h1 { "Drafts" }
        p class="muted" { "Messages of this mailbox that have not left: kept drafts, scheduled sends and ones waiting for approval. "
            a href=(format!("/mailboxes/{id}")) { "Back to the mailbox" } }
        table class="list" id="drafts" {
            thead { tr { th { "Updated" } th { "Status" } th { "Subject" } th { "To" } th { "Send at" } th { "Thread" } th { "Revision" } } }
            tbody {
                @for d in &list {
                    tr data-status=(str_of(d, "status")) {
                        td { (time(d, "updated_at")) }
                        td { (status(str_of(d, "status"))) }
                        td { (str_of(&d["content"], "subject")) }
                        td { (list_of(&d["content"], "to")) }
                        td { (show(d, "send_at")) }
                        td { @if let Some(t) = d["thread_id"].as_str() { a href=(format!("/threads/{t}")) { "thread" } } @else { "—" } }
                        td { (show(d, "revision")) }
                    }
                }
            }
        }
        @if list.is_empty() { p class="empty" { "No drafts." } }
    };
    Ok(layout::page(&s, &sites(&c, &s).await, Nav::Mail, "/mailboxes", "Drafts", body))
}
