//! The inbound MIME path as Mailroom uses mail-parser: the bounded pre-scan, then the stored
//! fields (addresses, ids, text, HTML, headers, attachments, snippet).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailroom_core::mime::{self, MimeLimits};

fuzz_target!(|data: &[u8]| {
    let limits = MimeLimits { max_header_fields: 64, max_header_bytes: 4096, max_total_header_fields: 256, max_total_header_bytes: 16384, max_parts: 32, max_depth: 8 };
    if mime::check_limits(data, &limits).is_ok() {
        if let Ok(parsed) = mime::parse(data) {
            assert!(parsed.snippet.chars().count() <= 201);
            let _ = serde_json::to_vec(&parsed.headers);
        }
    }
    let _ = mime::parse(data);
});
