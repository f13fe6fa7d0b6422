//! Temporary credentials: what STS hands out (AssumeRole, GetSessionToken) and Berth verifies on every request
//! signed with them. Nothing about a session is stored: the session token carries its claims (whose session it is,
//! when it expires, its session policy and tags) under an HMAC of the server's session key, and the secret access
//! key is an HMAC of the access key id under that key, so any server replica holding the key checks a session
//! without a store read. The key is kept in the store (`auth/sts-key`), shared by the replicas.
//!
//! Token: `BERTH1.<base64url(claims JSON)>.<base64url(HMAC-SHA256(key, "token:" + claims part))>`. Access key ids
//! of sessions start with `ASIA`, as AWS's do.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Whose session it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Subject {
    /// GetSessionToken by the account root.
    Root,
    /// GetSessionToken by an IAM user.
    User { name: String },
    /// AssumeRole: the role and the session's name.
    Role { name: String, session: String },
    /// A container instance's agent (`GetInstanceCredentials`): only the agent operations of that instance.
    Instance { cluster: String, instance: String },
}

/// What a session token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "k")]
    pub access_key_id: String,
    /// Seconds since the epoch.
    #[serde(rename = "e")]
    pub expires: i64,
    #[serde(rename = "s")]
    pub subject: Subject,
    /// The session policy AssumeRole was given (its permissions are those of the role and of this policy).
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Session tags (`aws:PrincipalTag/*` of the session).
    #[serde(rename = "t", default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    /// A task's role session: the task's ARN. The session ends when the task stops.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("The security token included in the request is invalid.")]
    Invalid,
    #[error("The security token included in the request is expired")]
    Expired,
}

const PREFIX: &str = "BERTH1.";

/// The server's session key.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    pub fn new(bytes: [u8; 32]) -> SessionKey {
        SessionKey(bytes)
    }

    /// A fresh random key.
    pub fn generate() -> SessionKey {
        let mut bytes = [0u8; 32];
        // Without OS randomness no safe key can be made; failing loudly beats a guessable one.
        getrandom::fill(&mut bytes).expect("the operating system's random number generator is unavailable");
        SessionKey(bytes)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<SessionKey> {
        hex::decode(text.trim()).ok()?.try_into().ok().map(SessionKey)
    }

    /// The secret access key of a session's access key id.
    pub fn secret_for(&self, access_key_id: &str) -> String {
        let mac = hmac_sha256(&self.0, format!("secret:{access_key_id}").as_bytes());
        STANDARD.encode(mac)[..40].to_owned()
    }

    /// A session's token.
    pub fn seal(&self, claims: &Claims) -> String {
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let mac = hmac_sha256(&self.0, format!("token:{payload}").as_bytes());
        format!("{PREFIX}{payload}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// The claims of a token sealed with this key, if it has not expired at `now` (seconds since the epoch).
    pub fn open(&self, token: &str, now: f64) -> Result<Claims, TokenError> {
        let rest = token.strip_prefix(PREFIX).ok_or(TokenError::Invalid)?;
        let (payload, mac) = rest.split_once('.').ok_or(TokenError::Invalid)?;
        let given = URL_SAFE_NO_PAD.decode(mac).map_err(|_| TokenError::Invalid)?;
        let expected = hmac_sha256(&self.0, format!("token:{payload}").as_bytes());
        if !constant_time_eq(&given, &expected) {
            return Err(TokenError::Invalid);
        }
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Invalid)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Invalid)?;
        if (claims.expires as f64) <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// A session's access key id: `ASIA` and 16 characters.
pub fn new_access_key_id() -> String {
    format!("ASIA{}", crate::auth::random_string(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
}

/// HMAC-SHA256 (RFC 2104) over the workspace's SHA-256.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires: i64) -> Claims {
        Claims {
            access_key_id: "ASIAEXAMPLE0000000".into(),
            expires,
            subject: Subject::Role { name: "trainer".into(), session: "task-1".into() },
            policy: None,
            tags: vec![("team".into(), "ml".into())],
            task: Some("arn:aws:ecs:us-east-1:123456789012:task/default/t1".into()),
        }
    }

    #[test]
    fn tokens_open_only_under_their_key_and_before_expiry() {
        let key = SessionKey::generate();
        let token = key.seal(&claims(2_000));
        assert_eq!(key.open(&token, 1_000.0), Ok(claims(2_000)));
        assert_eq!(key.open(&token, 2_000.0), Err(TokenError::Expired));
        assert_eq!(SessionKey::generate().open(&token, 1_000.0), Err(TokenError::Invalid));
        // Any change to the claims breaks the seal.
        let (head, mac) = token.rsplit_once('.').unwrap();
        let forged = format!("{}.{mac}", head.replace('A', "B"));
        assert_eq!(key.open(&forged, 1_000.0), Err(TokenError::Invalid));
        assert_eq!(key.open("garbage", 1_000.0), Err(TokenError::Invalid));
        assert_eq!(SessionKey::from_hex(&key.to_hex()).map(|k| k.secret_for("a")), Some(key.secret_for("a")));
        assert_eq!(key.secret_for("ASIAX").len(), 40);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
