//! The agent email tools — `send_email`, `send_one_to_one_email` and `send_information_email` —
//! as pure, deterministic parts the orchestration (store, engine, REST) calls:
//!
//! * [`dedupe`] — normalised content hashes and SimHashes, and the duplicate rule;
//! * [`template`] — allowed templates, `[placeholder]` filling, line removal, readable dates in
//!   the business time zone;
//! * [`analysis`] — the conversation analysis object and its strict JSON Schema;
//! * [`decision`] — every send condition recomputed by the server;
//! * [`llm`] — an OpenAI-compatible chat-completions client for analysis and translation;
//! * [`policy`] — the checks every tool makes: suppression list, rate limit, duplicates;
//! * [`channel`] — the one send path: mailbox first, the site's SMTP account as fallback,
//!   every send recorded;
//! * [`send_email`], [`one_to_one`], [`information`] — the three tools;
//! * [`catalog`] — the tools' input schemas, typed inputs and provider function definitions.
//!
//! The pure parts (dedupe, template, analysis, decision, catalog) touch nothing; the tools
//! read the store and send through the engine.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analysis;
pub mod catalog;
pub mod configs;
pub mod channel;
pub mod decision;
pub mod dedupe;
mod html;
pub mod information;
pub mod llm;
pub mod one_to_one;
pub mod policy;
pub mod send_email;
pub mod template;
