//! Authorization: every request of every Berth API passes [`authorize`] before its handler runs. The operation's IAM
//! action, the resource ARNs it acts on and the request's condition keys come from the AWS Service Authorization
//! Reference ([`reference`], turned into checks by [`targets`]); the caller's identity-based policies (inline and
//! attached, its own and its groups') are evaluated by `berth_policy` with IAM's logic: an explicit Deny wins, then
//! an Allow, else the request is denied. The account root (the key `berth up` created) is allowed everything, as on
//! AWS; so is every request when signatures are not checked (`--auth none`).
//!
//! A denial answers `AccessDeniedException` with AWS's message (the query protocol calls it `AccessDenied`).
//!
//! Limits: no permissions boundaries, session policies, SCPs or resource-based policies (Berth's resources have
//! none); `aws:ResourceTag` is known for clusters, services, task definitions and log groups; Berth's own operations
//! (the agent channel, DescribeUtilization) are actions `berth:<Operation>` on `*`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use berth_policy::{Context, Decision, Policy, PolicyKind, Principal, Request};
use serde_json::Value;

use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::iam::entities::{Identity, Kind};
use crate::iam::policies::load_policy;

pub mod reference;
mod targets;

pub use targets::Check;

/// Where a request came from: what `aws:SourceIp` and `aws:SecureTransport` say.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin {
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
}

/// Checks that `caller` may run `operation` of `service` (`ecs`, `logs`, `iam`, `sts`, `berth`) with `input`.
pub async fn authorize(
    api: &Api,
    caller: &Caller,
    origin: Origin,
    service: &str,
    operation: &str,
    input: &Value,
) -> ApiResult<()> {
    let Caller::User { name, .. } = caller else { return Ok(()) };
    // As on AWS, anyone may ask who they are.
    if service == "sts" && operation == "GetCallerIdentity" {
        return Ok(());
    }
    let account = api.scope.account_id.clone();
    let user = match crate::iam::load(api, Kind::User, name).await {
        Ok(u) => u.value,
        Err(_) => {
            let arn = crate::iam::entities::arn(Kind::User, &account, "/", name);
            return Err(denied(&arn, &format!("{service}:{operation}"), "*", false));
        }
    };
    let principal_arn = user.arn(Kind::User, &account);
    let policies = identity_policies(api, &user).await?;
    let principal = Principal::user(&account, &user.path, &user.name);
    let mut context = Context::new().with_principal(&principal);
    context.set("aws:username", vec![user.name.clone()]);
    context.set("aws:userid", vec![user.id.clone()]);
    context.set("aws:PrincipalArn", vec![principal_arn.clone()]);
    context.set("aws:PrincipalAccount", vec![account.clone()]);
    context.set("aws:PrincipalType", vec!["User".into()]);
    for tag in &user.tags {
        context.set(&format!("aws:PrincipalTag/{}", tag.key), vec![tag.value.clone()]);
    }
    let now = api.now();
    context.set("aws:CurrentTime", vec![crate::wire::query::timestamp(now)]);
    context.set("aws:EpochTime", vec![(now.floor() as i64).to_string()]);
    context.set("aws:SecureTransport", vec![origin.secure_transport.to_string()]);
    if let Some(ip) = origin.source_ip {
        context.set("aws:SourceIp", vec![ip.to_string()]);
    }
    for check in targets::checks(api, caller, service, operation, input).await? {
        let mut ctx = context.clone();
        for (key, values) in &check.context {
            ctx.set(key, values.clone());
        }
        let request =
            Request { action: &check.action, resource: &check.resource, principal: &principal, context: &ctx };
        match berth_policy::evaluate(&request, policies.iter().map(Arc::as_ref)) {
            Decision::Allow => {}
            Decision::ExplicitDeny => return Err(denied(&principal_arn, &check.action, &check.resource, true)),
            Decision::ImplicitDeny => return Err(denied(&principal_arn, &check.action, &check.resource, false)),
        }
    }
    Ok(())
}

/// AWS's denial.
fn denied(principal: &str, action: &str, resource: &str, explicit: bool) -> ApiError {
    let why = if explicit {
        "with an explicit deny in an identity-based policy".to_owned()
    } else {
        format!("because no identity-based policy allows the {action} action")
    };
    ApiError::new(
        ErrorCode::AccessDeniedException,
        format!("User: {principal} is not authorized to perform: {action} on resource: {resource} {why}"),
    )
}

/// A user's identity-based policies: its inline and attached ones, and those of its groups.
async fn identity_policies(api: &Api, user: &Identity) -> ApiResult<Vec<Arc<Policy>>> {
    let mut documents: Vec<String> = user.inline.values().cloned().collect();
    let mut attached = user.attached.clone();
    for group in &user.groups {
        if let Ok(g) = crate::iam::load(api, Kind::Group, group).await {
            documents.extend(g.value.inline.values().cloned());
            attached.extend(g.value.attached.iter().cloned());
        }
    }
    attached.sort();
    attached.dedup();
    for arn in attached {
        if let Ok(p) = load_policy(api, &arn).await
            && let Some(d) = p.value.default_document()
        {
            documents.push(d.to_owned());
        }
    }
    Ok(documents.iter().filter_map(|d| api.policies.parsed(d)).collect())
}

/// Parsed policy documents by their text, so a request does not parse the same documents again. Documents were
/// validated when stored; one that no longer parses (a stricter parser after an upgrade) grants nothing.
#[derive(Default)]
pub struct PolicyCache {
    parsed: Mutex<HashMap<String, Arc<Policy>>>,
}

/// The cache is dropped whole when it reaches this many documents (documents change rarely).
const CACHE_LIMIT: usize = 4096;

impl PolicyCache {
    fn parsed(&self, document: &str) -> Option<Arc<Policy>> {
        let mut cache = self.parsed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(p) = cache.get(document) {
            return Some(p.clone());
        }
        let policy = match Policy::parse(document, PolicyKind::Identity) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                tracing::warn!(error = %e, "a stored policy document does not parse; it grants nothing");
                return None;
            }
        };
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(document.to_owned(), policy.clone());
        Some(policy)
    }
}
