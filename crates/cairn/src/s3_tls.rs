//! HTTPS for the S3 endpoint: the certificate `s3.tls_cert` / `s3.tls_key`
//! name, loaded at start (a bad pair stops the start) and reloaded without
//! dropping a connection — on SIGHUP, and whenever a check every
//! `s3.tls_reload_secs` sees the files' modification times change. A pair
//! that fails to load is logged and the certificate in use stays.

use crate::serve::Transport;
use cairn_rpc::tls::ReloadingCert;
use cairn_types::config::Config;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Counter of S3 certificate reloads, by outcome.
pub const RELOADS_METRIC: &str = "cairn_s3_tls_reloads_total";

/// What the S3 listener speaks: HTTPS when a certificate is configured
/// (with its reload task running until `stop`), else plain HTTP.
pub fn s3_transport(config: &Config, stop: CancellationToken) -> anyhow::Result<Transport> {
    let s3 = &config.s3;
    if s3.tls_cert.as_os_str().is_empty() {
        return Ok(Transport::Plain);
    }
    let cert = ReloadingCert::new(&s3.tls_cert, &s3.tls_key)?;
    let server = cert.server_config()?;
    let every = Duration::from_secs(s3.tls_reload_secs);
    tokio::spawn(reload_loop(cert, every, stop));
    Ok(Transport::Https(server))
}

async fn reload_loop(cert: Arc<ReloadingCert>, every: Duration, stop: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; the S3 certificate reloads on file changes only");
            None
        }
    };
    loop {
        let forced = tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => false,
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
        };
        match cert.reload(!forced) {
            Ok(false) => {}
            Ok(true) => {
                tracing::info!("S3 certificate reloaded");
                metrics::counter!(RELOADS_METRIC, "outcome" => "ok").increment(1);
            }
            Err(e) => {
                tracing::warn!(error = %e, "S3 certificate not reloaded; the one in use stays");
                metrics::counter!(RELOADS_METRIC, "outcome" => "failed").increment(1);
            }
        }
    }
}
