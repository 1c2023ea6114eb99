//! The client's `text/event-stream` parser, fed in pieces of fuzzed sizes: the same frames come
//! out whatever the chunking.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/client/src/sse.rs"]
mod sse;

use libfuzzer_sys::fuzz_target;

fn frames(data: &[u8], chunk: usize) -> Option<Vec<sse::Frame>> {
    let mut parser = sse::SseParser::new();
    let mut out = Vec::new();
    for piece in data.chunks(chunk) {
        parser.feed(piece, &mut out).ok()?;
    }
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else { return };
    let whole = frames(input, input.len().max(1));
    let pieces = frames(input, usize::from(first % 16) + 1);
    assert_eq!(whole, pieces, "chunking changed the frames");
});
