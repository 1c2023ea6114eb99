//! A one-purpose SMTP submission server for the tools' SMTP channel: EHLO advertising AUTH
//! PLAIN, AUTH PLAIN checked against one user and password (535 otherwise), MAIL refused
//! before AUTH (530), MAIL/RCPT/DATA recorded, QUIT. It speaks plain SMTP, implicit TLS (as on
//! port 465) or STARTTLS (as on 587, where MAIL before STARTTLS is refused), with a
//! self-signed certificate for `localhost`.
#![allow(dead_code)]

use base64::Engine as _;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// How the server protects the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain text.
    Plain,
    /// TLS from the first byte.
    Tls,
    /// Plain text, STARTTLS required before MAIL.
    StartTls,
}

/// What the server saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Each AUTH PLAIN: user and password.
    pub auth: Vec<(String, String)>,
    /// Each MAIL FROM line.
    pub mail_from: Vec<String>,
    /// Each RCPT TO line.
    pub rcpt_to: Vec<String>,
    /// Each message's data.
    pub data: Vec<String>,
    /// For each message: whether it came over TLS.
    pub over_tls: Vec<bool>,
    /// How many of the next DATA commands get `451 4.3.0` (a temporary failure).
    pub tempfail_data: usize,
}

/// Starts a server on a free loopback port; returns the port and what it sees.
pub async fn submission_server(
    security: Security,
    user: &'static str,
    password: &'static str,
) -> (u16, Arc<Mutex<Seen>>) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    let acceptor = tokio_rustls::TlsAcceptor::from(mailroom_smtp::self_signed_tls("localhost").unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let seen = shared.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match security {
                    Security::Tls => {
                        let Ok(tls) = acceptor.accept(stream).await else { return };
                        session(tls, true, true, false, user, password, seen).await;
                    }
                    Security::Plain => {
                        session(stream, true, false, false, user, password, seen).await;
                    }
                    Security::StartTls => {
                        if let Some(plain) = session(stream, true, false, true, user, password, seen.clone()).await {
                            let Ok(tls) = acceptor.accept(plain).await else { return };
                            session(tls, false, true, false, user, password, seen).await;
                        }
                    }
                }
            });
        }
    });
    (port, seen)
}

/// Serves one session; returns the stream when the client asked for STARTTLS (after `220`).
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    greet: bool,
    tls: bool,
    offer_starttls: bool,
    user: &str,
    password: &str,
    seen: Arc<Mutex<Seen>>,
) -> Option<S> {
    let mut r = BufReader::new(stream);
    // After STARTTLS the client speaks first (EHLO again); every new connection is greeted.
    if greet {
        r.get_mut().write_all(b"220 test.smtp ESMTP ready\r\n").await.ok()?;
    }
    let mut authed = false;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            if offer_starttls && !tls {
                "250-test.smtp\r\n250-STARTTLS\r\n250 8BITMIME\r\n".into()
            } else {
                "250-test.smtp\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n".into()
            }
        } else if upper == "STARTTLS" && offer_starttls && !tls {
            r.get_mut().write_all(b"220 2.0.0 ready to start TLS\r\n").await.ok()?;
            return Some(r.into_inner());
        } else if upper.starts_with("AUTH PLAIN") {
            if offer_starttls && !tls {
                "530 5.7.0 must issue a STARTTLS command first\r\n".into()
            } else {
                let mut arg = cmd[10..].trim().to_string();
                if arg.is_empty() {
                    r.get_mut().write_all(b"334 \r\n").await.ok()?;
                    let mut l = String::new();
                    r.read_line(&mut l).await.ok()?;
                    arg = l.trim().to_string();
                }
                let decoded = base64::engine::general_purpose::STANDARD.decode(arg).unwrap_or_default();
                let parts: Vec<String> =
                    decoded.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
                let (u, p) = (parts.get(1).cloned().unwrap_or_default(), parts.get(2).cloned().unwrap_or_default());
                authed = u == user && p == password;
                seen.lock().unwrap().auth.push((u, p));
                if authed { "235 2.7.0 authenticated\r\n".into() } else { "535 5.7.8 bad credentials\r\n".into() }
            }
        } else if upper.starts_with("MAIL FROM") {
            if offer_starttls && !tls {
                "530 5.7.0 must issue a STARTTLS command first\r\n".into()
            } else if !authed {
                "530 5.7.0 authentication required\r\n".into()
            } else {
                seen.lock().unwrap().mail_from.push(cmd.clone());
                "250 2.1.0 ok\r\n".into()
            }
        } else if upper.starts_with("RCPT TO") {
            seen.lock().unwrap().rcpt_to.push(cmd.clone());
            "250 2.1.5 ok\r\n".into()
        } else if upper == "DATA" {
            r.get_mut().write_all(b"354 go ahead\r\n").await.ok()?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).await.unwrap_or(0) == 0 {
                    return None;
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(&l);
            }
            let mut s = seen.lock().unwrap();
            if s.tempfail_data > 0 {
                s.tempfail_data -= 1;
                "451 4.3.0 try again later\r\n".into()
            } else {
                s.data.push(data);
                s.over_tls.push(tls);
                "250 2.0.0 queued\r\n".into()
            }
        } else if upper == "QUIT" {
            r.get_mut().write_all(b"221 2.0.0 bye\r\n").await.ok()?;
            let _ = r.get_mut().shutdown().await;
            return None;
        } else {
            "250 ok\r\n".into()
        };
        r.get_mut().write_all(reply.as_bytes()).await.ok()?;
    }
}
