//! `Idempotency-Key` handling: the same key with the same request returns the first answer
//! again; the same key with another request is refused (422); a key is kept 24 hours.
//!
//! The answers kept for [`run`] and [`run_response`] are sealed with the server's encryption
//! key: some carry a secret shown once (a new API key, a webhook's signing secret) that must
//! not lie in the database in clear, and the others carry a tenant's data.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mailroom_core::SiteId;
use mailroom_engine::{EngineError, IdempotencyKey, Sent};
use mailroom_store::IdempotencyClaim;
use sha2::{Digest, Sha256};
use std::future::Future;

/// The header name.
pub const HEADER: &str = "idempotency-key";

/// Runs `f` at most once per `(site, Idempotency-Key)`; without the header it just runs it.
pub async fn run<F, Fut>(
    state: &AppState,
    site: SiteId,
    headers: &HeaderMap,
    fingerprint: &[&[u8]],
    f: F,
) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<(StatusCode, serde_json::Value)>>,
{
    let Some((key, hash)) = key_and_hash(headers, fingerprint)? else {
        let (status, body) = f().await?;
        return Ok((status, crate::json::Json(body)).into_response());
    };
    let key = key.as_str();
    let engine = &state.engine;
    match engine.claim_idempotency_key(site, key, &hash).await? {
        IdempotencyClaim::Claimed => match f().await {
            Ok((status, body)) => {
                engine.complete_idempotency_key(site, key, status.as_u16(), &seal(state, body.to_string().as_bytes())).await?;
                Ok((status, crate::json::Json(body)).into_response())
            }
            Err(e) => {
                engine.release_idempotency_key(site, key).await?;
                Err(e)
            }
        },
        existing => answer_existing(state, existing, &hash),
    }
}

/// What marks a kept answer as sealed (answers kept before sealing, and the sends' answers,
/// which hold no secret, are plain JSON).
const SEALED: &str = "sealed:";

/// Seals an answer to keep: `sealed:` and the base64 of [`mailroom_engine::SecretBox::seal`].
fn seal(state: &AppState, body: &[u8]) -> String {
    use base64::Engine as _;
    format!("{SEALED}{}", base64::engine::general_purpose::STANDARD.encode(state.engine.secrets().seal(body)))
}

/// Opens a kept answer (a plain one is returned as it is).
fn unseal(state: &AppState, kept: String) -> ApiResult<String> {
    use base64::Engine as _;
    let Some(sealed) = kept.strip_prefix(SEALED) else { return Ok(kept) };
    let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).map_err(ApiError::internal)?;
    let plain = state.engine.secrets().open(&bytes).map_err(|_| {
        ApiError::internal("a kept Idempotency-Key answer could not be opened: was the server's encryption key changed?")
    })?;
    String::from_utf8(plain).map_err(ApiError::internal)
}

/// Like [`run`], for a handler that answers a whole response (the agent tools, whose answers
/// have several shapes): a success (2xx) is kept as the key's answer; any other answer
/// releases the key, so that the request may be retried.
pub async fn run_response<F, Fut>(state: &AppState, site: SiteId, headers: &HeaderMap, fingerprint: &[&[u8]], f: F) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Response>,
{
    let Some((key, hash)) = key_and_hash(headers, fingerprint)? else { return Ok(f().await) };
    let key = key.as_str();
    let engine = &state.engine;
    match engine.claim_idempotency_key(site, key, &hash).await? {
        IdempotencyClaim::Claimed => {
            let response = f().await;
            if !response.status().is_success() {
                engine.release_idempotency_key(site, key).await?;
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            let bytes = match axum::body::to_bytes(body, usize::MAX).await {
                Ok(b) => b,
                Err(e) => {
                    engine.release_idempotency_key(site, key).await?;
                    return Err(ApiError::internal(e));
                }
            };
            engine.complete_idempotency_key(site, key, parts.status.as_u16(), &seal(state, &bytes)).await?;
            Ok(Response::from_parts(parts, axum::body::Body::from(bytes)))
        }
        existing => answer_existing(state, existing, &hash),
    }
}

/// Turns a JSON-serialisable answer into what [`run`] keeps.
pub fn json<T: serde::Serialize>(status: StatusCode, body: T) -> ApiResult<(StatusCode, serde_json::Value)> {
    Ok((status, serde_json::to_value(body).map_err(ApiError::internal)?))
}

/// The site whose key space holds a request's `Idempotency-Key` when the request does not name
/// one: the key's own site, or the default site for admin keys (the fingerprint holds the
/// body, so the same key for another site's request is refused as reused).
pub async fn key_site(state: &AppState, auth: &crate::auth::Auth) -> ApiResult<SiteId> {
    Ok(state.engine.target_site(auth.scope, None).await?)
}

/// The answer to a key claimed before: refused when the request differs, 409 while the first
/// request runs, else the first answer again.
fn answer_existing(state: &AppState, claim: IdempotencyClaim, hash: &str) -> ApiResult<Response> {
    match claim {
        IdempotencyClaim::Existing { request_hash, .. } if request_hash != hash => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; use a new key for a new request",
        )),
        IdempotencyClaim::Existing { response: None, .. } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_progress",
            "a request with this Idempotency-Key is still running; retry in a moment",
        )),
        IdempotencyClaim::Existing { response: Some((status, body)), .. } => replayed(status, unseal(state, body)?),
        IdempotencyClaim::Claimed => Err(ApiError::internal("answer_existing called with a fresh claim")),
    }
}

/// Runs a send (`f`: the engine's send, reply or forward) under the request's
/// `Idempotency-Key`, if any: the engine claims the key and stores the answer in the send's own
/// transaction. Answers `202` with the send's answer, or the first answer again.
pub async fn send<F, Fut>(headers: &HeaderMap, fingerprint: &[&[u8]], f: F) -> ApiResult<Response>
where
    F: FnOnce(Option<IdempotencyKey>) -> Fut,
    Fut: Future<Output = Result<Sent, EngineError>>,
{
    let key = key_and_hash(headers, fingerprint)?
        .map(|(key, request_hash)| IdempotencyKey { key, request_hash, status: StatusCode::ACCEPTED.as_u16() });
    match f(key).await? {
        Sent::New(sent) => Ok((StatusCode::ACCEPTED, crate::json::Json(mailroom_engine::sent_answer(&sent))).into_response()),
        Sent::Replayed { status, body } => replayed(status, body),
    }
}

/// Returns the request's key and the hash of `fingerprint`, or `None` without the header.
fn key_and_hash(headers: &HeaderMap, fingerprint: &[&[u8]]) -> ApiResult<Option<(String, String)>> {
    let Some(key) = headers.get(HEADER) else { return Ok(None) };
    let key = key.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= 255).ok_or_else(|| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_idempotency_key", "`Idempotency-Key` must be 1 to 255 printable ASCII characters")
    })?;
    let mut hasher = Sha256::new();
    for part in fingerprint.iter().map(|p| canonical_json(p)) {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(&part);
    }
    Ok(Some((key.to_string(), hex::encode(hasher.finalize()))))
}

/// The first answer again, marked as a replay.
fn replayed(status: u16, body: String) -> ApiResult<Response> {
    let status = StatusCode::from_u16(status).map_err(ApiError::internal)?;
    let mut resp = (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
    resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(resp)
}

/// Returns JSON with its object keys sorted and white space removed, so the same request
/// sent by clients that order fields differently fingerprints the same; other bytes are
/// returned as they are.
fn canonical_json(bytes: &[u8]) -> Vec<u8> {
    fn sorted(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(entries.into_iter().collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) => serde_json::to_vec(&sorted(v)).unwrap_or_else(|_| bytes.to_vec()),
        Err(_) => bytes.to_vec(),
    }
}
