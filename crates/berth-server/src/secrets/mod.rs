//! Secrets Manager: the JSON 1.1 API (target prefix `secretsmanager.`, signed for `secretsmanager`). Every operation of the botocore
//! `secretsmanager` model is in [`OPERATIONS`]; those without a handler answer `InvalidRequestException` naming the operation, names outside
//! the model `UnknownOperationException`.
//!
//! Served: secrets with versions and staging labels (CreateSecret, PutSecretValue, UpdateSecret,
//! UpdateSecretVersionStage, GetSecretValue, BatchGetSecretValue, DescribeSecret, ListSecrets, ListSecretVersionIds),
//! deletion with a recovery window and restore (DeleteSecret, RestoreSecret), tags (TagResource, UntagResource), and
//! the (always absent) resource policy (GetResourcePolicy, DeleteResourcePolicy).
//! Modules: [`record`] (the stored secret and its pure transitions), [`validate`] (input checks), [`store`] (keys,
//! sealing, lookups by name or ARN, purging), [`write`], [`read`], [`lifecycle`], [`tags`], [`policy`].
//!
//! Values are sealed at rest with `api.sealer` (`crate::sealing`), bound to the secret's ARN and the version id;
//! they are in clear only in GetSecretValue's and BatchGetSecretValue's answers, never in the store, errors, logs,
//! DescribeSecret or ListSecrets. Limits: no KMS (only the default key is accepted), no replication, no rotation,
//! no resource policies (PutResourcePolicy), no GetRandomPassword; those operations answer `InvalidRequestException`.

use std::sync::Arc;

use serde_json::Value;

use crate::api::Api;
use crate::dispatch::{HandlerFuture, Operation};
use crate::error::{ApiError, ApiResult, ErrorCode};

mod lifecycle;
mod policy;
mod read;
pub mod record;
pub mod store;
mod tags;
pub mod validate;
mod write;

pub use store::purge_expired;

/// `InvalidParameterException`: a parameter Secrets Manager refuses.
pub fn invalid_parameter(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterException, message)
}

/// `InvalidRequestException`: a request the secret's state does not allow.
pub fn invalid_request(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Service("InvalidRequestException"), message)
}

/// What reading or changing a secret scheduled for deletion answers.
pub fn marked_for_deletion() -> ApiError {
    invalid_request("You can't perform this operation on the secret because it was marked for deletion.")
}

/// For authorization: the ARN and tags of the secret a `SecretId` (name, full or partial ARN) names, or `None`
/// when there is none (a malformed id names none either). A secret scheduled for deletion exists until its
/// recovery window has passed.
pub async fn resource(api: &Api, secret_id: &str) -> ApiResult<Option<(String, Vec<(String, String)>)>> {
    let Ok(id) = validate::secret_id(secret_id) else { return Ok(None) };
    let now = api.now();
    for candidate in validate::candidates(&api.scope, &id) {
        let Some(s) =
            crate::state::get::<record::SecretRecord>(api.store.as_ref(), &store::secret_key(&candidate.name)).await?
        else {
            continue;
        };
        let s = s.value;
        if s.is_expired(now) || candidate.arn.as_deref().is_some_and(|arn| arn != s.arn) {
            continue;
        }
        return Ok(Some((s.arn, s.tags.into_iter().map(|t| (t.key, t.value)).collect())));
    }
    Ok(None)
}

/// The `X-Amz-Target` prefix of the API.
pub const TARGET_PREFIX: &str = "secretsmanager.";

/// The service name requests are signed for.
pub const SIGNING_NAME: &str = "secretsmanager";

/// Wraps `handler(&Api, Input) -> ApiResult<Value>` as a table entry.
macro_rules! handler {
    ($f:path) => {
        |api: Arc<Api>, body: Value| -> HandlerFuture {
            Box::pin(async move {
                let input = crate::dispatch::decode_input(body)?;
                $f(&api, input).await
            })
        }
    };
}

/// Every operation of the `secretsmanager` model (botocore), sorted by name.
pub static OPERATIONS: &[Operation] = &[
    Operation { name: "BatchGetSecretValue", handler: Some(handler!(read::batch_get_secret_value)) },
    Operation { name: "CancelRotateSecret", handler: None },
    Operation { name: "CreateSecret", handler: Some(handler!(write::create_secret)) },
    Operation { name: "DeleteResourcePolicy", handler: Some(handler!(policy::delete_resource_policy)) },
    Operation { name: "DeleteSecret", handler: Some(handler!(lifecycle::delete_secret)) },
    Operation { name: "DescribeSecret", handler: Some(handler!(read::describe_secret)) },
    Operation { name: "GetRandomPassword", handler: None },
    Operation { name: "GetResourcePolicy", handler: Some(handler!(policy::get_resource_policy)) },
    Operation { name: "GetSecretValue", handler: Some(handler!(read::get_secret_value)) },
    Operation { name: "ListSecretVersionIds", handler: Some(handler!(read::list_secret_version_ids)) },
    Operation { name: "ListSecrets", handler: Some(handler!(read::list_secrets)) },
    Operation { name: "PutResourcePolicy", handler: None },
    Operation { name: "PutSecretValue", handler: Some(handler!(write::put_secret_value)) },
    Operation { name: "RemoveRegionsFromReplication", handler: None },
    Operation { name: "ReplicateSecretToRegions", handler: None },
    Operation { name: "RestoreSecret", handler: Some(handler!(lifecycle::restore_secret)) },
    Operation { name: "RotateSecret", handler: None },
    Operation { name: "StopReplicationToReplica", handler: None },
    Operation { name: "TagResource", handler: Some(handler!(tags::tag_resource)) },
    Operation { name: "UntagResource", handler: Some(handler!(tags::untag_resource)) },
    Operation { name: "UpdateSecret", handler: Some(handler!(write::update_secret)) },
    Operation { name: "UpdateSecretVersionStage", handler: Some(handler!(write::update_secret_version_stage)) },
    Operation { name: "ValidateResourcePolicy", handler: None },
];

/// The operation named `name`, if the model has it.
pub fn find(name: &str) -> Option<&'static Operation> {
    crate::dispatch::find_in(OPERATIONS, name)
}

/// Runs the named operation.
pub async fn dispatch(api: Arc<Api>, name: &str, body: Value) -> ApiResult<Value> {
    crate::dispatch::run(OPERATIONS, api, name, body, |name| {
        ApiError::new(
            ErrorCode::Service("InvalidRequestException"),
            format!("{name} is not supported by Berth. See docs/API-COVERAGE.md for the Secrets Manager operations it serves."),
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table holds exactly the operations of the model in the installed botocore package.
    #[test]
    fn table_matches_the_botocore_model() {
        crate::dispatch::botocore_model::assert_table_matches("secretsmanager", OPERATIONS.iter().map(|o| o.name));
    }

    async fn api() -> (Arc<Api>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn berth_store::Store> =
            Arc::new(berth_store::SqliteStore::open(&dir.path().join("state.db")).unwrap());
        let config = crate::ServerConfig::new("us-east-1", "123456789012", crate::AuthMode::Disabled);
        (crate::build_api(store, &config).await.unwrap(), dir)
    }

    async fn call(api: &Arc<Api>, op: &str, body: serde_json::Value) -> ApiResult<Value> {
        dispatch(api.clone(), op, body).await
    }

    /// Every stored byte, as text.
    async fn stored_text(api: &Api) -> String {
        let all = api.store.list("", Default::default()).await.unwrap();
        all.kvs.iter().map(|kv| format!("{} {}\n", kv.key, String::from_utf8_lossy(&kv.value))).collect()
    }

    #[tokio::test]
    async fn values_are_sealed_found_by_name_or_arn_and_purged_after_their_window() {
        use serde_json::json;
        let (api, _dir) = api().await;
        let plain = "plain-value-7f3a";
        let out = call(
            &api,
            "CreateSecret",
            json!({"Name": "prod/db", "SecretString": plain,
            "Tags": [{"Key": "team", "Value": "ml"}]}),
        )
        .await
        .unwrap();
        let arn = out["ARN"].as_str().unwrap().to_owned();
        assert!(!stored_text(&api).await.contains(plain), "the store holds only ciphertext");
        let (found, tags) = resource(&api, "prod/db").await.unwrap().unwrap();
        assert_eq!((found.as_str(), tags), (arn.as_str(), vec![("team".to_owned(), "ml".to_owned())]));
        assert!(resource(&api, &arn).await.unwrap().is_some());
        let partial = arn.rsplit_once('-').unwrap().0;
        assert!(resource(&api, partial).await.unwrap().is_some());
        assert!(resource(&api, &format!("{partial}-zzzzzz")).await.unwrap().is_none(), "another suffix");
        assert!(resource(&api, "nope").await.unwrap().is_none());
        assert!(resource(&api, "not a name").await.unwrap().is_none());
        let got = call(&api, "GetSecretValue", json!({"SecretId": arn})).await.unwrap();
        assert_eq!(got["SecretString"], plain);
        let described = call(&api, "DescribeSecret", json!({"SecretId": "prod/db"})).await.unwrap();
        assert!(!described.to_string().contains(plain));

        call(&api, "DeleteSecret", json!({"SecretId": "prod/db", "RecoveryWindowInDays": 7})).await.unwrap();
        let e = call(&api, "GetSecretValue", json!({"SecretId": "prod/db"})).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Service("InvalidRequestException"));
        assert_eq!(purge_expired(&api).await.unwrap(), 0, "still within its window");
        // The window passes.
        let key = store::secret_key("prod/db");
        let mut secret =
            crate::state::get::<record::SecretRecord>(api.store.as_ref(), &key).await.unwrap().unwrap().value;
        secret.lifecycle = record::Lifecycle::ScheduledForDeletion { deleted_date: 1.0, purge_after: 2.0 };
        api.store.txn(vec![], vec![crate::state::put(&key, &secret).unwrap()]).await.unwrap();
        assert!(resource(&api, "prod/db").await.unwrap().is_none(), "gone once its window has passed");
        assert_eq!(purge_expired(&api).await.unwrap(), 1);
        assert!(!stored_text(&api).await.contains("prod"), "record and values removed");
        // The name is free again, with a new ARN.
        let again = call(&api, "CreateSecret", json!({"Name": "prod/db", "SecretString": "x"})).await.unwrap();
        assert_ne!(again["ARN"], arn);
    }

    #[tokio::test]
    async fn lazy_purge_frees_the_name() {
        use serde_json::json;
        let (api, _dir) = api().await;
        call(&api, "CreateSecret", json!({"Name": "n", "SecretString": "v"})).await.unwrap();
        call(&api, "DeleteSecret", json!({"SecretId": "n"})).await.unwrap();
        let e = call(&api, "CreateSecret", json!({"Name": "n", "SecretString": "v"})).await.unwrap_err();
        assert!(e.message.contains("scheduled for deletion"), "{}", e.message);
        let key = store::secret_key("n");
        let mut secret =
            crate::state::get::<record::SecretRecord>(api.store.as_ref(), &key).await.unwrap().unwrap().value;
        secret.lifecycle = record::Lifecycle::ScheduledForDeletion { deleted_date: 1.0, purge_after: 2.0 };
        api.store.txn(vec![], vec![crate::state::put(&key, &secret).unwrap()]).await.unwrap();
        call(&api, "CreateSecret", json!({"Name": "n", "SecretString": "w"})).await.unwrap();
        let got = call(&api, "GetSecretValue", json!({"SecretId": "n"})).await.unwrap();
        assert_eq!(got["SecretString"], "w");
    }
}
