//! Key material on disk: private keys are written `0600` (created so, never
//! briefly more open), certificates `0644`, directories holding them `0700`,
//! each durably (a temp file, fsync, rename, fsync of the directory); and
//! the PEM readers for what a config names.

use super::TlsError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of private key files.
pub const KEY_FILE_MODE: u32 = 0o600;
/// Mode of certificate files.
pub const CERT_FILE_MODE: u32 = 0o644;
/// Mode of directories holding key material.
pub const KEY_DIR_MODE: u32 = 0o700;

fn write_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let io = |e| TlsError::Io(path.to_path_buf(), e);
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    // The rename is durable once the directory is.
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| TlsError::Io(dir.to_path_buf(), e))
}

/// Writes a private key, or any secret (`0600`).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    write_mode(path, bytes, KEY_FILE_MODE)
}

/// Writes a certificate (`0644`).
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    write_mode(path, bytes, CERT_FILE_MODE)
}

/// Creates `dir` `0700` (or narrows an existing one to it).
pub fn private_dir(dir: &Path) -> Result<(), TlsError> {
    let io = |e| TlsError::Io(dir.to_path_buf(), e);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(KEY_DIR_MODE)
        .create(dir)
        .map_err(io)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(KEY_DIR_MODE)).map_err(io)
}

/// Every certificate in the PEM file at `path` (at least one).
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Pem(path.to_path_buf(), e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Pem(path.to_path_buf(), "no certificate".into()));
    }
    Ok(certs)
}

/// The private key in the PEM file at `path`.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Pem(path.to_path_buf(), e.to_string()))
}
