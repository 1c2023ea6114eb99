//! The console's only way to read or change anything: requests to the REST router, in
//! process, with the session's API key. So every page sees exactly what the key may see
//! (another site's mailbox is a 404 here as there), and every action passes the same
//! validation, tenant checks and send policy as the API.

use crate::session::Session;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The largest API answer the console reads into memory (downloads stream instead).
const MAX_ANSWER: usize = 32 * 1024 * 1024;

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// The key no longer works (deleted or revoked): sign in again.
    SignedOut,
    /// The API answered with an error.
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The machine-readable code.
        code: String,
        /// The message, a full sentence.
        message: String,
    },
    /// A form without a valid CSRF token.
    Csrf,
}

impl PageError {
    /// Returns a 404.
    pub fn not_found(what: &str) -> Self {
        PageError::Api {
            status: StatusCode::NOT_FOUND,
            code: "not_found".into(),
            message: format!("There is no {what} here."),
        }
    }

    /// Returns a 400 for a bad form field.
    pub fn bad(message: impl Into<String>) -> Self {
        PageError::Api {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_form".into(),
            message: message.into(),
        }
    }
}

/// Calls the REST API.
#[derive(Clone)]
pub struct Api {
    router: Router,
}

impl Api {
    /// Wraps the REST router.
    pub fn new(router: Router) -> Self {
        Self { router }
    }

    /// Sends one request with `key` and returns the raw answer.
    pub async fn send(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        self.send_with(key, method, path, body, None).await
    }

    /// Like [`Api::send`], with an `Idempotency-Key`.
    pub async fn send_with(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Response {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(k) = idempotency_key.and_then(|k| HeaderValue::from_str(k).ok()) {
            req = req.header("idempotency-key", k);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {key}")) {
            req = req.header(header::AUTHORIZATION, v);
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(v).unwrap_or_default())
            }
            None => Body::empty(),
        };
        let req = match req.body(body) {
            Ok(r) => r,
            Err(_) => return error_response(),
        };
        match self.router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }

    /// Sends one request and reads the JSON answer; API errors become [`PageError`]s.
    pub async fn call(
        &self,
        s: &Session,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, PageError> {
        self.call_with(s, method, path, body, None).await
    }

    /// POSTs `body` with an `Idempotency-Key` (the form's), so a form sent twice sends once.
    pub async fn call_idem(
        &self,
        s: &Session,
        path: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Value, PageError> {
        self.call_with(s, Method::POST, path, Some(body), idempotency_key)
            .await
    }

    async fn call_with(
        &self,
        s: &Session,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idem: Option<&str>,
    ) -> Result<Value, PageError> {
        let resp = self.send_with(&s.key, method, path, body, idem).await;
        let status = resp.status();
        let bytes = read(resp).await?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(PageError::SignedOut);
        }
        let v: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(v);
        }
        // The REST error shape, or the tools' seed shape (`{"code","message"}`).
        let err = v.get("error").unwrap_or(&v);
        Err(PageError::Api {
            status,
            code: err
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("error")
                .to_string(),
            message: err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("The request failed.")
                .to_string(),
        })
    }

    /// GET of a JSON resource.
    pub async fn get(&self, s: &Session, path: &str) -> Result<Value, PageError> {
        self.call(s, Method::GET, path, None).await
    }

    /// GET of a listing, with the admin's site filter added.
    pub async fn list(&self, s: &Session, path: &str) -> Result<Vec<Value>, PageError> {
        let path = with_site(s, path);
        let v = self.get(s, &path).await?;
        Ok(items(&v))
    }
}

/// Adds `site_id=` for admin sessions.
pub fn with_site(s: &Session, path: &str) -> String {
    match s.site_query() {
        Some(q) if path.contains('?') => format!("{path}&{q}"),
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    }
}

/// Returns a page's `items`.
pub fn items(v: &Value) -> Vec<Value> {
    v.get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

async fn read(resp: Response) -> Result<Bytes, PageError> {
    let limited = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER);
    limited
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|_| PageError::Api {
            status: StatusCode::BAD_GATEWAY,
            code: "answer_too_large".into(),
            message: "The API's answer was too large to show.".into(),
        })
}

fn error_response() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

/// Percent-encodes one query or path component.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
