//! Where parameters live in the store, and how SecureString values are sealed.
//!
//! - `ssm/parameters/<key>`: the [`ParameterRecord`] (key: the name, one-level names without their leading `/`).
//! - `ssm/versions/<escaped key>/<version, 20 digits>`: each [`VersionRecord`]; the key is escaped (`%` and `/`
//!   as `%25` and `%2F`) so that no parameter's prefix covers another's versions.
//!
//! SecureString values are sealed with `api.sealer`, bound to the parameter's key and the version number; without
//! `WithDecryption` the sealed text itself is returned (Parameter Store returns its ciphertext too).

use berth_store::{Compare, ListOptions, Op};

use super::names::{self, Name};
use super::record::{ParameterRecord, ParameterType, VersionData, VersionRecord};
use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::{self, Versioned};

/// The prefix of the parameter records.
pub const PARAMETERS: &str = "ssm/parameters/";

pub fn parameter_key(key: &str) -> String {
    format!("{PARAMETERS}{key}")
}

pub fn versions_of(key: &str) -> String {
    format!("ssm/versions/{}/", key.replace('%', "%25").replace('/', "%2F"))
}

pub fn version_key(key: &str, version: u64) -> String {
    format!("{}{version:020}", versions_of(key))
}

/// The parameter key a record key (`ssm/parameters/<key>`) holds.
pub fn key_of_record(record_key: &str) -> &str {
    record_key.strip_prefix(PARAMETERS).unwrap_or(record_key)
}

fn context(key: &str, version: u64) -> String {
    format!("ssm:{key}:{version}")
}

/// Seals the value of a SecureString version (others stay as they are).
pub fn seal(api: &Api, key: &str, data: &mut VersionData) {
    if data.kind == ParameterType::SecureString {
        data.value = api.sealer.seal(data.value.as_bytes(), &context(key, data.version));
    }
}

/// A version's value as reads return it: in clear, or for a SecureString without `decrypt` its sealed text.
pub fn value(api: &Api, key: &str, data: &VersionData, decrypt: bool) -> ApiResult<String> {
    if data.kind != ParameterType::SecureString || !decrypt {
        return Ok(data.value.clone());
    }
    let plain = api.sealer.open(&data.value, &context(key, data.version)).map_err(|_| {
        ApiError::new(
            ErrorCode::Service("InternalServerError"),
            format!(
                "The value of version {} of {key} could not be opened: it was sealed with another key (the server's \
                 secrets.key file changed?) or is damaged.",
                data.version
            ),
        )
    })?;
    String::from_utf8(plain).map_err(|_| {
        ApiError::new(
            ErrorCode::Service("InternalServerError"),
            format!("The value of {key} is not UTF-8 once opened."),
        )
    })
}

/// The parameter named `name`, if any.
pub async fn get(api: &Api, name: &Name) -> ApiResult<Option<Versioned<ParameterRecord>>> {
    state::get::<ParameterRecord>(api.store.as_ref(), &parameter_key(&name.key)).await
}

/// The parameter named `name`, or `ParameterNotFound`.
pub async fn load(api: &Api, name: &Name) -> ApiResult<Versioned<ParameterRecord>> {
    get(api, name).await?.ok_or_else(|| not_found(&name.given))
}

pub fn not_found(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Service("ParameterNotFound"),
        format!("Parameter {} not found.", berth_model::names::truncate(name, 256)),
    )
}

/// Every version kept of the parameter with key `key`, oldest first.
pub async fn versions(api: &Api, key: &str) -> ApiResult<Vec<Versioned<VersionRecord>>> {
    state::list::<VersionRecord>(api.store.as_ref(), &versions_of(key)).await
}

/// One version.
pub async fn version(api: &Api, key: &str, version: u64) -> ApiResult<Option<Versioned<VersionRecord>>> {
    state::get::<VersionRecord>(api.store.as_ref(), &version_key(key, version)).await
}

/// The compares and ops removing a parameter and its versions.
pub async fn removal(api: &Api, record: &Versioned<ParameterRecord>) -> ApiResult<(Vec<Compare>, Vec<Op>)> {
    let key = key_of_record(&record.key);
    let listed = api.store.list(&versions_of(key), ListOptions::default()).await?;
    let mut ops = vec![Op::delete(record.key.clone())];
    ops.extend(listed.kvs.into_iter().map(|kv| Op::delete(kv.key)));
    Ok((vec![record.unchanged()], ops))
}

/// The parameters whose key begins with `prefix` (a key prefix, not a path), in key order.
pub async fn list(api: &Api, prefix: &str) -> ApiResult<Vec<Versioned<ParameterRecord>>> {
    state::list::<ParameterRecord>(api.store.as_ref(), &parameter_key(prefix)).await
}

/// The ARN of a parameter.
pub fn arn(api: &Api, key: &str) -> String {
    names::arn(&api.scope, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(parameter_key("/a/b"), "ssm/parameters//a/b");
        assert_eq!(version_key("/a/b", 7), "ssm/versions/%2Fa%2Fb/00000000000000000007");
        assert!(!version_key("/a/b", 1).starts_with(&versions_of("/a")));
        assert_eq!(key_of_record("ssm/parameters//a/b"), "/a/b");
        assert!(version_key("x", 10) > version_key("x", 9), "versions sort numerically");
    }

    #[test]
    fn secure_strings_are_bound_to_name_and_version() {
        let sealer = crate::sealing::Sealer::ephemeral();
        let sealed = sealer.seal(b"pw", &context("/a", 1));
        assert!(sealer.open(&sealed, &context("/a", 2)).is_err());
        assert!(sealer.open(&sealed, &context("/b", 1)).is_err());
        assert_eq!(sealer.open(&sealed, &context("/a", 1)).unwrap(), b"pw");
    }
}
