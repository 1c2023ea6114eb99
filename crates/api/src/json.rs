//! JSON answers: [`Json`] is axum's `Json` responder with a faster writer.
//!
//! A listing page carries up to 100 whole messages (text, HTML, extracted text, headers), so
//! writing JSON is a large share of a read's CPU. serde_json escapes strings one byte at a
//! time; sonic-rs writes the same JSON through the same `Serialize` impls and scans strings
//! 16 bytes at a time (SSE2, which every x86-64 has), about twice as fast on message bodies
//! (`cargo run --release -p mailroom-bench --bin json-cost`). Strings, integers, maps and
//! `null` for non-finite floats come out byte for byte as serde_json writes them (tested
//! below); a float may be written in another shortest form of the same number.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

/// Answers `200 OK` (or the status it is paired with) and `T` as `application/json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Where the body starts: large enough for most single objects, so only pages grow it.
const INITIAL_CAPACITY: usize = 4096;

/// [`Json`] for an answer whose size is known roughly in advance (a page of whole messages,
/// about 250 KB at 20 per page): the body is written into a buffer of that capacity instead of
/// one that doubles from [`INITIAL_CAPACITY`], each doubling copying what was written so far
/// (a listing profile showed those copies as a few percent of its CPU). The estimate need not
/// be exact: a short one only grows the buffer as [`Json`] would.
#[derive(Debug, Clone, Copy, Default)]
pub struct SizedJson<T>(pub T, pub usize);

/// Writes `value` as compact JSON.
pub fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, sonic_rs::Error> {
    to_bytes_with_capacity(value, INITIAL_CAPACITY)
}

/// Writes `value` as compact JSON into a buffer of `capacity` bytes to start with.
pub fn to_bytes_with_capacity<T: Serialize + ?Sized>(value: &T, capacity: usize) -> Result<Bytes, sonic_rs::Error> {
    let mut buf = Vec::with_capacity(capacity.max(INITIAL_CAPACITY));
    sonic_rs::to_writer(&mut buf, value)?;
    Ok(Bytes::from(buf))
}

fn respond(written: Result<Bytes, sonic_rs::Error>) -> Response {
    match written {
        Ok(body) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
        Err(e) => crate::error::ApiError::internal(format!("writing the JSON answer: {e}")).into_response(),
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        respond(to_bytes(&self.0))
    }
}

impl<T: Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        respond(to_bytes_with_capacity(&self.0, self.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_what_serde_json_writes() {
        let text = (0u8..0x80).map(char::from).collect::<String>() + "é 日本 \u{2028} \u{feff} 😀 \"quoted\" back\\slash\r\n";
        let values = [
            json!(null),
            json!({"a": 1, "b": [true, false, null], "c": {"nested": "x"}, "": ""}),
            json!([i64::MIN, i64::MAX, u64::MAX, 0, -1]),
            json!({ text.clone(): text.clone() }),
            json!(text.repeat(50)),
            json!([1.5, -0.25, 3.0, 0.1, 1e-7, 123456.789]),
        ];
        for v in &values {
            assert_eq!(to_bytes(v).unwrap(), serde_json::to_vec(v).unwrap(), "{v}");
        }
        #[derive(Serialize)]
        struct Floats {
            nan: f64,
            inf: f32,
            big: f64,
            small: f64,
        }
        let floats = Floats { nan: f64::NAN, inf: f32::INFINITY, big: 1e300, small: 5e-324 };
        let ours: serde_json::Value = serde_json::from_slice(&to_bytes(&floats).unwrap()).unwrap();
        assert_eq!(ours, serde_json::to_value(&floats).unwrap());
    }

    #[test]
    fn writes_a_listed_message_as_serde_json_does() {
        let line = "Line with \"quotes\", a tab\t and a backslash \\ and é\r\n";
        let message: mailroom_core::Message = serde_json::from_value(json!({
            "id": mailroom_core::MessageId::new(), "site_id": mailroom_core::SiteId::new(),
            "mailbox_id": mailroom_core::MailboxId::new(), "thread_id": mailroom_core::ThreadId::new(),
            "direction": "inbound", "read": false, "size": 5300, "created_at": mailroom_core::now(),
            "snippet": "Line with", "subject": "Hello", "from": {"address": "a@b.test", "name": "Ä \"B\""},
            "to": [{"address": "c@d.test"}], "text": line.repeat(100), "html": "<p>x</p>",
            "headers": [{"name": "Subject", "value": "Hello"}], "labels": ["received"],
            "auth_results": {"spf": "pass", "score": 0.5},
        }))
        .unwrap();
        let page = vec![message.clone(), message];
        assert_eq!(to_bytes(&page).unwrap(), serde_json::to_vec(&page).unwrap());
    }
}
