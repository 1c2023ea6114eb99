//! The `mailroom` command: `serve` runs the server; every other subcommand is a client of a
//! running server's REST API.

mod cli;

/// mimalloc rather than the system allocator: the server allocates and frees many small
/// buffers per request (parsing, JSON, rows), and glibc's malloc and free were about a tenth
/// of the samples under API load (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use mailroom::config::{Config, DEFAULT_FILE, FlagOverrides};
use std::io::Write;
use std::path::PathBuf;

/// Mailroom: a self-hosted email platform for AI agents.
#[derive(Parser)]
#[command(name = "mailroom", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    client: cli::ClientArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server (SQLite and files in ./mailroom-data by default).
    Serve(ServeArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    #[command(flatten)]
    Client(cli::ClientCommand),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// A TOML configuration file (`mailroom config default` prints one).
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Where the database, blobs and admin key live [default: ./mailroom-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…` [default: sqlite://<data-dir>/mailroom.db].
    #[arg(long)]
    database_url: Option<String>,
    /// HTTP listen address; port 0 picks a free port [default: 127.0.0.1:8025].
    #[arg(long)]
    http_addr: Option<String>,
    /// The domain of mailboxes created without one [default: mailroom.localhost].
    #[arg(long)]
    default_domain: Option<String>,
    /// SMTP listen address; port 0 picks a free port; "" disables SMTP [default: 127.0.0.1:2525].
    #[arg(long)]
    smtp_addr: Option<String>,
    /// This server's host name (SMTP banner, EHLO, MX target) [default: localhost].
    #[arg(long)]
    hostname: Option<String>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Prints the commented default configuration file.
    Default,
    /// Prints the configuration in force after every layer (secrets hidden).
    Show(ServeArgs),
}

fn load_config(args: &ServeArgs) -> anyhow::Result<Config> {
    let flags = FlagOverrides {
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone(),
        default_domain: args.default_domain.clone(),
        http_addr: args.http_addr.clone(),
        smtp_addr: args.smtp_addr.clone(),
        hostname: args.hostname.clone(),
    };
    Config::load(args.config.as_deref(), std::env::vars(), &flags)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    mailroom::observe::init_logging(&config.log_level, &config.log.format)?;
    let data_dir = config.data_dir.clone();
    let default_domain = config.default_domain.clone();
    let metrics_on_http = config.metrics.enabled && config.metrics.addr.trim().is_empty();
    let server = mailroom::server::start(config).await?;
    let mut out = std::io::stdout().lock();
    if let Some(key) = &server.generated_admin_key {
        writeln!(out, "admin API key (shown once; also saved to {}): {key}", data_dir.join(mailroom::server::ADMIN_KEY_FILE).display())?;
    }
    writeln!(out, "http listening on {}", server.http_addr)?;
    if let Some(smtp) = server.smtp_addr {
        writeln!(out, "smtp listening on {smtp}")?;
    }
    writeln!(out, "API docs at http://{}/docs", server.http_addr)?;
    if let Some(metrics) = server.metrics_addr {
        writeln!(out, "metrics at http://{metrics}/metrics")?;
    } else if metrics_on_http {
        writeln!(out, "metrics at http://{}/metrics", server.http_addr)?;
    }
    writeln!(out, "mailboxes created without a domain get @{default_domain}")?;
    out.flush()?;
    drop(out);
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = stop.send(true);
    });
    server.wait().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Config(ConfigCommand::Default) => {
            print!("{DEFAULT_FILE}");
            Ok(())
        }
        Command::Config(ConfigCommand::Show(args)) => load_config(&args).and_then(|mut c| {
            if c.admin_api_key.is_some() {
                c.admin_api_key = Some("(set, hidden)".into());
            }
            if c.encryption_key.is_some() {
                c.encryption_key = Some("(set, hidden)".into());
            }
            if !c.blobs.secret_access_key.is_empty() {
                c.blobs.secret_access_key = "(set, hidden)".into();
            }
            if !c.delivery.relay_password.is_empty() {
                c.delivery.relay_password = "(set, hidden)".into();
            }
            if !c.llm.api_key.is_empty() {
                c.llm.api_key = "(set, hidden)".into();
            }
            print!("{}", toml::to_string_pretty(&c)?);
            Ok(())
        }),
        Command::Client(cmd) => cli::run(cli.client, cmd).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
