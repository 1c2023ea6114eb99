//! The DATA phase as a state machine: finds the end of the message and undoes dot-stuffing.
//!
//! The message ends only at `<CR><LF>.<CR><LF>` (the DATA command's own CRLF counts as the first
//! one, so `.<CR><LF>` right after the 354 ends an empty message). A bare CR or a bare LF is
//! ordinary data here — it never starts a line, so a `.` after it is not a line-leading dot and
//! `<LF>.<LF>`, `<LF>.<CR><LF>`, `<CR><LF>.<LF>` or `<CR>.<CR>` never end the message. That is
//! what keeps a smuggled second transaction inside the first. The decoder remembers that it
//! saw one, and the session refuses such a message once it has read it to its real end.
//!
//! The decoder takes input in whatever pieces the network delivers, copies runs of bytes into
//! the message in one go and keeps at most a few bytes of state between pieces. It stops
//! buffering as soon as the message is known to be refused (too large or a bare line ending),
//! but keeps consuming to the end marker so the session stays in step with the client.

use crate::buffer::MessageBuf;
use crate::line::find_cr_or_lf;

/// Where the decoder is relative to the line structure of the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line: right after a CRLF, or at the start of the data.
    LineStart,
    /// Inside a line.
    Mid,
    /// Right after a CR inside a line (already copied out); a LF next makes it a line end.
    Cr,
    /// After a line-leading `.` (dropped).
    Dot,
    /// After a line-leading `.` and a CR (neither copied out yet); a LF next ends the data.
    DotCr,
}

/// What the decoder makes of a finished message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The message is well-formed and within the size limit.
    Ok,
    /// The message contains a bare CR or a bare LF.
    BareLineEnding,
    /// The message is larger than the limit.
    TooLarge,
}

/// Decodes one message of the DATA phase.
#[derive(Debug)]
pub(crate) struct DotDecoder {
    state: State,
    max_size: usize,
    size: usize,
    bare: bool,
    discarding: bool,
}

impl DotDecoder {
    /// Returns a decoder for a message of at most `max_size` octets after unstuffing.
    pub(crate) fn new(max_size: usize) -> Self {
        Self {
            state: State::LineStart,
            max_size,
            size: 0,
            bare: false,
            discarding: false,
        }
    }

    /// Consumes `input`, appending the unstuffed message bytes to `out`.
    ///
    /// Returns `Some(n)` once the end marker has been consumed, `n` being the number of bytes of
    /// `input` used (the rest belongs to the command stream); `None` when all of `input` was
    /// consumed and more is needed.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut MessageBuf) -> Option<usize> {
        let mut i = 0;
        // Bytes input[span..i] are message bytes not yet copied to `out`.
        let mut span = 0;
        while i < input.len() {
            match self.state {
                State::Mid => match find_cr_or_lf(&input[i..]) {
                    None => i = input.len(),
                    Some(p) => {
                        let at = i + p;
                        i = at + 1;
                        if input[at] == b'\r' {
                            self.state = State::Cr;
                        } else {
                            self.bare = true;
                        }
                    }
                },
                State::Cr => {
                    if input[i] == b'\n' {
                        i += 1;
                        self.state = State::LineStart;
                    } else {
                        self.bare = true;
                        self.state = State::Mid;
                    }
                }
                State::LineStart => {
                    if input[i] == b'.' {
                        self.emit(out, &input[span..i]);
                        i += 1;
                        span = i;
                        self.state = State::Dot;
                    } else {
                        self.state = State::Mid;
                    }
                }
                State::Dot => {
                    if input[i] == b'\r' {
                        self.emit(out, &input[span..i]);
                        i += 1;
                        span = i;
                        self.state = State::DotCr;
                    } else {
                        self.state = State::Mid;
                    }
                }
                State::DotCr => {
                    if input[i] == b'\n' {
                        self.state = State::LineStart;
                        return Some(i + 1);
                    }
                    // The CR after the dot was not a line end after all: it is data.
                    self.bare = true;
                    self.emit(out, b"\r");
                    self.state = State::Mid;
                }
            }
        }
        self.emit(out, &input[span..]);
        None
    }

    /// Stops keeping the message (its bytes are still read to the end marker and counted):
    /// used when the server has no room for it.
    pub(crate) fn stop_buffering(&mut self, out: &mut MessageBuf) {
        self.discarding = true;
        *out = MessageBuf::new();
    }

    /// Returns what to make of the message; meaningful once [`DotDecoder::feed`] has returned
    /// `Some`.
    pub(crate) fn verdict(&self) -> Verdict {
        if self.bare {
            Verdict::BareLineEnding
        } else if self.size > self.max_size {
            Verdict::TooLarge
        } else {
            Verdict::Ok
        }
    }

    /// Returns the size of the message so far, counting bytes no longer buffered.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    fn emit(&mut self, out: &mut MessageBuf, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.size = self.size.saturating_add(bytes.len());
        if self.discarding {
            return;
        }
        if self.bare || self.size > self.max_size {
            // The message will be refused: stop holding on to it.
            self.discarding = true;
            *out = MessageBuf::new();
            return;
        }
        out.extend_from_slice(bytes);
    }
}

/// Dot-stuffs a message of CRLF lines for the wire (RFC 5321 section 4.5.2) and appends the end
/// marker: the sending side of what [`DotDecoder`] undoes, for the round-trip tests.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn stuff(message: &[u8]) -> Vec<u8> {
    let mut wire = Vec::with_capacity(message.len() + message.len() / 64 + 8);
    let mut line_start = true;
    for &b in message {
        if line_start && b == b'.' {
            wire.push(b'.');
        }
        wire.push(b);
        line_start = b == b'\n';
    }
    if !message.is_empty() && !message.ends_with(b"\r\n") {
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b".\r\n");
    wire
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in one piece and returns (consumed, message, verdict).
    fn decode_whole(input: &[u8], max: usize) -> (Option<usize>, Vec<u8>, Verdict) {
        let mut d = DotDecoder::new(max);
        let mut out = MessageBuf::with_segments_of(3);
        let n = d.feed(input, &mut out);
        (n, out.into_vec(), d.verdict())
    }

    /// Feeds `input` split at `cut`, returning the total consumed as if it were one piece.
    fn decode_split(input: &[u8], cut: usize, max: usize) -> (Option<usize>, Vec<u8>, Verdict) {
        let mut d = DotDecoder::new(max);
        let mut out = MessageBuf::with_segments_of(3);
        let (a, b) = input.split_at(cut);
        let n = match d.feed(a, &mut out) {
            Some(n) => Some(n),
            None => d.feed(b, &mut out).map(|n| n + a.len()),
        };
        (n, out.into_vec(), d.verdict())
    }

    fn decode_bytewise(input: &[u8], max: usize) -> (Option<usize>, Vec<u8>, Verdict) {
        let mut d = DotDecoder::new(max);
        let mut out = MessageBuf::with_segments_of(3);
        for (k, b) in input.iter().enumerate() {
            if d.feed(std::slice::from_ref(b), &mut out).is_some() {
                return (Some(k + 1), out.into_vec(), d.verdict());
            }
        }
        (None, out.into_vec(), d.verdict())
    }

    /// Checks one case whole, split at every position and byte by byte.
    fn check(input: &[u8], consumed: Option<usize>, message: &[u8], verdict: Verdict) {
        let max = 1 << 20;
        let whole = decode_whole(input, max);
        assert_eq!(whole.0, consumed, "consumed for {input:?}");
        assert_eq!(whole.2, verdict, "verdict for {input:?}");
        if verdict == Verdict::Ok {
            assert_eq!(whole.1, message, "message for {input:?}");
        } else {
            assert!(whole.1.is_empty(), "refused message is not buffered");
        }
        for cut in 0..=input.len() {
            assert_eq!(
                decode_split(input, cut, max),
                whole,
                "split at {cut} of {input:?}"
            );
        }
        assert_eq!(decode_bytewise(input, max), whole, "bytewise {input:?}");
    }

    #[test]
    fn plain_message_ends_at_crlf_dot_crlf() {
        check(
            b"hi\r\nthere\r\n.\r\n",
            Some(14),
            b"hi\r\nthere\r\n",
            Verdict::Ok,
        );
    }

    #[test]
    fn leftover_after_end_marker_is_not_consumed() {
        check(b"a\r\n.\r\nQUIT\r\n", Some(6), b"a\r\n", Verdict::Ok);
    }

    #[test]
    fn empty_message() {
        check(b".\r\n", Some(3), b"", Verdict::Ok);
    }

    #[test]
    fn final_line_without_content() {
        check(b"a\r\n\r\n.\r\n", Some(8), b"a\r\n\r\n", Verdict::Ok);
        check(b"\r\n.\r\n", Some(5), b"\r\n", Verdict::Ok);
    }

    #[test]
    fn dot_unstuffing_is_exact() {
        check(b"..\r\n.\r\n", Some(7), b".\r\n", Verdict::Ok);
        check(
            b"..leading\r\n.\r\n",
            Some(14),
            b".leading\r\n",
            Verdict::Ok,
        );
        check(b"a\r\n...\r\n.\r\n", Some(11), b"a\r\n..\r\n", Verdict::Ok);
        check(b"a\r\n.b\r\n.\r\n", Some(10), b"a\r\nb\r\n", Verdict::Ok);
        check(
            b"a.\r\nb..c\r\n.\r\n",
            Some(13),
            b"a.\r\nb..c\r\n",
            Verdict::Ok,
        );
        check(b"..\r\n..\r\n.\r\n", Some(11), b".\r\n.\r\n", Verdict::Ok);
    }

    #[test]
    fn no_end_marker_needs_more() {
        check(b"a\r\n.", None, b"a\r\n", Verdict::Ok);
        check(b"a\r\n.\r", None, b"a\r\n", Verdict::Ok);
        check(b"a\r\n", None, b"a\r\n", Verdict::Ok);
    }

    #[test]
    fn eight_bit_and_utf8_pass_through() {
        let mut expected = "Grüße, 世界 \u{1F600}\r\n\x7f\r\n".as_bytes().to_vec();
        expected.extend_from_slice(&[0xff, 0x00, 0x80, b'\r', b'\n']);
        let mut input = expected.clone();
        input.extend_from_slice(b".\r\n");
        check(&input, Some(input.len()), &expected, Verdict::Ok);
    }

    #[test]
    fn smuggling_variants_never_end_data() {
        let smuggled = b"MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nsmuggled\r\n.\r\n";
        for fake_end in [&b"\n.\n"[..], b"\n.\r\n", b"\r\n.\n", b"\r.\r"] {
            let mut input = b"Subject: hi\r\n\r\nbody".to_vec();
            input.extend_from_slice(fake_end);
            input.extend_from_slice(smuggled);
            // The decoder stops at the smuggled transaction's `.`: the whole smuggled
            // transaction is data, and the message is refused.
            let end = input.len();
            check(&input, Some(end), b"", Verdict::BareLineEnding);
        }
    }

    #[test]
    fn bare_line_endings_are_flagged() {
        check(b"a\nb\r\n.\r\n", Some(8), b"", Verdict::BareLineEnding);
        check(b"a\rb\r\n.\r\n", Some(8), b"", Verdict::BareLineEnding);
        check(b"a\r\r\n.\r\n", Some(7), b"", Verdict::BareLineEnding);
        check(b"\n.\r\n.\r\n", Some(7), b"", Verdict::BareLineEnding);
        check(b".\r.\r\n", None, b"", Verdict::BareLineEnding);
        check(b".\r.\r\n.\r\n", Some(8), b"", Verdict::BareLineEnding);
        check(b".\n.\r\n", None, b"", Verdict::BareLineEnding);
        check(b"\r\n.\n\r\n.\r\n", Some(9), b"", Verdict::BareLineEnding);
    }

    #[test]
    fn size_limit_is_exact() {
        let mut d = DotDecoder::new(5);
        let mut out = MessageBuf::with_segments_of(3);
        assert_eq!(d.feed(b"abc\r\n.\r\n", &mut out), Some(8));
        assert_eq!(
            (d.verdict(), out.to_vec().as_slice()),
            (Verdict::Ok, &b"abc\r\n"[..])
        );

        let mut d = DotDecoder::new(5);
        let mut out = MessageBuf::with_segments_of(3);
        assert_eq!(d.feed(b"abcd\r\n.\r\n", &mut out), Some(9));
        assert_eq!(d.verdict(), Verdict::TooLarge);
        assert!(out.is_empty());
        assert_eq!(d.size(), 6);

        // Stuffed dots do not count.
        let mut d = DotDecoder::new(5);
        let mut out = MessageBuf::with_segments_of(3);
        assert_eq!(d.feed(b"..bc\r\n.\r\n", &mut out), Some(9));
        assert_eq!(
            (d.verdict(), out.to_vec().as_slice()),
            (Verdict::Ok, &b".bc\r\n"[..])
        );
    }

    #[test]
    fn oversized_message_is_consumed_to_its_end_without_buffering() {
        let mut d = DotDecoder::new(10);
        let mut out = MessageBuf::with_segments_of(3);
        for _ in 0..100 {
            assert_eq!(d.feed(b"0123456789012345678\r\n", &mut out), None);
            assert!(out.is_empty());
        }
        assert_eq!(d.feed(b".\r\nNOOP\r\n", &mut out), Some(3));
        assert_eq!(d.verdict(), Verdict::TooLarge);
    }

    proptest::proptest! {
        /// Stuffing then decoding gives the message back, whatever its lines hold (dots at
        /// line starts included) and however the network splits the wire bytes.
        #[test]
        fn dot_stuffing_round_trips(
            lines in proptest::collection::vec("[.]{0,3}[ -~]{0,40}", 0..30),
            cuts in proptest::collection::vec(1usize..64, 1..8),
        ) {
            let mut message = Vec::new();
            for line in &lines {
                message.extend_from_slice(line.as_bytes());
                message.extend_from_slice(b"\r\n");
            }
            let mut wire = stuff(&message);
            let end = wire.len();
            wire.extend_from_slice(b"QUIT\r\n");
            let mut d = DotDecoder::new(usize::MAX);
            let mut out = MessageBuf::with_segments_of(3);
            let (mut at, mut consumed, mut k) = (0, None, 0);
            while at < wire.len() {
                let piece = &wire[at..(at + cuts[k % cuts.len()]).min(wire.len())];
                k += 1;
                if let Some(n) = d.feed(piece, &mut out) {
                    consumed = Some(at + n);
                    break;
                }
                at += piece.len();
            }
            proptest::prop_assert_eq!(consumed, Some(end));
            proptest::prop_assert_eq!(d.verdict(), Verdict::Ok);
            proptest::prop_assert_eq!(out.into_vec(), message);
        }
    }

    #[test]
    fn end_marker_split_at_every_position_in_a_long_message() {
        let mut input = Vec::new();
        for k in 0..50 {
            input.extend_from_slice(format!("line {k} with some text\r\n").as_bytes());
            if k % 7 == 0 {
                input.extend_from_slice(b"..stuffed\r\n");
            }
        }
        let expected: Vec<u8> = String::from_utf8(input.clone())
            .unwrap()
            .replace("..stuffed", ".stuffed")
            .into_bytes();
        input.extend_from_slice(b".\r\nRSET\r\n");
        check(&input, Some(input.len() - 6), &expected, Verdict::Ok);
    }
}
