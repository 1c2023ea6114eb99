//! Structural limits on a message, checked on the raw bytes before any parser builds anything.
//!
//! mail-parser keeps one entry per header field and per MIME part, so a message of a few
//! megabytes made of a million one-line header fields becomes gigabytes of structures (and
//! mail-auth, which verifies DKIM/ARC first, builds its own list). [`check_limits`] walks the
//! bytes once, line by line, keeping only a stack of open multipart boundaries, and stops at the
//! first limit crossed — so the cost of refusing a hostile message is one pass and no
//! allocation proportional to its header count.
//!
//! The walk follows the MIME structure the way a parser does: the header block of the message,
//! then for `multipart/*` a header block after every `--boundary` line, and for
//! `message/rfc822` (or `message/global`) parts the header block of the enclosed message. It
//! only needs to be close enough to mail-parser that what it passes cannot blow up there; the
//! fuzz target `mime_parse` checks that.

/// Limits on the header fields, MIME parts and nesting of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MimeLimits {
    /// Most header fields in one header block (the message's or one part's).
    pub max_header_fields: usize,
    /// Most bytes in one header block.
    pub max_header_bytes: usize,
    /// Most header fields in the whole message, every part included.
    pub max_total_header_fields: usize,
    /// Most header bytes in the whole message, every part included.
    pub max_total_header_bytes: usize,
    /// Most MIME parts (every body part and enclosed message counts).
    pub max_parts: usize,
    /// Deepest nesting of multiparts and enclosed messages.
    pub max_depth: usize,
}

impl Default for MimeLimits {
    fn default() -> Self {
        Self {
            max_header_fields: 1000,
            max_header_bytes: 1024 * 1024,
            max_total_header_fields: 10_000,
            max_total_header_bytes: 4 * 1024 * 1024,
            max_parts: 1000,
            max_depth: 20,
        }
    }
}

/// Names the limit a message crossed; the text is what an SMTP client or API caller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// One header block has too many fields.
    #[error("a header block has more than {0} header fields (limits.max_header_fields)")]
    HeaderFields(usize),
    /// One header block is too large.
    #[error("a header block is larger than {0} bytes (limits.max_header_bytes)")]
    HeaderBytes(usize),
    /// The message has too many header fields in all.
    #[error("the message has more than {0} header fields in all (limits.max_total_header_fields)")]
    TotalHeaderFields(usize),
    /// The message's header blocks are too large in all.
    #[error("the message has more than {0} bytes of headers in all (limits.max_total_header_bytes)")]
    TotalHeaderBytes(usize),
    /// The message has too many MIME parts.
    #[error("the message has more than {0} MIME parts (limits.max_mime_parts)")]
    Parts(usize),
    /// The MIME structure is nested too deeply.
    #[error("the message's MIME parts are nested more than {0} deep (limits.max_mime_depth)")]
    Depth(usize),
}

/// What is open around the current position.
enum Frame {
    /// A multipart body and its boundary.
    Multipart(Vec<u8>),
    /// An enclosed message (its end is the end of the part that holds it).
    Message,
}

/// Walks `raw` once and returns the first limit it crosses.
pub fn check_limits(raw: &[u8], limits: &MimeLimits) -> Result<(), LimitExceeded> {
    let mut walk = Walk {
        limits,
        stack: Vec::new(),
        total_fields: 0,
        total_bytes: 0,
        parts: 1,
    };
    let mut block = Block::default();
    let mut in_headers = true;
    let mut rest = raw;
    while !rest.is_empty() {
        let (line_with_end, after) = match memchr_lf(rest) {
            Some(i) => rest.split_at(i + 1),
            None => (rest, &[][..]),
        };
        rest = after;
        let line = trim_line_end(line_with_end);
        if in_headers {
            if line.is_empty() {
                in_headers = walk.end_block(&mut block)?;
                continue;
            }
            walk.header_line(&mut block, line, line_with_end.len())?;
            continue;
        }
        if line.len() >= 2 && line.starts_with(b"--") && walk.boundary_line(line)? {
            block = Block::default();
            in_headers = true;
        }
    }
    Ok(())
}

/// The header block being read.
#[derive(Default)]
struct Block {
    fields: usize,
    bytes: usize,
    /// The `Content-Type` value, unfolded, while it is being read or once read.
    content_type: Option<Vec<u8>>,
    /// The field being read is `Content-Type`.
    in_content_type: bool,
}

struct Walk<'a> {
    limits: &'a MimeLimits,
    stack: Vec<Frame>,
    total_fields: usize,
    total_bytes: usize,
    parts: usize,
}

impl Walk<'_> {
    fn header_line(&mut self, block: &mut Block, line: &[u8], len: usize) -> Result<(), LimitExceeded> {
        let limits = self.limits;
        block.bytes += len;
        self.total_bytes += len;
        if block.bytes > limits.max_header_bytes {
            return Err(LimitExceeded::HeaderBytes(limits.max_header_bytes));
        }
        if self.total_bytes > limits.max_total_header_bytes {
            return Err(LimitExceeded::TotalHeaderBytes(limits.max_total_header_bytes));
        }
        if matches!(line.first(), Some(b' ' | b'\t')) && block.fields > 0 {
            // A continuation of the field before.
            if block.in_content_type
                && let Some(ct) = block.content_type.as_mut()
            {
                ct.push(b' ');
                ct.extend_from_slice(line);
            }
            return Ok(());
        }
        block.fields += 1;
        self.total_fields += 1;
        if block.fields > limits.max_header_fields {
            return Err(LimitExceeded::HeaderFields(limits.max_header_fields));
        }
        if self.total_fields > limits.max_total_header_fields {
            return Err(LimitExceeded::TotalHeaderFields(limits.max_total_header_fields));
        }
        block.in_content_type = false;
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = trim(&line[..colon]);
            if name.eq_ignore_ascii_case(b"content-type") {
                block.in_content_type = true;
                block.content_type = Some(line[colon + 1..].to_vec());
            }
        }
        Ok(())
    }

    /// Ends a header block; returns whether another header block follows at once (an enclosed
    /// message).
    fn end_block(&mut self, block: &mut Block) -> Result<bool, LimitExceeded> {
        let Some(ct) = block.content_type.take() else { return Ok(false) };
        let original = trim(&ct);
        let ct = original.to_ascii_lowercase();
        if ct.starts_with(b"multipart/") {
            if let Some(boundary) = boundary(&ct, original) {
                self.push(Frame::Multipart(boundary))?;
            }
            Ok(false)
        } else if ct.starts_with(b"message/rfc822") || ct.starts_with(b"message/global") {
            self.push(Frame::Message)?;
            self.new_part()?;
            *block = Block::default();
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn push(&mut self, frame: Frame) -> Result<(), LimitExceeded> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(LimitExceeded::Depth(self.limits.max_depth));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn new_part(&mut self) -> Result<(), LimitExceeded> {
        self.parts += 1;
        if self.parts > self.limits.max_parts {
            return Err(LimitExceeded::Parts(self.limits.max_parts));
        }
        Ok(())
    }

    /// Handles a body line starting with `--`; returns whether a part's header block starts.
    fn boundary_line(&mut self, line: &[u8]) -> Result<bool, LimitExceeded> {
        let text = trim_end(&line[2..]);
        for i in (0..self.stack.len()).rev() {
            let Frame::Multipart(boundary) = &self.stack[i] else { continue };
            if !text.starts_with(boundary) {
                continue;
            }
            let after = &text[boundary.len()..];
            if after.is_empty() {
                self.stack.truncate(i + 1);
                self.new_part()?;
                return Ok(true);
            }
            if after == b"--" {
                self.stack.truncate(i);
                return Ok(false);
            }
        }
        Ok(false)
    }
}

/// The boundary parameter's value: its case matters, so it is read from `original` at the
/// place where `lower` (the same bytes, lowercased) has `boundary=`.
fn boundary(lower: &[u8], original: &[u8]) -> Option<Vec<u8>> {
    let at = find(lower, b"boundary=")? + b"boundary=".len();
    let value = original.get(at..)?;
    let value = if let Some(quoted) = value.strip_prefix(b"\"") {
        &quoted[..quoted.iter().position(|&b| b == b'"').unwrap_or(quoted.len())]
    } else {
        &value[..value.iter().position(|&b| b == b';' || b.is_ascii_whitespace()).unwrap_or(value.len())]
    };
    (!value.is_empty()).then(|| value.to_vec())
}

fn memchr_lf(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

fn trim_end(s: &[u8]) -> &[u8] {
    s.trim_ascii_end()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> MimeLimits {
        MimeLimits {
            max_header_fields: 5,
            max_header_bytes: 200,
            max_total_header_fields: 12,
            max_total_header_bytes: 1000,
            max_parts: 4,
            max_depth: 2,
        }
    }

    #[test]
    fn ordinary_messages_pass() {
        let raw = b"From: a@x.test\r\nTo: b@y.test\r\nSubject: hi\r\n\r\nbody\r\n";
        assert_eq!(check_limits(raw, &small()), Ok(()));
        assert_eq!(check_limits(b"", &small()), Ok(()));
    }

    #[test]
    fn too_many_fields_in_the_message_header() {
        let raw = b"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\nbody\r\n";
        assert_eq!(check_limits(raw, &small()), Err(LimitExceeded::HeaderFields(5)));
        // Continuation lines are not fields.
        let raw = b"A: 1\r\n 1\r\n 1\r\n 1\r\n 1\r\n 1\r\nB: 2\r\n\r\nbody\r\n";
        assert_eq!(check_limits(raw, &small()), Ok(()));
    }

    #[test]
    fn header_bytes_are_counted_per_block() {
        let long = format!("Subject: {}\r\n\r\nbody\r\n", "x".repeat(300));
        assert_eq!(check_limits(long.as_bytes(), &small()), Err(LimitExceeded::HeaderBytes(200)));
    }

    #[test]
    fn fields_are_counted_in_every_part() {
        let mut raw = String::from("Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\npreamble\r\n");
        for _ in 0..3 {
            raw.push_str("--B\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\npart\r\n");
        }
        raw.push_str("--B--\r\n");
        assert_eq!(check_limits(raw.as_bytes(), &small()), Err(LimitExceeded::TotalHeaderFields(12)));
        let per_part = "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\nx\r\n--B--\r\n";
        assert_eq!(check_limits(per_part.as_bytes(), &small()), Err(LimitExceeded::HeaderFields(5)));
    }

    #[test]
    fn parts_and_depth_are_limited() {
        let mut raw = String::from("Content-Type: multipart/mixed; boundary=B\r\n\r\n");
        for _ in 0..4 {
            raw.push_str("--B\r\n\r\npart\r\n");
        }
        assert_eq!(check_limits(raw.as_bytes(), &small()), Err(LimitExceeded::Parts(4)));
        let nested = "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n\r\nx\r\n";
        assert_eq!(check_limits(nested.as_bytes(), &small()), Err(LimitExceeded::Depth(2)));
        let messages = "Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nx\r\n";
        assert_eq!(check_limits(messages.as_bytes(), &small()), Err(LimitExceeded::Depth(2)));
    }

    #[test]
    fn a_closed_multipart_ends_its_parts() {
        let raw = "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\r\nx\r\n--B--\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n";
        assert_eq!(check_limits(raw.as_bytes(), &small()), Ok(()), "the epilogue is not a header block");
    }

    #[test]
    fn boundaries_keep_their_case() {
        let raw = "Content-Type: multipart/mixed; boundary=\"AbC\"\r\n\r\n--abc\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n--AbC\r\nX: 1\r\n\r\nok\r\n--AbC--\r\n";
        assert_eq!(check_limits(raw.as_bytes(), &small()), Ok(()));
    }
}
