//! Contacts: the people a site emails, with their consent and the emails the tools sent them.

use super::mailboxes::{ListQuery, target_site};
use super::{limit, page_by_last};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, PathId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::agent::Contact;
use mailroom_core::api::{ConsentRequest, ContactWithHistory, ErrorBody, Page, UpdateContactRequest, UpsertContactRequest};
use mailroom_core::{ContactId, EmailAddress, KeyScope, SiteId, TeamMemberId};

/// How many sent emails `GET /v1/contacts/{id}` shows.
const HISTORY_LIMIT: u32 = 100;

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn parse_email(raw: &str) -> ApiResult<EmailAddress> {
    EmailAddress::parse(raw.trim()).map_err(|e| invalid("invalid_email_address", format!("`email`: {e}")))
}

fn check_external_id(id: &str) -> ApiResult<()> {
    if id.trim().is_empty() || id.len() > 255 {
        return Err(invalid("validation_error", "`external_id` must be 1 to 255 characters"));
    }
    Ok(())
}

fn check_name(name: &str) -> ApiResult<()> {
    if name.len() > 500 {
        return Err(invalid("validation_error", "`name` must be at most 500 characters"));
    }
    Ok(())
}

/// Checks that the owner is a team member of the contact's site.
async fn check_owner(state: &AppState, site: SiteId, owner: Option<TeamMemberId>) -> ApiResult<()> {
    if let Some(id) = owner {
        let found = state.engine.store().get_team_member(id).await?.filter(|m| m.site_id == site);
        if found.is_none() {
            return Err(invalid("invalid_owner", format!("`owner_team_member_id`: no team member with id {id} in this site")));
        }
    }
    Ok(())
}

fn merge_attributes(into: &mut serde_json::Map<String, serde_json::Value>, from: serde_json::Map<String, serde_json::Value>) {
    for (k, v) in from {
        if v.is_null() {
            into.remove(&k);
        } else {
            into.insert(k, v);
        }
    }
}

/// Loads a contact the caller may see, or answers 404.
pub async fn visible_contact(state: &AppState, auth: &Auth, id: ContactId) -> ApiResult<Contact> {
    state.engine.store().get_contact(id).await?.filter(|c| auth.allows(c.site_id)).ok_or_else(|| ApiError::not_found("contact", id))
}

/// Creates a contact, or updates the site's contact with the same email (case-insensitive)
/// or, failing that, the same external id. Attributes are merged into the existing ones.
#[utoipa::path(post, operation_id = "contacts_upsert", path = "/v1/contacts", tag = "contacts", request_body = UpsertContactRequest,
    responses((status = 201, body = Contact), (status = 200, description = "An existing contact, updated", body = Contact),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn upsert(State(state): State<AppState>, auth: Auth, ApiJson(req): ApiJson<UpsertContactRequest>) -> ApiResult<(StatusCode, Json<Contact>)> {
    let site = target_site(&state, &auth, req.site_id).await?;
    let email = req.email.as_deref().map(parse_email).transpose()?;
    let external_id = req.external_id.as_deref().map(str::trim).map(str::to_string);
    if let Some(id) = &external_id {
        check_external_id(id)?;
    }
    if email.is_none() && external_id.is_none() {
        return Err(invalid("missing_contact_identifier", "give `email` or `external_id` (or both)"));
    }
    if let Some(n) = &req.name {
        check_name(n)?;
    }
    if let Some(Some(owner)) = req.owner_team_member_id {
        check_owner(&state, site, Some(owner)).await?;
    }
    let store = state.engine.store();
    let lower = email.as_ref().map(|e| e.as_str().to_ascii_lowercase());
    let existing = store.find_contact(site, lower.as_deref(), external_id.as_deref()).await?;
    let now = chrono::Utc::now();
    let created = existing.is_none();
    let mut contact = existing.unwrap_or_else(|| Contact {
        id: ContactId::new(),
        site_id: site,
        email: None,
        external_id: None,
        name: None,
        attributes: Default::default(),
        email_subscribed: None,
        marketing_opt_out: false,
        owner_team_member_id: None,
        created_at: now,
        updated_at: now,
    });
    if let Some(e) = email {
        contact.email = Some(e);
    }
    if let Some(id) = external_id {
        contact.external_id = Some(id);
    }
    if let Some(n) = req.name {
        contact.name = Some(n);
    }
    if let Some(a) = req.attributes {
        merge_attributes(&mut contact.attributes, a);
    }
    if let Some(s) = req.email_subscribed {
        contact.email_subscribed = s;
    }
    if let Some(o) = req.marketing_opt_out {
        contact.marketing_opt_out = o;
    }
    if let Some(o) = req.owner_team_member_id {
        contact.owner_team_member_id = o;
    }
    contact.updated_at = now;
    if created {
        store.create_contact(&contact).await?;
        Ok((StatusCode::CREATED, Json(contact)))
    } else {
        store.update_contact(&contact).await?;
        Ok((StatusCode::OK, Json(contact)))
    }
}

/// Lists contacts, newest first.
#[utoipa::path(get, operation_id = "contacts_list", path = "/v1/contacts", tag = "contacts", params(ListQuery),
    responses((status = 200, body = Page<Contact>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<Json<Page<Contact>>> {
    let limit = limit(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .map(|c| c.parse::<ContactId>())
        .transpose()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "`cursor` is not a cursor this server returned"))?;
    let site = match (auth.scope, q.site_id) {
        (KeyScope::Site(own), _) => Some(own),
        (KeyScope::Admin, s) => s,
    };
    let items = state.engine.store().list_contacts(site, before, limit).await?;
    Ok(Json(page_by_last(items, limit, |c| c.id)))
}

/// Returns a contact with `history`: the emails the tools sent it, newest first.
#[utoipa::path(get, operation_id = "contacts_get", path = "/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = ContactWithHistory), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ContactId>) -> ApiResult<Json<ContactWithHistory>> {
    let contact = visible_contact(&state, &auth, id).await?;
    let history = state.engine.store().list_contact_sends(contact.id, HISTORY_LIMIT).await?;
    Ok(Json(ContactWithHistory { contact, history }))
}

/// Changes a contact: only the fields given; attributes are merged.
#[utoipa::path(patch, operation_id = "contacts_update", path = "/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)), request_body = UpdateContactRequest,
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ContactId>, ApiJson(req): ApiJson<UpdateContactRequest>) -> ApiResult<Json<Contact>> {
    let mut contact = visible_contact(&state, &auth, id).await?;
    if let Some(e) = req.email {
        contact.email = e.as_deref().map(parse_email).transpose()?;
    }
    if let Some(x) = req.external_id {
        let x = x.map(|x| x.trim().to_string());
        if let Some(x) = &x {
            check_external_id(x)?;
        }
        contact.external_id = x;
    }
    if contact.email.is_none() && contact.external_id.is_none() {
        return Err(invalid("missing_contact_identifier", "a contact keeps an `email` or an `external_id`"));
    }
    if let Some(n) = req.name {
        if let Some(n) = &n {
            check_name(n)?;
        }
        contact.name = n;
    }
    if let Some(a) = req.attributes {
        merge_attributes(&mut contact.attributes, a);
    }
    if let Some(s) = req.email_subscribed {
        contact.email_subscribed = s;
    }
    if let Some(o) = req.marketing_opt_out {
        contact.marketing_opt_out = o;
    }
    if let Some(o) = req.owner_team_member_id {
        check_owner(&state, contact.site_id, o).await?;
        contact.owner_team_member_id = o;
    }
    contact.updated_at = chrono::Utc::now();
    state.engine.store().update_contact(&contact).await?;
    Ok(Json(contact))
}

/// Deletes a contact; the emails sent to it and the tool runs about it stay (without it).
#[utoipa::path(delete, operation_id = "contacts_delete", path = "/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ContactId>) -> ApiResult<StatusCode> {
    let contact = visible_contact(&state, &auth, id).await?;
    if state.engine.store().delete_contact(contact.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("contact", id))
    }
}

/// Records the contact's answer to the consent request: sets `email_subscribed`.
#[utoipa::path(post, operation_id = "contacts_consent", path = "/v1/contacts/{id}/consent", tag = "contacts", params(("id" = String, Path)), request_body = ConsentRequest,
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn consent(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ContactId>, ApiJson(req): ApiJson<ConsentRequest>) -> ApiResult<Json<Contact>> {
    let mut contact = visible_contact(&state, &auth, id).await?;
    contact.email_subscribed = Some(req.granted);
    contact.updated_at = chrono::Utc::now();
    state.engine.store().update_contact(&contact).await?;
    Ok(Json(contact))
}
