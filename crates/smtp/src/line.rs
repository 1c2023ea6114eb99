//! Command-line framing: a command ends only at `<CR><LF>` and is at most 512 octets long.
//!
//! A bare CR or a bare LF does not end a command line — otherwise `MAIL FROM:<a>\nRCPT ...`
//! would be read differently by us and by the client's other hops. The line it sits in is
//! reported as [`Framed::BareLineEnding`] and refused as a whole. A line longer than
//! [`MAX_LINE`] is skipped without being buffered and reported once, when its CRLF arrives.

/// Longest command line accepted, the CRLF included (RFC 5321 section 4.5.3.1.4).
pub(crate) const MAX_LINE: usize = 512;

/// What the next bytes of the command stream hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framed {
    /// A complete command line of `len` bytes, the CRLF included.
    Line {
        /// Length of the line, CRLF included.
        len: usize,
    },
    /// A complete line of `len` bytes that contains a bare CR or LF before its CRLF.
    BareLineEnding {
        /// Length of the line, CRLF included.
        len: usize,
    },
    /// The end (`len` bytes, CRLF included) of a line longer than [`MAX_LINE`].
    TooLong {
        /// Bytes to consume.
        len: usize,
    },
    /// No complete line yet; the first `discard` bytes (part of an over-long line) may be
    /// dropped.
    NeedMore {
        /// Bytes to consume.
        discard: usize,
    },
}

/// Splits the command stream into lines.
#[derive(Debug, Default)]
pub(crate) struct LineFramer {
    skipping: bool,
}

impl LineFramer {
    /// Says what the start of `input` (the unconsumed command stream) holds.
    pub(crate) fn next(&mut self, input: &[u8]) -> Framed {
        let mut from = 0;
        let mut bare = false;
        let end = loop {
            let Some(p) = find_cr_or_lf(&input[from..]) else {
                break None;
            };
            let at = from + p;
            if input[at] == b'\r' {
                match input.get(at + 1) {
                    Some(b'\n') => break Some(at + 2),
                    Some(_) => bare = true,
                    None => break None,
                }
            } else {
                bare = true;
            }
            from = at + 1;
        };
        match end {
            Some(len) if std::mem::take(&mut self.skipping) || len > MAX_LINE => {
                Framed::TooLong { len }
            }
            Some(len) if bare => Framed::BareLineEnding { len },
            Some(len) => Framed::Line { len },
            None => {
                if input.len() >= MAX_LINE {
                    self.skipping = true;
                }
                if self.skipping {
                    // Keep a trailing CR: it may be the first half of the CRLF.
                    let discard = input.len() - usize::from(input.last() == Some(&b'\r'));
                    Framed::NeedMore { discard }
                } else {
                    Framed::NeedMore { discard: 0 }
                }
            }
        }
    }

    /// Returns whether part of an over-long line has been dropped and its end is awaited.
    pub(crate) fn in_long_line(&self) -> bool {
        self.skipping
    }
}

/// Returns the position of the first CR or LF in `haystack`.
///
/// Looks at eight bytes at a time: message data has a line break every few dozen bytes, and
/// this runs over every byte of every message.
pub(crate) fn find_cr_or_lf(haystack: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const CR: u64 = LO * b'\r' as u64;
    const LF: u64 = LO * b'\n' as u64;
    let is_break = |b: &u8| *b == b'\r' || *b == b'\n';

    let mut chunks = haystack.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let (a, b) = (word ^ CR, word ^ LF);
        // Non-zero exactly when some byte of `a` or of `b` is zero.
        if ((a.wrapping_sub(LO) & !a) | (b.wrapping_sub(LO) & !b)) & HI != 0 {
            return chunk.iter().position(is_break).map(|p| offset + p);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(is_break)
        .map(|p| offset + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames `input` fed in pieces of `piece` bytes, returning the events in order.
    fn frame(input: &[u8], piece: usize) -> Vec<Framed> {
        let mut framer = LineFramer::default();
        let mut buf = Vec::new();
        let mut events = Vec::new();
        for chunk in input.chunks(piece) {
            buf.extend_from_slice(chunk);
            loop {
                let ev = framer.next(&buf);
                match ev {
                    Framed::NeedMore { discard } => {
                        buf.drain(..discard);
                        break;
                    }
                    Framed::Line { len }
                    | Framed::BareLineEnding { len }
                    | Framed::TooLong { len } => {
                        buf.drain(..len);
                        events.push(ev);
                    }
                }
            }
        }
        events
    }

    fn frame_all_ways(input: &[u8]) -> Vec<Framed> {
        let whole = frame(input, input.len().max(1));
        for piece in 1..input.len().min(40) {
            assert_eq!(frame(input, piece), whole, "pieces of {piece}");
        }
        whole
    }

    #[test]
    fn pipelined_lines() {
        let ev = frame_all_ways(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
        assert_eq!(
            ev,
            [
                Framed::Line { len: 17 },
                Framed::Line { len: 15 },
                Framed::Line { len: 6 }
            ]
        );
    }

    #[test]
    fn bare_lf_and_cr_do_not_end_a_line() {
        let ev = frame_all_ways(b"MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\nNOOP\r\n");
        assert_eq!(
            ev,
            [Framed::BareLineEnding { len: 31 }, Framed::Line { len: 6 }]
        );
        let ev = frame_all_ways(b"NOOP\rNOOP\r\n\r\r\n");
        assert_eq!(
            ev,
            [
                Framed::BareLineEnding { len: 11 },
                Framed::BareLineEnding { len: 3 }
            ]
        );
        assert_eq!(frame_all_ways(b"NOOP\n"), []);
    }

    #[test]
    fn line_length_limit_is_exact() {
        let mut ok = vec![b'x'; MAX_LINE - 2];
        ok.extend_from_slice(b"\r\n");
        assert_eq!(frame_all_ways(&ok), [Framed::Line { len: MAX_LINE }]);

        let mut long = vec![b'x'; MAX_LINE - 1];
        long.extend_from_slice(b"\r\nNOOP\r\n");
        let ev = frame(&long, long.len());
        assert_eq!(
            ev,
            [
                Framed::TooLong { len: MAX_LINE + 1 },
                Framed::Line { len: 6 }
            ]
        );
        for piece in [1, 2, 7, 100, 511, 512, 513] {
            let ev = frame(&long, piece);
            assert_eq!(ev.len(), 2, "pieces of {piece}: {ev:?}");
            assert!(matches!(ev[0], Framed::TooLong { .. }));
            assert_eq!(ev[1], Framed::Line { len: 6 });
        }
    }

    #[test]
    fn very_long_line_is_reported_once() {
        let mut input = vec![b'y'; 100_000];
        input[5000] = b'\r';
        input.extend_from_slice(b"\r\nQUIT\r\n");
        for piece in [1000, 4096, 65536] {
            let ev = frame(&input, piece);
            assert_eq!(ev.len(), 2);
            assert!(matches!(ev[0], Framed::TooLong { .. }));
            assert_eq!(ev[1], Framed::Line { len: 6 });
        }
    }

    #[test]
    fn finds_breaks_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                for b in [b'\r', b'\n'] {
                    let mut hay = vec![b'a'; len];
                    hay[at] = b;
                    assert_eq!(find_cr_or_lf(&hay), Some(at));
                    if at + 1 < len {
                        hay[at + 1] = b'\n';
                        assert_eq!(find_cr_or_lf(&hay), Some(at));
                    }
                }
            }
            assert_eq!(find_cr_or_lf(&vec![0x8d; len]), None);
            assert_eq!(find_cr_or_lf(&vec![0x0c; len]), None);
        }
    }
}
