//! Who may call the API: access keys kept in the store, SigV4 verification of each request, and the admin key
//! `berth up` creates on first start.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::SystemTime;

use berth_sigv4::{AuthError, SignedRequest, Verified};
use berth_store::{Compare, Store};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::state::{self, keys};

/// Whether requests must be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every request carries a valid SigV4 signature from a known access key.
    SigV4,
    /// No checks at all (`--auth none`), for trusted single-user setups.
    Disabled,
}

/// An access key as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub user_name: String,
    pub created_at: f64,
}

/// The verifier and its cache of keys (the store is the truth; keys are read once at start and added as created).
pub struct Auth {
    mode: AuthMode,
    /// The region signatures must be scoped to.
    region: String,
    secrets: RwLock<HashMap<String, String>>,
}

/// Why a request was refused: a signature problem, or a valid signature for another region.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Signature(#[from] AuthError),
    #[error("Credential should be scoped to a valid region, not '{got}'. This endpoint serves '{expected}'.")]
    WrongRegion { expected: String, got: String },
}

impl Auth {
    /// Loads every access key from the store.
    pub async fn load(store: &dyn Store, mode: AuthMode, region: &str) -> ApiResult<Self> {
        let keys = state::list::<AccessKey>(store, keys::ACCESS_KEYS).await?;
        let secrets = keys.into_iter().map(|k| (k.value.access_key_id, k.value.secret_access_key)).collect();
        Ok(Auth { mode, region: region.to_owned(), secrets: RwLock::new(secrets) })
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Number of access keys known.
    pub fn key_count(&self) -> usize {
        self.secrets.read().map(|s| s.len()).unwrap_or(0)
    }

    /// Checks a request's signature for `service` in this server's region. With auth disabled every request
    /// passes.
    pub fn verify(&self, request: &SignedRequest<'_>, service: &str) -> Result<Option<Verified>, VerifyError> {
        if self.mode == AuthMode::Disabled {
            return Ok(None);
        }
        let secrets = self.secrets.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let verified = berth_sigv4::verify(request, service, |id| secrets.get(id).cloned(), SystemTime::now())?;
        if verified.region != self.region {
            return Err(VerifyError::WrongRegion { expected: self.region.clone(), got: verified.region });
        }
        Ok(Some(verified))
    }

    /// Creates and stores a new access key for `user_name`.
    pub async fn create_key(&self, store: &dyn Store, user_name: &str, now: f64) -> ApiResult<AccessKey> {
        let key = AccessKey {
            access_key_id: format!("AKIA{}", random_string(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
            secret_access_key: random_string(40, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
            user_name: user_name.to_owned(),
            created_at: now,
        };
        let store_key = keys::access_key(&key.access_key_id);
        let put = state::put(&store_key, &key)?;
        if !store.txn(vec![Compare::absent(store_key)], vec![put]).await?.succeeded {
            return Err(ApiError::server("access key id collision; try again"));
        }
        self.secrets
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key.access_key_id.clone(), key.secret_access_key.clone());
        Ok(key)
    }
}

/// A random string over `alphabet` from the operating system's generator. The alphabets used have 32 or 64
/// symbols, so taking a byte modulo their size is unbiased.
fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    // Without OS randomness no secure key can be made; failing loudly at key creation beats a weak key.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator is unavailable");
    bytes.iter().map(|b| alphabet[*b as usize % alphabet.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_strings_use_the_alphabet() {
        let s = random_string(40, b"ab");
        assert_eq!(s.len(), 40);
        assert!(s.chars().all(|c| c == 'a' || c == 'b'));
        assert_ne!(random_string(40, b"0123456789abcdef"), random_string(40, b"0123456789abcdef"));
    }
}
