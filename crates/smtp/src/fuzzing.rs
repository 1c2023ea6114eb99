//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not a public API).
//!
//! [`session`] runs a whole SMTP session over an in-memory pipe — command framing, smtp-proto
//! parsing, every command, DATA with dot-unstuffing and the limits — and checks what the
//! handler is given. [`dot_round_trip`] checks that the DATA decoder undoes dot-stuffing
//! exactly, whatever the network's chunking.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::buffer::MessageBuf;
use crate::dot::{DotDecoder, Verdict, stuff};
use crate::session::{Shared, run_stream};
use crate::{DeliveryOutcome, Envelope, InboundHandler, RcptDecision, SmtpConfig};

/// The most message bytes the fuzzed sessions accept (small, so the size limit is reached).
const MAX_MESSAGE: usize = 4096;

struct CheckingHandler;

#[async_trait::async_trait]
impl InboundHandler for CheckingHandler {
    async fn check_recipient(&self, envelope: &Envelope, rcpt: &str) -> RcptDecision {
        assert!(
            !envelope.rcpt_to.iter().any(|r| r == rcpt),
            "duplicate recipient accepted"
        );
        if rcpt.contains("unknown") {
            RcptDecision::UnknownMailbox
        } else if rcpt.contains("temp") {
            RcptDecision::TemporaryFailure("try later\r\n550 injected".into())
        } else {
            RcptDecision::Accept
        }
    }

    async fn deliver(&self, envelope: &Envelope, message: Vec<u8>) -> DeliveryOutcome {
        assert!(
            !envelope.rcpt_to.is_empty(),
            "DATA accepted without recipients"
        );
        assert!(
            message.len() <= MAX_MESSAGE,
            "a message over the size limit was delivered"
        );
        for (i, &b) in message.iter().enumerate() {
            match b {
                b'\n' => assert!(i > 0 && message[i - 1] == b'\r', "bare LF delivered"),
                b'\r' => assert_eq!(message.get(i + 1), Some(&b'\n'), "bare CR delivered"),
                _ => {}
            }
        }
        if message.starts_with(b"reject") {
            DeliveryOutcome::Rejected("no\r\nthanks".into())
        } else {
            DeliveryOutcome::Accepted {
                queue_id: "q1".into(),
            }
        }
    }
}

/// Runs one session fed with `input` in pieces of `chunk` bytes (at least one) and returns
/// everything the server wrote. Panics when the server breaks one of its rules.
pub fn session(input: &[u8], chunk: usize) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    let config = SmtpConfig {
        max_message_size: MAX_MESSAGE,
        max_recipients: 5,
        idle_timeout: Duration::from_secs(5),
        ..SmtpConfig::default()
    };
    let shared = Arc::new(Shared::new(config, Arc::new(CheckingHandler)));
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let remote: SocketAddr = "192.0.2.1:2525".parse().expect("an address");
    runtime.block_on(async move {
        let (client, server) = tokio::io::duplex(16 * 1024);
        let (mut rx, mut tx) = tokio::io::split(client);
        let write = async move {
            for piece in input.chunks(chunk.max(1)) {
                if tx.write_all(piece).await.is_err() {
                    break;
                }
            }
            let _ = tx.shutdown().await;
        };
        let read = async move {
            let mut out = Vec::new();
            let _ = rx.read_to_end(&mut out).await;
            out
        };
        let (_, _, out) = tokio::join!(run_stream(server, remote, shared, shutdown), write, read);
        for line in out.split(|&b| b == b'\n') {
            assert!(
                !line.contains(&b'\r') || line.ends_with(b"\r"),
                "bare CR in a reply"
            );
        }
        out
    })
}

/// Dot-stuffs the lines of `data` (bare CRs dropped, LFs made CRLFs), feeds the result to the
/// decoder in pieces of `chunk` bytes and checks that the message comes back exactly and that
/// the decoder stops right after the end marker.
pub fn dot_round_trip(data: &[u8], chunk: usize) {
    let message: Vec<u8> = crlf_lines(data);
    let mut wire = stuff(&message);
    wire.extend_from_slice(b"MAIL FROM:<x>\r\n");
    let mut decoder = DotDecoder::new(usize::MAX);
    // Segments of a few bytes, so message bytes cross segment boundaries at every size.
    let mut out = MessageBuf::with_segments_of(1 + chunk % 5);
    let mut consumed = 0;
    let mut ended = None;
    for piece in wire.chunks(chunk.max(1)) {
        let offset = consumed;
        consumed += piece.len();
        if let Some(used) = decoder.feed(piece, &mut out) {
            ended = Some(offset + used);
            break;
        }
    }
    assert_eq!(
        ended,
        Some(wire.len() - b"MAIL FROM:<x>\r\n".len()),
        "end marker not found where it was put"
    );
    assert_eq!(decoder.verdict(), Verdict::Ok);
    assert_eq!(out.len(), message.len());
    assert_eq!(out.into_vec(), message, "unstuffing did not give the message back");
}

/// Turns arbitrary bytes into CRLF-terminated lines.
fn crlf_lines(data: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(data.len() + 16);
    for line in data.split(|&b| b == b'\n') {
        message.extend(line.iter().filter(|&&b| b != b'\r'));
        message.extend_from_slice(b"\r\n");
    }
    message
}
