//! The issuer's signing keys: a key ring in the store (`oidc/keyring`), shared by every server replica.
//!
//! Each key is an RSA 2048-bit key pair (RS256 is what AWS IAM, MinIO and Ceph RGW all accept). The public half is
//! kept in the clear (it is published in the JWKS); the private half is PKCS#8 sealed with the server's secrets key
//! ([`crate::sealing`], bound to the key's id), so the store and its backups hold no usable private key. Every
//! replica that signs tokens needs the same secrets key file; verifying needs only the public halves.
//!
//! A key's id (`kid`) is its RFC 7638 JWK thumbprint. Rotation is decided from the keys' creation times alone
//! ([`KeyRing::plan`]), so every replica reads the same answer from the same ring:
//! - The signing key is the newest key published for at least [`PUBLISH_DELAY`] (verifiers that cache the JWKS see
//!   a key before any token it signed); a ring of fresh keys only (first start) signs with its oldest.
//! - The rotation controller ([`run`], on the leader only) adds a key when the newest is older than the rotation
//!   period, and drops a key once a newer key has been signing for longer than a token lives (plus the clock skew
//!   verifiers allow): every token the old key signed has expired by then.
//! - The first key is made at startup when the ring is empty ([`ensure`]); whichever replica commits first wins.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use berth_store::Compare;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::Api;
use crate::error::{ApiError, ApiResult};
use crate::sealing::Sealer;
use crate::state;

/// The store key of the key ring.
pub const KEY: &str = "oidc/keyring";

/// The store key whose holder runs the rotation controller.
const LEADER_KEY: &str = "leader/oidc-keys";

/// How long a new key is published before it signs, in seconds: longer than verifiers usually cache a JWKS (the
/// JWKS response says `max-age` of the same).
pub const PUBLISH_DELAY: f64 = 300.0;

/// One signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredKey {
    /// The RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// When the key was made, in seconds since the epoch.
    pub created: i64,
    /// The modulus, base64url (as in the JWK).
    pub n: String,
    /// The public exponent, base64url.
    pub e: String,
    /// The PKCS#8 private key sealed with the server's secrets key (context [`seal_context`]).
    pub private: String,
}

impl StoredKey {
    /// The key as a JWK (RFC 7517) for the JWKS.
    pub fn jwk(&self) -> Value {
        json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e })
    }

    /// The modulus and exponent, big-endian.
    pub fn components(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        Some((URL_SAFE_NO_PAD.decode(&self.n).ok()?, URL_SAFE_NO_PAD.decode(&self.e).ok()?))
    }
}

/// What a key's private half is bound to when sealed.
pub fn seal_context(kid: &str) -> String {
    format!("oidc-signing-key:{kid}")
}

/// The issuer's keys, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRing {
    pub keys: Vec<StoredKey>,
}

/// What a rotation pass does to the ring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// A new key is due.
    pub add: bool,
    /// Keys whose every token has expired.
    pub drop: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        !self.add && self.drop.is_empty()
    }
}

impl KeyRing {
    /// The key that signs at `now` (seconds since the epoch): the newest one published for [`PUBLISH_DELAY`], or,
    /// when every key is newer than that (a fresh ring), the oldest.
    pub fn signing_key(&self, now: f64) -> Option<&StoredKey> {
        self.keys
            .iter()
            .filter(|k| k.created as f64 + PUBLISH_DELAY <= now)
            .max_by_key(|k| k.created)
            .or_else(|| self.keys.iter().min_by_key(|k| k.created))
    }

    pub fn get(&self, kid: &str) -> Option<&StoredKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The rotation due at `now`: a new key when there is none or the newest is `rotation` old; the keys that a
    /// newer key replaced longer than `token_lifetime` plus `skew` ago (every token they signed has expired).
    pub fn plan(&self, now: f64, rotation: Duration, token_lifetime: i64, skew: i64) -> Plan {
        let newest = self.keys.iter().map(|k| k.created).max();
        let add = newest.is_none_or(|created| now - created as f64 >= rotation.as_secs_f64());
        let drop = self
            .keys
            .iter()
            .filter(|old| {
                self.keys.iter().any(|newer| {
                    newer.created > old.created
                        && newer.created as f64 + PUBLISH_DELAY + (token_lifetime + skew) as f64 <= now
                })
            })
            .map(|k| k.kid.clone())
            .collect();
        Plan { add, drop }
    }

    /// The JWKS document (RFC 7517): every key in the ring, newest first.
    pub fn jwks(&self) -> Value {
        let mut keys: Vec<&StoredKey> = self.keys.iter().collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.created));
        json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
    }
}

/// The RFC 7638 thumbprint of an RSA public key given as base64url `n` and `e`.
pub fn thumbprint(n: &str, e: &str) -> String {
    // The required members in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A fresh key made at `now`, its private half sealed with `sealer`.
pub fn generate(sealer: &Sealer, now: f64) -> ApiResult<StoredKey> {
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| ApiError::server("could not generate an RSA key for the OIDC issuer"))?;
    let pkcs8 = pair.as_der().map_err(|_| ApiError::server("could not encode the OIDC issuer's RSA key"))?;
    let public = pair.public_key();
    let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
    let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
    let kid = thumbprint(&n, &e);
    let private = sealer.seal(pkcs8.as_ref(), &seal_context(&kid));
    Ok(StoredKey { kid, created: now.floor() as i64, n, e, private })
}

/// Opens a key's private half.
pub fn open(sealer: &Sealer, key: &StoredKey) -> ApiResult<KeyPair> {
    let pkcs8 = sealer.open(&key.private, &seal_context(&key.kid)).map_err(|_| {
        ApiError::server(format!(
            "the OIDC signing key {} cannot be opened with this server's secrets key (every server replica needs the \
             same secrets.key file)",
            key.kid
        ))
    })?;
    KeyPair::from_pkcs8(&pkcs8)
        .map_err(|_| ApiError::server(format!("the OIDC signing key {} is not a valid RSA key", key.kid)))
}

/// The stored ring (empty when there is none yet).
pub async fn load(api: &Api) -> ApiResult<KeyRing> {
    Ok(state::get::<KeyRing>(api.store.as_ref(), KEY).await?.map(|v| v.value).unwrap_or_default())
}

/// The ring, with a first key made when it has none.
pub async fn ensure(api: &Api) -> ApiResult<KeyRing> {
    let ring = load(api).await?;
    if !ring.keys.is_empty() {
        return Ok(ring);
    }
    rotate(api, api.now()).await?;
    load(api).await
}

/// One rotation pass at `now`: applies [`KeyRing::plan`] with a compare on the ring, so concurrent passes (a
/// replica's startup, a leader change) never lose a key. Returns what was done.
pub async fn rotate(api: &Api, now: f64) -> ApiResult<Plan> {
    let store = api.store.as_ref();
    let (rotation, lifetime, skew) = (api.oidc.rotation, super::TOKEN_SECONDS, super::CLOCK_SKEW_SECONDS);
    // Made at most once per pass: generating an RSA key takes a while.
    let fresh: std::sync::Mutex<Option<StoredKey>> = std::sync::Mutex::new(None);
    let fresh = &fresh;
    state::commit(store, || async move {
        let current = state::get::<KeyRing>(store, KEY).await?;
        let mut ring = current.as_ref().map(|v| v.value.clone()).unwrap_or_default();
        let plan = ring.plan(now, rotation, lifetime, skew);
        if plan.is_empty() {
            return Ok((vec![], vec![], plan));
        }
        ring.keys.retain(|k| !plan.drop.contains(&k.kid));
        if plan.add {
            let made = fresh.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
            let key = match made {
                Some(k) => k,
                None => {
                    let k = generate(&api.sealer, now)?;
                    *fresh.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(k.clone());
                    k
                }
            };
            ring.keys.push(key);
        }
        ring.keys.sort_by_key(|k| k.created);
        let compare = match &current {
            Some(v) => v.unchanged(),
            None => Compare::absent(KEY),
        };
        Ok((vec![compare], vec![state::put(KEY, &ring)?], plan))
    })
    .await
    .inspect(|plan| {
        if plan.add {
            tracing::info!("OIDC issuer: new signing key added");
        }
        if !plan.drop.is_empty() {
            tracing::info!(dropped = ?plan.drop, "OIDC issuer: retired signing keys dropped");
        }
    })
}

/// The rotation controller: on the leader only, a pass every tick (a tenth of the rotation period, between a second
/// and a minute), until aborted.
pub async fn run(api: Arc<Api>) {
    let store = api.store.clone();
    let tick = (api.oidc.rotation / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
    crate::leader::run_as_leader(store, LEADER_KEY, || {
        let api = api.clone();
        async move {
            loop {
                let started = std::time::Instant::now();
                if let Err(e) = rotate(&api, api.now()).await {
                    tracing::warn!(error = %e.message, "OIDC key rotation pass failed");
                }
                api.metrics.observe_controller("oidc-keys", started.elapsed());
                tokio::time::sleep(tick).await;
            }
        }
    })
    .await;
}

/// Parsed private keys by kid, so that signing does not open and parse the key on every token.
#[derive(Default)]
pub struct KeyCache {
    keys: std::sync::Mutex<std::collections::HashMap<String, Arc<KeyPair>>>,
}

impl KeyCache {
    pub fn get_or_open(&self, sealer: &Sealer, key: &StoredKey) -> ApiResult<Arc<KeyPair>> {
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(pair) = keys.get(&key.kid) {
            return Ok(pair.clone());
        }
        let pair = Arc::new(open(sealer, key)?);
        // A handful of keys live at a time; forget retired ones now and then.
        if keys.len() >= 8 {
            keys.clear();
        }
        keys.insert(key.kid.clone(), pair.clone());
        Ok(pair)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, created: i64) -> StoredKey {
        StoredKey { kid: kid.into(), created, n: String::new(), e: String::new(), private: String::new() }
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn thumbprint_matches_rfc_7638() {
        // The example of RFC 7638 section 3.1.
        let n = concat!(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjB",
            "ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8",
            "KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_",
            "xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        );
        assert_eq!(thumbprint(n, "AQAB"), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn generated_keys_seal_their_private_half_and_sign() {
        let sealer = Sealer::ephemeral();
        let k = generate(&sealer, 1_000.5).unwrap();
        assert_eq!(k.created, 1_000);
        assert_eq!(k.e, "AQAB");
        let (n, _) = k.components().unwrap();
        assert_eq!(n.len(), 256, "2048 bits");
        assert_eq!(k.kid, thumbprint(&k.n, &k.e));
        assert!(open(&sealer, &k).is_ok());
        assert!(open(&Sealer::ephemeral(), &k).is_err(), "another server's secrets key cannot open it");
        let mut other = k.clone();
        other.kid = "another".into();
        assert!(open(&sealer, &other).is_err(), "sealed for its own kid");
        let jwk = k.jwk();
        assert_eq!(
            (jwk["kty"].as_str(), jwk["alg"].as_str(), jwk["use"].as_str()),
            (Some("RSA"), Some("RS256"), Some("sig"))
        );
        assert!(jwk.get("private").is_none() && jwk.get("d").is_none());
    }

    #[test]
    fn the_newest_published_key_signs() {
        let ring = KeyRing { keys: vec![key("a", 1_000), key("b", 90_000)] };
        assert_eq!(ring.signing_key(90_000.0).unwrap().kid, "a", "b is not published long enough");
        assert_eq!(ring.signing_key(90_299.0).unwrap().kid, "a");
        assert_eq!(ring.signing_key(90_300.0).unwrap().kid, "b");
        let fresh = KeyRing { keys: vec![key("x", 500)] };
        assert_eq!(fresh.signing_key(500.0).unwrap().kid, "x", "a fresh ring signs with what it has");
        assert!(KeyRing::default().signing_key(0.0).is_none());
    }

    #[test]
    fn rotation_adds_keys_by_age_and_drops_them_once_their_tokens_expired() {
        let empty = KeyRing::default();
        assert_eq!(empty.plan(0.0, DAY, 3600, 60), Plan { add: true, drop: vec![] });
        let one = KeyRing { keys: vec![key("a", 0)] };
        assert!(one.plan(86_399.0, DAY, 3600, 60).is_empty());
        assert_eq!(one.plan(86_400.0, DAY, 3600, 60), Plan { add: true, drop: vec![] });
        let two = KeyRing { keys: vec![key("a", 0), key("b", 86_400)] };
        // b signs from 86_700; a's last tokens expire an hour (and the skew) later.
        let last = 86_400.0 + PUBLISH_DELAY + 3600.0 + 60.0;
        assert!(two.plan(last - 1.0, DAY, 3600, 60).is_empty());
        assert_eq!(two.plan(last, DAY, 3600, 60), Plan { add: false, drop: vec!["a".into()] });
        // Never the signing key, and never a key without a newer one.
        let plan = two.plan(1_000_000.0, DAY, 3600, 60);
        assert!(plan.add && plan.drop == vec!["a".to_owned()]);
        assert_eq!(two.jwks()["keys"][0]["kid"], "b", "newest first");
    }
}
