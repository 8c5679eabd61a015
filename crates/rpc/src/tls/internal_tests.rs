use super::*;
use crate::tls::ca::{CERT_VALID_DAYS, ClusterCa};
use std::os::unix::fs::PermissionsExt;

fn material(dir: &Path, role: PeerRole, name: &str) -> TlsPaths {
    let ca = ClusterCa::load_or_init(dir).expect("ca");
    ca.issue(role, name, CERT_VALID_DAYS)
        .expect("issue")
        .write(dir, name)
        .expect("write");
    TlsPaths::in_dir(dir, name)
}

/// Handshakes a client holding `client` with a server holding `server`
/// over an in-memory pipe; the role the server saw, or the error.
async fn handshake(server: &InternalTls, client: &InternalTls) -> Result<PeerRole, String> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(server.server.clone());
    let connector = tokio_rustls::TlsConnector::from(client.client.clone());
    let name = ServerName::try_from("10.9.9.9").expect("name");
    let (s, c) = tokio::join!(acceptor.accept(a), connector.connect(name, b));
    let s = s.map_err(|e| e.to_string())?;
    c.map_err(|e| e.to_string())?;
    let certs = s.get_ref().1.peer_certificates().ok_or("no peer cert")?;
    match PeerRole::of_certificate(&certs[0])[..] {
        [r] => Ok(r),
        _ => Err("no single role".into()),
    }
}

#[tokio::test]
async fn roles_are_proved_by_the_certificate_and_other_cas_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let meta = InternalTls::load(&material(dir.path(), PeerRole::Meta, "meta")).expect("meta");
    let gw = InternalTls::load(&material(dir.path(), PeerRole::Gateway, "gw")).expect("gw");
    assert_eq!(meta.role, PeerRole::Meta);
    assert_eq!(gw.role, PeerRole::Gateway);
    assert_eq!(handshake(&meta, &gw).await, Ok(PeerRole::Gateway));

    // Key files are private, the CA directory too.
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("ca.key")), 0o600);
    assert_eq!(mode(&dir.path().join("gw.key")), 0o600);
    assert_eq!(mode(dir.path()), 0o700);

    // A certificate from another CA is refused by the server...
    let other = tempfile::tempdir().expect("tempdir");
    let stranger =
        InternalTls::load(&material(other.path(), PeerRole::Admin, "admin")).expect("stranger");
    assert!(handshake(&meta, &stranger).await.is_err());
    // ...and a server from another CA by the client.
    assert!(handshake(&stranger, &gw).await.is_err());

    // A gateway cannot serve: clients accept only meta and node servers.
    assert!(handshake(&gw, &meta).await.is_err());

    // A CA is made once.
    assert!(matches!(
        ClusterCa::init(dir.path()),
        Err(crate::tls::TlsError::Exists(_))
    ));
}

#[test]
fn a_certificate_under_another_ca_does_not_load() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let mut paths = material(a.path(), PeerRole::Node, "node");
    material(b.path(), PeerRole::Node, "node");
    paths.ca = b.path().join("ca.pem");
    let err = InternalTls::load(&paths).expect_err("mismatched CA");
    assert!(
        err.to_string().contains("not valid under the cluster CA"),
        "{err}"
    );
}
