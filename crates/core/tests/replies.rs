//! The reply-extraction corpus: real-world reply shapes (Gmail, Outlook desktop and web,
//! Apple Mail, Thunderbird, Yahoo, Proton, mobile clients; top-posted, bottom-posted and
//! interleaved; English, French, German, Spanish, Italian, Portuguese, Dutch, Swedish, Polish,
//! Russian, Japanese, Chinese). Each `NAME.txt` (a text body) or `NAME.html` (an HTML body)
//! has `NAME.expected`: the new content a reader should get.

use mailroom_core::reading::{html, reply};
use std::path::Path;

#[test]
fn every_reply_shape_extracts_the_new_content() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replies");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e != "expected")).collect();
    names.sort();
    assert!(names.len() >= 40, "the corpus holds only {} shapes", names.len());
    let mut failures = Vec::new();
    for path in &names {
        let body = std::fs::read_to_string(path).unwrap();
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        let expected = expected.trim_end();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.extension().unwrap() == "html" {
            let scan = html::scan(&body);
            if scan.reply_text != expected {
                failures.push(format!("{name}: reply text\n--- got\n{}\n--- want\n{expected}", scan.reply_text));
                continue;
            }
            // The extracted HTML shows the same text when read again.
            let again = html::scan(&scan.reply_html).reply_text;
            if again != expected {
                failures.push(format!("{name}: extracted HTML reads\n{again}\n--- html\n{}", scan.reply_html));
            }
        } else {
            let got = reply::extract_text(&body);
            if got != expected {
                failures.push(format!("{name}\n--- got\n{got}\n--- want\n{expected}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} shapes failed:\n\n{}", failures.len(), names.len(), failures.join("\n\n"));
}
