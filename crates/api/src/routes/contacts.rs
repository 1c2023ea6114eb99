//! Contacts: the people a site emails, with their consent and the emails the tools sent them.

use super::mailboxes::ListQuery;
use super::{limit, page_by_last};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use axum::response::Response;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::agent::Contact;
use mailroom_core::api::{ConsentRequest, ContactWithHistory, ErrorBody, Page, UpdateContactRequest, UpsertContactRequest};
use mailroom_core::ContactId;
use mailroom_engine::listing_site;

/// Creates a contact, or updates the site's contact with the same email (case-insensitive)
/// or, failing that, the same external id. Attributes are merged into the existing ones.
#[utoipa::path(post, operation_id = "contacts_upsert", path = "/v1/contacts", tag = "contacts", request_body = UpsertContactRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = Contact), (status = 200, description = "An existing contact, updated", body = Contact),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn upsert(State(state): State<AppState>, auth: Auth, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let req: UpsertContactRequest = decode_json(&body)?;
    let site = idempotency::key_site(&state, &auth).await?;
    idempotency::run(&state, site, &headers, &[b"POST /v1/contacts", &body], || async {
        let (contact, created) = state.engine.upsert_contact(auth.scope, req).await?;
        idempotency::json(if created { StatusCode::CREATED } else { StatusCode::OK }, contact)
    })
    .await
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
    let items = state.engine.list_contacts(listing_site(auth.scope, q.site_id), before, limit).await?;
    Ok(Json(page_by_last(items, limit, |c| c.id)))
}

/// Returns a contact with `history`: the emails the tools sent it, newest first.
#[utoipa::path(get, operation_id = "contacts_get", path = "/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = ContactWithHistory), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ContactId>) -> ApiResult<Json<ContactWithHistory>> {
    Ok(Json(state.engine.contact_with_history(auth.scope, id).await?))
}

/// Changes a contact: only the fields given; attributes are merged.
#[utoipa::path(patch, operation_id = "contacts_update", path = "/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)), request_body = UpdateContactRequest,
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ContactId>, ApiJson(req): ApiJson<UpdateContactRequest>) -> ApiResult<Json<Contact>> {
    Ok(Json(state.engine.update_contact(auth.scope, id, req).await?))
}

/// Deletes a contact; the emails sent to it and the tool runs about it stay (without it).
#[utoipa::path(delete, operation_id = "contacts_delete", path = "/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ContactId>) -> ApiResult<StatusCode> {
    state.engine.delete_contact(auth.scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records the contact's answer to the consent request: sets `email_subscribed`.
#[utoipa::path(post, operation_id = "contacts_consent", path = "/v1/contacts/{id}/consent", tag = "contacts", params(("id" = String, Path)), request_body = ConsentRequest,
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn consent(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ContactId>, ApiJson(req): ApiJson<ConsentRequest>) -> ApiResult<Json<Contact>> {
    Ok(Json(state.engine.record_consent(auth.scope, id, req.granted).await?))
}
