//! Arguments that name a mailbox or a message the way people do: a mailbox by id or by its
//! address, a message by id or by its `Message-ID` header when only one message carries it.

use super::Hinted;
use mailroom_client::Client;
use mailroom_core::ids::{MailboxId, MessageId};
use std::fmt;
use std::str::FromStr;

/// A mailbox named by id or by address.
#[derive(Debug, Clone, PartialEq)]
pub enum MailboxRef {
    /// Its id.
    Id(MailboxId),
    /// Its address, such as `alice@mailroom.localhost`.
    Address(String),
}

impl FromStr for MailboxRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(id) = s.parse::<MailboxId>() {
            return Ok(MailboxRef::Id(id));
        }
        match s.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !s.contains(char::is_whitespace) => {
                Ok(MailboxRef::Address(s.to_string()))
            }
            _ => Err(format!("`{s}` is neither a mailbox id nor an address such as alice@mailroom.localhost")),
        }
    }
}

impl fmt::Display for MailboxRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailboxRef::Id(id) => write!(f, "{id}"),
            MailboxRef::Address(a) => f.write_str(a),
        }
    }
}

impl MailboxRef {
    /// Returns the mailbox's id, looking the address up among the mailboxes the key sees.
    pub async fn resolve(&self, client: &Client) -> anyhow::Result<MailboxId> {
        let address = match self {
            MailboxRef::Id(id) => return Ok(*id),
            MailboxRef::Address(a) => a,
        };
        let mut cursor: Option<String> = None;
        loop {
            let page = client.list_mailboxes(cursor.as_deref(), Some(100)).await?;
            if let Some(m) = page.items.iter().find(|m| m.address.as_str().eq_ignore_ascii_case(address)) {
                return Ok(m.id);
            }
            match page.next_cursor {
                Some(next) if !page.items.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        Err(Hinted::new(
            format!("no mailbox {address} is visible to this key"),
            format!("`mailroom mailboxes list` shows the mailboxes; `mailroom mailboxes create {}` creates it", address.split('@').next().unwrap_or_default()),
        )
        .into())
    }
}

/// A message named by id or by its `Message-ID` header.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageRef {
    /// Its id.
    Id(MessageId),
    /// Its `Message-ID`, with or without angle brackets.
    Header(String),
}

impl FromStr for MessageRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(id) = s.parse::<MessageId>() {
            return Ok(MessageRef::Id(id));
        }
        if s.contains('@') && !s.contains(char::is_whitespace) {
            return Ok(MessageRef::Header(s.trim_start_matches('<').trim_end_matches('>').to_string()));
        }
        Err(format!("`{s}` is neither a message id nor a Message-ID such as <abc@example.com>"))
    }
}

impl fmt::Display for MessageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageRef::Id(id) => write!(f, "{id}"),
            MessageRef::Header(h) => write!(f, "<{h}>"),
        }
    }
}

impl MessageRef {
    /// Returns the message's id; a `Message-ID` must name exactly one message this key sees.
    pub async fn resolve(&self, client: &Client) -> anyhow::Result<MessageId> {
        let header = match self {
            MessageRef::Id(id) => return Ok(*id),
            MessageRef::Header(h) => h,
        };
        let found = client.find_messages_by_message_id(header).await?.items;
        match found.as_slice() {
            [one] => Ok(one.id),
            [] => Err(Hinted::new(
                format!("no message with Message-ID <{header}> is visible to this key"),
                "`mailroom messages list MAILBOX` shows a mailbox's messages with their ids",
            )
            .into()),
            several => {
                let list = several.iter().map(|m| format!("{} ({} in mailbox {})", m.id, m.direction.as_str(), m.mailbox_id)).collect::<Vec<_>>().join(", ");
                Err(Hinted::new(
                    format!("{} messages carry Message-ID <{header}>: {list}", several.len()),
                    "pass one of these message ids instead of the Message-ID",
                )
                .into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_by_id_or_address() {
        let id = "0190f5a0-0000-7000-8000-000000000001";
        assert_eq!(id.parse::<MailboxRef>().unwrap(), MailboxRef::Id(id.parse().unwrap()));
        assert_eq!("alice@x.test".parse::<MailboxRef>().unwrap(), MailboxRef::Address("alice@x.test".into()));
        assert!("alice".parse::<MailboxRef>().unwrap_err().contains("neither a mailbox id nor an address"));
        assert!("@x.test".parse::<MailboxRef>().is_err());
    }

    #[test]
    fn messages_by_id_or_message_id() {
        assert_eq!("<abc@x.test>".parse::<MessageRef>().unwrap(), MessageRef::Header("abc@x.test".into()));
        assert_eq!("abc@x.test".parse::<MessageRef>().unwrap().to_string(), "<abc@x.test>");
        assert!("nope".parse::<MessageRef>().is_err());
    }
}
