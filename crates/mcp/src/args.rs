//! Tool arguments: decoded with the same error codes as REST bodies, naming the field.

use crate::outcome::Failure;
use rmcp::model::JsonObject;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::str::FromStr;

/// Decodes a tool's arguments. An argument the tool does not take is `unknown_field`; a
/// missing or mistyped one is `invalid_request`; both messages name the field, such as
/// "`to[1]`: invalid type: integer `3`, expected a string".
pub(crate) fn parse<T: DeserializeOwned>(arguments: Option<JsonObject>) -> Result<T, Failure> {
    let value = Value::Object(arguments.unwrap_or_default());
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if inner.starts_with("unknown field") {
            // The path ends with the unknown field itself, which the message names already.
            let message = match path.rsplit_once('.') {
                Some((parent, _)) => format!("`{parent}`: {inner}"),
                None => inner,
            };
            Failure::new("unknown_field", format!("{message}; remove it or check its spelling"))
        } else if path == "." {
            Failure::new("invalid_request", inner)
        } else {
            Failure::new("invalid_request", format!("`{path}`: {inner}"))
        }
    })
}

/// Parses an id argument. A value that is not an id of this kind is answered as REST answers
/// an unknown id in a path: `not_found`, naming the field.
pub(crate) fn id<T: FromStr>(field: &str, kind: &str, raw: &str) -> Result<T, Failure> {
    raw.trim().parse().map_err(|_| {
        Failure::new("not_found", format!("`{field}`: no {kind} with id `{}`", raw.trim())).with_status(404)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailroom_core::MessageId;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Args {
        to: Vec<String>,
        #[serde(default)]
        limit: Option<u32>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        inner: Args,
    }

    fn args(v: Value) -> Option<JsonObject> {
        v.as_object().cloned()
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse::<Args>(args(json!({"to": ["a@x.test", 3]}))).unwrap_err();
        assert_eq!(e.code, "invalid_request");
        assert!(e.message.starts_with("`to[1]`: invalid type: integer `3`"), "{}", e.message);

        let e = parse::<Args>(args(json!({"to": [], "cc": []}))).unwrap_err();
        assert_eq!(e.code, "unknown_field");
        assert!(e.message.starts_with("unknown field `cc`"), "{}", e.message);

        let e = parse::<Args>(None).unwrap_err();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("invalid_request", "missing field `to`"));

        let e = parse::<Outer>(args(json!({"inner": {"to": [], "bcc": 1}}))).unwrap_err();
        assert!(e.message.starts_with("`inner`: unknown field `bcc`"), "{}", e.message);

        let e = parse::<Args>(args(json!({"to": [], "limit": -1}))).unwrap_err();
        assert!(e.message.starts_with("`limit`: "), "{}", e.message);
    }

    #[test]
    fn ids_that_do_not_parse_are_unknown_ids() {
        let e = id::<MessageId>("message_id", "message", " nope ").unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("not_found", Some(404)));
        assert_eq!(e.message, "`message_id`: no message with id `nope`");
        let good = MessageId::new();
        assert_eq!(id::<MessageId>("message_id", "message", &good.to_string()).unwrap(), good);
    }
}
