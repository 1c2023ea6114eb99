//! Typed identifiers. Every id is a UUID v7 (time-ordered, so ordering by id is ordering by
//! creation) wrapped in a newtype so a mailbox id can never be passed where a message id is
//! expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Returns a new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Returns the underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

id_type!(
    /// Identifies a site: the tenant that owns keys, mailboxes and everything under them.
    SiteId
);
id_type!(
    /// Identifies an API key.
    ApiKeyId
);
id_type!(
    /// Identifies a mailbox.
    MailboxId
);
id_type!(
    /// Identifies a stored message (one copy in one mailbox).
    MessageId
);
id_type!(
    /// Identifies a thread (a conversation inside one mailbox).
    ThreadId
);
id_type!(
    /// Identifies an attachment of a stored message.
    AttachmentId
);
id_type!(
    /// Identifies an event in the event log.
    EventId
);
id_type!(
    /// Identifies a hosted domain.
    DomainId
);
id_type!(
    /// Identifies a webhook endpoint.
    WebhookId
);
id_type!(
    /// Identifies one webhook delivery (one event to one endpoint): the `webhook-id` header,
    /// the same on every retry.
    WebhookDeliveryId
);
id_type!(
    /// Identifies a contact (a person a site emails: the seeds' user, lead or persona).
    ContactId
);
id_type!(
    /// Identifies a team member (a human sender identity).
    TeamMemberId
);
id_type!(
    /// Identifies a stored secure token.
    SecureTokenId
);
id_type!(
    /// Identifies a tool config (a builder-configured instance of an agent tool).
    ToolConfigId
);
id_type!(
    /// Identifies one invocation of an agent tool.
    ToolRunId
);
id_type!(
    /// Identifies a record of an email sent through the tools' send path.
    SentEmailId
);
id_type!(
    /// Identifies an allow/block list entry.
    ListEntryId
);
id_type!(
    /// Identifies a draft (a message not sent yet: kept, scheduled or waiting for approval).
    DraftId
);
id_type!(
    /// Identifies an approval request for an outbound message.
    ApprovalId
);
