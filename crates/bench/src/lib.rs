//! `cairn bench`: a throughput load generator for any S3 endpoint, in the
//! spirit of MinIO's warp. Workloads `put`, `get`, `mixed`, `list` and
//! `multipart` run `concurrency` workers for a duration or an operation count
//! through aws-sdk-s3 (path-style), and report ops/s, MiB/s, HDR latency
//! percentiles per operation, errors by S3 code and a per-second time series,
//! as a summary, JSON (`--json`) and an SVG plot (`--svg`). The `cairn`
//! binary exposes [`cli::BenchCommand`] as `cairn bench`; tests call
//! [`run::run`] directly.

pub mod cli;
pub mod client;
pub mod ops;
pub mod payload;
pub mod plot;
pub mod report;
pub mod run;
pub mod spec;
pub mod stats;

pub use cli::{BenchCommand, CliError, execute};
pub use client::Target;
pub use report::Report;
pub use run::{BenchError, Limit, Options, Workload, run};
