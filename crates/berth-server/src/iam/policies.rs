//! Customer managed policies: CreatePolicy, GetPolicy, DeletePolicy, ListPolicies, their versions
//! (CreatePolicyVersion, GetPolicyVersion, DeletePolicyVersion, ListPolicyVersions, SetDefaultPolicyVersion) and
//! tags. A policy is named by its ARN; its name is unique in the account whatever its path. Attaching is in
//! [`super::attached`], which rewrites the policy's record on every attachment so that a DeletePolicy deciding on
//! the attachments it counted is redone when one is added meanwhile.
//!
//! Limits: Berth has no AWS managed policies (`arn:aws:iam::aws:policy/...` names nothing); ListPolicies with
//! `Scope` AWS is empty.

use berth_policy::PolicyKind;
use berth_store::{Compare, Op};
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{self, IamTag, Identity, Kind, MAX_POLICY_VERSIONS, ManagedPolicy, PolicyVersion};
use super::{all, all_policies, page};
use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::{self, Versioned, keys};
use crate::wire::query::de;

/// IAM's limit on a managed policy document, in characters other than whitespace.
const MAX_DOCUMENT: usize = 6144;

/// A managed policy's document: as any identity policy, and (IAM's rule for managed policies) Version 2012-10-17.
fn check_document(document: &str) -> ApiResult<()> {
    let too_long = format!("Cannot exceed quota for PolicySize: {MAX_DOCUMENT}");
    let policy = entities::check_document(document, PolicyKind::Identity, MAX_DOCUMENT, &too_long)?;
    policy.require_current_version().map_err(|e| ApiError::new(ErrorCode::MalformedPolicyDocument, e.to_string()))
}

/// The policy an ARN names, or `NoSuchEntity`.
pub async fn load_policy(api: &Api, policy_arn: &str) -> ApiResult<Versioned<ManagedPolicy>> {
    let Some(name) = entities::policy_name_of(&api.scope.account_id, policy_arn) else {
        return Err(entities::no_policy(policy_arn));
    };
    match state::get::<ManagedPolicy>(api.store.as_ref(), &keys::iam(Kind::Policy.as_str(), &name)).await? {
        Some(p) if p.value.arn(&api.scope.account_id) == policy_arn => Ok(p),
        _ => Err(entities::no_policy(policy_arn)),
    }
}

/// How many users, groups and roles each policy ARN is attached to.
pub async fn attachment_counts(api: &Api) -> ApiResult<std::collections::HashMap<String, usize>> {
    let mut counts = std::collections::HashMap::new();
    for kind in [Kind::User, Kind::Group, Kind::Role] {
        for identity in all(api, kind).await? {
            for arn in &identity.value.attached {
                *counts.entry(arn.clone()).or_insert(0) += 1;
            }
        }
    }
    Ok(counts)
}

/// The users, groups and roles a policy is attached to, by kind.
pub async fn attached_to(api: &Api, policy_arn: &str) -> ApiResult<Vec<(Kind, Identity)>> {
    let mut found = Vec::new();
    for kind in [Kind::User, Kind::Group, Kind::Role] {
        for identity in all(api, kind).await? {
            if identity.value.attached.iter().any(|a| a == policy_arn) {
                found.push((kind, identity.value));
            }
        }
    }
    Ok(found)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePolicyRequest {
    policy_name: String,
    path: Option<String>,
    policy_document: String,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<IamTag>,
}

pub async fn create_policy(api: &Api, _caller: &Caller, req: CreatePolicyRequest) -> ApiResult<Value> {
    entities::check_name(Kind::Policy, "policyName", &req.policy_name)?;
    let path = req.path.as_deref().unwrap_or("/");
    entities::check_path("path", path)?;
    entities::check_tags(&req.tags)?;
    check_document(&req.policy_document)?;
    if let Some(d) = &req.description
        && d.chars().count() > 1000
    {
        return Err(entities::validation("description", d, "Member must have length less than or equal to 1000"));
    }
    let now = api.now();
    let policy = ManagedPolicy {
        name: req.policy_name.clone(),
        id: entities::new_id(Kind::Policy),
        path: path.to_owned(),
        description: req.description.clone(),
        created_at: now,
        updated_at: now,
        default_version: "v1".into(),
        versions: vec![PolicyVersion { id: "v1".into(), document: req.policy_document.clone(), created_at: now }],
        next_version: 2,
        tags: req.tags,
    };
    let key = keys::iam(Kind::Policy.as_str(), &policy.name);
    let put = state::put(&key, &policy)?;
    if !api.store.txn(vec![Compare::absent(key)], vec![put]).await?.succeeded {
        return Err(entities::already_exists(Kind::Policy, &policy.name));
    }
    Ok(json!({ "Policy": policy.present(&api.scope.account_id, 0, true) }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyArnRequest {
    policy_arn: String,
}

pub async fn get_policy(api: &Api, _caller: &Caller, req: PolicyArnRequest) -> ApiResult<Value> {
    let policy = load_policy(api, &req.policy_arn).await?;
    let count = attachment_counts(api).await?.get(&req.policy_arn).copied().unwrap_or(0);
    Ok(json!({ "Policy": policy.value.present(&api.scope.account_id, count, true) }))
}

pub async fn delete_policy(api: &Api, _caller: &Caller, req: PolicyArnRequest) -> ApiResult<Value> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let policy = load_policy(api, &req.policy_arn).await?;
        if !attached_to(api, &req.policy_arn).await?.is_empty() {
            return Err(ApiError::new(ErrorCode::DeleteConflict, "Cannot delete a policy attached to entities."));
        }
        if policy.value.versions.len() > 1 {
            return Err(ApiError::new(
                ErrorCode::DeleteConflict,
                "This policy has more than one version. Before you delete a policy, you must delete the policy's \
                 versions. The default version is deleted with the policy.",
            ));
        }
        Ok((vec![policy.unchanged()], vec![Op::delete(policy.key.clone())], ()))
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPoliciesRequest {
    scope: Option<String>,
    #[serde(default, deserialize_with = "de::boolean")]
    only_attached: Option<bool>,
    path_prefix: Option<String>,
    policy_usage_filter: Option<String>,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_policies(api: &Api, _caller: &Caller, req: ListPoliciesRequest) -> ApiResult<Value> {
    let scope = req.scope.as_deref().unwrap_or("All");
    if !matches!(scope, "All" | "AWS" | "Local") {
        return Err(entities::validation("scope", scope, "Member must satisfy enum value set: [All, AWS, Local]"));
    }
    if let Some(f) = req.policy_usage_filter.as_deref()
        && !matches!(f, "PermissionsPolicy" | "PermissionsBoundary")
    {
        return Err(entities::validation(
            "policyUsageFilter",
            f,
            "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]",
        ));
    }
    let prefix = req.path_prefix.as_deref().unwrap_or("/");
    let counts = attachment_counts(api).await?;
    let account = &api.scope.account_id;
    let policies: Vec<ManagedPolicy> = all_policies(api)
        .await?
        .into_iter()
        .map(|p| p.value)
        // Berth's policies are all the account's own; no policy is used as a permissions boundary.
        .filter(|_| scope != "AWS" && req.policy_usage_filter.as_deref() != Some("PermissionsBoundary"))
        .filter(|p| p.path.starts_with(prefix))
        .filter(|p| req.only_attached != Some(true) || counts.get(&p.arn(account)).is_some_and(|c| *c > 0))
        .collect();
    let (policies, truncated, marker) =
        page(policies, |p| p.name.to_ascii_lowercase(), req.marker.as_deref(), req.max_items)?;
    let shown: Vec<Value> =
        policies.iter().map(|p| p.present(account, counts.get(&p.arn(account)).copied().unwrap_or(0), false)).collect();
    Ok(json!({ "Policies": shown, "IsTruncated": truncated, "Marker": marker }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePolicyVersionRequest {
    policy_arn: String,
    policy_document: String,
    #[serde(default, deserialize_with = "de::boolean")]
    set_as_default: Option<bool>,
}

pub async fn create_policy_version(api: &Api, _caller: &Caller, req: CreatePolicyVersionRequest) -> ApiResult<Value> {
    check_document(&req.policy_document)?;
    let store = api.store.as_ref();
    let (policy, version) = state::commit(store, || async {
        let current = load_policy(api, &req.policy_arn).await?;
        let mut policy = current.value.clone();
        if policy.versions.len() >= MAX_POLICY_VERSIONS {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!(
                    "A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you create a new version, \
                     you must delete an existing version."
                ),
            ));
        }
        let now = api.now();
        let version = PolicyVersion {
            id: format!("v{}", policy.next_version),
            document: req.policy_document.clone(),
            created_at: now,
        };
        policy.next_version += 1;
        policy.versions.insert(0, version.clone());
        if req.set_as_default == Some(true) {
            policy.default_version.clone_from(&version.id);
        }
        policy.updated_at = now;
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &policy)?], (policy, version)))
    })
    .await?;
    Ok(json!({ "PolicyVersion": policy.present_version(&version) }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersionRequest {
    policy_arn: String,
    version_id: String,
}

fn no_version(req: &PolicyVersionRequest) -> ApiError {
    ApiError::new(
        ErrorCode::NoSuchEntity,
        format!("Policy {} version {} does not exist or is not attachable.", req.policy_arn, req.version_id),
    )
}

pub async fn get_policy_version(api: &Api, _caller: &Caller, req: PolicyVersionRequest) -> ApiResult<Value> {
    let policy = load_policy(api, &req.policy_arn).await?.value;
    let Some(version) = policy.version(&req.version_id) else { return Err(no_version(&req)) };
    Ok(json!({ "PolicyVersion": policy.present_version(version) }))
}

pub async fn delete_policy_version(api: &Api, _caller: &Caller, req: PolicyVersionRequest) -> ApiResult<Value> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let current = load_policy(api, &req.policy_arn).await?;
        let mut policy = current.value.clone();
        if policy.version(&req.version_id).is_none() {
            return Err(no_version(&req));
        }
        if policy.default_version == req.version_id {
            return Err(ApiError::new(ErrorCode::DeleteConflict, "Cannot delete the default version of a policy."));
        }
        policy.versions.retain(|v| v.id != req.version_id);
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &policy)?], ()))
    })
    .await?;
    Ok(json!({}))
}

pub async fn set_default_policy_version(api: &Api, _caller: &Caller, req: PolicyVersionRequest) -> ApiResult<Value> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let current = load_policy(api, &req.policy_arn).await?;
        let mut policy = current.value.clone();
        if policy.version(&req.version_id).is_none() {
            return Err(no_version(&req));
        }
        policy.default_version.clone_from(&req.version_id);
        policy.updated_at = api.now();
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &policy)?], ()))
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicyVersionsRequest {
    policy_arn: String,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_policy_versions(api: &Api, _caller: &Caller, req: ListPolicyVersionsRequest) -> ApiResult<Value> {
    let policy = load_policy(api, &req.policy_arn).await?.value;
    // Newest first, as IAM lists them; the marker orders by zero-padded version number.
    let key = |v: &PolicyVersion| format!("{:010}", u32::MAX - v.id[1..].parse::<u32>().unwrap_or(0));
    let (versions, truncated, marker) = page(policy.versions.clone(), key, req.marker.as_deref(), req.max_items)?;
    let shown: Vec<Value> = versions
        .iter()
        .map(|v| {
            let mut shown = policy.present_version(v);
            // ListPolicyVersions leaves the documents out.
            if let Some(o) = shown.as_object_mut() {
                o.remove("Document");
            }
            shown
        })
        .collect();
    Ok(json!({ "Versions": shown, "IsTruncated": truncated, "Marker": marker }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagPolicyRequest {
    policy_arn: String,
    tags: Vec<IamTag>,
}

pub async fn tag_policy(api: &Api, _caller: &Caller, req: TagPolicyRequest) -> ApiResult<Value> {
    entities::check_tags(&req.tags)?;
    modify_policy(api, &req.policy_arn, |p| entities::merge_tags(&mut p.tags, req.tags.clone())).await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagPolicyRequest {
    policy_arn: String,
    tag_keys: Vec<String>,
}

pub async fn untag_policy(api: &Api, _caller: &Caller, req: UntagPolicyRequest) -> ApiResult<Value> {
    modify_policy(api, &req.policy_arn, |p| {
        p.tags.retain(|t| !req.tag_keys.contains(&t.key));
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicyTagsRequest {
    policy_arn: String,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

pub async fn list_policy_tags(api: &Api, _caller: &Caller, req: ListPolicyTagsRequest) -> ApiResult<Value> {
    let mut tags = load_policy(api, &req.policy_arn).await?.value.tags;
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    let (tags, truncated, marker) = page(tags, |t| t.key.clone(), req.marker.as_deref(), req.max_items)?;
    Ok(json!({ "Tags": tags, "IsTruncated": truncated, "Marker": marker }))
}

/// Read-modify-write of one managed policy (rewritten even when unchanged, so its revision moves).
pub async fn modify_policy<R>(
    api: &Api,
    policy_arn: &str,
    change: impl Fn(&mut ManagedPolicy) -> ApiResult<R>,
) -> ApiResult<R> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let current = load_policy(api, policy_arn).await?;
        let mut next = current.value.clone();
        let result = change(&mut next)?;
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &next)?], result))
    })
    .await
}
