//! The client's one error type, and the parsing of the server's error shape.

use mailroom_core::api::ErrorBody;

/// Everything that can go wrong when talking to a Mailroom server.
///
/// Callers match on the variant to decide what to do: an [`Api`](ClientError::Api) error is
/// the server's answer and carries its stable `code`; a [`Transport`](ClientError::Transport)
/// error means no answer arrived at all.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a non-success status and (usually) its error body
    /// `{"error": {"code", "message"}}`.
    ///
    /// When the body is not in that shape (a proxy's HTML page, an empty 502), `code` is
    /// `http_<status>` and `message` quotes the start of the body.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The server's machine-readable code, such as `not_found`.
        code: String,
        /// The server's sentence for humans.
        message: String,
    },
    /// The server could not be reached, or the connection broke before a full answer arrived.
    #[error(
        "the Mailroom server could not be reached at {} ({}); check MAILROOM_URL and that `mailroom serve` is running",
        transport_origin(.0),
        root_cause(.0)
    )]
    Transport(#[source] reqwest::Error),
    /// The server answered with a success status, but the body was not what this client
    /// expects (usually a client and server of different versions).
    #[error("the answer to {request} could not be read: {source}")]
    Decode {
        /// The request that got the answer, such as `GET /v1/sites`.
        request: String,
        /// What the JSON parser reported.
        #[source]
        source: serde_json::Error,
    },
    /// A value given to the client cannot be used: a malformed base URL, a missing or
    /// unsendable API key, or an invalid header in a raw request.
    #[error("{0}")]
    InvalidInput(String),
    /// The server's answer did not follow the protocol this client speaks, in a way a retry
    /// cannot fix: an event stream that is not `text/event-stream` (usually a proxy's page),
    /// or an event larger than the client accepts.
    #[error("{0}")]
    Protocol(String),
}

impl ClientError {
    /// Returns the HTTP status of an [`Api`](ClientError::Api) error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            ClientError::Transport(_)
            | ClientError::Decode { .. }
            | ClientError::InvalidInput(_)
            | ClientError::Protocol(_) => None,
        }
    }

    /// Returns the server's error code of an [`Api`](ClientError::Api) error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            ClientError::Transport(_)
            | ClientError::Decode { .. }
            | ClientError::InvalidInput(_)
            | ClientError::Protocol(_) => None,
        }
    }

    /// Builds the error for a non-success answer from its status and body.
    ///
    /// The body is expected in the API's one error shape; anything else is kept readable so
    /// the caller still learns what came back.
    pub fn from_response(status: u16, body: &[u8]) -> ClientError {
        if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
            return ClientError::Api { status, code: parsed.error.code, message: parsed.error.message };
        }
        let text = String::from_utf8_lossy(body);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
        let message = if text.is_empty() {
            format!("the server answered HTTP {status} {reason} without an error body").replace("  ", " ")
        } else {
            format!("the server answered HTTP {status} {reason}: {}", clip(&text, 200)).replace("  ", " ")
        };
        ClientError::Api { status, code: format!("http_{status}"), message }
    }
}

/// Returns `scheme://host:port` of the URL a transport error concerns.
fn transport_origin(err: &reqwest::Error) -> String {
    match err.url() {
        Some(url) => url.origin().ascii_serialization(),
        None => "the configured URL".to_string(),
    }
}

/// Returns the innermost cause of an error, which says what actually happened (such as
/// "Connection refused") where the outer layers only say "error sending request".
pub(crate) fn root_cause(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timed out".to_string();
    }
    let mut cause: &dyn std::error::Error = err;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_api_error_shape() {
        let body = br#"{"error":{"code":"not_found","message":"No mailbox has this id."}}"#;
        match ClientError::from_response(404, body) {
            ClientError::Api { status, code, message } => {
                assert_eq!(status, 404);
                assert_eq!(code, "not_found");
                assert_eq!(message, "No mailbox has this id.");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn keeps_foreign_bodies_readable() {
        let err = ClientError::from_response(502, b"<html>\n  Bad   gateway\n</html>");
        assert_eq!(err.status(), Some(502));
        assert_eq!(err.code(), Some("http_502"));
        assert_eq!(
            err.to_string(),
            "the server answered HTTP 502 Bad Gateway: <html> Bad gateway </html> (http_502, HTTP 502)"
        );
    }

    #[test]
    fn says_when_the_body_is_empty() {
        let err = ClientError::from_response(405, b"");
        assert_eq!(err.code(), Some("http_405"));
        assert!(err.to_string().starts_with("the server answered HTTP 405 Method Not Allowed without an error body"));
    }

    #[test]
    fn clips_long_bodies() {
        let body = "x".repeat(500);
        let ClientError::Api { message, .. } = ClientError::from_response(500, body.as_bytes()) else {
            panic!("expected an API error");
        };
        assert!(message.ends_with('…'));
        assert!(message.chars().count() < 260);
    }

    #[test]
    fn an_error_body_with_a_different_shape_is_not_mistaken_for_ours() {
        let err = ClientError::from_response(400, br#"{"message":"nope"}"#);
        assert_eq!(err.code(), Some("http_400"));
    }
}
