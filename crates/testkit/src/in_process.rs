//! Starting a whole cluster inside the test process: `cairn::server::start`
//! (every role on its own listener, talking over the internal transport) on
//! the kit's runtime, so the server outlives no test runtime and every kit
//! call works from synchronous and asynchronous tests alike.

use crate::builder::ClusterBuilder;
use crate::cluster::{Cluster, Root};
use crate::process::ProcessGuard;
use crate::runtime::try_block;
use anyhow::Context;
use cairn::ServerOptions;
use cairn_types::config::Config;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Starts `cairn::server::start` with the builder's options and waits until S3 answers.
pub(crate) fn start_in_process(b: ClusterBuilder) -> anyhow::Result<Cluster> {
    anyhow::ensure!(
        b.spare_voters == 0,
        "spare voters need a cluster of processes"
    );
    let root = Root::new(b.data_dir.clone())?;
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut opts = ServerOptions::new(root.path(), any_port);
    opts.admin_addr = any_port;
    opts.nodes = b.nodes;
    opts.zones = b.zones;
    opts.meta_voters = b.voters;
    opts.access_key = Some(b.access_key.clone());
    opts.secret_key = Some(b.secret_key.clone());
    b.apply(None, "server", &mut opts.config);
    let limit = b.start_timeout;
    let started =
        try_block(async move { tokio::time::timeout(limit, cairn::server::start(opts)).await })
            .map_err(|panic| anyhow::anyhow!("cairn::server::start panicked: {panic}"))?
            .map_err(|_| anyhow::anyhow!("cairn::server::start did not return within {limit:?}"));
    let server =
        started?.with_context(|| format!("cannot start a server on {}", root.path().display()))?;
    let file = Config::from_file(&server.cluster_file)?;
    Ok(Cluster {
        procs: ProcessGuard::new(),
        endpoint: server.endpoint(),
        admin_endpoint: server.admin_endpoint(),
        access_key: server.access_key.clone(),
        secret_key: server.secret_key.clone(),
        admin_config: server.cluster_file.clone(),
        server: Some(server),
        in_process: true,
        configs: BTreeMap::new(),
        secret: file.cluster.secret,
        tls_dir: cairn::server::tls::tls_dir(root.path()),
        kit_tls: Default::default(),
        initial_voters: file.cluster.meta_voters.len(),
        voters: file.cluster.meta_voters,
        nodes: b.nodes,
        zones: b.zones,
        root,
    })
}
