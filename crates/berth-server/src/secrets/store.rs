//! Where secrets live in the store and how their values are sealed.
//!
//! - `secrets/<name>`: the [`SecretRecord`] (metadata, tags, lifecycle, versions and their labels; no value).
//! - `secret-values/<escaped name>/<version id>`: one [`StoredValue`] per version, the value sealed with
//!   `api.sealer` and bound to the secret's ARN and the version id (a ciphertext copied to another secret or
//!   version does not open). The name is escaped (`%` and `/` as `%25` and `%2F`) so that no secret's prefix
//!   covers another's values (`a` and `a/b`).
//!
//! A secret whose recovery window has passed is gone: lookups treat it as absent and remove it on the way
//! ([`purge`]); the reaper removes the ones nobody looks up ([`purge_expired`]).

use berth_store::{Compare, Op};
use serde::{Deserialize, Serialize};

use super::record::{SecretRecord, ValueKind};
use super::validate;
use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::{self, Versioned};

/// The prefix of the secret records.
pub const SECRETS: &str = "secrets/";

pub fn secret_key(name: &str) -> String {
    format!("{SECRETS}{name}")
}

fn values_of(name: &str) -> String {
    format!("secret-values/{}/", name.replace('%', "%25").replace('/', "%2F"))
}

pub fn value_key(name: &str, version_id: &str) -> String {
    format!("{}{version_id}", values_of(name))
}

/// One version's value as stored: sealed, never in clear.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredValue {
    pub sealed: String,
}

/// What a sealed value is bound to.
fn context(arn: &str, version_id: &str) -> String {
    format!("secretsmanager:{arn}:{version_id}")
}

/// The put of a new version's value, sealed.
pub fn put_value(api: &Api, secret: &SecretRecord, version_id: &str, plaintext: &[u8]) -> ApiResult<(Compare, Op)> {
    let key = value_key(&secret.name, version_id);
    let stored = StoredValue { sealed: api.sealer.seal(plaintext, &context(&secret.arn, version_id)) };
    Ok((Compare::absent(key.clone()), state::put(key, &stored)?))
}

/// The plaintext of a version.
pub async fn open_value(api: &Api, secret: &SecretRecord, version_id: &str) -> ApiResult<Vec<u8>> {
    let key = value_key(&secret.name, version_id);
    let Some(stored) = state::get::<StoredValue>(api.store.as_ref(), &key).await? else {
        return Err(ApiError::new(
            ErrorCode::ResourceNotFoundException,
            format!("Secrets Manager can't find the specified secret value for VersionId: {version_id}"),
        ));
    };
    api.sealer.open(&stored.value.sealed, &context(&secret.arn, version_id)).map_err(|_| {
        ApiError::new(
            ErrorCode::Service("DecryptionFailure"),
            format!(
                "The value of version {version_id} of {} could not be opened: it was sealed with another key \
                 (the server's secrets.key file changed?) or is damaged.",
                secret.name
            ),
        )
    })
}

/// A version's value as GetSecretValue returns it: `SecretString` or `SecretBinary` (base64).
pub fn value_member(kind: ValueKind, plaintext: Vec<u8>) -> (&'static str, String) {
    use base64::Engine;
    match kind {
        ValueKind::String => ("SecretString", String::from_utf8_lossy(&plaintext).into_owned()),
        ValueKind::Binary => ("SecretBinary", base64::engine::general_purpose::STANDARD.encode(plaintext)),
    }
}

/// The ops deleting the values of `version_ids`.
pub fn delete_values(name: &str, version_ids: &[String]) -> Vec<Op> {
    version_ids.iter().map(|id| Op::delete(value_key(name, id))).collect()
}

/// The secret named `name`, if it exists and its recovery window has not passed (an expired one is purged).
pub async fn by_name(api: &Api, name: &str) -> ApiResult<Option<Versioned<SecretRecord>>> {
    match state::get::<SecretRecord>(api.store.as_ref(), &secret_key(name)).await? {
        Some(s) if s.value.is_expired(api.now()) => {
            purge(api, &s).await?;
            Ok(None)
        }
        other => Ok(other),
    }
}

/// The secret a `SecretId` (name, full ARN or partial ARN) names, if any.
pub async fn find(api: &Api, secret_id: &str) -> ApiResult<Option<Versioned<SecretRecord>>> {
    for candidate in validate::candidates(&api.scope, &validate::secret_id(secret_id)?) {
        if let Some(s) = by_name(api, &candidate.name).await?
            && candidate.arn.as_deref().is_none_or(|arn| arn == s.value.arn)
        {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// The secret a `SecretId` names, or `ResourceNotFoundException` as Secrets Manager words it.
pub async fn load(api: &Api, secret_id: &str) -> ApiResult<Versioned<SecretRecord>> {
    find(api, secret_id).await?.ok_or_else(not_found)
}

pub fn not_found() -> ApiError {
    ApiError::new(ErrorCode::ResourceNotFoundException, "Secrets Manager can't find the specified secret.")
}

/// The ops removing a secret and all its values, with the compare that it is unchanged.
pub async fn removal(api: &Api, secret: &Versioned<SecretRecord>) -> ApiResult<(Vec<Compare>, Vec<Op>)> {
    let values = api.store.list(&values_of(&secret.value.name), Default::default()).await?;
    let mut ops = vec![Op::delete(secret.key.clone())];
    ops.extend(values.kvs.into_iter().map(|kv| Op::delete(kv.key)));
    Ok((vec![secret.unchanged()], ops))
}

/// Removes a secret and its values unless it changed meanwhile; whether it did.
pub async fn purge(api: &Api, secret: &Versioned<SecretRecord>) -> ApiResult<bool> {
    let (compares, ops) = removal(api, secret).await?;
    Ok(api.store.txn(compares, ops).await?.succeeded)
}

/// Removes every secret whose recovery window has passed; how many. Run by the reaper.
pub async fn purge_expired(api: &Api) -> ApiResult<usize> {
    let now = api.now();
    let mut purged = 0;
    for s in state::list::<SecretRecord>(api.store.as_ref(), SECRETS).await? {
        if s.value.is_expired(now) && purge(api, &s).await? {
            purged += 1;
        }
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_keys_of_one_secret_never_cover_another() {
        assert_eq!(value_key("a/b", "v1"), "secret-values/a%2Fb/v1");
        assert!(!value_key("a/b", "v1").starts_with(&values_of("a")));
        assert_eq!(secret_key("prod/db"), "secrets/prod/db");
    }

    #[test]
    fn values_are_bound_to_their_secret_and_version() {
        let sealer = crate::sealing::Sealer::ephemeral();
        let sealed = sealer.seal(b"pw", &context("arn:1", "v1"));
        assert!(sealer.open(&sealed, &context("arn:1", "v1")).is_ok());
        assert!(sealer.open(&sealed, &context("arn:1", "v2")).is_err());
        assert!(sealer.open(&sealed, &context("arn:2", "v1")).is_err());
    }

    #[test]
    fn members_by_kind() {
        assert_eq!(value_member(ValueKind::String, b"x".to_vec()), ("SecretString", "x".to_owned()));
        assert_eq!(value_member(ValueKind::Binary, vec![0, 255]), ("SecretBinary", "AP8=".to_owned()));
    }
}
