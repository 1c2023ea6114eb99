//! The route handlers, one module per resource.

pub mod admin;
pub mod contacts;
pub mod controls;
pub mod domains;
pub mod drafts;
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

#[cfg(test)]
mod tests {
    /// Route handlers parse, call the engine and shape the answer: none reaches the store.
    #[test]
    fn route_handlers_call_the_engine_not_the_store_directly() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let needle = concat!(".store", "()");
        let mut offenders = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    if line.contains(needle) {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "route handlers must call the engine, not the store:\n{}", offenders.join("\n"));
    }
}

/// A file download: the bytes streamed as they are read (never the whole file in memory), as
/// `Content-Disposition: attachment` under the file's name (ASCII fallback plus the RFC 5987
/// UTF-8 form), `nosniff`, and not cached by shared caches.
pub fn download_response(
    filename: Option<&str>,
    fallback: &str,
    content_type: &str,
    size: u64,
    chunks: mailroom_store::BlobStream,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let name = filename.map_or_else(|| fallback.to_string(), str::to_string);
    let safe: String = name.chars().map(|c| if c == '"' || c == '\\' || c.is_control() { '_' } else { c }).collect();
    let ascii: String = safe.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect();
    let encoded: String =
        safe.bytes().map(|b| if b.is_ascii_alphanumeric() || b".-_".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut resp = axum::body::Body::from_stream(chunks).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type.parse().unwrap_or(HeaderValue::from_static("application/octet-stream")));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(header::CONTENT_DISPOSITION, disposition.parse().map_err(ApiError::internal)?);
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(resp)
}
