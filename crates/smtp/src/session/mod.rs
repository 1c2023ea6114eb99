//! One SMTP session: the read loop, reply buffering, limits, and the state commands share.
//!
//! Replies are collected in a buffer and written when the session needs more input, so a
//! pipelined group of commands is answered in order with a single write. Input is read in large
//! chunks into one buffer that command lines are framed from and message data is decoded
//! from. Each command has its own file with an `impl Session<T>` block.

mod data;
mod ehlo;
mod mail;
mod misc;
mod rcpt;
mod starttls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::Request;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::buffer::MessageBuf;
use crate::dot::DotDecoder;
use crate::limits::{Budget, Clock, ClockLimits, Deadline, Reservation};
use crate::line::{Framed, LineFramer};
use crate::{Envelope, InboundHandler, SmtpConfig};

/// Bytes asked of the socket per read while reading commands.
const COMMAND_READ: usize = 8 * 1024;
/// Bytes asked of the socket per read while reading message data.
const DATA_READ: usize = 64 * 1024;
/// Largest buffer reserved up front for a message whose `SIZE=` was declared.
const MAX_PREALLOCATION: usize = 4 * 1024 * 1024;
/// How long closing the connection (TLS close_notify, FIN) may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What every session of one listener shares.
pub(crate) struct Shared {
    pub(crate) config: SmtpConfig,
    pub(crate) handler: Arc<dyn InboundHandler>,
    pub(crate) tls: Option<TlsAcceptor>,
    /// The message bytes all sessions may hold at once.
    pub(crate) budget: Arc<Budget>,
    clock_limits: ClockLimits,
    banner: String,
    ehlo_plain: String,
    ehlo_tls: String,
}

impl Shared {
    pub(crate) fn new(config: SmtpConfig, handler: Arc<dyn InboundHandler>) -> Self {
        let tls = config.tls.clone().map(TlsAcceptor::from);
        let host = &config.hostname;
        let size = format!("SIZE {}", config.max_message_size);
        let mut caps = vec![
            "PIPELINING",
            &size,
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
        ];
        let ehlo_tls = ehlo_reply(host, &caps);
        if tls.is_some() {
            caps.push("STARTTLS");
        }
        let ehlo_plain = ehlo_reply(host, &caps);
        let clock_limits = ClockLimits {
            session: config.max_session_time,
            command: config.command_timeout,
            min_rate: config.min_data_rate,
            window: config.data_rate_window,
        };
        Self {
            budget: Budget::new(config.max_inflight_bytes),
            clock_limits,
            banner: format!("220 {host} ESMTP Mailroom"),
            ehlo_plain,
            ehlo_tls,
            config,
            handler,
            tls,
        }
    }

    pub(crate) fn busy_reply(&self) -> String {
        format!(
            "421 4.3.2 {} Too many connections, try again later\r\n",
            self.config.hostname
        )
    }
}

/// Builds the multi-line EHLO reply, CRLFs included.
fn ehlo_reply(host: &str, caps: &[&str]) -> String {
    let mut reply = format!("250-{host}\r\n");
    for (i, cap) in caps.iter().enumerate() {
        let sep = if i + 1 == caps.len() { ' ' } else { '-' };
        reply.push_str(&format!("250{sep}{cap}\r\n"));
    }
    reply
}

/// What the session does after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Read the next command.
    Continue,
    /// Flush the replies and close the connection.
    Close,
    /// Flush the replies, then start the TLS handshake.
    StartTls,
}

/// How a session's read loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Closed,
    StartTls,
}

/// Session state that survives the STARTTLS upgrade.
struct Carry {
    shared: Arc<Shared>,
    remote_addr: SocketAddr,
    errors: usize,
    shutdown: watch::Receiver<bool>,
    shutdown_seen: bool,
    shutdown_deadline: Option<Instant>,
    clock: Clock,
}

/// One SMTP session over a plain or TLS stream.
pub(crate) struct Session<T> {
    stream: T,
    shared: Arc<Shared>,
    /// Input read from the client; `rbuf[pos..]` is not consumed yet.
    rbuf: Vec<u8>,
    pos: usize,
    /// Replies not yet written.
    out: Vec<u8>,
    framer: LineFramer,
    /// Set while reading message data.
    data: Option<DotDecoder>,
    message: MessageBuf,
    /// The share of the in-flight budget the message being read holds.
    reservation: Option<Reservation>,
    /// The budget had no room for the message being read: it is read to its end and refused.
    over_budget: bool,
    /// Deadlines of the whole session, of each command and of the DATA rate.
    clock: Clock,
    envelope: Envelope,
    /// EHLO or HELO was given (since the session started or was upgraded to TLS).
    greeted: bool,
    /// The greeting was EHLO.
    esmtp: bool,
    /// MAIL was accepted and the transaction has not ended.
    in_transaction: bool,
    declared_size: usize,
    errors: usize,
    /// The command being answered (`CONNECT` before the first), the label refusals are counted under.
    verb: &'static str,
    shutdown: watch::Receiver<bool>,
    shutdown_seen: bool,
    shutdown_deadline: Option<Instant>,
}

/// Runs one accepted connection to its end, STARTTLS upgrade included.
pub(crate) async fn handle_connection(
    stream: TcpStream,
    remote_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    tracing::debug!(%remote_addr, "SMTP session started");
    let carry = Carry {
        clock: Clock::start(shared.clock_limits),
        shared,
        remote_addr,
        errors: 0,
        shutdown,
        shutdown_seen: false,
        shutdown_deadline: None,
    };
    let mut session = Session::resume(stream, carry, false);
    let banner = session.shared.banner.clone();
    session.reply(&banner);
    if session.run().await == End::StartTls
        && let Some(mut session) = session.upgrade().await
    {
        // A TLS session refuses a second STARTTLS, so its loop can only end closed.
        session.run().await;
    }
    tracing::debug!(%remote_addr, "SMTP session ended");
}

/// Runs a session over any stream, without STARTTLS (a `STARTTLS` ends it): what the fuzz
/// target drives over an in-memory pipe.
#[cfg(feature = "fuzzing")]
pub(crate) async fn run_stream<T: AsyncRead + AsyncWrite + Unpin + Send>(
    stream: T,
    remote_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let carry = Carry {
        clock: Clock::start(shared.clock_limits),
        shared,
        remote_addr,
        errors: 0,
        shutdown,
        shutdown_seen: false,
        shutdown_deadline: None,
    };
    let mut session = Session::resume(stream, carry, false);
    let banner = session.shared.banner.clone();
    session.reply(&banner);
    session.run().await;
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Session<T> {
    fn resume(stream: T, carry: Carry, tls: bool) -> Self {
        let envelope = Envelope {
            mail_from: String::new(),
            rcpt_to: Vec::new(),
            helo: String::new(),
            remote_addr: carry.remote_addr,
            tls,
            body_8bit: false,
            smtputf8: false,
        };
        Self {
            stream,
            shared: carry.shared,
            rbuf: Vec::with_capacity(COMMAND_READ),
            pos: 0,
            out: Vec::with_capacity(512),
            framer: LineFramer::default(),
            data: None,
            message: MessageBuf::new(),
            reservation: None,
            over_budget: false,
            clock: carry.clock,
            envelope,
            greeted: false,
            esmtp: false,
            in_transaction: false,
            declared_size: 0,
            errors: carry.errors,
            verb: "CONNECT",
            shutdown: carry.shutdown,
            shutdown_seen: carry.shutdown_seen,
            shutdown_deadline: carry.shutdown_deadline,
        }
    }

    fn into_parts(self) -> (T, Carry) {
        let carry = Carry {
            shared: self.shared,
            remote_addr: self.envelope.remote_addr,
            errors: self.errors,
            shutdown: self.shutdown,
            shutdown_seen: self.shutdown_seen,
            shutdown_deadline: self.shutdown_deadline,
            clock: self.clock,
        };
        (self.stream, carry)
    }

    /// Reads and answers commands until the session ends.
    async fn run(&mut self) -> End {
        loop {
            let flow = if let Some(decoder) = self.data.as_mut() {
                match decoder.feed(&self.rbuf[self.pos..], &mut self.message) {
                    None => {
                        self.pos = self.rbuf.len();
                        self.charge_budget();
                        None
                    }
                    Some(used) => {
                        self.pos += used;
                        let verdict = decoder.verdict();
                        let size = decoder.size();
                        self.charge_budget();
                        self.data = None;
                        Some(self.end_of_data(verdict, size).await)
                    }
                }
            } else {
                match self.framer.next(&self.rbuf[self.pos..]) {
                    Framed::NeedMore { discard } => {
                        self.pos += discard;
                        None
                    }
                    Framed::Line { len } => {
                        self.clock.command_done();
                        let start = self.pos;
                        self.pos += len;
                        Some(self.command(start, len).await)
                    }
                    Framed::BareLineEnding { len } => {
                        self.clock.command_done();
                        self.pos += len;
                        Some(
                            self.error("500 5.5.2 bare CR or LF in command; use CRLF line endings"),
                        )
                    }
                    Framed::TooLong { len } => {
                        self.clock.command_done();
                        self.pos += len;
                        Some(self.error("500 5.5.2 Line too long"))
                    }
                }
            };
            match flow {
                Some(Flow::Continue) => {
                    if self.errors > 0 && self.errors >= self.shared.config.max_errors {
                        tracing::debug!(remote_addr = %self.envelope.remote_addr, "too many errors");
                        let reply = format!(
                            "421 4.7.0 {} Too many errors, closing connection",
                            self.shared.config.hostname
                        );
                        self.close_with(&reply).await;
                        return End::Closed;
                    }
                }
                Some(Flow::Close) => {
                    self.close().await;
                    return End::Closed;
                }
                Some(Flow::StartTls) => return End::StartTls,
                None => {
                    if !self.fill().await {
                        return End::Closed;
                    }
                }
            }
        }
    }

    /// Parses and runs the command line at `rbuf[start..start + len]`.
    async fn command(&mut self, start: usize, len: usize) -> Flow {
        let line = &self.rbuf[start..start + len];
        self.verb = "OTHER";
        if std::str::from_utf8(line).is_err() {
            return self.error("500 5.5.2 Command is not valid UTF-8");
        }
        let request = match Request::parse(&mut line.iter()) {
            Ok(request) => request.into_owned(),
            Err(err) => return self.parse_error(err),
        };
        let request = match request {
            // smtp-proto reads both `<>` and `<Postmaster>` as an empty address; RFC 5321
            // requires accepting the latter as a recipient.
            Request::Rcpt { mut to } if to.address.is_empty() => {
                if line
                    .to_ascii_lowercase()
                    .windows(12)
                    .any(|w| w == b"<postmaster>")
                {
                    to.address = "postmaster".to_owned();
                }
                Request::Rcpt { to }
            }
            other => other,
        };
        self.verb = verb(&request);
        match request {
            Request::Ehlo { host } => self.ehlo(host, true),
            Request::Helo { host } => self.ehlo(host, false),
            Request::Mail { from } => self.mail(from),
            Request::Rcpt { to } => self.rcpt(to).await,
            Request::Data => self.data(),
            Request::StartTls => self.starttls(),
            Request::Rset => self.rset(),
            Request::Noop { .. } => self.noop(),
            Request::Quit => self.quit(),
            Request::Vrfy { .. } => self.vrfy(),
            Request::Help { .. } => self.help(),
            Request::Lhlo { .. } => self.unknown_command(),
            Request::Bdat { .. }
            | Request::Auth { .. }
            | Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => self.not_implemented(),
        }
    }

    /// Queues one reply line; `text` has no CRLF. A refusal (4xx or 5xx) is counted in
    /// `mailroom_smtp_refusals_total` by the command it answers and its class.
    fn reply(&mut self, text: &str) {
        if let Some(class) = refusal_class(text) {
            metrics::counter!("mailroom_smtp_refusals_total", "command" => self.verb, "reply" => class).increment(1);
        }
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// Queues a reply that counts against [`SmtpConfig::max_errors`].
    fn error(&mut self, text: &str) -> Flow {
        self.errors += 1;
        self.reply(text);
        Flow::Continue
    }

    /// Ends the transaction in progress, keeping the greeting.
    fn reset_transaction(&mut self) {
        self.envelope.mail_from.clear();
        self.envelope.rcpt_to.clear();
        self.envelope.body_8bit = false;
        self.envelope.smtputf8 = false;
        self.in_transaction = false;
        self.declared_size = 0;
        self.reservation = None;
        self.over_budget = false;
    }

    /// Holds budget for the memory the message being read takes; without room, stops keeping
    /// the message (it is still read to its end, then refused with `451 4.3.1`).
    fn charge_budget(&mut self) {
        if self.over_budget {
            return;
        }
        let needed = self.message.capacity();
        let Some(reservation) = self.reservation.as_mut() else {
            return;
        };
        if !reservation.grow_to(needed) {
            tracing::debug!(remote_addr = %self.envelope.remote_addr, "in-flight message budget exhausted");
            self.over_budget = true;
            match self.data.as_mut() {
                Some(decoder) => decoder.stop_buffering(&mut self.message),
                None => self.message = MessageBuf::new(),
            }
        }
    }

    /// Says whether the session may be closed at once on shutdown: nothing is in progress.
    fn is_idle(&self) -> bool {
        self.data.is_none()
            && !self.in_transaction
            && self.pos == self.rbuf.len()
            && !self.framer.in_long_line()
    }

    /// Writes the queued replies. Returns `false` when the connection is gone.
    async fn flush(&mut self) -> bool {
        if self.out.is_empty() {
            return true;
        }
        let timeout = self
            .shared
            .config
            .idle_timeout
            .min(self.shared.config.command_timeout);
        let write = async {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await
        };
        let result = tokio::time::timeout(timeout, write).await;
        self.out.clear();
        match result {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                tracing::debug!(remote_addr = %self.envelope.remote_addr, error = %err, "SMTP write failed");
                false
            }
            Err(_) => {
                tracing::debug!(remote_addr = %self.envelope.remote_addr, "SMTP write timed out");
                false
            }
        }
    }

    /// Writes the queued replies and closes the connection.
    async fn close(&mut self) {
        if self.flush().await {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.stream.shutdown()).await;
        }
    }

    /// Queues `text`, writes the queued replies and closes the connection.
    async fn close_with(&mut self, text: &str) {
        self.reply(text);
        self.close().await;
    }

    /// Writes the queued replies and reads more input, watching the idle timeout and shutdown.
    /// Returns `false` when the session is over (the client is gone or was told `421`).
    async fn fill(&mut self) -> bool {
        if !self.flush().await {
            return false;
        }
        if self.pos == self.rbuf.len() {
            self.rbuf.clear();
        } else {
            self.rbuf.drain(..self.pos);
        }
        self.pos = 0;
        let chunk = if self.data.is_some() {
            DATA_READ
        } else {
            COMMAND_READ
        };
        self.rbuf.reserve(chunk);

        // Reading resets the idle timeout only; the session, command and DATA-rate deadlines
        // of the clock do not move for a byte.
        let idle_deadline = Instant::now() + self.shared.config.idle_timeout;
        loop {
            if self.shutdown_deadline.is_some() && self.is_idle() {
                // Shutting down and the transaction that was in progress has ended.
                self.close_shutting_down().await;
                return false;
            }
            let now = Instant::now();
            let mut deadline = (idle_deadline, Deadline::Idle);
            let clock = self.clock.next(now, self.data.is_some());
            if clock.0 < deadline.0 {
                deadline = clock;
            }
            if let Some(at) = self.shutdown_deadline
                && at <= deadline.0
            {
                deadline = (at, Deadline::Shutdown);
            }
            if deadline.0 <= now {
                self.expire(deadline.1).await;
                return false;
            }
            let shutdown = &mut self.shutdown;
            let watch_shutdown = !self.shutdown_seen;
            tokio::select! {
                biased;
                read = self.stream.read_buf(&mut self.rbuf) => {
                    return match read {
                        Ok(0) => {
                            tracing::debug!(remote_addr = %self.envelope.remote_addr, "client closed the connection");
                            false
                        }
                        Ok(n) => {
                            if self.data.is_some() {
                                self.clock.read(n);
                            }
                            true
                        }
                        Err(err) => {
                            tracing::debug!(remote_addr = %self.envelope.remote_addr, error = %err, "SMTP read failed");
                            false
                        }
                    };
                }
                signalled = async { shutdown.wait_for(|stop| *stop).await.is_ok() }, if watch_shutdown => {
                    self.shutdown_seen = true;
                    if signalled {
                        if self.is_idle() {
                            self.close_shutting_down().await;
                            return false;
                        }
                        self.shutdown_deadline = Some(now + self.shared.config.shutdown_grace);
                    }
                }
                // Looping re-evaluates: a DATA-rate window that got enough bytes is renewed.
                () = tokio::time::sleep_until(deadline.0) => {}
            }
        }
    }

    /// Closes the session because `deadline` passed.
    async fn expire(&mut self, deadline: Deadline) {
        if deadline != Deadline::Shutdown {
            tracing::debug!(remote_addr = %self.envelope.remote_addr, ?deadline, "SMTP session timed out");
        }
        let reply = deadline.reply(&self.shared.config.hostname);
        self.close_with(&reply).await;
    }

    async fn close_shutting_down(&mut self) {
        self.expire(Deadline::Shutdown).await;
    }
}

/// Makes handler-supplied text safe for a reply line: printable ASCII only, bounded length.
/// The command a request is, as refusals are labelled.
fn verb(request: &Request<String>) -> &'static str {
    match request {
        Request::Ehlo { .. } | Request::Helo { .. } | Request::Lhlo { .. } => "EHLO",
        Request::Mail { .. } => "MAIL",
        Request::Rcpt { .. } => "RCPT",
        Request::Data | Request::Bdat { .. } => "DATA",
        Request::StartTls => "STARTTLS",
        Request::Auth { .. } => "AUTH",
        _ => "OTHER",
    }
}

/// `4xx` or `5xx` for a refusal, `None` for any other reply.
fn refusal_class(text: &str) -> Option<&'static str> {
    match text.as_bytes().first() {
        Some(b'4') => Some("4xx"),
        Some(b'5') => Some("5xx"),
        _ => None,
    }
}

fn reply_text(text: &str, fallback: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                ' '
            }
        })
        .take(200)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned.to_owned()
    }
}
