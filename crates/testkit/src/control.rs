//! Controlling single processes of a process cluster by name (`meta-2`,
//! `node-5`, `gateway`): kill (SIGKILL and reap), stop and cont (SIGSTOP,
//! SIGCONT), reconfigure, start and restart from its config — a node pinned
//! to the address it registered, so gateways find it again — and wiping a
//! stopped process's data directory.

use crate::cluster::Cluster;
use crate::process::Signal;
use crate::spawn::write_config;
use crate::spec::Role;
use cairn_types::config::Config;
use std::net::SocketAddr;
use std::path::Path;

impl Cluster {
    /// Whether process `name` is running (started and not killed since).
    pub fn is_running(&self, name: &str) -> bool {
        self.procs.contains(name)
    }

    /// The pid of process `name`.
    pub fn pid(&self, name: &str) -> u32 {
        self.procs.pid(name)
    }

    /// SIGKILLs process `name` and reaps it.
    pub fn kill(&mut self, name: &str) {
        self.config_of(name);
        self.procs.kill(name);
    }

    /// Freezes process `name` (SIGSTOP): it keeps its sockets, answers nothing.
    pub fn stop(&self, name: &str) {
        self.config_of(name);
        self.procs.signal(name, Signal::Stop);
    }

    /// Lets a frozen process run on (SIGCONT).
    pub fn cont(&self, name: &str) {
        self.config_of(name);
        self.procs.signal(name, Signal::Cont);
    }

    /// Starts process `name` (killed before, or a spare voter) from its
    /// config. A node that registered before is pinned to its registered
    /// address first, so it comes back where the gateways look for it.
    pub fn start(&mut self, name: &str) {
        let (role, config) = self.config_of(name);
        assert!(!self.is_running(name), "{name} is already running");
        if role == Role::Node {
            self.pin_node_addr(&config);
        }
        self.spawn_process(name);
    }

    /// Changes the config file of process `name` (it takes effect at its
    /// next start), e.g. to fix a clock offset before a `restart`.
    pub fn reconfigure(&self, name: &str, f: impl FnOnce(&mut Config)) {
        let (_, path) = self.config_of(name);
        let mut c = Config::from_file(&path).expect("process config");
        f(&mut c);
        write_config(&path, &c).expect("write process config");
    }

    /// Kills process `name` if it runs, then starts it again (same config).
    pub fn restart(&mut self, name: &str) {
        if self.is_running(name) {
            self.kill(name);
        }
        self.start(name);
    }

    /// Removes everything process `name` stored (it must not be running).
    pub fn wipe(&self, name: &str) {
        self.config_of(name);
        assert!(!self.is_running(name), "kill {name} before wiping it");
        let dir = self.data_dir(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("wipe {}: {e}", dir.display()));
        }
    }

    /// Rewrites a node config naming port 0 to the address the node
    /// registered with (when it did).
    fn pin_node_addr(&self, config: &Path) {
        let mut c = Config::from_file(config).expect("node config");
        if c.node.addr.port() != 0 {
            return;
        }
        let nodes = self.node_list();
        let registered = nodes
            .iter()
            .find(|n| n["record"]["id"].as_u64() == Some(c.node.id))
            .and_then(|n| n["record"]["addr"].as_str());
        let Some(addr) = registered else {
            return;
        };
        c.node.addr = addr
            .parse::<SocketAddr>()
            .unwrap_or_else(|e| panic!("registered address {addr}: {e}"));
        write_config(config, &c).expect("write node config");
    }
}
