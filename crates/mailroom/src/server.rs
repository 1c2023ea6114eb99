//! Start-up: config → store → blob store → engine → first-start setup → listeners.

use crate::config::Config;
use anyhow::Context;
use mailroom_api::{ApiConfig, AppState};
use mailroom_core::ApiKey;
use mailroom_engine::{Engine, EngineConfig, key_parts};
use mailroom_store::{BlobStore, LocalBlobStore, Store, TieredBlobStore};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The file in the data directory holding the generated admin API key.
pub const ADMIN_KEY_FILE: &str = "admin-api-key";

/// A running server.
pub struct Server {
    /// Where HTTP listens.
    pub http_addr: SocketAddr,
    /// Where SMTP listens, when enabled.
    pub smtp_addr: Option<SocketAddr>,
    /// Where `/metrics` has a listener of its own (`metrics.addr`), when it has one.
    pub metrics_addr: Option<SocketAddr>,
    /// The admin key generated at this start (first start only).
    pub generated_admin_key: Option<String>,
    /// The engine, for tests that look below the API.
    pub engine: Engine,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Stops accepting connections, lets requests in flight finish and waits for the tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Waits until the server stops (after [`Server::shutdown`] from a signal handler).
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Waits for every task to end.
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Opens the store named by a database URL, and for SQLite the same database as a blob store
/// for small blobs.
pub async fn open_store(url: &str) -> anyhow::Result<(Arc<dyn Store>, Option<Arc<dyn BlobStore>>)> {
    if url.starts_with("sqlite:") {
        let store = mailroom_store_sqlite::SqliteStore::connect(url).await.with_context(|| format!("could not open the SQLite database {url}"))?;
        Ok((Arc::new(store.clone()), Some(Arc::new(store))))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = mailroom_store_postgres::PgStore::connect(url)
            .await
            .context("could not connect to PostgreSQL; check database_url and that the server is running")?;
        Ok((Arc::new(store.clone()), Some(Arc::new(store))))
    } else {
        anyhow::bail!("database_url must start with sqlite:// or postgres://")
    }
}

/// Opens the blob store `blobs.url` names (files under the data directory by default) and
/// checks that it is usable, so a wrong bucket, refused credentials or an unreachable endpoint
/// stop the start with the reason.
pub async fn open_blob_store(config: &Config) -> anyhow::Result<Arc<dyn BlobStore>> {
    if let Some(s3) = config.blobs.s3() {
        let store = mailroom_blob_s3::S3BlobStore::new(&s3).context("blobs: the S3 settings are invalid")?;
        store.check().await.with_context(|| format!("the blob store {} is not usable", store.location()))?;
        tracing::info!(location = %store.location(), "blobs are kept in S3");
        return Ok(Arc::new(store));
    }
    let url = config.blobs.url.trim();
    let dir = match url.strip_prefix("file://") {
        Some(path) if !path.is_empty() => std::path::PathBuf::from(path),
        Some(_) => anyhow::bail!("blobs.url `{url}` names no directory (file:///path)"),
        None => config.data_dir.join("blobs"),
    };
    let files = LocalBlobStore::open(&dir).with_context(|| format!("could not open the blob directory {}", dir.display()))?;
    files.check().await.with_context(|| format!("the blob directory {} is not writable", dir.display()))?;
    Ok(Arc::new(files))
}

/// Starts every listener and background task; returns once they accept connections.
pub async fn start(config: Config) -> anyhow::Result<Server> {
    // One TLS provider for the whole process (rustls, mail-send, reqwest, sqlx): aws-lc-rs.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("could not create the data directory {}", config.data_dir.display()))?;
    let secrets = mailroom_engine::SecretBox::load_or_create(config.encryption_key.as_deref(), &config.data_dir.join("encryption-key"))
        .context("could not load the encryption key for secrets at rest")?;
    let (store, small_blobs) = open_store(&config.effective_database_url()).await?;
    let large_blobs = open_blob_store(&config).await?;
    if store.backend() == "postgres" && config.blobs.s3().is_none() && config.blobs.url.trim().is_empty() {
        tracing::info!(
            "blobs larger than {} KiB are files on this node: other nodes on this database cannot read them (set blobs.url to an s3:// bucket or a shared directory to run several)",
            store.inline_blob_max() / 1024
        );
    }
    // Small blobs live in the database (written with their message, in its commit); larger
    // ones go to the blob store.
    let blobs: Arc<dyn BlobStore> = match small_blobs {
        Some(small) => Arc::new(TieredBlobStore::new(small, large_blobs, store.inline_blob_max())),
        None => large_blobs,
    };
    let engine = Engine::new(
        store,
        blobs,
        EngineConfig {
            default_domain: config.default_domain.clone(),
            extra_domains: config.domains.clone(),
            max_recipients: config.limits.max_recipients,
            hostname: config.hostname.clone(),
            thread_send_limit: config.limits.thread_send_limit,
            allow_private_targets: config.allow_private_targets(),
            mime_limits: config.limits.mime(),
        },
        secrets,
    );
    let nameservers = config.dns.nameservers.iter().map(|n| n.parse()).collect::<Result<Vec<SocketAddr>, _>>()?;
    let verifier = mailroom_engine::AuthVerifier::new(&nameservers, &config.hostname).map_err(anyhow::Error::msg)?;
    let engine = engine.with_auth_verifier(Arc::new(verifier));
    engine.ensure_default_site().await.context("could not create the default site")?;
    let generated_admin_key = ensure_admin_key(&engine, &config).await?;
    if !config.delivery.enabled {
        // Without a delivery worker on this node, finish local deliveries a crash cut short.
        let recovered = engine.recover_local_deliveries().await.context("could not finish interrupted local deliveries")?;
        if recovered > 0 {
            tracing::info!(recovered, "finished local deliveries interrupted by the last stop");
        }
    }

    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(&config.http.addr)
        .await
        .with_context(|| format!("could not listen on {} (in use? set --http-addr)", config.http.addr))?;
    let http_addr = listener.local_addr()?;
    let engine = engine.with_controls(config.controls.settings(&config.http.public_url, http_addr));
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();

    let webhook_config = Arc::new(webhook_config(&config, http_addr));
    let webhook_waker = if config.webhooks.enabled {
        let signer = engine.clone();
        let worker = Arc::new(
            mailroom_webhooks::WebhookWorker::new(engine.store().clone(), engine.secrets().clone(), (*webhook_config).clone())
                .with_event_hook(Arc::new(move |event| signer.complete_event(event))),
        );
        let waker = worker.waker();
        tasks.push(tokio::spawn(worker.run(rx.clone())));
        Some(waker)
    } else {
        None
    };
    let state = AppState {
        engine: engine.clone(),
        config: Arc::new(ApiConfig { max_body_bytes: config.http.max_body_bytes, max_header_entries: config.limits.api_max_header_entries }),
        ready: ready.clone(),
        webhooks: webhook_config,
        webhook_waker,
        shutdown: rx.clone(),
        llm: llm_client(&config)?,
    };
    let mut http_rx = rx.clone();
    let http_limits = mailroom_api::listener::HttpLimits {
        header_read_timeout: Duration::from_secs(config.http.header_read_timeout_secs),
        body_read_timeout: Duration::from_secs(config.http.body_read_timeout_secs),
        max_connections_per_ip: config.http.max_connections_per_ip,
    };
    let mcp = crate::mcp::router(state.clone(), &config, http_addr, rx.clone())?;
    let info = server_info(&config, http_addr);
    let api = mailroom_api::router(state);
    // The web console at `/` calls the REST router in process, with the signed-in key.
    let console = mailroom_console::ConsoleConfig { secure_cookies: config.http.public_url.trim().starts_with("https://") };
    let mut app = api.clone().merge(mcp).merge(mailroom_console::router(api, console));
    let metrics_addr = crate::observe::serve_metrics(&config, &engine, &mut app, &mut tasks, rx.clone()).await?;
    let app = app.layer(axum::Extension(info.clone())).layer(axum::middleware::from_fn(crate::observe::access_log));
    tasks.push(tokio::spawn(async move {
        let stop = async move {
            let _ = http_rx.wait_for(|s| *s).await;
        };
        mailroom_api::listener::serve(listener, app, http_limits, stop).await;
    }));
    tasks.push(tokio::spawn(purge_idempotency_keys(engine.clone(), rx.clone())));
    tasks.push(tokio::spawn(crate::controls::run_worker(engine.clone(), rx.clone())));
    crate::reading::spawn_worker(&engine, &rx, &mut tasks);

    let smtp_addr = if config.smtp.addr.is_empty() {
        None
    } else {
        let listener = tokio::net::TcpListener::bind(&config.smtp.addr)
            .await
            .with_context(|| format!("could not listen for SMTP on {} (in use? set smtp.addr or --smtp-addr)", config.smtp.addr))?;
        let addr = listener.local_addr()?;
        let tls = if config.smtp.tls_cert.is_empty() {
            mailroom_smtp::self_signed_tls(&config.hostname).context("could not generate a self-signed certificate for STARTTLS")?
        } else {
            mailroom_smtp::tls_from_pem_files(Path::new(&config.smtp.tls_cert), Path::new(&config.smtp.tls_key))
                .with_context(|| format!("could not load the STARTTLS certificate {} / key {}", config.smtp.tls_cert, config.smtp.tls_key))?
        };
        let smtp_config = mailroom_smtp::SmtpConfig {
            hostname: config.hostname.clone(),
            max_message_size: config.smtp.max_message_bytes,
            max_recipients: config.smtp.max_recipients,
            max_errors: config.smtp.max_errors,
            idle_timeout: Duration::from_secs(config.smtp.idle_timeout_secs),
            max_connections: config.smtp.max_connections,
            max_session_time: Duration::from_secs(config.smtp.max_session_secs),
            command_timeout: Duration::from_secs(config.smtp.command_timeout_secs),
            min_data_rate: config.smtp.min_data_rate,
            data_rate_window: Duration::from_secs(config.smtp.data_rate_window_secs),
            max_connections_per_ip: config.smtp.max_connections_per_ip,
            max_new_sessions_per_ip_per_minute: config.smtp.max_new_sessions_per_ip_per_minute,
            per_ip_exempt: config.smtp.per_ip_exempt.iter().map(|n| n.parse()).collect::<Result<_, _>>()?,
            max_inflight_bytes: config.smtp.max_inflight_bytes,
            tls: Some(tls),
            ..mailroom_smtp::SmtpConfig::default()
        };
        let handler = Arc::new(crate::glue::EngineInbound::new(engine.clone()));
        tasks.push(tokio::spawn(mailroom_smtp::serve(listener, smtp_config, handler, rx.clone())));
        Some(addr)
    };

    if config.delivery.enabled {
        let deliverer = Arc::new(mailroom_delivery::Deliverer::new(
            engine.store().clone(),
            engine.blobs().clone(),
            Arc::new(crate::glue::EngineHooks(engine.clone())),
            delivery_config(&config)?,
        ));
        let waker = deliverer.waker();
        let kick = engine.outbound_notify();
        let mut stop = rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = kick.notified() => waker.notify_one(),
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }));
        tasks.push(tokio::spawn(deliverer.run(rx.clone())));
    }

    // Issue 17: scheduled and approved drafts are sent when due (leased: once across nodes).
    tasks.push(tokio::spawn(mailroom_engine::DraftScheduler::new(engine.clone(), Duration::from_secs(5)).run(rx.clone())));

    if let Ok(mut facts) = info.0.write() {
        facts.listeners.extend(smtp_addr.map(|a| mailroom_api::routes::status::Listener { name: "smtp".into(), addr: a.to_string() }));
        facts.listeners.extend(metrics_addr.map(|a| mailroom_api::routes::status::Listener { name: "metrics".into(), addr: a.to_string() }));
    }
    ready.store(true, Ordering::Release);
    Ok(Server { http_addr, smtp_addr, metrics_addr, generated_admin_key, engine, shutdown: tx, tasks })
}

/// What `GET /v1/status` reports about this node; the SMTP and metrics listeners are added
/// once bound.
fn server_info(config: &Config, http_addr: SocketAddr) -> mailroom_api::routes::status::ServerInfo {
    let url = config.effective_database_url();
    let store = match url.split_once("://") {
        Some(("sqlite", path)) => format!("sqlite ({path})"),
        // Only the host and database: the URL may carry a password.
        Some((_, rest)) => format!("postgres ({})", rest.rsplit_once('@').map_or(rest, |(_, host)| host)),
        None => url,
    };
    let facts = mailroom_api::routes::status::ServerFacts {
        store,
        default_domain: config.default_domain.clone(),
        listeners: vec![mailroom_api::routes::status::Listener { name: "http".into(), addr: http_addr.to_string() }],
    };
    mailroom_api::routes::status::ServerInfo(Arc::new(std::sync::RwLock::new(facts)))
}

fn webhook_config(config: &Config, http_addr: SocketAddr) -> mailroom_webhooks::WebhookConfig {
    let w = &config.webhooks;
    let public_url = if config.http.public_url.trim().is_empty() {
        format!("http://{http_addr}")
    } else {
        config.http.public_url.trim().trim_end_matches('/').to_string()
    };
    mailroom_webhooks::WebhookConfig {
        retry_schedule: w.retry_schedule_secs.iter().map(|s| Duration::from_secs(*s)).collect(),
        timeout: Duration::from_secs(w.timeout_secs),
        disable_after: Duration::from_secs(w.disable_after_secs),
        allow_private_targets: config.allow_private_targets(),
        max_payload_bytes: w.max_payload_bytes,
        public_url,
        rotation_overlap: Duration::from_secs(w.rotation_overlap_secs),
        concurrency: w.concurrency.max(1),
        lease: Duration::from_secs(w.lease_secs),
        ..mailroom_webhooks::WebhookConfig::default()
    }
}

fn delivery_config(config: &Config) -> anyhow::Result<mailroom_delivery::DeliveryConfig> {
    use mailroom_delivery::{DeliveryConfig, RelayConfig, TlsMode};
    let d = &config.delivery;
    let relay = if d.relay.is_empty() {
        None
    } else {
        let (host, port) = crate::config::parse_host_port(&d.relay)?;
        Some(RelayConfig {
            host,
            port,
            tls: match d.relay_tls.as_str() {
                "implicit" => TlsMode::Implicit,
                "none" => TlsMode::None,
                "opportunistic" => TlsMode::Opportunistic,
                _ => TlsMode::StartTls,
            },
            username: Some(d.relay_username.clone()).filter(|u| !u.is_empty()),
            password: Some(d.relay_password.clone()).filter(|p| !p.is_empty()),
        })
    };
    let mut routes = std::collections::HashMap::new();
    for (domain, target) in &d.routes {
        routes.insert(domain.to_ascii_lowercase(), crate::config::parse_host_port(target)?);
    }
    let dns = if config.dns.nameservers.is_empty() {
        None
    } else {
        Some(config.dns.nameservers.iter().map(|n| n.parse()).collect::<Result<Vec<SocketAddr>, _>>()?)
    };
    Ok(DeliveryConfig {
        hostname: config.hostname.clone(),
        relay,
        routes,
        retry_schedule: d.retry_schedule_secs.iter().map(|s| Duration::from_secs(*s)).collect(),
        give_up_after: Duration::from_secs(d.give_up_after_secs),
        concurrency: d.concurrency.max(1),
        lease: Duration::from_secs(d.lease_secs),
        allow_invalid_certs: d.allow_invalid_certs,
        dns,
        allow_private_targets: config.allow_private_targets(),
        ..DeliveryConfig::default()
    })
}

async fn purge_idempotency_keys(engine: Engine, mut stop: watch::Receiver<bool>) {
    loop {
        let cutoff = mailroom_core::now() - chrono::Duration::hours(24);
        match engine.store().purge_idempotency_keys(cutoff).await {
            Ok(n) if n > 0 => tracing::debug!(purged = n, "expired idempotency keys removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not purge idempotency keys"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Makes sure an admin key exists: the configured one (`MAILROOM_ADMIN_API_KEY`), or on the
/// very first start a generated one, written to `<data_dir>/admin-api-key` with mode 0600.
/// Returns the generated key so it can be printed once.
async fn ensure_admin_key(engine: &Engine, config: &Config) -> anyhow::Result<Option<String>> {
    let store = engine.store();
    if let Some(secret) = config.admin_api_key.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if secret.len() < 16 {
            anyhow::bail!("MAILROOM_ADMIN_API_KEY / admin_api_key must be at least 16 characters");
        }
        let parts = key_parts(secret.to_string());
        if store.find_api_key_by_hash(&parts.hash).await?.is_none() {
            let key = admin_key_record("admin (configured)", &parts.prefix);
            match store.create_api_key(&key, &parts.hash).await {
                // Another node starting at the same time stored it first.
                Err(mailroom_store::StoreError::Conflict { .. }) => {}
                other => other.context("could not store the configured admin key")?,
            }
        }
        return Ok(None);
    }
    let has_admin = store.list_api_keys(None).await?.iter().any(|k| k.site_id.is_none());
    if has_admin {
        return Ok(None);
    }
    let parts = mailroom_engine::generate_api_key();
    write_secret_file(&config.data_dir.join(ADMIN_KEY_FILE), &parts.secret)?;
    store.create_api_key(&admin_key_record("admin (generated at first start)", &parts.prefix), &parts.hash).await?;
    Ok(Some(parts.secret))
}

fn admin_key_record(name: &str, prefix: &str) -> ApiKey {
    ApiKey {
        id: mailroom_core::ApiKeyId::new(),
        name: name.into(),
        scope: "admin".into(),
        site_id: None,
        prefix: prefix.into(),
        created_at: mailroom_core::now(),
    }
}

fn write_secret_file(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("could not write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    writeln!(f, "{secret}")?;
    f.sync_all()?;
    Ok(())
}

/// The model for `send_information_email`, when `llm.base_url` is set.
fn llm_client(config: &Config) -> anyhow::Result<Option<Arc<mailroom_tools::llm::LlmClient>>> {
    if config.llm.base_url.trim().is_empty() {
        return Ok(None);
    }
    let client = mailroom_tools::llm::LlmClient::new(mailroom_tools::llm::LlmConfig {
        base_url: config.llm.base_url.trim().to_string(),
        model: config.llm.model.trim().to_string(),
        api_key: config.llm.api_key.clone(),
        timeout: Duration::from_secs(config.llm.timeout_secs),
    })
    .map_err(|e| anyhow::anyhow!("llm: {e}"))?;
    tracing::info!(base_url = %config.llm.base_url, model = %config.llm.model, "a model is configured for send_information_email");
    Ok(Some(Arc::new(client)))
}
