//! Just enough HTML for email bodies: a forgiving tokenizer (tags, text, comments, raw
//! `<script>`/`<style>` content), entity decoding and escaping. Template rendering needs byte
//! offsets into the original text, so tokens carry ranges rather than owned strings; a full
//! HTML5 parser would rewrite the author's markup, which a template must never do.

use std::ops::Range;

/// One piece of an HTML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// Character data between tags.
    Text(Range<usize>),
    /// A start or end tag.
    Tag {
        /// The whole tag, `<` to `>`.
        range: Range<usize>,
        /// The lower-cased tag name (`p`, `br`, `!doctype`…).
        name: String,
        /// `</name>`.
        closing: bool,
        /// `<name/>` or a void element such as `<br>`.
        self_closing: bool,
    },
    /// A comment, or the content of `<script>`/`<style>`: never text, never placeholders.
    Opaque(Range<usize>),
}

const VOID: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"];

/// Tags that make a text "look like HTML" (a `<b>` in a plain-text reply does not count).
const COMMON: &[&str] = &[
    "a",
    "b",
    "blockquote",
    "body",
    "br",
    "center",
    "div",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "html",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "span",
    "strong",
    "style",
    "table",
    "tbody",
    "td",
    "th",
    "tr",
    "u",
    "ul",
];

/// Inline tags: removing them must not split a word (`<b>wor</b>ld`).
const INLINE: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd", "mark", "q", "s", "samp",
    "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var",
];

/// Returns whether `name` is an inline (phrasing) tag.
pub(crate) fn is_inline(name: &str) -> bool {
    INLINE.contains(&name)
}

/// Splits `s` into tokens. Never fails: anything that is not a well-formed tag is text.
pub(crate) fn tokenize(s: &str) -> Vec<Token> {
    let bytes = s.as_bytes();
    let mut tokens = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    let flush = |tokens: &mut Vec<Token>, from: usize, to: usize| {
        if from < to {
            tokens.push(Token::Text(from..to));
        }
    };
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        if s[i..].starts_with("<!--") {
            flush(&mut tokens, text_start, i);
            let end = s[i + 4..].find("-->").map_or(s.len(), |e| i + 4 + e + 3);
            tokens.push(Token::Opaque(i..end));
            i = end;
            text_start = i;
            continue;
        }
        let Some((end, name, closing, self_closing)) = parse_tag(s, i) else {
            i += 1;
            continue;
        };
        flush(&mut tokens, text_start, i);
        tokens.push(Token::Tag { range: i..end, name: name.clone(), closing, self_closing });
        i = end;
        text_start = i;
        if !closing && !self_closing && (name == "script" || name == "style") {
            let close = format!("</{name}");
            let raw_end = find_ci(&s[i..], &close).map_or(s.len(), |e| i + e);
            if raw_end > i {
                tokens.push(Token::Opaque(i..raw_end));
            }
            i = raw_end;
            text_start = i;
        }
    }
    flush(&mut tokens, text_start, s.len());
    tokens
}

/// Parses the tag starting at `start` (a `<`): its end, lower-cased name, whether it closes,
/// whether it is self-closing. `None` when this `<` does not start a tag.
fn parse_tag(s: &str, start: usize) -> Option<(usize, String, bool, bool)> {
    let bytes = s.as_bytes();
    let mut j = start + 1;
    let closing = bytes.get(j) == Some(&b'/');
    if closing {
        j += 1;
    }
    let name_start = j;
    if bytes.get(j) == Some(&b'!') && !closing {
        j += 1;
    }
    if !bytes.get(j).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    while bytes.get(j).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b':') {
        j += 1;
    }
    let name = s[name_start..j].to_ascii_lowercase();
    // The name must end at white space, `/` or `>`.
    if !bytes.get(j).is_some_and(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>') {
        return None;
    }
    let mut quote = None;
    while j < bytes.len() {
        let b = bytes[j];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => {
                let self_closing = VOID.contains(&name.as_str()) || (j > start && bytes[j - 1] == b'/');
                return Some((j + 1, name, closing, self_closing && !closing));
            }
            None if b == b'<' => return None,
            None => {}
        }
        j += 1;
    }
    None
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    (0..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Returns whether `s` contains at least one tag of common email HTML.
pub(crate) fn looks_like_html(s: &str) -> bool {
    tokenize(s).iter().any(|t| match t {
        Token::Tag { name, .. } => COMMON.contains(&name.as_str()),
        _ => false,
    })
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Decodes character references: numeric ones and the named ones email HTML uses. An unknown
/// named reference becomes a space: it is markup, not words.
pub(crate) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '#')).map(|e| e + 1);
        match end {
            Some(end) if end > 1 && rest.as_bytes()[end] == b';' => {
                let name = &rest[1..end];
                match decode_one(name) {
                    Some(c) => out.push(c),
                    None if name.starts_with('#') => out.push_str(&rest[..=end]),
                    None => out.push(' '),
                }
                rest = &rest[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_one(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "pound" => '£',
        "middot" => '·',
        "bull" => '•',
        "iexcl" => '¡',
        "iquest" => '¿',
        "aacute" => 'á',
        "eacute" => 'é',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "ntilde" => 'ñ',
        "uuml" => 'ü',
        "Aacute" => 'Á',
        "Eacute" => 'É',
        "Iacute" => 'Í',
        "Oacute" => 'Ó',
        "Uacute" => 'Ú',
        "Ntilde" => 'Ñ',
        "ccedil" => 'ç',
        "agrave" => 'à',
        "egrave" => 'è',
        "auml" => 'ä',
        "ouml" => 'ö',
        "szlig" => 'ß',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<String> {
        tokenize(s)
            .into_iter()
            .map(|t| match t {
                Token::Text(r) => format!("T:{}", &s[r]),
                Token::Tag { name, closing, self_closing, .. } => {
                    format!("{}{}{}", if closing { "/" } else { "" }, name, if self_closing { "/" } else { "" })
                }
                Token::Opaque(r) => format!("O:{}", &s[r]),
            })
            .collect()
    }

    #[test]
    fn tokenizes_tags_text_comments_and_raw_content() {
        assert_eq!(
            names("<P class=\"a>b\">Hi<br>x<!-- c --><style>p[x]{}</style></p>"),
            ["p", "T:Hi", "br/", "T:x", "O:<!-- c -->", "style", "O:p[x]{}", "/style", "/p"]
        );
        assert_eq!(names("a < b and c<3 <x"), ["T:a < b and c<3 <x"]);
    }

    #[test]
    fn decodes_and_escapes() {
        assert_eq!(decode_entities("a&amp;b &lt;x&gt; &#233;&#xE9; &bogus; & ;"), "a&b <x> éé   & ;");
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn recognises_html() {
        assert!(looks_like_html("<p>Hi</p>"));
        assert!(looks_like_html("Line<br/>line"));
        assert!(!looks_like_html("if x<y and z>w"));
        assert!(!looks_like_html("plain text"));
    }
}
