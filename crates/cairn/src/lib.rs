//! The `cairn` binary's library half: it wires the three roles (meta, node,
//! gateway) together. `roles` starts each role; `server` runs the whole
//! cluster in one process, which is what `cairn server` and the in-process
//! integration tests use.

pub mod admin;
pub mod admin_cli;
pub mod admin_nodes;
pub mod layout_admin;
pub mod roles;
pub mod server;
pub mod server_voters;

pub use server::{RunningServer, ServerOptions};
