//! Secret keys at rest: an access key's secret is sealed (AES-256-GCM, a
//! random nonce per seal) with the cluster key before it goes into a Raft
//! entry, and opened only by who checks signatures or makes keys (gateways,
//! `cairn admin`, `cairn server`). Meta voters store and replicate the
//! sealed form and never hold the cluster key, so neither RocksDB nor the
//! Raft log holds a secret in clear. The cluster key is 32 random bytes,
//! hex, in a `0600` file (`cluster.key` beside the cluster CA, made by
//! `cairn admin ca init` and `cairn server`). A secret stored by an older
//! build (no seal prefix) still opens as itself.

use crate::tls::TlsError;
use crate::tls::files::write_private;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use std::path::Path;

/// Prefix of a sealed secret (then hex of nonce, ciphertext and tag).
pub const SEALED_PREFIX: &str = "cairn-sealed:v1:";
/// File name of the cluster key beside the CA.
pub const CLUSTER_KEY_FILE: &str = "cluster.key";
/// Bytes of the cluster key.
pub const CLUSTER_KEY_LEN: usize = 32;

/// The key secrets are sealed with.
pub struct ClusterKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterKey(..)")
    }
}

fn invalid(path: &Path, why: &str) -> TlsError {
    TlsError::Invalid(format!("{}: {why}", path.display()))
}

impl ClusterKey {
    /// Makes a new key file at `path` (0600); refuses to overwrite one.
    pub fn create(path: &Path) -> Result<(), TlsError> {
        if path.exists() {
            return Err(TlsError::Exists(path.to_path_buf()));
        }
        let mut bytes = [0u8; CLUSTER_KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| invalid(path, "no randomness"))?;
        write_private(path, format!("{}\n", hex::encode(bytes)).as_bytes())
    }

    /// Reads the key file at `path`.
    pub fn load(path: &Path) -> Result<Self, TlsError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| TlsError::Io(path.to_path_buf(), e))?;
        let bytes = hex::decode(text.trim()).map_err(|_| invalid(path, "not a hex key"))?;
        if bytes.len() != CLUSTER_KEY_LEN {
            return Err(invalid(path, "a cluster key is 32 bytes"));
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| invalid(path, "bad key"))?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// `secret` sealed (`SEALED_PREFIX` + hex).
    pub fn seal(&self, secret: &str) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "no randomness".to_string())?;
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| "sealing failed".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{SEALED_PREFIX}{}", hex::encode(out)))
    }

    /// The secret `stored` holds: opened if sealed, as is if stored by an
    /// older build.
    pub fn open(&self, stored: &str) -> Result<String, String> {
        let Some(body) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_string());
        };
        let bytes = hex::decode(body).map_err(|_| "a sealed secret is hex".to_string())?;
        if bytes.len() < NONCE_LEN {
            return Err("a sealed secret too short".into());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce".to_string())?;
        let mut data = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut data)
            .map_err(|_| "the secret does not open with this cluster key".to_string())?;
        String::from_utf8(plain.to_vec()).map_err(|_| "a secret is text".to_string())
    }
}

/// Whether `stored` is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_seal_and_open_and_only_with_their_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(CLUSTER_KEY_FILE);
        ClusterKey::create(&path).expect("create");
        assert!(ClusterKey::create(&path).is_err(), "made once");
        let key = ClusterKey::load(&path).expect("load");
        let sealed = key.seal("s3cr3t-key").expect("seal");
        assert!(is_sealed(&sealed) && !sealed.contains("s3cr3t"));
        assert_ne!(
            sealed,
            key.seal("s3cr3t-key").expect("seal"),
            "a fresh nonce each time"
        );
        assert_eq!(key.open(&sealed).expect("open"), "s3cr3t-key");
        assert_eq!(key.open("legacy-plain").expect("legacy"), "legacy-plain");
        let other_path = dir.path().join("other.key");
        ClusterKey::create(&other_path).expect("create");
        let other = ClusterKey::load(&other_path).expect("load");
        assert!(other.open(&sealed).is_err());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
