//! The `cairn bench` command line: one subcommand per workload plus
//! `compare`, their flags (endpoint and keys also from the environment), and
//! what a run prints and writes (summary on stdout, `--json`, `--svg`).

use crate::client::{DEFAULT_REGION, Target};
use crate::plot::{PlotError, write_svg};
use crate::report::{Report, compare};
use crate::run::{self, BenchError, DEFAULT_PREFIX, Limit, MAX_LIST_PAGE, Options, Workload};
use crate::spec::{Mix, SizeSpec, SpecError, parse_duration};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Workers when --concurrency is not given.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Failed operations after which a run stops, when --max-errors is not given.
pub const DEFAULT_MAX_ERRORS: u64 = 1000;
/// Second environment variable for the endpoint (after S3_ENDPOINT).
pub const ENDPOINT_FALLBACK_ENV: &str = "CAIRN_ENDPOINT";

/// The workloads of `cairn bench` and `compare`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// PutObject of new objects.
    Put {
        #[command(flatten)]
        common: CommonArgs,
        /// Object size: fixed (4KiB, 1MiB, 1MB) or a range MIN..MAX drawn
        /// uniformly, or MIN..MAX:log drawn log-uniformly (each power of two
        /// in the range gets the same share of objects).
        #[arg(long, default_value = "1MiB")]
        size: SizeSpec,
    },
    /// GetObject of --objects objects written first, picked at random.
    Get {
        #[command(flatten)]
        common: CommonArgs,
        /// Object size (see `put --help`).
        #[arg(long, default_value = "1MiB")]
        size: SizeSpec,
        /// Objects written before the measured phase.
        #[arg(long, default_value_t = 64)]
        objects: u64,
    },
    /// A mix of GET, PUT, HEAD (stat) and DELETE over a pool of objects.
    ///
    /// No two workers touch the same object at once, so a correct store
    /// answers every operation without error.
    Mixed {
        #[command(flatten)]
        common: CommonArgs,
        /// Object size (see `put --help`).
        #[arg(long, default_value = "1MiB")]
        size: SizeSpec,
        /// Objects written before the measured phase (the pool).
        #[arg(long, default_value_t = 256)]
        objects: u64,
        /// Relative weights, e.g. get=60,put=30,stat=5,delete=5 (left out: 0).
        #[arg(long, default_value = "get=45,put=15,stat=30,delete=10")]
        mix: Mix,
    },
    /// Write --objects objects, then page through them with ListObjectsV2.
    ///
    /// Each page is one operation; the report gives entries listed per
    /// second. A full pass that does not see every object counts as an error.
    List {
        #[command(flatten)]
        common: CommonArgs,
        /// Object size (see `put --help`).
        #[arg(long, default_value = "0")]
        size: SizeSpec,
        /// Objects written before the measured phase.
        #[arg(long, default_value_t = 1000)]
        objects: u64,
        /// Keys per page (max-keys), 1..=1000.
        #[arg(long, default_value_t = MAX_LIST_PAGE)]
        page_size: i32,
    },
    /// Multipart uploads: create, the parts in order, complete.
    ///
    /// An operation is a whole upload; each part is also reported (upload-part).
    Multipart {
        #[command(flatten)]
        common: CommonArgs,
        /// Size of a whole upload (see `put --help`).
        #[arg(long, default_value = "16MiB")]
        size: SizeSpec,
        /// Part size (S3 requires at least 5 MiB for every part but the last).
        #[arg(long, default_value = "5MiB", value_parser = parse_part_size)]
        part_size: u64,
    },
    /// Print the ratio table of two --json reports (B/A for each metric).
    Compare {
        /// The baseline report.
        a: PathBuf,
        /// The report compared with it.
        b: PathBuf,
    },
}

fn parse_part_size(text: &str) -> Result<u64, SpecError> {
    crate::spec::parse_bytes(text)
}

/// Flags every workload has.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// S3 endpoint, e.g. http://127.0.0.1:9000 (without S3_ENDPOINT, CAIRN_ENDPOINT is read).
    #[arg(long, env = "S3_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Access key id.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub access_key: Option<String>,
    /// Secret key.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Region to sign for.
    #[arg(long, env = "AWS_REGION", default_value = DEFAULT_REGION)]
    pub region: String,
    /// Bucket to use [default: a new cairn-bench-XXXXXXXX, removed afterwards].
    /// An existing bucket is used and left in place.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Keep the objects written (and a bucket the run created).
    #[arg(long)]
    pub keep: bool,
    /// Key prefix; each run writes under PREFIX RUN-ID/ and deletes only what it wrote.
    #[arg(long, default_value = DEFAULT_PREFIX)]
    pub prefix: String,
    /// Operations in flight at once (one worker each).
    #[arg(long, short = 'c', default_value_t = DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Length of the measured phase (500ms, 10s, 2m, 1h).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Run this many operations instead of a fixed duration.
    #[arg(long, conflicts_with = "duration")]
    pub ops: Option<u64>,
    /// Compare every GET body byte for byte with what was written (lengths are always checked).
    #[arg(long)]
    pub verify: bool,
    /// Bound of one request, body included.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Stop the run after this many failed operations.
    #[arg(long, default_value_t = DEFAULT_MAX_ERRORS)]
    pub max_errors: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also plot throughput and latency over time as SVG to this file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// No progress bar (it is only drawn when stderr is a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,
    /// Sign request bodies with SHA-256 instead of sending UNSIGNED-PAYLOAD
    /// (costs client CPU: about one hash pass over every byte sent).
    #[arg(long)]
    pub sign_payload: bool,
}

/// Why `cairn bench` failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("no S3 endpoint: pass --endpoint or set S3_ENDPOINT (or {ENDPOINT_FALLBACK_ENV})")]
    NoEndpoint,
    #[error(
        "no credentials: pass --access-key and --secret-key or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials,
    #[error(transparent)]
    Bench(#[from] BenchError),
    #[error(transparent)]
    Plot(#[from] PlotError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a cairn bench report: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
}

impl CommonArgs {
    /// The run options for `workload` with object sizes `size`.
    pub fn options(&self, workload: Workload, size: SizeSpec) -> Result<Options, CliError> {
        let endpoint = self
            .endpoint
            .clone()
            .or_else(|| std::env::var(ENDPOINT_FALLBACK_ENV).ok())
            .filter(|e| !e.trim().is_empty())
            .ok_or(CliError::NoEndpoint)?;
        let (Some(access_key), Some(secret_key)) = (&self.access_key, &self.secret_key) else {
            return Err(CliError::NoCredentials);
        };
        Ok(Options {
            target: Target {
                endpoint,
                access_key: access_key.clone(),
                secret_key: secret_key.clone(),
                region: self.region.clone(),
            },
            workload,
            bucket: self.bucket.clone(),
            keep: self.keep,
            prefix: self.prefix.clone(),
            concurrency: self.concurrency,
            limit: match self.ops {
                Some(n) => Limit::Ops(n),
                None => Limit::Duration(self.duration),
            },
            size,
            verify: self.verify,
            op_timeout: self.timeout,
            max_errors: self.max_errors,
            progress: !self.no_progress,
            sign_payload: self.sign_payload,
        })
    }
}

/// Reads a `--json` report.
pub fn read_report(path: &Path) -> Result<Report, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| CliError::Json {
        path: path.display().to_string(),
        source,
    })
}

fn write_json(report: &Report, path: &Path) -> Result<(), CliError> {
    let io = |source| CliError::Io {
        path: path.display().to_string(),
        source,
    };
    let text = serde_json::to_string_pretty(report).map_err(|e| io(e.into()))?;
    std::fs::write(path, text + "\n").map_err(io)
}

/// Carries out one `cairn bench` command and returns what to print on stdout.
/// `stop` ends a run early (Ctrl-C); the run still cleans up and reports.
pub async fn execute(command: BenchCommand, stop: CancellationToken) -> Result<String, CliError> {
    let (common, workload, size) = match command {
        BenchCommand::Compare { a, b } => {
            return Ok(compare(&read_report(&a)?, &read_report(&b)?));
        }
        BenchCommand::Put { common, size } => (common, Workload::Put, size),
        BenchCommand::Get {
            common,
            size,
            objects,
        } => (common, Workload::Get { objects }, size),
        BenchCommand::Mixed {
            common,
            size,
            objects,
            mix,
        } => (common, Workload::Mixed { objects, mix }, size),
        BenchCommand::List {
            common,
            size,
            objects,
            page_size,
        } => (common, Workload::List { objects, page_size }, size),
        BenchCommand::Multipart {
            common,
            size,
            part_size,
        } => (common, Workload::Multipart { part_size }, size),
    };
    let options = common.options(workload, size)?;
    let report = run::run(options, stop).await?;
    if let Some(path) = &common.json {
        write_json(&report, path)?;
    }
    if let Some(path) = &common.svg {
        write_svg(&report, path)?;
    }
    Ok(report.summary())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(subcommand)]
        command: BenchCommand,
    }

    const TARGET_FLAGS: [&str; 6] = [
        "--endpoint",
        "http://127.0.0.1:9000",
        "--access-key",
        "AK",
        "--secret-key",
        "SK",
    ];

    fn parse(args: &[&str]) -> Result<BenchCommand, clap::Error> {
        let mut all = vec!["cairn-bench"];
        all.extend_from_slice(args);
        all.extend_from_slice(&TARGET_FLAGS);
        Wrapper::try_parse_from(all).map(|w| w.command)
    }

    #[test]
    fn flags_become_run_options() {
        let BenchCommand::Mixed {
            common,
            size,
            objects,
            mix,
        } = parse(&[
            "mixed",
            "--size",
            "4KiB..1MiB:log",
            "--ops",
            "500",
            "-c",
            "3",
            "--mix",
            "get=1,delete=1",
            "--objects",
            "9",
            "--bucket",
            "b",
        ])
        .expect("parses")
        else {
            panic!("not mixed");
        };
        let options = common
            .options(Workload::Mixed { objects, mix }, size)
            .expect("options");
        assert_eq!(options.limit, Limit::Ops(500));
        assert_eq!(options.concurrency, 3);
        assert_eq!(options.bucket.as_deref(), Some("b"));
        assert_eq!(options.target.endpoint, "http://127.0.0.1:9000");
        assert_eq!(options.target.access_key, "AK");
        assert_eq!(options.size.max(), crate::spec::MIB);
        assert_eq!(
            options.workload,
            Workload::Mixed {
                objects: 9,
                mix: Mix {
                    get: 1,
                    put: 0,
                    stat: 0,
                    delete: 1
                }
            }
        );
        assert!(!options.keep && !options.verify && options.progress);
    }

    #[test]
    fn defaults_and_conflicts() {
        let BenchCommand::Put { common, size } = parse(&["put"]).expect("parses") else {
            panic!("not put");
        };
        assert_eq!(size, SizeSpec::Fixed(crate::spec::MIB));
        let options = common.options(Workload::Put, size).expect("options");
        assert_eq!(options.limit, Limit::Duration(Duration::from_secs(10)));
        assert_eq!(options.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(options.prefix, DEFAULT_PREFIX);
        assert!(parse(&["put", "--ops", "5", "--duration", "5s"]).is_err());
        assert!(parse(&["put", "--size", "lots"]).is_err());
        assert!(parse(&["list", "--page-size", "x"]).is_err());
        let BenchCommand::Multipart { part_size, .. } =
            parse(&["multipart", "--part-size", "8MiB"]).expect("parses")
        else {
            panic!("not multipart");
        };
        assert_eq!(part_size, 8 * crate::spec::MIB);
    }
}
