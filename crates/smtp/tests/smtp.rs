//! The inbound SMTP server over real TCP on 127.0.0.1, driven by a raw client that checks every
//! reply, with a handler that records what it is given and decides by address.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mailroom_smtp::{
    DeliveryOutcome, Envelope, InboundHandler, RcptDecision, SmtpConfig, TlsError, self_signed_tls,
    serve, tls_from_pem_files,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

const HOST: &str = "mx.example.test";
const SMUGGLED: &str = "MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nsmuggled\r\n.\r\n";

// ---------------------------------------------------------------------------------------------
// Test handler

/// Records recipients checked and messages delivered. Recipients: `unknown@…` does not exist,
/// `tempfail@…` cannot be checked, domains other than example.test are relaying (except the
/// bare `postmaster`). Messages containing `REJECT-ME` or `TEMPFAIL-ME` are refused.
#[derive(Default)]
struct Recorder {
    checked: Mutex<Vec<String>>,
    delivered: Mutex<Vec<(Envelope, Vec<u8>)>>,
    queue_ids: AtomicUsize,
}

impl Recorder {
    fn delivered(&self) -> Vec<(Envelope, Vec<u8>)> {
        self.delivered.lock().unwrap().clone()
    }

    fn checked(&self) -> Vec<String> {
        self.checked.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl InboundHandler for Recorder {
    async fn check_recipient(&self, _envelope: &Envelope, rcpt: &str) -> RcptDecision {
        self.checked.lock().unwrap().push(rcpt.to_owned());
        if rcpt == "postmaster" {
            return RcptDecision::Accept;
        }
        let (local, domain) = rcpt.rsplit_once('@').unwrap_or((rcpt, ""));
        if !domain.eq_ignore_ascii_case("example.test") {
            return RcptDecision::RelayDenied;
        }
        match local {
            "unknown" => RcptDecision::UnknownMailbox,
            "tempfail" => RcptDecision::TemporaryFailure("Directory\r\n250 unavailable".into()),
            _ => RcptDecision::Accept,
        }
    }

    async fn deliver(&self, envelope: &Envelope, message: Vec<u8>) -> DeliveryOutcome {
        if contains(&message, b"REJECT-ME") {
            return DeliveryOutcome::Rejected("Content refused".into());
        }
        if contains(&message, b"TEMPFAIL-ME") {
            return DeliveryOutcome::TemporaryFailure("Storage busy".into());
        }
        self.delivered
            .lock()
            .unwrap()
            .push((envelope.clone(), message));
        let n = self.queue_ids.fetch_add(1, Ordering::SeqCst) + 1;
        DeliveryOutcome::Accepted {
            queue_id: format!("Q{n}"),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// Server and client helpers

struct TestServer {
    addr: SocketAddr,
    recorder: Arc<Recorder>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn config() -> SmtpConfig {
    SmtpConfig {
        hostname: HOST.into(),
        max_errors: 100,
        ..SmtpConfig::default()
    }
}

async fn spawn(config: SmtpConfig) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorder = Arc::new(Recorder::default());
    let (shutdown, rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, config, recorder.clone(), rx));
    TestServer {
        addr,
        recorder,
        shutdown,
        task,
    }
}

impl TestServer {
    async fn connect(&self) -> Client<TcpStream> {
        let mut client = Client::connect_raw(self.addr).await;
        assert_eq!(client.reply().await, format!("220 {HOST} ESMTP Mailroom"));
        client
    }

    /// Connects and says EHLO.
    async fn greeted(&self) -> Client<TcpStream> {
        let mut client = self.connect().await;
        client.cmd("EHLO client.test", "250-").await;
        client
    }
}

/// A raw SMTP client: sends bytes, reads whole (multi-line) replies.
struct Client<S> {
    stream: S,
    buf: Vec<u8>,
}

impl Client<TcpStream> {
    async fn connect_raw(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Runs the TLS handshake after a `220 2.0.0` to STARTTLS.
    async fn tls(self) -> Client<tokio_rustls::client::TlsStream<TcpStream>> {
        assert!(self.buf.is_empty(), "unexpected bytes before the handshake");
        let name = ServerName::try_from(HOST).unwrap();
        let stream = tls_connector().connect(name, self.stream).await.unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// Reads one reply; lines of a multi-line reply are joined with `\n`.
    async fn reply(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(10), self.read_reply())
            .await
            .expect("timed out waiting for a reply")
            .expect("connection closed while waiting for a reply")
    }

    async fn read_reply(&mut self) -> Option<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line().await?;
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return Some(lines.join("\n"));
            }
        }
    }

    async fn read_line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8(self.buf[..pos].to_vec()).unwrap();
                self.buf.drain(..pos + 2);
                return Some(line);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Asserts that the next reply starts with `prefix` and returns it.
    async fn expect(&mut self, prefix: &str) -> String {
        let reply = self.reply().await;
        assert!(
            reply.starts_with(prefix),
            "expected a reply starting with {prefix:?}, got {reply:?}"
        );
        reply
    }

    /// Sends `line` with CRLF and asserts the reply starts with `prefix`.
    async fn cmd(&mut self, line: &str, prefix: &str) -> String {
        self.send(format!("{line}\r\n")).await;
        self.expect(prefix).await
    }

    /// Asserts that the server closes the connection without sending anything more.
    async fn expect_closed(&mut self) {
        let rest = tokio::time::timeout(Duration::from_secs(10), self.read_line())
            .await
            .expect("timed out waiting for the connection to close");
        assert_eq!(rest, None, "expected the connection to be closed");
    }

    /// Runs MAIL, RCPT and DATA with `body` (already CRLF-terminated and dot-stuffed) and
    /// returns the reply to the end of data.
    async fn transaction(&mut self, from: &str, to: &[&str], body: &[u8]) -> String {
        self.cmd(&format!("MAIL FROM:<{from}>"), "250 2.1.0").await;
        for rcpt in to {
            self.cmd(&format!("RCPT TO:<{rcpt}>"), "250 2.1.5").await;
        }
        self.cmd("DATA", "354 ").await;
        self.send(body).await;
        self.send(".\r\n").await;
        self.reply().await
    }
}

#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_connector() -> TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

fn tls_config() -> SmtpConfig {
    SmtpConfig {
        tls: Some(self_signed_tls(HOST).unwrap()),
        ..config()
    }
}

// ---------------------------------------------------------------------------------------------
// Greeting, EHLO, QUIT

#[tokio::test]
async fn banner_ehlo_helo_and_quit() {
    let server = spawn(config()).await;
    let mut c = server.connect().await;
    let ehlo = c.cmd("EHLO client.test", "250-").await;
    assert_eq!(
        ehlo,
        [
            "250-mx.example.test",
            "250-PIPELINING",
            "250-SIZE 26214400",
            "250-8BITMIME",
            "250-SMTPUTF8",
            "250 ENHANCEDSTATUSCODES",
        ]
        .join("\n")
    );
    assert_eq!(
        c.cmd("HELO client.test", "250 ").await,
        "250 mx.example.test"
    );
    assert_eq!(c.cmd("QUIT", "221 ").await, "221 2.0.0 mx.example.test Bye");
    c.expect_closed().await;
}

#[tokio::test]
async fn ehlo_offers_starttls_only_when_configured() {
    let server = spawn(tls_config()).await;
    let mut c = server.connect().await;
    let ehlo = c.cmd("EHLO client.test", "250-").await;
    assert!(
        ehlo.ends_with("250-ENHANCEDSTATUSCODES\n250 STARTTLS"),
        "{ehlo}"
    );

    let plain = spawn(config()).await;
    let mut c = plain.connect().await;
    let ehlo = c.cmd("EHLO client.test", "250-").await;
    assert!(!ehlo.contains("STARTTLS"));
    c.cmd("STARTTLS", "502 5.5.1").await;
}

// ---------------------------------------------------------------------------------------------
// Transactions

#[tokio::test]
async fn delivers_a_message_with_its_envelope() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    let local = c.stream.local_addr().unwrap();
    let body = b"From: a@sender.test\r\nTo: u1@example.test\r\nSubject: hi\r\n\r\nHello.\r\n";
    let reply = c
        .transaction(
            "a@sender.test",
            &["u1@example.test", "U2@Example.Test"],
            body,
        )
        .await;
    assert_eq!(reply, "250 2.0.0 Ok: queued as Q1");
    c.cmd("QUIT", "221 2.0.0").await;

    let delivered = server.recorder.delivered();
    assert_eq!(delivered.len(), 1);
    let (envelope, message) = &delivered[0];
    assert_eq!(
        envelope,
        &Envelope {
            mail_from: "a@sender.test".into(),
            rcpt_to: vec!["u1@example.test".into(), "U2@Example.Test".into()],
            helo: "client.test".into(),
            remote_addr: local,
            tls: false,
            body_8bit: false,
            smtputf8: false,
        }
    );
    assert_eq!(message, body);
}

#[tokio::test]
async fn null_sender_postmaster_and_duplicate_recipients() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    c.cmd("MAIL FROM:<>", "250 2.1.0").await;
    c.cmd("RCPT TO:<Postmaster>", "250 2.1.5").await;
    c.cmd("RCPT TO:<u@example.test>", "250 2.1.5").await;
    c.cmd("RCPT TO:<U@EXAMPLE.TEST>", "250 2.1.5").await;
    c.cmd("RCPT TO:<>", "501 5.1.3").await;
    c.cmd("DATA", "354 ").await;
    c.send("bounce\r\n.\r\n").await;
    c.expect("250 2.0.0").await;
    let delivered = server.recorder.delivered();
    assert_eq!(delivered[0].0.mail_from, "");
    assert_eq!(delivered[0].0.rcpt_to, ["postmaster", "u@example.test"]);
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let server = spawn(config()).await;
    let mut c = server.connect().await;
    c.send(
        "EHLO client.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<u1@example.test>\r\n\
         RCPT TO:<unknown@example.test>\r\nRCPT TO:<u2@example.test>\r\nDATA\r\n",
    )
    .await;
    c.expect("250-mx.example.test").await;
    c.expect("250 2.1.0").await;
    c.expect("250 2.1.5").await;
    c.expect("550 5.1.1").await;
    c.expect("250 2.1.5").await;
    c.expect("354 ").await;
    // The end of data, a whole second transaction and QUIT in one packet.
    c.send("first\r\n.\r\nMAIL FROM:<b@sender.test>\r\nRCPT TO:<u3@example.test>\r\nDATA\r\n")
        .await;
    c.expect("250 2.0.0 Ok: queued as Q1").await;
    c.expect("250 2.1.0").await;
    c.expect("250 2.1.5").await;
    c.expect("354 ").await;
    c.send("second\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n").await;
    c.expect("250 2.0.0 Ok: queued as Q2").await;
    c.expect("250 2.0.0 OK").await;
    c.expect("250 2.0.0 OK").await;
    c.expect("221 2.0.0").await;
    c.expect_closed().await;

    let delivered = server.recorder.delivered();
    assert_eq!(delivered.len(), 2);
    assert_eq!(
        delivered[0].0.rcpt_to,
        ["u1@example.test", "u2@example.test"]
    );
    assert_eq!(delivered[0].1, b"first\r\n");
    assert_eq!(delivered[1].0.mail_from, "b@sender.test");
    assert_eq!(delivered[1].1, b"second\r\n");
}

#[tokio::test]
async fn sequence_errors() {
    let server = spawn(config()).await;
    let mut c = server.connect().await;
    c.cmd("MAIL FROM:<a@sender.test>", "503 5.5.1").await;
    c.cmd("RCPT TO:<u@example.test>", "503 5.5.1").await;
    c.cmd("DATA", "503 5.5.1").await;
    c.cmd("EHLO client.test", "250-").await;
    c.cmd("RCPT TO:<u@example.test>", "503 5.5.1").await;
    c.cmd("DATA", "503 5.5.1").await;
    c.cmd("MAIL FROM:<a@sender.test>", "250 2.1.0").await;
    c.cmd("MAIL FROM:<a@sender.test>", "503 5.5.1").await;
    c.cmd("DATA", "554 5.5.1").await;
    c.cmd("RCPT TO:<unknown@example.test>", "550 5.1.1").await;
    c.cmd("DATA", "554 5.5.1").await;
    // RSET ends the transaction; EHLO does too.
    c.cmd("RSET", "250 2.0.0").await;
    c.cmd("RCPT TO:<u@example.test>", "503 5.5.1").await;
    c.cmd("MAIL FROM:<a@sender.test>", "250 2.1.0").await;
    c.cmd("EHLO client.test", "250-").await;
    c.cmd("RCPT TO:<u@example.test>", "503 5.5.1").await;
    assert!(server.recorder.delivered().is_empty());
}

#[tokio::test]
async fn recipient_decisions() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    c.cmd("MAIL FROM:<a@sender.test>", "250 2.1.0").await;
    c.cmd("RCPT TO:<unknown@example.test>", "550 5.1.1").await;
    c.cmd("RCPT TO:<u@elsewhere.test>", "550 5.7.1").await;
    let temp = c.cmd("RCPT TO:<tempfail@example.test>", "451 4.3.0").await;
    // The handler's text cannot inject a line into the reply.
    assert_eq!(temp, "451 4.3.0 Directory  250 unavailable");
    c.cmd("RCPT TO:<u@example.test>", "250 2.1.5").await;
    assert_eq!(
        server.recorder.checked(),
        [
            "unknown@example.test",
            "u@elsewhere.test",
            "tempfail@example.test",
            "u@example.test"
        ]
    );
}

#[tokio::test]
async fn delivery_outcomes() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], b"REJECT-ME\r\n")
        .await;
    assert_eq!(reply, "554 5.6.0 Content refused");
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], b"TEMPFAIL-ME\r\n")
        .await;
    assert_eq!(reply, "451 4.3.0 Storage busy");
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], b"fine\r\n")
        .await;
    assert_eq!(reply, "250 2.0.0 Ok: queued as Q1");
    assert_eq!(server.recorder.delivered().len(), 1);
}

#[tokio::test]
async fn other_commands_and_syntax_errors() {
    let server = spawn(config()).await;
    let mut c = server.connect().await;
    c.cmd("EHLO", "501 5.5.2").await;
    c.cmd("EHLO client.test", "250-").await;
    c.cmd("NOOP", "250 2.0.0").await;
    c.cmd("NOOP whatever", "250 2.0.0").await;
    c.cmd("VRFY someone", "252 2.0.0").await;
    c.cmd("HELP", "214 2.0.0").await;
    c.cmd("FOO bar", "500 5.5.1").await;
    c.cmd("LHLO client.test", "500 5.5.1").await;
    c.cmd("BDAT 10 LAST", "502 5.5.1").await;
    c.cmd("AUTH PLAIN AGFAYg==", "502 5.5.1").await;
    c.cmd("EXPN list", "502 5.5.1").await;
    c.cmd("ETRN example.test", "502 5.5.1").await;
    c.cmd("RSET", "250 2.0.0").await;
    c.cmd("MAIL FROM:a@sender.test", "501 5.5.2").await;
    c.cmd("MAIL FROM:<a@@sender.test>", "501 5.1.7").await;
    c.cmd("MAIL FROM:<a@sender.test> SIZE=abc", "501 5.5.4")
        .await;
    c.cmd("MAIL FROM:<a@sender.test> BODY=9BIT", "501 5.5.4")
        .await;
    c.cmd("MAIL FROM:<a@sender.test> FOO=BAR", "555 5.5.4")
        .await;
    c.cmd("MAIL FROM:<a@sender.test> BODY=BINARYMIME", "555 5.5.4")
        .await;
    c.cmd("MAIL FROM:<a@sender.test> RET=FULL", "555 5.5.4")
        .await;
    c.cmd("MAIL FROM:<a@sender.test> BODY=7BIT", "250 2.1.0")
        .await;
    c.cmd("RCPT TO:<u@example.test> NOTIFY=NEVER", "555 5.5.4")
        .await;
    c.cmd("RCPT TO:<bad address>", "501 5.1.3").await;
    c.cmd("RCPT TO:u@example.test", "501 5.5.2").await;
    c.cmd("RCPT TO:<u@example.test>", "250 2.1.5").await;
    // Control characters cannot reach the handler or a Received header.
    c.cmd("RSET", "250").await;
    c.send(b"MAIL FROM:<\"a\x01b\"@sender.test>\r\n").await;
    c.expect("501 5.1.7").await;
    c.cmd("MAIL FROM:<a@sender.test>", "250 2.1.0").await;
    c.send(b"RCPT TO:<\"a\x00b\"@example.test>\r\n").await;
    c.expect("501 5.1.3").await;
    c.send(b"EHLO bad\x7fname\r\n").await;
    c.expect("501 5.5.2").await;
    // Non-UTF-8 bytes in a command line.
    c.send(b"NOOP \xff\xfe\r\n").await;
    c.expect("500 5.5.2").await;
    c.cmd("QUIT", "221 2.0.0").await;
}

#[tokio::test]
async fn esmtp_parameters_need_ehlo() {
    let server = spawn(config()).await;
    let mut c = server.connect().await;
    c.cmd("HELO client.test", "250 mx.example.test").await;
    c.cmd("MAIL FROM:<a@sender.test> BODY=8BITMIME", "555 5.5.4")
        .await;
    c.cmd("MAIL FROM:<a@sender.test>", "250 2.1.0").await;
}

// ---------------------------------------------------------------------------------------------
// Limits

#[tokio::test]
async fn size_limit_is_exact() {
    let server = spawn(SmtpConfig {
        max_message_size: 100,
        ..config()
    })
    .await;
    let mut c = server.connect().await;
    let ehlo = c.cmd("EHLO client.test", "250-").await;
    assert!(ehlo.contains("250-SIZE 100\n"));
    c.cmd("MAIL FROM:<a@sender.test> SIZE=101", "552 5.3.4")
        .await;
    c.cmd("MAIL FROM:<a@sender.test> SIZE=100", "250 2.1.0")
        .await;
    c.cmd("RSET", "250 2.0.0").await;

    // 100 octets after unstuffing: a stuffed line counts one dot, not two.
    let mut exact = b"..x\r\n".to_vec(); // 4 octets once unstuffed
    exact.extend_from_slice(&[b'a'; 94]);
    exact.extend_from_slice(b"\r\n");
    let unstuffed_len = exact.len() - 1;
    assert_eq!(unstuffed_len, 100);
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], &exact)
        .await;
    assert_eq!(reply, "250 2.0.0 Ok: queued as Q1");

    let mut over = exact.clone();
    over.insert(10, b'a');
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], &over)
        .await;
    assert!(reply.starts_with("552 5.3.4"), "{reply}");

    // Far over the limit: read to the end without trouble, session still usable.
    let big = b"0123456789012345678901234567890123456789\r\n".repeat(10_000);
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], &big)
        .await;
    assert!(reply.starts_with("552 5.3.4"), "{reply}");
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], b"ok\r\n")
        .await;
    assert_eq!(reply, "250 2.0.0 Ok: queued as Q2");

    let delivered = server.recorder.delivered();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0].1.len(), 100);
    assert_eq!(&delivered[0].1[..4], b".x\r\n");
}

#[tokio::test]
async fn command_line_length_limit() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    // "NOOP " + padding + CRLF = 512 octets exactly.
    let ok = format!("NOOP {}", "x".repeat(512 - 5 - 2));
    c.cmd(&ok, "250 2.0.0").await;
    let long = format!("NOOP {}", "x".repeat(512 - 5 - 1));
    c.cmd(&long, "500 5.5.2").await;
    // A huge line gets a single reply, and the line after it is read normally.
    let huge = format!("MAIL FROM:<{}@sender.test>", "y".repeat(100_000));
    c.send(format!("{huge}\r\nNOOP\r\n")).await;
    c.expect("500 5.5.2").await;
    c.expect("250 2.0.0").await;
}

#[tokio::test]
async fn bare_cr_or_lf_never_splits_a_command() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    // Read as one line: refused whole, so no transaction starts.
    c.send("MAIL FROM:<a@sender.test>\nRCPT TO:<u@example.test>\r\n")
        .await;
    c.expect("500 5.5.2").await;
    c.cmd("RCPT TO:<u@example.test>", "503 5.5.1").await;
    c.send("NOOP\rNOOP\r\n").await;
    c.expect("500 5.5.2").await;
    c.cmd("NOOP", "250 2.0.0").await;
    assert!(server.recorder.checked().is_empty());
}

#[tokio::test]
async fn recipient_limit() {
    let server = spawn(SmtpConfig {
        max_recipients: 2,
        ..config()
    })
    .await;
    let mut c = server.greeted().await;
    c.cmd("MAIL FROM:<a@sender.test>", "250 2.1.0").await;
    c.cmd("RCPT TO:<u1@example.test>", "250 2.1.5").await;
    c.cmd("RCPT TO:<u2@example.test>", "250 2.1.5").await;
    c.cmd("RCPT TO:<u1@example.test>", "250 2.1.5").await; // a duplicate is not a new one
    c.cmd("RCPT TO:<u3@example.test>", "452 4.5.3").await;
    c.cmd("DATA", "354 ").await;
    c.send("hi\r\n.\r\n").await;
    c.expect("250 2.0.0").await;
    let delivered = server.recorder.delivered();
    assert_eq!(
        delivered[0].0.rcpt_to,
        ["u1@example.test", "u2@example.test"]
    );
    assert!(
        !server
            .recorder
            .checked()
            .contains(&"u3@example.test".to_owned())
    );
}

#[tokio::test]
async fn error_cap_closes_the_session() {
    let server = spawn(SmtpConfig {
        max_errors: 3,
        ..config()
    })
    .await;
    let mut c = server.greeted().await;
    c.cmd("NOOP", "250 2.0.0").await;
    c.send("FOO\r\nBAR\r\nRCPT TO:<u@example.test>\r\nNOOP\r\n")
        .await;
    c.expect("500 5.5.1").await;
    c.expect("500 5.5.1").await;
    c.expect("503 5.5.1").await;
    assert_eq!(
        c.reply().await,
        "421 4.7.0 mx.example.test Too many errors, closing connection"
    );
    c.expect_closed().await;
}

#[tokio::test]
async fn idle_timeout_closes_the_session() {
    let server = spawn(SmtpConfig {
        idle_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut c = server.greeted().await;
    let started = Instant::now();
    c.expect("421 4.4.2").await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    c.expect_closed().await;

    // Also in the middle of DATA.
    let mut c = server.greeted().await;
    c.cmd("MAIL FROM:<a@sender.test>", "250").await;
    c.cmd("RCPT TO:<u@example.test>", "250").await;
    c.cmd("DATA", "354").await;
    c.send("partial message\r\n").await;
    c.expect("421 4.4.2").await;
    c.expect_closed().await;
    assert!(server.recorder.delivered().is_empty());
}

#[tokio::test]
async fn connection_cap() {
    let server = spawn(SmtpConfig {
        max_connections: 2,
        ..config()
    })
    .await;
    let mut c1 = server.connect().await;
    let _c2 = server.connect().await;
    let mut c3 = Client::connect_raw(server.addr).await;
    assert_eq!(
        c3.reply().await,
        "421 4.3.2 mx.example.test Too many connections, try again later"
    );
    c3.expect_closed().await;

    c1.cmd("QUIT", "221").await;
    c1.expect_closed().await;
    // The slot frees once the session task ends.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = Client::connect_raw(server.addr).await;
        let reply = c.reply().await;
        if reply.starts_with("220 ") {
            break;
        }
        assert!(reply.starts_with("421 4.3.2"));
        assert!(Instant::now() < deadline, "connection slot never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// DATA: end detection, smuggling, unstuffing, 8-bit

#[tokio::test]
async fn smuggling_attempts_deliver_nothing() {
    for fake_end in ["\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r"] {
        let server = spawn(config()).await;
        let mut c = server.greeted().await;
        c.cmd("MAIL FROM:<a@sender.test>", "250 2.1.0").await;
        c.cmd("RCPT TO:<u@example.test>", "250 2.1.5").await;
        c.cmd("DATA", "354 ").await;
        // The smuggled transaction's own CRLF.CRLF is the real end of this message.
        c.send(format!(
            "Subject: hi\r\n\r\nhello{fake_end}{SMUGGLED}QUIT\r\n"
        ))
        .await;
        assert_eq!(
            c.reply().await,
            "550 5.5.2 bare CR or LF in message; use CRLF line endings",
            "fake end {fake_end:?}"
        );
        // The next reply is QUIT's: no second transaction was ever started.
        c.expect("221 2.0.0").await;
        c.expect_closed().await;
        assert!(server.recorder.delivered().is_empty(), "{fake_end:?}");
        assert!(
            server.recorder.checked() == ["u@example.test"],
            "{fake_end:?}"
        );
    }
}

#[tokio::test]
async fn smuggling_split_across_packets_delivers_nothing() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    c.cmd("MAIL FROM:<a@sender.test>", "250 2.1.0").await;
    c.cmd("RCPT TO:<u@example.test>", "250 2.1.5").await;
    c.cmd("DATA", "354 ").await;
    let attack = format!("hello\n.\n{SMUGGLED}");
    for b in attack.as_bytes() {
        c.send([*b]).await;
    }
    c.expect("550 5.5.2").await;
    c.cmd("NOOP", "250 2.0.0").await;
    assert!(server.recorder.delivered().is_empty());
}

#[tokio::test]
async fn unix_line_endings_are_refused_and_the_session_goes_on() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    let reply = c
        .transaction(
            "a@sender.test",
            &["u@example.test"],
            b"Subject: x\n\nbody\n\r\n",
        )
        .await;
    assert!(reply.starts_with("550 5.5.2"), "{reply}");
    let reply = c
        .transaction(
            "a@sender.test",
            &["u@example.test"],
            b"Subject: x\r\n\r\nbody\r\n",
        )
        .await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    let delivered = server.recorder.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].1, b"Subject: x\r\n\r\nbody\r\n");
}

#[tokio::test]
async fn dot_unstuffing_is_exact() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    let reply = c
        .transaction(
            "a@sender.test",
            &["u@example.test"],
            b"..starts with a dot\r\nmiddle\r\n..\r\n...two\r\nx.y\r\n\r\n",
        )
        .await;
    assert!(reply.starts_with("250 2.0.0"));
    // An empty message.
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], b"")
        .await;
    assert!(reply.starts_with("250 2.0.0"));
    let delivered = server.recorder.delivered();
    assert_eq!(
        delivered[0].1,
        b".starts with a dot\r\nmiddle\r\n.\r\n..two\r\nx.y\r\n\r\n"
    );
    assert_eq!(delivered[1].1, b"");
}

#[tokio::test]
async fn end_marker_split_across_packets() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    for cut in 0..=5 {
        c.cmd("MAIL FROM:<a@sender.test>", "250").await;
        c.cmd("RCPT TO:<u@example.test>", "250").await;
        c.cmd("DATA", "354").await;
        let data = b"line\r\n.\r\n";
        let (a, b) = data.split_at(4 + cut);
        c.send(a).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        c.send(b).await;
        c.expect("250 2.0.0").await;
    }
    for (_, message) in server.recorder.delivered() {
        assert_eq!(message, b"line\r\n");
    }
}

#[tokio::test]
async fn eight_bit_and_utf8_pass_through() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    c.cmd("MAIL FROM:<jörg@exämple.test>", "553 5.6.7").await;
    c.cmd(
        "MAIL FROM:<jörg@exämple.test> BODY=8BITMIME SMTPUTF8",
        "250 2.1.0",
    )
    .await;
    c.cmd("RCPT TO:<üser@example.test>", "250 2.1.5").await;
    c.cmd("DATA", "354 ").await;
    let mut body = "Subject: Grüße 世界 😀\r\n\r\nÄÖÜ\r\n".as_bytes().to_vec();
    body.extend_from_slice(&[0x80, 0xff, 0x00, 0x7f, b'\r', b'\n']);
    c.send(&body).await;
    c.send(".\r\n").await;
    c.expect("250 2.0.0").await;

    c.cmd("MAIL FROM:<a@sender.test>", "250 2.1.0").await;
    c.cmd("RCPT TO:<üser@example.test>", "553 5.6.7").await;

    let delivered = server.recorder.delivered();
    let (envelope, message) = &delivered[0];
    assert_eq!(message, &body);
    assert_eq!(envelope.mail_from, "jörg@exämple.test");
    assert_eq!(envelope.rcpt_to, ["üser@example.test"]);
    assert!(envelope.body_8bit && envelope.smtputf8);
}

#[tokio::test]
async fn large_message_arrives_intact() {
    let server = spawn(config()).await;
    let mut c = server.greeted().await;
    let mut body = Vec::new();
    let mut expected = Vec::new();
    for i in 0..100_000 {
        let line = format!("{i:06} The quick brown fox jumps over the lazy dog. 0123456789\r\n");
        if i % 1000 == 0 {
            body.push(b'.');
        }
        body.extend_from_slice(line.as_bytes());
        expected.extend_from_slice(line.as_bytes());
    }
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], &body)
        .await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    let delivered = server.recorder.delivered();
    assert_eq!(delivered[0].1.len(), expected.len());
    assert!(delivered[0].1 == expected);
}

// ---------------------------------------------------------------------------------------------
// STARTTLS

#[tokio::test]
async fn starttls_resets_the_session_and_carries_a_transaction() {
    let server = spawn(tls_config()).await;
    let mut c = server.greeted().await;
    c.cmd("MAIL FROM:<a@sender.test>", "250 2.1.0").await;
    c.cmd("STARTTLS", "503 5.5.1").await;
    c.cmd("RSET", "250").await;
    c.cmd("STARTTLS", "220 2.0.0").await;
    let mut c = c.tls().await;
    // The session starts over: the client must greet again.
    c.cmd("MAIL FROM:<a@sender.test>", "503 5.5.1").await;
    let ehlo = c.cmd("EHLO tls.client.test", "250-").await;
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    c.cmd("STARTTLS", "503 5.5.1").await;
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], b"over TLS\r\n")
        .await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    c.cmd("QUIT", "221 2.0.0").await;

    let delivered = server.recorder.delivered();
    assert_eq!(delivered.len(), 1);
    assert!(delivered[0].0.tls);
    assert_eq!(delivered[0].0.helo, "tls.client.test");
    assert_eq!(delivered[0].1, b"over TLS\r\n");
}

#[tokio::test]
async fn starttls_discards_pipelined_plaintext() {
    let server = spawn(tls_config()).await;
    let mut c = server.greeted().await;
    // CVE-2011-0411: commands sent in plaintext after STARTTLS, before the handshake.
    c.send(
        "STARTTLS\r\nEHLO evil.test\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@example.test>\r\n",
    )
    .await;
    c.expect("220 2.0.0").await;
    let mut c = c.tls().await;
    // Had the injected commands run, this RCPT would be accepted and other replies queued.
    c.cmd("RCPT TO:<u@example.test>", "503 5.5.1").await;
    c.cmd("MAIL FROM:<a@sender.test>", "503 5.5.1").await;
    c.cmd("EHLO tls.client.test", "250-mx.example.test").await;
    c.cmd("NOOP", "250 2.0.0").await;
    assert!(server.recorder.checked().is_empty());
}

#[tokio::test]
async fn failed_tls_handshake_ends_the_session_quietly() {
    let server = spawn(tls_config()).await;
    let mut c = server.greeted().await;
    c.cmd("STARTTLS", "220 2.0.0").await;
    c.send("this is not a TLS client hello\r\n").await;
    c.expect_closed().await;
    // The server is fine.
    let mut c = server.greeted().await;
    c.cmd("NOOP", "250").await;
}

#[tokio::test]
async fn tls_from_pem_files_loads_a_certificate_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec![HOST.to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();

    let tls = tls_from_pem_files(&cert_path, &key_path).unwrap();
    let server = spawn(SmtpConfig {
        tls: Some(tls),
        ..config()
    })
    .await;
    let mut c = server.greeted().await;
    c.cmd("STARTTLS", "220 2.0.0").await;
    let mut c = c.tls().await;
    c.cmd("EHLO tls.client.test", "250-").await;

    let missing = dir.path().join("missing.pem");
    assert!(matches!(
        tls_from_pem_files(&missing, &key_path),
        Err(TlsError::Read { .. })
    ));
    assert!(matches!(
        tls_from_pem_files(&key_path, &key_path),
        Err(TlsError::NoCertificate { .. })
    ));
    assert!(matches!(
        tls_from_pem_files(&cert_path, &cert_path),
        Err(TlsError::NoPrivateKey { .. })
    ));
    let other = rcgen::generate_simple_self_signed(vec![HOST.to_owned()]).unwrap();
    let other_key = dir.path().join("other-key.pem");
    std::fs::write(&other_key, other.signing_key.serialize_pem()).unwrap();
    assert!(matches!(
        tls_from_pem_files(&cert_path, &other_key),
        Err(TlsError::Rustls(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Shutdown and robustness

#[tokio::test]
async fn graceful_shutdown() {
    let grace = Duration::from_millis(700);
    let server = spawn(SmtpConfig {
        shutdown_grace: grace,
        ..config()
    })
    .await;
    let mut idle = server.greeted().await;
    let mut busy = server.greeted().await;
    busy.cmd("MAIL FROM:<a@sender.test>", "250").await;
    busy.cmd("RCPT TO:<u@example.test>", "250").await;
    let mut stalled = server.greeted().await;
    stalled.cmd("MAIL FROM:<a@sender.test>", "250").await;

    let started = Instant::now();
    server.shutdown.send(true).unwrap();
    // An idle session is closed at once.
    idle.expect("421 4.3.2").await;
    idle.expect_closed().await;
    assert!(started.elapsed() < grace);
    // A session in a transaction may finish it, then is closed.
    busy.cmd("DATA", "354").await;
    busy.send("last one\r\n.\r\n").await;
    busy.expect("250 2.0.0").await;
    busy.expect("421 4.3.2").await;
    busy.expect_closed().await;
    // One that does not finish is closed when the grace is over.
    stalled.expect("421 4.3.2").await;
    stalled.expect_closed().await;
    assert!(started.elapsed() >= grace);

    tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("serve did not return")
        .unwrap();
    assert_eq!(server.recorder.delivered().len(), 1);
    assert!(TcpStream::connect(server.addr).await.is_err());
}

/// Names of test threads on which something panicked (the server runs on the test's thread).
fn panicked_threads() -> &'static Mutex<Vec<String>> {
    static PANICS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    PANICS.get_or_init(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            if let Some(panics) = PANICS.get() {
                panics.lock().unwrap_or_else(|e| e.into_inner()).push(name);
            }
            default_hook(info);
        }));
        Mutex::new(Vec::new())
    })
}

#[tokio::test]
async fn garbage_input_never_breaks_the_server() {
    let panics = panicked_threads();
    let server = spawn(SmtpConfig {
        max_message_size: 2000,
        max_errors: 1000,
        ..config()
    })
    .await;
    let pieces: [&[u8]; 16] = [
        b"\r\n",
        b"\n",
        b"\r",
        b".",
        b"..",
        b"\x00",
        b"\xff\xfe",
        b"EHLO x\r\n",
        b"MAIL FROM:<a@b.test> SIZE=99999999999999999999999\r\n",
        b"RCPT TO:<u@example.test>\r\n",
        b"DATA\r\n",
        b"BDAT 5\r\n",
        b"MAIL FROM:<\"\\\\\"@[::1]> BODY=\r\n",
        b"RCPT TO:<@a,@b:c@example.test> ORCPT=rfc822;x+2B\r\n",
        b"STARTTLS\r\n",
        b"\xf0\x9f\x98\x80 ",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..60 {
        let mut c = server.connect().await;
        let mut input = Vec::new();
        for _ in 0..(next() % 300) {
            input.extend_from_slice(pieces[(next() % 16) as usize]);
            if next() % 5 == 0 {
                input.push((next() % 256) as u8);
            }
        }
        c.send(&input).await;
        c.send("\r\n.\r\nQUIT\r\n").await;
        // Read whatever comes back until the server closes or goes quiet.
        let _ = tokio::time::timeout(Duration::from_millis(300), async {
            while c.read_line().await.is_some() {}
        })
        .await;
    }
    let mut c = server.greeted().await;
    let reply = c
        .transaction("a@sender.test", &["u@example.test"], b"still here\r\n")
        .await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    let me = std::thread::current().name().unwrap_or("").to_owned();
    assert!(!panics.lock().unwrap().contains(&me), "the server panicked");
}

