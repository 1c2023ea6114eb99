//! DATA: reads the message to `<CR><LF>.<CR><LF>` and hands it to the handler.
//!
//! The end detection and dot-unstuffing live in [`crate::dot`]; this file decides what to
//! answer. A message with a bare CR or LF is read to its real end and refused with `550 5.5.2`
//! without reaching the handler; a message over the size limit gets `552 5.3.4`.

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Flow, MAX_PREALLOCATION, Session, reply_text};
use crate::DeliveryOutcome;
use crate::buffer::MessageBuf;
use crate::dot::{DotDecoder, Verdict};
use crate::limits::Reservation;

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Session<T> {
    /// Answers DATA: `354` and switches to reading the message, when a transaction with at
    /// least one accepted recipient is open.
    pub(super) fn data(&mut self) -> Flow {
        if !self.in_transaction {
            return self.error("503 5.5.1 Need MAIL command first");
        }
        if self.envelope.rcpt_to.is_empty() {
            return self.error("554 5.5.1 No valid recipients");
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>");
        let max = self.shared.config.max_message_size;
        let expected = self.declared_size.min(max).min(MAX_PREALLOCATION);
        let mut reservation = Reservation::new(&self.shared.budget);
        let mut decoder = DotDecoder::new(max);
        let initial = expected.max(16 * 1024);
        if reservation.grow_to(initial) {
            self.message = MessageBuf::with_capacity(initial);
        } else {
            tracing::debug!(remote_addr = %self.envelope.remote_addr, "in-flight message budget exhausted");
            self.over_budget = true;
            decoder.stop_buffering(&mut self.message);
        }
        self.reservation = Some(reservation);
        self.data = Some(decoder);
        self.clock.data_started();
        Flow::Continue
    }

    /// Answers the end of the message, delivering it when it is acceptable, and ends the
    /// transaction.
    /// `size` is the message's whole size, bytes no longer buffered included.
    pub(super) async fn end_of_data(&mut self, verdict: Verdict, size: usize) -> Flow {
        let message = std::mem::take(&mut self.message).into_vec();
        self.clock.data_ended();
        let flow = match verdict {
            Verdict::BareLineEnding => {
                tracing::debug!(remote_addr = %self.envelope.remote_addr, "message refused: bare CR or LF");
                self.refused_here(550, size);
                self.error("550 5.5.2 bare CR or LF in message; use CRLF line endings")
            }
            Verdict::TooLarge => {
                self.refused_here(552, size);
                self.reply("552 5.3.4 Message size exceeds fixed maximum message size");
                Flow::Continue
            }
            Verdict::Ok if self.over_budget => {
                self.refused_here(451, size);
                self.reply("451 4.3.1 Insufficient system resources: too much mail in flight, try again later");
                Flow::Continue
            }
            Verdict::Ok => {
                let handler = self.shared.handler.clone();
                let reply = match handler.deliver(&self.envelope, message).await {
                    DeliveryOutcome::Accepted { queue_id } => {
                        let id = reply_text(&queue_id, "unknown");
                        tracing::debug!(remote_addr = %self.envelope.remote_addr, queue_id = %id, "message accepted");
                        format!("250 2.0.0 Ok: queued as {id}")
                    }
                    DeliveryOutcome::TemporaryFailure(reason) => {
                        let text =
                            reply_text(&reason, "Message cannot be stored now, try again later");
                        format!("451 4.3.0 {text}")
                    }
                    DeliveryOutcome::Reply(line) => super::rcpt::handler_reply(&line),
                    DeliveryOutcome::Rejected(reason) => {
                        let text = reply_text(&reason, "Message refused");
                        format!("554 5.6.0 {text}")
                    }
                };
                self.reply(&reply);
                Flow::Continue
            }
        };
        self.reset_transaction();
        flow
    }

    /// Logs and counts a transaction the session refuses at the end of DATA without handing it
    /// to the handler (which logs and counts the ones it answers): the same one line per
    /// transaction and the same `mailroom_smtp_transactions_total` counter.
    fn refused_here(&self, code: u16, size: usize) {
        tracing::info!(
            target: "mailroom::smtp",
            client_ip = %self.envelope.remote_addr.ip(),
            mail_from = self.envelope.mail_from.as_str(),
            recipients = self.envelope.rcpt_to.len(),
            size,
            reply = code,
            message_id = "",
            "smtp transaction"
        );
        let class = if code >= 500 { "5xx" } else { "4xx" };
        metrics::counter!("mailroom_smtp_transactions_total", "reply" => class).increment(1);
    }
}
