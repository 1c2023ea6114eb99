//! The agent email tools — `send_email`, `send_one_to_one_email` and `send_information_email` —
//! as pure, deterministic parts the orchestration (store, engine, REST) calls:
//!
//! * [`dedupe`] — normalised content hashes and SimHashes, and the duplicate rule;
//! * [`template`] — allowed templates, `[placeholder]` filling, line removal, readable dates in
//!   the business time zone;
//! * [`analysis`] — the conversation analysis object and its strict JSON Schema;
//! * [`decision`] — every send condition recomputed by the server;
//! * [`llm`] — an OpenAI-compatible chat-completions client for analysis and translation;
//! * [`send_email`] — the `send_email` tool itself: channel choice, sending, recording;
//! * [`catalog`] — the tools' input schemas, typed inputs and provider function definitions.
//!
//! Nothing here touches the store: what the server knows (the contact, earlier emails, the
//! settings) is passed in.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analysis;
pub mod catalog;
pub mod decision;
pub mod dedupe;
mod html;
pub mod llm;
pub mod send_email;
pub mod template;
