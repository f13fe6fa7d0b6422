//! Secret values at rest: Secrets Manager secrets and SSM SecureString parameters are sealed with AES-256-GCM
//! (aws-lc-rs) under a key kept apart from the store, so the store (and its backups) holds only ciphertext.
//!
//! The key is 32 random bytes, hex, in a file of its own (`<data dir>/secrets.key`, mode 0600), made on first start.
//! Every server replica sealing or opening secrets needs the same file. Each sealed value is bound to what it is
//! (its associated data names the secret and version), so a ciphertext copied to another record does not open.
//!
//! Limits: one key, no rotation yet (the sealed form carries a version byte for when there is).

use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Why a value could not be sealed or opened, or the key not loaded.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the secrets key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("a sealed value could not be opened (another key, or damaged)")]
    Open,
}

/// The first byte of every sealed value: the format (AES-256-GCM, 12-byte random nonce).
const FORMAT: u8 = 1;

pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer with a key that lives only as long as the process (tests, and servers started without a data
    /// directory): what it seals cannot be opened after a restart.
    pub fn ephemeral() -> Sealer {
        Sealer::from_bytes(&random_key())
    }

    /// The key in `path`, made (mode 0600) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Sealer, SealError> {
        let fail = |message: String| SealError::KeyFile { path: path.display().to_string(), message };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).map_err(|_| fail("is not 64 hex digits".into()))?;
                let key: [u8; 32] = bytes.try_into().map_err(|_| fail("is not 64 hex digits".into()))?;
                warn_if_readable_by_others(path);
                Ok(Sealer::from_bytes(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_key();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(|e| fail(e.to_string()))?;
                file.write_all(hex::encode(key).as_bytes()).map_err(|e| fail(e.to_string()))?;
                file.sync_all().map_err(|e| fail(e.to_string()))?;
                Ok(Sealer::from_bytes(&key))
            }
            Err(e) => Err(fail(e.to_string())),
        }
    }

    fn from_bytes(key: &[u8; 32]) -> Sealer {
        // A 32-byte key is always a valid AES-256 key.
        let unbound = UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte AES-256 key");
        Sealer { key: LessSafeKey::new(unbound) }
    }

    /// Seals `plaintext`, bound to `context` (what the value is: e.g. the secret's ARN and version id).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        // Without OS randomness no safe nonce can be made; failing loudly beats reusing one.
        getrandom::fill(&mut nonce).expect("the operating system's random number generator is unavailable");
        let mut buffer = plaintext.to_vec();
        // Sealing in place with a fresh nonce cannot fail for inputs below AES-GCM's 64 GiB limit.
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut buffer)
            .expect("AES-GCM sealing");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buffer.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buffer);
        STANDARD.encode(out)
    }

    /// Opens what [`Sealer::seal`] sealed with the same key and context.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SealError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError::Open)?;
        let (&format, rest) = bytes.split_first().ok_or(SealError::Open)?;
        if format != FORMAT || rest.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut buffer = ciphertext.to_vec();
        let plain =
            self.key.open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer).map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random number generator is unavailable");
    key
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the secrets key file is readable by others; make it mode 0600");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_open_only_with_their_key_and_context() {
        let sealer = Sealer::ephemeral();
        let sealed = sealer.seal(b"hf_token_123", "secret:a:v1");
        assert!(!sealed.contains("hf_token_123"));
        assert_eq!(sealer.open(&sealed, "secret:a:v1").unwrap(), b"hf_token_123");
        assert!(sealer.open(&sealed, "secret:b:v1").is_err(), "bound to its context");
        assert!(Sealer::ephemeral().open(&sealed, "secret:a:v1").is_err(), "and to its key");
        assert_ne!(sealer.seal(b"x", "c"), sealer.seal(b"x", "c"), "a fresh nonce each time");
        assert!(sealer.open("not base64!", "c").is_err());
    }

    #[test]
    fn the_key_file_is_made_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        let first = Sealer::load_or_create(&path).unwrap();
        let sealed = first.seal(b"v", "c");
        let again = Sealer::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed, "c").unwrap(), b"v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(Sealer::load_or_create(&path).is_err());
    }
}
