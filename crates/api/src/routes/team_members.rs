//! Team members: human sender identities, each mapped to a mailbox of their site.

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use axum::response::Response;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::agent::TeamMember;
use mailroom_core::api::{CreateTeamMemberRequest, ErrorBody, Page, UpdateTeamMemberRequest};
use mailroom_core::TeamMemberId;

/// Creates a team member sending from a mailbox; the member belongs to the mailbox's site.
#[utoipa::path(post, operation_id = "team_members_create", path = "/v1/team-members", tag = "team-members", request_body = CreateTeamMemberRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = TeamMember), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let req: CreateTeamMemberRequest = decode_json(&body)?;
    let site = idempotency::key_site(&state, &auth).await?;
    idempotency::run(&state, site, &headers, &[b"POST /v1/team-members", &body], || async {
        idempotency::json(StatusCode::CREATED, state.engine.create_team_member(auth.scope, req).await?)
    })
    .await
}

/// Lists team members, oldest first.
#[utoipa::path(get, operation_id = "team_members_list", path = "/v1/team-members", tag = "team-members", responses((status = 200, body = Page<TeamMember>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Page<TeamMember>>> {
    Ok(Json(Page { items: state.engine.list_team_members(auth.scope.site()).await?, next_cursor: None }))
}

/// Returns a team member.
#[utoipa::path(get, operation_id = "team_members_get", path = "/v1/team-members/{id}", tag = "team-members", params(("id" = String, Path)),
    responses((status = 200, body = TeamMember), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<TeamMemberId>) -> ApiResult<Json<TeamMember>> {
    Ok(Json(state.engine.visible_team_member(auth.scope, id).await?))
}

/// Changes a team member's name, mailbox (of the same site) or signature.
#[utoipa::path(patch, operation_id = "team_members_update", path = "/v1/team-members/{id}", tag = "team-members", params(("id" = String, Path)), request_body = UpdateTeamMemberRequest,
    responses((status = 200, body = TeamMember), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update(State(state): State<AppState>, auth: Auth, PathId(id): PathId<TeamMemberId>, ApiJson(req): ApiJson<UpdateTeamMemberRequest>) -> ApiResult<Json<TeamMember>> {
    Ok(Json(state.engine.update_team_member(auth.scope, id, req).await?))
}

/// Deletes a team member; the contacts they owned are left without an owner.
#[utoipa::path(delete, operation_id = "team_members_delete", path = "/v1/team-members/{id}", tag = "team-members", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<TeamMemberId>) -> ApiResult<StatusCode> {
    state.engine.delete_team_member(auth.scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
