//! A tiny aligned-table printer and the cell formatting shared by every noun.
//!
//! Tables are for people; `--json` is for programs. Ids are never shortened, so any id shown
//! can be pasted into the next command; free text (subjects, snippets) is clipped and has its
//! line breaks folded so each row stays on one line.

use chrono::{DateTime, Utc};

/// Columns are separated by this many spaces.
const GAP: &str = "  ";

/// Rows of text cells under a header row, printed with aligned columns.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Starts a table with these column headers.
    pub fn new<const N: usize>(headers: [&str; N]) -> Table {
        Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    /// Adds a row; it must have one cell per column.
    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(cells.len(), self.headers.len(), "a table row needs one cell per column");
        self.rows.push(cells.into_iter().map(|c| one_line(&c)).collect());
    }

    /// Renders the header and the rows, each line ending in a newline, without trailing
    /// spaces.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&self.headers).chain(&self.rows) {
            let mut text = String::new();
            for (i, (cell, w)) in line.iter().zip(&widths).enumerate() {
                if i > 0 {
                    text.push_str(GAP);
                }
                text.push_str(cell);
                text.extend(std::iter::repeat_n(' ', w - width(cell)));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Renders `label  value` lines with the values aligned, skipping nothing: pass `-` for
/// absent values so the reader sees the field exists.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let w = pairs.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        let pad = " ".repeat(w - width(k));
        out.push_str(format!("{k}{pad}{GAP}{}", one_line(v)).trim_end());
        out.push('\n');
    }
    out
}

/// Returns at most `max` characters of `s`, ending in `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if s.chars().count() > max => format!("{}…", &s[..i]),
        _ => s.to_string(),
    }
}

/// Formats a time as `2026-01-02 15:04:05` (UTC; headers say so).
pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Formats a time with its zone, for key-value blocks.
pub fn time_utc(t: &DateTime<Utc>) -> String {
    format!("{} UTC", time(t))
}

/// Returns the value or `-` when absent or empty.
pub fn or_dash(v: Option<&str>) -> String {
    match v {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "-".to_string(),
    }
}

/// Formats a byte count as `512 B`, `1.5 KB`, `3.2 MB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
    }
}

/// Folds line breaks, tabs and other control characters, with the white space around them
/// (as in a folded header, `a\r\n b`), into single spaces.
fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.split(|c: char| c.is_control() || c.is_whitespace()).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

fn width(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_without_trailing_spaces() {
        let mut t = Table::new(["ID", "NAME", "CREATED (UTC)"]);
        t.row(vec!["0190f5a0-0000-7000-8000-000000000001".into(), "a".into(), "2026-01-01 00:00:00".into()]);
        t.row(vec!["2".into(), "longer name".into(), "".into()]);
        assert_eq!(
            t.render(),
            "ID                                    NAME         CREATED (UTC)\n\
             0190f5a0-0000-7000-8000-000000000001  a            2026-01-01 00:00:00\n\
             2                                     longer name\n"
        );
    }

    #[test]
    fn cells_stay_on_one_line_and_count_characters_not_bytes() {
        let mut t = Table::new(["A", "B"]);
        t.row(vec!["héllo\r\nwörld".into(), "x".into()]);
        t.row(vec!["é".into(), "y".into()]);
        assert_eq!(t.render(), "A            B\nhéllo wörld  x\né            y\n");
    }

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn rows_must_match_the_header() {
        Table::new(["A", "B"]).row(vec!["x".into()]);
    }

    #[test]
    fn an_empty_table_is_just_its_header() {
        let t = Table::new(["ID", "NAME"]);
        assert_eq!(t.render(), "ID  NAME\n");
    }

    #[test]
    fn key_value_blocks_align() {
        assert_eq!(fields(&[("id", "1".into()), ("display name", "-".into())]), "id            1\ndisplay name  -\n");
    }

    #[test]
    fn clipping_counts_the_ellipsis() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abcd", 4), "abcd");
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("", 3), "");
    }

    #[test]
    fn sizes_and_times() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KB");
        assert_eq!(size(3 * 1_048_576), "3.0 MB");
        let t = DateTime::parse_from_rfc3339("2026-01-02T15:04:05.123Z").unwrap().with_timezone(&Utc);
        assert_eq!(time(&t), "2026-01-02 15:04:05");
        assert_eq!(time_utc(&t), "2026-01-02 15:04:05 UTC");
        assert_eq!(or_dash(None), "-");
        assert_eq!(or_dash(Some("")), "-");
    }
}
