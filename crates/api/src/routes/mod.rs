//! The route handlers, one module per resource.

pub mod admin;
pub mod contacts;
pub mod domains;
pub mod events;
pub mod health;
pub mod import;
pub mod live;
pub mod lookup;
pub mod mailboxes;
pub mod messages;
pub mod queue;
pub mod secure_tokens;
pub mod settings;
pub mod lists;
pub mod status;
pub mod suppressions;
pub mod team_members;
pub mod threads;
pub mod reading;
pub mod tool_configs;
pub mod tool_runs;
pub mod tools;
pub mod webhooks;

use crate::error::ApiError;
use mailroom_core::api::Page;

/// Builds a page whose cursor is the id of its last item when the page is full.
pub fn page_by_last<T, C: ToString>(items: Vec<T>, limit: u32, cursor: impl Fn(&T) -> C) -> Page<T> {
    let next_cursor = if items.len() as u32 >= limit { items.last().map(|i| cursor(i).to_string()) } else { None };
    Page { items, next_cursor }
}

/// Checks `limit` of a listing: 1 to 100, default 50.
pub fn limit(l: Option<u32>) -> Result<u32, ApiError> {
    mailroom_engine::page_limit(l).map_err(ApiError::from)
}
