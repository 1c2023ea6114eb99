//! Domain types and pure rules of Mailroom.
//!
//! Everything here is free of I/O so it can be tested in isolation and shared by the store
//! backends, the engine, the REST API and the client. Types carry the rules: an
//! [`EmailAddress`] or a [`MailboxName`] can only be obtained from a successful parse, so an
//! invalid one cannot travel past the edge of the system.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod agent;
pub mod api;
pub mod bounds;
pub mod cursor;
pub mod drafts;
pub mod controls;
pub mod dsn;
pub mod ids;
pub mod mime;
pub mod model;
pub mod netguard;
pub mod reading;

pub use address::{AddressError, EmailAddress, MailboxName, NamedAddress};
pub use ids::*;
pub use model::*;
