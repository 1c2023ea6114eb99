//! Finding a message by its `Message-ID` header across the mailboxes a key can see, so
//! people and the CLI can name a message the way mail clients show it.

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::{ErrorBody, Page};
use mailroom_core::Message;
use serde::Deserialize;

/// The query of the lookup.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindQuery {
    /// The `Message-ID` to look for, with or without the angle brackets (at most 1,000
    /// characters, and something besides brackets and spaces).
    #[param(min_length = 1, max_length = 1000, pattern = "[^\\t\\n\\f\\r <>]")]
    pub message_id: String,
}

/// The longest `message_id` taken: a Message-ID line's 998 characters and its brackets.
const MAX_MESSAGE_ID_CHARS: usize = 1000;

/// Lists the messages this key can see whose `Message-ID` is the one given: one per mailbox
/// holding it (a message sent from one local mailbox to another is in both).
#[utoipa::path(get, path = "/v1/messages", tag = "messages", operation_id = "messages_find", params(FindQuery),
    responses((status = 200, body = Page<Message>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn find(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<FindQuery>) -> ApiResult<Json<Page<Message>>> {
    // The rule is the one the OpenAPI document states (`maxLength`, `pattern`), so that what
    // the document accepts the server accepts, and the other way round.
    let raw = q.message_id.as_str();
    let meaningful = raw
        .chars()
        .any(|c| !c.is_ascii_whitespace() && c != '<' && c != '>');
    if !meaningful || raw.chars().count() > MAX_MESSAGE_ID_CHARS {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "`message_id` must be a Message-ID such as <abc@example.com>"));
    }
    let blank = |c: char| c.is_ascii_whitespace();
    let wanted = raw
        .trim_matches(blank)
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_matches(blank);
    let items = state.engine.find_messages_by_message_id(auth.scope.site(), wanted).await?;
    Ok(Json(Page { items, next_cursor: None }))
}
