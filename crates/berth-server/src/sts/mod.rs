//! STS (query protocol, `Version=2011-06-15`, signed for `sts`). Every operation of the botocore STS model is in
//! [`OPERATIONS`]; served: GetCallerIdentity (which, as on AWS, needs no permission), GetAccessKeyInfo, AssumeRole
//! and GetSessionToken. Temporary credentials are verified on every request from their session token alone
//! ([`session`]).
//!
//! AssumeRole: the role's trust policy must allow the caller `sts:AssumeRole` (and `sts:TagSession` when session
//! tags are given), and, as every call by an IAM user, the caller's own policies must allow it too (AWS waives the
//! latter when the trust policy names the user itself; Berth does not). The session's permissions are the role's,
//! limited by the session policies (`Policy` and `PolicyArns`) when given. As on AWS, the account root may not
//! assume roles, and role chaining is limited to an hour.
//!
//! AssumeRoleWithWebIdentity ([`web_identity`]) takes tokens of Berth's own OIDC issuer, unauthenticated as on AWS.
//!
//! Limits: SAML, federation tokens, other OIDC providers and MFA are not served.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::auth::{AccessKey, Caller};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::iam::entities::{self, IamTag, Kind};
use crate::iam::{HandlerFuture, Operation};
use crate::state::{self, keys};

pub mod session;
pub mod web_identity;

/// The XML namespace of STS's responses.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The API version requests name.
pub const VERSION: &str = "2011-06-15";

macro_rules! handler {
    ($f:path) => {
        |api: Arc<Api>, caller: Caller, params: Value| -> HandlerFuture {
            Box::pin(async move {
                let params = if params.is_null() { json!({}) } else { params };
                let input = crate::dispatch::decode_input(params)
                    .map_err(|e| ApiError::new(ErrorCode::ValidationError, e.message))?;
                $f(&api, &caller, input).await
            })
        }
    };
}

/// Every operation of the STS model (botocore sts 2011-06-15), sorted by name.
pub static OPERATIONS: &[Operation] = &[
    Operation { name: "AssumeRole", handler: Some(handler!(assume_role)) },
    Operation { name: "AssumeRoleWithSAML", handler: None },
    Operation {
        name: "AssumeRoleWithWebIdentity",
        handler: Some(|api: Arc<Api>, _caller: Caller, params: Value| -> HandlerFuture {
            Box::pin(async move { dispatch_unauthenticated(api, "AssumeRoleWithWebIdentity", params).await })
        }),
    },
    Operation { name: "AssumeRoot", handler: None },
    Operation { name: "DecodeAuthorizationMessage", handler: None },
    Operation { name: "GetAccessKeyInfo", handler: Some(handler!(get_access_key_info)) },
    Operation { name: "GetCallerIdentity", handler: Some(handler!(get_caller_identity)) },
    Operation { name: "GetDelegatedAccessToken", handler: None },
    Operation { name: "GetFederationToken", handler: None },
    Operation { name: "GetSessionToken", handler: Some(handler!(get_session_token)) },
    Operation { name: "GetWebIdentityToken", handler: None },
];

/// The operation named `name`, if the STS model has it.
pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.binary_search_by(|op| op.name.cmp(name)).ok().map(|i| &OPERATIONS[i])
}

/// Runs the named operation for `caller`.
pub async fn dispatch(api: Arc<Api>, caller: Caller, name: &str, params: Value) -> ApiResult<Value> {
    match find(name).map(|op| op.handler) {
        Some(Some(handler)) => handler(api, caller, params).await,
        Some(None) => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("{name} is not supported by Berth yet. See docs/API-COVERAGE.md for the STS operations it serves."),
        )),
        None => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {} for version {VERSION}.", berth_model::names::truncate(name, 128)),
        )),
    }
}

/// Whether an action is one that STS serves without a signature (the request's token is its credential).
pub fn is_unauthenticated(action: &str) -> bool {
    action == "AssumeRoleWithWebIdentity"
}

/// Runs an action that needs no caller ([`is_unauthenticated`]).
pub async fn dispatch_unauthenticated(api: Arc<Api>, name: &str, params: Value) -> ApiResult<Value> {
    let params = if params.is_null() { json!({}) } else { params };
    match name {
        "AssumeRoleWithWebIdentity" => {
            let input = crate::dispatch::decode_input(params)
                .map_err(|e| ApiError::new(ErrorCode::ValidationError, e.message))?;
            web_identity::assume_role_with_web_identity(&api, input).await
        }
        _ => Err(ApiError::new(ErrorCode::InvalidAction, format!("{name} needs a signed request."))),
    }
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
pub fn assumed_role_arn(account: &str, role: &str, session: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
}

/// Who the caller is: the account root, or an IAM user (UserId its unique id).
pub async fn get_caller_identity(api: &Api, caller: &Caller, _req: Empty) -> ApiResult<Value> {
    let account = &api.scope.account_id;
    Ok(match caller {
        Caller::Root => json!({
            "UserId": account,
            "Account": account,
            "Arn": format!("arn:aws:iam::{account}:root"),
        }),
        Caller::User { name, .. } => {
            let user = crate::iam::load(api, Kind::User, name).await?.value;
            json!({ "UserId": user.id, "Account": account, "Arn": user.arn(Kind::User, account) })
        }
        Caller::Role { name, session, .. } => {
            let role = crate::iam::load(api, Kind::Role, name).await?.value;
            json!({
                "UserId": format!("{}:{session}", role.id),
                "Account": account,
                "Arn": assumed_role_arn(account, name, session),
            })
        }
        Caller::Instance { instance_arn, .. } => {
            let id = instance_arn.rsplit('/').next().unwrap_or(instance_arn);
            json!({ "UserId": id, "Account": account, "Arn": instance_arn })
        }
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessKeyInfoRequest {
    access_key_id: String,
}

/// The account an access key belongs to (Berth serves one account).
pub async fn get_access_key_info(api: &Api, _caller: &Caller, req: GetAccessKeyInfoRequest) -> ApiResult<Value> {
    let id = &req.access_key_id;
    if id.len() < 16 || id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(entities::validation("accessKeyId", id, "Member must satisfy regular expression pattern: [\\w]*"));
    }
    match state::get::<AccessKey>(api.store.as_ref(), &keys::access_key(id)).await? {
        Some(_) => Ok(json!({ "Account": api.scope.account_id })),
        None => Err(ApiError::new(ErrorCode::NoSuchEntity, format!("The Access Key with id {id} cannot be found."))),
    }
}

/// A managed policy named in `PolicyArns`.
#[derive(Debug, Deserialize)]
pub struct PolicyArnEntry {
    arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleRequest {
    role_arn: String,
    role_session_name: String,
    #[serde(default, deserialize_with = "crate::wire::query::de::int")]
    duration_seconds: Option<i64>,
    policy: Option<String>,
    #[serde(default)]
    policy_arns: Vec<PolicyArnEntry>,
    #[serde(default)]
    tags: Vec<IamTag>,
    external_id: Option<String>,
    serial_number: Option<String>,
    source_identity: Option<String>,
}

/// The longest session a chained role session may ask for.
const CHAINED_SECONDS: i64 = 3600;

pub async fn assume_role(api: &Api, caller: &Caller, req: AssumeRoleRequest) -> ApiResult<Value> {
    let account = api.scope.account_id.clone();
    let caller_arn = match caller {
        Caller::Root => {
            return Err(ApiError::new(ErrorCode::AccessDenied, "Roles may not be assumed by root accounts."));
        }
        Caller::User { name, .. } => match crate::iam::load(api, Kind::User, name).await {
            Ok(u) => u.value.arn(Kind::User, &account),
            Err(_) => entities::arn(Kind::User, &account, "/", name),
        },
        Caller::Role { name, session, .. } => assumed_role_arn(&account, name, session),
        Caller::Instance { .. } => {
            return Err(ApiError::new(ErrorCode::AccessDenied, "An agent's instance identity may not assume roles."));
        }
    };
    check_session_name(&req.role_session_name)?;
    if req.serial_number.is_some() {
        return Err(ApiError::new(ErrorCode::InvalidInput, "MFA is not supported by Berth."));
    }
    entities::check_tags(&req.tags)?;
    let denied = || {
        ApiError::new(
            ErrorCode::AccessDenied,
            format!("User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {}", req.role_arn),
        )
    };
    // A role of this account, by ARN; one that does not exist is denied, as on AWS.
    let Some(role_name) = req
        .role_arn
        .strip_prefix(&format!("arn:aws:iam::{account}:role/"))
        .and_then(|rest| rest.rsplit('/').next())
        .filter(|n| !n.is_empty())
    else {
        return Err(denied());
    };
    let Ok(role) = crate::iam::load(api, Kind::Role, role_name).await else { return Err(denied()) };
    let role = role.value;
    if role.arn(Kind::Role, &account) != req.role_arn {
        return Err(denied());
    }
    let chained = matches!(caller, Caller::Role { .. });
    let max = if chained { CHAINED_SECONDS } else { role.max_session_duration.unwrap_or(3600) };
    let duration = req.duration_seconds.unwrap_or(3600.min(max));
    if duration < 900 {
        return Err(entities::validation(
            "durationSeconds",
            &duration.to_string(),
            "Member must have value greater than or equal to 900",
        ));
    }
    if duration > max {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            format!(
                "The requested DurationSeconds exceeds the {} set for this role.",
                if chained { "1 hour session limit for roles assumed by role chaining" } else { "MaxSessionDuration" }
            ),
        ));
    }
    let session_policy = session_policy(api, req.policy.as_deref(), &req.policy_arns).await?;

    // The trust policy decides who may assume the role.
    let trust = role.trust_policy.as_deref().unwrap_or_default();
    let Ok(trust) = berth_policy::Policy::parse(trust, berth_policy::PolicyKind::Resource) else {
        return Err(denied());
    };
    let principal = match caller {
        Caller::User { name, .. } => {
            let path =
                crate::iam::load(api, Kind::User, name).await.map(|u| u.value.path).unwrap_or_else(|_| "/".into());
            berth_policy::Principal::user(&account, &path, name)
        }
        Caller::Role { name, session, .. } => berth_policy::Principal::assumed_role(&account, name, session),
        Caller::Root | Caller::Instance { .. } => berth_policy::Principal::root(&account),
    };
    let mut context = berth_policy::Context::new().with_principal(&principal);
    context.set("sts:RoleSessionName", vec![req.role_session_name.clone()]);
    if let Some(id) = &req.external_id {
        context.set("sts:ExternalId", vec![id.clone()]);
    }
    if let Some(id) = &req.source_identity {
        context.set("sts:SourceIdentity", vec![id.clone()]);
    }
    if !req.tags.is_empty() {
        for t in &req.tags {
            context.set(&format!("aws:RequestTag/{}", t.key), vec![t.value.clone()]);
        }
        context.set("aws:TagKeys", req.tags.iter().map(|t| t.key.clone()).collect());
    }
    let actions: &[&str] =
        if req.tags.is_empty() { &["sts:AssumeRole"] } else { &["sts:AssumeRole", "sts:TagSession"] };
    for action in actions {
        let request =
            berth_policy::Request { action, resource: &req.role_arn, principal: &principal, context: &context };
        if berth_policy::evaluate(&request, [&trust]) != berth_policy::Decision::Allow {
            return Err(denied());
        }
    }

    let access_key_id = session::new_access_key_id();
    let expires = api.now().floor() as i64 + duration;
    let claims = session::Claims {
        access_key_id: access_key_id.clone(),
        expires,
        subject: session::Subject::Role { name: role.name.clone(), session: req.role_session_name.clone() },
        policy: session_policy,
        tags: req.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
        task: None,
    };
    let mut out = json!({
        "Credentials": credentials(api, &claims),
        "AssumedRoleUser": {
            "AssumedRoleId": format!("{}:{}", role.id, req.role_session_name),
            "Arn": assumed_role_arn(&account, &role.name, &req.role_session_name),
        },
    });
    if claims.policy.is_some() || !claims.tags.is_empty() {
        // How much of the packed size limit the session policy and tags use, in percent (AWS's 2,048 bytes).
        let used = claims.policy.as_deref().map(berth_policy::non_whitespace_len).unwrap_or(0)
            + claims.tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        out["PackedPolicySize"] = json!((used * 100).div_ceil(2048));
    }
    if let Some(id) = &req.source_identity {
        out["SourceIdentity"] = json!(id);
    }
    Ok(out)
}

/// The session name AssumeRole takes: 2 to 64 of `[\w+=,.@-]`.
fn check_session_name(name: &str) -> ApiResult<()> {
    let ok = (2..=64).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(entities::validation(
            "roleSessionName",
            name,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64",
        ))
    }
}

/// The session policies of an AssumeRole as one document: the statements of `Policy` and of the managed
/// policies `PolicyArns` names (their union limits the session). `None` when there are none.
async fn session_policy(api: &Api, inline: Option<&str>, arns: &[PolicyArnEntry]) -> ApiResult<Option<String>> {
    if arns.len() > 10 {
        return Err(entities::validation(
            "policyArns",
            &arns.len().to_string(),
            "Member must have length less than or equal to 10",
        ));
    }
    let mut documents: Vec<String> = inline.map(str::to_owned).into_iter().collect();
    for entry in arns {
        let policy = crate::iam::policies::load_policy(api, &entry.arn).await?;
        documents.extend(policy.value.default_document().map(str::to_owned));
    }
    if documents.is_empty() {
        return Ok(None);
    }
    let mut statements = Vec::new();
    for document in &documents {
        if berth_policy::non_whitespace_len(document) > 2048 {
            return Err(ApiError::new(
                ErrorCode::PackedPolicyTooLarge,
                "Packed size of the session policy and tags exceeds the limit of 2048 bytes.",
            ));
        }
        let parsed = berth_policy::Policy::parse(document, berth_policy::PolicyKind::Identity)
            .map_err(|e| ApiError::new(ErrorCode::MalformedPolicyDocument, e.to_string()))?;
        if let Some(list) = parsed.to_json().get("Statement").and_then(Value::as_array) {
            statements.extend(list.iter().cloned());
        }
    }
    Ok(Some(json!({ "Version": "2012-10-17", "Statement": statements }).to_string()))
}

/// The role a task definition or override names (`taskRoleArn` is a role's ARN or its name): its name, if it is a
/// role of this account.
pub fn role_name_of(account: &str, reference: &str) -> Option<String> {
    match reference.strip_prefix(&format!("arn:aws:iam::{account}:role/")) {
        Some(rest) => rest.rsplit('/').next().filter(|n| !n.is_empty()).map(str::to_owned),
        None if !reference.starts_with("arn:") && !reference.is_empty() => Some(reference.to_owned()),
        None => None,
    }
}

/// How long a task's credentials last (ECS's are about six hours; the agent refreshes them before).
pub const TASK_CREDENTIALS_SECONDS: i64 = 6 * 3600;

/// A session of `role_ref` for the task `task_arn`, if the role exists and its trust policy lets
/// `ecs-tasks.amazonaws.com` assume it; the session ends with the task (see `crate::authz`).
pub async fn task_session(api: &Api, role_ref: &str, task_arn: &str) -> ApiResult<berth_model::agent::TaskCredentials> {
    let account = api.scope.account_id.clone();
    let unable = || {
        ApiError::invalid(format!(
            "ECS was unable to assume the role '{role_ref}' that was provided for this task. Please verify that the \
             role being passed has the proper trust relationship and permissions and that your IAM user has \
             permissions to pass this role."
        ))
    };
    let name = role_name_of(&account, role_ref).ok_or_else(unable)?;
    let role = crate::iam::load(api, Kind::Role, &name).await.map_err(|_| unable())?.value;
    let role_arn = role.arn(Kind::Role, &account);
    let trust = role.trust_policy.as_deref().unwrap_or_default();
    let trust = berth_policy::Policy::parse(trust, berth_policy::PolicyKind::Resource).map_err(|_| unable())?;
    let principal = berth_policy::Principal::service("ecs-tasks.amazonaws.com");
    let mut context = berth_policy::Context::new().with_principal(&principal);
    // What ECS passes for confused-deputy conditions in task role trust policies.
    context.set("aws:SourceAccount", vec![account.clone()]);
    context.set("aws:SourceArn", vec![task_arn.to_owned()]);
    let request = berth_policy::Request {
        action: "sts:AssumeRole",
        resource: &role_arn,
        principal: &principal,
        context: &context,
    };
    if berth_policy::evaluate(&request, [&trust]) != berth_policy::Decision::Allow {
        return Err(unable());
    }
    let task_id = task_arn.rsplit('/').next().unwrap_or(task_arn);
    let claims = session::Claims {
        access_key_id: session::new_access_key_id(),
        expires: api.now().floor() as i64 + TASK_CREDENTIALS_SECONDS,
        subject: session::Subject::Role { name: role.name.clone(), session: task_id.to_owned() },
        policy: None,
        tags: vec![],
        task: Some(task_arn.to_owned()),
    };
    let key = api.auth.sessions();
    Ok(berth_model::agent::TaskCredentials {
        access_key_id: claims.access_key_id.clone(),
        secret_access_key: key.secret_for(&claims.access_key_id),
        token: key.seal(&claims),
        expiration: claims.expires as f64,
        role_arn,
    })
}

/// `Credentials` of a session.
fn credentials(api: &Api, claims: &session::Claims) -> Value {
    let key = api.auth.sessions();
    json!({
        "AccessKeyId": claims.access_key_id,
        "SecretAccessKey": key.secret_for(&claims.access_key_id),
        "SessionToken": key.seal(claims),
        "Expiration": crate::wire::query::timestamp(claims.expires as f64),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSessionTokenRequest {
    #[serde(default, deserialize_with = "crate::wire::query::de::int")]
    duration_seconds: Option<i64>,
    serial_number: Option<String>,
}

/// Temporary credentials of the caller's own identity (an IAM user's, or the root's for at most an hour).
pub async fn get_session_token(api: &Api, caller: &Caller, req: GetSessionTokenRequest) -> ApiResult<Value> {
    if req.serial_number.is_some() {
        return Err(ApiError::new(ErrorCode::InvalidInput, "MFA is not supported by Berth."));
    }
    let refused = || ApiError::new(ErrorCode::AccessDenied, "Cannot call GetSessionToken with session credentials");
    let (subject, max) = match caller {
        Caller::Root => (session::Subject::Root, 3600),
        Caller::User { access_key_id, .. } if access_key_id.starts_with("ASIA") => return Err(refused()),
        Caller::User { name, .. } => (session::Subject::User { name: name.clone() }, 129_600),
        Caller::Role { .. } | Caller::Instance { .. } => return Err(refused()),
    };
    let duration = req.duration_seconds.unwrap_or(43_200.min(max));
    if !(900..=max).contains(&duration) {
        return Err(entities::validation(
            "durationSeconds",
            &duration.to_string(),
            &format!("Member must have value less than or equal to {max} and greater than or equal to 900"),
        ));
    }
    let claims = session::Claims {
        access_key_id: session::new_access_key_id(),
        expires: api.now().floor() as i64 + duration,
        subject,
        policy: None,
        tags: vec![],
        task: None,
    };
    Ok(json!({ "Credentials": credentials(api, &claims) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table holds exactly the operations of the STS model in the installed botocore package.
    #[test]
    fn table_matches_the_botocore_model() {
        crate::dispatch::botocore_model::assert_table_matches("sts", OPERATIONS.iter().map(|o| o.name));
    }
}
