//! PutAccountSetting, PutAccountSettingDefault, DeleteAccountSetting, ListAccountSettings. Each request is parsed
//! into a checked value first (every check that needs no store: the name, the value, the principal and whether the
//! caller may name it), then applied to the settings in `crate::account_settings`.
//!
//! `principalArn` may name the root user, or an IAM user or role of this account; only the root user may name
//! another principal than itself (ECS: "you must be the root user, or the principal"). The account-wide settings
//! (`fargateFIPSMode`, `fargateTaskRetirementWaitPeriod`, `fargateEventWindows`, `defaultLogDriverMode`) are set as
//! the default only, and `guardDutyActivate` is AWS's to set.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::account_settings::{self as settings, Name, Principal, Scope, StoredSetting};
use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::paging::PageRequest;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutAccountSettingRequest {
    name: String,
    value: String,
    principal_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutAccountSettingDefaultRequest {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteAccountSettingRequest {
    name: String,
    principal_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListAccountSettingsRequest {
    name: Option<String>,
    value: Option<String>,
    principal_arn: Option<String>,
    effective_settings: Option<bool>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// Whose setting a request acts on: the principal, and its ARN as the request gave it (`None`: the caller's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub principal: Principal,
    pub arn: Option<String>,
}

/// A checked PutAccountSetting or PutAccountSettingDefault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: Name,
    pub value: String,
    pub target: Target,
}

/// A checked DeleteAccountSetting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub name: Name,
    pub target: Target,
}

/// A checked ListAccountSettings.
#[derive(Debug, Clone)]
pub struct Listing {
    pub names: Vec<Name>,
    pub value: Option<String>,
    pub target: Target,
    pub effective: bool,
    pub page: PageRequest,
}

/// The principal a request's `principalArn` (or, without one, its caller) names; a caller other than the root
/// user may name only itself.
fn target(account: &str, caller: &Caller, principal_arn: Option<&str>) -> ApiResult<Target> {
    let own = Principal::of(caller);
    let Some(arn) = principal_arn else { return Ok(Target { principal: own, arn: None }) };
    let principal = Principal::parse_arn(account, arn)?;
    if own != Principal::Root && principal.key() != own.key() {
        return Err(settings::not_yours(&caller_arn_hint(account, caller), arn));
    }
    Ok(Target { principal, arn: Some(arn.to_owned()) })
}

/// How a refusal names the caller without reading its IAM path.
fn caller_arn_hint(account: &str, caller: &Caller) -> String {
    match caller {
        Caller::Root => format!("arn:aws:iam::{account}:root"),
        Caller::User { name, .. } => format!("arn:aws:iam::{account}:user/{name}"),
        Caller::Role { name, session, .. } => crate::sts::assumed_role_arn(account, name, session),
        Caller::Instance { instance_arn, .. } => instance_arn.clone(),
    }
}

/// Whether a setting may be changed for the target: AWS's own setting never, an account-wide one only as the
/// default.
fn check_scope(name: Name, target: &Target) -> ApiResult<()> {
    match name.scope() {
        Scope::ReadOnly => Err(ApiError::invalid(format!(
            "{} is read-only: AWS manages it (Amazon GuardDuty Runtime Monitoring), and Berth has no GuardDuty.",
            name.as_str()
        ))),
        Scope::Account if target.principal != Principal::Root => Err(ApiError::invalid(format!(
            "{} can only be set for the whole account: use PutAccountSettingDefault, or PutAccountSetting as the root user for the root user.",
            name.as_str()
        ))),
        _ => Ok(()),
    }
}

pub fn parse_put(account: &str, caller: &Caller, req: &PutAccountSettingRequest) -> ApiResult<Change> {
    let name = Name::parse(&req.name)?;
    let target = target(account, caller, req.principal_arn.as_deref())?;
    check_scope(name, &target)?;
    name.check_value(&req.value)?;
    Ok(Change { name, value: req.value.clone(), target })
}

pub fn parse_put_default(req: &PutAccountSettingDefaultRequest) -> ApiResult<Change> {
    let name = Name::parse(&req.name)?;
    let target = Target { principal: Principal::Root, arn: None };
    check_scope(name, &target)?;
    name.check_value(&req.value)?;
    Ok(Change { name, value: req.value.clone(), target })
}

pub fn parse_delete(account: &str, caller: &Caller, req: &DeleteAccountSettingRequest) -> ApiResult<Removal> {
    let name = Name::parse(&req.name)?;
    let target = target(account, caller, req.principal_arn.as_deref())?;
    check_scope(name, &target)?;
    Ok(Removal { name, target })
}

pub fn parse_list(account: &str, caller: &Caller, req: &ListAccountSettingsRequest) -> ApiResult<Listing> {
    let names = match &req.name {
        Some(n) => vec![Name::parse(n)?],
        None if req.value.is_some() => {
            return Err(ApiError::invalid("value can only be used to filter with a name: give name too."));
        }
        None => Name::ALL.to_vec(),
    };
    let page = PageRequest::new(req.next_token.as_deref(), req.max_results, 10)?;
    let target = target(account, caller, req.principal_arn.as_deref())?;
    Ok(Listing { names, value: req.value.clone(), target, effective: req.effective_settings.unwrap_or(false), page })
}

/// The ARN a response names the target by: as the request gave it, else the caller's.
async fn shown_arn(api: &Api, target: &Target) -> String {
    match &target.arn {
        Some(arn) => arn.clone(),
        None => target.principal.arn(api).await,
    }
}

async fn apply(api: &Api, change: Change) -> ApiResult<Value> {
    let principal_arn = shown_arn(api, &change.target).await;
    let setting = StoredSetting { name: change.name.as_str().to_owned(), value: change.value, principal_arn };
    let stored = settings::put(api, &change.target.principal, setting).await?;
    Ok(json!({ "setting": stored.present() }))
}

pub async fn put_account_setting(api: &Api, caller: &Caller, req: PutAccountSettingRequest) -> ApiResult<Value> {
    let change = parse_put(&api.scope.account_id, caller, &req)?;
    apply(api, change).await
}

/// The account default: the root user's own setting.
pub async fn put_account_setting_default(
    api: &Api,
    _caller: &Caller,
    req: PutAccountSettingDefaultRequest,
) -> ApiResult<Value> {
    let change = parse_put_default(&req)?;
    apply(api, change).await
}

/// Removes the principal's own setting, so the account default (or, for the root user, AWS's) applies again. The
/// answer is the setting removed; when there was none, the value that applies.
pub async fn delete_account_setting(api: &Api, caller: &Caller, req: DeleteAccountSettingRequest) -> ApiResult<Value> {
    let removal = parse_delete(&api.scope.account_id, caller, &req)?;
    let principal_arn = shown_arn(api, &removal.target).await;
    let removed = settings::delete(api, &removal.target.principal, removal.name).await?;
    let value = match removed {
        Some(s) => s.value,
        None => settings::effective(api, &removal.target.principal, removal.name).await?,
    };
    let setting = StoredSetting { name: removal.name.as_str().to_owned(), value, principal_arn };
    Ok(json!({ "setting": setting.present() }))
}

/// The principal's own settings, or (`effectiveSettings`) the value of every setting that applies to it, by name.
pub async fn list_account_settings(api: &Api, caller: &Caller, req: ListAccountSettingsRequest) -> ApiResult<Value> {
    let listing = parse_list(&api.scope.account_id, caller, &req)?;
    let principal = &listing.target.principal;
    let mut found: Vec<StoredSetting> = if listing.effective {
        let principal_arn = shown_arn(api, &listing.target).await;
        let mut out = Vec::with_capacity(listing.names.len());
        for name in &listing.names {
            let value = settings::effective(api, principal, *name).await?;
            out.push(StoredSetting { name: name.as_str().to_owned(), value, principal_arn: principal_arn.clone() });
        }
        out
    } else {
        settings::all_own(api, principal)
            .await?
            .into_iter()
            .filter(|s| listing.names.iter().any(|n| n.as_str() == s.name))
            .collect()
    };
    found.retain(|s| listing.value.as_deref().is_none_or(|v| v == s.value));
    found.sort_by(|a, b| a.name.cmp(&b.name));
    let (page, next) = listing.page.apply(found, |s| s.name.clone());
    let settings: Vec<Value> = page.iter().map(StoredSetting::present).collect();
    Ok(json!({ "settings": settings, "nextToken": next }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const ACCT: &str = "123456789012";

    fn alice() -> Caller {
        Caller::User { name: "alice".into(), access_key_id: "AKIA".into() }
    }

    fn put(name: &str, value: &str, principal_arn: Option<&str>) -> PutAccountSettingRequest {
        PutAccountSettingRequest {
            name: name.into(),
            value: value.into(),
            principal_arn: principal_arn.map(Into::into),
        }
    }

    #[test]
    fn put_for_oneself_and_by_the_root_for_others() {
        let own = parse_put(ACCT, &alice(), &put("taskLongArnFormat", "disabled", None)).unwrap();
        assert_eq!(own.target, Target { principal: Principal::User("alice".into()), arn: None });
        assert_eq!((own.name, own.value.as_str()), (Name::TaskLongArnFormat, "disabled"));
        // Naming oneself with a path is still oneself.
        let named = "arn:aws:iam::123456789012:user/team/alice";
        assert!(parse_put(ACCT, &alice(), &put("taskLongArnFormat", "disabled", Some(named))).is_ok());
        let bob = "arn:aws:iam::123456789012:user/bob";
        let e = parse_put(ACCT, &alice(), &put("taskLongArnFormat", "disabled", Some(bob))).unwrap_err();
        assert_eq!(e.code, ErrorCode::AccessDeniedException);
        let by_root = parse_put(ACCT, &Caller::Root, &put("containerInsights", "enhanced", Some(bob))).unwrap();
        assert_eq!(by_root.target, Target { principal: Principal::User("bob".into()), arn: Some(bob.into()) });
        let root = parse_put(ACCT, &Caller::Root, &put("containerInsights", "enabled", None)).unwrap();
        assert_eq!(root.target.principal, Principal::Root);
    }

    #[test]
    fn names_values_and_scopes_are_checked_before_anything_is_stored() {
        let e = parse_put(ACCT, &Caller::Root, &put("nope", "enabled", None)).unwrap_err();
        assert_eq!(e.message, "name 'nope' is not a valid account setting name.");
        for (name, bad) in [
            ("serviceLongArnFormat", "on"),
            ("containerInsights", "yes"),
            ("tagResourceAuthorization", "enabled"),
            ("fargateTaskRetirementWaitPeriod", "30"),
        ] {
            let e = parse_put(ACCT, &Caller::Root, &put(name, bad, None)).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidParameterException, "{name}={bad}");
            assert!(e.message.contains("Valid values"), "{}", e.message);
        }
        // Account-wide settings: the default only.
        let e = parse_put(ACCT, &alice(), &put("fargateTaskRetirementWaitPeriod", "14", None)).unwrap_err();
        assert!(e.message.contains("PutAccountSettingDefault"), "{}", e.message);
        assert!(parse_put(ACCT, &Caller::Root, &put("fargateTaskRetirementWaitPeriod", "14", None)).is_ok());
        let default = PutAccountSettingDefaultRequest { name: "fargateFIPSMode".into(), value: "enabled".into() };
        assert_eq!(parse_put_default(&default).unwrap().target.principal, Principal::Root);
        // AWS's own.
        let guard = PutAccountSettingDefaultRequest { name: "guardDutyActivate".into(), value: "enabled".into() };
        assert!(parse_put_default(&guard).unwrap_err().message.contains("read-only"));
        let e = parse_put(ACCT, &Caller::Root, &put("taskLongArnFormat", "enabled", Some("arn:aws:iam::1:root")));
        assert_eq!(e.unwrap_err().code, ErrorCode::InvalidParameterException);
    }

    #[test]
    fn deletes_and_lists_are_checked_the_same_way() {
        let role = Caller::Role {
            name: "trainer".into(),
            session: "s1".into(),
            policy: None,
            tags: vec![],
            access_key_id: "ASIA".into(),
            task: None,
        };
        let del = |name: &str, arn: Option<&str>| DeleteAccountSettingRequest {
            name: name.into(),
            principal_arn: arn.map(Into::into),
        };
        let own = parse_delete(ACCT, &role, &del("serviceLongArnFormat", None)).unwrap();
        assert_eq!(own.target.principal, Principal::Role("trainer".into()));
        let e = parse_delete(ACCT, &role, &del("serviceLongArnFormat", Some("arn:aws:iam::123456789012:root")));
        assert!(e.unwrap_err().message.contains("assumed-role/trainer/s1"));
        assert!(parse_delete(ACCT, &role, &del("guardDutyActivate", None)).is_err());

        let list = |name: Option<&str>, value: Option<&str>| ListAccountSettingsRequest {
            name: name.map(Into::into),
            value: value.map(Into::into),
            principal_arn: None,
            effective_settings: Some(true),
            next_token: None,
            max_results: None,
        };
        let all = parse_list(ACCT, &role, &list(None, None)).unwrap();
        assert_eq!(all.names.len(), Name::ALL.len());
        assert!(all.effective);
        assert!(parse_list(ACCT, &role, &list(None, Some("enabled"))).is_err());
        assert!(parse_list(ACCT, &role, &list(Some("bogus"), None)).is_err());
        assert_eq!(parse_list(ACCT, &role, &list(Some("containerInsights"), None)).unwrap().names.len(), 1);
    }
}
