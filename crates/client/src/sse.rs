//! A parser for `text/event-stream` (the server-sent events format of the WHATWG HTML
//! standard), fed with chunks as they arrive from the network.
//!
//! Chunks may split a line, a CRLF pair or a UTF-8 character anywhere; lines end in CRLF, LF
//! or a lone CR; `:` lines are comments (heartbeats); `data:` lines accumulate and are joined
//! with `\n`; `id:` sets the last event id, which persists until the next `id:` line. An
//! event that was not finished by a blank line when the connection ended is never dispatched.

/// The most one event may hold (its pending line plus its data), so that a broken or hostile
/// stream cannot grow memory without bound.
pub(crate) const MAX_EVENT_BYTES: usize = 64 * 1024 * 1024;

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseMessage {
    /// The last event id at dispatch (empty when none was ever set, or it was reset).
    pub id: String,
    /// The `event:` type, `message` when the event named none.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// What a blank line produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// An event with data.
    Message(SseMessage),
    /// A block that only set the last event id (no data): the stream's position moved
    /// without an event to deliver.
    Id(String),
}

/// The stream broke the format's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooLarge;

/// Incremental `text/event-stream` parser; one per connection.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    /// The bytes of the line not yet ended.
    line: Vec<u8>,
    /// The previous chunk ended in CR, so an LF starting this one belongs to it.
    after_cr: bool,
    /// No line has been completed yet (a byte-order mark may start the stream).
    started: bool,
    data: String,
    has_data: bool,
    event: String,
    last_id: String,
    id_changed: bool,
}

impl SseParser {
    /// Returns a parser at the start of a stream.
    pub(crate) fn new() -> SseParser {
        SseParser::default()
    }

    /// Consumes one chunk and appends every frame it completes to `out`.
    pub(crate) fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), TooLarge> {
        let mut start = 0;
        for (i, &b) in chunk.iter().enumerate() {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    start = i + 1;
                    continue;
                }
            }
            if b == b'\n' || b == b'\r' {
                self.line.extend_from_slice(&chunk[start..i]);
                start = i + 1;
                self.after_cr = b == b'\r';
                let line = std::mem::take(&mut self.line);
                self.process_line(&line, out);
                self.check_size()?;
            }
        }
        self.line.extend_from_slice(&chunk[start..]);
        self.check_size()
    }

    fn check_size(&self) -> Result<(), TooLarge> {
        if self.line.len() + self.data.len() > MAX_EVENT_BYTES { Err(TooLarge) } else { Ok(()) }
    }

    fn process_line(&mut self, raw: &[u8], out: &mut Vec<Frame>) {
        let decoded = String::from_utf8_lossy(raw);
        let mut line: &str = &decoded;
        if !self.started {
            self.started = true;
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return; // a comment, such as the server's `:heartbeat`
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "id" if !value.contains('\0') => {
                self.last_id = value.to_string();
                self.id_changed = true;
            }
            // `retry` (a reconnection delay) is not honoured: the client's own backoff rules.
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Frame>) {
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            if std::mem::take(&mut self.id_changed) {
                out.push(Frame::Id(self.last_id.clone()));
            }
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the `\n` after the last data line
        self.has_data = false;
        self.id_changed = false;
        let event = if event.is_empty() { "message".to_string() } else { event };
        out.push(Frame::Message(SseMessage { id: self.last_id.clone(), event, data }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, event: &str, data: &str) -> Frame {
        Frame::Message(SseMessage { id: id.into(), event: event.into(), data: data.into() })
    }

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out).unwrap();
        }
        out
    }

    fn parse(text: &str) -> Vec<Frame> {
        parse_chunks(&[text.as_bytes()])
    }

    #[test]
    fn events_carry_id_type_and_data() {
        assert_eq!(
            parse("id: 7\nevent: message.received\ndata: {\"a\":1}\n\nid: 8\nevent: message.sent\ndata: {}\n\n"),
            vec![msg("7", "message.received", "{\"a\":1}"), msg("8", "message.sent", "{}")]
        );
    }

    #[test]
    fn data_lines_are_joined_with_newlines() {
        assert_eq!(parse("data: a\ndata:b\ndata:  c\ndata\n\n"), vec![msg("", "message", "a\nb\n c\n")]);
        // An empty `data:` still makes an event, with empty data.
        assert_eq!(parse("data:\n\n"), vec![msg("", "message", "")]);
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        assert_eq!(parse(":heartbeat\n\n: another\nfoo: bar\nretry: 10\ndata: x\n\n"), vec![msg("", "message", "x")]);
        // A comment-only block (the server's heartbeat) dispatches nothing.
        assert_eq!(parse(":heartbeat\n\n:heartbeat\n\n"), vec![]);
    }

    #[test]
    fn every_line_ending_is_accepted() {
        let want = vec![msg("1", "t", "a\nb")];
        assert_eq!(parse("id: 1\r\nevent: t\r\ndata: a\r\ndata: b\r\n\r\n"), want);
        assert_eq!(parse("id: 1\revent: t\rdata: a\rdata: b\r\r"), want);
        assert_eq!(parse("id: 1\nevent: t\r\ndata: a\rdata: b\n\r\n"), want);
    }

    #[test]
    fn chunks_may_split_anything() {
        let text = "id: 41\r\nevent: message.received\r\ndata: {\"subject\":\"Grüße\"}\r\n\r\n:hb\r\n\r\nid: 42\r\ndata: x\r\n\r\n";
        let want = parse(text);
        assert_eq!(want.len(), 2);
        let bytes = text.as_bytes();
        // Every single split point, including between CR and LF and inside `ü`.
        for cut in 0..=bytes.len() {
            assert_eq!(parse_chunks(&[&bytes[..cut], &bytes[cut..]]), want, "split at {cut}");
        }
        // And one byte at a time.
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(parse_chunks(&singles), want);
    }

    #[test]
    fn a_cr_at_the_end_of_a_chunk_does_not_swallow_the_next_line() {
        assert_eq!(
            parse_chunks(&[b"data: a\r", b"\r", b"data: b\n\n"]),
            vec![msg("", "message", "a"), msg("", "message", "b")]
        );
    }

    #[test]
    fn the_last_id_persists_and_an_id_only_block_moves_the_position() {
        assert_eq!(
            parse("id: 5\ndata: a\n\ndata: b\n\nid: 9\n\nid:\ndata: c\n\n"),
            vec![msg("5", "message", "a"), msg("5", "message", "b"), Frame::Id("9".into()), msg("", "message", "c")]
        );
        // Ids holding NUL are ignored, as the standard says.
        assert_eq!(
            parse("id: 1\ndata: a\n\nid: 2\0\ndata: b\n\n"),
            vec![msg("1", "message", "a"), msg("1", "message", "b")]
        );
    }

    #[test]
    fn the_event_type_resets_after_each_event() {
        assert_eq!(
            parse("event: a\ndata: 1\n\ndata: 2\n\nevent: b\n\ndata: 3\n\n"),
            vec![msg("", "a", "1"), msg("", "message", "2"), msg("", "message", "3")]
        );
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        assert_eq!(parse("id: 1\ndata: a\n\nid: 2\ndata: half"), vec![msg("1", "message", "a")]);
        assert_eq!(parse("id: 1\ndata: a\n\nid: 2\ndata: b\n"), vec![msg("1", "message", "a")]);
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped() {
        assert_eq!(parse("\u{feff}data: a\n\n"), vec![msg("", "message", "a")]);
        assert_eq!(parse_chunks(&[b"\xEF\xBB", b"\xBFdata: a\n\n"]), vec![msg("", "message", "a")]);
    }

    #[test]
    fn a_field_without_colon_or_space() {
        assert_eq!(parse("data:no space\nevent:x\n\n"), vec![msg("", "x", "no space")]);
        assert_eq!(parse("data: a: b\n\n"), vec![msg("", "message", "a: b")]);
    }

    #[test]
    fn endless_lines_are_refused() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let big = vec![b'x'; 1024 * 1024];
        p.feed(b"data: ", &mut out).unwrap();
        let mut result = Ok(());
        for _ in 0..(MAX_EVENT_BYTES / big.len() + 1) {
            result = p.feed(&big, &mut out);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(TooLarge));
    }
}
