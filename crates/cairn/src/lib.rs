//! The `cairn` binary's library half: it wires the three roles (meta, node,
//! gateway) together. `roles` starts each role; `server` runs the whole
//! cluster in one process, which is what `cairn server` and the in-process
//! integration tests use. `serve` serves every listener within its bounds
//! (connection cap, header and write timeouts, through `timeout_io`);
//! `data_dir` keeps data directories private; `s3_tls` serves S3 over
//! HTTPS with a certificate that reloads.

pub mod admin;
pub mod data_dir;
pub mod roles;
pub mod s3_tls;
pub mod secrets;
pub mod serve;
pub mod server;
mod timeout_io;

pub use server::{RunningServer, ServerOptions};
