//! GetAccountAuthorizationDetails: every user, group, role and managed policy with their policies, in one paged
//! answer (`Filter` picks kinds). Documents are URL-encoded, as in IAM's answer.

use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{self, Identity, Kind, ManagedPolicy};
use super::policies::attachment_counts;
use super::{all, all_policies, page};
use crate::api::Api;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::wire::query::{de, url_encoded};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccountAuthorizationDetailsRequest {
    #[serde(default)]
    filter: Vec<String>,
    marker: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    max_items: Option<i64>,
}

const FILTERS: [&str; 5] = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"];

/// One entry of the answer, in the order IAM pages them.
enum Entry {
    Identity(Kind, Identity),
    Policy(ManagedPolicy),
}

pub async fn get_account_authorization_details(
    api: &Api,
    _caller: &Caller,
    req: GetAccountAuthorizationDetailsRequest,
) -> ApiResult<Value> {
    for f in &req.filter {
        if !FILTERS.contains(&f.as_str()) {
            return Err(entities::validation(
                "filter",
                f,
                "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]",
            ));
        }
    }
    let wants = |f: &str| req.filter.is_empty() || req.filter.iter().any(|x| x == f);
    let mut entries = Vec::new();
    for (kind, filter) in [(Kind::User, "User"), (Kind::Group, "Group"), (Kind::Role, "Role")] {
        if wants(filter) {
            entries.extend(all(api, kind).await?.into_iter().map(|i| Entry::Identity(kind, i.value)));
        }
    }
    if wants("LocalManagedPolicy") {
        entries.extend(all_policies(api).await?.into_iter().map(|p| Entry::Policy(p.value)));
    }
    let key = |e: &Entry| match e {
        Entry::Identity(kind, i) => format!("{}/{}", kind.as_str(), i.name.to_ascii_lowercase()),
        Entry::Policy(p) => format!("policy/{}", p.name.to_ascii_lowercase()),
    };
    entries.sort_by_key(key);
    let (entries, truncated, marker) = page(entries, key, req.marker.as_deref(), req.max_items)?;

    let account = &api.scope.account_id;
    let counts = attachment_counts(api).await?;
    let policies = all_policies(api).await?;
    let attached_names = |arns: &[String]| -> Vec<Value> {
        arns.iter()
            .map(|arn| {
                let name = policies.iter().find(|p| &p.value.arn(account) == arn).map(|p| p.value.name.clone());
                json!({ "PolicyName": name, "PolicyArn": arn })
            })
            .collect()
    };
    let inline = |i: &Identity| -> Vec<Value> {
        i.inline.iter().map(|(n, d)| json!({ "PolicyName": n, "PolicyDocument": url_encoded(d) })).collect()
    };
    let (mut users, mut groups, mut roles, mut managed) = (vec![], vec![], vec![], vec![]);
    for entry in entries {
        match entry {
            Entry::Identity(Kind::User, u) => {
                let mut v = u.present(Kind::User, account, true);
                v["UserPolicyList"] = json!(inline(&u));
                v["GroupList"] = json!(u.groups);
                v["AttachedManagedPolicies"] = json!(attached_names(&u.attached));
                users.push(v);
            }
            Entry::Identity(Kind::Group, g) => {
                let mut v = g.present(Kind::Group, account, false);
                v["GroupPolicyList"] = json!(inline(&g));
                v["AttachedManagedPolicies"] = json!(attached_names(&g.attached));
                groups.push(v);
            }
            Entry::Identity(_, r) => {
                let mut v = r.present(Kind::Role, account, true);
                if let Some(o) = v.as_object_mut() {
                    o.remove("Description");
                    o.remove("MaxSessionDuration");
                }
                v["InstanceProfileList"] = json!([]);
                v["RolePolicyList"] = json!(inline(&r));
                v["AttachedManagedPolicies"] = json!(attached_names(&r.attached));
                roles.push(v);
            }
            Entry::Policy(p) => {
                let mut v = p.present(account, counts.get(&p.arn(account)).copied().unwrap_or(0), false);
                v["PolicyVersionList"] = json!(p.versions.iter().map(|x| p.present_version(x)).collect::<Vec<_>>());
                managed.push(v);
            }
        }
    }
    Ok(json!({
        "UserDetailList": users,
        "GroupDetailList": groups,
        "RoleDetailList": roles,
        "Policies": managed,
        "IsTruncated": truncated,
        "Marker": marker,
    }))
}
