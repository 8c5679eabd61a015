//! The `cairn` command line: `cairn server` (a whole cluster in one process)
//! and one subcommand per role for multi-process clusters.

use anyhow::Context;
use cairn::admin::{AdminCommand, role_config};
use cairn::roles;
use cairn::server::{ServerOptions, start};
use cairn_rpc::MetaClient;
use cairn_rpc::tls::PeerRole;
use cairn_types::config::Config;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// cairn: a distributed, replicated, S3-compatible object store.
#[derive(Parser)]
#[command(name = "cairn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a whole cluster (meta, storage nodes, gateway) in this process.
    ///
    /// Data lives in --data-dir and survives restarts. At first start a root
    /// access key is created and printed with the endpoint; set
    /// CAIRN_ACCESS_KEY and CAIRN_SECRET_KEY to choose it yourself. Stops
    /// cleanly on Ctrl-C or SIGTERM. Logs go to stderr; RUST_LOG sets the level.
    Server {
        /// Directory of all persistent state [default: ./cairn-data, or data_dir from --config].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address of the S3 endpoint, which also answers a bare /health for
        /// load balancers [default: 127.0.0.1:9000, or s3.addr from --config].
        #[arg(long)]
        s3_addr: Option<SocketAddr>,
        /// Admin address: /metrics and the detailed /health (storage nodes up
        /// and down); keep it private. Port 0 picks a free port [default:
        /// 127.0.0.1:9001, or s3.admin_addr from --config].
        #[arg(long)]
        admin_addr: Option<SocketAddr>,
        /// Optional configuration file (TOML; see cairn.example.toml). Flags win over it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Storage nodes to run in this process (ids 1..=N, each in DATA_DIR/node-ID).
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// Zones to spread the storage nodes over, round-robin (zone-1, zone-2, ...).
        #[arg(long, default_value_t = 1)]
        zones: usize,
        /// Meta voters (a Raft group) to run in this process, to try failover
        /// locally with `cairn admin meta status|isolate|heal --config
        /// DATA_DIR/cluster.toml`. Fixed when the data dir is created.
        #[arg(long, default_value_t = 1)]
        meta_voters: usize,
        /// Root access key id (together with CAIRN_SECRET_KEY).
        #[arg(long, env = "CAIRN_ACCESS_KEY", hide_env_values = true)]
        access_key: Option<String>,
        /// Root secret key (together with CAIRN_ACCESS_KEY).
        #[arg(long, env = "CAIRN_SECRET_KEY", hide_env_values = true)]
        secret_key: Option<String>,
        /// Serve S3 over HTTPS with a certificate made in DATA_DIR/tls for
        /// localhost and the loopback addresses; clients verify it with the
        /// printed CA file (aws --ca-bundle, boto3 verify=). s3.tls_cert in
        /// --config names a certificate of your own instead.
        #[arg(long)]
        tls: bool,
    },
    /// Run one meta voter (Raft over RocksDB in DATA_DIR/meta).
    ///
    /// Needs meta.id, a fixed meta.addr and cluster.meta_voters in the config;
    /// the voter with the lowest id creates the group on first start.
    Meta {
        /// Configuration file (TOML; see cairn.example.toml).
        #[arg(long)]
        config: PathBuf,
    },
    /// Run one storage node (shards in DATA_DIR/shards).
    ///
    /// Needs node.id, node.addr, node.zone, node.capacity_bytes and
    /// cluster.meta_voters in the config; registers itself with meta and
    /// deletes unreferenced shards every gc.interval_secs (see [gc]).
    Node {
        /// Configuration file (TOML; see cairn.example.toml).
        #[arg(long)]
        config: PathBuf,
    },
    /// Benchmark any S3 endpoint (cairn or another): put, get, mixed, list,
    /// multipart; `compare` two reports.
    ///
    /// Endpoint and keys come from flags or S3_ENDPOINT (or CAIRN_ENDPOINT),
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION. A run creates a
    /// bucket (or uses --bucket), writes under PREFIX RUN-ID/, and deletes
    /// what it wrote unless --keep. It prints ops/s, MiB/s (2^20 bytes/s),
    /// latency p50/p90/p99/p99.9/max per operation and errors by S3 code;
    /// --json FILE and --svg FILE also write the report and a plot over time.
    Bench {
        #[command(subcommand)]
        command: cairn_bench::BenchCommand,
    },
    /// Operator commands against a running cluster.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Run one S3 gateway on s3.addr, reaching meta through cluster.meta_voters.
    ///
    /// /metrics and the detailed /health are served on s3.admin_addr
    /// (default 127.0.0.1:9001); s3.addr answers only a bare /health.
    ///
    /// Access keys are made with `cairn admin key create` (a gateway's
    /// certificate may not write keys).
    Gateway {
        /// Configuration file (TOML; see cairn.example.toml).
        #[arg(long)]
        config: PathBuf,
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

/// SIGINT and SIGTERM handlers, installed before anything starts so a signal
/// that arrives during start-up is never fatal.
struct ShutdownSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Cancels `stop` on Ctrl-C or SIGTERM, then waits for the role's tasks.
async fn run_until_signal(
    signals: &mut ShutdownSignals,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<()> {
    signals.wait().await;
    tracing::info!("shutting down");
    stop.cancel();
    for t in tasks {
        t.await.context("a server task panicked")?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    let mut signals = ShutdownSignals::install()?;
    match cli.command {
        Command::Bench { command } => {
            // Ctrl-C or SIGTERM ends the measured phase; the run still
            // deletes what it wrote and prints its report.
            let stop = CancellationToken::new();
            let on_signal = stop.clone();
            tokio::spawn(async move {
                signals.wait().await;
                on_signal.cancel();
            });
            let summary = cairn_bench::execute(command, stop).await?;
            say!("{}", summary.trim_end());
        }
        Command::Server {
            data_dir,
            s3_addr,
            admin_addr,
            config,
            nodes,
            zones,
            meta_voters,
            access_key,
            secret_key,
            tls,
        } => {
            let config = match config {
                Some(path) => Config::from_file(&path)?,
                None => Config::default(),
            };
            let region = config.s3.region.clone();
            let data_dir = data_dir.unwrap_or_else(|| config.data_dir.clone());
            let s3_addr = s3_addr.unwrap_or(config.s3.addr);
            let mut opts = ServerOptions::new(data_dir.clone(), s3_addr);
            opts.admin_addr = admin_addr.unwrap_or(config.s3.admin_addr);
            opts.config = config;
            opts.access_key = access_key;
            opts.secret_key = secret_key;
            opts.nodes = nodes;
            opts.zones = zones;
            opts.meta_voters = meta_voters;
            opts.tls = tls;
            let server = start(opts).await.context("starting cairn server")?;
            say!("cairn server is running");
            say!("  S3 endpoint:  {}", server.endpoint());
            say!(
                "  admin:        {} (/metrics, /health)",
                server.admin_endpoint()
            );
            say!("  region:       {region} (path-style addressing)");
            say!("  access key:   {}", server.access_key);
            if server.root_key_created {
                say!(
                    "  secret key:   {} (shown at first start only; kept in {})",
                    server.secret_key,
                    server.root_credentials.display()
                );
            } else {
                say!(
                    "  secret key:   kept in {}",
                    server.root_credentials.display()
                );
            }
            if server.https {
                say!(
                    "  CA file:      {} (aws --ca-bundle, boto3 verify=)",
                    server.ca_file.display()
                );
            }
            say!("  data dir:     {}", data_dir.display());
            say!("  storage nodes: {nodes} in {zones} zone(s)");
            say!("  meta voters:  {meta_voters}");
            say!(
                "  admin CLI:    cairn admin meta status --config {}",
                server.cluster_file.display()
            );
            let ca = if server.https {
                format!(" --ca-bundle {}", server.ca_file.display())
            } else {
                String::new()
            };
            say!(
                "Try: AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY=... aws --endpoint-url {}{ca} s3 ls",
                server.access_key,
                server.endpoint()
            );
            signals.wait().await;
            tracing::info!("shutting down");
            server.shutdown().await?;
            say!("cairn server stopped");
        }
        Command::Admin { command } => cairn::admin::run(command).await?,
        Command::Meta { config } => {
            let config = role_config(&config)?;
            cairn::data_dir::ensure_private_dir(&config.data_dir)?;
            let stop = CancellationToken::new();
            let rpc = roles::rpc_client(&config, PeerRole::Meta)?;
            let meta = roles::start_meta(&config, &config.data_dir.join("meta"), rpc, stop.clone())
                .await?;
            say!(
                "cairn meta voter {} listening on {}",
                config.meta.id,
                meta.addr
            );
            run_until_signal(&mut signals, stop, vec![meta.task]).await?;
            meta.node.shutdown().await;
        }
        Command::Node { config } => {
            let config = role_config(&config)?;
            cairn::data_dir::ensure_private_dir(&config.data_dir)?;
            let stop = CancellationToken::new();
            let rpc = roles::rpc_client(&config, PeerRole::Node)?;
            let meta = MetaClient::new(rpc, config.meta_addrs());
            let (addr, task) = roles::start_node(
                &config,
                &config.data_dir.join("shards"),
                &meta,
                stop.clone(),
            )
            .await?;
            say!(
                "cairn storage node {} listening on {addr} (zone {})",
                config.node.id,
                config.node.zone
            );
            run_until_signal(&mut signals, stop, vec![task]).await?;
        }
        Command::Gateway { config } => {
            let config = role_config(&config)?;
            let stop = CancellationToken::new();
            let rpc = roles::rpc_client(&config, PeerRole::Gateway)?;
            let meta = MetaClient::new(rpc.clone(), config.meta_addrs());
            let gateway = roles::start_gateway(
                &config,
                config.s3.addr,
                config.s3.admin_addr,
                meta,
                rpc,
                stop.clone(),
            )
            .await?;
            let scheme = if config.s3.tls_cert.as_os_str().is_empty() {
                "http"
            } else {
                "https"
            };
            say!(
                "cairn gateway: S3 endpoint {scheme}://{}, admin http://{}",
                gateway.addr,
                gateway.admin_addr
            );
            run_until_signal(&mut signals, stop, vec![gateway.task]).await?;
        }
    }
    Ok(())
}
