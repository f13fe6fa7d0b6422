//! Inline policies of users, groups and roles: Put/Get/Delete/List User/Group/RolePolicy. A document is checked as
//! IAM does (MalformedPolicyDocument naming the problem; the kind's size limit) and kept as sent; Get answers it
//! URL-encoded, as IAM does.

use serde::Deserialize;
use serde_json::{Value, json};

use berth_policy::PolicyKind;

use super::entities::{self, Kind};
use super::{load, modify, page};
use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::wire::query::{de, url_encoded};

/// The request shape shared by the twelve operations: one of the three names, and the policy's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlineRequest {
    user_name: Option<String>,
    group_name: Option<String>,
    role_name: Option<String>,
    policy_name: Option<String>,
    policy_document: Option<String>,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

impl InlineRequest {
    fn name(&self, kind: Kind) -> String {
        match kind {
            Kind::User => self.user_name.clone(),
            Kind::Group => self.group_name.clone(),
            _ => self.role_name.clone(),
        }
        .unwrap_or_default()
    }

    fn policy_name(&self) -> ApiResult<String> {
        let name = self.policy_name.clone().unwrap_or_default();
        entities::check_name(Kind::Policy, "policyName", &name)?;
        Ok(name)
    }
}

fn no_inline(kind: Kind, policy: &str) -> ApiError {
    let noun = match kind {
        Kind::User => "user",
        Kind::Group => "group",
        _ => "role",
    };
    ApiError::new(ErrorCode::NoSuchEntity, format!("The {noun} policy with name {policy} cannot be found."))
}

async fn put(api: &Api, kind: Kind, req: InlineRequest) -> ApiResult<Value> {
    let policy = req.policy_name()?;
    let Some(document) = req.policy_document.clone() else {
        return Err(entities::validation("policyDocument", "", "Member must not be null"));
    };
    let max = kind.max_inline_policy();
    let too_long = format!("Maximum policy size of {max} bytes exceeded for {} {}", kind.as_str(), req.name(kind));
    entities::check_document(&document, PolicyKind::Identity, max, &too_long)?;
    modify(api, kind, &req.name(kind), |i| {
        i.inline.insert(policy.clone(), document.clone());
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

async fn get(api: &Api, kind: Kind, req: InlineRequest) -> ApiResult<Value> {
    let policy = req.policy_name()?;
    let identity = load(api, kind, &req.name(kind)).await?.value;
    let Some(document) = identity.inline.get(&policy) else { return Err(no_inline(kind, &policy)) };
    let name_key = match kind {
        Kind::User => "UserName",
        Kind::Group => "GroupName",
        _ => "RoleName",
    };
    Ok(json!({ name_key: identity.name, "PolicyName": policy, "PolicyDocument": url_encoded(document) }))
}

async fn delete(api: &Api, kind: Kind, req: InlineRequest) -> ApiResult<Value> {
    let policy = req.policy_name()?;
    modify(api, kind, &req.name(kind), |i| match i.inline.remove(&policy) {
        Some(_) => Ok(()),
        None => Err(no_inline(kind, &policy)),
    })
    .await?;
    Ok(json!({}))
}

async fn list(api: &Api, kind: Kind, req: InlineRequest) -> ApiResult<Value> {
    let identity = load(api, kind, &req.name(kind)).await?.value;
    let names: Vec<String> = identity.inline.keys().cloned().collect();
    let (names, truncated, marker) = page(names, |n| n.clone(), req.marker.as_deref(), req.max_items)?;
    Ok(json!({ "PolicyNames": names, "IsTruncated": truncated, "Marker": marker }))
}

pub async fn put_user_policy(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    put(api, Kind::User, req).await
}
pub async fn get_user_policy(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    get(api, Kind::User, req).await
}
pub async fn delete_user_policy(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    delete(api, Kind::User, req).await
}
pub async fn list_user_policies(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    list(api, Kind::User, req).await
}
pub async fn put_group_policy(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    put(api, Kind::Group, req).await
}
pub async fn get_group_policy(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    get(api, Kind::Group, req).await
}
pub async fn delete_group_policy(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    delete(api, Kind::Group, req).await
}
pub async fn list_group_policies(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    list(api, Kind::Group, req).await
}
pub async fn put_role_policy(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    put(api, Kind::Role, req).await
}
pub async fn get_role_policy(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    get(api, Kind::Role, req).await
}
pub async fn delete_role_policy(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    delete(api, Kind::Role, req).await
}
pub async fn list_role_policies(api: &Api, _caller: &Caller, req: InlineRequest) -> ApiResult<Value> {
    list(api, Kind::Role, req).await
}
