//! Email addresses and mailbox names, valid by construction.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Explains why a string is not a valid address or mailbox name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The input was empty after trimming.
    #[error("the address is empty")]
    Empty,
    /// The input has no `@` separating the local part from the domain.
    #[error("`{0}` has no `@`")]
    MissingAt(String),
    /// The local part (before the `@`) is not acceptable.
    #[error("`{0}` has an invalid local part (before the `@`)")]
    InvalidLocalPart(String),
    /// The domain (after the `@`) is not acceptable.
    #[error("`{0}` has an invalid domain (after the `@`)")]
    InvalidDomain(String),
    /// The input contains a control character such as CR or LF.
    #[error("the address contains a control character")]
    ControlCharacter,
    /// A mailbox name is not acceptable.
    #[error(
        "`{0}` is not a valid mailbox name: use 1 to 64 characters from a-z, 0-9, `.`, `_` and `-`, not starting or ending with `.`"
    )]
    InvalidMailboxName(String),
    /// A display-name form such as `Name <a@b>` is malformed.
    #[error("`{0}` is not of the form `Name <local@domain>`")]
    Malformed(String),
}

/// An email address (`local@domain`) that passed validation. The domain is lower-cased; the
/// local part keeps its case, as RFC 5321 says it may be significant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = "email")]
pub struct EmailAddress(String);

const LOCAL_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~.";

impl EmailAddress {
    /// Parses a bare address such as `agent@example.com`.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        if s.chars().any(|c| c.is_control()) {
            return Err(AddressError::ControlCharacter);
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| AddressError::MissingAt(s.to_string()))?;
        if !valid_local(local) {
            return Err(AddressError::InvalidLocalPart(s.to_string()));
        }
        let domain = domain.to_lowercase();
        if !valid_domain(&domain) {
            return Err(AddressError::InvalidDomain(s.to_string()));
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// Returns the address as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or_default()
    }

    /// Returns the (lower-cased) domain.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// Returns the address with plus-addressing removed and the local part lower-cased, plus
    /// the tag if there was one: `Agent+News@x.test` gives (`agent@x.test`, `Some("News")`).
    pub fn without_tag(&self) -> (EmailAddress, Option<String>) {
        let local = self.local_part();
        let (base, tag) = match local.split_once('+') {
            Some((b, t)) if !b.is_empty() => (b, Some(t.to_string()).filter(|t| !t.is_empty())),
            _ => (local, None),
        };
        (Self(format!("{}@{}", base.to_lowercase(), self.domain())), tag)
    }

    /// Returns the key policy compares addresses by (suppression, allow/block lists, rate
    /// limits): `+tag` removed, the whole address lower-cased, so `X+News@Victim.TEST` and
    /// `x@victim.test` are one recipient.
    pub fn policy_key(&self) -> String {
        self.without_tag().0.canonical()
    }

    /// Returns the canonical form used to look mailboxes up: the whole address lower-cased.
    pub fn canonical(&self) -> String {
        self.0.to_lowercase()
    }
}

fn valid_local(local: &str) -> bool {
    if local.is_empty() || local.len() > 64 || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    local.chars().all(|c| c.is_alphanumeric() || LOCAL_SPECIALS.contains(c))
}

fn valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    })
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An address with an optional display name, as it appears in `From`, `To` and `Cc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NamedAddress {
    /// The display name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The address itself.
    pub address: EmailAddress,
}

impl NamedAddress {
    /// Parses `local@domain`, `<local@domain>` or `Display Name <local@domain>`.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let s = input.trim();
        if s.chars().any(|c| c.is_control()) {
            return Err(AddressError::ControlCharacter);
        }
        match (s.rfind('<'), s.ends_with('>')) {
            (Some(open), true) => {
                let address = EmailAddress::parse(&s[open + 1..s.len() - 1])?;
                let name = s[..open].trim().trim_matches('"').trim();
                Ok(Self { name: (!name.is_empty()).then(|| name.to_string()), address })
            }
            (None, false) => Ok(Self { name: None, address: EmailAddress::parse(s)? }),
            _ => Err(AddressError::Malformed(s.to_string())),
        }
    }
}

impl fmt::Display for NamedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n} <{}>", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

/// The local part of a mailbox created through the API: 1 to 64 characters of `a-z`, `0-9`,
/// `.`, `_` and `-`, lower-cased, not starting or ending with a dot. `+` is reserved for
/// plus-addressing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct MailboxName(String);

impl MailboxName {
    /// Parses and lower-cases a mailbox name.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let s = input.trim().to_lowercase();
        let ok = !s.is_empty()
            && s.len() <= 64
            && !s.starts_with('.')
            && !s.ends_with('.')
            && !s.contains("..")
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if ok { Ok(Self(s)) } else { Err(AddressError::InvalidMailboxName(input.to_string())) }
    }

    /// Returns the name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises_addresses() {
        let a = EmailAddress::parse("  Bob.Smith+news@Example.COM ").unwrap();
        assert_eq!(a.as_str(), "Bob.Smith+news@example.com");
        assert_eq!(a.local_part(), "Bob.Smith+news");
        assert_eq!(a.domain(), "example.com");
        let (base, tag) = a.without_tag();
        assert_eq!(base.as_str(), "bob.smith@example.com");
        assert_eq!(tag.as_deref(), Some("news"));
        assert!(EmailAddress::parse("josé@bücher.de").is_ok());
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "", "plain", "@x.com", "a@", "a..b@x.com", ".a@x.com", "a.@x.com", "a@-x.com", "a@x..com",
            "a b@x.com", "a@x.com\r\nBcc: evil@x.com", "a@x_y.com", "a<b@x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn parses_named_addresses() {
        let n = NamedAddress::parse("\"Support Team\" <help@x.test>").unwrap();
        assert_eq!(n.name.as_deref(), Some("Support Team"));
        assert_eq!(n.address.as_str(), "help@x.test");
        assert_eq!(n.to_string(), "Support Team <help@x.test>");
        assert_eq!(NamedAddress::parse("<a@x.test>").unwrap().name, None);
        assert!(NamedAddress::parse("Name <a@x.test").is_err());
    }

    #[test]
    fn mailbox_names() {
        assert_eq!(MailboxName::parse("Support-Agent_1").unwrap().as_str(), "support-agent_1");
        for bad in ["", ".a", "a.", "a+b", "a b", "ä", &"x".repeat(65)] {
            assert!(MailboxName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
