//! The area traits [`Store`](crate::Store) is made of, one file per area. Each backend
//! implements them in files of the same names, and the conformance suite checks them area by area.

mod mailboxes;
mod messages;
mod queue;
mod domains;
mod webhooks;
mod events;
mod agent;
mod settings;
mod policy;
mod drafts;
mod controls;
mod reading;
mod send;

pub use mailboxes::MailboxStore;
pub use messages::MessageStore;
pub use queue::QueueStore;
pub use domains::DomainStore;
pub use webhooks::WebhookStore;
pub use events::EventStore;
pub use agent::AgentStore;
pub use settings::SettingsStore;
pub use policy::PolicyStore;
pub use drafts::{DraftFilter, DraftStore};
pub use controls::{BucketState, ControlStore, RateBucket, RateDecision, gcra};
pub use reading::{ATTACHMENT_EVENT_TYPES, AttachmentScan, AttachmentTextJob, AttachmentTextUpdate, ReadingStore, attachment_jobs};
pub use send::{IdempotentAnswer, NewSend, SendStore, SendWrite};
