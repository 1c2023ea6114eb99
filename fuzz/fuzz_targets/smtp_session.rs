//! The SMTP session as a client drives it: command lines, pipelining, DATA with dot-unstuffing
//! and the limits, over an in-memory pipe, in pieces of a fuzzed size. The handler behind it
//! asserts what the server must never hand over (bare CR/LF, oversize, no recipients).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else { return };
    let chunk = usize::from(first % 64) + 1;
    mailroom_smtp::fuzzing::session(input, chunk);
    mailroom_smtp::fuzzing::dot_round_trip(input, chunk);
});
