//! A client for OpenAI-compatible chat completions (OpenAI, Azure-style gateways, vLLM, Ollama,
//! LiteLLM…): structured outputs for the conversation analysis, plain completions for
//! translation.
//!
//! Only `POST {base_url}/chat/completions` is used, with `temperature: 0` so the same
//! conversation gives the same analysis as far as the provider allows. Every failure is a
//! distinct [`LlmError`] with a stable [`code`](LlmError::code) for tool runs and API errors.
//! Prompts and replies are never logged: they hold the users' conversations.

use serde_json::{Value, json};
use std::fmt;
use std::time::{Duration, Instant};

/// Where and how to reach the model.
#[derive(Clone, PartialEq, Eq)]
pub struct LlmConfig {
    /// The API base, up to but not including `/chat/completions`, such as
    /// `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// The model, such as `gpt-4o-2024-08-06`.
    pub model: String,
    /// The API key sent as `Authorization: Bearer …`; empty sends no header (local servers).
    pub api_key: String,
    /// The limit for a whole request, response body included.
    pub timeout: Duration,
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "<redacted>" })
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a model call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The configuration cannot work (bad URL, key or schema name).
    #[error("the language model is not configured correctly: {0}")]
    Config(String),
    /// The provider could not be reached (connection refused, DNS, TLS…).
    #[error("the language model could not be reached: {0}")]
    Unavailable(String),
    /// The provider did not answer within the configured timeout.
    #[error("the language model did not answer within {0:?}")]
    Timeout(Duration),
    /// The provider answered with an HTTP error.
    #[error("the language model returned HTTP {status}: {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The provider's error message (`error.message` in OpenAI's format), else the start of
        /// the body.
        message: String,
    },
    /// The model refused to answer.
    #[error("the language model refused: {0}")]
    Refusal(String),
    /// The reply was not what was asked for (not JSON, cut off, empty).
    #[error("the language model's reply could not be used: {0}")]
    Unparseable(String),
}

impl LlmError {
    /// Returns the stable code: `llm_config`, `llm_unavailable`, `llm_timeout`,
    /// `llm_http_error`, `llm_refusal` or `llm_unparseable`.
    pub fn code(&self) -> &'static str {
        match self {
            LlmError::Config(_) => "llm_config",
            LlmError::Unavailable(_) => "llm_unavailable",
            LlmError::Timeout(_) => "llm_timeout",
            LlmError::Http { .. } => "llm_http_error",
            LlmError::Refusal(_) => "llm_refusal",
            LlmError::Unparseable(_) => "llm_unparseable",
        }
    }

    /// Returns whether trying again later may succeed (timeouts, unreachable, HTTP 408, 429 and
    /// 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            LlmError::Unavailable(_) | LlmError::Timeout(_) => true,
            LlmError::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            LlmError::Config(_) | LlmError::Refusal(_) | LlmError::Unparseable(_) => false,
        }
    }
}

/// A chat-completions client.
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    endpoint: String,
    config: LlmConfig,
}

impl LlmClient {
    /// Creates a client. Fails when the base URL is not `http(s)://…`, the key cannot be sent in
    /// a header, or the HTTP client cannot be set up.
    pub fn new(config: LlmConfig) -> Result<LlmClient, LlmError> {
        let base = config.base_url.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(LlmError::Config(format!("the base URL `{base}` must start with http:// or https://")));
        }
        if !config.api_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(LlmError::Config("the API key must be printable ASCII without spaces".into()));
        }
        if config.model.trim().is_empty() {
            return Err(LlmError::Config("the model name is empty".into()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("mailroom-tools/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .build()
            .map_err(|e| LlmError::Config(format!("the HTTP client could not be set up: {e}")))?;
        Ok(LlmClient { http, endpoint: format!("{base}/chat/completions"), config })
    }

    /// Returns the configuration.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Asks for a JSON object matching `schema` (strict structured outputs) and returns it.
    ///
    /// `schema_name` must be 1 to 64 ASCII letters, digits, `_` or `-` (the provider's rule).
    pub async fn structured(
        &self,
        system: &str,
        user: &str,
        schema_name: &str,
        schema: &Value,
    ) -> Result<Value, LlmError> {
        let valid_name = (1..=64).contains(&schema_name.len())
            && schema_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_name {
            return Err(LlmError::Config(format!("`{schema_name}` is not a valid schema name")));
        }
        let body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": true},
            },
            "temperature": 0,
        });
        let content = self.complete(&body).await?;
        let value: Value = serde_json::from_str(strip_fences(&content))
            .map_err(|e| LlmError::Unparseable(format!("the content is not JSON ({e})")))?;
        if !value.is_object() {
            return Err(LlmError::Unparseable("the content is JSON but not an object".into()));
        }
        Ok(value)
    }

    /// Translates `text` into `target_lang` (a language tag or name), keeping HTML markup (when
    /// `is_html`) and `[placeholder]` tokens unchanged, and returns the translation.
    pub async fn translate(&self, text: &str, target_lang: &str, is_html: bool) -> Result<String, LlmError> {
        let format_rule = if is_html {
            "The text is HTML: keep every tag, attribute, URL and character entity exactly as it is and translate \
             only the human-readable text between tags."
        } else {
            "The text is plain text: keep its line breaks and blank lines."
        };
        let system = format!(
            "You translate email content into the language `{target_lang}`. {format_rule} Keep every placeholder in \
             square brackets, such as [address], exactly as written. Keep names, email addresses, phone numbers, \
             amounts, dates and times as they are. If the text is already in that language, return it unchanged. \
             Reply with the translated text only: no explanation, no quotes, no code fences."
        );
        let body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": text},
            ],
            "temperature": 0,
        });
        let content = self.complete(&body).await?;
        let translated = strip_fences(&content).trim();
        if translated.is_empty() {
            return Err(LlmError::Unparseable("the translation is empty".into()));
        }
        Ok(translated.to_string())
    }

    /// Posts `body` and returns `choices[0].message.content`.
    async fn complete(&self, body: &Value) -> Result<String, LlmError> {
        let started = Instant::now();
        let mut request = self.http.post(&self.endpoint).json(body);
        if !self.config.api_key.is_empty() {
            request = request.bearer_auth(&self.config.api_key);
        }
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                LlmError::Timeout(self.config.timeout)
            } else if e.is_builder() {
                LlmError::Config(e.to_string())
            } else {
                LlmError::Unavailable(error_chain(&e))
            }
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        tracing::debug!(
            model = %self.config.model,
            endpoint = %self.endpoint,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "chat completion"
        );
        if !status.is_success() {
            return Err(LlmError::Http { status: status.as_u16(), message: provider_message(&text) });
        }
        let reply: Value = serde_json::from_str(&text)
            .map_err(|_| LlmError::Unparseable(format!("the response is not JSON: {}", excerpt(&text))))?;
        let choice = &reply["choices"][0];
        let message = &choice["message"];
        if let Some(refusal) = message["refusal"].as_str().filter(|r| !r.trim().is_empty()) {
            return Err(LlmError::Refusal(refusal.to_string()));
        }
        if choice["finish_reason"] == "content_filter" {
            return Err(LlmError::Refusal("the provider's content filter stopped the reply".into()));
        }
        if choice["finish_reason"] == "length" {
            return Err(LlmError::Unparseable("the reply was cut off at the token limit".into()));
        }
        match message["content"].as_str() {
            Some(content) => Ok(content.to_string()),
            None if choice.is_null() => Err(LlmError::Unparseable("the response has no choices".into())),
            None => Err(LlmError::Unparseable("the reply has no text content".into())),
        }
    }
}

/// The provider's error message: OpenAI's `{"error": {"message"}}`, `{"error": "…"}` or
/// `{"message": "…"}`, else the start of the body.
fn provider_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let found = parsed.as_ref().and_then(|v| {
        v["error"]["message"]
            .as_str()
            .or_else(|| v["error"].as_str())
            .or_else(|| v["message"].as_str())
            .map(str::to_string)
    });
    found.unwrap_or_else(|| if body.trim().is_empty() { "(empty body)".into() } else { excerpt(body) })
}

fn excerpt(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Removes a Markdown code fence around a reply (some OpenAI-compatible servers add one).
fn strip_fences(s: &str) -> &str {
    let t = s.trim();
    let Some(rest) = t.strip_prefix("```") else { return s };
    let Some(inner) = rest.strip_suffix("```") else { return s };
    // Drop the info string (`json`, `html`…) on the opening line.
    match inner.split_once('\n') {
        Some((info, body)) if !info.contains(' ') => body.trim(),
        _ => inner.trim(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    /// A scripted reply: status, body, delay.
    type Reply = (StatusCode, String, Duration);

    /// What the fake provider received: path, authorization header, body.
    type Received = (String, Option<String>, Value);

    #[derive(Default)]
    struct Fake {
        replies: Mutex<VecDeque<Reply>>,
        received: Mutex<Vec<Received>>,
    }

    async fn chat(State(fake): State<Arc<Fake>>, uri: Uri, headers: HeaderMap, body: String) -> Response {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = serde_json::from_str(&body).unwrap_or(Value::Null);
        fake.received.lock().unwrap().push((uri.path().to_string(), auth, body));
        let (status, body, delay) = fake.replies.lock().unwrap().pop_front().expect("a scripted reply");
        tokio::time::sleep(delay).await;
        (status, [("content-type", "application/json")], body).into_response()
    }

    /// Starts a chat-completions server on a free port that answers with `replies`, in order.
    async fn provider(replies: Vec<Reply>) -> (Arc<Fake>, String) {
        let fake = Arc::new(Fake { replies: Mutex::new(replies.into()), received: Mutex::default() });
        let app = Router::new().route("/v1/chat/completions", post(chat)).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (fake, format!("http://{addr}/v1/"))
    }

    fn completion(content: Value, refusal: Value, finish_reason: &str) -> String {
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_772_540_000,
            "model": "gpt-test",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason
            }],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        })
        .to_string()
    }

    fn ok(content: &str) -> Reply {
        (StatusCode::OK, completion(json!(content), Value::Null, "stop"), Duration::ZERO)
    }

    fn client(base_url: &str) -> LlmClient {
        LlmClient::new(LlmConfig {
            base_url: base_url.into(),
            model: "gpt-test".into(),
            api_key: "sk-test-123".into(),
            timeout: Duration::from_millis(500),
        })
        .unwrap()
    }

    fn schema() -> Value {
        json!({"type": "object", "properties": {"send": {"type": "boolean"}}, "required": ["send"], "additionalProperties": false})
    }

    #[tokio::test]
    async fn structured_posts_the_schema_and_parses_the_reply() {
        let (fake, url) = provider(vec![ok(r#"{"send": true}"#)]).await;
        let value = client(&url).structured("Decide.", "user: email me", "decision", &schema()).await.unwrap();
        assert_eq!(value, json!({"send": true}));
        let received = fake.received.lock().unwrap();
        let (path, auth, body) = &received[0];
        assert_eq!(path, "/v1/chat/completions");
        assert_eq!(auth.as_deref(), Some("Bearer sk-test-123"));
        assert_eq!(
            body,
            &json!({
                "model": "gpt-test",
                "messages": [{"role": "system", "content": "Decide."}, {"role": "user", "content": "user: email me"}],
                "response_format": {"type": "json_schema", "json_schema": {"name": "decision", "schema": schema(), "strict": true}},
                "temperature": 0
            })
        );
    }

    #[tokio::test]
    async fn http_errors_carry_the_providers_message() {
        let openai_error = json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": null, "code": null}});
        let (_, url) = provider(vec![
            (StatusCode::INTERNAL_SERVER_ERROR, openai_error.to_string(), Duration::ZERO),
            (StatusCode::UNAUTHORIZED, "Unauthorized".into(), Duration::ZERO),
            (StatusCode::TOO_MANY_REQUESTS, json!({"message": "slow down"}).to_string(), Duration::ZERO),
        ])
        .await;
        let c = client(&url);
        let e = c.structured("s", "u", "decision", &schema()).await.unwrap_err();
        assert_eq!(
            e,
            LlmError::Http { status: 500, message: "The server had an error while processing your request.".into() }
        );
        assert_eq!(e.code(), "llm_http_error");
        assert!(e.is_transient());
        let e = c.structured("s", "u", "decision", &schema()).await.unwrap_err();
        assert_eq!(e, LlmError::Http { status: 401, message: "Unauthorized".into() });
        assert!(!e.is_transient());
        let e = c.translate("hi", "es", false).await.unwrap_err();
        assert_eq!(e, LlmError::Http { status: 429, message: "slow down".into() });
        assert!(e.is_transient());
    }

    #[tokio::test]
    async fn a_refusal_is_its_own_error() {
        let refusal = (
            StatusCode::OK,
            completion(Value::Null, json!("I'm sorry, I can't help with that."), "stop"),
            Duration::ZERO,
        );
        let filtered = (StatusCode::OK, completion(Value::Null, Value::Null, "content_filter"), Duration::ZERO);
        let (_, url) = provider(vec![refusal, filtered]).await;
        let e = client(&url).structured("s", "u", "decision", &schema()).await.unwrap_err();
        assert_eq!(e, LlmError::Refusal("I'm sorry, I can't help with that.".into()));
        assert_eq!(e.code(), "llm_refusal");
        let e = client(&url).structured("s", "u", "decision", &schema()).await.unwrap_err();
        assert_eq!(e.code(), "llm_refusal");
    }

    #[tokio::test]
    async fn unusable_replies_are_unparseable() {
        let (_, url) = provider(vec![
            ok("Sure! The user wants an email."),
            ok("[1, 2]"),
            (StatusCode::OK, completion(json!("{\"send\": tr"), Value::Null, "length"), Duration::ZERO),
            (StatusCode::OK, "<html>gateway</html>".into(), Duration::ZERO),
            (StatusCode::OK, json!({"choices": []}).to_string(), Duration::ZERO),
            ok("   "),
        ])
        .await;
        let c = client(&url);
        for expected in ["not JSON", "not an object", "cut off", "response is not JSON", "no choices"] {
            let e = c.structured("s", "u", "decision", &schema()).await.unwrap_err();
            assert_eq!(e.code(), "llm_unparseable");
            assert!(e.to_string().contains(expected), "{e} should say {expected}");
        }
        let e = c.translate("hi", "es", false).await.unwrap_err();
        assert_eq!(e, LlmError::Unparseable("the translation is empty".into()));
    }

    #[tokio::test]
    async fn fenced_json_is_accepted() {
        let (_, url) = provider(vec![ok("```json\n{\"send\": false}\n```")]).await;
        let value = client(&url).structured("s", "u", "decision", &schema()).await.unwrap();
        assert_eq!(value, json!({"send": false}));
    }

    #[tokio::test]
    async fn a_slow_provider_times_out() {
        let (_, url) =
            provider(vec![(StatusCode::OK, completion(json!("{}"), Value::Null, "stop"), Duration::from_secs(3))])
                .await;
        let e = client(&url).structured("s", "u", "decision", &schema()).await.unwrap_err();
        assert_eq!(e, LlmError::Timeout(Duration::from_millis(500)));
        assert_eq!(e.code(), "llm_timeout");
    }

    #[tokio::test]
    async fn an_unreachable_provider_is_unavailable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = client(&format!("http://{addr}/v1")).translate("hi", "es", false).await.unwrap_err();
        assert_eq!(e.code(), "llm_unavailable", "{e}");
        assert!(e.is_transient());
    }

    #[tokio::test]
    async fn translate_keeps_markup_and_placeholders() {
        let (fake, url) = provider(vec![ok("<p>Hola [name],</p>"), ok("```\nHola\n\nAdiós\n```")]).await;
        let c = LlmClient::new(LlmConfig { api_key: String::new(), ..client(&url).config().clone() }).unwrap();
        let out = c.translate("<p>Hello [name],</p>", "es", true).await.unwrap();
        assert_eq!(out, "<p>Hola [name],</p>");
        let out = c.translate("Hello\n\nBye", "es", false).await.unwrap();
        assert_eq!(out, "Hola\n\nAdiós");
        let received = fake.received.lock().unwrap();
        let (_, auth, body) = &received[0];
        assert_eq!(auth, &None, "no key, no header");
        assert_eq!(body["model"], "gpt-test");
        assert_eq!(body["temperature"], 0);
        assert!(body.get("response_format").is_none());
        assert_eq!(body["messages"][1], json!({"role": "user", "content": "<p>Hello [name],</p>"}));
        let system = body["messages"][0]["content"].as_str().unwrap();
        assert_eq!(body["messages"][0]["role"], "system");
        for needle in ["`es`", "HTML", "tag", "[address]"] {
            assert!(system.contains(needle), "{system}");
        }
        let system = received[1].2["messages"][0]["content"].as_str().unwrap();
        assert!(system.contains("plain text") && !system.contains("HTML"), "{system}");
    }

    #[test]
    fn configuration_is_checked_and_the_key_never_shown() {
        let config = LlmConfig {
            base_url: "https://api.openai.com/v1".into(),
            model: "gpt-4o".into(),
            api_key: "sk-secret".into(),
            timeout: Duration::from_secs(30),
        };
        assert!(!format!("{config:?}").contains("sk-secret"));
        let c = LlmClient::new(config.clone()).unwrap();
        assert!(!format!("{c:?}").contains("sk-secret"));
        assert_eq!(c.endpoint, "https://api.openai.com/v1/chat/completions");
        for bad in [
            LlmConfig { base_url: "api.openai.com".into(), ..config.clone() },
            LlmConfig { api_key: "sk secret".into(), ..config.clone() },
            LlmConfig { model: " ".into(), ..config.clone() },
        ] {
            assert_eq!(LlmClient::new(bad).unwrap_err().code(), "llm_config");
        }
    }

    #[tokio::test]
    async fn schema_names_are_checked_before_sending() {
        let c = client("http://127.0.0.1:9");
        let e = c.structured("s", "u", "has space", &schema()).await.unwrap_err();
        assert_eq!(e.code(), "llm_config");
    }

    #[test]
    fn fences_and_messages() {
        assert_eq!(strip_fences("```json\n{}\n```"), "{}");
        assert_eq!(strip_fences("```\nplain\n```"), "plain");
        assert_eq!(strip_fences("no fence"), "no fence");
        assert_eq!(strip_fences("```unterminated"), "```unterminated");
        assert_eq!(provider_message(r#"{"error": "bad"}"#), "bad");
        assert_eq!(provider_message(""), "(empty body)");
        assert_eq!(provider_message(&"x".repeat(400)).chars().count(), 301);
    }
}
