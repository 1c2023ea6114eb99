//! Server-side sessions: signing in turns an API key into a random session id kept in an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` when the console is served over HTTPS); the
//! key itself stays on the server. Every session carries its own CSRF token, which every
//! state-changing form must send back.

use axum::http::HeaderMap;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie holding the session id.
pub const COOKIE: &str = "mailroom_session";

/// How long a session lives without being used.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);

/// The most sessions kept at once; the least recently used one goes first past it.
pub const MAX_SESSIONS: usize = 10_000;

/// One signed-in browser.
#[derive(Clone)]
pub struct Session {
    /// The session id (the cookie's value).
    pub id: String,
    /// The API key the user signed in with; every page calls the API with it.
    pub key: String,
    /// Whether the key is an admin key (which may switch sites).
    pub admin: bool,
    /// The site the console shows: the key's own site, or the one an admin picked.
    pub site: Option<String>,
    /// The token every state-changing form must carry.
    pub csrf: String,
    last_used: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("admin", &self.admin)
            .field("site", &self.site)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Returns a throwaway session for `key`, to ask the API what kind of key it is.
    pub(crate) fn probe(key: &str) -> Session {
        Session {
            id: String::new(),
            key: key.to_string(),
            admin: false,
            site: None,
            csrf: String::new(),
            last_used: Instant::now(),
        }
    }

    /// Returns `site_id=<id>` for admin sessions (listings default to every site otherwise),
    /// or nothing for site keys, whose site is implied by the key.
    pub fn site_query(&self) -> Option<String> {
        match (&self.site, self.admin) {
            (Some(s), true) => Some(format!("site_id={s}")),
            _ => None,
        }
    }
}

/// The sessions of this node, in memory.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

/// Returns 32 random bytes as hex.
pub fn token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Compares two secrets in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Sessions {
    /// Starts a session for `key`.
    pub fn create(&self, key: String, admin: bool, site: Option<String>) -> Session {
        let s = Session {
            id: token(),
            key,
            admin,
            site,
            csrf: token(),
            last_used: Instant::now(),
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, v| v.last_used.elapsed() < IDLE);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, v)| v.last_used)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(s.id.clone(), s.clone());
        s
    }

    /// Returns the live session named by the request's cookie, touching it.
    pub fn from_headers(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, COOKIE)?;
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let s = map.get_mut(&id)?;
        if s.last_used.elapsed() >= IDLE {
            map.remove(&id);
            return None;
        }
        s.last_used = Instant::now();
        Some(s.clone())
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Changes the site an admin session shows.
    pub fn set_site(&self, id: &str, site: String) {
        if let Some(s) = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            s.site = Some(site);
        }
    }
}

/// Returns the value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Returns the `Set-Cookie` value that stores `id` (or clears the cookie when `id` is empty).
pub fn set_cookie(id: &str, secure: bool) -> String {
    let max_age = if id.is_empty() { 0 } else { IDLE.as_secs() };
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_strict_and_secure_on_https() {
        let c = set_cookie("abc", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("; Secure"));
        assert!(!set_cookie("abc", false).contains("Secure"));
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_gone_after_sign_out() {
        let sessions = Sessions::default();
        let s = sessions.create("key".into(), false, Some("site".into()));
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            format!("other=1; {COOKIE}={}", s.id).parse().unwrap(),
        );
        assert_eq!(sessions.from_headers(&h).unwrap().key, "key");
        sessions.remove(&s.id);
        assert!(sessions.from_headers(&h).is_none());
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
