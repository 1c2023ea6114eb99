//! Mailroom's attachment-text extraction (issue 18): [`extract`] turns PDF, DOCX, text, HTML,
//! CSV and iCalendar attachments into text with libraries made for each, on a thread with a
//! deadline and an output cap; [`worker`] runs it from a durable, leased, retried queue fed
//! by the event log, never in the SMTP or API request path.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod extract;
pub mod worker;

pub use worker::{TextWorker, TextWorkerConfig};
