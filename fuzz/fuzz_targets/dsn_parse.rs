//! Bounce reports (RFC 3464 delivery status notifications) as received over SMTP.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(dsn) = mailroom_core::dsn::parse(data) {
        for r in &dsn.recipients {
            let _ = r.is_hard_bounce();
        }
    }
});
