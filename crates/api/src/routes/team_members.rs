//! Team members: human sender identities, each mapped to a mailbox of their site.

use super::mailboxes::visible_mailbox;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiResult, PathId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::agent::TeamMember;
use mailroom_core::api::{CreateTeamMemberRequest, ErrorBody, Page, UpdateTeamMemberRequest};
use mailroom_core::TeamMemberId;

/// The largest signature accepted, in bytes.
pub const MAX_SIGNATURE_BYTES: usize = 20 * 1024;

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn check_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.contains(['\r', '\n']) {
        return Err(invalid("validation_error", "`name` must be 1 to 200 characters on one line"));
    }
    Ok(name.to_string())
}

fn check_signature(sig: &str) -> ApiResult<()> {
    if sig.len() > MAX_SIGNATURE_BYTES {
        return Err(invalid("signature_too_large", format!("`signature_html` must be at most {MAX_SIGNATURE_BYTES} bytes")));
    }
    Ok(())
}

/// Loads a team member the caller may see, or answers 404.
pub async fn visible_member(state: &AppState, auth: &Auth, id: TeamMemberId) -> ApiResult<TeamMember> {
    state.engine.store().get_team_member(id).await?.filter(|m| auth.allows(m.site_id)).ok_or_else(|| ApiError::not_found("team member", id))
}

/// Creates a team member sending from a mailbox; the member belongs to the mailbox's site.
#[utoipa::path(post, operation_id = "team_members_create", path = "/v1/team-members", tag = "team-members", request_body = CreateTeamMemberRequest,
    responses((status = 201, body = TeamMember), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, ApiJson(req): ApiJson<CreateTeamMemberRequest>) -> ApiResult<(StatusCode, Json<TeamMember>)> {
    let name = check_name(&req.name)?;
    if let Some(s) = &req.signature_html {
        check_signature(s)?;
    }
    let mailbox = visible_mailbox(&state, &auth, req.mailbox_id).await?;
    let now = chrono::Utc::now();
    let member = TeamMember {
        id: TeamMemberId::new(),
        site_id: mailbox.site_id,
        name,
        mailbox_id: mailbox.id,
        signature_html: req.signature_html,
        created_at: now,
        updated_at: now,
    };
    state.engine.store().create_team_member(&member).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// Lists team members, oldest first.
#[utoipa::path(get, operation_id = "team_members_list", path = "/v1/team-members", tag = "team-members", responses((status = 200, body = Page<TeamMember>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Page<TeamMember>>> {
    Ok(Json(Page { items: state.engine.store().list_team_members(auth.scope.site()).await?, next_cursor: None }))
}

/// Returns a team member.
#[utoipa::path(get, operation_id = "team_members_get", path = "/v1/team-members/{id}", tag = "team-members", params(("id" = String, Path)),
    responses((status = 200, body = TeamMember), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<TeamMemberId>) -> ApiResult<Json<TeamMember>> {
    Ok(Json(visible_member(&state, &auth, id).await?))
}

/// Changes a team member's name, mailbox (of the same site) or signature.
#[utoipa::path(patch, operation_id = "team_members_update", path = "/v1/team-members/{id}", tag = "team-members", params(("id" = String, Path)), request_body = UpdateTeamMemberRequest,
    responses((status = 200, body = TeamMember), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update(State(state): State<AppState>, auth: Auth, PathId(id): PathId<TeamMemberId>, ApiJson(req): ApiJson<UpdateTeamMemberRequest>) -> ApiResult<Json<TeamMember>> {
    let mut member = visible_member(&state, &auth, id).await?;
    if let Some(n) = &req.name {
        member.name = check_name(n)?;
    }
    if let Some(s) = req.signature_html {
        if let Some(s) = &s {
            check_signature(s)?;
        }
        member.signature_html = s;
    }
    if let Some(mb) = req.mailbox_id {
        let mailbox = visible_mailbox(&state, &auth, mb).await?;
        if mailbox.site_id != member.site_id {
            return Err(invalid("mailbox_site_mismatch", "`mailbox_id` must be a mailbox of the team member's site"));
        }
        member.mailbox_id = mailbox.id;
    }
    member.updated_at = chrono::Utc::now();
    state.engine.store().update_team_member(&member).await?;
    Ok(Json(member))
}

/// Deletes a team member; the contacts they owned are left without an owner.
#[utoipa::path(delete, operation_id = "team_members_delete", path = "/v1/team-members/{id}", tag = "team-members", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<TeamMemberId>) -> ApiResult<StatusCode> {
    let member = visible_member(&state, &auth, id).await?;
    if state.engine.store().delete_team_member(member.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("team member", id))
    }
}
