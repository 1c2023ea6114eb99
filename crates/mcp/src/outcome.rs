//! What a tool call answers: structured JSON with a short summary, or an error result that
//! carries the REST error code.

use mailroom_client::ClientError;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

/// A tool that ran: its answer and a sentence saying what happened.
#[derive(Debug)]
pub(crate) struct Success {
    /// One line for the model and the person watching, such as "Sent message … to …".
    pub(crate) summary: String,
    /// The answer (a JSON object).
    pub(crate) value: Value,
}

impl Success {
    pub(crate) fn new(summary: impl Into<String>, value: impl serde::Serialize) -> Success {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        // Structured content is an object by the MCP spec.
        let value = if value.is_object() { value } else { json!({ "result": value }) };
        Success { summary: summary.into(), value }
    }
}

/// A tool that failed: the REST error code and message (or the MCP layer's own, for bad
/// arguments), the HTTP status when the server answered, and extra fields for the model.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) status: Option<u16>,
    pub(crate) extra: Map<String, Value>,
}

impl Failure {
    pub(crate) fn new(code: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure { code: code.into(), message: message.into(), status: None, extra: Map::new() }
    }

    pub(crate) fn with_status(mut self, status: u16) -> Failure {
        self.status = Some(status);
        self
    }

    pub(crate) fn with(mut self, key: &str, value: Value) -> Failure {
        self.extra.insert(key.to_string(), value);
        self
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        match e {
            ClientError::Api { status, code, message } if code == "rate_limited" => {
                // The server's rate-limit message ends "retry after N s" (Retry-After's value).
                let retry = retry_after_of(&message);
                let f = Failure::new(code, message).with_status(status);
                match retry {
                    Some(secs) => f.with("retry_after", json!(secs)),
                    None => f,
                }
            }
            ClientError::Api { status, code, message } => Failure::new(code, message).with_status(status),
            ClientError::Transport(_) => Failure::new("server_unreachable", e.to_string()),
            ClientError::Decode { .. } => Failure::new("unexpected_answer", e.to_string()),
            ClientError::InvalidInput(message) => Failure::new("invalid_request", message),
            ClientError::Protocol(message) => Failure::new("unexpected_answer", message),
        }
    }
}

/// Reads the seconds of "retry after N s" in a `rate_limited` message.
fn retry_after_of(message: &str) -> Option<u64> {
    let at = message.rfind("retry after ")? + "retry after ".len();
    message[at..].split_whitespace().next()?.parse().ok()
}

/// Turns a tool's outcome into the MCP result: on success the summary and the JSON as text
/// (for clients that ignore structured content) plus the structured content; on failure one
/// sentence and `{"error": {"code", "message"}, "status"?, …}` with `isError: true`.
pub(crate) fn into_result(tool: &str, outcome: Result<Success, Failure>) -> CallToolResult {
    match outcome {
        Ok(Success { summary, value }) => {
            let mut result = CallToolResult::structured(value);
            let json = std::mem::take(&mut result.content);
            result.content = std::iter::once(ContentBlock::text(summary)).chain(json).collect();
            result
        }
        Err(Failure { code, message, status, extra }) => {
            tracing::debug!(tool, code, status, "tool call failed");
            let mut body = Map::new();
            body.insert("error".into(), json!({ "code": code, "message": message }));
            if let Some(status) = status {
                body.insert("status".into(), json!(status));
            }
            body.extend(extra);
            let mut result = CallToolResult::structured_error(Value::Object(body));
            result.content = vec![ContentBlock::text(format!("{tool} failed ({code}): {message}"))];
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successes_carry_a_summary_and_the_json() {
        let r = into_result("t", Ok(Success::new("Done.", json!({"id": "1"}))));
        assert_eq!(r.is_error, Some(false));
        assert_eq!(r.structured_content, Some(json!({"id": "1"})));
        assert_eq!(r.content.len(), 2);
        assert_eq!(r.content[0].as_text().unwrap().text, "Done.");
        assert_eq!(r.content[1].as_text().unwrap().text, r#"{"id":"1"}"#);
    }

    #[test]
    fn rate_limited_failures_carry_retry_after() {
        let f = Failure::from(ClientError::Api {
            status: 429,
            code: "rate_limited".into(),
            message: "rate limit mailbox.send_per_minute (5 per minute) reached; retry after 12 s".into(),
        });
        let r = into_result("send_message", Err(f));
        assert_eq!(r.is_error, Some(true));
        assert_eq!(r.structured_content.as_ref().unwrap()["retry_after"], json!(12));
    }

    #[test]
    fn non_object_answers_are_wrapped() {
        assert_eq!(Success::new("x", json!([1, 2])).value, json!({"result": [1, 2]}));
    }

    #[test]
    fn failures_are_error_results_with_the_code() {
        let f = Failure::from(ClientError::Api { status: 404, code: "not_found".into(), message: "no message".into() });
        let r = into_result("get_message", Err(f.with("hint", json!("x"))));
        assert_eq!(r.is_error, Some(true));
        assert_eq!(
            r.structured_content,
            Some(json!({"error": {"code": "not_found", "message": "no message"}, "status": 404, "hint": "x"}))
        );
        assert_eq!(r.content[0].as_text().unwrap().text, "get_message failed (not_found): no message");
    }
}
