//! Event-log cursors: opaque strings that name a position in one site's log (or, for admin
//! keys reading every site at once, in the whole log).
//!
//! A site cursor is the site's own position: its first event has the same cursor in every
//! site (`e1`, then `e2`…), whatever other sites did, so a cursor tells a tenant nothing about
//! other tenants. The all-sites cursor of an admin read is a separate kind (`g…`) that no
//! site-scoped read accepts. Clients must treat both as opaque strings. Cursors of versions
//! before per-site cursors were bare decimal numbers; [`parse`] tells them apart so the API
//! can answer them with their own error code.

/// The kind of log a cursor positions in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorScope {
    /// One site's log.
    Site,
    /// Every site's events (admin keys without a site filter).
    All,
}

/// Why a cursor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorError {
    /// A bare decimal number: a cursor of an earlier version (global positions).
    Legacy,
    /// Anything else that this server never returned.
    Invalid,
}

/// The largest position a cursor carries.
const MAX_POSITION: i64 = i64::MAX / 2;

/// Encodes a position (0 = before the first event) of the given scope.
pub fn encode(scope: CursorScope, position: i64) -> String {
    let prefix = match scope {
        CursorScope::Site => 'e',
        CursorScope::All => 'g',
    };
    format!("{prefix}{}", to_base36(u64::try_from(position.max(0)).unwrap_or(0)))
}

/// Decodes a cursor of any scope into its scope and position.
pub fn parse(raw: &str) -> Result<(CursorScope, i64), CursorError> {
    let raw = raw.trim();
    if !raw.is_empty() && raw.len() <= 19 && raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CursorError::Legacy);
    }
    let (scope, digits) = match raw.as_bytes().first() {
        Some(b'e') => (CursorScope::Site, &raw[1..]),
        Some(b'g') => (CursorScope::All, &raw[1..]),
        _ => return Err(CursorError::Invalid),
    };
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()) {
        return Err(CursorError::Invalid);
    }
    // No leading zeros, so every position has exactly one spelling.
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(CursorError::Invalid);
    }
    let n = u64::from_str_radix(digits, 36).map_err(|_| CursorError::Invalid)?;
    let n = i64::try_from(n).ok().filter(|n| *n <= MAX_POSITION).ok_or(CursorError::Invalid)?;
    Ok((scope, n))
}

/// Decodes a cursor that must be of `scope`.
pub fn parse_scoped(raw: &str, scope: CursorScope) -> Result<i64, CursorError> {
    // `0` meant "from the start" before cursors were per site, and still does in any scope.
    if raw.trim() == "0" {
        return Ok(0);
    }
    match parse(raw)? {
        (s, n) if s == scope => Ok(n),
        _ => Err(CursorError::Invalid),
    }
}

/// Returns the position of a cursor of either scope, 0 when it is none (used to order rows
/// that keep a cursor, such as webhook deliveries).
pub fn position(raw: &str) -> i64 {
    match parse(raw) {
        Ok((_, n)) => n,
        Err(_) => raw.trim().parse().unwrap_or(0),
    }
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_others() {
        for n in [0, 1, 35, 36, 1_000_000, MAX_POSITION] {
            for scope in [CursorScope::Site, CursorScope::All] {
                assert_eq!(parse(&encode(scope, n)), Ok((scope, n)));
            }
        }
        assert_eq!(encode(CursorScope::Site, 1), "e1");
        assert_eq!(parse("42"), Err(CursorError::Legacy));
        assert_eq!(parse("0"), Err(CursorError::Legacy));
        for bad in ["", "e", "x1", "e01", "E1", "e-1", "e1 2", "ezzzzzzzzzzzzz"] {
            assert_eq!(parse(bad), Err(CursorError::Invalid), "{bad}");
        }
        assert_eq!(parse_scoped("g5", CursorScope::Site), Err(CursorError::Invalid));
        assert_eq!(parse_scoped("0", CursorScope::Site), Ok(0));
        assert_eq!(parse_scoped("7", CursorScope::All), Err(CursorError::Legacy));
        assert_eq!(position("e10"), 36);
        assert_eq!(position("17"), 17);
    }
}
