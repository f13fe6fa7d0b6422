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

pub mod instance;
pub mod reference;
mod targets;

pub use targets::Check;

/// Where a request came from: what `aws:SourceIp` and `aws:SecureTransport` say.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin {
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
}

impl Origin {
    /// The origin of a request, from the connection's [`berth_tls::Peer`].
    pub fn of(parts: &axum::http::request::Parts) -> Self {
        match parts.extensions.get::<axum::extract::ConnectInfo<berth_tls::Peer>>() {
            Some(axum::extract::ConnectInfo(peer)) => {
                Origin { source_ip: Some(peer.addr.ip()), secure_transport: peer.secure }
            }
            None => Origin::default(),
        }
    }
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
    // A task role's session lasts as long as its task.
    if let Caller::Role { task: Some(task), .. } = caller
        && !task_running(api, task).await?
    {
        return Err(ApiError::new(
            ErrorCode::ExpiredTokenException,
            "The security token included in the request is expired",
        ));
    }
    // As on AWS, anyone may ask who they are.
    if matches!(caller, Caller::Root) || (service == "sts" && operation == "GetCallerIdentity") {
        return Ok(());
    }
    // An agent's instance identity: its own instance's agent operations only, whatever policies say.
    if let Caller::Instance { cluster, instance_arn, .. } = caller {
        if instance::allows(api, cluster, instance_arn, operation, input).await? {
            return Ok(());
        }
        return Err(ApiError::new(
            ErrorCode::AccessDeniedException,
            format!(
                "User: {instance_arn} is not authorized to perform: {service}:{operation} on resource: * because an \
                 agent's instance identity may only call the agent operations for its own instance and tasks"
            ),
        ));
    }
    let who = match Who::of(api, caller).await {
        Ok(who) => who,
        Err(arn) => return Err(denied(&arn, &format!("{service}:{operation}"), "*", false)),
    };
    let mut context = who.context(api, origin);
    for check in targets::checks(api, caller, service, operation, input, who.reads_resource_tags).await? {
        for (key, values) in &check.context {
            context.set(key, values.clone());
        }
        let request =
            Request { action: &check.action, resource: &check.resource, principal: &who.principal, context: &context };
        let mut decision = berth_policy::evaluate(&request, who.policies.iter().map(Arc::as_ref));
        if let Some(session) = &who.session_policy {
            decision = decision.intersect(berth_policy::evaluate(&request, [session.as_ref()]));
        }
        match decision {
            Decision::Allow => {}
            Decision::ExplicitDeny => return Err(denied(&who.arn, &check.action, &check.resource, true)),
            Decision::ImplicitDeny => return Err(denied(&who.arn, &check.action, &check.resource, false)),
        }
        for (key, _) in &check.context {
            context.remove(key);
        }
    }
    Ok(())
}

/// The caller as policies see it: its principal, ARN, policies and principal condition keys.
struct Who {
    principal: Principal,
    /// As denials name it: the user, or the role's session (`assumed-role/<role>/<session>`).
    arn: String,
    policies: Vec<Arc<Policy>>,
    /// A role session's session policy: the session may do only what both allow.
    session_policy: Option<Arc<Policy>>,
    /// Whether any of those policies reads `aws:ResourceTag/*` (otherwise resources' tags are not looked up).
    reads_resource_tags: bool,
    /// `aws:PrincipalArn` (a session's is its role's), `aws:userid`, `aws:username` for users.
    keys: Vec<(String, String)>,
    tags: Vec<(String, String)>,
}

impl Who {
    /// The caller's identity; `Err` with its ARN when the user or role no longer exists.
    async fn of(api: &Api, caller: &Caller) -> Result<Who, String> {
        let account = &api.scope.account_id;
        match caller {
            Caller::Root => Err(format!("arn:aws:iam::{account}:root")),
            // Authorized by `instance` before policies are looked at.
            Caller::Instance { instance_arn, .. } => Err(instance_arn.clone()),
            Caller::User { name, .. } => {
                let Some(cached) = api.policies.identity(api, Kind::User, name).await else {
                    return Err(crate::iam::entities::arn(Kind::User, account, "/", name));
                };
                let user = &cached.identity;
                let arn = user.arn(Kind::User, account);
                let policies = cached.policies.clone();
                Ok(Who {
                    principal: Principal::user(account, &user.path, &user.name),
                    keys: vec![
                        ("aws:username".into(), user.name.clone()),
                        ("aws:userid".into(), user.id.clone()),
                        ("aws:PrincipalArn".into(), arn.clone()),
                        ("aws:PrincipalType".into(), "User".into()),
                    ],
                    tags: user.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
                    arn,
                    policies,
                    session_policy: None,
                    reads_resource_tags: cached.reads_resource_tags,
                })
            }
            Caller::Role { name, session, policy, tags, .. } => {
                let session_arn = crate::sts::assumed_role_arn(account, name, session);
                let Some(cached) = api.policies.identity(api, Kind::Role, name).await else { return Err(session_arn) };
                let role = &cached.identity;
                let policies = cached.policies.clone();
                // Session tags win over the role's own tags.
                let mut all_tags: Vec<(String, String)> = role
                    .tags
                    .iter()
                    .filter(|t| !tags.iter().any(|(k, _)| k == &t.key))
                    .map(|t| (t.key.clone(), t.value.clone()))
                    .collect();
                all_tags.extend(tags.iter().cloned());
                let session_policy = policy.as_deref().and_then(|d| api.policies.parsed(d));
                let reads_resource_tags =
                    cached.reads_resource_tags || session_policy.as_ref().is_some_and(|p| p.reads_key(RESOURCE_TAG));
                Ok(Who {
                    principal: Principal::assumed_role(account, name, session),
                    keys: vec![
                        ("aws:userid".into(), format!("{}:{session}", role.id)),
                        ("aws:PrincipalArn".into(), role.arn(Kind::Role, account)),
                        ("aws:PrincipalType".into(), "AssumedRole".into()),
                    ],
                    tags: all_tags,
                    arn: session_arn,
                    policies,
                    session_policy,
                    reads_resource_tags,
                })
            }
        }
    }

    /// The request's condition keys that come from the caller and the connection.
    fn context(&self, api: &Api, origin: Origin) -> Context {
        let mut context = Context::new().with_principal(&self.principal);
        for (k, v) in &self.keys {
            context.set(k, vec![v.clone()]);
        }
        context.set("aws:PrincipalAccount", vec![api.scope.account_id.clone()]);
        for (k, v) in &self.tags {
            context.set(&format!("aws:PrincipalTag/{k}"), vec![v.clone()]);
        }
        let now = api.now();
        context.set("aws:CurrentTime", vec![crate::wire::query::timestamp(now)]);
        context.set("aws:EpochTime", vec![(now.floor() as i64).to_string()]);
        context.set("aws:SecureTransport", vec![origin.secure_transport.to_string()]);
        if let Some(ip) = origin.source_ip {
            context.set("aws:SourceIp", vec![ip.to_string()]);
        }
        context
    }
}

/// Whether the task an ARN names exists and has not reached STOPPED.
async fn task_running(api: &Api, task_arn: &str) -> ApiResult<bool> {
    // (Short task ARNs, from the taskLongArnFormat account setting, are found in whichever cluster holds them.)
    Ok(crate::ops::tasks::find_by_arn(api, task_arn)
        .await?
        // Still stopping counts as running: its containers may need their credentials to shut down cleanly.
        .is_some_and(|t| !t.task.is_stopped()))
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

/// A user's or role's identity-based policies: its inline and attached ones, and (users) those of its groups.
async fn identity_policies(api: &Api, identity: &Identity, with_groups: bool) -> ApiResult<Vec<Arc<Policy>>> {
    let mut documents: Vec<String> = identity.inline.values().cloned().collect();
    let mut attached = identity.attached.clone();
    let groups = if with_groups { identity.groups.as_slice() } else { &[] };
    for group in groups {
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

/// What authorization keeps in memory so that a request reads nothing from the store for its caller's policies:
/// parsed policy documents by their text (documents were validated when stored; one that no longer parses, after
/// an upgrade made the parser stricter, grants nothing), and each user's and role's record with its policies
/// (inline, attached, and a user's groups'), parsed.
///
/// The identities are valid while the generation has not moved. It moves after every IAM operation this server
/// runs (before the answer is sent, so a caller sees its own change at once) and on every change of an IAM record
/// the store reports, whoever made it (another replica): [`PolicyCache::follow`].
#[derive(Default)]
pub struct PolicyCache {
    parsed: Mutex<HashMap<String, Arc<Policy>>>,
    /// By kind and lowercased name, with the generation they were read at.
    identities: Mutex<HashMap<(Kind, String), Stamped>>,
    generation: std::sync::atomic::AtomicU64,
}

type Stamped = (u64, Arc<CachedIdentity>);

/// A user or role as authorization sees it.
pub struct CachedIdentity {
    pub identity: Identity,
    pub policies: Vec<Arc<Policy>>,
    /// Whether any of its policies reads `aws:ResourceTag/*`.
    pub reads_resource_tags: bool,
}

/// The condition keys of a resource's tags.
const RESOURCE_TAG: &str = "aws:ResourceTag/";

/// The cache is dropped whole when it reaches this many documents (documents change rarely).
const CACHE_LIMIT: usize = 4096;

impl PolicyCache {
    pub fn parsed(&self, document: &str) -> Option<Arc<Policy>> {
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

    /// A user or role with its policies, from memory while nothing in IAM changed; `None` when it does not exist.
    pub async fn identity(&self, api: &Api, kind: Kind, name: &str) -> Option<Arc<CachedIdentity>> {
        use std::sync::atomic::Ordering;
        // Read before the store: a change committed meanwhile moves the generation past the one stamped below.
        let generation = self.generation.load(Ordering::Acquire);
        let key = (kind, name.to_ascii_lowercase());
        {
            let cache = self.identities.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((at, cached)) = cache.get(&key)
                && *at == generation
            {
                return Some(cached.clone());
            }
        }
        let identity = crate::iam::load(api, kind, name).await.ok()?.value;
        let policies = identity_policies(api, &identity, kind == Kind::User).await.ok()?;
        let reads_resource_tags = policies.iter().any(|p| p.reads_key(RESOURCE_TAG));
        let cached = Arc::new(CachedIdentity { identity, policies, reads_resource_tags });
        let mut cache = self.identities.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, (generation, cached.clone()));
        Some(cached)
    }

    /// Something in IAM changed: every identity is read again on its next request.
    pub fn changed(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Follows the store's IAM records until the task is dropped, moving the generation on each change, and when
    /// the watch is cut (history compacted, watcher lagged), after which it watches again from the current revision.
    pub async fn follow(&self, store: &dyn berth_store::Store) {
        use futures::StreamExt;
        loop {
            let from = match store.current_revision().await {
                Ok(revision) => revision,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the store's revision to watch IAM");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    continue;
                }
            };
            // Whatever happened before `from` while nothing watched.
            self.changed();
            match store.watch(crate::state::keys::IAM, from).await {
                Ok(mut events) => {
                    while let Some(event) = events.next().await {
                        self.changed();
                        if let Err(e) = event {
                            tracing::info!(error = %e, "IAM watch ended; watching again");
                            break;
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "IAM watch failed; watching again"),
            }
            // A short pause keeps a failing store from turning this loop into a busy one.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
