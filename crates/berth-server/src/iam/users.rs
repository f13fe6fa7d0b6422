//! CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser and the user's tags (TagUser, UntagUser, ListUserTags).

use berth_store::{Compare, Op};
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{self, IamTag, Identity, Kind};
use super::{all, load, modify, page};
use crate::api::Api;
use crate::auth::{AccessKey, Caller};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::{self, keys};
use crate::wire::query::de;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateUserRequest {
    user_name: String,
    path: Option<String>,
    permissions_boundary: Option<String>,
    #[serde(default)]
    tags: Vec<IamTag>,
}

pub async fn create_user(api: &Api, _caller: &Caller, req: CreateUserRequest) -> ApiResult<Value> {
    let identity = new_identity(api, Kind::User, &req.user_name, req.path.as_deref(), req.tags)?;
    no_boundary(req.permissions_boundary.as_deref())?;
    create(api, Kind::User, &identity).await?;
    Ok(json!({ "User": identity.present(Kind::User, &api.scope.account_id, true) }))
}

/// A new user, group or role after IAM's checks of its name, path and tags.
pub fn new_identity(api: &Api, kind: Kind, name: &str, path: Option<&str>, tags: Vec<IamTag>) -> ApiResult<Identity> {
    entities::check_name(kind, super::name_field(kind), name)?;
    let path = path.unwrap_or("/");
    entities::check_path("path", path)?;
    entities::check_tags(&tags)?;
    let mut identity = Identity::new(kind, name, path, api.now());
    identity.tags = tags;
    Ok(identity)
}

/// Stores a new identity; `EntityAlreadyExists` when the name is taken (without regard to case).
pub async fn create(api: &Api, kind: Kind, identity: &Identity) -> ApiResult<()> {
    let key = keys::iam(kind.as_str(), &identity.name);
    let put = state::put(&key, identity)?;
    if !api.store.txn(vec![Compare::absent(key)], vec![put]).await?.succeeded {
        return Err(entities::already_exists(kind, &identity.name));
    }
    Ok(())
}

/// Permissions boundaries are not supported: refused rather than stored and ignored.
pub fn no_boundary(boundary: Option<&str>) -> ApiResult<()> {
    match boundary {
        Some(_) => Err(ApiError::new(
            ErrorCode::InvalidInput,
            "PermissionsBoundary is not supported by Berth: it has identity-based policies only.",
        )),
        None => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetUserRequest {
    user_name: Option<String>,
}

pub async fn get_user(api: &Api, caller: &Caller, req: GetUserRequest) -> ApiResult<Value> {
    let account = &api.scope.account_id;
    let name = match (&req.user_name, caller) {
        (Some(name), _) => name.clone(),
        (None, Caller::User { name, .. }) => name.clone(),
        (None, Caller::Role { .. } | Caller::Instance { .. }) => return Err(super::not_a_user()),
        // The account root describes itself: IAM answers with the root's ARN and the account id.
        (None, Caller::Root) => {
            return Ok(json!({ "User": {
                "UserId": account,
                "Arn": format!("arn:aws:iam::{account}:root"),
                "CreateDate": crate::wire::query::timestamp(0.0),
            }}));
        }
    };
    let user = load(api, Kind::User, &name).await?;
    Ok(json!({ "User": user.value.present(Kind::User, account, true) }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUsersRequest {
    path_prefix: Option<String>,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_users(api: &Api, _caller: &Caller, req: ListUsersRequest) -> ApiResult<Value> {
    let users = under_path(all(api, Kind::User).await?.into_iter().map(|u| u.value), req.path_prefix.as_deref())?;
    let (users, truncated, marker) =
        page(users, |u| u.name.to_ascii_lowercase(), req.marker.as_deref(), req.max_items)?;
    let account = &api.scope.account_id;
    Ok(json!({
        "Users": users.iter().map(|u| u.present(Kind::User, account, false)).collect::<Vec<_>>(),
        "IsTruncated": truncated,
        "Marker": marker,
    }))
}

/// The identities whose path starts with `prefix` (`/` when absent).
pub fn under_path(items: impl Iterator<Item = Identity>, prefix: Option<&str>) -> ApiResult<Vec<Identity>> {
    let prefix = prefix.unwrap_or("/");
    if !prefix.starts_with('/') || prefix.len() > 512 {
        return Err(entities::validation(
            "pathPrefix",
            prefix,
            "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*",
        ));
    }
    Ok(items.filter(|i| i.path.starts_with(prefix)).collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateUserRequest {
    user_name: String,
    new_path: Option<String>,
    new_user_name: Option<String>,
}

pub async fn update_user(api: &Api, _caller: &Caller, req: UpdateUserRequest) -> ApiResult<Value> {
    if let Some(p) = &req.new_path {
        entities::check_path("newPath", p)?;
    }
    let Some(new_name) = req.new_user_name.clone().filter(|n| *n != req.user_name) else {
        // A new path (or the same name) only.
        modify(api, Kind::User, &req.user_name, |u| {
            if let Some(p) = &req.new_path {
                u.path = p.clone();
            }
            Ok(())
        })
        .await?;
        return Ok(json!({}));
    };
    entities::check_name(Kind::User, "newUserName", &new_name)?;
    // A rename moves the record, and the user's access keys follow it.
    let store = api.store.as_ref();
    state::commit(store, || async {
        let current = load(api, Kind::User, &req.user_name).await?;
        let new_key = keys::iam(Kind::User.as_str(), &new_name);
        let renamed_case_only = new_key == current.key;
        let mut user = current.value.clone();
        user.name = new_name.clone();
        if let Some(p) = &req.new_path {
            user.path = p.clone();
        }
        let mut compares = vec![current.unchanged()];
        let mut ops = vec![];
        if !renamed_case_only {
            if api.store.get(&new_key).await?.is_some() {
                return Err(entities::already_exists(Kind::User, &new_name));
            }
            compares.push(Compare::absent(new_key.clone()));
            ops.push(Op::delete(current.key.clone()));
        }
        ops.push(state::put(&new_key, &user)?);
        for key in keys_of(api, &current.value.name).await? {
            let mut k = key.value.clone();
            k.user_name = new_name.clone();
            compares.push(key.unchanged());
            ops.push(state::put(&key.key, &k)?);
        }
        Ok((compares, ops, ()))
    })
    .await?;
    Ok(json!({}))
}

/// The access keys of an IAM user.
pub async fn keys_of(api: &Api, user: &str) -> ApiResult<Vec<state::Versioned<AccessKey>>> {
    Ok(state::list::<AccessKey>(api.store.as_ref(), keys::ACCESS_KEYS)
        .await?
        .into_iter()
        .filter(|k| k.value.owner == crate::auth::KeyOwner::User && k.value.user_name.eq_ignore_ascii_case(user))
        .collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteUserRequest {
    user_name: String,
}

pub async fn delete_user(api: &Api, _caller: &Caller, req: DeleteUserRequest) -> ApiResult<Value> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let user = load(api, Kind::User, &req.user_name).await?;
        let conflict = |m: &str| ApiError::new(ErrorCode::DeleteConflict, m);
        if !keys_of(api, &user.value.name).await?.is_empty() {
            return Err(conflict("Cannot delete entity, must delete access keys first."));
        }
        if !user.value.inline.is_empty() {
            return Err(conflict("Cannot delete entity, must delete policies first."));
        }
        if !user.value.attached.is_empty() {
            return Err(conflict("Cannot delete entity, must detach all policies first."));
        }
        if !user.value.groups.is_empty() {
            return Err(conflict("Cannot delete entity, must remove users from group first."));
        }
        Ok((vec![user.unchanged()], vec![Op::delete(user.key.clone())], ()))
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagUserRequest {
    user_name: String,
    tags: Vec<IamTag>,
}

pub async fn tag_user(api: &Api, _caller: &Caller, req: TagUserRequest) -> ApiResult<Value> {
    tag(api, Kind::User, &req.user_name, req.tags).await
}

/// Adds tags to a user or role.
pub async fn tag(api: &Api, kind: Kind, name: &str, tags: Vec<IamTag>) -> ApiResult<Value> {
    entities::check_tags(&tags)?;
    modify(api, kind, name, |i| entities::merge_tags(&mut i.tags, tags.clone())).await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagUserRequest {
    user_name: String,
    tag_keys: Vec<String>,
}

pub async fn untag_user(api: &Api, _caller: &Caller, req: UntagUserRequest) -> ApiResult<Value> {
    untag(api, Kind::User, &req.user_name, req.tag_keys).await
}

/// Removes tags (by key) from a user or role; keys it does not have are ignored.
pub async fn untag(api: &Api, kind: Kind, name: &str, keys: Vec<String>) -> ApiResult<Value> {
    if keys.len() > 50 {
        return Err(entities::validation(
            "tagKeys",
            &keys.len().to_string(),
            "Member must have length less than or equal to 50",
        ));
    }
    modify(api, kind, name, |i| {
        i.tags.retain(|t| !keys.contains(&t.key));
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUserTagsRequest {
    user_name: String,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_user_tags(api: &Api, _caller: &Caller, req: ListUserTagsRequest) -> ApiResult<Value> {
    list_tags(api, Kind::User, &req.user_name, req.marker.as_deref(), req.max_items).await
}

/// The tags of a user or role, paged.
pub async fn list_tags(
    api: &Api,
    kind: Kind,
    name: &str,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> ApiResult<Value> {
    let mut tags = load(api, kind, name).await?.value.tags;
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    let (tags, truncated, marker) = page(tags, |t| t.key.clone(), marker, max_items)?;
    Ok(json!({ "Tags": tags, "IsTruncated": truncated, "Marker": marker }))
}
