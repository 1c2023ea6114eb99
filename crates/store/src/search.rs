//! Full-text search queries, parsed once here so every backend searches the same way.
//!
//! The user's text never reaches a database query language as syntax. It is cut into
//! *terms* at whitespace and each term into *tokens*: runs of letters and digits,
//! lower-cased. Everything else (quotes, `*`, `-`, `:`, `(`, `@`, `.`) only separates tokens,
//! and words such as `OR`, `NOT` or `NEAR` are plain words. A backend then matches a message
//! when it holds every term, each term's tokens side by side and in order (a phrase), and the
//! last token of the last term as a prefix (so results follow as the user types).
//!
//! The indexes split text the same way (SQLite's `unicode61` tokenizer; on PostgreSQL the
//! `simple` configuration after ASCII punctuation became spaces), so `alice@example.com`
//! is the phrase `alice example com` on both sides and finds that address.

/// The longest query the API accepts, in characters.
pub const MAX_QUERY_CHARS: usize = 500;

/// How many characters of a message's text body are indexed; the subject and the addresses
/// are indexed up to [`INDEXED_FIELD_CHARS`] each. Both backends cut at the same place, and
/// PostgreSQL needs the cut: a `tsvector` holds at most 1 MiB.
pub const INDEXED_BODY_CHARS: usize = 100_000;

/// How many characters of the subject, and of the sender and recipients, are indexed.
pub const INDEXED_FIELD_CHARS: usize = 10_000;

/// A parsed search query: terms that must all match, each a non-empty phrase of tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<Vec<String>>,
}

impl SearchQuery {
    /// Parses a user's query; never fails. A query without letters or digits has no terms
    /// and matches nothing.
    pub fn parse(query: &str) -> SearchQuery {
        let terms = query
            .split_whitespace()
            .map(|word| word.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_lowercase).collect::<Vec<_>>())
            .filter(|tokens| !tokens.is_empty())
            .collect();
        SearchQuery { terms }
    }

    /// Returns the terms, each a phrase of lower-cased tokens made of letters and digits
    /// only; the last token of the last term is meant as a prefix.
    pub fn terms(&self) -> &[Vec<String>] {
        &self.terms
    }

    /// Returns whether the query has no terms (and so matches nothing).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(q: &str) -> Vec<Vec<String>> {
        SearchQuery::parse(q).terms().to_vec()
    }

    #[test]
    fn words_become_terms_and_punctuation_splits_tokens() {
        assert_eq!(terms("Invoice  March"), vec![vec!["invoice"], vec!["march"]]);
        assert_eq!(terms("alice@Example.com"), vec![vec!["alice", "example", "com"]]);
        assert_eq!(terms("\"quoted phrase\""), vec![vec!["quoted"], vec!["phrase"]]);
        assert_eq!(terms("-not OR NEAR(a b) *x*"), vec![vec!["not"], vec!["or"], vec!["near", "a"], vec!["b"], vec!["x"]]);
        assert_eq!(terms("'; DROP TABLE messages; --"), vec![vec!["drop"], vec!["table"], vec!["messages"]]);
        assert_eq!(terms("Ünïcode 日本語 café"), vec![vec!["ünïcode"], vec!["日本語"], vec!["café"]]);
    }

    #[test]
    fn queries_without_letters_or_digits_are_empty() {
        for q in ["", "   ", "*", "- -- \"\" ()", "@.", "\u{0}"] {
            assert!(SearchQuery::parse(q).is_empty(), "{q:?}");
        }
    }
}
