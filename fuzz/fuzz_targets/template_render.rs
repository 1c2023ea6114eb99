//! The information tool's template renderer: placeholder filling and the removal of lines
//! (text lines, HTML line elements, `<br>` segments) whose placeholders stay unfilled.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/tools/src/html.rs"]
mod html;
#[allow(dead_code)]
#[path = "../../crates/tools/src/template.rs"]
mod template;

use libfuzzer_sys::{arbitrary::Arbitrary, fuzz_target};
use serde_json::{Map, Value};
use template::{RenderOptions, TextKind};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    text: &'a str,
    values: Vec<(&'a str, &'a str)>,
    kind: u8,
}

fuzz_target!(|input: Input<'_>| {
    let kind = match input.kind % 3 {
        0 => TextKind::Subject,
        1 => TextKind::PlainText,
        _ => TextKind::Html,
    };
    let values: Map<String, Value> = input.values.iter().map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string()))).collect();
    let rendered = template::render(input.text, &values, RenderOptions { kind });
    // A line is removed only for a placeholder left without a value.
    if rendered.missing.is_empty() {
        assert!(rendered.removed_lines.is_empty(), "lines removed with every placeholder filled");
    }
    for f in &rendered.filled {
        assert!(values.contains_key(f), "filled without a value: {f}");
    }
    let _ = template::render(input.text, &values, RenderOptions::for_body(input.text));
    let _ = template::looks_like_html(input.text);
});
