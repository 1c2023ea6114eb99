//! The queue worker: claims due recipients, groups them into SMTP transactions, delivers,
//! and records each recipient's outcome with its event.

use crate::config::{DeliveryConfig, TlsMode};
use crate::hooks::{AccountRoute, DeliveryHooks, RouteLookup};
use crate::outcome::Outcome;
use crate::route::{self, Addresses, Destination, MxAnswer};
use crate::session::{self, Endpoint, Envelope, Options, Transaction};
use crate::{DeliveryError, dkim};
use bytes::Bytes;
use hickory_resolver::TokioResolver;
use mailroom_core::event_types::*;
use mailroom_core::{DeliveryStatus, EmailAddress, Message, MessageId, Recipient, Suppression, now};
use mailroom_store::runner::{self, LeasedQueue, RetryClock};
use mailroom_store::{BlobStore, NewEvent, PendingRecipient, RecipientUpdate, Store};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsConnector;

/// RFC 5321 §4.5.3.1.8: servers must accept at least 100 recipients per transaction.
const MAX_RCPTS_PER_TRANSACTION: usize = 100;
/// How many servers (MX hosts × addresses) one attempt tries at most.
const MAX_CONNECTIONS_PER_ATTEMPT: usize = 6;
/// How many addresses of one host are tried.
const MAX_ADDRESSES_PER_HOST: usize = 2;

/// A message being delivered, loaded once per batch.
struct Job {
    message: Message,
    /// The envelope sender; `None` when the message cannot be sent at all.
    sender: Option<String>,
    /// The raw message with its DKIM signatures prepended.
    body: Bytes,
    /// The site's SMTP account, when the message was queued for that route.
    route: Option<AccountRoute>,
}

/// One unit of work of a batch.
enum Work {
    /// The outcome is already known (local delivery, unusable message): record it.
    Record { job: Arc<Job>, recipient: Recipient, outcome: Outcome },
    /// One SMTP transaction for these recipients of one message.
    Remote { job: Arc<Job>, destination: Destination, recipients: Vec<Recipient> },
}

/// One unit of delivery work as the worker runner sees it (what is inside stays here).
pub struct WorkUnit(Work);

impl Work {
    fn recipients(&self) -> usize {
        match self {
            Work::Record { .. } => 1,
            Work::Remote { recipients, .. } => recipients.len(),
        }
    }
}

/// The outbound queue worker. Cheap to share: wrap it in an `Arc` and call [`Deliverer::run`].
pub struct Deliverer {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    hooks: Arc<dyn DeliveryHooks>,
    config: DeliveryConfig,
    routes: HashMap<String, (String, u16)>,
    waker: Arc<Notify>,
    resolver: tokio::sync::OnceCell<Result<TokioResolver, String>>,
    /// Built on first use: loading the platform's trust store can fail on a bare system
    /// that only ever delivers with opportunistic TLS.
    verifying: std::sync::OnceLock<Result<TlsConnector, String>>,
    unverified: std::sync::OnceLock<Result<TlsConnector, String>>,
    /// The port of MX hosts (25; tests point it elsewhere).
    mx_port: u16,
    /// The earliest retry this worker scheduled, so that a long poll interval does not
    /// delay it.
    retries: RetryClock,
}

#[async_trait::async_trait]
impl LeasedQueue for Deliverer {
    type Work = WorkUnit;

    fn name(&self) -> &'static str {
        "outbound delivery"
    }

    async fn claim_work(&self, limit: usize) -> Result<(usize, Vec<WorkUnit>), String> {
        let claimed = self.claim(limit).await.map_err(|e| e.to_string())?;
        let n = claimed.len();
        Ok((n, self.plan(claimed).await.into_iter().map(WorkUnit).collect()))
    }

    async fn run_work(self: Arc<Self>, work: WorkUnit) {
        self.execute(work.0).await;
    }

    fn idle_wait(&self) -> Duration {
        self.retries.idle_wait(self.config.poll_interval)
    }
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Deliverer {
    /// Returns a worker over `store` and `blobs`. Nothing happens until [`Deliverer::run`] or
    /// [`Deliverer::run_once`] is called.
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, hooks: Arc<dyn DeliveryHooks>, config: DeliveryConfig) -> Self {
        let routes = config.routes.iter().map(|(d, target)| (d.trim_end_matches('.').to_ascii_lowercase(), target.clone())).collect();
        Self {
            store,
            blobs,
            hooks,
            config,
            routes,
            waker: Arc::new(Notify::new()),
            resolver: tokio::sync::OnceCell::new(),
            verifying: std::sync::OnceLock::new(),
            unverified: std::sync::OnceLock::new(),
            mx_port: 25,
            retries: RetryClock::default(),
        }
    }

    /// Returns the notifier that starts a delivery round at once: call `notify_one()` on it
    /// after queueing a message.
    pub fn waker(&self) -> Arc<Notify> {
        self.waker.clone()
    }

    /// Claims a batch of due recipients (at most `concurrency`), attempts them all, records
    /// every outcome, and returns how many recipients were attempted. Tests drive the queue
    /// with this, deterministically; [`Deliverer::run`] is the long-running form.
    pub async fn run_once(&self) -> Result<usize, DeliveryError> {
        let claimed = self.claim(self.config.concurrency.max(1)).await?;
        let attempted = claimed.len();
        let work = self.plan(claimed).await;
        futures::future::join_all(work.into_iter().map(|w| self.execute(w))).await;
        Ok(attempted)
    }

    /// Delivers until `shutdown` turns `true` (or its sender is dropped): claims as many due
    /// recipients as there are free delivery slots, runs each transaction in its own task,
    /// and otherwise sleeps until the waker fires, the poll interval passes or a retry this
    /// worker scheduled falls due. On shutdown it stops claiming and waits for the attempts
    /// under way, which end before their lease does; dropping this future instead is safe
    /// too, as unfinished recipients are claimed again when their lease expires.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let (concurrency, waker) = (self.config.concurrency, self.waker.clone());
        runner::run(self, concurrency, waker, None, shutdown).await;
    }

    async fn claim(&self, limit: usize) -> Result<Vec<PendingRecipient>, DeliveryError> {
        let t = now();
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::minutes(5));
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        Ok(self.store.claim_recipients(t, t + lease, limit).await?)
    }

    /// Loads the claimed recipients' messages and splits the batch into units of work:
    /// local deliveries (done here, through the hooks), and one SMTP transaction per
    /// message and destination.
    async fn plan(&self, claimed: Vec<PendingRecipient>) -> Vec<Work> {
        let mut by_message: Vec<(MessageId, Vec<Recipient>)> = Vec::new();
        for p in claimed {
            match by_message.iter_mut().find(|(id, _)| *id == p.message_id) {
                Some((_, list)) => list.push(p.recipient),
                None => by_message.push((p.message_id, vec![p.recipient])),
            }
        }
        let mut work = Vec::new();
        for (id, recipients) in by_message {
            let (job, unusable) = match self.load(id).await {
                Some(loaded) => loaded,
                None => continue,
            };
            let job = Arc::new(job);
            if let Some(outcome) = unusable {
                work.extend(recipients.into_iter().map(|recipient| Work::Record { job: job.clone(), recipient, outcome: outcome.clone() }));
                continue;
            }
            let mut remote: Vec<(Destination, Vec<Recipient>)> = Vec::new();
            for recipient in recipients {
                if let Some(local) = self.hooks.deliver_local(&job.message, &recipient).await {
                    let outcome = match local.status {
                        DeliveryStatus::Delivered => Outcome::Delivered(local.reply),
                        DeliveryStatus::Bounced => Outcome::Permanent { reply: local.reply, suppress: false },
                        DeliveryStatus::Failed => Outcome::Failed(local.reply),
                        DeliveryStatus::Deferred | DeliveryStatus::Queued | DeliveryStatus::Sending => Outcome::Temporary(local.reply),
                    };
                    work.push(Work::Record { job: job.clone(), recipient, outcome });
                    continue;
                }
                let destination = match &job.route {
                    Some(r) => Destination::Account(r.host.clone(), r.port),
                    None => self.destination(recipient.address.domain()),
                };
                match remote.iter_mut().find(|(d, list)| *d == destination && list.len() < MAX_RCPTS_PER_TRANSACTION) {
                    Some((_, list)) => list.push(recipient),
                    None => remote.push((destination, vec![recipient])),
                }
            }
            work.extend(remote.into_iter().map(|(destination, recipients)| Work::Remote { job: job.clone(), destination, recipients }));
        }
        work
    }

    /// Loads a message, its bytes and signatures. Returns `None` when it cannot be loaded
    /// now (deleted, or the store failed: the lease runs out and it is claimed again), and
    /// an outcome for all its recipients when it can never be sent.
    async fn load(&self, id: MessageId) -> Option<(Job, Option<Outcome>)> {
        let message = match self.store.get_message(id).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                tracing::warn!(message_id = %id, "a claimed recipient's message is gone; skipping it");
                return None;
            }
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "loading a queued message failed; it is retried when its lease expires");
                return None;
            }
        };
        let Some(from) = message.from.as_ref().map(|f| f.address.clone()) else {
            let outcome = Outcome::Failed("5.1.7 the message has no From address to send it from".to_string());
            return Some((Job { message, sender: None, body: Bytes::new(), route: None }, Some(outcome)));
        };
        let raw = match self.blobs.get(&message.raw_blob_key).await {
            Ok(raw) => raw,
            Err(e) => {
                let outcome = if e.kind() == std::io::ErrorKind::NotFound {
                    Outcome::Failed("5.3.0 the raw message is missing from the blob store".to_string())
                } else {
                    tracing::error!(message_id = %id, error = %e, "reading a queued message's bytes failed");
                    Outcome::Temporary(format!("4.3.0 reading the message from the blob store failed: {e}"))
                };
                return Some((Job { message, sender: Some(from.to_string()), body: Bytes::new(), route: None }, Some(outcome)));
            }
        };
        let (route, sender) = match self.hooks.route(&message).await {
            RouteLookup::Default => (None, self.hooks.envelope_sender(&message, from.as_str()).await),
            RouteLookup::Account(r) => {
                let sender = r.sender.clone();
                (Some(r), sender)
            }
            RouteLookup::Unusable(reply) => {
                return Some((Job { message, sender: Some(from.to_string()), body: Bytes::new(), route: None }, Some(Outcome::Failed(reply))));
            }
        };
        let keys = self.hooks.dkim_keys(from.domain()).await;
        let body = if keys.is_empty() { raw } else { Bytes::from(dkim::sign(&raw, from.domain(), &keys)) };
        Some((Job { message, sender: Some(sender), body, route }, None))
    }

    fn destination(&self, domain: &str) -> Destination {
        if let Some((host, port)) = self.routes.get(domain) {
            Destination::Static(host.clone(), *port)
        } else if self.config.relay.is_some() {
            Destination::Relay
        } else {
            Destination::Mx(domain.to_string())
        }
    }

    async fn execute(&self, work: Work) {
        let n = work.recipients();
        match work {
            Work::Record { job, recipient, outcome } => self.record(&job, &recipient, outcome).await,
            Work::Remote { job, destination, recipients } => {
                let budget = self.config.attempt_budget();
                let started = std::time::Instant::now();
                let outcomes = match tokio::time::timeout(budget, self.deliver(&job, &destination, &recipients)).await {
                    Ok(outcomes) => outcomes,
                    Err(_) => {
                        let reply = format!("4.4.7 the delivery attempt was cut off after {} s, before its lease ran out", budget.as_secs());
                        vec![Outcome::Temporary(reply); n]
                    }
                };
                metrics::histogram!("mailroom_delivery_attempt_duration_seconds").record(started.elapsed().as_secs_f64());
                for (recipient, outcome) in recipients.iter().zip(outcomes) {
                    self.record(&job, recipient, outcome).await;
                }
            }
        }
    }

    async fn resolver(&self) -> Result<&TokioResolver, String> {
        let dns = self.config.dns.clone();
        self.resolver.get_or_init(|| async move { route::build_resolver(dns.as_deref()) }).await.as_ref().map_err(Clone::clone)
    }

    /// Tries the destination's servers in order until one gives per-recipient answers or a
    /// permanent refusal; returns one outcome per recipient.
    async fn deliver(&self, job: &Job, destination: &Destination, recipients: &[Recipient]) -> Vec<Outcome> {
        let all = |o: Outcome| vec![o; recipients.len()];
        let Some(sender) = job.sender.as_deref() else {
            return all(Outcome::Failed("5.1.7 the message has no From address".to_string()));
        };
        let relay = self.config.relay.as_ref();
        let mut plain_auth = false;
        let (hosts, port, tls, credentials, implicit_mx) = match destination {
            Destination::Static(host, port) => (vec![host.clone()], *port, TlsMode::Opportunistic, None, false),
            Destination::Relay => {
                let Some(r) = relay else { return all(Outcome::Temporary("4.3.5 no relay configured".to_string())) };
                let creds = r.username.as_deref().map(|u| (u, r.password.as_deref().unwrap_or_default()));
                // The operator chose the relay's TLS mode; `none` is an explicit choice.
                plain_auth = r.tls == TlsMode::None;
                (vec![r.host.clone()], r.port, r.tls, creds, false)
            }
            Destination::Account(host, port) => {
                let Some(r) = job.route.as_ref() else { return all(Outcome::Failed("5.3.5 the SMTP account route is missing".to_string())) };
                // Only a token that says `smtpSecurity: "none"` gets `TlsMode::None`.
                plain_auth = r.tls == TlsMode::None;
                (vec![host.clone()], *port, r.tls, Some((r.username.as_str(), r.password.as_str())), false)
            }
            Destination::Mx(domain) => {
                let resolver = match self.resolver().await {
                    Ok(r) => r,
                    Err(e) => return all(Outcome::Temporary(format!("4.4.3 {e}"))),
                };
                match route::lookup_mx(resolver, domain).await {
                    Err(e) => return all(Outcome::Temporary(format!("4.4.3 {e}"))),
                    Ok(MxAnswer::NullMx) => {
                        return all(Outcome::Permanent { reply: format!("556 5.1.10 {domain} accepts no mail (null MX)"), suppress: true });
                    }
                    Ok(MxAnswer::NoSuchDomain) => {
                        return all(Outcome::Permanent { reply: format!("550 5.1.2 the domain {domain} does not exist"), suppress: true });
                    }
                    Ok(MxAnswer::Hosts { hosts, implicit }) => (hosts, self.mx_port, TlsMode::Opportunistic, None, implicit),
                }
            }
        };
        // A loopback SMTP account (allowed only with allow_private_targets) is a local test
        // or development server with a self-signed certificate.
        let loopback_account = matches!(destination, Destination::Account(h, _) if is_loopback_name(h));
        let verify = matches!(tls, TlsMode::StartTls | TlsMode::Implicit) && !self.config.allow_invalid_certs && !loopback_account;
        let connector = match self.connector(verify) {
            Ok(c) => c,
            Err(e) => return all(Outcome::Temporary(format!("4.7.5 {e}"))),
        };
        let opts = Options {
            helo: &self.config.hostname,
            tls,
            connector,
            credentials,
            plain_auth,
            connect_timeout: self.config.connect_timeout,
            command_timeout: self.config.attempt_budget(),
        };
        let envelope = Envelope { from: sender, to: recipients.iter().map(|r| r.address.as_str()).collect(), body: &job.body };

        let mut last = "4.4.1 no server could be reached".to_string();
        let mut connections = 0;
        let mut refused: Option<String> = None;
        for host in &hosts {
            let addrs = match self.addresses(destination, host, port).await {
                Ok(Some(addrs)) => match self.guard(destination, host, addrs) {
                    Ok(addrs) => addrs,
                    Err(why) => {
                        tracing::warn!(server = host.as_str(), reason = why.as_str(), "refused a non-public delivery target");
                        refused = Some(why);
                        continue;
                    }
                },
                Ok(None) if implicit_mx => {
                    return all(Outcome::Permanent { reply: format!("550 5.1.2 {host} has no MX and no address records"), suppress: true });
                }
                Ok(None) => {
                    last = format!("4.4.3 the mail server {host} has no address records");
                    continue;
                }
                Err(e) => {
                    last = format!("4.4.3 {e}");
                    continue;
                }
            };
            for addr in addrs.into_iter().take(MAX_ADDRESSES_PER_HOST) {
                if connections == MAX_CONNECTIONS_PER_ATTEMPT {
                    return all(Outcome::Temporary(last));
                }
                connections += 1;
                let endpoint = Endpoint { name: host, addr };
                let transaction = session::transact(&endpoint, &opts, &envelope).await;
                let transaction = match (destination, transaction) {
                    // A tenant chose this server: say that it could not be reached, never
                    // how (refused, timed out, reset), so the queue is no port scanner.
                    (Destination::Account(..), Transaction::Whole(Outcome::Temporary(reply))) if reply.starts_with("4.4.") => {
                        Transaction::Whole(Outcome::Temporary(format!("4.4.1 the SMTP account's server {host}:{port} could not be reached")))
                    }
                    (_, t) => t,
                };
                match transaction {
                    Transaction::PerRecipient(outcomes) => return outcomes,
                    Transaction::Whole(Outcome::Temporary(reply)) => {
                        tracing::info!(server = host.as_str(), %addr, reply = reply.as_str(), "temporary failure; trying the next server if any");
                        last = reply;
                    }
                    Transaction::Whole(outcome) => return all(outcome),
                }
            }
        }
        if connections == 0
            && let Some(why) = refused
        {
            return all(Outcome::Failed(format!("5.7.1 {why}")));
        }
        all(Outcome::Temporary(last))
    }

    /// Drops the addresses the SSRF guard refuses for targets that tenants or the DNS
    /// choose (MX hosts, SMTP accounts), unless `allow_private_targets`; the relay and static
    /// routes are the operator's and pass. `Err` when nothing is left, saying why.
    fn guard(&self, destination: &Destination, host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, String> {
        if self.config.allow_private_targets || matches!(destination, Destination::Static(..) | Destination::Relay) {
            return Ok(addrs);
        }
        let mut why = String::new();
        let kept: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| match mailroom_core::netguard::forbidden_reason(a.ip()) {
                None => true,
                Some(reason) => {
                    why = format!("{} ({})", a.ip(), reason);
                    false
                }
            })
            .collect();
        if kept.is_empty() {
            let what = match destination {
                Destination::Account(..) => "the site's SMTP account server",
                _ => "the mail server",
            };
            return Err(format!(
                "{what} {host} resolves only to non-public addresses such as {why}, which Mailroom does not connect to (security.allow_private_targets lifts this in development)"
            ));
        }
        Ok(kept)
    }

    /// Returns the TLS connector that verifies certificates (`verify`) or accepts any.
    fn connector(&self, verify: bool) -> Result<&TlsConnector, &String> {
        let cell = if verify { &self.verifying } else { &self.unverified };
        cell.get_or_init(|| {
            let built = if verify {
                crate::tls::verifying().map_err(|e| format!("cannot set up certificate verification: {e}"))
            } else {
                crate::tls::unverified().map_err(|e| format!("cannot set up TLS: {e}"))
            };
            if let Err(e) = &built {
                tracing::error!(error = %e, "TLS is unavailable for outbound delivery");
            }
            built
        })
        .as_ref()
    }

    /// Returns the addresses of one server: from the DNS resolver for MX hosts, from the
    /// system (which knows `/etc/hosts`) for static routes and the relay. `Ok(None)`: the
    /// name has no addresses.
    async fn addresses(&self, destination: &Destination, host: &str, port: u16) -> Result<Option<Vec<SocketAddr>>, String> {
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
            return Ok(Some(vec![SocketAddr::new(ip, port)]));
        }
        if let Destination::Mx(_) = destination {
            let resolver = self.resolver().await?;
            return Ok(match route::lookup_addresses(resolver, host).await? {
                Addresses::Found(ips) => Some(ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect()),
                Addresses::None => None,
            });
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
        Ok(if addrs.is_empty() { None } else { Some(addrs) })
    }

    /// Stores one recipient's outcome with its event (and, for a refused address, the
    /// suppression). A failure here is logged: the lease then expires and the recipient is
    /// attempted again, so nothing is lost (at worst it is delivered twice).
    async fn record(&self, job: &Job, recipient: &Recipient, outcome: Outcome) {
        let message = &job.message;
        let t = now();
        let attempts = recipient.attempts.saturating_add(1);
        let deadline = message.created_at + chrono::Duration::from_std(self.config.give_up_after).unwrap_or(chrono::Duration::days(5));
        let reply = outcome.reply().to_string();
        let (status, next_attempt_at, event_type, suppress) = match outcome {
            Outcome::Delivered(_) => (DeliveryStatus::Delivered, None, MESSAGE_DELIVERED, false),
            Outcome::Temporary(_) if t >= deadline => (DeliveryStatus::Failed, None, MESSAGE_FAILED, false),
            Outcome::Temporary(_) => {
                let delay = chrono::Duration::from_std(self.config.retry_delay(attempts)).unwrap_or(chrono::Duration::hours(1));
                (DeliveryStatus::Deferred, Some((t + delay).min(deadline)), MESSAGE_DEFERRED, false)
            }
            Outcome::Permanent { suppress, .. } => (DeliveryStatus::Bounced, None, MESSAGE_BOUNCED, suppress),
            Outcome::Failed(_) => (DeliveryStatus::Failed, None, MESSAGE_FAILED, false),
        };
        let update = RecipientUpdate { status, last_reply: Some(reply.clone()), attempts, next_attempt_at };
        let mut event = NewEvent::recipient_outcome(message, event_type, &recipient.address, status, &reply, attempts);
        event.data["next_attempt_at"] = serde_json::json!(next_attempt_at);
        tracing::info!(message_id = %message.id, recipient = %recipient.address, %status, attempts, reply = reply.as_str(), "delivery attempt recorded");
        match status {
            DeliveryStatus::Delivered => metrics::counter!("mailroom_messages_delivered_total").increment(1),
            DeliveryStatus::Bounced => metrics::counter!("mailroom_messages_bounced_total").increment(1),
            _ => {}
        }
        if let Err(e) = self.store.update_recipient(message.id, &recipient.address, &update, std::slice::from_ref(&event)).await {
            tracing::error!(message_id = %message.id, recipient = %recipient.address, error = %e, "recording a delivery outcome failed; the recipient is retried when its lease expires");
            return;
        }
        if let Some(next) = next_attempt_at {
            self.retries.remember(next);
        }
        if suppress {
            let address = EmailAddress::parse(&recipient.address.canonical()).unwrap_or_else(|_| recipient.address.clone());
            let suppression = Suppression {
                site_id: message.site_id,
                address,
                reason: "hard_bounce".to_string(),
                detail: Some(reply),
                created_at: t,
            };
            let event = NewEvent::new(
                message.site_id,
                Some(message.mailbox_id),
                SUPPRESSION_CREATED,
                serde_json::json!({
                    "address": suppression.address,
                    "reason": suppression.reason,
                    "detail": suppression.detail,
                    "message_id": message.id,
                    "mailbox_id": message.mailbox_id,
                }),
            );
            if let Err(e) = self.store.put_suppression(&suppression, Some(&event)).await {
                tracing::error!(recipient = %recipient.address, error = %e, "adding a hard-bounce suppression failed");
            }
        }
    }
}

/// Tells whether a host name is loopback (`localhost` or a loopback literal).
fn is_loopback_name(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
impl Deliverer {
    /// Points MX deliveries at another port than 25, for tests.
    pub(crate) fn set_mx_port(&mut self, port: u16) {
        self.mx_port = port;
    }
}

// MX delivery end to end: a fake name server, the test SMTP server, and the worker with the
// MX port pointed at it. (Lives here because the MX port is not configurable.)
#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod support;

#[cfg(test)]
mod tests {
    use super::support;
    use crate::route::fake_dns::{FakeDns, spawn_dns};
    use mailroom_core::DeliveryStatus;
    use std::collections::HashMap;
    use std::net::Ipv4Addr;
    use support::smtp::{ServerOptions, TestSmtp};
    use support::{Harness, TestHooks, config};

    #[tokio::test]
    async fn mail_follows_mx_records_to_the_first_server_that_answers() {
        let h = Harness::new().await;
        let server = TestSmtp::start(ServerOptions::default()).await;
        let mut mx = HashMap::new();
        // The preferred host's address has nothing listening: the backup gets the mail.
        mx.insert("remote.test".to_string(), vec![(20, "backup.remote.test".to_string()), (10, "primary.remote.test".to_string())]);
        mx.insert("nullmx.test".to_string(), vec![(0, ".".to_string())]);
        let mut a = HashMap::new();
        a.insert("primary.remote.test".to_string(), vec![Ipv4Addr::new(127, 0, 0, 2)]);
        a.insert("backup.remote.test".to_string(), vec![Ipv4Addr::new(127, 0, 0, 1)]);
        a.insert("bare.test".to_string(), vec![Ipv4Addr::new(127, 0, 0, 1)]);
        let dns = spawn_dns(FakeDns { mx, a, nxdomain: vec!["nowhere.test".into()], servfail: vec!["broken.test".into()] }).await;

        let msg = h
            .queue(&["bob@remote.test", "carol@bare.test", "dan@nullmx.test", "erin@nowhere.test", "fay@broken.test", "gus@nomail.test"])
            .await;
        let mut d = h.deliverer(TestHooks::none(), crate::DeliveryConfig { dns: Some(vec![dns]), allow_private_targets: true, ..config(&[]) });
        d.set_mx_port(server.port());
        assert_eq!(d.run_once().await.expect("run_once"), 6);

        let received = server.received();
        let mut rcpts: Vec<String> = received.iter().flat_map(|r| r.rcpt_to.clone()).collect();
        rcpts.sort();
        assert_eq!(rcpts, ["bob@remote.test", "carol@bare.test"]);
        assert_eq!(h.recipient(&msg, "bob@remote.test").await.status, DeliveryStatus::Delivered);
        assert_eq!(h.recipient(&msg, "carol@bare.test").await.status, DeliveryStatus::Delivered, "no MX: the domain's own address");

        let dan = h.recipient(&msg, "dan@nullmx.test").await;
        assert_eq!(dan.status, DeliveryStatus::Bounced);
        assert_eq!(dan.last_reply.as_deref(), Some("556 5.1.10 nullmx.test accepts no mail (null MX)"));
        let erin = h.recipient(&msg, "erin@nowhere.test").await;
        assert_eq!(erin.status, DeliveryStatus::Bounced);
        assert_eq!(erin.last_reply.as_deref(), Some("550 5.1.2 the domain nowhere.test does not exist"));
        let gus = h.recipient(&msg, "gus@nomail.test").await;
        assert_eq!(gus.status, DeliveryStatus::Bounced, "no MX and no address");
        let fay = h.recipient(&msg, "fay@broken.test").await;
        assert_eq!(fay.status, DeliveryStatus::Deferred, "a DNS failure is temporary: {:?}", fay.last_reply);
        for gone in ["dan@nullmx.test", "erin@nowhere.test", "gus@nomail.test"] {
            assert!(h.store.get_suppression(h.site.id, gone).await.unwrap().is_some(), "{gone} is suppressed");
        }
        assert!(h.store.get_suppression(h.site.id, "fay@broken.test").await.unwrap().is_none());
    }
}
