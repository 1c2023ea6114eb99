//! Hosted domains with their DKIM keys, and the suppression list.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
#[allow(unused_imports)]
use chrono::{DateTime, Utc};
#[allow(unused_imports)]
use mailroom_core::agent::*;
use mailroom_core::*;

/// Hosted domains with their DKIM keys, and the suppression list.
#[async_trait]
pub trait DomainStore: Send + Sync + 'static {
    /// Adds a hosted domain with its DKIM keys and appends `event`. `Conflict` with
    /// `domain_name` when any site already has the name.
    async fn create_domain(&self, domain: &Domain, event: &NewEvent) -> StoreResult<()>;

    /// Returns a domain by id.
    async fn get_domain(&self, id: DomainId) -> StoreResult<Option<Domain>>;

    /// Returns the domain with this name (compared lower-cased).
    async fn get_domain_by_name(&self, name: &str) -> StoreResult<Option<Domain>>;

    /// Lists domains by name: of one site (`Some`) or all (`None`).
    async fn list_domains(&self, site: Option<SiteId>) -> StoreResult<Vec<Domain>>;

    /// Deletes a domain; returns whether it existed.
    async fn delete_domain(&self, id: DomainId) -> StoreResult<bool>;

    /// Adds `suppression`, or replaces the reason, detail and time of an existing one for the
    /// same site and address, and appends `event` if given, in one transaction.
    async fn put_suppression(&self, suppression: &Suppression, event: Option<&NewEvent>) -> StoreResult<()>;

    /// Returns the site's suppression of `address` (compared lower-cased).
    async fn get_suppression(&self, site: SiteId, address: &str) -> StoreResult<Option<Suppression>>;

    /// Lists suppressions ordered by address, with addresses greater than `after`: of one
    /// site (`Some`) or all (`None`), at most `limit`.
    async fn list_suppressions(&self, site: Option<SiteId>, after: Option<&str>, limit: u32) -> StoreResult<Vec<Suppression>>;

    /// Deletes the site's suppression of `address`; returns whether it existed.
    async fn delete_suppression(&self, site: SiteId, address: &str) -> StoreResult<bool>;
}
