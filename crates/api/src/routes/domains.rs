//! Hosted domains and the DNS records to publish for them.

use super::mailboxes::target_site;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use axum::response::Response;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::{CreateDomainRequest, DomainDns, ErrorBody, Page};
use mailroom_core::{Domain, DomainId};

async fn visible_domain(state: &AppState, auth: &Auth, id: DomainId) -> ApiResult<Domain> {
    Ok(state.engine.visible_domain(auth.scope, id).await?)
}

/// Adds a hosted domain and generates its DKIM keys (Ed25519 and RSA-2048).
#[utoipa::path(post, operation_id = "domains_create", path = "/v1/domains", tag = "domains", request_body = CreateDomainRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = Domain), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let req: CreateDomainRequest = decode_json(&body)?;
    let site = target_site(&state, &auth, req.site_id).await?;
    idempotency::run(&state, site, &headers, &[b"POST /v1/domains", &body], || async {
        idempotency::json(StatusCode::CREATED, state.engine.create_domain(site, &req.name).await?)
    })
    .await
}

/// Lists the site's domains (all domains for admin keys).
#[utoipa::path(get, operation_id = "domains_list", path = "/v1/domains", tag = "domains", responses((status = 200, body = Page<Domain>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Page<Domain>>> {
    Ok(Json(Page { items: state.engine.list_domains(auth.scope.site()).await?, next_cursor: None }))
}

/// Returns a domain with its DKIM public keys.
#[utoipa::path(get, operation_id = "domains_get", path = "/v1/domains/{id}", tag = "domains", params(("id" = String, Path)),
    responses((status = 200, body = Domain), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<DomainId>) -> ApiResult<Json<Domain>> {
    Ok(Json(visible_domain(&state, &auth, id).await?))
}

/// Returns the DNS records to publish for a domain: MX, SPF, DKIM and DMARC.
#[utoipa::path(get, operation_id = "domains_dns", path = "/v1/domains/{id}/dns", tag = "domains", params(("id" = String, Path)),
    responses((status = 200, body = DomainDns), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn dns(State(state): State<AppState>, auth: Auth, PathId(id): PathId<DomainId>) -> ApiResult<Json<DomainDns>> {
    let domain = visible_domain(&state, &auth, id).await?;
    Ok(Json(DomainDns { records: state.engine.dns_records(&domain), domain: domain.name }))
}

/// Removes a hosted domain (its mailboxes stay, but receive no more mail).
#[utoipa::path(delete, operation_id = "domains_delete", path = "/v1/domains/{id}", tag = "domains", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<DomainId>) -> ApiResult<StatusCode> {
    state.engine.delete_domain(auth.scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
