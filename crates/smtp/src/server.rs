//! The listener: accepts connections, enforces the connection cap and drains on shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::session::{Shared, handle_connection};
use crate::{InboundHandler, SmtpConfig};

/// How long sessions get past [`SmtpConfig::shutdown_grace`] before they are aborted — time
/// for those told `421` at the deadline to finish writing it.
const ABORT_MARGIN: Duration = Duration::from_secs(2);

/// Accepts SMTP connections on `listener` and serves each in its own task until `shutdown`
/// becomes `true`.
///
/// On shutdown the listener is closed at once; idle sessions are told `421 4.3.2` and closed,
/// sessions in the middle of a transaction get [`SmtpConfig::shutdown_grace`] to finish before
/// they are told the same. Returns when every session has ended (sessions still running
/// shortly after the grace, e.g. inside a handler call, are aborted). If the sender of
/// `shutdown` is dropped without sending `true`, the server keeps running.
pub async fn serve(
    listener: TcpListener,
    config: SmtpConfig,
    handler: Arc<dyn InboundHandler>,
    mut shutdown: watch::Receiver<bool>,
) {
    let grace = config.shutdown_grace;
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let shared = Arc::new(Shared::new(config, handler));
    let busy_reply = shared.busy_reply();
    let mut sessions = JoinSet::new();

    loop {
        tokio::select! {
            biased;
            () = shutdown_signalled(&mut shutdown) => break,
            Some(ended) = sessions.join_next(), if !sessions.is_empty() => log_panic(ended),
            accepted = listener.accept() => {
                let (stream, remote_addr) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Usually out of file descriptors: back off instead of spinning.
                        tracing::warn!(error = %err, "SMTP accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                metrics::counter!("mailroom_smtp_connections_total").increment(1);
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    tracing::debug!(%remote_addr, "SMTP connection refused: too many connections");
                    // A fresh socket's send buffer is empty, so this does not block.
                    let _ = stream.try_write(busy_reply.as_bytes());
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let shutdown = shutdown.clone();
                sessions.spawn(async move {
                    handle_connection(stream, remote_addr, shared, shutdown).await;
                    drop(permit);
                });
            }
        }
    }

    drop(listener);
    tracing::debug!(
        sessions = sessions.len(),
        "SMTP listener closed, draining sessions"
    );
    let abort_at = tokio::time::Instant::now() + grace + ABORT_MARGIN;
    loop {
        match tokio::time::timeout_at(abort_at, sessions.join_next()).await {
            Ok(Some(ended)) => log_panic(ended),
            Ok(None) => break,
            Err(_) => {
                tracing::warn!(
                    sessions = sessions.len(),
                    "aborting SMTP sessions still running after the grace period"
                );
                sessions.shutdown().await;
                break;
            }
        }
    }
}

/// Completes once `shutdown` holds `true`; never, if its sender is gone without saying so.
async fn shutdown_signalled(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Reports a session task that panicked; the server itself carries on.
fn log_panic(ended: Result<(), tokio::task::JoinError>) {
    if let Err(err) = ended
        && err.is_panic()
    {
        tracing::error!(error = %err, "SMTP session panicked");
    }
}
