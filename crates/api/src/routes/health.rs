//! `/healthz` (the process answers) and `/readyz` (store, blob store and listeners usable).

use crate::AppState;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::HealthStatus;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Liveness: answers 200 while the process serves HTTP.
#[utoipa::path(get, operation_id = "health_live", path = "/healthz", tag = "health", responses((status = 200, body = HealthStatus)))]
pub async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok".into(), checks: BTreeMap::new() })
}

/// How long each readiness check may take before it counts as failed (a load balancer's probe
/// must get an answer even when S3 or the database hangs).
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Readiness: 200 when the database and the blob store answer (for S3: the bucket is reachable
/// with the configured credentials) and every listener is up; 503 otherwise, naming what failed.
#[utoipa::path(get, operation_id = "health_ready", path = "/readyz", tag = "health", responses((status = 200, body = HealthStatus), (status = 503, body = HealthStatus)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<HealthStatus>) {
    let engine = &state.engine;
    let (db, blobs) = tokio::join!(
        within(CHECK_TIMEOUT, async { engine.ping().await.map_err(|e| e.to_string()) }),
        within(CHECK_TIMEOUT, async { state.engine.blobs().check().await.map_err(|e| e.to_string()) }),
    );
    let listening = state.ready.load(Ordering::Acquire);
    let mut checks = BTreeMap::new();
    checks.insert(format!("store ({})", engine.store_backend()), db.clone().err().unwrap_or_else(|| "ok".into()));
    checks.insert("blob_store".into(), blobs.clone().err().unwrap_or_else(|| "ok".into()));
    if !listening {
        checks.insert("listeners".into(), "starting".into());
    }
    let ready = db.is_ok() && blobs.is_ok() && listening;
    if !ready {
        tracing::warn!(?checks, "not ready");
    }
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(HealthStatus { status: if ready { "ok" } else { "unavailable" }.into(), checks }))
}

/// Runs a check, failing it when it takes longer than `limit`.
async fn within(limit: Duration, check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(limit, check).await.unwrap_or_else(|_| Err(format!("no answer within {} s", limit.as_secs())))
}
