//! Plain HTTP probes of a cluster's endpoints (`/health`, `/metrics`, a
//! voter's `/v1/meta/status`), synchronous and bounded, with or without the
//! cluster token.

use crate::runtime::block;
use std::sync::OnceLock;
use std::time::Duration;

/// Longest one probe may take (a paused process never answers).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("HTTP client")
    })
}

/// GET `url`, sending `token` as the cluster token when given; the status
/// code and body, or None when nothing answered.
pub fn http_get_as(url: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut req = http().get(url);
    if let Some(t) = token {
        req = req.header(cairn_rpc::auth::CLUSTER_TOKEN_HEADER, t);
    }
    block(async move {
        let resp = req.send().await.ok()?;
        let status = resp.status().as_u16();
        Some((status, resp.text().await.ok()?))
    })
}

/// The body of a 200 answer to GET `url`, sending no cluster token (the
/// gateway's admin address asks none, and it is plain HTTP even when the
/// roles speak mutual TLS: a token sent there would cross in clear).
pub fn http_get(url: &str) -> Option<String> {
    http_get_as(url, None)
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
}

/// The sum of every sample of the Prometheus text `metrics` whose line starts
/// with `name` (all its label sets).
pub fn metric_sum(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .sum()
}
