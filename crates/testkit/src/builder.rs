//! `ClusterBuilder`: what cluster a test wants — meta voters (and spares
//! written but not started), storage nodes and zones, in one process or as
//! separate `cairn` processes, root keys, and configuration overrides per
//! role. `start` (in `start.rs`) turns it into a healthy [`Cluster`] with
//! its layout applied.

use crate::cluster::Cluster;
use crate::spec::{ACCESS_KEY, Role, SECRET_KEY, START_TIMEOUT};
use cairn_types::config::Config;
use std::path::PathBuf;
use std::time::Duration;

/// A configuration override: gets the process name (`meta-1`, `node-3`,
/// `gateway`; `server` in process) and its config to change.
pub(crate) type Configure = Box<dyn Fn(&str, &mut Config) + Send + Sync>;

/// What cluster to start; see [`Cluster::builder`].
pub struct ClusterBuilder {
    pub(crate) voters: usize,
    pub(crate) spare_voters: usize,
    pub(crate) nodes: usize,
    /// Storage nodes put in the first layout (the others run, registered
    /// and pending, for a test to add).
    pub(crate) layout_nodes: Option<usize>,
    pub(crate) zones: usize,
    pub(crate) processes: bool,
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    pub(crate) data_dir: Option<PathBuf>,
    /// Overrides in order; a role limits one to the processes of that role
    /// (in process, every override applies to the one config).
    pub(crate) configure: Vec<(Option<Role>, Configure)>,
    pub(crate) start_timeout: Duration,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        Self {
            voters: 1,
            spare_voters: 0,
            nodes: 1,
            layout_nodes: None,
            zones: 1,
            processes: false,
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            data_dir: None,
            configure: Vec::new(),
            start_timeout: START_TIMEOUT,
        }
    }
}

impl ClusterBuilder {
    /// Meta voters (ids 1..=n). Default 1.
    pub fn voters(mut self, n: usize) -> Self {
        self.voters = n;
        self
    }

    /// Voters whose configs are written (ids after the voters, their voter
    /// lists naming every voter) but which are not started: start one with
    /// [`Cluster::start`] and add it with `cairn admin meta add`. Processes only.
    pub fn spare_voters(mut self, n: usize) -> Self {
        self.spare_voters = n;
        self
    }

    /// Storage nodes (ids 1..=n). Default 1.
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n;
        self
    }

    /// Zones the nodes are spread over, round-robin (node n in zone
    /// `zone-((n-1) % zones + 1)`). Default 1 (the default zone).
    /// Only storage nodes 1..=n go in the first layout (processes only);
    /// the rest run registered and pending, for a test to assign.
    pub fn layout_nodes(mut self, n: usize) -> Self {
        assert!(n >= 1, "the first layout needs a node");
        self.layout_nodes = Some(n);
        self
    }

    pub fn zones(mut self, n: usize) -> Self {
        self.zones = n;
        self
    }

    /// Every voter, node and the gateway as its own `cairn` process.
    pub fn processes(mut self) -> Self {
        self.processes = true;
        self
    }

    /// The whole cluster inside this test process (`cairn::server::start`),
    /// on the kit's runtime. The default.
    pub fn in_process(mut self) -> Self {
        self.processes = false;
        self
    }

    /// The root key pair. Default [`ACCESS_KEY`] / [`SECRET_KEY`].
    pub fn keys(mut self, access: &str, secret: &str) -> Self {
        self.access_key = access.into();
        self.secret_key = secret.into();
        self
    }

    /// Keep everything under `dir` (which the test owns, e.g. to start a
    /// cluster on it again), instead of a temporary directory of the cluster's.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// How long `start` may take. Default [`START_TIMEOUT`].
    pub fn start_timeout(mut self, limit: Duration) -> Self {
        self.start_timeout = limit;
        self
    }

    /// Changes the config of every process (in process: the one config).
    pub fn configure(mut self, f: impl Fn(&mut Config) + Send + Sync + 'static) -> Self {
        self.configure.push((None, Box::new(move |_, c| f(c))));
        self
    }

    /// Changes the config of every process of `role`.
    pub fn configure_role(
        mut self,
        role: Role,
        f: impl Fn(&mut Config) + Send + Sync + 'static,
    ) -> Self {
        self.configure
            .push((Some(role), Box::new(move |_, c| f(c))));
        self
    }

    /// Changes the config of each process, by name (`meta-1`, `node-3`,
    /// `gateway`; `server` in process).
    pub fn configure_each(mut self, f: impl Fn(&str, &mut Config) + Send + Sync + 'static) -> Self {
        self.configure.push((None, Box::new(f)));
        self
    }

    /// Node liveness: heartbeats every `interval_ms`, a node silent for
    /// `down_after_ms` is reported down (meta voters and nodes).
    pub fn heartbeat(self, interval_ms: u64, down_after_ms: u64) -> Self {
        let set = move |c: &mut Config| {
            c.node.heartbeat_interval_ms = interval_ms;
            c.node.down_after_ms = down_after_ms;
        };
        self.configure_role(Role::Meta, set)
            .configure_role(Role::Node, set)
    }

    /// The gateway hedges a shard read not answered within `ms`.
    pub fn hedge_after_ms(self, ms: u64) -> Self {
        self.configure_role(Role::Gateway, move |c| c.data_path.hedge_after_ms = ms)
    }

    /// The gateway's timeout of one internal call.
    pub fn rpc_timeout_secs(self, secs: u64) -> Self {
        self.configure_role(Role::Gateway, move |c| c.data_path.rpc_timeout_secs = secs)
    }

    /// The shard collector's grace and sweep interval (every role).
    pub fn gc(self, grace_secs: u64, interval_secs: u64) -> Self {
        self.configure(move |c| {
            c.gc.grace_secs = grace_secs;
            c.gc.interval_secs = interval_secs;
        })
    }

    /// How long a voter waits for a majority before answering "unavailable".
    pub fn quorum_wait_ms(self, ms: u64) -> Self {
        self.configure_role(Role::Meta, move |c| c.meta.quorum_wait_ms = ms)
    }

    /// Lets `cairn admin meta isolate|heal` cut voters off.
    pub fn fault_injection(self) -> Self {
        self.configure_role(Role::Meta, |c| c.meta.fault_injection = true)
    }

    /// The redundancy of buckets created without choosing one.
    pub fn default_redundancy(self, redundancy: &str) -> Self {
        let redundancy = redundancy.to_owned();
        self.configure_role(Role::Gateway, move |c| {
            c.s3.default_redundancy = redundancy.clone()
        })
    }

    /// Applies every override meant for a process of `role` named `name`
    /// (`role` None: the in-process config, which takes all of them).
    pub(crate) fn apply(&self, role: Option<Role>, name: &str, config: &mut Config) {
        for (only, f) in &self.configure {
            if role.is_none() || only.is_none() || *only == role {
                f(name, config);
            }
        }
    }
}

impl Cluster {
    /// A builder: one voter, one node, in process, the kit's keys.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }
}
