//! A small, real SMTP server for tests: a scripted tokio TCP responder on 127.0.0.1.
//!
//! It speaks enough SMTP for a sending client: the greeting, EHLO/HELO (offering STARTTLS
//! and AUTH PLAIN/LOGIN when configured), STARTTLS, AUTH, MAIL, RCPT, DATA with
//! dot-unstuffing, RSET, NOOP and QUIT, over plain TCP, STARTTLS or implicit TLS. A
//! [`Responder`] picks the reply of each stage per connection ("451 on the first attempt,
//! 250 after"), and everything received is recorded.

use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A point of the dialogue the script can answer differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The greeting.
    Banner,
    /// `MAIL FROM` with this address.
    Mail(String),
    /// `RCPT TO` with this address.
    Rcpt(String),
    /// The `DATA` command.
    Data,
    /// The end of the message (the reply that decides delivery).
    EndOfData,
}

/// What to answer at a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The usual positive reply.
    Default,
    /// This line, such as `451 4.7.1 Try again later`.
    Text(String),
    /// Say nothing and keep the connection open (a stuck server).
    Hang,
}

/// Picks the reply: `(connection number from 0, step) -> reply`.
pub type Responder = Arc<dyn Fn(usize, &Step) -> Reply + Send + Sync>;

/// A responder that always gives the default replies.
pub fn accept_all() -> Responder {
    Arc::new(|_, _| Reply::Default)
}

/// How the server behaves.
#[derive(Clone)]
pub struct ServerOptions {
    /// Offer STARTTLS with this configuration.
    pub starttls: Option<Arc<rustls::ServerConfig>>,
    /// Speak TLS from the first byte with this configuration.
    pub implicit_tls: Option<Arc<rustls::ServerConfig>>,
    /// Offer STARTTLS, then answer the handshake with garbage and hang up.
    pub broken_starttls: bool,
    /// Offer AUTH PLAIN and LOGIN (after TLS when STARTTLS is offered) and accept only
    /// these credentials.
    pub auth: Option<(String, String)>,
    /// The script.
    pub responder: Responder,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self { starttls: None, broken_starttls: false, implicit_tls: None, auth: None, responder: accept_all() }
    }
}

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Which connection (from 0) carried it.
    pub connection: usize,
    /// The EHLO/HELO name.
    pub helo: String,
    /// Whether the session was encrypted.
    pub tls: bool,
    /// The user that authenticated, if any.
    pub auth_user: Option<String>,
    /// `MAIL FROM`.
    pub mail_from: String,
    /// The recipients the server accepted.
    pub rcpt_to: Vec<String>,
    /// The message, dot-unstuffed, with CRLF line ends.
    pub data: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    connections: usize,
    received: Vec<Received>,
    /// Every command line received, with its connection number.
    commands: Vec<(usize, String)>,
}

/// A running test server; it stops when the test's runtime does.
#[derive(Clone)]
pub struct TestSmtp {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl TestSmtp {
    /// Starts a server on a free port of 127.0.0.1.
    pub async fn start(options: ServerOptions) -> TestSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the test SMTP server");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State::default()));
        let server = TestSmtp { addr, state: state.clone() };
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let n = {
                    let mut s = state.lock().unwrap();
                    s.connections += 1;
                    s.connections - 1
                };
                let options = options.clone();
                let state = state.clone();
                tokio::spawn(async move {
                    let mut session = Session { n, options: options.clone(), state, helo: String::new(), auth_user: None, tls: false };
                    if let Some(tls) = options.implicit_tls.clone() {
                        let Ok(stream) = TlsAcceptor::from(tls).accept(stream).await else { return };
                        session.tls = true;
                        session.serve(stream, true).await;
                    } else if let Some(Upgrade(stream)) = session.serve(stream, true).await {
                        let Some(tls) = options.starttls.clone() else { return };
                        let Ok(stream) = TlsAcceptor::from(tls).accept(stream).await else { return };
                        session.tls = true;
                        session.serve(stream, false).await;
                    }
                });
            }
        });
        server
    }

    /// Returns the port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Returns the messages accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Returns how many connections were made.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    /// Returns every command line received so far (AUTH payloads included).
    pub fn commands(&self) -> Vec<(usize, String)> {
        self.state.lock().unwrap().commands.clone()
    }
}

struct Upgrade<S>(S);

struct Session {
    n: usize,
    options: ServerOptions,
    state: Arc<Mutex<State>>,
    helo: String,
    auth_user: Option<String>,
    tls: bool,
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn unb64(s: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s.trim()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn address(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg[start..].find('>').map_or(arg.len(), |i| start + i);
    arg[start..end].to_string()
}

impl Session {
    fn reply(&self, step: &Step, default: &str) -> Option<String> {
        match (self.options.responder)(self.n, step) {
            Reply::Default => Some(default.to_string()),
            Reply::Text(t) => Some(t),
            Reply::Hang => None,
        }
    }

    /// Serves one session until QUIT or the end of the stream; returns the stream when the
    /// client asked for STARTTLS.
    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(&mut self, stream: S, greet: bool) -> Option<Upgrade<S>> {
        let mut io = BufReader::new(stream);
        macro_rules! send {
            ($text:expr) => {{
                let text: String = $text;
                if io.get_mut().write_all(format!("{text}\r\n").as_bytes()).await.is_err() {
                    return None;
                }
                let _ = io.get_mut().flush().await;
            }};
        }
        macro_rules! answer {
            ($step:expr, $default:expr) => {{
                match self.reply(&$step, $default) {
                    Some(text) => {
                        let ok = text.starts_with('2') || text.starts_with('3');
                        send!(text);
                        ok
                    }
                    None => {
                        std::future::pending::<()>().await;
                        false
                    }
                }
            }};
        }
        if greet && !answer!(Step::Banner, "220 test.smtp.local ESMTP ready") {
            return None;
        }
        let mut mail_from: Option<String> = None;
        let mut rcpts: Vec<String> = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            match io.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            self.state.lock().unwrap().commands.push((self.n, text.clone()));
            let (verb, arg) = match text.split_once(' ') {
                Some((v, a)) => (v.to_ascii_uppercase(), a.to_string()),
                None => (text.to_ascii_uppercase(), String::new()),
            };
            match verb.as_str() {
                "EHLO" => {
                    self.helo = arg.clone();
                    let mut lines = vec!["test.smtp.local greets you".to_string(), "PIPELINING".into(), "8BITMIME".into(), "SMTPUTF8".into()];
                    if (self.options.starttls.is_some() || self.options.broken_starttls) && !self.tls {
                        lines.push("STARTTLS".into());
                    }
                    if self.options.auth.is_some() && (self.tls || self.options.starttls.is_none()) {
                        lines.push("AUTH PLAIN LOGIN".into());
                    }
                    let last = lines.len() - 1;
                    let text = lines.iter().enumerate().map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' })).collect::<Vec<_>>().join("\r\n");
                    send!(text);
                }
                "HELO" => {
                    self.helo = arg.clone();
                    send!("250 test.smtp.local".to_string());
                }
                "STARTTLS" if self.options.broken_starttls => {
                    send!("220 2.0.0 Ready to start TLS".to_string());
                    send!("this is not a TLS handshake".to_string());
                    let _ = io.get_mut().shutdown().await;
                    return None;
                }
                "STARTTLS" if self.options.starttls.is_some() && !self.tls => {
                    send!("220 2.0.0 Ready to start TLS".to_string());
                    return Some(Upgrade(io.into_inner()));
                }
                "AUTH" if self.options.auth.is_some() => {
                    let (mech, initial) = match arg.split_once(' ') {
                        Some((m, i)) => (m.to_ascii_uppercase(), Some(i.to_string())),
                        None => (arg.to_ascii_uppercase(), None),
                    };
                    let (user, pass) = match mech.as_str() {
                        "PLAIN" => {
                            let payload = match initial {
                                Some(p) => p,
                                None => {
                                    send!("334 ".to_string());
                                    line.clear();
                                    if io.read_until(b'\n', &mut line).await.is_err() {
                                        return None;
                                    }
                                    String::from_utf8_lossy(&line).trim().to_string()
                                }
                            };
                            let decoded = unb64(&payload);
                            let mut parts = decoded.split('\0').skip(1);
                            (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string())
                        }
                        "LOGIN" => {
                            let mut creds = Vec::new();
                            for prompt in ["Username:", "Password:"] {
                                send!(format!("334 {}", b64(prompt)));
                                line.clear();
                                if io.read_until(b'\n', &mut line).await.is_err() {
                                    return None;
                                }
                                creds.push(unb64(&String::from_utf8_lossy(&line)));
                            }
                            (creds[0].clone(), creds[1].clone())
                        }
                        _ => {
                            send!("504 5.5.4 Unrecognized authentication type".to_string());
                            continue;
                        }
                    };
                    if self.options.auth.as_ref() == Some(&(user.clone(), pass)) {
                        self.auth_user = Some(user);
                        send!("235 2.7.0 Authentication successful".to_string());
                    } else {
                        send!("535 5.7.8 Authentication credentials invalid".to_string());
                    }
                }
                "MAIL" => {
                    if self.options.auth.is_some() && self.auth_user.is_none() {
                        send!("530 5.7.0 Authentication required".to_string());
                        continue;
                    }
                    let from = address(&arg);
                    if answer!(Step::Mail(from.clone()), "250 2.1.0 Ok") {
                        mail_from = Some(from);
                        rcpts.clear();
                    }
                }
                "RCPT" => {
                    let to = address(&arg);
                    if mail_from.is_none() {
                        send!("503 5.5.1 Error: need MAIL command".to_string());
                    } else if answer!(Step::Rcpt(to.clone()), "250 2.1.5 Ok") {
                        rcpts.push(to);
                    }
                }
                "DATA" => {
                    if rcpts.is_empty() {
                        send!("554 5.5.1 Error: no valid recipients".to_string());
                        continue;
                    }
                    if !answer!(Step::Data, "354 End data with <CR><LF>.<CR><LF>") {
                        continue;
                    }
                    let mut data = Vec::new();
                    loop {
                        line.clear();
                        match io.read_until(b'\n', &mut line).await {
                            Ok(0) | Err(_) => return None,
                            Ok(_) => {}
                        }
                        if line == b".\r\n" || line == b".\n" {
                            break;
                        }
                        let content = if line.starts_with(b"..") { &line[1..] } else { &line[..] };
                        data.extend_from_slice(content);
                    }
                    let queued = format!("250 2.0.0 Ok: queued as T{}", self.n);
                    if answer!(Step::EndOfData, &queued) {
                        self.state.lock().unwrap().received.push(Received {
                            connection: self.n,
                            helo: self.helo.clone(),
                            tls: self.tls,
                            auth_user: self.auth_user.clone(),
                            mail_from: mail_from.clone().unwrap_or_default(),
                            rcpt_to: rcpts.clone(),
                            data,
                        });
                    }
                    mail_from = None;
                    rcpts.clear();
                }
                "RSET" => {
                    mail_from = None;
                    rcpts.clear();
                    send!("250 2.0.0 Ok".to_string());
                }
                "NOOP" => send!("250 2.0.0 Ok".to_string()),
                "QUIT" => {
                    send!("221 2.0.0 Bye".to_string());
                    let _ = io.get_mut().shutdown().await;
                    return None;
                }
                _ => send!("502 5.5.2 Error: command not recognized".to_string()),
            }
        }
    }
}

/// Returns a TLS server configuration with a fresh self-signed certificate for `localhost`
/// and `127.0.0.1`, on the aws-lc-rs provider.
pub fn self_signed_tls() -> Arc<rustls::ServerConfig> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("a certificate");
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("a server certificate");
    Arc::new(config)
}
