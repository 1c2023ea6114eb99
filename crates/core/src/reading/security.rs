//! Deterministic checks of untrusted content: hidden HTML text, invisible Unicode, text that
//! speaks to an AI or looks like a tool call, links whose text names another site, and a
//! hosted domain claimed by mail that failed DMARC. Each finding is a [`SecurityFlag`] with a
//! reason a person (or a model) can read.

use super::html::HtmlScan;
use super::patterns::{ai_addressing, excerpt};
use super::{FlagKind, Security, SecurityFlag, Severity, invisible_kind};

/// How much hidden text is still a marketing "preheader" (low severity) rather than a payload.
const PREHEADER_MAX: usize = 200;

fn flag(kind: FlagKind, severity: Severity, location: &str, reason: String, excerpt: Option<String>) -> SecurityFlag {
    SecurityFlag { kind, severity, location: location.to_string(), reason, excerpt }
}

/// Counts the invisible characters of `text` that matter, by kind, with the first position.
fn invisible_findings(text: &str) -> Vec<(&'static str, usize, usize)> {
    // Every character `invisible_kind` names is outside ASCII.
    if text.is_ascii() {
        return Vec::new();
    }
    let mut found: Vec<(&'static str, usize, usize)> = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (n, &(pos, c)) in chars.iter().enumerate() {
        let Some(kind) = invisible_kind(c) else { continue };
        let prev = n.checked_sub(1).map(|i| chars[i].1);
        let next = chars.get(n + 1).map(|x| x.1);
        let between_letters = prev.is_some_and(|p| p.is_ascii_alphanumeric()) && next.is_some_and(|q| q.is_ascii_alphanumeric());
        let counts = match kind {
            // Emoji sequences (ZWJ) and Persian/Indic writing (ZWNJ) use joiners: only a
            // joiner inside a Latin word is suspicious.
            "zero-width joiner" => between_letters,
            // The BOM is legitimate at the start.
            "zero-width space" if c == '\u{feff}' && pos == 0 => false,
            // Subdivision flags (England, Scotland, Wales) are tag characters after U+1F3F4.
            "tag character" => !flag_sequence(&chars, n),
            "direction mark" | "soft hyphen" | "variation selector" => false,
            _ => true,
        };
        if !counts {
            continue;
        }
        match found.iter_mut().find(|f| f.0 == kind) {
            Some(f) => f.1 += 1,
            None => found.push((kind, 1, pos)),
        }
    }
    found
}

/// Tells whether the tag character at `n` belongs to a subdivision flag (U+1F3F4 then tags).
fn flag_sequence(chars: &[(usize, char)], n: usize) -> bool {
    let mut i = n;
    while i > 0 {
        i -= 1;
        match chars[i].1 {
            '\u{1F3F4}' => return true,
            c if invisible_kind(c) == Some("tag character") => continue,
            _ => return false,
        }
    }
    false
}

fn invisible_flags(text: &str, location: &str, out: &mut Vec<SecurityFlag>) {
    for (kind, count, pos) in invisible_findings(text) {
        let (severity, what) = match kind {
            "tag character" => (Severity::High, "Unicode tag characters (invisible text that models read)"),
            "bidi control" => (Severity::Medium, "bidirectional control characters (text shown in another order than it is read)"),
            "zero-width joiner" => (Severity::Medium, "zero-width joiners inside words"),
            "variation selector supplement" if count >= 4 => (Severity::Medium, "runs of invisible variation selectors (hidden data)"),
            "variation selector supplement" => continue,
            _ if count >= 3 || kind == "filler" => (Severity::Medium, "zero-width or invisible characters"),
            _ => {
                // One or two stray zero-width spaces are common in pasted text; inside a word
                // they split it from filters, which is the trick.
                let inside_word = text[pos..].chars().nth(1).is_some_and(|c| c.is_alphanumeric())
                    && text[..pos].chars().next_back().is_some_and(|c| c.is_alphanumeric());
                if !inside_word {
                    continue;
                }
                (Severity::Medium, "zero-width characters inside words")
            }
        };
        out.push(flag(
            FlagKind::InvisibleUnicode,
            severity,
            location,
            format!("{count} {what} in the {}", location_name(location)),
            Some(excerpt(text, pos, pos)),
        ));
    }
}

fn location_name(location: &str) -> &'static str {
    match location {
        "subject" => "subject",
        "text" => "text body",
        "html" => "HTML body",
        "hidden_html" => "hidden part of the HTML body",
        "body" => "body",
        "links" => "links",
        _ => "message",
    }
}

fn ai_flags(text: &str, location: &str, hidden: bool, out: &mut Vec<SecurityFlag>) {
    for (name, ex) in ai_addressing(text) {
        if out.iter().any(|f| f.kind == FlagKind::AiInstructions && f.reason.starts_with(&format!("\"{name}\""))) {
            continue;
        }
        let tool = name == "tool-call-looking content";
        let severity = match (hidden, tool, name) {
            (true, _, _) => Severity::High,
            (false, true, _) => Severity::Medium,
            (false, false, "addresses the AI") => Severity::Medium,
            _ => Severity::High,
        };
        out.push(flag(
            FlagKind::AiInstructions,
            severity,
            location,
            format!(
                "\"{name}\": text in the {} {}",
                location_name(location),
                if tool { "looks like a tool or function call" } else { "addresses an AI model or tries to change its instructions" }
            ),
            Some(ex),
        ));
    }
}

/// The registrable part of a host, approximately (the last two labels, three under a short
/// second-level such as `co.uk`).
fn base_domain(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    if labels.len() <= 2 {
        return labels.join(".");
    }
    let n = labels.len();
    let sld = labels[n - 2];
    let take = if labels[n - 1].len() == 2 && matches!(sld, "co" | "com" | "org" | "net" | "gov" | "ac" | "edu" | "ne" | "or" | "go") { 3 } else { 2 };
    labels[n - take.min(n)..].join(".")
}

/// The host a link's visible text names, when the text is a URL or a bare domain.
fn text_host(text: &str) -> Option<String> {
    let t = text.trim().trim_end_matches(['.', ',', ')']).trim_start_matches('(');
    if t.is_empty() || t.contains(char::is_whitespace) || t.contains('@') {
        return None;
    }
    let rest = t.strip_prefix("https://").or_else(|| t.strip_prefix("http://")).unwrap_or(t);
    let host = rest.split(['/', '?', '#', ':']).next()?;
    let labels: Vec<&str> = host.split('.').collect();
    let tld = labels.last()?;
    if labels.len() < 2 || tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    if !labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-')) {
        return None;
    }
    // "v1.2" or "file.pdf" are not hosts people read as sites.
    if matches!(tld.to_ascii_lowercase().as_str(), "pdf" | "doc" | "docx" | "xlsx" | "txt" | "csv" | "png" | "jpg" | "zip") {
        return None;
    }
    Some(host.to_ascii_lowercase())
}

fn href_host(href: &str) -> Option<String> {
    let lower = href.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    (!host.is_empty()).then(|| host.to_string())
}

fn link_flags(scan: &HtmlScan, out: &mut Vec<SecurityFlag>) {
    let mut mismatches = Vec::new();
    for link in &scan.links {
        let Some(shown) = text_host(&link.text) else { continue };
        let lower = link.href.trim().to_ascii_lowercase();
        if lower.starts_with("javascript:") || lower.starts_with("data:") {
            mismatches.push(format!("\"{}\" runs {}", link.text, lower.split(':').next().unwrap_or_default()));
            continue;
        }
        let Some(target) = href_host(&link.href) else { continue };
        if base_domain(&shown) != base_domain(&target) {
            mismatches.push(format!("\"{}\" goes to {}", link.text.chars().take(80).collect::<String>(), target));
        }
    }
    if !mismatches.is_empty() {
        let n = mismatches.len();
        out.push(flag(
            FlagKind::LinkMismatch,
            Severity::Medium,
            "links",
            format!("{n} link{} whose text names one site but whose target is another", if n == 1 { "" } else { "s" }),
            Some(mismatches.into_iter().take(3).collect::<Vec<_>>().join("; ")),
        ));
    }
}

fn hidden_flags(scan: &HtmlScan, out: &mut Vec<SecurityFlag>) {
    let meaningful: Vec<_> = scan.hidden.iter().filter(|h| h.text.chars().filter(|c| c.is_alphanumeric()).count() >= 3).collect();
    if meaningful.is_empty() {
        return;
    }
    let total: usize = meaningful.iter().map(|h| h.text.chars().count()).sum();
    let mut whys: Vec<&str> = Vec::new();
    for h in &meaningful {
        if !whys.contains(&h.why.as_str()) {
            whys.push(&h.why);
        }
    }
    // A short hidden run before any visible text is the usual newsletter "preheader" (the
    // line mail clients show in the inbox list): worth knowing, not alarming. Hidden text
    // anywhere else, or more of it, is.
    let preheader = meaningful.len() == 1 && meaningful[0].leading && total <= PREHEADER_MAX;
    let severity = if preheader { Severity::Low } else { Severity::Medium };
    let first = &meaningful[0].text;
    out.push(flag(
        FlagKind::HiddenText,
        severity,
        "hidden_html",
        format!("{total} characters of text a reader does not see ({})", whys.join(", ")),
        Some(excerpt(first, 0, first.len().min(120))),
    ));
    for h in &meaningful {
        ai_flags(&h.text, "hidden_html", true, out);
    }
}

/// Runs every content check on a message's subject, text body and scanned HTML body.
pub fn check(subject: Option<&str>, text: Option<&str>, html: Option<&HtmlScan>) -> Security {
    let mut flags = Vec::new();
    if let Some(html) = html {
        hidden_flags(html, &mut flags);
    }
    if let Some(s) = subject {
        invisible_flags(s, "subject", &mut flags);
        ai_flags(s, "subject", false, &mut flags);
    }
    if let Some(t) = text {
        let mut end = t.len().min(super::reply::TEXT_SCAN_MAX);
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        invisible_flags(&t[..end], "text", &mut flags);
        ai_flags(&t[..end], "body", false, &mut flags);
    }
    if let Some(html) = html {
        if !flags.iter().any(|f| f.kind == FlagKind::InvisibleUnicode && f.location == "text") {
            invisible_flags(&html.visible_text, "html", &mut flags);
        }
        for h in &html.hidden {
            if !flags.iter().any(|f| f.kind == FlagKind::InvisibleUnicode && f.location == "hidden_html") {
                invisible_flags(&h.text, "hidden_html", &mut flags);
            }
        }
        ai_flags(&html.visible_text, "body", false, &mut flags);
        link_flags(html, &mut flags);
    }
    Security::from_flags(flags)
}

/// The flag for mail that failed DMARC while its `From` names a domain this server hosts.
pub fn dmarc_hosted_flag(domain: &str, verdict: &str) -> SecurityFlag {
    flag(
        FlagKind::DmarcFailHostedDomain,
        Severity::High,
        "auth",
        format!("the sender claims {domain}, a domain this server hosts, but DMARC says `{verdict}`: the From address is probably forged"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_domains() {
        assert_eq!(base_domain("www.paypal.com"), "paypal.com");
        assert_eq!(base_domain("login.bank.co.uk"), "bank.co.uk");
        assert_eq!(text_host("https://www.bank.test/login"), Some("www.bank.test".into()));
        assert_eq!(text_host("report.pdf"), None);
        assert_eq!(text_host("Click here"), None);
    }

    #[test]
    fn emoji_and_flags_are_not_invisible_tricks() {
        assert!(invisible_findings("family 👨\u{200d}👩\u{200d}👧 and 🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}").is_empty());
        assert!(!invisible_findings("ig\u{200d}nore").is_empty());
        assert!(!invisible_findings("a \u{e0049}\u{e0067}").is_empty());
    }
}
