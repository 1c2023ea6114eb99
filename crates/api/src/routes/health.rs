//! `/healthz` (the process answers) and `/readyz` (store and blob store usable).

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::HealthStatus;
use std::collections::BTreeMap;

/// Liveness: answers 200 while the process serves HTTP.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = HealthStatus)))]
pub async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok".into(), checks: BTreeMap::new() })
}

/// Readiness: 200 when the database and the blob store answer, 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = HealthStatus), (status = 503, body = HealthStatus)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<HealthStatus>) {
    let mut checks = BTreeMap::new();
    let db = state.engine.store().ping().await;
    checks.insert(format!("store ({})", state.engine.store().backend()), db.as_ref().map(|_| "ok".to_string()).unwrap_or_else(|e| e.to_string()));
    let blobs = state.engine.blobs().check().await;
    checks.insert("blob_store".into(), blobs.as_ref().map(|_| "ok".to_string()).unwrap_or_else(|e| e.to_string()));
    let ready = db.is_ok() && blobs.is_ok() && state.ready.load(std::sync::atomic::Ordering::Acquire);
    if !state.ready.load(std::sync::atomic::Ordering::Acquire) {
        checks.insert("listeners".into(), "starting".into());
    }
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(HealthStatus { status: if ready { "ok" } else { "unavailable" }.into(), checks }))
}
