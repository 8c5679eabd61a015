//! Starting what a [`ClusterBuilder`] describes: as processes (`spawn`) or
//! in this process (`in_process`).

use crate::builder::ClusterBuilder;
use crate::cluster::Cluster;

impl ClusterBuilder {
    /// Starts the cluster and waits until it is healthy, its layout applied.
    /// Panics when it cannot.
    pub fn start(self) -> Cluster {
        self.try_start()
            .unwrap_or_else(|e| panic!("cluster did not start: {e:#}"))
    }

    /// Like `start`; why it could not start as an error.
    pub fn try_start(self) -> anyhow::Result<Cluster> {
        if self.processes {
            crate::spawn::start_processes(self)
        } else {
            crate::in_process::start_in_process(self)
        }
    }
}
