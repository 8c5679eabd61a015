//! Mutual TLS and least privilege between roles, on a cluster of processes:
//! internal listeners refuse connections without a certificate of the
//! cluster CA, refuse a certificate of another CA, answer 403 to a role an
//! endpoint does not serve (and count it), and a node certificate can
//! neither write object metadata nor read access keys. A packet capture on
//! loopback shows that no secret and no object byte crosses between roles
//! in clear.

use cairn_rpc::meta_reads as reads;
use cairn_rpc::tls::ca::CERT_VALID_DAYS;
use cairn_rpc::tls::{ClusterCa, PeerRole, TlsPaths};
use cairn_rpc::{MetaClient, MetaCommand, WriteCondition};
use cairn_testkit::*;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long one probe of an internal listener may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

fn cluster() -> Cluster {
    Cluster::builder().nodes(1).processes().start()
}

/// A TLS connection to `addr` trusting the cluster CA and showing the
/// client certificate in `client` (`NAME.pem`/`NAME.key` in a directory),
/// or none; what the server answers to one request (empty when it closed
/// the connection or failed the handshake).
fn raw_request(
    ca: &std::path::Path,
    addr: &str,
    client: Option<(&std::path::Path, &str)>,
) -> String {
    let mut roots = rustls::RootCertStore::empty();
    for c in cairn_rpc::tls::files::read_certs(ca).expect("ca") {
        roots.add(c).expect("root");
    }
    let builder = rustls::ClientConfig::builder_with_provider(cairn_rpc::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((dir, name)) => {
            let paths = TlsPaths::in_dir(dir, name);
            builder
                .with_client_auth_cert(
                    cairn_rpc::tls::files::read_certs(&paths.cert).expect("cert"),
                    cairn_rpc::tls::files::read_key(&paths.key).expect("key"),
                )
                .expect("client auth")
        }
    };
    let name = rustls_pki_types::ServerName::try_from("meta.role.cairn").expect("name");
    let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).expect("conn");
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(PROBE_TIMEOUT)).expect("timeout");
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let mut answer = Vec::new();
    if tls
        .write_all(b"GET /v1/meta/status HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .is_ok()
    {
        let _ = tls.read_to_end(&mut answer);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status code of an `RpcError::Status`, or None for other errors.
fn status_of<T: std::fmt::Debug>(r: Result<T, cairn_rpc::RpcError>) -> Option<u16> {
    match r {
        Err(cairn_rpc::RpcError::Status { status, .. }) => Some(status),
        other => {
            assert!(other.is_err(), "expected a refusal, got {other:?}");
            None
        }
    }
}

#[test]
fn internal_endpoints_need_a_cluster_certificate_of_the_right_role() {
    let c = cluster();
    let rt = runtime();
    let voter = c.voter_addr(1).to_string();
    let ca = c.tls_dir().join("ca.pem");

    // The admin certificate of the cluster is served.
    assert!(c.internal_get(&voter, "/v1/meta/status").is_some());
    // Plain HTTP gets no answer from a TLS listener.
    let plain = http_get_as(&format!("http://{voter}/v1/meta/status"), None);
    assert!(plain.is_none() || plain.is_some_and(|(s, _)| s != 200));
    // The same raw request with the cluster's admin certificate is served...
    let tls_dir = c.tls_dir().to_path_buf();
    c.rpc(); // issues the kit's admin certificate
    let answer = raw_request(&ca, &voter, Some((&tls_dir, "testkit-admin")));
    assert!(
        answer.contains("200 OK"),
        "not served with a certificate: {answer}"
    );
    // ...without a client certificate it is refused during the handshake...
    let answer = raw_request(&ca, &voter, None);
    assert!(
        !answer.contains("200 OK"),
        "served without a certificate: {answer}"
    );
    // ...and with a certificate from another CA too.
    let other = tempfile::tempdir().expect("tempdir");
    ClusterCa::init(other.path())
        .and_then(|ca| ca.issue(PeerRole::Admin, "stranger", CERT_VALID_DAYS))
        .and_then(|cert| cert.write(other.path(), "stranger"))
        .expect("a stranger's certificate");
    let answer = raw_request(&ca, &voter, Some((other.path(), "stranger")));
    assert!(
        !answer.contains("200 OK"),
        "served another CA's certificate: {answer}"
    );

    // A gateway certificate on meta's operator endpoints: 403.
    let gateway = c.rpc_as(PeerRole::Gateway);
    for path in ["/v1/meta/membership", "/v1/meta/fault", "/v1/raft/vote"] {
        let r = rt.block_on(gateway.call::<_, ()>(&voter, path, &0u8));
        assert_eq!(status_of(r), Some(403), "{path} served a gateway");
    }
    // A node certificate cannot write object metadata or read keys.
    let client = c.client();
    rt.block_on(async {
        client
            .create_bucket()
            .bucket("sec")
            .send()
            .await
            .expect("bucket");
        put_bytes(&client, "sec", "obj", b"hello").await;
    });
    let as_node = MetaClient::new(c.rpc_as(PeerRole::Node), vec![voter.clone()]);
    let as_admin = MetaClient::new(c.rpc(), vec![voter.clone()]);
    let manifest = rt
        .block_on(as_node.read(reads::GetObject {
            bucket: "sec".into(),
            key: "obj".into(),
        }))
        .expect("a node reads manifests")
        .expect("the object");
    let put = MetaCommand::PutObject {
        manifest,
        condition: WriteCondition::Always,
    };
    let refused = rt.block_on(as_node.write(&put));
    let text = format!("{refused:?}");
    assert!(text.contains("403") && text.contains("PutObject"), "{text}");
    let keys = rt.block_on(as_node.read(reads::ListAccessKeys {}));
    assert!(
        format!("{keys:?}").contains("403"),
        "a node read the keys: {keys:?}"
    );
    assert!(rt.block_on(as_admin.read(reads::ListAccessKeys {})).is_ok());
    // Refusals are counted on the voter.
    let metrics = c.internal_get(&voter, "/metrics").expect("voter metrics");
    assert!(
        metric_sum(&metrics, "cairn_internal_forbidden_total") >= 5.0,
        "{metrics}"
    );
}

/// How long tcpdump may take to start capturing.
const CAPTURE_START: Duration = Duration::from_secs(20);

/// Starts tcpdump on loopback writing `filter`'s packets to `file`; returns
/// once it has written a packet of a connection to `probe` (which the
/// filter must match).
fn capture(file: &std::path::Path, filter: &str, probe: &str) -> ProcessGuard {
    let mut guard = ProcessGuard::new();
    let child = guard.spawn(
        "tcpdump",
        Command::new("tcpdump")
            .args(["-i", "lo", "-U", "-s", "0", "-w"])
            .arg(file)
            .arg(filter)
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    // tcpdump says "listening on lo" on stderr once it captures.
    let mut err = child.stderr.take().expect("stderr");
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("listening on") {
        let n = err.read(&mut buf).expect("tcpdump stderr");
        assert!(
            n > 0,
            "tcpdump did not start: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    // It may say so a moment before packets reach it: probe until one does
    // (a pcap file holds a 24-byte header before its first packet).
    let deadline = std::time::Instant::now() + CAPTURE_START;
    while std::fs::metadata(file).map_or(0, |m| m.len()) <= 24 {
        assert!(
            std::time::Instant::now() < deadline,
            "tcpdump captured nothing"
        );
        drop(std::net::TcpStream::connect(probe));
        std::thread::sleep(Duration::from_millis(100));
    }
    guard
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn nothing_secret_or_stored_crosses_between_roles_in_clear() {
    let c = cluster();
    let rt = runtime();
    let s3_port = c.endpoint().rsplit(':').next().expect("a port").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let internal = dir.path().join("internal.pcap");
    let s3 = dir.path().join("s3.pcap");
    let admin = c.admin_endpoint().trim_start_matches("http://").to_string();
    let s3_addr = format!("127.0.0.1:{s3_port}");
    let mut internal_cap = capture(&internal, &format!("tcp and not port {s3_port}"), &admin);
    let mut s3_cap = capture(&s3, &format!("tcp port {s3_port}"), &s3_addr);

    // A fresh gateway connection looks the key up (its secret in meta's
    // answer); the body goes to the storage node.
    let canary = b"CAIRN-PLAINTEXT-CANARY-0123456789-".repeat(4096);
    let client = c.client();
    rt.block_on(async {
        client
            .create_bucket()
            .bucket("wire")
            .send()
            .await
            .expect("bucket");
        put_bytes(&client, "wire", "canary", &canary).await;
        let got = get_bytes(&client, "wire", "canary").await;
        assert_eq!(got, canary);
    });
    c.admin_ok(&["meta", "status"]);
    internal_cap.terminate("tcpdump", PROBE_TIMEOUT);
    s3_cap.terminate("tcpdump", PROBE_TIMEOUT);

    let internal = std::fs::read(&internal).expect("internal capture");
    let s3 = std::fs::read(&s3).expect("s3 capture");
    let marker = b"CAIRN-PLAINTEXT-CANARY-0123456789-";
    // The capture works: the body is there in the clear S3 traffic.
    assert!(
        contains(&s3, marker),
        "the S3 capture saw no body ({} bytes)",
        s3.len()
    );
    assert!(
        internal.len() > 10_000,
        "the internal capture saw little: {} bytes",
        internal.len()
    );
    assert!(
        !contains(&internal, marker),
        "an object body crossed between roles in clear"
    );
    assert!(
        !contains(&internal, c.secret_key().as_bytes()),
        "the S3 secret key crossed between roles in clear"
    );
    assert!(
        !contains(&internal, c.cluster_secret().as_bytes()),
        "the cluster secret crossed between roles in clear"
    );
}
