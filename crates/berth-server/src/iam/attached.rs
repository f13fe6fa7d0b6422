//! Attaching managed policies to users, groups and roles (Attach/Detach/ListAttached User/Group/RolePolicies) and
//! ListEntitiesForPolicy. An attachment is kept on the identity; the policy's record is rewritten with it (see
//! [`super::policies`]) so that DeletePolicy and an attachment never both succeed.

use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{self, Kind};
use super::policies::{attached_to, load_policy};
use super::{load, page};
use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state;
use crate::wire::query::de;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachUserPolicyRequest {
    user_name: String,
    policy_arn: String,
}

pub async fn attach_user_policy(api: &Api, _caller: &Caller, req: AttachUserPolicyRequest) -> ApiResult<Value> {
    attach(api, Kind::User, &req.user_name, &req.policy_arn, true).await
}

pub async fn detach_user_policy(api: &Api, _caller: &Caller, req: AttachUserPolicyRequest) -> ApiResult<Value> {
    attach(api, Kind::User, &req.user_name, &req.policy_arn, false).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachGroupPolicyRequest {
    group_name: String,
    policy_arn: String,
}

pub async fn attach_group_policy(api: &Api, _caller: &Caller, req: AttachGroupPolicyRequest) -> ApiResult<Value> {
    attach(api, Kind::Group, &req.group_name, &req.policy_arn, true).await
}

pub async fn detach_group_policy(api: &Api, _caller: &Caller, req: AttachGroupPolicyRequest) -> ApiResult<Value> {
    attach(api, Kind::Group, &req.group_name, &req.policy_arn, false).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachRolePolicyRequest {
    role_name: String,
    policy_arn: String,
}

pub async fn attach_role_policy(api: &Api, _caller: &Caller, req: AttachRolePolicyRequest) -> ApiResult<Value> {
    attach(api, Kind::Role, &req.role_name, &req.policy_arn, true).await
}

pub async fn detach_role_policy(api: &Api, _caller: &Caller, req: AttachRolePolicyRequest) -> ApiResult<Value> {
    attach(api, Kind::Role, &req.role_name, &req.policy_arn, false).await
}

/// Attaches (or detaches) a policy: both records are written in one transaction.
async fn attach(api: &Api, kind: Kind, name: &str, policy_arn: &str, on: bool) -> ApiResult<Value> {
    if policy_arn.len() < 20 || policy_arn.len() > 2048 {
        return Err(entities::validation(
            "policyArn",
            policy_arn,
            "Member must have length less than or equal to 2048 and greater than or equal to 20",
        ));
    }
    let store = api.store.as_ref();
    state::commit(store, || async {
        let identity = load(api, kind, name).await?;
        let policy = load_policy(api, policy_arn).await?;
        let mut next = identity.value.clone();
        let has = next.attached.iter().any(|a| a == policy_arn);
        match (on, has) {
            (true, false) => {
                if next.attached.len() >= kind.max_attached() {
                    return Err(ApiError::new(
                        ErrorCode::LimitExceeded,
                        format!("Cannot exceed quota for {}: {}", kind.attached_quota(), kind.max_attached()),
                    ));
                }
                next.attached.push(policy_arn.to_owned());
            }
            (false, true) => next.attached.retain(|a| a != policy_arn),
            (false, false) => {
                return Err(ApiError::new(ErrorCode::NoSuchEntity, format!("Policy {policy_arn} was not found.")));
            }
            (true, true) => {}
        }
        Ok((
            vec![identity.unchanged(), policy.unchanged()],
            vec![state::put(&identity.key, &next)?, state::put(&policy.key, &policy.value)?],
            (),
        ))
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAttachedRequest {
    user_name: Option<String>,
    group_name: Option<String>,
    role_name: Option<String>,
    path_prefix: Option<String>,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_attached_user_policies(api: &Api, _caller: &Caller, req: ListAttachedRequest) -> ApiResult<Value> {
    let name = req.user_name.clone().unwrap_or_default();
    list_attached(api, Kind::User, &name, &req).await
}

pub async fn list_attached_group_policies(api: &Api, _caller: &Caller, req: ListAttachedRequest) -> ApiResult<Value> {
    let name = req.group_name.clone().unwrap_or_default();
    list_attached(api, Kind::Group, &name, &req).await
}

pub async fn list_attached_role_policies(api: &Api, _caller: &Caller, req: ListAttachedRequest) -> ApiResult<Value> {
    let name = req.role_name.clone().unwrap_or_default();
    list_attached(api, Kind::Role, &name, &req).await
}

async fn list_attached(api: &Api, kind: Kind, name: &str, req: &ListAttachedRequest) -> ApiResult<Value> {
    let identity = load(api, kind, name).await?;
    let prefix = req.path_prefix.as_deref().unwrap_or("/");
    let mut attached = Vec::new();
    for arn in &identity.value.attached {
        if let Ok(p) = load_policy(api, arn).await
            && p.value.path.starts_with(prefix)
        {
            attached.push((p.value.name, arn.clone()));
        }
    }
    attached.sort();
    let (attached, truncated, marker) =
        page(attached, |(n, _)| n.to_ascii_lowercase(), req.marker.as_deref(), req.max_items)?;
    let shown: Vec<Value> =
        attached.iter().map(|(name, arn)| json!({ "PolicyName": name, "PolicyArn": arn })).collect();
    Ok(json!({ "AttachedPolicies": shown, "IsTruncated": truncated, "Marker": marker }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEntitiesForPolicyRequest {
    policy_arn: String,
    entity_filter: Option<String>,
    path_prefix: Option<String>,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_entities_for_policy(
    api: &Api,
    _caller: &Caller,
    req: ListEntitiesForPolicyRequest,
) -> ApiResult<Value> {
    load_policy(api, &req.policy_arn).await?;
    let filter = req.entity_filter.as_deref();
    if let Some(f) = filter
        && !matches!(f, "User" | "Role" | "Group" | "LocalManagedPolicy" | "AWSManagedPolicy")
    {
        return Err(entities::validation(
            "entityFilter",
            f,
            "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]",
        ));
    }
    let prefix = req.path_prefix.as_deref().unwrap_or("/");
    let entities: Vec<(Kind, entities::Identity)> = attached_to(api, &req.policy_arn)
        .await?
        .into_iter()
        .filter(|(kind, i)| {
            i.path.starts_with(prefix)
                && match filter {
                    Some("User") => *kind == Kind::User,
                    Some("Group") => *kind == Kind::Group,
                    Some("Role") => *kind == Kind::Role,
                    _ => true,
                }
        })
        .collect();
    let (entities, truncated, marker) = page(
        entities,
        |(kind, i)| format!("{}/{}", kind.as_str(), i.name.to_ascii_lowercase()),
        req.marker.as_deref(),
        req.max_items,
    )?;
    let of = |k: Kind, name_key: &str, id_key: &str| -> Vec<Value> {
        entities.iter().filter(|(kind, _)| *kind == k).map(|(_, i)| json!({ name_key: i.name, id_key: i.id })).collect()
    };
    Ok(json!({
        "PolicyGroups": of(Kind::Group, "GroupName", "GroupId"),
        "PolicyUsers": of(Kind::User, "UserName", "UserId"),
        "PolicyRoles": of(Kind::Role, "RoleName", "RoleId"),
        "IsTruncated": truncated,
        "Marker": marker,
    }))
}
