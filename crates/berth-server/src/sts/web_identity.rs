//! `AssumeRoleWithWebIdentity`: credentials of a role for the bearer of a web identity token, with no signature
//! (the token is the credential, as on AWS; [`crate::wire`] sends this action here without authentication).
//!
//! Berth has no `CreateOpenIDConnectProvider`: the one provider it knows is its own issuer ([`crate::oidc`]), the
//! implicit provider `arn:aws:iam::<account>:oidc-provider/<issuer without https://>`. Tokens of other issuers answer
//! `InvalidIdentityToken` naming the issuer. The role's trust policy must allow `sts:AssumeRoleWithWebIdentity` to
//! `{"Federated": "<that provider ARN>"}`; its conditions see IAM's keys for OIDC providers: `<provider>:aud`,
//! `<provider>:sub` and (when the token has it) `<provider>:amr`, and `aws:FederatedProvider`,
//! `sts:RoleSessionName`. A task's token has `sub` = the task role's ARN and `aud` = the audience its container
//! named, so a trust policy like
//!
//! ```json
//! {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/berth.example.com"},
//!  "Action": "sts:AssumeRoleWithWebIdentity",
//!  "Condition": {"StringEquals": {"berth.example.com:aud": "s3",
//!                                 "berth.example.com:sub": "arn:aws:iam::123456789012:role/trainer"}}}
//! ```
//!
//! lets the tasks running with role `trainer` that ask for audience `s3` assume the role.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{PolicyArnEntry, assumed_role_arn, check_session_name, credentials, session, session_policy};
use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::iam::entities::{self, Kind};
use crate::oidc::TokenError;

/// The action, as trust policies name it.
pub const ACTION: &str = "sts:AssumeRoleWithWebIdentity";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    role_arn: String,
    role_session_name: String,
    web_identity_token: String,
    provider_id: Option<String>,
    #[serde(default)]
    policy_arns: Vec<PolicyArnEntry>,
    policy: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::query::de::int")]
    duration_seconds: Option<i64>,
}

/// `InvalidIdentityToken` (HTTP 400).
fn invalid_token(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Service("InvalidIdentityToken"), message)
}

pub async fn assume_role_with_web_identity(api: &Api, req: Request) -> ApiResult<Value> {
    let account = api.scope.account_id.clone();
    check_session_name(&req.role_session_name)?;
    let token_len = req.web_identity_token.len();
    if !(4..=crate::oidc::MAX_TOKEN_BYTES).contains(&token_len) {
        return Err(entities::validation("webIdentityToken", "***", "Member must have length between 4 and 20000"));
    }
    if !(20..=2048).contains(&req.role_arn.len()) {
        return Err(entities::validation("roleArn", &req.role_arn, "Member must have length between 20 and 2048"));
    }
    if let Some(duration) = req.duration_seconds
        && !(900..=43_200).contains(&duration)
    {
        return Err(entities::validation(
            "durationSeconds",
            &duration.to_string(),
            "Member must have value less than or equal to 43200 and greater than or equal to 900",
        ));
    }
    if req.provider_id.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "ProviderId is only for OAuth 2.0 access tokens (www.amazon.com, graph.facebook.com); Berth accepts \
             OpenID Connect ID tokens of its own issuer, without ProviderId.",
        ));
    }

    // The token: signed by this server's issuer, not expired.
    let now = api.now();
    let token = match crate::oidc::verify(api, &req.web_identity_token, now).await? {
        Ok(t) => t,
        Err(e @ TokenError::OtherIssuer { .. }) => {
            return Err(invalid_token(format!(
                "{e}. Berth trusts the tokens of its own OIDC issuer ({}) only: it has no \
                 CreateOpenIDConnectProvider.",
                api.oidc.issuer()
            )));
        }
        Err(e @ TokenError::Expired { .. }) => {
            return Err(ApiError::new(ErrorCode::Service("ExpiredTokenException"), e.to_string()));
        }
        Err(TokenError::Invalid(why)) => return Err(invalid_token(why)),
    };
    let subject = token.str_claim("sub").unwrap_or_default().to_owned();
    let audiences = token.audiences();
    let issuer = token.str_claim("iss").unwrap_or_default().to_owned();

    // The role: of this account, existing; anything else is denied, as on AWS.
    let denied = || ApiError::new(ErrorCode::AccessDenied, format!("Not authorized to perform {ACTION}"));
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
    let max = role.max_session_duration.unwrap_or(3600);
    let duration = req.duration_seconds.unwrap_or(3600.min(max));
    if duration > max {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let session_policy = session_policy(api, req.policy.as_deref(), &req.policy_arns).await?;

    // The trust policy, with the provider as the principal and the token's claims as condition keys.
    let trust = role.trust_policy.as_deref().unwrap_or_default();
    let trust = berth_policy::Policy::parse(trust, berth_policy::PolicyKind::Resource).map_err(|_| denied())?;
    let provider = api.oidc.provider();
    let provider_arn = api.oidc.provider_arn(&account);
    let principal = berth_policy::Principal::federated(&account, &provider_arn);
    let mut context = berth_policy::Context::new().with_principal(&principal);
    context.set(&format!("{provider}:aud"), audiences.clone());
    context.set(&format!("{provider}:sub"), vec![subject.clone()]);
    context.set(&format!("{provider}:amr"), token.amr());
    context.set("aws:FederatedProvider", vec![provider_arn.clone()]);
    context.set("sts:RoleSessionName", vec![req.role_session_name.clone()]);
    let request =
        berth_policy::Request { action: ACTION, resource: &req.role_arn, principal: &principal, context: &context };
    if berth_policy::evaluate(&request, [&trust]) != berth_policy::Decision::Allow {
        return Err(denied());
    }

    let claims = session::Claims {
        access_key_id: session::new_access_key_id(),
        expires: now.floor() as i64 + duration,
        subject: session::Subject::Role { name: role.name.clone(), session: req.role_session_name.clone() },
        policy: session_policy,
        tags: vec![],
        task: None,
    };
    let mut out = json!({
        "Credentials": credentials(api, &claims),
        "SubjectFromWebIdentityToken": subject,
        "AssumedRoleUser": {
            "AssumedRoleId": format!("{}:{}", role.id, req.role_session_name),
            "Arn": assumed_role_arn(&account, &role.name, &req.role_session_name),
        },
        "Provider": issuer,
        "Audience": audiences.first().cloned().unwrap_or_default(),
    });
    if let Some(policy) = &claims.policy {
        out["PackedPolicySize"] = json!((berth_policy::non_whitespace_len(policy) * 100).div_ceil(2048));
    }
    Ok(out)
}
