//! CreateRole, GetRole, ListRoles, UpdateRole, UpdateRoleDescription, DeleteRole, UpdateAssumeRolePolicy and the
//! role's tags. A role's trust policy (who may assume it) is a resource policy: it must name a Principal.
//!
//! Limits: roles are stored and governed here; assuming them (STS AssumeRole, task roles) comes with STS.

use berth_policy::PolicyKind;
use berth_store::Op;
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{self, IamTag, Kind};
use super::users::{create, list_tags, new_identity, no_boundary, tag, under_path, untag};
use super::{all, load, modify, page};
use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state;
use crate::wire::query::de;

/// IAM's limit on a trust policy, in characters other than whitespace.
const MAX_TRUST_POLICY: usize = 2048;

/// A role's session duration bounds, in seconds.
const SESSION_SECONDS: std::ops::RangeInclusive<i64> = 3600..=43200;

fn check_trust_policy(document: &str) -> ApiResult<()> {
    let too_long = format!("Cannot exceed quota for ACLSizePerRole: {MAX_TRUST_POLICY}");
    entities::check_document(document, PolicyKind::Resource, MAX_TRUST_POLICY, &too_long)?;
    Ok(())
}

fn check_description(description: Option<&str>) -> ApiResult<()> {
    match description {
        Some(d) if d.chars().count() > 1000 => {
            Err(entities::validation("description", d, "Member must have length less than or equal to 1000"))
        }
        _ => Ok(()),
    }
}

fn check_session(seconds: Option<i64>) -> ApiResult<()> {
    match seconds {
        Some(s) if !SESSION_SECONDS.contains(&s) => Err(entities::validation(
            "maxSessionDuration",
            &s.to_string(),
            "Member must have value less than or equal to 43200 and greater than or equal to 3600",
        )),
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRoleRequest {
    role_name: String,
    path: Option<String>,
    assume_role_policy_document: String,
    description: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_session_duration: Option<i64>,
    permissions_boundary: Option<String>,
    #[serde(default)]
    tags: Vec<IamTag>,
}

pub async fn create_role(api: &Api, _caller: &Caller, req: CreateRoleRequest) -> ApiResult<Value> {
    let mut role = new_identity(api, Kind::Role, &req.role_name, req.path.as_deref(), req.tags)?;
    no_boundary(req.permissions_boundary.as_deref())?;
    check_trust_policy(&req.assume_role_policy_document)?;
    check_description(req.description.as_deref())?;
    check_session(req.max_session_duration)?;
    role.trust_policy = Some(req.assume_role_policy_document);
    role.description = req.description;
    role.max_session_duration = Some(req.max_session_duration.unwrap_or(3600));
    create(api, Kind::Role, &role).await?;
    Ok(json!({ "Role": role.present(Kind::Role, &api.scope.account_id, true) }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleNameRequest {
    role_name: String,
}

pub async fn get_role(api: &Api, _caller: &Caller, req: RoleNameRequest) -> ApiResult<Value> {
    let role = load(api, Kind::Role, &req.role_name).await?;
    Ok(json!({ "Role": role.value.present(Kind::Role, &api.scope.account_id, true) }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRolesRequest {
    path_prefix: Option<String>,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_roles(api: &Api, _caller: &Caller, req: ListRolesRequest) -> ApiResult<Value> {
    let roles = under_path(all(api, Kind::Role).await?.into_iter().map(|r| r.value), req.path_prefix.as_deref())?;
    let (roles, truncated, marker) =
        page(roles, |r| r.name.to_ascii_lowercase(), req.marker.as_deref(), req.max_items)?;
    let account = &api.scope.account_id;
    Ok(json!({
        "Roles": roles.iter().map(|r| r.present(Kind::Role, account, false)).collect::<Vec<_>>(),
        "IsTruncated": truncated,
        "Marker": marker,
    }))
}

pub async fn delete_role(api: &Api, _caller: &Caller, req: RoleNameRequest) -> ApiResult<Value> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let role = load(api, Kind::Role, &req.role_name).await?;
        let conflict = |m: &str| ApiError::new(ErrorCode::DeleteConflict, m);
        if !role.value.inline.is_empty() {
            return Err(conflict("Cannot delete entity, must delete policies first."));
        }
        if !role.value.attached.is_empty() {
            return Err(conflict("Cannot delete entity, must detach all policies first."));
        }
        Ok((vec![role.unchanged()], vec![Op::delete(role.key.clone())], ()))
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAssumeRolePolicyRequest {
    role_name: String,
    policy_document: String,
}

pub async fn update_assume_role_policy(
    api: &Api,
    _caller: &Caller,
    req: UpdateAssumeRolePolicyRequest,
) -> ApiResult<Value> {
    check_trust_policy(&req.policy_document)?;
    modify(api, Kind::Role, &req.role_name, |r| {
        r.trust_policy = Some(req.policy_document.clone());
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRoleRequest {
    role_name: String,
    description: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_session_duration: Option<i64>,
}

pub async fn update_role(api: &Api, _caller: &Caller, req: UpdateRoleRequest) -> ApiResult<Value> {
    check_description(req.description.as_deref())?;
    check_session(req.max_session_duration)?;
    modify(api, Kind::Role, &req.role_name, |r| {
        if req.description.is_some() {
            r.description.clone_from(&req.description);
        }
        if req.max_session_duration.is_some() {
            r.max_session_duration = req.max_session_duration;
        }
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRoleDescriptionRequest {
    role_name: String,
    description: String,
}

pub async fn update_role_description(
    api: &Api,
    _caller: &Caller,
    req: UpdateRoleDescriptionRequest,
) -> ApiResult<Value> {
    check_description(Some(&req.description))?;
    let role = modify(api, Kind::Role, &req.role_name, |r| {
        r.description = Some(req.description.clone());
        Ok(r.clone())
    })
    .await?;
    Ok(json!({ "Role": role.present(Kind::Role, &api.scope.account_id, true) }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagRoleRequest {
    role_name: String,
    tags: Vec<IamTag>,
}

pub async fn tag_role(api: &Api, _caller: &Caller, req: TagRoleRequest) -> ApiResult<Value> {
    tag(api, Kind::Role, &req.role_name, req.tags).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagRoleRequest {
    role_name: String,
    tag_keys: Vec<String>,
}

pub async fn untag_role(api: &Api, _caller: &Caller, req: UntagRoleRequest) -> ApiResult<Value> {
    untag(api, Kind::Role, &req.role_name, req.tag_keys).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRoleTagsRequest {
    role_name: String,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_role_tags(api: &Api, _caller: &Caller, req: ListRoleTagsRequest) -> ApiResult<Value> {
    list_tags(api, Kind::Role, &req.role_name, req.marker.as_deref(), req.max_items).await
}
