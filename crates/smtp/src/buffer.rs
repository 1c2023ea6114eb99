//! The buffer a message is received into.
//!
//! A message arrives in pieces of unknown total size. Growing one `Vec` by doubling copies it
//! at every step, and the allocator keeps the pages of the smaller buffers it gave up (none of
//! them fits the next, larger request), so a 20 MB message left about 50 MB resident before it
//! was even parsed. Here the first segment grows as a `Vec` does up to [`SEGMENT`]; past that
//! the bytes go into further segments of that size, never copied while the message is read,
//! and [`MessageBuf::into_vec`] joins them once, into a buffer of the exact size. The peak is
//! then about twice the message, and the segments freed at the end are the right size for the
//! next large message to reuse.

/// Size of the segments a large message is kept in while it is read.
pub(crate) const SEGMENT: usize = 1024 * 1024;

/// A message being read: bytes appended in order, joined into one buffer at the end.
#[derive(Debug)]
pub(crate) struct MessageBuf {
    /// Full segments, in order.
    full: Vec<Vec<u8>>,
    /// The bytes held in `full`.
    full_len: usize,
    /// The segment being filled.
    current: Vec<u8>,
    /// Size of the segments after the first.
    segment: usize,
}

impl Default for MessageBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageBuf {
    /// An empty buffer that allocates nothing until bytes arrive.
    pub(crate) fn new() -> Self {
        Self::with_segment(Vec::new(), SEGMENT)
    }

    /// An empty buffer whose first segment has room for `capacity` bytes (a declared `SIZE=`).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self::with_segment(Vec::with_capacity(capacity), SEGMENT)
    }

    /// An empty buffer with segments of `segment` bytes (at least one): small segments let the
    /// tests and the fuzzer cross segment boundaries with small messages.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn with_segments_of(segment: usize) -> Self {
        Self::with_segment(Vec::new(), segment.max(1))
    }

    fn with_segment(current: Vec<u8>, segment: usize) -> Self {
        Self { full: Vec::new(), full_len: 0, current, segment }
    }

    /// Appends `bytes`.
    pub(crate) fn extend_from_slice(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let len = self.current.len();
            if len >= self.segment && len == self.current.capacity() {
                let next = Vec::with_capacity(self.segment);
                let full = std::mem::replace(&mut self.current, next);
                self.full_len += full.len();
                self.full.push(full);
                continue;
            }
            // Below the segment size the first segment grows as a `Vec` does; at or past it, a
            // segment takes what fits in the room it has.
            let limit = self.current.capacity().max(self.segment);
            let take = bytes.len().min(limit - len);
            self.current.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
    }

    /// The number of bytes appended.
    pub(crate) fn len(&self) -> usize {
        self.full_len + self.current.len()
    }

    /// Whether nothing was appended.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The memory the buffer holds, for the in-flight budget.
    pub(crate) fn capacity(&self) -> usize {
        self.full.iter().map(Vec::capacity).sum::<usize>() + self.current.capacity()
    }

    /// The message in one buffer of its exact size (no copy when it fitted one segment).
    pub(crate) fn into_vec(self) -> Vec<u8> {
        if self.full.is_empty() {
            return self.current;
        }
        let mut out = Vec::with_capacity(self.len());
        for segment in self.full {
            out.extend_from_slice(&segment);
        }
        out.extend_from_slice(&self.current);
        out
    }

    /// A copy of the bytes appended so far, for the tests.
    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        for segment in &self.full {
            out.extend_from_slice(segment);
        }
        out.extend_from_slice(&self.current);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_back_in_order_across_segments() {
        for segment in [1, 2, 3, 7, 64] {
            for piece in [1, 2, 5, 13, 100] {
                let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
                let mut buf = MessageBuf::with_segments_of(segment);
                for chunk in data.chunks(piece) {
                    buf.extend_from_slice(chunk);
                }
                assert_eq!(buf.len(), data.len());
                assert_eq!(buf.to_vec(), data, "segment {segment}, pieces of {piece}");
                assert_eq!(buf.into_vec(), data, "segment {segment}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn a_large_message_is_held_in_segments_and_joined_to_its_exact_size() {
        let mut buf = MessageBuf::new();
        let piece = vec![b'x'; 64 * 1024];
        for _ in 0..(20 * 16) {
            buf.extend_from_slice(&piece);
        }
        assert_eq!(buf.len(), 20 * SEGMENT);
        assert!(buf.full.len() >= 18, "{} segments", buf.full.len());
        assert!(buf.full.iter().skip(1).all(|s| s.capacity() == SEGMENT));
        // Held memory stays within a segment (and the first one's doubling) of the message.
        assert!(buf.capacity() < 20 * SEGMENT + 2 * SEGMENT, "{} held", buf.capacity());
        let joined = buf.into_vec();
        assert_eq!(joined.len(), 20 * SEGMENT);
        assert_eq!(joined.capacity(), 20 * SEGMENT);
    }

    #[test]
    fn a_declared_size_is_one_buffer_and_no_copy() {
        let mut buf = MessageBuf::with_capacity(3 * SEGMENT);
        let piece = vec![b'y'; 4096];
        for _ in 0..(3 * SEGMENT / 4096) {
            buf.extend_from_slice(&piece);
        }
        assert!(buf.full.is_empty());
        let ptr = buf.current.as_ptr();
        let joined = buf.into_vec();
        assert_eq!(joined.as_ptr(), ptr);
        assert_eq!(joined.len(), 3 * SEGMENT);
    }

    #[test]
    fn an_empty_buffer_allocates_nothing() {
        let buf = MessageBuf::new();
        assert!(buf.is_empty());
        assert_eq!(buf.capacity(), 0);
        assert!(buf.into_vec().is_empty());
    }
}
