//! The untrusted-content checks against two fixture sets: `planted/` (each file plants one
//! trick; `NAME.expect` lists the flag kinds it must raise) and `ordinary/` (business mail that
//! must raise no flag of medium severity or above). Prints the detection and false-positive
//! rates (`cargo test -p mailroom-core --test security -- --nocapture`).
//!
//! Each fixture is `Subject: …`, a blank line, then a text (`.txt`) or HTML (`.html`) body.

use mailroom_core::reading::{Security, Severity, html, security};
use std::path::{Path, PathBuf};

fn load(path: &Path) -> Security {
    let raw = std::fs::read_to_string(path).unwrap();
    let (head, body) = raw.split_once("\n\n").unwrap();
    let subject = head.strip_prefix("Subject: ").unwrap();
    if path.extension().unwrap() == "html" {
        let scan = html::scan(body);
        security::check(Some(subject), None, Some(&scan))
    } else {
        security::check(Some(subject), Some(body), None)
    }
}

fn files(set: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/security").join(set);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e != "expect")).collect();
    v.sort();
    v
}

fn kind(f: &mailroom_core::reading::SecurityFlag) -> String {
    serde_json::to_value(f.kind).unwrap().as_str().unwrap().to_string()
}

#[test]
fn planted_tricks_are_flagged_and_ordinary_mail_is_not() {
    let planted = files("planted");
    let ordinary = files("ordinary");
    assert!(planted.len() >= 20 && ordinary.len() >= 20, "fixture sets too small");
    let mut missed = Vec::new();
    for path in &planted {
        let s = load(path);
        let kinds: Vec<String> = s.flags.iter().map(kind).collect();
        let expected = std::fs::read_to_string(path.with_extension("expect")).unwrap();
        for want in expected.lines().filter(|l| !l.is_empty()) {
            if !kinds.iter().any(|k| k == want) {
                missed.push(format!("{}: no `{want}` flag (got {:?})", path.file_name().unwrap().to_string_lossy(), s.flags));
            }
        }
        if s.level < Severity::Medium {
            missed.push(format!("{}: level {:?}", path.file_name().unwrap().to_string_lossy(), s.level));
        }
    }
    let mut false_positives = Vec::new();
    let mut any_flag = 0;
    for path in &ordinary {
        let s = load(path);
        if !s.flags.is_empty() {
            any_flag += 1;
        }
        if s.level >= Severity::Medium {
            false_positives.push(format!("{}: {:?}", path.file_name().unwrap().to_string_lossy(), s.flags));
        }
    }
    let detected = planted.len() - missed.iter().map(|m| m.split(':').next().unwrap().to_string()).collect::<std::collections::HashSet<_>>().len();
    println!(
        "untrusted-content checks: planted {detected}/{} detected ({:.0}%); ordinary {}/{} flagged at medium or above ({:.0}%), {any_flag}/{} with any flag",
        planted.len(),
        100.0 * detected as f64 / planted.len() as f64,
        false_positives.len(),
        ordinary.len(),
        100.0 * false_positives.len() as f64 / ordinary.len() as f64,
        ordinary.len()
    );
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
    assert!(false_positives.is_empty(), "false positives:\n{}", false_positives.join("\n"));
}
