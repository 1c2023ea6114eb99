//! The search vector of an ASCII document, written by Mailroom as a `tsvector` literal.
//!
//! `to_tsvector('simple', doc)` runs PostgreSQL's text-search parser over the whole document,
//! a character at a time with locale calls: about 0.25 ms for the 5 KB body `bench/nodes.sh`
//! sends and 0.75 ms for 5 KB of English prose, the largest part of a received message's
//! INSERT. Reading the same vector as a literal (`'lexeme':1,2 …`) costs a fraction of that.
//!
//! The literal must be exactly what `to_tsvector('simple', doc)` gives, or a search would find
//! rows stored one way and not the other; it is only written for documents that are entirely
//! ASCII, where that is certain whatever the database's locale (with `lc_ctype = C`, the
//! parser reads every non-ASCII character as a letter; with a UTF-8 locale, per its class).
//! The search document has ASCII punctuation replaced by spaces, so the parser's tokens are
//! exactly the runs of ASCII letters and digits (words, numbers and mixes alike), and the
//! `simple` dictionary lower-cases them. As `to_tsvector` does, a token of 2,048 bytes or more
//! is skipped without taking a position, positions stop at 16,383, and each lexeme keeps its
//! first 255 positions. A test compares the two on the database (`tests/search.rs`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

/// The largest position a tsvector holds (PostgreSQL's `MAXENTRYPOS - 1`).
const MAX_POSITION: u32 = 16_383;
/// How many positions `to_tsvector` keeps per lexeme.
const MAX_POSITIONS: usize = 255;
/// Tokens this long or longer are not indexed (PostgreSQL's `MAXSTRLEN`).
const MAX_TOKEN_BYTES: usize = 2048;

/// Returns the `tsvector` literal equal to `to_tsvector('simple', doc)`, or `None` when `doc`
/// holds ASCII punctuation or any non-ASCII character (the database must tokenise it then).
pub fn ascii_literal(doc: &str) -> Option<String> {
    if !doc.is_ascii() || doc.bytes().any(|b| b.is_ascii_punctuation()) {
        return None;
    }
    // Positions only grow through the document, so each lexeme's list is already in order:
    // it keeps its first MAX_POSITIONS, and the capped last position once.
    let mut lexemes: HashMap<Cow<'_, str>, Vec<u32>> = HashMap::new();
    let mut position = 0u32;
    for token in doc.split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()) {
        if token.len() >= MAX_TOKEN_BYTES {
            continue;
        }
        position = (position + 1).min(MAX_POSITION);
        let lexeme = if token.bytes().any(|b| b.is_ascii_uppercase()) { Cow::Owned(token.to_ascii_lowercase()) } else { Cow::Borrowed(token) };
        let list = lexemes.entry(lexeme).or_default();
        if list.len() < MAX_POSITIONS && list.last() != Some(&position) {
            list.push(position);
        }
    }
    let mut out = String::with_capacity(doc.len() / 2);
    for (lexeme, list) in lexemes {
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "'{lexeme}':");
        for (i, p) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{p}");
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(literal: &str) -> Vec<(String, Vec<u32>)> {
        let mut v: Vec<(String, Vec<u32>)> = literal
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(|entry| {
                let (lexeme, list) = entry.rsplit_once(':').unwrap();
                (lexeme.trim_matches('\'').to_string(), list.split(',').map(|p| p.parse().unwrap()).collect())
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn tokens_are_runs_of_ascii_letters_and_digits_lower_cased() {
        let v = parsed(&ascii_literal("Hello  hello\r\nWORLD 1e10 abc123def\u{1}x").unwrap());
        assert_eq!(
            v,
            vec![
                ("1e10".into(), vec![4]),
                ("abc123def".into(), vec![5]),
                ("hello".into(), vec![1, 2]),
                ("world".into(), vec![3]),
                ("x".into(), vec![6])
            ]
        );
        assert_eq!(ascii_literal(""), Some(String::new()));
    }

    #[test]
    fn documents_the_database_must_tokenise_are_left_to_it() {
        assert_eq!(ascii_literal("caf\u{e9}"), None);
        assert_eq!(ascii_literal("don\u{2019}t"), None);
        assert_eq!(ascii_literal("a-b"), None);
    }

    #[test]
    fn bounds_match_to_tsvector() {
        let long = "y".repeat(2048);
        assert_eq!(parsed(&ascii_literal(&format!("a {long} b")).unwrap()), vec![("a".into(), vec![1]), ("b".into(), vec![2])]);
        let kept = "y".repeat(2047);
        assert_eq!(parsed(&ascii_literal(&kept).unwrap()), vec![(kept.clone(), vec![1])]);
        let w = parsed(&ascii_literal(&"w ".repeat(300)).unwrap());
        assert_eq!(w[0].1, (1..=255).collect::<Vec<_>>());
        let tail = parsed(&ascii_literal(&("q ".repeat(16_390) + "z y")).unwrap());
        assert_eq!(tail.iter().find(|(l, _)| l == "z").unwrap().1, vec![16_383]);
    }
}
