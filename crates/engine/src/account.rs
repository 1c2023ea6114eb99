//! The site's own SMTP account (seed 002's `email` channel) as a route of the delivery
//! queue, and the envelope sender (VERP) that lets bounce reports be matched.
//!
//! A message sent through the account is stored like any outbound message — in the
//! account's own mailbox (created on first use, at the account's address) — with its route
//! recorded first (`message_routes`), so the delivery worker claims, leases, retries and
//! reports it like any other, and opens the credentials only when it submits. Nothing here
//! ever logs or returns a password.

use crate::{Engine, EngineError, EngineResult};
use mailroom_core::api::{SendMessageRequest, SendMessageResponse};
use mailroom_core::event_types::MAILBOX_CREATED;
use mailroom_core::*;
use mailroom_store::NewEvent;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// How the submission to the account's server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (port 465).
    Tls,
    /// STARTTLS, required (every other port, unless the token says otherwise).
    StartTls,
    /// No TLS: only when the token says `smtpSecurity: "none"` explicitly.
    None,
}

impl SmtpSecurity {
    /// Parses `ssl`/`tls`/`implicit`, `starttls` or `none`/`plain`; `None` for anything else.
    pub fn parse(s: &str) -> Option<SmtpSecurity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ssl" | "tls" | "implicit" | "implicit_tls" => Some(SmtpSecurity::Tls),
            "starttls" | "start_tls" => Some(SmtpSecurity::StartTls),
            "none" | "plain" | "off" => Some(SmtpSecurity::None),
            _ => None,
        }
    }

    /// The default for a port: 465 implicit TLS, every other port STARTTLS (required). A
    /// password is never sent in clear text unless the token asks for it.
    pub fn for_port(port: u16) -> SmtpSecurity {
        if port == 465 {
            SmtpSecurity::Tls
        } else {
            SmtpSecurity::StartTls
        }
    }

    /// Returns `tls`, `starttls` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::None => "none",
        }
    }
}

/// The site's SMTP account with its credentials opened.
#[derive(Clone)]
pub struct SmtpAccount {
    /// The account's address (`channels.email.email`): the sender and envelope sender.
    pub address: EmailAddress,
    /// The identifier of its secure token.
    pub identifier: String,
    /// The server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub security: SmtpSecurity,
    /// The AUTH user.
    pub user: String,
    /// The AUTH password.
    pub password: String,
}

impl std::fmt::Debug for SmtpAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpAccount")
            .field("address", &self.address)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Why the SMTP account cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountError {
    /// `channels.email.email` is not an address.
    InvalidConfiguredEmail(String),
    /// The credentials are missing or incomplete.
    ConfigNotFound(String),
    /// Something on our side failed.
    Internal(String),
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Reads the account from a token's opened JSON value and the `channels.email` settings.
pub fn account_from_token(
    address: EmailAddress,
    identifier: &str,
    value: &Value,
    channel: &Value,
) -> Result<SmtpAccount, AccountError> {
    let hint = format!(
        "store the SMTP credentials with POST /v1/secure-tokens (token_type `email`, identifier `{identifier}`)"
    );
    let host = str_at(value, "/smtpHost")
        .or_else(|| str_at(channel, "/outgoingServer"))
        .map(str::to_string);
    let port = value
        .get("smtpPort")
        .or_else(|| channel.get("outgoingPort"))
        .and_then(|p| {
            p.as_u64()
                .or_else(|| p.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .unwrap_or(587);
    let password = str_at(value, "/password").map(str::to_string);
    let (Some(host), Some(password), Ok(port)) = (host, password, u16::try_from(port)) else {
        return Err(AccountError::ConfigNotFound(format!(
            "the SMTP credentials lack `smtpHost`, a valid `smtpPort` or `password`; {hint}"
        )));
    };
    let security =
        match str_at(value, "/smtpSecurity").or_else(|| str_at(channel, "/outgoingSecurity")) {
            None => SmtpSecurity::for_port(port),
            Some(s) => SmtpSecurity::parse(s).ok_or_else(|| {
                AccountError::ConfigNotFound(format!(
                    "`smtpSecurity` `{s}` is not one of `tls`, `starttls` or `none`"
                ))
            })?,
        };
    let user = str_at(value, "/username")
        .or_else(|| str_at(value, "/email"))
        .unwrap_or(identifier)
        .to_string();
    Ok(SmtpAccount {
        address,
        identifier: identifier.to_string(),
        host,
        port,
        security,
        user,
        password,
    })
}

/// The route recorded with a message queued for the SMTP account.
const ACCOUNT_ROUTE: &str = "smtp_account";

impl Engine {
    /// Loads and opens the site's SMTP account; `Ok(None)` when none is configured (or the
    /// channel is disabled).
    pub async fn smtp_account(
        &self,
        site: SiteId,
        settings: &Value,
    ) -> Result<Option<SmtpAccount>, AccountError> {
        let channel = settings
            .pointer("/channels/email")
            .cloned()
            .unwrap_or(Value::Null);
        let enabled = channel.get("enabled").and_then(Value::as_bool) != Some(false);
        let Some(configured) = str_at(&channel, "/email").filter(|_| enabled) else {
            return Ok(None);
        };
        let address = EmailAddress::parse(configured).map_err(|e| {
            AccountError::InvalidConfiguredEmail(format!(
                "the configured email `{configured}` is not a valid address: {e}"
            ))
        })?;
        self.open_account(site, address, configured, &channel)
            .await
            .map(Some)
    }

    async fn open_account(
        &self,
        site: SiteId,
        address: EmailAddress,
        configured: &str,
        channel: &Value,
    ) -> Result<SmtpAccount, AccountError> {
        let token = match self.store.get_secure_token(site, "email", configured).await {
            Ok(Some(t)) => Some(t),
            Ok(None) => self
                .store
                .get_secure_token(site, "email", &address.canonical())
                .await
                .ok()
                .flatten(),
            Err(e) => {
                return Err(AccountError::Internal(format!(
                    "the secure token could not be read: {e}"
                )));
            }
        };
        let Some(token) = token else {
            return Err(AccountError::ConfigNotFound(format!(
                "no SMTP credentials for {configured}; store them with POST /v1/secure-tokens (token_type `email`, identifier `{configured}`)"
            )));
        };
        let plain = self.secrets.open(&token.value_encrypted).map_err(|_| {
            AccountError::Internal(
                "the secure token could not be opened with the server key".into(),
            )
        })?;
        let value: Value = serde_json::from_slice(&plain).unwrap_or(Value::Null);
        drop(plain);
        account_from_token(address, &token.identifier, &value, channel)
    }

    /// Checks an `email` secure token when it is saved: its `smtpHost` must not be (or
    /// resolve to) a loopback, private, link-local or other non-public address (unless
    /// `allow_private_targets`), and its `smtpSecurity`, when given, must be known. A name
    /// that does not resolve yet is accepted (checked again at connect time). The error never
    /// says whether anything listens there.
    pub async fn check_smtp_token(&self, value: &Value) -> EngineResult<()> {
        if let Some(s) = str_at(value, "/smtpSecurity")
            && SmtpSecurity::parse(s).is_none()
        {
            return Err(EngineError::invalid(
                "validation_error",
                format!("`smtpSecurity` `{s}` is not one of `tls`, `starttls` or `none`"),
            ));
        }
        match str_at(value, "/smtpHost") {
            Some(host) => self.check_smtp_host("smtpHost", host).await,
            None => Ok(()),
        }
    }

    /// Checks the site settings' `channels.email.outgoingServer` when they are saved: the SMTP
    /// host of a token without `smtpHost`, so it gets the token's guard.
    pub async fn check_settings_smtp_host(&self, settings: &Value) -> EngineResult<()> {
        match str_at(settings, "/channels/email/outgoingServer") {
            Some(host) => self.check_smtp_host("channels.email.outgoingServer", host).await,
            None => Ok(()),
        }
    }

    /// Refuses a tenant's SMTP host (`field` names where it was given) that is, or resolves
    /// to, a loopback, private, link-local or other non-public address, unless
    /// `allow_private_targets`. A name that does not resolve yet is accepted (checked again at
    /// connect time). The error never says whether anything listens there.
    async fn check_smtp_host(&self, field: &str, host: &str) -> EngineResult<()> {
        if self.config.allow_private_targets {
            return Ok(());
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ips: Vec<std::net::IpAddr> = match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![ip],
            // A name that does not resolve now is kept: the delivery worker resolves it again
            // at connect time and refuses forbidden answers then.
            Err(_) => match tokio::net::lookup_host((bare, 25)).await {
                Ok(found) => found.map(|a| a.ip()).collect(),
                Err(_) => Vec::new(),
            },
        };
        for ip in ips {
            if let Err(why) = netguard::check(ip, false) {
                return Err(EngineError::invalid(
                    "forbidden_smtp_host",
                    format!("`{field}` {host} is refused: {why}"),
                ));
            }
        }
        Ok(())
    }

    /// Queues `req` for delivery through the site's SMTP account: stored in the account's
    /// mailbox (created on first use), its route recorded, every recipient checked by the
    /// one policy step. Returns once the message is durably queued.
    pub async fn send_through_account(
        &self,
        site: SiteId,
        account: &SmtpAccount,
        from_name: Option<&str>,
        req: &SendMessageRequest,
    ) -> EngineResult<SendMessageResponse> {
        let mut mailbox = self.account_mailbox(site, &account.address).await?;
        mailbox.display_name = from_name.map(str::to_string);
        let route = json!({"kind": ACCOUNT_ROUTE, "identifier": account.identifier}).to_string();
        self.send_with_route(&mailbox, req, &route).await
    }

    /// Returns the mailbox that holds what was sent through the SMTP account at `address`,
    /// creating it on first use. Its domain is not hosted here, so it never receives mail.
    async fn account_mailbox(&self, site: SiteId, address: &EmailAddress) -> EngineResult<Mailbox> {
        if let Some(mb) = self
            .store
            .get_mailbox_by_address(&address.canonical())
            .await?
        {
            if mb.site_id != site {
                return Err(EngineError::invalid(
                    "invalid_configured_email",
                    format!(
                        "{} is a mailbox of another site; the SMTP account's address must be this site's own",
                        address
                    ),
                ));
            }
            return Ok(mb);
        }
        let t = now();
        let mb = Mailbox {
            id: MailboxId::new(),
            site_id: site,
            address: address.clone(),
            display_name: None,
            client_id: Some(format!("smtp-account:{}", address.canonical())),
            created_at: t,
            updated_at: t,
        };
        let event = NewEvent::new(
            site,
            Some(mb.id),
            MAILBOX_CREATED,
            serde_json::json!({"mailbox": mb, "source": "smtp_account"}),
        );
        match self.store.create_mailbox(&mb, &event).await {
            Ok(()) => Ok(mb),
            Err(mailroom_store::StoreError::Conflict { .. }) => self
                .store
                .get_mailbox_by_address(&address.canonical())
                .await?
                .filter(|m| m.site_id == site)
                .ok_or_else(|| EngineError::Internal("the SMTP account's mailbox vanished".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Returns the SMTP account a queued message is to be submitted through: `Ok(None)` when
    /// it has no such route; `Err` with a reply when the route can no longer be used.
    pub async fn message_account(&self, message: &Message) -> Result<Option<SmtpAccount>, String> {
        let route = match self.store.get_message_route(message.id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(None),
            Err(e) => return Err(format!("4.3.0 the message's route could not be read: {e}")),
        };
        let route: Value = serde_json::from_str(&route).unwrap_or(Value::Null);
        if str_at(&route, "/kind") != Some(ACCOUNT_ROUTE) {
            return Ok(None);
        }
        let identifier = str_at(&route, "/identifier")
            .unwrap_or_default()
            .to_string();
        let address = message
            .from
            .as_ref()
            .map(|f| f.address.clone())
            .ok_or("5.1.7 the message has no From address")?;
        let settings = self
            .store
            .get_site_settings(message.site_id)
            .await
            .ok()
            .flatten()
            .unwrap_or(Value::Null);
        let channel = settings
            .pointer("/channels/email")
            .cloned()
            .unwrap_or(Value::Null);
        self.open_account(message.site_id, address, &identifier, &channel)
            .await
            .map(Some)
            .map_err(|e| match e {
                AccountError::Internal(m) => format!("4.3.0 {m}"),
                AccountError::ConfigNotFound(m) | AccountError::InvalidConfiguredEmail(m) => {
                    format!("5.7.0 the SMTP account can no longer be used: {m}")
                }
            })
    }

    /// Returns the envelope sender for a message sent from `from`: `local+b-<token>@domain`,
    /// where the token names the message and is keyed with the server's secret, so that a
    /// delivery-status report can only be matched to the message by someone who saw the
    /// envelope (VERP). Falls back to `from` when the local part would grow past 64 octets.
    pub fn envelope_sender(&self, message: &Message, from: &str) -> String {
        let Some((local, domain)) = from.rsplit_once('@') else {
            return from.to_string();
        };
        let token = self.bounce_token(message.id);
        let local = local.split_once('+').map(|(b, _)| b).unwrap_or(local);
        let verp = format!("{local}+b-{token}");
        if verp.len() > 64 {
            from.to_string()
        } else {
            format!("{verp}@{domain}")
        }
    }

    /// The token of `message` in the envelope sender: its id (hex) and a keyed hash of it.
    pub fn bounce_token(&self, id: MessageId) -> String {
        let mut h = Sha256::new();
        h.update(self.secrets.mac_key());
        h.update(b"mailroom-bounce-token");
        h.update(id.as_uuid().as_bytes());
        let mac = h.finalize();
        format!("{}{}", id.as_uuid().simple(), hex::encode(&mac[..5]))
    }

    /// Reads the message id out of a bounce token, checking its keyed hash.
    pub fn parse_bounce_token(&self, token: &str) -> Option<MessageId> {
        let token = token.to_ascii_lowercase();
        if token.len() != 42 {
            return None;
        }
        let uuid = uuid::Uuid::parse_str(&token[..32]).ok()?;
        let id = MessageId::from(uuid);
        (self.bounce_token(id) == token).then_some(id)
    }
}
