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
use crate::sts::session::{SessionKey, Subject, TokenError};

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
    /// The IAM user the key belongs to; for the account root's key, the name `berth up` gave it.
    pub user_name: String,
    pub created_at: f64,
    /// Keys stored before IAM users existed are the account root's.
    #[serde(default)]
    pub owner: KeyOwner,
    #[serde(default)]
    pub status: KeyStatus,
}

/// Whose key it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyOwner {
    /// The account root: allowed everything.
    #[default]
    Root,
    /// The IAM user named by `user_name`.
    User,
}

/// `Active` keys sign requests; `Inactive` ones are refused as unknown keys are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    #[default]
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The account root: the key `berth up` created, and every request when signatures are not checked.
    Root,
    /// An IAM user, by name, and the access key it signed with (its own, or a session's from GetSessionToken).
    User { name: String, access_key_id: String },
    /// A session of a role (AssumeRole, a task's role): its permissions are the role's, limited by the session
    /// policy when there is one.
    Role {
        name: String,
        session: String,
        policy: Option<String>,
        tags: Vec<(String, String)>,
        access_key_id: String,
        /// A task role's session: the task, whose end ends the session.
        task: Option<String>,
    },
    /// The agent of a container instance, with the session `GetInstanceCredentials` gave it: it may call the agent
    /// operations for that instance and its tasks, and nothing else ([`crate::authz::instance`]).
    Instance { cluster: String, instance_arn: String, access_key_id: String },
}

/// What the cache knows of a key.
#[derive(Debug, Clone)]
struct CachedKey {
    secret: String,
    owner: KeyOwner,
    user_name: String,
    active: bool,
}

impl CachedKey {
    fn of(k: &AccessKey) -> CachedKey {
        CachedKey {
            secret: k.secret_access_key.clone(),
            owner: k.owner,
            user_name: k.user_name.clone(),
            active: k.status == KeyStatus::Active,
        }
    }
}

/// When and where a key last signed a request (`GetAccessKeyLastUsed`); kept in each server's memory.
#[derive(Debug, Clone, PartialEq)]
pub struct LastUsed {
    pub at: f64,
    pub service: String,
    pub region: String,
}

/// The verifier and its cache of keys. The store is the truth: the cache is listed at start and then follows a
/// watch of the keys ([`Auth::follow`]), so keys created or removed by another server replica take effect too.
pub struct Auth {
    mode: AuthMode,
    /// The region signatures must be scoped to.
    region: String,
    secrets: RwLock<HashMap<String, CachedKey>>,
    last_used: RwLock<HashMap<String, LastUsed>>,
    /// Seals and opens session tokens (see `crate::sts::session`).
    sessions: SessionKey,
    /// The store revision the cache reflects.
    revision: std::sync::atomic::AtomicI64,
}

/// Why a request was refused: a signature problem, a valid signature for another region, or an expired session.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Signature(#[from] AuthError),
    #[error("Credential should be scoped to a valid region, not '{got}'. This endpoint serves '{expected}'.")]
    WrongRegion { expected: String, got: String },
    #[error("The security token included in the request is expired")]
    ExpiredToken,
}

/// Where the session key lives in the store.
const SESSION_KEY: &str = "auth/sts-key";

impl Auth {
    /// Loads every access key from the store, and the session key (made on first start).
    pub async fn load(store: &dyn Store, mode: AuthMode, region: &str) -> ApiResult<Self> {
        let auth = Auth {
            mode,
            region: region.to_owned(),
            secrets: RwLock::new(HashMap::new()),
            last_used: RwLock::new(HashMap::new()),
            sessions: session_key(store).await?,
            revision: std::sync::atomic::AtomicI64::new(0),
        };
        auth.relist(store).await?;
        Ok(auth)
    }

    /// The key sealing session tokens.
    pub fn sessions(&self) -> &SessionKey {
        &self.sessions
    }

    /// Checks a request's signature and says who made it: the root, an IAM user (its key or a session of it), or
    /// a role's session. Temporary credentials carry their session token in `x-amz-security-token`.
    pub fn authenticate(&self, request: &SignedRequest<'_>, service: &str, now: f64) -> Result<Caller, VerifyError> {
        if self.mode == AuthMode::Disabled {
            return Ok(Caller::Root);
        }
        let Some(id) = berth_sigv4::access_key_id(request.headers).filter(|id| id.starts_with("ASIA")) else {
            let verified = self.verify(request, service)?;
            return Ok(self.caller(verified.as_ref(), now));
        };
        let invalid = || VerifyError::Signature(AuthError::UnknownAccessKey(id.clone()));
        let token = request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-security-token"))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .ok_or_else(invalid)?;
        let claims = match self.sessions.open(token.trim(), now) {
            Ok(c) if c.access_key_id == id => c,
            Ok(_) | Err(TokenError::Invalid) => return Err(invalid()),
            Err(TokenError::Expired) => return Err(VerifyError::ExpiredToken),
        };
        let secret = self.sessions.secret_for(&id);
        let verified = berth_sigv4::verify(request, service, |k| (k == id).then(|| secret.clone()), SystemTime::now())?;
        if verified.region != self.region {
            return Err(VerifyError::WrongRegion { expected: self.region.clone(), got: verified.region });
        }
        Ok(match claims.subject {
            Subject::Root => Caller::Root,
            Subject::User { name } => Caller::User { name, access_key_id: id },
            Subject::Role { name, session } => Caller::Role {
                name,
                session,
                policy: claims.policy,
                tags: claims.tags,
                access_key_id: id,
                task: claims.task,
            },
            Subject::Instance { cluster, instance } => {
                Caller::Instance { cluster, instance_arn: instance, access_key_id: id }
            }
        })
    }

    /// Replaces the cache with the store's keys.
    async fn relist(&self, store: &dyn Store) -> ApiResult<()> {
        let listed = store.list(keys::ACCESS_KEYS, berth_store::ListOptions::default()).await?;
        let mut secrets = HashMap::new();
        for kv in listed.kvs {
            match serde_json::from_slice::<AccessKey>(&kv.value) {
                Ok(k) => {
                    secrets.insert(k.access_key_id.clone(), CachedKey::of(&k));
                }
                Err(e) => tracing::error!(key = kv.key, error = %e, "unreadable access key record"),
            }
        }
        *self.secrets.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = secrets;
        self.revision.store(listed.revision, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Keeps the cache in step with the store until the task is dropped: applies each watched change, and lists
    /// again when the watch is cut (history compacted, watcher lagged), as a kube-runtime watcher does.
    pub async fn follow(&self, store: &dyn Store) {
        use futures::StreamExt;
        loop {
            let from = self.revision.load(std::sync::atomic::Ordering::Acquire);
            let mut events = match store.watch(keys::ACCESS_KEYS, from).await {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(error = %e, "access key watch failed; listing again");
                    self.relist_after_pause(store).await;
                    continue;
                }
            };
            while let Some(event) = events.next().await {
                match event {
                    Ok(event) => self.apply(event),
                    Err(e) => {
                        tracing::info!(error = %e, "access key watch ended; listing again");
                        break;
                    }
                }
            }
            self.relist_after_pause(store).await;
        }
    }

    async fn relist_after_pause(&self, store: &dyn Store) {
        // A short pause keeps a failing store from turning this loop into a busy one.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if let Err(e) = self.relist(store).await {
            tracing::warn!(error = %e.message, "listing access keys failed");
        }
    }

    fn apply(&self, event: berth_store::WatchEvent) {
        let mut secrets = self.secrets.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let id = event.kv.key.trim_start_matches(keys::ACCESS_KEYS).to_owned();
        match event.kind {
            berth_store::EventKind::Put => match serde_json::from_slice::<AccessKey>(&event.kv.value) {
                Ok(k) => {
                    secrets.insert(k.access_key_id.clone(), CachedKey::of(&k));
                }
                Err(e) => tracing::error!(key = event.kv.key, error = %e, "unreadable access key record"),
            },
            berth_store::EventKind::Delete => {
                secrets.remove(&id);
            }
        }
        self.revision.fetch_max(event.kv.mod_revision, std::sync::atomic::Ordering::AcqRel);
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
        // An inactive key is refused exactly as an unknown one is.
        let lookup = |id: &str| secrets.get(id).filter(|k| k.active).map(|k| k.secret.clone());
        let verified = berth_sigv4::verify(request, service, lookup, SystemTime::now())?;
        if verified.region != self.region {
            return Err(VerifyError::WrongRegion { expected: self.region.clone(), got: verified.region });
        }
        Ok(Some(verified))
    }

    /// Who signed a verified request (the root when signatures are not checked), noting the key's use.
    pub fn caller(&self, verified: Option<&Verified>, now: f64) -> Caller {
        let Some(v) = verified else { return Caller::Root };
        let owner = {
            let secrets = self.secrets.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            secrets.get(&v.access_key_id).map(|k| (k.owner, k.user_name.clone()))
        };
        let used = LastUsed { at: now, service: v.service.clone(), region: v.region.clone() };
        self.last_used.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(v.access_key_id.clone(), used);
        match owner {
            Some((KeyOwner::User, name)) => Caller::User { name, access_key_id: v.access_key_id.clone() },
            _ => Caller::Root,
        }
    }

    /// When the key last signed a request this server saw.
    pub fn last_used(&self, access_key_id: &str) -> Option<LastUsed> {
        self.last_used.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(access_key_id).cloned()
    }

    /// Creates and stores a new access key of the account root (`user_name` names it).
    pub async fn create_key(&self, store: &dyn Store, user_name: &str, now: f64) -> ApiResult<AccessKey> {
        let key = new_key(user_name, KeyOwner::Root, now);
        let store_key = keys::access_key(&key.access_key_id);
        let put = state::put(&store_key, &key)?;
        if !store.txn(vec![Compare::absent(store_key)], vec![put]).await?.succeeded {
            return Err(ApiError::server("access key id collision; try again"));
        }
        self.remember(&key);
        Ok(key)
    }

    /// Drops a deleted key from the cache at once (the watch brings the deletion too, a moment later).
    pub fn forget(&self, access_key_id: &str) {
        self.secrets.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(access_key_id);
    }

    /// Puts a key in the cache at once (the watch brings it too, a moment later).
    pub fn remember(&self, key: &AccessKey) {
        self.secrets
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key.access_key_id.clone(), CachedKey::of(key));
    }
}

/// The session key from the store, made and stored on first use (the first replica to store one wins).
async fn session_key(store: &dyn Store) -> ApiResult<SessionKey> {
    for _ in 0..3 {
        if let Some(kv) = store.get(SESSION_KEY).await? {
            let text = String::from_utf8_lossy(&kv.value);
            return SessionKey::from_hex(&text).ok_or_else(|| ApiError::server("the stored session key is unreadable"));
        }
        let key = SessionKey::generate();
        let put = berth_store::Op::put(SESSION_KEY, key.to_hex().into_bytes());
        if store.txn(vec![Compare::absent(SESSION_KEY)], vec![put]).await?.succeeded {
            return Ok(key);
        }
    }
    Err(ApiError::server("could not read or store the session key"))
}

/// A fresh key (not stored): `AKIA` and 16 characters, and a 40-character secret.
pub fn new_key(user_name: &str, owner: KeyOwner, now: f64) -> AccessKey {
    AccessKey {
        access_key_id: format!("AKIA{}", random_string(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
        secret_access_key: random_string(40, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
        user_name: user_name.to_owned(),
        created_at: now,
        owner,
        status: KeyStatus::Active,
    }
}

/// A random string over `alphabet` from the operating system's generator. The alphabets used have 32 or 64
/// symbols, so taking a byte modulo their size is unbiased.
pub(crate) fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    // Without OS randomness no secure key can be made; failing loudly at key creation beats a weak key.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator is unavailable");
    bytes.iter().map(|b| alphabet[*b as usize % alphabet.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_cache_follows_keys_written_elsewhere() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::new(berth_store::SqliteStore::open(&dir.path().join("s.db")).expect("open"));
        let auth = std::sync::Arc::new(Auth::load(store.as_ref(), AuthMode::SigV4, "us-east-1").await.expect("load"));
        let follower = {
            let (auth, store) = (auth.clone(), store.clone());
            tokio::spawn(async move { auth.follow(store.as_ref()).await })
        };
        // Another replica adds a key straight in the store.
        let other = Auth::load(store.as_ref(), AuthMode::SigV4, "us-east-1").await.expect("load");
        let key = other.create_key(store.as_ref(), "ops", 0.0).await.expect("create");
        let has = |auth: &Auth, id: &str| auth.secrets.read().expect("lock").contains_key(id);
        for _ in 0..200 {
            if has(&auth, &key.access_key_id) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(has(&auth, &key.access_key_id), "the watch delivered the new key");
        // ... and removes it.
        store.txn(vec![], vec![berth_store::Op::delete(keys::access_key(&key.access_key_id))]).await.expect("delete");
        for _ in 0..200 {
            if !has(&auth, &key.access_key_id) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!has(&auth, &key.access_key_id), "the watch delivered the removal");
        follower.abort();
    }

    #[test]
    fn random_strings_use_the_alphabet() {
        let s = random_string(40, b"ab");
        assert_eq!(s.len(), 40);
        assert!(s.chars().all(|c| c == 'a' || c == 'b'));
        assert_ne!(random_string(40, b"0123456789abcdef"), random_string(40, b"0123456789abcdef"));
    }
}
