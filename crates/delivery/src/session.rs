//! One SMTP transaction with one server: connect, greet, secure, authenticate, then
//! MAIL FROM, one RCPT TO per recipient and DATA, built on mail-send's `SmtpClient`.
//!
//! mail-send's high-level `send` stops at the first refused recipient; here every reply is
//! kept, so each recipient gets the outcome its own RCPT (and the shared DATA) earned.

use crate::config::TlsMode;
use crate::outcome::{Outcome, Stage, classify, format_reply};
use mail_send::{Credentials, SmtpClient};
use smtp_proto::{EXT_SMTP_UTF8, EXT_START_TLS, EhloResponse, Response};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The server to talk to.
pub(crate) struct Endpoint<'a> {
    /// The host name the address came from: used for TLS (SNI) and in notes.
    pub name: &'a str,
    /// The address to connect to.
    pub addr: SocketAddr,
}

/// How to talk to it.
#[derive(Clone, Copy)]
pub(crate) struct Options<'a> {
    /// The `EHLO` name.
    pub helo: &'a str,
    /// The TLS mode.
    pub tls: TlsMode,
    /// The connector for STARTTLS or implicit TLS.
    pub connector: &'a TlsConnector,
    /// `AUTH` credentials.
    pub credentials: Option<(&'a str, &'a str)>,
    /// Whether the credentials may be sent over a connection without TLS (only when the
    /// operator or the token said so explicitly: TLS mode `none`). Otherwise a session that
    /// ends up in plain text never sends `AUTH` and is deferred instead.
    pub plain_auth: bool,
    /// Limit for connecting, the TLS handshake and the greeting.
    pub connect_timeout: Duration,
    /// Limit for each command's reply.
    pub command_timeout: Duration,
}

/// What to send.
pub(crate) struct Envelope<'a> {
    /// `MAIL FROM`.
    pub from: &'a str,
    /// `RCPT TO`, one per recipient.
    pub to: Vec<&'a str>,
    /// The message, with its signatures.
    pub body: &'a [u8],
}

/// The result of one transaction.
#[derive(Debug)]
pub(crate) enum Transaction {
    /// It ended before any recipient was answered; the outcome applies to all. A temporary
    /// one means another server (the next MX host or address) may be tried.
    Whole(Outcome),
    /// One outcome per recipient, in envelope order.
    PerRecipient(Vec<Outcome>),
}

fn note(code: &str, text: impl std::fmt::Display) -> String {
    format!("{code} {text}")
}

fn io_outcome(ep: &Endpoint<'_>, what: &str, e: mail_send::Error) -> Outcome {
    match e {
        mail_send::Error::UnexpectedReply(r) => classify(&r, Stage::Session),
        mail_send::Error::Timeout => Outcome::Temporary(note("4.4.2", format_args!("{} [{}]: timed out {what}", ep.name, ep.addr))),
        mail_send::Error::Tls(e) => Outcome::Temporary(note("4.7.5", format_args!("{} [{}]: TLS handshake failed: {e}", ep.name, ep.addr))),
        other => Outcome::Temporary(note("4.4.2", format_args!("{} [{}]: connection lost {what}: {other}", ep.name, ep.addr))),
    }
}

/// Runs one transaction. Never returns an error: every failure is an outcome.
///
/// With opportunistic TLS, a server whose STARTTLS handshake fails is tried once more on a
/// new connection without TLS, as Postfix does at its `may` level: plain text is what
/// opportunistic TLS falls back to anyway, and a broken TLS setup on the receiving side
/// should not hold mail back.
pub(crate) async fn transact(ep: &Endpoint<'_>, opts: &Options<'_>, env: &Envelope<'_>) -> Transaction {
    let mut handshake_failed = false;
    let result = match session(ep, opts, env, &mut handshake_failed).await {
        Err(whole) if handshake_failed && opts.tls == TlsMode::Opportunistic => {
            tracing::warn!(server = ep.name, addr = %ep.addr, reply = whole.reply(), "STARTTLS handshake failed; retrying without TLS");
            let plain = Options { tls: TlsMode::None, ..*opts };
            session(ep, &plain, env, &mut handshake_failed).await
        }
        other => other,
    };
    match result {
        Ok(per) => Transaction::PerRecipient(per),
        Err(whole) => Transaction::Whole(whole),
    }
}

async fn session(ep: &Endpoint<'_>, opts: &Options<'_>, env: &Envelope<'_>, handshake_failed: &mut bool) -> Result<Vec<Outcome>, Outcome> {
    let stream = match tokio::time::timeout(opts.connect_timeout, TcpStream::connect(ep.addr)).await {
        Err(_) => return Err(Outcome::Temporary(note("4.4.1", format_args!("connection to {} [{}] timed out", ep.name, ep.addr)))),
        Ok(Err(e)) => return Err(Outcome::Temporary(note("4.4.1", format_args!("connection to {} [{}] failed: {e}", ep.name, ep.addr)))),
        Ok(Ok(s)) => s,
    };
    let client = SmtpClient { stream, timeout: opts.connect_timeout };

    if opts.tls == TlsMode::Implicit {
        let mut client = client.into_tls(opts.connector, ep.name).await.map_err(|e| io_outcome(ep, "during the TLS handshake", e))?;
        greeting(ep, &mut client).await?;
        client.timeout = opts.command_timeout;
        let caps = hello(ep, &mut client, opts.helo).await?;
        return authenticated(ep, &mut client, opts, &caps, env).await;
    }

    let mut client = client;
    greeting(ep, &mut client).await?;
    client.timeout = opts.command_timeout;
    let caps = hello(ep, &mut client, opts.helo).await?;
    let offered = caps.has_capability(EXT_START_TLS);
    let upgrade = match opts.tls {
        TlsMode::None => false,
        TlsMode::Opportunistic => offered,
        TlsMode::StartTls if offered => true,
        TlsMode::StartTls => {
            return Err(Outcome::Temporary(note("4.7.4", format_args!("{} [{}] does not offer STARTTLS, which is required", ep.name, ep.addr))));
        }
        TlsMode::Implicit => unreachable!("handled above"),
    };
    if upgrade {
        let reply = client.cmd(b"STARTTLS\r\n").await.map_err(|e| io_outcome(ep, "after STARTTLS", e))?;
        if reply.code == 220 {
            client.timeout = opts.connect_timeout;
            let mut tls = client.into_tls(opts.connector, ep.name).await.map_err(|e| {
                *handshake_failed = true;
                io_outcome(ep, "during the TLS handshake", e)
            })?;
            tls.timeout = opts.command_timeout;
            let caps = hello(ep, &mut tls, opts.helo).await?;
            return authenticated(ep, &mut tls, opts, &caps, env).await;
        }
        if opts.tls == TlsMode::StartTls {
            return Err(Outcome::Temporary(format!("{} (STARTTLS refused; TLS is required)", format_reply(&reply))));
        }
        // Opportunistic: the session is unchanged by a refused STARTTLS; go on in plain text.
        tracing::info!(server = ep.name, reply = %format_reply(&reply), "STARTTLS refused; continuing without TLS");
    }
    if opts.credentials.is_some() && !opts.plain_auth {
        return Err(Outcome::Temporary(note(
            "4.7.10",
            format_args!("{} offers no TLS; the password is never sent over a plain connection (use a TLS port, or say smtpSecurity \"none\" explicitly)", ep.name),
        )));
    }
    authenticated(ep, &mut client, opts, &caps, env).await
}

async fn greeting<T: AsyncRead + AsyncWrite + Unpin>(ep: &Endpoint<'_>, client: &mut SmtpClient<T>) -> Result<(), Outcome> {
    let reply = match tokio::time::timeout(client.timeout, client.read()).await {
        Err(_) => return Err(io_outcome(ep, "waiting for the greeting", mail_send::Error::Timeout)),
        Ok(r) => r.map_err(|e| io_outcome(ep, "waiting for the greeting", e))?,
    };
    if (200..300).contains(&reply.code) { Ok(()) } else { Err(classify(&reply, Stage::Session)) }
}

/// Sends EHLO, falling back to HELO for servers that do not know EHLO.
async fn hello<T: AsyncRead + AsyncWrite + Unpin>(
    ep: &Endpoint<'_>,
    client: &mut SmtpClient<T>,
    name: &str,
) -> Result<EhloResponse<String>, Outcome> {
    match client.ehlo(name).await {
        Ok(caps) => Ok(caps),
        Err(mail_send::Error::UnexpectedReply(r)) if (500..=504).contains(&r.code) => {
            let reply = client.cmd(format!("HELO {name}\r\n")).await.map_err(|e| io_outcome(ep, "after HELO", e))?;
            if (200..300).contains(&reply.code) { Ok(EhloResponse::default()) } else { Err(classify(&reply, Stage::Session)) }
        }
        Err(e) => Err(io_outcome(ep, "after EHLO", e)),
    }
}

async fn authenticated<T: AsyncRead + AsyncWrite + Unpin>(
    ep: &Endpoint<'_>,
    client: &mut SmtpClient<T>,
    opts: &Options<'_>,
    caps: &EhloResponse<String>,
    env: &Envelope<'_>,
) -> Result<Vec<Outcome>, Outcome> {
    if let Some((user, password)) = opts.credentials {
        // A refused login is this server's configuration problem, never the recipients':
        // it defers (and the admin sees the reply) instead of bouncing.
        if let Err(e) = client.authenticate(Credentials::new(user, password), caps).await {
            let text = match e {
                mail_send::Error::AuthenticationFailed(r) | mail_send::Error::UnexpectedReply(r) => format_reply(&r),
                mail_send::Error::UnsupportedAuthMechanism => "no AUTH mechanism in common (PLAIN or LOGIN needed)".to_string(),
                other => return Err(io_outcome(ep, "during AUTH", other)),
            };
            return Err(Outcome::Temporary(note("4.7.8", format_args!("authentication with {} failed: {text}", ep.name))));
        }
    }
    mail_transaction(ep, client, caps, env).await
}

fn needs_smtputf8(env: &Envelope<'_>) -> bool {
    !env.from.is_ascii() || env.to.iter().any(|t| !t.is_ascii())
}

fn positive(r: &Response<String>) -> bool {
    (200..300).contains(&r.code)
}

async fn mail_transaction<T: AsyncRead + AsyncWrite + Unpin>(
    ep: &Endpoint<'_>,
    client: &mut SmtpClient<T>,
    caps: &EhloResponse<String>,
    env: &Envelope<'_>,
) -> Result<Vec<Outcome>, Outcome> {
    let utf8 = needs_smtputf8(env);
    if utf8 && !caps.has_capability(EXT_SMTP_UTF8) {
        return Err(Outcome::Permanent {
            reply: note("553 5.6.7", format_args!("{} does not support SMTPUTF8, which these non-ASCII addresses need", ep.name)),
            suppress: false,
        });
    }
    let param = if utf8 { " SMTPUTF8" } else { "" };
    let reply = client.cmd(format!("MAIL FROM:<{}>{param}\r\n", env.from)).await.map_err(|e| io_outcome(ep, "after MAIL FROM", e))?;
    if !positive(&reply) {
        return Err(classify(&reply, Stage::Session));
    }

    // `None`: accepted so far; the DATA reply decides.
    let mut per: Vec<Option<Outcome>> = Vec::with_capacity(env.to.len());
    for rcpt in &env.to {
        match client.cmd(format!("RCPT TO:<{rcpt}>\r\n")).await {
            Ok(r) if positive(&r) => per.push(None),
            Ok(r) => per.push(Some(classify(&r, Stage::Rcpt))),
            Err(e) => {
                let lost = io_outcome(ep, "after RCPT TO", e);
                per.resize(env.to.len(), None);
                return Ok(fill(per, &lost));
            }
        }
    }
    if per.iter().all(Option::is_some) {
        quit(client).await;
        return Ok(per.into_iter().flatten().collect());
    }
    let data_outcome = data(ep, client, env.body).await;
    quit(client).await;
    Ok(fill(per, &data_outcome))
}

/// Says goodbye politely, without waiting long for a server that is gone.
async fn quit<T: AsyncRead + AsyncWrite + Unpin>(client: &mut SmtpClient<T>) {
    let _ = tokio::time::timeout(Duration::from_secs(5), client.cmd(b"QUIT\r\n")).await;
}

/// Sends DATA and the message; returns the outcome for every accepted recipient.
async fn data<T: AsyncRead + AsyncWrite + Unpin>(ep: &Endpoint<'_>, client: &mut SmtpClient<T>, body: &[u8]) -> Outcome {
    let reply = match client.cmd(b"DATA\r\n").await {
        Ok(r) => r,
        Err(e) => return io_outcome(ep, "after DATA", e),
    };
    if reply.code != 354 {
        return if positive(&reply) { Outcome::Temporary(format_reply(&reply)) } else { classify(&reply, Stage::Data) };
    }
    let timeout = client.timeout;
    let sent = tokio::time::timeout(timeout, async {
        client.stream.write_all(&dot_stuffed(body)).await.map_err(mail_send::Error::Io)?;
        client.stream.flush().await.map_err(mail_send::Error::Io)?;
        client.read().await
    })
    .await;
    match sent {
        Err(_) => io_outcome(ep, "after the message", mail_send::Error::Timeout),
        Ok(Err(e)) => io_outcome(ep, "after the message", e),
        Ok(Ok(r)) if positive(&r) => Outcome::Delivered(format_reply(&r)),
        Ok(Ok(r)) => classify(&r, Stage::Data),
    }
}

/// Returns `body` ready to follow DATA: a dot doubled at the start of every line (after any
/// CR or LF, as mail-send does, so a bare CR or LF cannot smuggle a terminator), then the
/// terminator. Unlike mail-send's `write_message`, a body that already ends with CRLF gets
/// just `.` CRLF, so the recipient sees exactly the stored bytes.
pub(crate) fn dot_stuffed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 64 + 5);
    let mut line_start = true;
    for &b in body {
        if b == b'.' && line_start {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\r' || b == b'\n';
    }
    if !body.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn fill(per: Vec<Option<Outcome>>, rest: &Outcome) -> Vec<Outcome> {
    per.into_iter().map(|o| o.unwrap_or_else(|| rest.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::dot_stuffed;

    #[test]
    fn dots_are_stuffed_and_the_terminator_follows_the_last_line() {
        assert_eq!(dot_stuffed(b"A: b\r\n\r\nhi\r\n"), b"A: b\r\n\r\nhi\r\n.\r\n");
        assert_eq!(dot_stuffed(b"A: b\r\n\r\nno newline"), b"A: b\r\n\r\nno newline\r\n.\r\n");
        assert_eq!(dot_stuffed(b"A: b\r\n\r\n.\r\n..x\r\n"), b"A: b\r\n\r\n..\r\n...x\r\n.\r\n");
        assert_eq!(dot_stuffed(b".start"), b"..start\r\n.\r\n");
        assert_eq!(dot_stuffed(b"a\n.\r\nMAIL FROM:<>"), b"a\n..\r\nMAIL FROM:<>\r\n.\r\n");
        assert_eq!(dot_stuffed(b"a\r.\r\n"), b"a\r..\r\n.\r\n");
        assert_eq!(dot_stuffed(b""), b"\r\n.\r\n");
    }
}
