//! The `mailroom` binary's library half: configuration and server start-up, so integration
//! tests can start the real server in-process on port 0.
#![forbid(unsafe_code)]

pub mod config;
pub mod controls;
pub mod glue;
pub mod mcp;
pub mod observe;
pub mod reading;
pub mod server;
