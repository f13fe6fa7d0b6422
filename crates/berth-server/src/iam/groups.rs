//! CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup and membership (AddUserToGroup,
//! RemoveUserFromGroup, ListGroupsForUser). Membership is kept on the users (see [`super::entities`]); every change
//! of it rewrites the group's record too, so that a DeleteGroup deciding on the members it read is redone when
//! one is added meanwhile.

use berth_store::Op;
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{self, Identity, Kind};
use super::users::{create, new_identity, under_path};
use super::{all, load, page};
use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::{self, keys};
use crate::wire::query::de;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGroupRequest {
    group_name: String,
    path: Option<String>,
}

pub async fn create_group(api: &Api, _caller: &Caller, req: CreateGroupRequest) -> ApiResult<Value> {
    let group = new_identity(api, Kind::Group, &req.group_name, req.path.as_deref(), vec![])?;
    create(api, Kind::Group, &group).await?;
    Ok(json!({ "Group": group.present(Kind::Group, &api.scope.account_id, false) }))
}

/// The users in `group` (compared without regard to case, as IAM names are).
async fn members(api: &Api, group: &str) -> ApiResult<Vec<state::Versioned<Identity>>> {
    Ok(all(api, Kind::User)
        .await?
        .into_iter()
        .filter(|u| u.value.groups.iter().any(|g| g.eq_ignore_ascii_case(group)))
        .collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetGroupRequest {
    group_name: String,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn get_group(api: &Api, _caller: &Caller, req: GetGroupRequest) -> ApiResult<Value> {
    let group = load(api, Kind::Group, &req.group_name).await?;
    let users: Vec<Identity> = members(api, &group.value.name).await?.into_iter().map(|u| u.value).collect();
    let (users, truncated, marker) =
        page(users, |u| u.name.to_ascii_lowercase(), req.marker.as_deref(), req.max_items)?;
    let account = &api.scope.account_id;
    Ok(json!({
        "Group": group.value.present(Kind::Group, account, false),
        "Users": users.iter().map(|u| u.present(Kind::User, account, false)).collect::<Vec<_>>(),
        "IsTruncated": truncated,
        "Marker": marker,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupsRequest {
    path_prefix: Option<String>,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_groups(api: &Api, _caller: &Caller, req: ListGroupsRequest) -> ApiResult<Value> {
    let groups = under_path(all(api, Kind::Group).await?.into_iter().map(|g| g.value), req.path_prefix.as_deref())?;
    let (groups, truncated, marker) =
        page(groups, |g| g.name.to_ascii_lowercase(), req.marker.as_deref(), req.max_items)?;
    let account = &api.scope.account_id;
    Ok(json!({
        "Groups": groups.iter().map(|g| g.present(Kind::Group, account, false)).collect::<Vec<_>>(),
        "IsTruncated": truncated,
        "Marker": marker,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateGroupRequest {
    group_name: String,
    new_path: Option<String>,
    new_group_name: Option<String>,
}

pub async fn update_group(api: &Api, _caller: &Caller, req: UpdateGroupRequest) -> ApiResult<Value> {
    if let Some(p) = &req.new_path {
        entities::check_path("newPath", p)?;
    }
    if let Some(n) = &req.new_group_name {
        entities::check_name(Kind::Group, "newGroupName", n)?;
    }
    let store = api.store.as_ref();
    state::commit(store, || async {
        let group = load(api, Kind::Group, &req.group_name).await?;
        let mut next = group.value.clone();
        if let Some(p) = &req.new_path {
            next.path = p.clone();
        }
        let mut compares = vec![group.unchanged()];
        let mut ops = vec![];
        let new_name = req.new_group_name.clone().unwrap_or_else(|| group.value.name.clone());
        let new_key = keys::iam(Kind::Group.as_str(), &new_name);
        if new_key != group.key {
            if api.store.get(&new_key).await?.is_some() {
                return Err(entities::already_exists(Kind::Group, &new_name));
            }
            compares.push(berth_store::Compare::absent(new_key.clone()));
            ops.push(Op::delete(group.key.clone()));
        }
        next.name = new_name.clone();
        ops.push(state::put(&new_key, &next)?);
        // Members follow the rename.
        for mut user in members(api, &group.value.name).await? {
            for g in user.value.groups.iter_mut().filter(|g| g.eq_ignore_ascii_case(&group.value.name)) {
                g.clone_from(&new_name);
            }
            compares.push(user.unchanged());
            ops.push(state::put(&user.key, &user.value)?);
        }
        Ok((compares, ops, ()))
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteGroupRequest {
    group_name: String,
}

pub async fn delete_group(api: &Api, _caller: &Caller, req: DeleteGroupRequest) -> ApiResult<Value> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let group = load(api, Kind::Group, &req.group_name).await?;
        let conflict = |m: &str| ApiError::new(ErrorCode::DeleteConflict, m);
        if !members(api, &group.value.name).await?.is_empty() {
            return Err(conflict("Cannot delete entity, must remove users from group first."));
        }
        if !group.value.inline.is_empty() {
            return Err(conflict("Cannot delete entity, must delete policies first."));
        }
        if !group.value.attached.is_empty() {
            return Err(conflict("Cannot delete entity, must detach all policies first."));
        }
        Ok((vec![group.unchanged()], vec![Op::delete(group.key.clone())], ()))
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MembershipRequest {
    group_name: String,
    user_name: String,
}

pub async fn add_user_to_group(api: &Api, _caller: &Caller, req: MembershipRequest) -> ApiResult<Value> {
    change_membership(api, &req, true).await
}

pub async fn remove_user_from_group(api: &Api, _caller: &Caller, req: MembershipRequest) -> ApiResult<Value> {
    change_membership(api, &req, false).await
}

async fn change_membership(api: &Api, req: &MembershipRequest, add: bool) -> ApiResult<Value> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let group = load(api, Kind::Group, &req.group_name).await?;
        let user = load(api, Kind::User, &req.user_name).await?;
        let mut next = user.value.clone();
        let is_member = next.groups.iter().any(|g| g.eq_ignore_ascii_case(&group.value.name));
        match (add, is_member) {
            (true, false) => next.groups.push(group.value.name.clone()),
            (false, true) => next.groups.retain(|g| !g.eq_ignore_ascii_case(&group.value.name)),
            (false, false) => {
                return Err(ApiError::new(
                    ErrorCode::NoSuchEntity,
                    format!("The user with name {} cannot be found in group {}.", user.value.name, group.value.name),
                ));
            }
            (true, true) => {}
        }
        Ok((
            vec![group.unchanged(), user.unchanged()],
            vec![state::put(&group.key, &group.value)?, state::put(&user.key, &next)?],
            (),
        ))
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupsForUserRequest {
    user_name: String,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_groups_for_user(api: &Api, _caller: &Caller, req: ListGroupsForUserRequest) -> ApiResult<Value> {
    let user = load(api, Kind::User, &req.user_name).await?;
    let mut groups = Vec::new();
    for name in &user.value.groups {
        if let Ok(g) = load(api, Kind::Group, name).await {
            groups.push(g.value);
        }
    }
    groups.sort_by_key(|g| g.name.to_ascii_lowercase());
    let (groups, truncated, marker) =
        page(groups, |g| g.name.to_ascii_lowercase(), req.marker.as_deref(), req.max_items)?;
    let account = &api.scope.account_id;
    Ok(json!({
        "Groups": groups.iter().map(|g| g.present(Kind::Group, account, false)).collect::<Vec<_>>(),
        "IsTruncated": truncated,
        "Marker": marker,
    }))
}
