//! Limits against slow and greedy clients, kept apart from the protocol code.
//!
//! - [`PerIp`]: concurrent sessions and new sessions per minute for one client address (an
//!   IPv6 client counts by its /64, which one host usually holds whole), so one address cannot
//!   take every slot of [`SmtpConfig::max_connections`](crate::SmtpConfig::max_connections).
//! - [`Budget`]: the message bytes all sessions may hold at once while they read DATA and the
//!   handler stores the message; past it a transaction gets `451 4.3.1`, so concurrent sessions
//!   cannot multiply the memory a message takes without bound.
//! - [`Clock`]: the deadlines of one session — the whole session, one complete command, and a
//!   minimum data rate during DATA — next to the per-read idle timeout that was there before.
//!   A client sending one byte every few seconds resets an idle timeout forever; these do not
//!   reset on bytes.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// An IP network (`192.0.2.0/24`, `2001:db8::/32`) or a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Tells whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask(u32::from(net).into(), 32, self.prefix)
                    == mask(u32::from(ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask(u128::from(net), 128, self.prefix) == mask(u128::from(ip), 128, self.prefix)
            }
            (IpAddr::V6(_), IpAddr::V4(v4)) => self.contains(IpAddr::V6(v4.to_ipv6_mapped())),
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
        }
    }
}

fn mask(value: u128, bits: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let shift = bits.saturating_sub(prefix);
    (value >> shift) << shift
}

/// Says why a string is not an [`IpNet`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or network such as 192.0.2.1, 10.0.0.0/8 or 2001:db8::/32")]
pub struct IpNetError(String);

impl FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || IpNetError(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The address a client is counted under: itself for IPv4, its /64 for IPv6.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(mask(u128::from(v6), 128, 64))),
        },
        v4 => v4,
    }
}

/// Why a connection was turned away by [`PerIp::admit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The address holds its most concurrent sessions.
    TooManySessions,
    /// The address opened its most sessions this minute.
    TooManyNewSessions,
}

impl Refusal {
    pub(crate) fn reply(self, host: &str) -> String {
        match self {
            Refusal::TooManySessions => format!(
                "421 4.7.0 {host} Too many concurrent sessions from your address, try again later\r\n"
            ),
            Refusal::TooManyNewSessions => format!(
                "421 4.7.0 {host} Too many new sessions from your address, try again later\r\n"
            ),
        }
    }
}

#[derive(Debug)]
struct Entry {
    active: usize,
    minute_start: Instant,
    opened: usize,
}

/// Counts sessions per client address.
#[derive(Debug)]
pub(crate) struct PerIp {
    max_active: usize,
    max_per_minute: usize,
    exempt: Vec<IpNet>,
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

/// Above this many tracked addresses, entries with nothing to remember are dropped.
const PRUNE_AT: usize = 4096;
const MINUTE: Duration = Duration::from_secs(60);

impl PerIp {
    pub(crate) fn new(max_active: usize, max_per_minute: usize, exempt: Vec<IpNet>) -> Arc<Self> {
        Arc::new(Self {
            max_active,
            max_per_minute,
            exempt,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// Admits a new session from `ip` or says why not; the guard ends the session's count.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<IpGuard, Refusal> {
        if (self.max_active == 0 && self.max_per_minute == 0)
            || self.exempt.iter().any(|n| n.contains(ip))
        {
            return Ok(IpGuard {
                per_ip: None,
                key: ip,
            });
        }
        let key = client_key(ip);
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= PRUNE_AT {
            entries.retain(|_, e| e.active > 0 || now.duration_since(e.minute_start) < MINUTE);
        }
        let entry = entries.entry(key).or_insert(Entry {
            active: 0,
            minute_start: now,
            opened: 0,
        });
        if now.duration_since(entry.minute_start) >= MINUTE {
            entry.minute_start = now;
            entry.opened = 0;
        }
        if self.max_active > 0 && entry.active >= self.max_active {
            return Err(Refusal::TooManySessions);
        }
        if self.max_per_minute > 0 && entry.opened >= self.max_per_minute {
            return Err(Refusal::TooManyNewSessions);
        }
        entry.active += 1;
        entry.opened += 1;
        Ok(IpGuard {
            per_ip: Some(self.clone()),
            key,
        })
    }
}

/// Holds one session's place in its address's count.
#[derive(Debug)]
pub(crate) struct IpGuard {
    per_ip: Option<Arc<PerIp>>,
    key: IpAddr,
}

impl Drop for IpGuard {
    fn drop(&mut self) {
        let Some(per_ip) = self.per_ip.take() else {
            return;
        };
        let mut entries = per_ip.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get_mut(&self.key) {
            entry.active = entry.active.saturating_sub(1);
        }
    }
}

/// The message bytes every session together may hold.
#[derive(Debug)]
pub(crate) struct Budget {
    max: usize,
    used: AtomicUsize,
}

impl Budget {
    /// A budget of `max` bytes; 0 means no limit.
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            used: AtomicUsize::new(0),
        })
    }

    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// The part of the [`Budget`] one transaction holds; given back when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<Budget>,
    held: usize,
}

impl Reservation {
    pub(crate) fn new(budget: &Arc<Budget>) -> Self {
        Self {
            budget: budget.clone(),
            held: 0,
        }
    }

    /// Makes the reservation at least `bytes`; returns `false` (holding what it held) when
    /// the budget has no room.
    pub(crate) fn grow_to(&mut self, bytes: usize) -> bool {
        if bytes <= self.held {
            return true;
        }
        let more = bytes - self.held;
        if self.budget.max == 0 {
            self.held = bytes;
            return true;
        }
        let granted = self
            .budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more)
                    .filter(|total| *total <= self.budget.max)
            });
        if granted.is_ok() {
            self.held = bytes;
        }
        granted.is_ok()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.budget.max != 0 && self.held > 0 {
            self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
        }
    }
}

/// Which of a session's deadlines came first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// Nothing was read for the idle timeout.
    Idle,
    /// The session has run for its whole allowed time.
    Session,
    /// A command was not completed in time.
    Command,
    /// DATA arrives slower than the minimum rate.
    DataRate,
    /// The shutdown grace ended.
    Shutdown,
}

impl Deadline {
    /// The reply before closing, without CRLF.
    pub(crate) fn reply(self, host: &str) -> String {
        match self {
            Deadline::Idle => format!("421 4.4.2 {host} Timeout exceeded, closing connection"),
            Deadline::Session => {
                format!("421 4.4.2 {host} Session time limit exceeded, closing connection")
            }
            Deadline::Command => {
                format!("421 4.4.2 {host} Command not completed in time, closing connection")
            }
            Deadline::DataRate => {
                format!("421 4.4.2 {host} Message data arriving too slowly, closing connection")
            }
            Deadline::Shutdown => {
                format!("421 4.3.2 {host} Service shutting down, closing connection")
            }
        }
    }
}

/// The limits a [`Clock`] enforces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClockLimits {
    pub(crate) session: Duration,
    pub(crate) command: Duration,
    pub(crate) min_rate: usize,
    pub(crate) window: Duration,
}

/// The deadlines of one session that do not move when a byte arrives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    limits: ClockLimits,
    session_end: Instant,
    /// When the command being read must be complete (while reading commands).
    command_end: Instant,
    /// While reading DATA: the current rate window's end and the bytes read in it.
    window: Option<(Instant, usize)>,
}

impl Clock {
    pub(crate) fn start(limits: ClockLimits) -> Self {
        let now = Instant::now();
        Self {
            limits,
            session_end: now + limits.session,
            command_end: now + limits.command,
            window: None,
        }
    }

    /// A command was read: the next one has its full time.
    pub(crate) fn command_done(&mut self) {
        self.command_end = Instant::now() + self.limits.command;
    }

    /// DATA started: the rate is watched from now.
    pub(crate) fn data_started(&mut self) {
        if self.limits.min_rate > 0 && !self.limits.window.is_zero() {
            self.window = Some((Instant::now() + self.limits.window, 0));
        }
    }

    /// DATA ended: commands are timed again.
    pub(crate) fn data_ended(&mut self) {
        self.window = None;
        self.command_done();
    }

    /// Counts bytes read during DATA.
    pub(crate) fn read(&mut self, bytes: usize) {
        if let Some((_, n)) = self.window.as_mut() {
            *n = n.saturating_add(bytes);
        }
    }

    /// Returns the next deadline and what it is. A rate window that ended with enough bytes
    /// is renewed here.
    pub(crate) fn next(&mut self, now: Instant, in_data: bool) -> (Instant, Deadline) {
        let mut next = (self.session_end, Deadline::Session);
        if in_data {
            if let Some((end, bytes)) = self.window
                && end <= now
            {
                let needed = self
                    .limits
                    .min_rate
                    .saturating_mul(self.limits.window.as_secs().max(1) as usize);
                if bytes < needed {
                    return (end, Deadline::DataRate);
                }
                self.window = Some((now + self.limits.window, 0));
            }
            if let Some((end, _)) = self.window
                && end < next.0
            {
                next = (end, Deadline::DataRate);
            }
        } else if self.command_end < next.0 {
            next = (self.command_end, Deadline::Command);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_match() {
        let net: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!(one.contains("::ffff:127.0.0.1".parse().unwrap()));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(
            "0.0.0.0/0"
                .parse::<IpNet>()
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in ["", "10.0.0.0/33", "x", "::/129", "1.2.3.4/"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn per_ip_counts_concurrent_and_new_sessions() {
        let per_ip = PerIp::new(2, 3, vec!["127.0.0.1".parse().unwrap()]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let g1 = per_ip.admit(a).unwrap();
        let g2 = per_ip.admit(a).unwrap();
        assert_eq!(per_ip.admit(a).unwrap_err(), Refusal::TooManySessions);
        assert!(
            per_ip.admit("192.0.2.2".parse().unwrap()).is_ok(),
            "another address has its own count"
        );
        drop(g1);
        let _g3 = per_ip.admit(a).unwrap();
        drop(g2);
        assert_eq!(per_ip.admit(a).unwrap_err(), Refusal::TooManyNewSessions);
        for _ in 0..10 {
            let _ = per_ip.admit("127.0.0.1".parse().unwrap()).unwrap();
        }
        // One IPv6 /64 is one client.
        let v6 = PerIp::new(1, 0, Vec::new());
        let _g = v6.admit("2001:db8::1".parse().unwrap()).unwrap();
        assert!(v6.admit("2001:db8::2".parse().unwrap()).is_err());
        assert!(v6.admit("2001:db8:0:1::2".parse().unwrap()).is_ok());
    }

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = Budget::new(100);
        let mut a = Reservation::new(&budget);
        let mut b = Reservation::new(&budget);
        assert!(a.grow_to(60));
        assert!(!b.grow_to(50));
        assert!(b.grow_to(40));
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 40);
        assert!(b.grow_to(90));
        drop(b);
        assert_eq!(budget.used(), 0);
        let unlimited = Budget::new(0);
        assert!(Reservation::new(&unlimited).grow_to(usize::MAX));
    }

    #[tokio::test(start_paused = true)]
    async fn the_clock_times_commands_sessions_and_data_rate() {
        let limits = ClockLimits {
            session: Duration::from_secs(100),
            command: Duration::from_secs(10),
            min_rate: 10,
            window: Duration::from_secs(5),
        };
        let mut clock = Clock::start(limits);
        let t0 = Instant::now();
        assert_eq!(
            clock.next(t0, false),
            (t0 + Duration::from_secs(10), Deadline::Command)
        );
        clock.data_started();
        assert_eq!(
            clock.next(t0, true),
            (t0 + Duration::from_secs(5), Deadline::DataRate)
        );
        clock.read(60);
        tokio::time::advance(Duration::from_secs(5)).await;
        let t1 = Instant::now();
        assert_eq!(
            clock.next(t1, true),
            (t1 + Duration::from_secs(5), Deadline::DataRate),
            "enough bytes renew the window"
        );
        clock.read(49);
        tokio::time::advance(Duration::from_secs(5)).await;
        let t2 = Instant::now();
        assert_eq!(
            clock.next(t2, true),
            (t2, Deadline::DataRate),
            "too few bytes end it"
        );
        clock.data_ended();
        tokio::time::advance(Duration::from_secs(85)).await;
        clock.command_done();
        assert_eq!(
            clock.next(Instant::now(), false),
            (t0 + Duration::from_secs(100), Deadline::Session),
            "the session limit does not move"
        );
    }
}
