//! CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey and GetAccessKeyLastUsed: the keys of IAM
//! users (at most two each), kept with the account root's under `auth/keys/` so one cache verifies them all. An
//! Inactive key is refused as an unknown one is. Without `UserName` the operations act on the caller's own keys.
//!
//! Limits: when a key was last used is kept in each server's memory (it is not written to the store on every
//! request), so GetAccessKeyLastUsed answers what the server asked has seen since it started.

use berth_store::{Compare, Op};
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{self, Kind};
use super::users::keys_of;
use super::{load, page};
use crate::api::Api;
use crate::auth::{AccessKey, Caller, KeyOwner, KeyStatus, new_key};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::{self, keys};
use crate::wire::query::{de, timestamp};

/// IAM's quota of access keys per user.
const MAX_KEYS: usize = 2;

/// The user an operation acts on: the one named, else the caller (the root has no IAM user to name).
fn user_of(caller: &Caller, named: Option<&str>) -> ApiResult<Option<String>> {
    match (named, caller) {
        (Some(n), _) => Ok(Some(n.to_owned())),
        (None, Caller::User { name, .. }) => Ok(Some(name.clone())),
        (None, Caller::Role { .. } | Caller::Instance { .. }) => Err(super::not_a_user()),
        (None, Caller::Root) => Ok(None),
    }
}

fn root_keys_refused() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidInput,
        "The account root's access keys are managed with `berth up` (~/.berth/credentials), not through IAM; name a UserName.",
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccessKeyRequest {
    user_name: Option<String>,
}

pub async fn create_access_key(api: &Api, caller: &Caller, req: CreateAccessKeyRequest) -> ApiResult<Value> {
    let Some(name) = user_of(caller, req.user_name.as_deref())? else { return Err(root_keys_refused()) };
    let store = api.store.as_ref();
    let key = state::commit(store, || async {
        // The user's record is in the compares, so a DeleteUser racing this one is redone and sees the key.
        let user = load(api, Kind::User, &name).await?;
        if keys_of(api, &user.value.name).await?.len() >= MAX_KEYS {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!("Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}"),
            ));
        }
        let key = new_key(&user.value.name, KeyOwner::User, api.now());
        let store_key = keys::access_key(&key.access_key_id);
        Ok((
            vec![user.unchanged(), Compare::absent(store_key.clone())],
            vec![state::put(&user.key, &user.value)?, state::put(&store_key, &key)?],
            key,
        ))
    })
    .await?;
    api.auth.remember(&key);
    Ok(json!({ "AccessKey": {
        "UserName": key.user_name,
        "AccessKeyId": key.access_key_id,
        "Status": key.status.as_str(),
        "SecretAccessKey": key.secret_access_key,
        "CreateDate": timestamp(key.created_at),
    }}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccessKeysRequest {
    user_name: Option<String>,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_access_keys(api: &Api, caller: &Caller, req: ListAccessKeysRequest) -> ApiResult<Value> {
    let Some(name) = user_of(caller, req.user_name.as_deref())? else {
        return Ok(json!({ "AccessKeyMetadata": [], "IsTruncated": false }));
    };
    let user = load(api, Kind::User, &name).await?;
    let found: Vec<AccessKey> = keys_of(api, &user.value.name).await?.into_iter().map(|k| k.value).collect();
    let (found, truncated, marker) = page(found, |k| k.access_key_id.clone(), req.marker.as_deref(), req.max_items)?;
    let metadata: Vec<Value> = found
        .iter()
        .map(|k| {
            json!({
                "UserName": k.user_name,
                "AccessKeyId": k.access_key_id,
                "Status": k.status.as_str(),
                "CreateDate": timestamp(k.created_at),
            })
        })
        .collect();
    Ok(json!({ "AccessKeyMetadata": metadata, "IsTruncated": truncated, "Marker": marker }))
}

/// The key `id` of `user`, or `NoSuchEntity` as IAM words it.
async fn key_of(api: &Api, user: &str, id: &str) -> ApiResult<state::Versioned<AccessKey>> {
    if id.len() < 16 || id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(entities::validation("accessKeyId", id, "Member must satisfy regular expression pattern: [\\w]+"));
    }
    match state::get::<AccessKey>(api.store.as_ref(), &keys::access_key(id)).await? {
        Some(k) if k.value.owner == KeyOwner::User && k.value.user_name.eq_ignore_ascii_case(user) => Ok(k),
        _ => Err(ApiError::new(ErrorCode::NoSuchEntity, format!("The Access Key with id {id} cannot be found."))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAccessKeyRequest {
    user_name: Option<String>,
    access_key_id: String,
    status: String,
}

pub async fn update_access_key(api: &Api, caller: &Caller, req: UpdateAccessKeyRequest) -> ApiResult<Value> {
    let status = match req.status.as_str() {
        "Active" => KeyStatus::Active,
        "Inactive" => KeyStatus::Inactive,
        other => {
            return Err(entities::validation(
                "status",
                other,
                "Member must satisfy enum value set: [Active, Inactive]",
            ));
        }
    };
    let Some(name) = user_of(caller, req.user_name.as_deref())? else { return Err(root_keys_refused()) };
    load(api, Kind::User, &name).await?;
    let store = api.store.as_ref();
    let key = state::commit(store, || async {
        let current = key_of(api, &name, &req.access_key_id).await?;
        let mut key = current.value.clone();
        key.status = status;
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &key)?], key))
    })
    .await?;
    api.auth.remember(&key);
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAccessKeyRequest {
    user_name: Option<String>,
    access_key_id: String,
}

pub async fn delete_access_key(api: &Api, caller: &Caller, req: DeleteAccessKeyRequest) -> ApiResult<Value> {
    let Some(name) = user_of(caller, req.user_name.as_deref())? else { return Err(root_keys_refused()) };
    load(api, Kind::User, &name).await?;
    let store = api.store.as_ref();
    state::commit(store, || async {
        let current = key_of(api, &name, &req.access_key_id).await?;
        Ok((vec![current.unchanged()], vec![Op::delete(current.key.clone())], ()))
    })
    .await?;
    api.auth.forget(&req.access_key_id);
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessKeyLastUsedRequest {
    access_key_id: String,
}

pub async fn get_access_key_last_used(
    api: &Api,
    _caller: &Caller,
    req: GetAccessKeyLastUsedRequest,
) -> ApiResult<Value> {
    let id = &req.access_key_id;
    let Some(key) = state::get::<AccessKey>(api.store.as_ref(), &keys::access_key(id)).await? else {
        return Err(ApiError::new(ErrorCode::NoSuchEntity, format!("The Access Key with id {id} cannot be found.")));
    };
    let used = match api.auth.last_used(id) {
        Some(u) => json!({ "LastUsedDate": timestamp(u.at), "ServiceName": u.service, "Region": u.region }),
        // IAM's answer for a key never used.
        None => json!({ "ServiceName": "N/A", "Region": "N/A" }),
    };
    let user = match key.value.owner {
        KeyOwner::User => Some(key.value.user_name),
        KeyOwner::Root => None,
    };
    Ok(json!({ "UserName": user, "AccessKeyLastUsed": used }))
}
