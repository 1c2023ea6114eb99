//! STARTTLS (RFC 3207): upgrades the connection and starts the session over.
//!
//! Whatever the client sent after the STARTTLS line, before the handshake, is discarded: those
//! bytes travelled in plaintext, and running them as commands inside the TLS session is the
//! command-injection attack of CVE-2011-0411. After the handshake the client must greet again.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;

use super::{Flow, Session};

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Session<T> {
    /// Answers STARTTLS.
    pub(super) fn starttls(&mut self) -> Flow {
        if self.shared.tls.is_none() {
            return self.error("502 5.5.1 STARTTLS not available");
        }
        if self.envelope.tls {
            return self.error("503 5.5.1 TLS already active");
        }
        if self.in_transaction {
            return self.error("503 5.5.1 Mail transaction in progress");
        }
        self.reply("220 2.0.0 Ready to start TLS");
        let pipelined = self.rbuf.len() - self.pos;
        if pipelined > 0 {
            tracing::debug!(
                remote_addr = %self.envelope.remote_addr,
                bytes = pipelined,
                "discarding input pipelined after STARTTLS"
            );
        }
        self.pos = self.rbuf.len();
        Flow::StartTls
    }

    /// Sends the pending `220`, runs the TLS handshake and returns a fresh session over TLS.
    /// Returns `None` when the handshake fails or times out.
    pub(super) async fn upgrade(mut self) -> Option<Session<TlsStream<T>>> {
        if !self.flush().await {
            return None;
        }
        let acceptor = self.shared.tls.clone()?;
        let timeout = self
            .shared
            .config
            .idle_timeout
            .min(self.shared.config.command_timeout);
        let (stream, carry) = self.into_parts();
        let remote_addr = carry.remote_addr;
        match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => Some(Session::resume(tls, carry, true)),
            Ok(Err(err)) => {
                tracing::debug!(%remote_addr, error = %err, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(%remote_addr, "TLS handshake timed out");
                None
            }
        }
    }
}
