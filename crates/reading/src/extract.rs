//! Attachment content to text, with libraries made for each format: `pdf-extract` (on
//! `lopdf`) for PDF, `zip` + `quick-xml` for DOCX (`word/document.xml`), `icalendar`'s parser
//! for `.ics`, Mailroom's HTML scan (visible text only) for HTML; text and CSV are decoded.
//!
//! Parsers of untrusted files can hang or panic, so [`extract`] runs one on its own thread
//! under `catch_unwind`, waits at most the time limit, and caps the output. A thread past its
//! deadline cannot be stopped; it is abandoned (its job fails with a timeout) and counted, and
//! no new extraction starts while [`MAX_THREADS`] are running, so a hostile file costs at most
//! that many cores until it ends.

use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The most extraction threads running at once (abandoned ones included).
pub const MAX_THREADS: usize = 2;

static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Bounds of one extraction.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Larger attachments are not parsed (`failed`).
    pub max_input: usize,
    /// The most text kept, in bytes; the rest is cut (`truncated`).
    pub max_output: usize,
    /// The longest a parser may run.
    pub timeout: Duration,
    /// The most bytes a DOCX's `word/document.xml` may inflate to (zip bombs).
    pub max_inflated: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_input: 25 * 1024 * 1024, max_output: 1024 * 1024, timeout: Duration::from_secs(20), max_inflated: 64 * 1024 * 1024 }
    }
}

/// The formats text is extracted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `application/pdf`.
    Pdf,
    /// Word's Office Open XML.
    Docx,
    /// `text/plain` and other plain text.
    Text,
    /// `text/html`.
    Html,
    /// `text/csv`.
    Csv,
    /// `text/calendar`.
    Calendar,
}

/// Names the format of an attachment from its type, or its file name when the type is generic.
pub fn kind(content_type: &str, filename: Option<&str>) -> Option<Kind> {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let ext = filename.and_then(|f| f.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let by_type = match essence.as_str() {
        "application/pdf" | "application/x-pdf" => Some(Kind::Pdf),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Some(Kind::Docx),
        "text/html" | "application/xhtml+xml" => Some(Kind::Html),
        "text/csv" | "application/csv" | "application/x-csv" | "text/tab-separated-values" => Some(Kind::Csv),
        "text/calendar" | "application/ics" => Some(Kind::Calendar),
        t if t.starts_with("text/") => Some(Kind::Text),
        "application/json" | "application/xml" | "application/x-yaml" | "application/yaml" => Some(Kind::Text),
        _ => None,
    };
    by_type.or(match ext.as_str() {
        "pdf" => Some(Kind::Pdf),
        "docx" => Some(Kind::Docx),
        "html" | "htm" => Some(Kind::Html),
        "csv" | "tsv" => Some(Kind::Csv),
        "ics" => Some(Kind::Calendar),
        "txt" | "md" | "log" | "json" | "xml" | "yaml" | "yml" | "eml" => Some(Kind::Text),
        _ => None,
    })
}

/// What an extraction gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The text, and whether it was cut at the output limit.
    Text(String, bool),
    /// The file could not be read (corrupt, encrypted, panicked parser); retrying will not help.
    Failed(String),
    /// The parser ran past the time limit.
    TimedOut,
    /// Too many extraction threads are running; try again later.
    Busy,
}

/// Decodes text: UTF-8 (BOM dropped), UTF-16 with a BOM, else Latin-1-ish lossy UTF-8.
fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let utf16 = |le: bool, b: &[u8]| {
        let units: Vec<u16> = b.chunks_exact(2).map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) }).collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(true, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(false, rest);
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// Folds runs of blank lines and trailing spaces.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

fn docx(bytes: &[u8], max_inflated: u64) -> Result<String, String> {
    use quick_xml::events::Event;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a DOCX (zip) file: {e}"))?;
    let mut xml = Vec::new();
    {
        let part = archive.by_name("word/document.xml").map_err(|_| "not a DOCX file: word/document.xml is missing".to_string())?;
        part.take(max_inflated + 1).read_to_end(&mut xml).map_err(|e| format!("cannot inflate word/document.xml: {e}"))?;
    }
    if xml.len() as u64 > max_inflated {
        return Err(format!("word/document.xml inflates past {} MB", max_inflated / (1024 * 1024)));
    }
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut out = String::new();
    let mut in_text = false;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).map_err(|e| format!("word/document.xml is not valid XML: {e}"))? {
            Event::Start(e) if e.name().as_ref() == b"w:t" => in_text = true,
            Event::End(e) if e.name().as_ref() == b"w:t" => in_text = false,
            Event::End(e) if e.name().as_ref() == b"w:p" => out.push('\n'),
            Event::Empty(e) if matches!(e.name().as_ref(), b"w:tab") => out.push('\t'),
            Event::Empty(e) if matches!(e.name().as_ref(), b"w:br" | b"w:cr") => out.push('\n'),
            Event::End(e) if e.name().as_ref() == b"w:tc" => out.push('\t'),
            Event::Text(t) if in_text => {
                let raw = String::from_utf8_lossy(t.as_ref()).into_owned();
                out.push_str(&quick_xml::escape::unescape(&raw).map(|c| c.into_owned()).unwrap_or(raw));
            }
            Event::GeneralRef(r) if in_text => {
                let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                match name.as_str() {
                    "amp" => out.push('&'),
                    "lt" => out.push('<'),
                    "gt" => out.push('>'),
                    "quot" => out.push('"'),
                    "apos" => out.push('\''),
                    n => {
                        let code = n.strip_prefix("#x").map(|h| u32::from_str_radix(h, 16)).or_else(|| n.strip_prefix('#').map(str::parse::<u32>));
                        if let Some(c) = code.and_then(Result::ok).and_then(char::from_u32) {
                            out.push(c);
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

fn calendar(bytes: &[u8]) -> Result<String, String> {
    let unfolded = icalendar::parser::unfold(&decode(bytes));
    let cal = icalendar::parser::read_calendar(&unfolded).map_err(|e| format!("not a valid iCalendar file: {}", e.lines().next().unwrap_or_default()))?;
    let mut out = String::new();
    fn walk(c: &icalendar::parser::Component<'_>, out: &mut String) {
        let label = match c.name.as_ref() {
            "VEVENT" => Some("Event"),
            "VTODO" => Some("To-do"),
            "VJOURNAL" => Some("Journal"),
            _ => None,
        };
        if let Some(label) = label {
            out.push_str(label);
            out.push('\n');
            for p in &c.properties {
                let name = match p.name.as_ref() {
                    "SUMMARY" => "Summary",
                    "DTSTART" => "Starts",
                    "DTEND" => "Ends",
                    "DUE" => "Due",
                    "LOCATION" => "Location",
                    "ORGANIZER" => "Organizer",
                    "ATTENDEE" => "Attendee",
                    "DESCRIPTION" => "Description",
                    "STATUS" => "Status",
                    "URL" => "URL",
                    "RRULE" => "Repeats",
                    _ => continue,
                };
                let value = p.val.as_ref().replace("\\n", "\n").replace("\\N", "\n").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\");
                let value = value.strip_prefix("mailto:").or_else(|| value.strip_prefix("MAILTO:")).unwrap_or(&value).to_string();
                let tz = p.params.iter().find(|x| x.key.as_ref() == "TZID").and_then(|x| x.val.as_ref()).map(|v| format!(" ({})", v.as_ref())).unwrap_or_default();
                out.push_str(&format!("{name}: {value}{tz}\n"));
            }
            out.push('\n');
        }
        for child in &c.components {
            walk(child, out);
        }
    }
    for c in &cal.components {
        walk(c, &mut out);
    }
    Ok(out)
}

/// Extracts text on the calling thread (no time limit): use [`extract`].
pub fn extract_now(kind: Kind, bytes: &[u8], limits: &Limits) -> Result<String, String> {
    let text = match kind {
        Kind::Pdf => pdf_extract::extract_text_from_mem(bytes).map_err(|e| format!("cannot read the PDF: {e}"))?,
        Kind::Docx => docx(bytes, limits.max_inflated)?,
        Kind::Text | Kind::Csv => decode(bytes),
        Kind::Html => mailroom_core::reading::html::scan(&decode(bytes)).visible_text,
        Kind::Calendar => calendar(bytes)?,
    };
    Ok(tidy(&text))
}

/// Cuts `text` to `max` bytes at a character boundary; tells whether it cut.
pub fn cap(mut text: String, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    (text, true)
}

/// Extracts the text of an attachment of `kind` on its own thread, within `limits`.
pub async fn extract(kind: Kind, bytes: bytes::Bytes, limits: Limits) -> Outcome {
    if RUNNING.fetch_add(1, Ordering::SeqCst) >= MAX_THREADS {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        return Outcome::Busy;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let timeout = limits.timeout;
    let spawned = std::thread::Builder::new().name("attachment-text".into()).spawn(move || {
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| extract_now(kind, &bytes, &limits)));
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        let outcome = match result {
            Ok(Ok(text)) => {
                let (text, cut) = cap(text, limits.max_output);
                Outcome::Text(text, cut)
            }
            Ok(Err(why)) => Outcome::Failed(why),
            Err(panic) => {
                let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
                Outcome::Failed(format!("the parser crashed on this file{}", if what.is_empty() { String::new() } else { format!(": {}", what.chars().take(200).collect::<String>()) }))
            }
        };
        let _ = tx.send(outcome);
    });
    if let Err(e) = spawned {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        return Outcome::Failed(format!("could not start an extraction thread: {e}"));
    }
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => Outcome::Failed("the extraction thread ended without an answer".into()),
        Err(_) => Outcome::TimedOut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(kind("application/pdf", None), Some(Kind::Pdf));
        assert_eq!(kind("application/octet-stream", Some("Invite.ICS")), Some(Kind::Calendar));
        assert_eq!(kind("text/csv; charset=utf-8", None), Some(Kind::Csv));
        assert_eq!(kind("image/png", Some("x.png")), None);
    }

    #[test]
    fn calendar_text() {
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Quarterly review\r\nDTSTART;TZID=Europe/Madrid:20240312T100000\r\nLOCATION:Room 4\r\nDESCRIPTION:Bring the\\, budget\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let t = extract_now(Kind::Calendar, ics.as_bytes(), &Limits::default()).unwrap();
        assert!(t.contains("Summary: Quarterly review"), "{t}");
        assert!(t.contains("Starts: 20240312T100000 (Europe/Madrid)"), "{t}");
        assert!(t.contains("Description: Bring the, budget"), "{t}");
    }

    #[test]
    fn html_gives_visible_text_only() {
        let t = extract_now(Kind::Html, b"<p>Hello</p><p style=\"display:none\">secret</p>", &Limits::default()).unwrap();
        assert_eq!(t, "Hello");
    }

    #[test]
    fn output_is_capped() {
        assert_eq!(cap("héllo".into(), 2), ("h".into(), true));
    }
}
