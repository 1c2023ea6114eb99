//! Layered configuration: built-in defaults, then a TOML file (`--config`), then `MAILROOM_*`
//! environment variables, then command-line flags.
//!
//! Environment variables name a key with its section joined by `_`: `MAILROOM_HTTP_ADDR` sets
//! `http.addr`, `MAILROOM_DATA_DIR` sets `data_dir`.

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The server's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the SQLite database, blob files and the admin key live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/mailroom.db`.
    pub database_url: String,
    /// The domain mailboxes get when none is given; always hosted.
    pub default_domain: String,
    /// Further domains this server receives mail for.
    pub domains: Vec<String>,
    /// An admin API key to accept (instead of generating one on first start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_api_key: Option<String>,
    /// Log filter, such as `info` or `mailroom=debug,info`.
    pub log_level: String,
    /// The HTTP interface.
    pub http: HttpConfig,
    /// Message limits.
    pub limits: LimitsConfig,
}

/// The HTTP interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Address to listen on; port 0 picks a free port.
    pub addr: String,
    /// The largest request body, in bytes.
    pub max_body_bytes: usize,
}

/// Message limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// The most recipients one message may have.
    pub max_recipients: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./mailroom-data"),
            database_url: String::new(),
            default_domain: "mailroom.localhost".into(),
            domains: Vec::new(),
            admin_api_key: None,
            log_level: "info".into(),
            http: HttpConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { addr: "127.0.0.1:8025".into(), max_body_bytes: 35 * 1024 * 1024 }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self { max_recipients: 100 }
    }
}

/// The commented default configuration file, printed by `mailroom config default`.
pub const DEFAULT_FILE: &str = r#"# Mailroom configuration. Every key is optional; these are the defaults.
# Precedence: defaults < this file (--config) < MAILROOM_* environment variables < flags.
# Environment variables join section and key with `_`: MAILROOM_HTTP_ADDR sets http.addr.

# Where the SQLite database, blob files and the generated admin API key live.
data_dir = "./mailroom-data"

# sqlite://path/to/file.db or postgres://user@host/db. Empty: sqlite://<data_dir>/mailroom.db
database_url = ""

# Mailboxes created without a domain get this one. It is always hosted.
default_domain = "mailroom.localhost"

# Further domains this server hosts.
domains = []

# Accept this admin API key instead of generating one on first start (prefer the
# MAILROOM_ADMIN_API_KEY environment variable to keeping a secret in a file).
# admin_api_key = "mr_..."

# Log filter: error, warn, info, debug, trace, or per module (mailroom_api=debug,info).
log_level = "info"

[http]
# Address of the REST API, docs (/docs) and health checks. Port 0 picks a free port.
addr = "127.0.0.1:8025"
# The largest request body in bytes (base64 attachments included); larger bodies get 413.
max_body_bytes = 36700160

[limits]
# The most recipients (to + cc + bcc) one message may have.
max_recipients = 100
"#;

const SECTIONS: &[&str] = &["http", "limits"];

/// Values given as command-line flags; `None` leaves the lower layers in force.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlagOverrides {
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--default-domain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_domain: Option<String>,
    /// `--http-addr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_addr: Option<String>,
}

impl Config {
    /// Loads the layers. `env` is the process environment (passed in so tests can give
    /// their own).
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>, flags: &FlagOverrides) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("could not read the config file {}; `mailroom config default` prints one to start from", path.display()))?;
            check_known_keys(&text).with_context(|| format!("in config file {}", path.display()))?;
            fig = fig.merge(Toml::string(&text));
        }
        for (name, value) in env {
            let Some((key, default)) = name.strip_prefix("MAILROOM_").and_then(env_key) else { continue };
            fig = fig.merge(Serialized::default(&key, parse_env_value(&name, &default, &value)?));
        }
        let mut config: Config = fig.extract().context("the configuration is invalid")?;
        if let Some(d) = &flags.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(u) = &flags.database_url {
            config.database_url = u.clone();
        }
        if let Some(d) = &flags.default_domain {
            config.default_domain = d.clone();
        }
        if let Some(a) = &flags.http_addr {
            config.http.addr = a.clone();
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks values that serde alone cannot.
    pub fn validate(&mut self) -> anyhow::Result<()> {
        self.default_domain = self.default_domain.trim().to_ascii_lowercase();
        if mailroom_core::EmailAddress::parse(&format!("postmaster@{}", self.default_domain)).is_err() {
            bail!("default_domain `{}` is not a valid domain name", self.default_domain);
        }
        for d in &mut self.domains {
            *d = d.trim().to_ascii_lowercase();
            if mailroom_core::EmailAddress::parse(&format!("postmaster@{d}")).is_err() {
                bail!("domains: `{d}` is not a valid domain name");
            }
        }
        self.http.addr.parse::<std::net::SocketAddr>().with_context(|| format!("http.addr `{}` is not an address such as 127.0.0.1:8025", self.http.addr))?;
        if self.http.max_body_bytes < 1024 {
            bail!("http.max_body_bytes must be at least 1024");
        }
        if self.limits.max_recipients == 0 {
            bail!("limits.max_recipients must be at least 1");
        }
        Ok(())
    }

    /// Returns the database URL to use.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.trim().is_empty() {
            format!("sqlite://{}", self.data_dir.join("mailroom.db").display())
        } else {
            self.database_url.trim().to_string()
        }
    }
}

/// Maps the part after `MAILROOM_` to a config key (`HTTP_ADDR` → `http.addr`) and its
/// default value (which says the type to parse), or `None` for variables that are not
/// configuration (such as the CLI's `MAILROOM_URL`).
fn env_key(rest: &str) -> Option<(String, serde_json::Value)> {
    let k = rest.to_ascii_lowercase();
    let defaults = serde_json::to_value(Config::default()).ok()?;
    for s in SECTIONS {
        if let Some(field) = k.strip_prefix(&format!("{s}_")) {
            return defaults.get(*s)?.get(field).map(|d| (format!("{s}.{field}"), d.clone()));
        }
    }
    if k == "admin_api_key" {
        return Some((k, serde_json::Value::String(String::new())));
    }
    defaults.get(&k).map(|d| (k.clone(), d.clone()))
}

/// Parses an environment value as the type of the key's default, so `MAILROOM_HTTP_MAX_BODY_BYTES=5000`
/// is a number and `MAILROOM_DOMAINS=a.test,b.test` a list.
fn parse_env_value(name: &str, default: &serde_json::Value, v: &str) -> anyhow::Result<figment::value::Value> {
    use figment::value::Value;
    let t = v.trim();
    Ok(match default {
        serde_json::Value::Number(_) => Value::from(t.parse::<u64>().with_context(|| format!("{name} must be a whole number, not `{t}`"))?),
        serde_json::Value::Bool(_) => Value::from(t.parse::<bool>().with_context(|| format!("{name} must be true or false, not `{t}`"))?),
        serde_json::Value::Array(_) => Value::from(
            t.trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(|s| s.trim().trim_matches('"'))
                .filter(|s| !s.is_empty())
                .map(|s| Value::from(s.to_string()))
                .collect::<Vec<_>>(),
        ),
        _ => Value::from(v.to_string()),
    })
}

fn check_known_keys(text: &str) -> anyhow::Result<()> {
    let file: toml::Table = text.parse().context("the file is not valid TOML")?;
    let defaults = serde_json::to_value(Config::default())?;
    for (key, value) in &file {
        if key == "admin_api_key" {
            continue;
        }
        match defaults.get(key) {
            None => bail!("unknown key `{key}`; `mailroom config default` lists every key"),
            Some(serde_json::Value::Object(section)) => {
                let Some(table) = value.as_table() else { bail!("`{key}` must be a table ([{key}])") };
                for sub in table.keys() {
                    if !section.contains_key(sub) {
                        bail!("unknown key `{key}.{sub}`; `mailroom config default` lists every key");
                    }
                }
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_default_file_is_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, DEFAULT_FILE).unwrap();
        assert_eq!(Config::load(Some(&path), env(&[]), &FlagOverrides::default()).unwrap(), Config::default());
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "default_domain = \"file.test\"\n[http]\naddr = \"127.0.0.1:1\"\nmax_body_bytes = 5000\n").unwrap();
        let c = Config::load(
            Some(&path),
            env(&[("MAILROOM_HTTP_ADDR", "127.0.0.1:2"), ("MAILROOM_URL", "http://ignored"), ("MAILROOM_DOMAINS", "[a.test, b.test]")]),
            &FlagOverrides::default(),
        )
        .unwrap();
        assert_eq!(c.default_domain, "file.test");
        assert_eq!(c.http.addr, "127.0.0.1:2");
        assert_eq!(c.http.max_body_bytes, 5000);
        assert_eq!(c.domains, vec!["a.test", "b.test"]);
        let flags = FlagOverrides { http_addr: Some("127.0.0.1:3".into()), ..Default::default() };
        let c = Config::load(Some(&path), env(&[("MAILROOM_HTTP_ADDR", "127.0.0.1:2")]), &flags).unwrap();
        assert_eq!(c.http.addr, "127.0.0.1:3");
    }

    #[test]
    fn bad_files_and_values_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[http]\nadress = \"x\"\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&path), env(&[]), &FlagOverrides::default()).unwrap_err());
        assert!(err.contains("unknown key `http.adress`"), "{err}");
        let err = format!("{:#}", Config::load(None, env(&[("MAILROOM_HTTP_ADDR", "nope")]), &FlagOverrides::default()).unwrap_err());
        assert!(err.contains("http.addr"), "{err}");
        let missing = Config::load(Some(&dir.path().join("missing.toml")), env(&[]), &FlagOverrides::default()).unwrap_err();
        assert!(format!("{missing:#}").contains("config default"));
    }
}
