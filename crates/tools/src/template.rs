//! Allowed email templates with `[placeholder]` tokens (seed 001) and their rendering.
//!
//! A template is what a site allows an agent to send: `name → {subject, body, variants}`. The
//! agent (or the model analysing the conversation) supplies placeholder values; rendering fills
//! them and then removes every *line* that still holds an unfilled placeholder, so an email
//! never shows a raw `[address]`. What a line is:
//!
//! * in a plain-text body, a text line (with one neighbouring blank line when removing it
//!   would leave two blank lines together);
//! * in an HTML body, the smallest of: the `<br>`-separated segment holding the placeholder,
//!   when its element has other content; otherwise the nearest enclosing *line element* —
//!   `p`, `li`, `div`, `tr`, `h1`–`h6`, `blockquote`, `dt`, `dd`, `pre`, `caption`,
//!   `figcaption` — so a placeholder in a table cell removes its row, and one inside `<b>`
//!   removes the paragraph. Outside any line element, text lines also separate segments;
//! * a subject is never removed: only the token goes, and the white space and punctuation
//!   around it are tidied.
//!
//! In HTML, placeholders inside comments, `<style>` and `<script>` are not placeholders (CSS
//! attribute selectors look like them); in plain text every `[name]` is one. Values are HTML-escaped in HTML bodies, where a newline in a value
//! becomes `<br>`.

use crate::html::{self, Token};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

/// Returns whether `text` holds at least one tag of common email HTML (`<p>`, `<br>`, `<div>`,
/// `<table>`…): a body that does is rendered as HTML. `a < b` and `x<y and z>w` are not HTML.
pub fn looks_like_html(text: &str) -> bool {
    html::looks_like_html(text)
}

/// Why a template or a set of templates was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A template name is empty, too long or has characters other than ASCII letters, digits,
    /// `_` and `-`.
    #[error(
        "`{0}` is not a valid template name: use 1 to 64 ASCII letters, digits, `_` or `-`, such as \
         `appointment_confirmation`"
    )]
    InvalidName(String),
    /// A template has an empty subject or body.
    #[error("the template `{name}` has an empty {part}")]
    Empty {
        /// The template.
        name: String,
        /// `subject` or `body`.
        part: &'static str,
    },
    /// The templates are not a JSON object of `name → {subject, body, variants?}`.
    #[error("the templates are not valid: {0}; expected {{\"name\": {{\"subject\": \"…\", \"body\": \"…\"}}}}")]
    Invalid(String),
}

/// The name of an allowed template: 1 to 64 ASCII letters, digits, `_` or `-`. It is an enum
/// value in the model's analysis schema and a key in settings, so it is checked once here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TemplateName(String);

impl TemplateName {
    /// Parses a template name.
    pub fn parse(s: &str) -> Result<TemplateName, TemplateError> {
        let ok = (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok { Ok(TemplateName(s.to_string())) } else { Err(TemplateError::InvalidName(s.to_string())) }
    }

    /// Returns the name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TemplateName {
    type Error = TemplateError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TemplateName::parse(&s)
    }
}

impl From<TemplateName> for String {
    fn from(n: TemplateName) -> String {
        n.0
    }
}

impl fmt::Display for TemplateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The subject and body of one language of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateVariant {
    /// The subject, with placeholders.
    pub subject: String,
    /// The body (plain text or HTML), with placeholders.
    pub body: String,
}

/// An allowed template: a default subject and body plus optional per-language variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// The default subject, with placeholders.
    pub subject: String,
    /// The default body (plain text or HTML), with placeholders.
    pub body: String,
    /// Translations by language tag (`es`, `pt-BR`…), used instead of machine translation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variants: BTreeMap<String, TemplateVariant>,
}

/// The text of a template chosen for a language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateText<'a> {
    /// The subject.
    pub subject: &'a str,
    /// The body.
    pub body: &'a str,
    /// The variant's language tag, or `None` for the default text (which may then need
    /// translating).
    pub language: Option<&'a str>,
}

/// A rendered template: subject and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedEmail {
    /// The rendered subject.
    pub subject: Rendered,
    /// The rendered body.
    pub body: Rendered,
    /// Whether the body is HTML.
    pub html: bool,
    /// The variant used, or `None` for the default text.
    pub language: Option<String>,
}

impl Template {
    /// Returns the placeholders of the subject and then the body of the default text and of
    /// every variant, in order of first appearance, without repeats.
    pub fn placeholders(&self) -> Vec<String> {
        let mut names = Vec::new();
        let texts =
            [&self.subject, &self.body].into_iter().chain(self.variants.values().flat_map(|v| [&v.subject, &v.body]));
        for text in texts {
            for name in placeholders(text) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Returns the text for `language`: the variant with that tag (compared case-insensitively),
    /// else a variant with the same primary language (`es-MX` finds `es`, `es` finds `es-ES`),
    /// else the default text.
    pub fn text_for(&self, language: Option<&str>) -> TemplateText<'_> {
        let default = TemplateText { subject: &self.subject, body: &self.body, language: None };
        let Some(lang) = language.map(str::trim).filter(|l| !l.is_empty()) else { return default };
        let primary = |tag: &str| tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        let exact = self.variants.iter().find(|(tag, _)| tag.eq_ignore_ascii_case(lang));
        let close = || self.variants.iter().find(|(tag, _)| primary(tag) == primary(lang));
        match exact.or_else(close) {
            Some((tag, v)) => TemplateText { subject: &v.subject, body: &v.body, language: Some(tag) },
            None => default,
        }
    }

    /// Renders the text for `language` with `values`: the subject as a subject, the body as
    /// HTML when it [looks like HTML](looks_like_html), else as plain text.
    pub fn render(&self, language: Option<&str>, values: &Map<String, Value>) -> RenderedEmail {
        let text = self.text_for(language);
        let html = looks_like_html(text.body);
        let body_kind = if html { TextKind::Html } else { TextKind::PlainText };
        RenderedEmail {
            subject: render(text.subject, values, RenderOptions { kind: TextKind::Subject }),
            body: render(text.body, values, RenderOptions { kind: body_kind }),
            html,
            language: text.language.map(str::to_string),
        }
    }
}

/// The allowed templates of a tool, by name (seed 001's `allowed_content`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, Template>", into = "BTreeMap<String, Template>")]
pub struct Templates(BTreeMap<TemplateName, Template>);

impl Templates {
    /// Parses templates from settings: a JSON object, or a string holding one (the form seed
    /// 001's setting takes).
    pub fn parse(value: &Value) -> Result<Templates, TemplateError> {
        let parsed: Result<BTreeMap<String, Template>, _> = match value {
            Value::String(s) => serde_json::from_str(s),
            other => serde_json::from_value(other.clone()),
        };
        Templates::try_from(parsed.map_err(|e| TemplateError::Invalid(e.to_string()))?)
    }

    /// Returns the template called `name`.
    pub fn get(&self, name: &str) -> Option<&Template> {
        TemplateName::parse(name).ok().and_then(|n| self.0.get(&n))
    }

    /// Returns the templates in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&TemplateName, &Template)> {
        self.0.iter()
    }

    /// Returns the names in order.
    pub fn names(&self) -> impl Iterator<Item = &TemplateName> {
        self.0.keys()
    }

    /// Returns the number of templates.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns whether there are no templates.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<BTreeMap<String, Template>> for Templates {
    type Error = TemplateError;
    fn try_from(map: BTreeMap<String, Template>) -> Result<Self, Self::Error> {
        let mut out = BTreeMap::new();
        for (name, template) in map {
            let name = TemplateName::parse(&name)?;
            let texts = std::iter::once((&template.subject, &template.body))
                .chain(template.variants.values().map(|v| (&v.subject, &v.body)));
            for (subject, body) in texts {
                for (part, text) in [("subject", subject), ("body", body)] {
                    if text.trim().is_empty() {
                        return Err(TemplateError::Empty { name: name.to_string(), part });
                    }
                }
            }
            out.insert(name, template);
        }
        Ok(Templates(out))
    }
}

impl From<Templates> for BTreeMap<String, Template> {
    fn from(t: Templates) -> Self {
        t.0.into_iter().map(|(k, v)| (k.0, v)).collect()
    }
}

/// What kind of text is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextKind {
    /// A subject line: never removed, unfilled tokens are dropped.
    Subject,
    /// A plain-text body: lines are text lines.
    PlainText,
    /// An HTML body: lines are line elements and `<br>` segments; values are escaped.
    Html,
}

/// How to render a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// The kind of text.
    pub kind: TextKind,
}

impl RenderOptions {
    /// Returns the options for a body, HTML when it [looks like HTML](looks_like_html).
    pub fn for_body(body: &str) -> RenderOptions {
        RenderOptions { kind: if looks_like_html(body) { TextKind::Html } else { TextKind::PlainText } }
    }
}

/// The result of rendering one text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    /// The rendered text.
    pub text: String,
    /// The placeholders replaced by a value at least once, in order of first appearance.
    pub filled: Vec<String>,
    /// The placeholders without a value, in order of first appearance.
    pub missing: Vec<String>,
    /// The original text of each removed line, in order.
    pub removed_lines: Vec<String>,
}

/// Returns the placeholder names in `text`, in order of first appearance, without repeats. A
/// placeholder is `[` + one or more ASCII letters, digits or `_` + `]`; when `text` [looks like
/// HTML](looks_like_html), those inside comments, `<style>` and `<script>` do not count.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (_, name, _) in placeholder_spans(text, looks_like_html(text)) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// Each placeholder: its range (brackets included), its name, whether it sits inside a tag.
/// Outside HTML, the whole text is one text token.
fn placeholder_spans(text: &str, html: bool) -> Vec<(Range<usize>, &str, bool)> {
    let mut spans = Vec::new();
    let tokens = if html { html::tokenize(text) } else { vec![Token::Text(0..text.len())] };
    for token in tokens {
        let (range, in_tag) = match token {
            Token::Text(r) => (r, false),
            Token::Tag { range, .. } => (range, true),
            Token::Opaque(_) => continue,
        };
        let bytes = text.as_bytes();
        let mut i = range.start;
        while i < range.end {
            if bytes[i] == b'[' {
                let start = i + 1;
                let mut j = start;
                while j < range.end && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                if j > start && j < range.end && bytes[j] == b']' {
                    spans.push((i..j + 1, &text[start..j], in_tag));
                    i = j + 1;
                    continue;
                }
            }
            i += 1;
        }
    }
    spans
}

/// Returns the text a value fills a placeholder with: strings (trimmed, non-empty), numbers,
/// booleans, and arrays of those joined with `, `; `null`, objects and empty strings fill
/// nothing.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(value_text).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Null | Value::Object(_) => None,
    }
}

/// Renders `template_text`: fills every `[name]` that has a value in `values`, then removes
/// every line that still holds an unfilled placeholder (see the [module docs](self) for what a
/// line is). A subject keeps its lines; its unfilled tokens are dropped and the text tidied.
pub fn render(template_text: &str, values: &Map<String, Value>, opts: RenderOptions) -> Rendered {
    let spans = placeholder_spans(template_text, opts.kind == TextKind::Html);
    let mut out = Rendered::default();
    let fills: Vec<Option<String>> = spans.iter().map(|(_, name, _)| values.get(*name).and_then(value_text)).collect();
    for ((_, name, _), fill) in spans.iter().zip(&fills) {
        if fill.is_none() && !out.missing.iter().any(|m| m == name) {
            out.missing.push(name.to_string());
        }
    }
    let removed: Vec<Range<usize>> = match opts.kind {
        TextKind::Subject => Vec::new(),
        TextKind::PlainText => text_lines_to_remove(template_text, &spans, &fills),
        TextKind::Html => html_lines_to_remove(template_text, &spans, &fills),
    };
    out.removed_lines =
        removed.iter().map(|r| template_text[r.clone()].trim_end_matches(['\r', '\n']).to_string()).collect();

    let mut text = String::with_capacity(template_text.len());
    let mut pos = 0;
    let mut spans_iter = spans.iter().zip(&fills).peekable();
    for cut in removed.iter().chain(std::iter::once(&(template_text.len()..template_text.len()))) {
        while let Some(((range, name, in_tag), fill)) = spans_iter.peek() {
            if range.start >= cut.start {
                break;
            }
            text.push_str(&template_text[pos..range.start]);
            if let Some(value) = fill {
                text.push_str(&fill_text(value, opts.kind, *in_tag));
                if !out.filled.iter().any(|f| f == name) {
                    out.filled.push(name.to_string());
                }
            }
            pos = range.end;
            spans_iter.next();
        }
        text.push_str(&template_text[pos..cut.start]);
        pos = cut.end;
        while spans_iter.peek().is_some_and(|((r, _, _), _)| r.start < cut.end) {
            spans_iter.next();
        }
    }
    out.text = match opts.kind {
        TextKind::Subject => tidy_subject(&text, !out.missing.is_empty()),
        TextKind::PlainText if !removed.is_empty() && !template_text.ends_with('\n') => text.trim_end().to_string(),
        _ => text,
    };
    out
}

fn fill_text(value: &str, kind: TextKind, in_tag: bool) -> String {
    match kind {
        TextKind::Html if in_tag => html::escape(value),
        TextKind::Html => html::escape(value).replace("\r\n", "\n").replace('\n', "<br>"),
        TextKind::Subject => value.split_whitespace().collect::<Vec<_>>().join(" "),
        TextKind::PlainText => value.to_string(),
    }
}

fn tidy_subject(s: &str, removed: bool) -> String {
    let mut s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if removed {
        for (from, to) in
            [(" ,", ","), (" .", "."), (" ;", ";"), (" :", ":"), (" !", "!"), (" ?", "?"), (" )", ")"), ("( ", "(")]
        {
            s = s.replace(from, to);
        }
        for empty in ["()", "[]", "\"\"", "''"] {
            s = s.replace(empty, "");
        }
        s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let separators: &[char] = &['-', '–', '—', '|', ':', ',', ';', '/', '·', ' '];
        s = s.trim_matches(separators).to_string();
    }
    s
}

/// The text lines (each with its line break) holding an unfilled placeholder; when a removal
/// would leave two blank lines together (or a blank first line), the next blank line goes too.
fn text_lines_to_remove(
    text: &str,
    spans: &[(Range<usize>, &str, bool)],
    fills: &[Option<String>],
) -> Vec<Range<usize>> {
    let mut removed: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    let lines: Vec<Range<usize>> = text
        .split_inclusive('\n')
        .map(|l| {
            let r = start..start + l.len();
            start = r.end;
            r
        })
        .collect();
    let blank = |r: &Range<usize>| text[r.clone()].trim().is_empty();
    let has_unfilled =
        |line: &Range<usize>| spans.iter().zip(fills).any(|((r, _, _), f)| f.is_none() && line.contains(&r.start));
    let mut last_kept_blank = true; // the start of the text counts as a blank line
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if !has_unfilled(line) {
            last_kept_blank = blank(line);
            i += 1;
            continue;
        }
        let mut cut = line.clone();
        if last_kept_blank && lines.get(i + 1).is_some_and(|next| blank(next) && !has_unfilled(next)) {
            i += 1;
            cut.end = lines[i].end;
        }
        removed.push(cut);
        i += 1;
    }
    removed
}

/// Elements that are a line of their own.
const LINE_ELEMENTS: &[&str] = &[
    "p",
    "li",
    "div",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "dt",
    "dd",
    "pre",
    "caption",
    "figcaption",
];

/// Block elements that hold lines without being one: segments never cross their tags.
const CONTAINERS: &[&str] = &[
    "html", "body", "table", "thead", "tbody", "tfoot", "td", "th", "ul", "ol", "dl", "section", "article", "header",
    "footer", "main", "nav", "aside", "center", "form", "figure", "address",
];

#[derive(Debug)]
struct Element {
    tag: String,
    start: usize,
    content: Range<usize>,
    end: usize,
    parent: Option<usize>,
    line: bool,
}

/// The block structure of an HTML text: elements (index 0 is the whole text) and `<br>` tags
/// with the element they belong to.
struct Blocks {
    elements: Vec<Element>,
    breaks: Vec<(Range<usize>, usize)>,
    /// Tags, comments and raw `<style>`/`<script>` content: their line breaks separate nothing.
    not_text: Vec<Range<usize>>,
}

impl Blocks {
    fn parse(text: &str) -> Blocks {
        let mut elements = vec![Element {
            tag: String::new(),
            start: 0,
            content: 0..text.len(),
            end: text.len(),
            parent: None,
            line: false,
        }];
        let mut breaks = Vec::new();
        let mut not_text = Vec::new();
        let mut stack = vec![0usize];
        let close = |elements: &mut Vec<Element>, stack: &mut Vec<usize>, until: usize, at: Range<usize>| {
            // Closes the elements above `until` implicitly at `at.start`, then `until` at `at`.
            while let Some(&top) = stack.last() {
                if top == 0 {
                    break;
                }
                stack.pop();
                let e = &mut elements[top];
                if top == until {
                    e.content.end = at.start;
                    e.end = at.end;
                    break;
                }
                e.content.end = at.start;
                e.end = at.start;
            }
        };
        for token in html::tokenize(text) {
            let (range, name, closing, self_closing) = match token {
                Token::Tag { range, name, closing, self_closing } => (range, name, closing, self_closing),
                Token::Opaque(r) => {
                    not_text.push(r);
                    continue;
                }
                Token::Text(_) => continue,
            };
            not_text.push(range.clone());
            if name == "br" {
                breaks.push((range, *stack.last().expect("the root is never popped")));
                continue;
            }
            let line = LINE_ELEMENTS.contains(&name.as_str());
            if !line && !CONTAINERS.contains(&name.as_str()) {
                continue;
            }
            let open_index = |tags: &[&str], stop: &[&str], elements: &Vec<Element>, stack: &Vec<usize>| {
                stack
                    .iter()
                    .rev()
                    .take_while(|&&i| i != 0 && !stop.contains(&elements[i].tag.as_str()))
                    .find(|&&i| tags.contains(&elements[i].tag.as_str()))
                    .copied()
            };
            if closing {
                if let Some(i) = open_index(&[name.as_str()], &[], &elements, &stack) {
                    close(&mut elements, &mut stack, i, range);
                }
                continue;
            }
            if self_closing {
                continue;
            }
            // Implied end tags: a block closes an open <p>; list items, rows and cells close
            // their open siblings.
            let implied: Option<(&[&str], &[&str])> = match name.as_str() {
                "li" => Some((&["li"], &["ul", "ol"])),
                "dt" | "dd" => Some((&["dt", "dd"], &["dl"])),
                "tr" => Some((&["tr"], &["table", "thead", "tbody", "tfoot"])),
                "td" | "th" => Some((&["td", "th"], &["tr"])),
                _ => None,
            };
            if let Some((tags, stop)) = implied
                && let Some(i) = open_index(tags, stop, &elements, &stack)
            {
                close(&mut elements, &mut stack, i, range.start..range.start);
            }
            if let Some(&top) = stack.last()
                && elements[top].tag == "p"
            {
                close(&mut elements, &mut stack, top, range.start..range.start);
            }
            elements.push(Element {
                tag: name,
                start: range.start,
                content: range.end..text.len(),
                end: text.len(),
                parent: stack.last().copied(),
                line,
            });
            stack.push(elements.len() - 1);
        }
        Blocks { elements, breaks, not_text }
    }

    /// The innermost element whose tags enclose `pos`.
    fn innermost(&self, pos: usize) -> usize {
        let mut best = 0;
        for (i, e) in self.elements.iter().enumerate().skip(1) {
            if e.start <= pos && pos < e.end && e.start >= self.elements[best].start {
                best = i;
            }
        }
        best
    }

    fn line_ancestor_or_self(&self, mut i: usize) -> Option<usize> {
        loop {
            if self.elements[i].line {
                return Some(i);
            }
            i = self.elements[i].parent?;
        }
    }

    fn has_line_ancestor_or_self(&self, i: usize) -> bool {
        self.line_ancestor_or_self(i).is_some()
    }

    /// The boundaries between segments in element `n`'s content: its child elements, its
    /// `<br>`s, and — outside line elements — its line breaks.
    fn boundaries(&self, text: &str, n: usize) -> Vec<(Range<usize>, bool)> {
        let mut b: Vec<(Range<usize>, bool)> = self
            .elements
            .iter()
            .enumerate()
            .filter(|(_, e)| e.parent == Some(n))
            .map(|(_, e)| (e.start..e.end, false))
            .chain(self.breaks.iter().filter(|(_, p)| *p == n).map(|(r, _)| (r.clone(), true)))
            .collect();
        if !self.has_line_ancestor_or_self(n) {
            let content = &self.elements[n].content;
            for (i, _) in text[content.clone()].match_indices('\n') {
                let at = content.start + i;
                if !b.iter().any(|(r, _)| r.contains(&at)) && !self.not_text.iter().any(|r| r.contains(&at)) {
                    b.push((at..at + 1, true));
                }
            }
        }
        b.sort_by_key(|(r, _)| r.start);
        b
    }
}

/// Whether a piece of HTML shows nothing: no text but white space, no image.
fn shows_nothing(fragment: &str) -> bool {
    html::tokenize(fragment).iter().all(|t| match t {
        Token::Text(r) => html::decode_entities(&fragment[r.clone()]).trim().is_empty(),
        Token::Tag { name, .. } => name != "img",
        Token::Opaque(_) => true,
    })
}

fn html_lines_to_remove(
    text: &str,
    spans: &[(Range<usize>, &str, bool)],
    fills: &[Option<String>],
) -> Vec<Range<usize>> {
    let blocks = Blocks::parse(text);
    let mut cuts: Vec<Range<usize>> = Vec::new();
    for ((span, _, _), fill) in spans.iter().zip(fills) {
        if fill.is_some() {
            continue;
        }
        let n = blocks.innermost(span.start);
        let element = &blocks.elements[n];
        let mut cut = None;
        if span.start >= element.content.start {
            let bounds = blocks.boundaries(text, n);
            let lo = bounds.iter().filter(|(r, _)| r.end <= span.start).map(|(r, _)| r.end).max();
            let hi = bounds.iter().filter(|(r, _)| r.start >= span.end).map(|(r, _)| r.start).min();
            let segment = lo.unwrap_or(element.content.start)..hi.unwrap_or(element.content.end);
            let others_show_something = bounds.iter().any(|(_, is_break)| !is_break) || {
                let mut edges: Vec<usize> = vec![element.content.start];
                for (r, _) in &bounds {
                    edges.push(r.start);
                    edges.push(r.end);
                }
                edges.push(element.content.end);
                edges.chunks(2).any(|c| c[0] != segment.start && c[0] < c[1] && !shows_nothing(&text[c[0]..c[1]]))
            };
            if others_show_something || !blocks.has_line_ancestor_or_self(n) {
                // Take one separating break with the segment: the one after it, else before.
                let after = bounds.iter().find(|(r, is_break)| *is_break && r.start == segment.end);
                let before = bounds.iter().find(|(r, is_break)| *is_break && r.end == segment.start);
                cut = Some(match (after, before) {
                    (Some((r, _)), _) => segment.start..r.end,
                    (None, Some((r, _))) => r.start..segment.end,
                    (None, None) => segment,
                });
            }
        }
        let cut = cut.unwrap_or_else(|| match blocks.line_ancestor_or_self(n) {
            Some(i) => own_text_line(text, blocks.elements[i].start..blocks.elements[i].end),
            // In the tag of a container outside any line (`<body class="[x]">`): the token only.
            None => span.clone(),
        });
        cuts.push(cut);
    }
    cuts.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for cut in cuts {
        match merged.last_mut() {
            Some(last) if cut.start < last.end => last.end = last.end.max(cut.end),
            _ => merged.push(cut),
        }
    }
    merged
}

/// Widens `r` to its whole text line (line break included) when nothing else is on that line.
fn own_text_line(text: &str, r: Range<usize>) -> Range<usize> {
    let line_start = text[..r.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[r.end..].find('\n').map_or(text.len(), |i| r.end + i + 1);
    let alone = text[line_start..r.start].trim().is_empty() && text[r.end..line_end].trim().is_empty();
    let multi_line_text = line_start > 0 || line_end < text.len();
    if alone && multi_line_text { line_start..line_end } else { r }
}

/// Returns `values` with every date-time string made readable in the business time zone `tz`,
/// in `lang` (see [`format_datetime`]); other values are unchanged, arrays are formatted item
/// by item.
pub fn format_datetimes(values: &Map<String, Value>, tz: Tz, lang: &str) -> Map<String, Value> {
    fn convert(v: &Value, tz: Tz, lang: &str) -> Value {
        match v {
            Value::String(s) => format_datetime(s, tz, lang).map_or_else(|| v.clone(), Value::String),
            Value::Array(items) => Value::Array(items.iter().map(|i| convert(i, tz, lang)).collect()),
            other => other.clone(),
        }
    }
    values.iter().map(|(k, v)| (k.clone(), convert(v, tz, lang))).collect()
}

/// Returns `s` as a readable local date-time when it is one, else `None`.
///
/// * An RFC 3339 / ISO 8601 date-time with an offset or `Z` (seconds optional) is converted to
///   `tz`: `Tuesday, 3 March 2026, 14:30 CET`.
/// * One without an offset is taken as already in `tz`.
/// * A date alone becomes `Tuesday, 3 March 2026`.
///
/// Languages (primary subtag of `lang`): `en` (the default for any other), `es`, `pt`, `fr`,
/// `de`, `it`; times use the 24-hour clock.
pub fn format_datetime(s: &str, tz: Tz, lang: &str) -> Option<String> {
    let s = s.trim();
    if s.len() < 10 || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let lang = Lang::from_tag(lang);
    if s.len() == 10 {
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        return Some(lang.date(
            date.weekday().num_days_from_monday() as usize,
            date.day(),
            date.month0() as usize,
            date.year(),
        ));
    }
    let local = if let Some(dt) = parse_with_offset(s) {
        Some(dt.with_timezone(&tz))
    } else {
        let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?;
        match tz.from_local_datetime(&naive).earliest() {
            Some(dt) => Some(dt),
            // A wall time that does not exist (a DST gap): shown as given, without a zone.
            None => {
                let date = naive.date();
                return Some(format!(
                    "{}{}{:02}:{:02}",
                    lang.date(
                        date.weekday().num_days_from_monday() as usize,
                        date.day(),
                        date.month0() as usize,
                        date.year()
                    ),
                    lang.time_joiner(),
                    naive.hour(),
                    naive.minute()
                ));
            }
        }
    }?;
    let date = local.date_naive();
    Some(format!(
        "{}{}{:02}:{:02} {}",
        lang.date(date.weekday().num_days_from_monday() as usize, date.day(), date.month0() as usize, date.year()),
        lang.time_joiner(),
        local.hour(),
        local.minute(),
        local.format("%Z")
    ))
}

fn parse_with_offset(s: &str) -> Option<DateTime<chrono::FixedOffset>> {
    let mut owned = s.replace(' ', "T");
    if owned.ends_with(['Z', 'z']) {
        owned.truncate(owned.len() - 1);
        owned.push_str("+00:00");
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(&owned) {
        return Some(dt);
    }
    // Without seconds: 2026-03-03T14:30+01:00.
    let (date_time, offset) = owned.split_at(owned.rfind(['+', '-']).filter(|&i| i > 10)?);
    (date_time.len() == 16).then_some(())?;
    DateTime::parse_from_rfc3339(&format!("{date_time}:00{offset}")).ok()
}

#[derive(Debug, Clone, Copy)]
enum Lang {
    En,
    Es,
    Pt,
    Fr,
    De,
    It,
}

impl Lang {
    fn from_tag(tag: &str) -> Lang {
        match tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase().as_str() {
            "es" => Lang::Es,
            "pt" => Lang::Pt,
            "fr" => Lang::Fr,
            "de" => Lang::De,
            "it" => Lang::It,
            _ => Lang::En,
        }
    }

    fn weekdays(self) -> [&'static str; 7] {
        match self {
            Lang::En => ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
            Lang::Es => ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
            Lang::Pt => {
                ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"]
            }
            Lang::Fr => ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
            Lang::De => ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
            Lang::It => ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
        }
    }

    fn months(self) -> [&'static str; 12] {
        match self {
            Lang::En => [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ],
            Lang::Es => [
                "enero",
                "febrero",
                "marzo",
                "abril",
                "mayo",
                "junio",
                "julio",
                "agosto",
                "septiembre",
                "octubre",
                "noviembre",
                "diciembre",
            ],
            Lang::Pt => [
                "janeiro",
                "fevereiro",
                "março",
                "abril",
                "maio",
                "junho",
                "julho",
                "agosto",
                "setembro",
                "outubro",
                "novembro",
                "dezembro",
            ],
            Lang::Fr => [
                "janvier",
                "février",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "août",
                "septembre",
                "octobre",
                "novembre",
                "décembre",
            ],
            Lang::De => [
                "Januar",
                "Februar",
                "März",
                "April",
                "Mai",
                "Juni",
                "Juli",
                "August",
                "September",
                "Oktober",
                "November",
                "Dezember",
            ],
            Lang::It => [
                "gennaio",
                "febbraio",
                "marzo",
                "aprile",
                "maggio",
                "giugno",
                "luglio",
                "agosto",
                "settembre",
                "ottobre",
                "novembre",
                "dicembre",
            ],
        }
    }

    fn date(self, weekday: usize, day: u32, month0: usize, year: i32) -> String {
        let (w, m) = (self.weekdays()[weekday], self.months()[month0]);
        match self {
            Lang::En => format!("{w}, {day} {m} {year}"),
            Lang::Es | Lang::Pt => format!("{w}, {day} de {m} de {year}"),
            Lang::Fr if day == 1 => format!("{w} 1er {m} {year}"),
            Lang::Fr | Lang::It => format!("{w} {day} {m} {year}"),
            Lang::De => format!("{w}, {day}. {m} {year}"),
        }
    }

    fn time_joiner(self) -> &'static str {
        match self {
            Lang::Fr => " à ",
            _ => ", ",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    const SEED_SUBJECT: &str = "Your appointment at [business_name]";
    const SEED_BODY: &str = "<p>Hi,</p><p>Your appointment is confirmed for [appointment_date] at [appointment_time].</p><p>Address: [address]</p><p>See you there!</p>";

    fn seed_templates() -> Templates {
        Templates::parse(&json!({
            "appointment_confirmation": {"subject": SEED_SUBJECT, "body": SEED_BODY}
        }))
        .unwrap()
    }

    #[test]
    fn lists_placeholders_in_order_without_repeats() {
        assert_eq!(placeholders(SEED_BODY), ["appointment_date", "appointment_time", "address"]);
        assert_eq!(placeholders("[a] [b] [a] [not valid] [] [c-d] [x_1]"), ["a", "b", "x_1"]);
        assert_eq!(placeholders("<style>a[href]{}</style><!-- [c] --><a href=\"?id=[id]\">[t]</a>"), ["id", "t"]);
        let t = seed_templates();
        assert_eq!(
            t.get("appointment_confirmation").unwrap().placeholders(),
            ["business_name", "appointment_date", "appointment_time", "address"]
        );
    }

    #[test]
    fn seed_example_missing_address_removes_exactly_its_paragraph() {
        let v = values(json!({
            "business_name": "Clínica Sol", "appointment_date": "Tuesday, 3 March 2026", "appointment_time": "14:30"
        }));
        let r = render(SEED_BODY, &v, RenderOptions { kind: TextKind::Html });
        assert_eq!(
            r.text,
            "<p>Hi,</p><p>Your appointment is confirmed for Tuesday, 3 March 2026 at 14:30.</p><p>See you there!</p>"
        );
        assert_eq!(r.removed_lines, ["<p>Address: [address]</p>"]);
        assert_eq!(r.missing, ["address"]);
        assert_eq!(r.filled, ["appointment_date", "appointment_time"]);

        let email = seed_templates().get("appointment_confirmation").unwrap().render(None, &v);
        assert_eq!(email.subject.text, "Your appointment at Clínica Sol");
        assert!(email.html);
        assert_eq!(email.body, r);
    }

    #[test]
    fn all_filled_html_values_are_escaped() {
        let v = values(json!({
            "business_name": "Tom & Jerry's", "appointment_date": "<b>3 March</b>", "appointment_time": 14,
            "address": "Calle Mayor 1\nMadrid"
        }));
        let r = render(SEED_BODY, &v, RenderOptions::for_body(SEED_BODY));
        assert_eq!(
            r.text,
            "<p>Hi,</p><p>Your appointment is confirmed for &lt;b&gt;3 March&lt;/b&gt; at 14.</p>\
             <p>Address: Calle Mayor 1<br>Madrid</p><p>See you there!</p>"
        );
        assert!(r.missing.is_empty() && r.removed_lines.is_empty());
        let r = render(
            "<a href=\"https://x.test/?q=[q]\">go</a>",
            &values(json!({"q": "a\"b\nc"})),
            RenderOptions::for_body("<a>"),
        );
        assert_eq!(r.text, "<a href=\"https://x.test/?q=a&quot;b\nc\">go</a>");
    }

    #[test]
    fn html_line_rules() {
        let none = Map::new();
        let html = |t: &str| render(t, &none, RenderOptions { kind: TextKind::Html }).text;
        // List items, rows (not just the cell), headings, divs.
        assert_eq!(html("<ul><li>One</li><li>Two: [x]</li><li>Three</li></ul>"), "<ul><li>One</li><li>Three</li></ul>");
        assert_eq!(
            html("<table><tr><td>Name</td><td>Ana</td></tr><tr><td>Address</td><td>[address]</td></tr></table>"),
            "<table><tr><td>Name</td><td>Ana</td></tr></table>"
        );
        assert_eq!(html("<h2>[title]</h2><div>Body</div>"), "<div>Body</div>");
        // Inside inline markup: the enclosing paragraph goes.
        assert_eq!(html("<p>Keep</p><p>See <a href=\"#\"><b>[link]</b></a> now</p>"), "<p>Keep</p>");
        // <br> segments: only the segment and one break.
        assert_eq!(html("<p>Name: Ana<br>Phone: [phone]<br>City: Madrid</p>"), "<p>Name: Ana<br>City: Madrid</p>");
        assert_eq!(html("<p>Name: Ana<br/>Phone: [phone]</p>"), "<p>Name: Ana</p>");
        assert_eq!(html("<p>[phone]<br></p><p>x</p>"), "<p>x</p>");
        // Text directly in a div that also holds blocks: only that text.
        assert_eq!(html("<div>Address: [address]<p>Other</p></div>"), "<div><p>Other</p></div>");
        // Nested divs: the innermost line element.
        assert_eq!(html("<div><div>A</div><div>B [b]</div></div>"), "<div><div>A</div></div>");
        // Unclosed <p> and <li> end where the next one starts.
        assert_eq!(html("<p>One<p>Two [x]<p>Three"), "<p>One<p>Three");
        assert_eq!(html("<ul><li>One<li>Two [x]<li>Three</ul>"), "<ul><li>One<li>Three</ul>");
        // No line element: <br> segments and text lines at the top level.
        assert_eq!(html("Hello<br>Phone: [phone]<br>Bye"), "Hello<br>Bye");
        assert_eq!(
            html("<body>\nHello <b>there</b>\nPhone: [phone]\nBye\n</body>"),
            "<body>\nHello <b>there</b>\nBye\n</body>"
        );
        // One element per text line: the text line goes too.
        assert_eq!(html("<p>Hi</p>\n<p>Address: [address]</p>\n<p>Bye</p>\n"), "<p>Hi</p>\n<p>Bye</p>\n");
        // Two missing placeholders in one line, and in nested lines: one removal.
        let r = render("<p>[a] and [b]</p><p>ok</p>", &none, RenderOptions { kind: TextKind::Html });
        assert_eq!((r.text.as_str(), r.removed_lines.len(), r.missing.len()), ("<p>ok</p>", 1, 2));
        // Placeholders in CSS and comments are left alone.
        assert_eq!(
            html("<style>a[href]{x:y}</style><p>ok</p><!-- [c] -->"),
            "<style>a[href]{x:y}</style><p>ok</p><!-- [c] -->"
        );
    }

    #[test]
    fn more_html_shapes() {
        let none = Map::new();
        let html = |t: &str| render(t, &none, RenderOptions { kind: TextKind::Html }).text;
        assert_eq!(html("<div>\n  <p>A</p>\n  <p>B [b]</p>\n</div>"), "<div>\n  <p>A</p>\n</div>");
        assert_eq!(html("<p title=\"[x]\">text</p><p>ok</p>"), "<p>ok</p>");
        assert_eq!(html("<body class=\"[x]\"><p>hi</p></body>"), "<body class=\"\"><p>hi</p></body>");
        assert_eq!(html("<div>[a]<p>[b]</p><p>c</p></div>"), "<div><p>c</p></div>");
        assert_eq!(html("<ul><li>[a]</li><li>[b]</li></ul>"), "<ul></ul>");
        let r = render("<ul><li>[a]</li><li>[b]</li></ul>", &none, RenderOptions { kind: TextKind::Html });
        assert_eq!(r.removed_lines, ["<li>[a]</li>", "<li>[b]</li>"]);
    }

    #[test]
    fn rendering_never_panics_and_never_leaves_a_token() {
        // A deterministic generator: no dependency, same cases on every run.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let pieces = [
            "<p>",
            "</p>",
            "<br>",
            "<div>",
            "</div>",
            "<li>",
            "<tr>",
            "<td>",
            "</td>",
            "<b>",
            "</b>",
            "<!--",
            "-->",
            "<style>",
            "</style>",
            "[a]",
            "[b]",
            "[c]",
            "[",
            "]",
            "\n",
            " ",
            "é",
            "ñ",
            "€",
            "text",
            "<",
            ">",
            "&amp;",
            "\"",
            "<p class=\"",
            "<h2>",
            "</h2>",
            "\r\n",
        ];
        let values = values(json!({"a": "A & <b>", "b": "line\nbreak"}));
        for _ in 0..3000 {
            let len = next(24);
            let text: String = (0..len).map(|_| pieces[next(pieces.len())]).collect();
            for kind in [TextKind::Html, TextKind::PlainText, TextKind::Subject] {
                let r = render(&text, &values, RenderOptions { kind });
                if kind != TextKind::Subject {
                    let left: Vec<String> =
                        placeholder_spans(&r.text, kind == TextKind::Html).iter().map(|s| s.1.to_string()).collect();
                    assert!(!left.contains(&"c".to_string()), "{kind:?} {text:?} -> {:?}", r.text);
                }
                let scanned = placeholder_spans(&text, kind == TextKind::Html);
                assert_eq!(
                    r.missing.contains(&"c".to_string()),
                    scanned.iter().any(|s| s.1 == "c"),
                    "{kind:?} {text:?}"
                );
            }
        }
    }

    #[test]
    fn plain_text_lines_are_removed_with_one_blank_neighbour() {
        let v = values(json!({"name": "Ana"}));
        let r =
            render("Hi [name],\n\nYour code is [code].\n\nSee you!\n", &v, RenderOptions { kind: TextKind::PlainText });
        assert_eq!(r.text, "Hi Ana,\n\nSee you!\n");
        assert_eq!(r.removed_lines, ["Your code is [code].\n".trim_end()]);
        let r =
            render("Hi [name],\nPhone: [phone]\nEmail: [email]\nBye", &v, RenderOptions { kind: TextKind::PlainText });
        assert_eq!(r.text, "Hi Ana,\nBye");
        let r = render("Hi [name],\n\nPhone: [phone]", &v, RenderOptions { kind: TextKind::PlainText });
        assert_eq!(r.text, "Hi Ana,");
        let r = render("[greeting]\n\nBody", &v, RenderOptions { kind: TextKind::PlainText });
        assert_eq!(r.text, "Body");
        assert_eq!(r.missing, ["greeting"]);
    }

    #[test]
    fn subjects_lose_only_the_token() {
        let subject = |t: &str, v: Value| render(t, &values(v), RenderOptions { kind: TextKind::Subject });
        let r = subject(SEED_SUBJECT, json!({}));
        assert_eq!(
            (r.text.as_str(), r.missing.as_slice(), r.removed_lines.len()),
            ("Your appointment at", &["business_name".to_string()][..], 0)
        );
        assert_eq!(subject("[business_name] – your booking ([ref])", json!({})).text, "your booking");
        assert_eq!(subject("Booking [ref], confirmed!", json!({})).text, "Booking, confirmed!");
        assert_eq!(subject("Hi  [name] ,  welcome", json!({"name": "Ana\nMaria"})).text, "Hi Ana Maria , welcome");
        assert_eq!(subject("Hello [name]", json!({"name": null})).text, "Hello");
        assert_eq!(subject("Hello [name]", json!({"name": "   "})).missing, ["name"]);
    }

    #[test]
    fn values_of_every_json_type() {
        let v = values(json!({"s": "x", "n": 2.5, "b": true, "a": ["p", 1, null], "o": {"k": 1}, "e": []}));
        let r = render("[s] [n] [b] [a] [o] [e]", &v, RenderOptions { kind: TextKind::Subject });
        assert_eq!(r.text, "x 2.5 true p, 1");
        assert_eq!(r.missing, ["o", "e"]);
    }

    #[test]
    fn templates_parse_validate_and_pick_variants() {
        let t = Templates::parse(&json!(
            r#"{"welcome": {"subject": "Hi [name]", "body": "Hello", "variants": {"es": {"subject": "Hola [name]", "body": "Hola"}, "pt-BR": {"subject": "Olá", "body": "Olá"}}}}"#
        ))
        .unwrap();
        let w = t.get("welcome").unwrap();
        assert_eq!(w.text_for(Some("es-MX")).language, Some("es"));
        assert_eq!(w.text_for(Some("ES")).subject, "Hola [name]");
        assert_eq!(w.text_for(Some("pt")).language, Some("pt-BR"));
        assert_eq!(w.text_for(Some("de")).language, None);
        assert_eq!(w.text_for(None).subject, "Hi [name]");
        let r = w.render(Some("es"), &values(json!({"name": "Ana"})));
        assert_eq!(
            (r.subject.text.as_str(), r.body.text.as_str(), r.html, r.language.as_deref()),
            ("Hola Ana", "Hola", false, Some("es"))
        );
        assert_eq!(t.names().map(|n| n.as_str()).collect::<Vec<_>>(), ["welcome"]);
        assert!(t.get("nope").is_none() && t.get("bad name").is_none());

        assert!(matches!(
            Templates::parse(&json!({"bad name": {"subject": "s", "body": "b"}})),
            Err(TemplateError::InvalidName(_))
        ));
        assert!(matches!(
            Templates::parse(&json!({"t": {"subject": " ", "body": "b"}})),
            Err(TemplateError::Empty { part: "subject", .. })
        ));
        assert!(matches!(Templates::parse(&json!({"t": {"subject": "s"}})), Err(TemplateError::Invalid(_))));
        assert!(matches!(Templates::parse(&json!([1])), Err(TemplateError::Invalid(_))));
        let round: Templates = serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap();
        assert_eq!(round, t);
    }

    #[test]
    fn date_times_across_a_dst_boundary_in_madrid() {
        let tz: Tz = "Europe/Madrid".parse().unwrap();
        // Spain moves to summer time at 01:00 UTC on Sunday 29 March 2026.
        assert_eq!(format_datetime("2026-03-03T13:30:00Z", tz, "en").unwrap(), "Tuesday, 3 March 2026, 14:30 CET");
        assert_eq!(format_datetime("2026-03-28T13:30:00Z", tz, "en").unwrap(), "Saturday, 28 March 2026, 14:30 CET");
        assert_eq!(format_datetime("2026-03-29T13:30:00Z", tz, "en").unwrap(), "Sunday, 29 March 2026, 15:30 CEST");
        assert_eq!(
            format_datetime("2026-03-29T00:59:00Z", tz, "es").unwrap(),
            "domingo, 29 de marzo de 2026, 01:59 CET"
        );
        assert_eq!(
            format_datetime("2026-03-29T01:00:00Z", tz, "es-ES").unwrap(),
            "domingo, 29 de marzo de 2026, 03:00 CEST"
        );
        // Naive wall times are Madrid times; 02:30 on 29 March does not exist there.
        assert_eq!(format_datetime("2026-03-29T12:00", tz, "en").unwrap(), "Sunday, 29 March 2026, 12:00 CEST");
        assert_eq!(format_datetime("2026-03-29 02:30:00", tz, "en").unwrap(), "Sunday, 29 March 2026, 02:30");
        // Autumn: 02:30 happens twice on 25 October 2026; the first (summer time) is used.
        assert_eq!(format_datetime("2026-10-25T02:30:00", tz, "en").unwrap(), "Sunday, 25 October 2026, 02:30 CEST");
    }

    #[test]
    fn a_utc_time_in_new_york() {
        let tz: Tz = "America/New_York".parse().unwrap();
        assert_eq!(format_datetime("2026-03-03T19:30:00Z", tz, "en").unwrap(), "Tuesday, 3 March 2026, 14:30 EST");
        // US summer time starts on 8 March 2026.
        assert_eq!(
            format_datetime("2026-03-09T18:30:00.000Z", tz, "en-US").unwrap(),
            "Monday, 9 March 2026, 14:30 EDT"
        );
        // Offsets other than Z, and no seconds.
        assert_eq!(format_datetime("2026-03-04T01:30+01:00", tz, "en").unwrap(), "Tuesday, 3 March 2026, 19:30 EST");
        // Midnight UTC is the evening before in New York.
        assert_eq!(
            format_datetime("2026-01-01T00:00:00Z", tz, "es").unwrap(),
            "miércoles, 31 de diciembre de 2025, 19:00 EST"
        );
    }

    #[test]
    fn dates_languages_and_non_dates() {
        let tz = chrono_tz::Europe::Madrid;
        assert_eq!(format_datetime("2026-03-03", tz, "en").unwrap(), "Tuesday, 3 March 2026");
        assert_eq!(format_datetime("2026-03-03", tz, "es").unwrap(), "martes, 3 de marzo de 2026");
        assert_eq!(format_datetime("2026-03-01", tz, "fr").unwrap(), "dimanche 1er mars 2026");
        assert_eq!(format_datetime("2026-03-03T14:30:00+01:00", tz, "fr").unwrap(), "mardi 3 mars 2026 à 14:30 CET");
        assert_eq!(format_datetime("2026-03-03", tz, "de").unwrap(), "Dienstag, 3. März 2026");
        assert_eq!(format_datetime("2026-03-03", tz, "pt-BR").unwrap(), "terça-feira, 3 de março de 2026");
        assert_eq!(format_datetime("2026-03-03", tz, "it").unwrap(), "martedì 3 marzo 2026");
        assert_eq!(format_datetime("2026-03-03", tz, "xx").unwrap(), "Tuesday, 3 March 2026");
        for not_a_date in
            ["14:30", "2026", "tomorrow", "2026-13-01", "2026-02-30", "2026-03-03T25:00:00Z", "+34 600 000 000"]
        {
            assert_eq!(format_datetime(not_a_date, tz, "en"), None, "{not_a_date}");
        }
        let v = values(
            json!({"when": "2026-03-03T13:30:00Z", "day": "2026-03-03", "name": "Ana", "n": 3, "list": ["2026-03-03", "x"]}),
        );
        let f = format_datetimes(&v, tz, "en");
        assert_eq!(
            Value::Object(f),
            json!({"when": "Tuesday, 3 March 2026, 14:30 CET", "day": "Tuesday, 3 March 2026", "name": "Ana", "n": 3,
                   "list": ["Tuesday, 3 March 2026", "x"]})
        );
    }
}

#[cfg(test)]
mod placeholder_filling {
    use super::*;
    use proptest::prelude::*;

    fn text_of(names: &[String]) -> String {
        names.iter().enumerate().map(|(i, n)| format!("Line {i}: [{n}]\n")).collect()
    }

    proptest! {
        /// Every placeholder with a value is replaced by it, and no line is removed.
        #[test]
        fn placeholders_with_values_are_filled(
            names in proptest::collection::vec("[a-z_][a-z0-9_]{0,8}", 1..6),
            values in proptest::collection::vec("[A-Za-z0-9][A-Za-z0-9 ,.!?-]{0,20}", 6),
        ) {
            let text = text_of(&names);
            let map: Map<String, Value> = names.iter().zip(&values).map(|(n, v)| (n.clone(), Value::String(v.clone()))).collect();
            let out = render(&text, &map, RenderOptions { kind: TextKind::PlainText });
            prop_assert!(out.missing.is_empty());
            prop_assert!(out.removed_lines.is_empty());
            for (i, n) in names.iter().enumerate() {
                let value = map[n].as_str().unwrap().trim();
                let expected = format!("Line {i}: {value}\n");
                prop_assert!(out.text.contains(&expected), "{:?} lacks {:?}", out.text, expected);
            }
            prop_assert!(!out.text.contains('['), "{:?}", out.text);
        }

        /// A line whose placeholder has no value (or a blank one) is removed whole; the other
        /// lines stay, filled, in order.
        #[test]
        fn lines_with_missing_values_are_removed(
            names in proptest::collection::vec("[a-z][a-z0-9_]{0,8}", 1..6),
            given in proptest::collection::vec(proptest::option::of("[A-Za-z0-9][A-Za-z0-9 ]{0,12}| {0,3}"), 6),
        ) {
            let text = text_of(&names);
            let map: Map<String, Value> = names
                .iter()
                .zip(&given)
                .filter_map(|(n, v)| v.clone().map(|v| (n.clone(), Value::String(v))))
                .collect();
            let out = render(&text, &map, RenderOptions { kind: TextKind::PlainText });
            let filled = |n: &String| map.get(n).and_then(|v| v.as_str()).is_some_and(|s| !s.trim().is_empty());
            let mut expected = String::new();
            for (i, n) in names.iter().enumerate() {
                if filled(n) {
                    expected.push_str(&format!("Line {i}: {}\n", map[n].as_str().unwrap().trim()));
                } else {
                    prop_assert!(out.missing.contains(n));
                    let line = format!("Line {i}: [{n}]");
                    prop_assert!(out.removed_lines.contains(&line), "{:?} not removed", line);
                }
            }
            prop_assert_eq!(out.text, expected);
        }
    }
}
