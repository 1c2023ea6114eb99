//! The new part of a plain-text reply: quoted history (`>` blocks, "On … wrote:" lines in the
//! common languages, Outlook's "From:/Sent:" header blocks, forwarded-message separators) and
//! the signature (`-- ` delimiter, mobile sign-offs) removed.
//!
//! Written here rather than taken from a crate: the Rust ports of GitHub's and Zapier's
//! `email_reply_parser` (the `email_reply_parser` crate, 0.1.x) handle English "On … wrote:"
//! and `>` blocks only, and nothing maintained handles HTML or Outlook header blocks. The
//! behaviour follows talon's and email_reply_parser's published rules and is pinned by the
//! fixture corpus in `crates/core/tests/fixtures/replies/`.

use super::patterns::{is_attribution, is_header_from, is_header_other, is_mobile_signature, is_separator};

/// The most text looked at, in bytes: the new part of a reply is at its start.
pub const TEXT_SCAN_MAX: usize = 512 * 1024;

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn next_nonblank(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&i| !lines[i].trim().is_empty())
}

/// The attribution line starting at `i`, joined with up to two following lines (clients wrap
/// long ones): returns how many lines it spans.
fn attribution_at(lines: &[&str], i: usize, loose: bool) -> Option<usize> {
    let mut joined = String::new();
    for n in 0..3 {
        let Some(line) = lines.get(i + n) else { break };
        if line.trim().is_empty() || is_quoted(line) {
            break;
        }
        if n > 0 {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if is_attribution(&joined) {
            return Some(n + 1);
        }
        if loose && n == 0 {
            let t = joined.trim_end();
            if (t.ends_with(':') || t.ends_with('：')) && t.chars().count() <= 250 {
                return Some(1);
            }
        }
    }
    None
}

/// Tells whether an Outlook-style header block ("From: …" then "Sent:", "To:", "Subject:")
/// starts at `i`.
fn header_block_at(lines: &[&str], i: usize) -> bool {
    if !is_header_from(lines[i]) {
        return false;
    }
    let others = lines.iter().skip(i + 1).take(6).filter(|l| is_header_other(l)).count();
    others >= 2
}

/// Where the unquoted history starts, if it does: a forward/original-message separator, an
/// Outlook header block, or an attribution line not followed by `>` lines.
fn history_start(lines: &[&str]) -> Option<usize> {
    for i in 0..lines.len() {
        let line = lines[i];
        if line.trim().is_empty() || is_quoted(line) {
            continue;
        }
        if is_separator(line) {
            let underscores = line.trim().starts_with('_');
            if !underscores || next_nonblank(lines, i + 1).is_some_and(|j| header_block_at(lines, j)) {
                return Some(i);
            }
        }
        if header_block_at(lines, i) {
            return Some(i);
        }
        if let Some(span) = attribution_at(lines, i, false) {
            let after = next_nonblank(lines, i + span);
            if after.is_none_or(|j| !is_quoted(lines[j])) {
                return Some(i);
            }
        }
    }
    None
}

/// Returns `text` without a trailing mobile sign-off ("Sent from my iPhone"), with the
/// sign-off line, when it ends with one.
pub fn strip_mobile_signature(text: &str) -> Option<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let nonblank: Vec<usize> = (0..lines.len()).filter(|&i| !lines[i].trim().is_empty()).collect();
    for &i in nonblank.iter().rev().take(3) {
        if is_mobile_signature(lines[i]) {
            let after: usize = lines[i + 1..].iter().map(|l| l.trim().len()).sum();
            if after <= 80 {
                return Some((tidy(&lines[..i]), lines[i].trim().to_string()));
            }
        }
    }
    None
}

/// Drops trailing white space of each line, folds runs of blank lines and trims the ends.
fn tidy(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut blank = false;
    for line in lines {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(line);
    }
    out
}

/// Returns the new content of a plain-text message body.
pub fn extract_text(body: &str) -> String {
    let mut end = body.len().min(TEXT_SCAN_MAX);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let body = &body[..end];
    let normalized;
    let body = if body.contains('\r') {
        normalized = body.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        body
    };
    let all: Vec<&str> = body.split('\n').collect();
    let lines = match history_start(&all) {
        Some(i) => &all[..i],
        None => &all[..],
    };
    // Quoted blocks and the attribution lines that introduce them.
    let mut kept: Vec<&str> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_quoted(line) {
            i += 1;
            continue;
        }
        if !line.trim().is_empty()
            && let Some(span) = attribution_at(lines, i, true)
            && next_nonblank(lines, i + span).is_some_and(|j| is_quoted(lines[j]))
        {
            i += span;
            continue;
        }
        kept.push(line);
        i += 1;
    }
    // The signature: from a `-- ` delimiter line on.
    let first_content = kept.iter().position(|l| !l.trim().is_empty());
    if let Some(first) = first_content
        && let Some(d) = kept.iter().enumerate().skip(first + 1).find(|(_, l)| matches!(l.trim_end(), "--" | "-- " | "—" | "__")).map(|(i, _)| i)
    {
        kept.truncate(d);
    }
    let text = tidy(&kept);
    match strip_mobile_signature(&text) {
        Some((stripped, _)) => stripped,
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_posted_gmail_reply() {
        let body = "Sounds good, see you then.\n\nOn Mon, Mar 4, 2024 at 9:12 AM Ana Ruiz <ana@example.com> wrote:\n\n> Can we meet Tuesday?\n> Ana\n";
        assert_eq!(extract_text(body), "Sounds good, see you then.");
    }

    #[test]
    fn wrapped_attribution() {
        let body = "Yes.\n\nOn Mon, Mar 4, 2024 at 9:12 AM Ana Ruiz <\nana@example.com> wrote:\n> Can we meet?\n";
        assert_eq!(extract_text(body), "Yes.");
    }

    #[test]
    fn bottom_posted_reply() {
        let body = "On 04/03/2024 09:12, Ana Ruiz wrote:\n> Can we meet Tuesday?\n\nTuesday works.\n-- \nBob\n";
        assert_eq!(extract_text(body), "Tuesday works.");
    }

    #[test]
    fn outlook_header_block() {
        let body = "Approved.\n\nFrom: Ana Ruiz <ana@example.com>\nSent: Monday, March 4, 2024 9:12 AM\nTo: Bob <bob@example.com>\nSubject: Budget\n\nPlease approve.";
        assert_eq!(extract_text(body), "Approved.");
    }

    #[test]
    fn plain_text_without_history_is_unchanged() {
        assert_eq!(extract_text("Hello,\n\nthe report is attached.\n\nRegards,\nBob"), "Hello,\n\nthe report is attached.\n\nRegards,\nBob");
    }
}
