//! The `cairn` command line.

use anyhow::Context;
use cairn::server::{ServerOptions, start};
use cairn_types::config::Config;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// cairn: a distributed, replicated, S3-compatible object store.
#[derive(Parser)]
#[command(name = "cairn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a whole cluster (meta, storage node, gateway) in this process.
    ///
    /// Data lives in --data-dir and survives restarts. At first start a root
    /// access key is created and printed with the endpoint; set
    /// CAIRN_ACCESS_KEY and CAIRN_SECRET_KEY to choose it yourself. Stops
    /// cleanly on Ctrl-C or SIGTERM. Logs go to stderr; RUST_LOG sets the level.
    Server {
        /// Directory of all persistent state [default: ./cairn-data, or data_dir from --config].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address of the S3 endpoint, which also serves /health and /metrics
        /// [default: 127.0.0.1:9000, or s3.addr from --config].
        #[arg(long)]
        s3_addr: Option<SocketAddr>,
        /// Optional configuration file (TOML; see cairn.example.toml). Flags win over it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Root access key id (together with CAIRN_SECRET_KEY).
        #[arg(long, env = "CAIRN_ACCESS_KEY", hide_env_values = true)]
        access_key: Option<String>,
        /// Root secret key (together with CAIRN_ACCESS_KEY).
        #[arg(long, env = "CAIRN_SECRET_KEY", hide_env_values = true)]
        secret_key: Option<String>,
    },
}

/// Prints a line to stdout; a closed stdout (say, a pipe whose reader went
/// away) must never bring the server down.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn shutdown_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Server {
            data_dir,
            s3_addr,
            config,
            access_key,
            secret_key,
        } => {
            let config = match config {
                Some(path) => Config::from_file(&path)?,
                None => Config::default(),
            };
            let region = config.s3.region.clone();
            let data_dir = data_dir.unwrap_or_else(|| config.data_dir.clone());
            let s3_addr = s3_addr.unwrap_or(config.s3.addr);
            let mut opts = ServerOptions::new(data_dir.clone(), s3_addr);
            opts.config = config;
            opts.access_key = access_key;
            opts.secret_key = secret_key;
            let server = start(opts).await.context("starting cairn server")?;
            say!("cairn server is running");
            say!("  S3 endpoint:  {}", server.endpoint());
            say!("  region:       {region} (path-style addressing)");
            say!("  access key:   {}", server.access_key);
            say!("  secret key:   {}", server.secret_key);
            say!("  data dir:     {}", data_dir.display());
            say!(
                "Try: AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} aws --endpoint-url {} s3 ls",
                server.access_key,
                server.secret_key,
                server.endpoint()
            );
            shutdown_signal().await?;
            tracing::info!("shutting down");
            server.shutdown().await?;
            say!("cairn server stopped");
        }
    }
    Ok(())
}
