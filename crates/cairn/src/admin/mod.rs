//! `cairn admin`: operator commands against a running cluster. `cli` is the
//! command line and its dispatch; `meta` talks to the voters directly
//! (status, fault injection); `nodes` renders the node list; `layout` stages,
//! plans and applies layouts and creates buckets (also used by `cairn
//! server` to put its own nodes in the layout); `bucket` lists buckets and
//! changes a bucket's redundancy online; `gc` resets a
//! garbage-collection horizon set wrongly; `repair` reads the durability
//! report and the repair status and sets the live repair settings;
//! `rebalance` does the same for the moves after a layout change;
//! `inspect` shows one object's placement; `keys` manages access keys
//! and their grants (tenants); `certs` makes the cluster CA and
//! role certificates; `units` prints and parses bytes, rates, durations
//! and ages.

mod bucket;
mod certs;
mod cli;
mod gc;
mod inspect;
mod keys;
mod layout;
mod meta;
mod nodes;
mod rebalance;
mod repair;
mod units;

pub use cli::{AdminCommand, role_config, run};
pub use layout::ensure_in_layout;
pub use meta::{meta_status, render, set_isolation};
