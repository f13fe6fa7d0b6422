//! ECS account settings: the settings Berth knows, whose they are, how they are stored, and the setting that
//! applies to a principal. The operations (PutAccountSetting, PutAccountSettingDefault, DeleteAccountSetting,
//! ListAccountSettings) are in `ops::account`; the handlers that act on a setting ask [`effective`] here.
//!
//! A setting is set for a principal of this account (the root user, an IAM user or an IAM role) or as the account
//! default. As on ECS the account default is the root user's own setting ("if the account setting for the root user
//! is changed, it sets the default for all the users and roles that no individual account setting was selected
//! for"), so PutAccountSettingDefault and a root PutAccountSetting write the same record. The setting that applies
//! to a principal is its own, else the account default, else AWS's default ([`Name::aws_default`]). The principal of
//! a request is its caller's: the root user for the `berth up` key (and every request under `--auth none`), the user
//! for an IAM user's key, the role for a role session (AssumeRole, a task's role).
//!
//! Stored under `account-settings/<principal>/<name>` (`state::keys::account_setting`), principal `root`,
//! `user/<name>` or `role/<name>` with the IAM name lowercased (IAM names are unique without regard to case, and
//! a principal's ARN may carry any path).
//!
//! What Berth does with them, for the principal that makes the request:
//! - `serviceLongArnFormat`, `taskLongArnFormat`, `containerInstanceLongArnFormat`: `disabled` gives resources
//!   created afterwards the short ARN (`task/<id>`, `service/<name>`, `container-instance/<id>`); as on ECS such
//!   resources cannot be tagged. Tasks a service starts take the format of the principal that created the service.
//! - `containerInsights`: the setting of clusters created without a `containerInsights` cluster setting.
//! - `tagResourceAuthorization`: `off` lets tags be given on creation without `ecs:TagResource`.
//! - The others are kept and listed; Berth has nothing they change (no ENI trunking, Fargate, GuardDuty, IPv6 dual
//!   stack; the log driver mode is the task definition's).

use berth_model::arn::ArnFormat;
use berth_model::names::truncate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::iam::entities::Kind;
use crate::state::{self, Versioned, keys};

/// An account setting ECS knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Name {
    ServiceLongArnFormat,
    TaskLongArnFormat,
    ContainerInstanceLongArnFormat,
    AwsvpcTrunking,
    ContainerInsights,
    FargateFipsMode,
    TagResourceAuthorization,
    FargateTaskRetirementWaitPeriod,
    GuardDutyActivate,
    DefaultLogDriverMode,
    FargateEventWindows,
}

/// Who may set a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Any principal for itself, the root user for anyone, and the account default.
    Principal,
    /// Only the account default (PutAccountSettingDefault, or the root user's own PutAccountSetting).
    Account,
    /// Nobody: AWS manages it.
    ReadOnly,
}

const ENABLED_DISABLED: &[&str] = &["enabled", "disabled"];

impl Name {
    /// Every setting, in the order ListAccountSettings shows them (by name).
    pub const ALL: [Name; 11] = [
        Name::AwsvpcTrunking,
        Name::ContainerInsights,
        Name::ContainerInstanceLongArnFormat,
        Name::DefaultLogDriverMode,
        Name::FargateEventWindows,
        Name::FargateFipsMode,
        Name::FargateTaskRetirementWaitPeriod,
        Name::GuardDutyActivate,
        Name::ServiceLongArnFormat,
        Name::TagResourceAuthorization,
        Name::TaskLongArnFormat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Name::ServiceLongArnFormat => "serviceLongArnFormat",
            Name::TaskLongArnFormat => "taskLongArnFormat",
            Name::ContainerInstanceLongArnFormat => "containerInstanceLongArnFormat",
            Name::AwsvpcTrunking => "awsvpcTrunking",
            Name::ContainerInsights => "containerInsights",
            Name::FargateFipsMode => "fargateFIPSMode",
            Name::TagResourceAuthorization => "tagResourceAuthorization",
            Name::FargateTaskRetirementWaitPeriod => "fargateTaskRetirementWaitPeriod",
            Name::GuardDutyActivate => "guardDutyActivate",
            Name::DefaultLogDriverMode => "defaultLogDriverMode",
            Name::FargateEventWindows => "fargateEventWindows",
        }
    }

    /// The setting named `name`; ECS's InvalidParameterException for a name it does not know.
    pub fn parse(name: &str) -> ApiResult<Name> {
        Name::ALL.into_iter().find(|n| n.as_str() == name).ok_or_else(|| {
            ApiError::invalid(format!("name '{}' is not a valid account setting name.", truncate(name, 64)))
        })
    }

    /// The values the setting takes.
    pub fn values(self) -> &'static [&'static str] {
        match self {
            Name::ContainerInsights => &["enabled", "disabled", "enhanced"],
            Name::TagResourceAuthorization => &["on", "off"],
            Name::FargateTaskRetirementWaitPeriod => &["0", "7", "14"],
            Name::DefaultLogDriverMode => &["blocking", "non-blocking"],
            _ => ENABLED_DISABLED,
        }
    }

    /// What applies when neither the principal nor the account has set it (AWS's defaults today: long ARNs and
    /// tagging authorization on, the non-blocking log driver mode since June 2025, a 7-day Fargate retirement
    /// wait).
    pub fn aws_default(self) -> &'static str {
        match self {
            Name::ServiceLongArnFormat | Name::TaskLongArnFormat | Name::ContainerInstanceLongArnFormat => "enabled",
            Name::TagResourceAuthorization => "on",
            Name::FargateTaskRetirementWaitPeriod => "7",
            Name::DefaultLogDriverMode => "non-blocking",
            _ => "disabled",
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Name::GuardDutyActivate => Scope::ReadOnly,
            Name::FargateFipsMode
            | Name::FargateTaskRetirementWaitPeriod
            | Name::FargateEventWindows
            | Name::DefaultLogDriverMode => Scope::Account,
            _ => Scope::Principal,
        }
    }

    /// `Setting.type`: `aws_managed` for the one setting AWS manages (read-only), `user` for the others.
    pub fn setting_type(self) -> &'static str {
        if self.scope() == Scope::ReadOnly { "aws_managed" } else { "user" }
    }

    /// Checks a value for this setting: ECS's InvalidParameterException naming the valid ones.
    pub fn check_value(self, value: &str) -> ApiResult<()> {
        if self.values().contains(&value) {
            return Ok(());
        }
        Err(ApiError::invalid(format!(
            "value '{}' is not valid for the account setting {}. Valid values: {}.",
            truncate(value, 64),
            self.as_str(),
            self.values().join(", ")
        )))
    }
}

/// Whose settings: the root user (the account default) or an IAM user or role, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Root,
    User(String),
    Role(String),
}

impl Principal {
    /// The principal a caller's settings belong to (a role session's is its role).
    pub fn of(caller: &Caller) -> Principal {
        match caller {
            // An agent's instance identity creates nothing; the account default applies to it.
            Caller::Root | Caller::Instance { .. } => Principal::Root,
            Caller::User { name, .. } => Principal::User(name.clone()),
            Caller::Role { name, .. } => Principal::Role(name.clone()),
        }
    }

    /// The principal a `principalArn` names: `arn:aws:iam::<account>:root`, or a user or role ARN of this account
    /// (any path). Anything else is ECS's InvalidParameterException.
    pub fn parse_arn(account: &str, arn: &str) -> ApiResult<Principal> {
        let invalid = || {
            ApiError::invalid(format!(
                "principalArn '{}' is not valid: expected the ARN of the root user (arn:aws:iam::{account}:root), or of an IAM user or role of account {account}.",
                truncate(arn, 256)
            ))
        };
        let rest = arn.strip_prefix(&format!("arn:aws:iam::{account}:")).ok_or_else(invalid)?;
        if rest == "root" {
            return Ok(Principal::Root);
        }
        let (kind, path_and_name) = rest.split_once('/').ok_or_else(invalid)?;
        let name = path_and_name.rsplit('/').next().unwrap_or_default();
        let valid_name = !name.is_empty()
            && name.len() <= 128
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        match kind {
            "user" if valid_name => Ok(Principal::User(name.to_owned())),
            "role" if valid_name => Ok(Principal::Role(name.to_owned())),
            _ => Err(invalid()),
        }
    }

    /// The part of the store key naming the principal.
    pub fn key(&self) -> String {
        match self {
            Principal::Root => "root".to_owned(),
            Principal::User(name) => format!("user/{}", name.to_ascii_lowercase()),
            Principal::Role(name) => format!("role/{}", name.to_ascii_lowercase()),
        }
    }

    /// The principal's ARN, with the IAM path of its user or role (`/` when it no longer exists).
    pub async fn arn(&self, api: &Api) -> String {
        let account = &api.scope.account_id;
        let (kind, name) = match self {
            Principal::Root => return format!("arn:aws:iam::{account}:root"),
            Principal::User(name) => (Kind::User, name),
            Principal::Role(name) => (Kind::Role, name),
        };
        match crate::iam::load(api, kind, name).await {
            Ok(found) => found.value.arn(kind, account),
            Err(_) => crate::iam::entities::arn(kind, account, "/", name),
        }
    }
}

/// A setting as stored: its value and the principal ARN it was set for (as the request named it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSetting {
    pub name: String,
    pub value: String,
    pub principal_arn: String,
}

impl StoredSetting {
    /// ECS's `Setting`.
    pub fn present(&self) -> Value {
        let kind = Name::parse(&self.name).map(Name::setting_type).unwrap_or("user");
        json!({ "name": self.name, "value": self.value, "principalArn": self.principal_arn, "type": kind })
    }
}

/// The principal's own setting, if it set one.
pub async fn own(api: &Api, principal: &Principal, name: Name) -> ApiResult<Option<Versioned<StoredSetting>>> {
    state::get::<StoredSetting>(api.store.as_ref(), &keys::account_setting(&principal.key(), name.as_str())).await
}

/// Every setting the principal set itself, by name.
pub async fn all_own(api: &Api, principal: &Principal) -> ApiResult<Vec<StoredSetting>> {
    let prefix = keys::account_settings_of(&principal.key());
    let mut out: Vec<StoredSetting> =
        state::list::<StoredSetting>(api.store.as_ref(), &prefix).await?.into_iter().map(|s| s.value).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The value that applies to the principal: its own, else the account default, else AWS's default.
pub async fn effective(api: &Api, principal: &Principal, name: Name) -> ApiResult<String> {
    if *principal != Principal::Root
        && let Some(s) = own(api, principal, name).await?
    {
        return Ok(s.value.value);
    }
    Ok(match own(api, &Principal::Root, name).await? {
        Some(s) => s.value.value,
        None => name.aws_default().to_owned(),
    })
}

/// The value that applies to the principal of a request.
pub async fn effective_for(api: &Api, caller: &Caller, name: Name) -> ApiResult<String> {
    effective(api, &Principal::of(caller), name).await
}

/// The ARN format of the resources of one `*LongArnFormat` setting that the caller creates.
pub async fn arn_format(api: &Api, caller: &Caller, name: Name) -> ApiResult<ArnFormat> {
    debug_assert!(matches!(
        name,
        Name::ServiceLongArnFormat | Name::TaskLongArnFormat | Name::ContainerInstanceLongArnFormat
    ));
    Ok(if effective_for(api, caller, name).await? == "disabled" { ArnFormat::Short } else { ArnFormat::Long })
}

/// Whether giving tags on creation also needs `ecs:TagResource` for the caller (`tagResourceAuthorization`).
pub async fn tag_on_create_needs_tag_resource(api: &Api, caller: &Caller) -> ApiResult<bool> {
    Ok(effective_for(api, caller, Name::TagResourceAuthorization).await? != "off")
}

/// Sets the principal's setting (the root's: the account default).
pub async fn put(api: &Api, principal: &Principal, setting: StoredSetting) -> ApiResult<StoredSetting> {
    let key = keys::account_setting(&principal.key(), &setting.name);
    let result = api.store.txn(vec![], vec![state::put(&key, &setting)?]).await?;
    if !result.succeeded {
        return Err(ApiError::server("The account setting could not be stored; retry the request."));
    }
    Ok(setting)
}

/// Removes the principal's own setting; returns it, if there was one.
pub async fn delete(api: &Api, principal: &Principal, name: Name) -> ApiResult<Option<StoredSetting>> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        match own(api, principal, name).await? {
            Some(current) => {
                Ok((vec![current.unchanged()], vec![berth_store::Op::delete(current.key.clone())], Some(current.value)))
            }
            None => Ok((vec![], vec![], None)),
        }
    })
    .await
}

/// ECS's answer to tagging a resource whose ARN is in the short format.
pub fn short_arn_tagging() -> ApiError {
    ApiError::invalid("Long arn format must be used for tagging operations")
}

/// ECS's answer to tags given on creation of a resource that gets a short ARN.
pub fn short_arn_tags_on_create() -> ApiError {
    ApiError::invalid("Long arn format must be enabled for tagging.")
}

/// ECS's answer to propagateTags for tasks that get short ARNs.
pub fn short_arn_propagate_tags() -> ApiError {
    ApiError::invalid(
        "The new ARN and resource ID format must be enabled to propagate tags. Opt in to the new format and try again.",
    )
}

/// ECS's answer to enableECSManagedTags for tasks that get short ARNs.
pub fn short_arn_managed_tags() -> ApiError {
    ApiError::invalid("Long arn format must be enabled for ECS managed tags.")
}

/// The refusal of `principalArn` naming another principal than the caller, for a caller that is not the root user.
pub fn not_yours(caller_arn: &str, target_arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::AccessDeniedException,
        format!(
            "{} may not use the account settings of {}: only the root user, or the principal itself, may name a principalArn.",
            truncate(caller_arn, 256),
            truncate(target_arn, 256)
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn names_parse_and_list_sorted() {
        for n in Name::ALL {
            assert_eq!(Name::parse(n.as_str()).unwrap(), n);
            assert!(n.values().contains(&n.aws_default()), "{n:?}'s default is one of its values");
        }
        let names: Vec<&str> = Name::ALL.iter().map(|n| n.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        let e = Name::parse("longArnFormat").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidParameterException);
        assert_eq!(e.message, "name 'longArnFormat' is not a valid account setting name.");
    }

    #[test]
    fn values_follow_each_setting() {
        assert!(Name::ContainerInsights.check_value("enhanced").is_ok());
        assert!(Name::TaskLongArnFormat.check_value("enhanced").is_err());
        assert!(Name::TagResourceAuthorization.check_value("off").is_ok());
        assert!(Name::TagResourceAuthorization.check_value("disabled").is_err());
        assert!(Name::FargateTaskRetirementWaitPeriod.check_value("14").is_ok());
        let e = Name::FargateTaskRetirementWaitPeriod.check_value("3").unwrap_err();
        assert!(e.message.contains("Valid values: 0, 7, 14"), "{}", e.message);
        assert!(Name::DefaultLogDriverMode.check_value("non-blocking").is_ok());
        assert_eq!(Name::GuardDutyActivate.setting_type(), "aws_managed");
        assert_eq!(Name::ContainerInsights.setting_type(), "user");
        assert_eq!(Name::FargateFipsMode.scope(), Scope::Account);
        assert_eq!(Name::ServiceLongArnFormat.scope(), Scope::Principal);
    }

    #[test]
    fn principal_arns() {
        let acct = "123456789012";
        assert_eq!(Principal::parse_arn(acct, "arn:aws:iam::123456789012:root").unwrap(), Principal::Root);
        assert_eq!(
            Principal::parse_arn(acct, "arn:aws:iam::123456789012:user/team/Alice").unwrap(),
            Principal::User("Alice".into())
        );
        assert_eq!(
            Principal::parse_arn(acct, "arn:aws:iam::123456789012:role/trainer").unwrap(),
            Principal::Role("trainer".into())
        );
        for bad in [
            "arn:aws:iam::999999999999:root",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:sts::123456789012:assumed-role/trainer/s1",
            "arn:aws:iam::123456789012:user/",
            "arn:aws:iam::123456789012:user/a b",
            "alice",
        ] {
            let e = Principal::parse_arn(acct, bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidParameterException, "{bad}");
        }
        assert_eq!(Principal::User("Alice".into()).key(), "user/alice");
        assert_eq!(Principal::of(&Caller::Root), Principal::Root);
        let role = Caller::Role {
            name: "trainer".into(),
            session: "s".into(),
            policy: None,
            tags: vec![],
            access_key_id: "ASIA".into(),
            task: None,
        };
        assert_eq!(Principal::of(&role), Principal::Role("trainer".into()));
    }

    async fn api() -> (Arc<Api>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn berth_store::Store> =
            Arc::new(berth_store::SqliteStore::open(&dir.path().join("state.db")).unwrap());
        let config = crate::ServerConfig::new("us-east-1", "123456789012", crate::AuthMode::Disabled);
        (crate::build_api(store, &config).await.unwrap(), dir)
    }

    fn setting(name: Name, value: &str, arn: &str) -> StoredSetting {
        StoredSetting { name: name.as_str().into(), value: value.into(), principal_arn: arn.into() }
    }

    #[tokio::test]
    async fn the_principal_s_own_then_the_default_then_aws_s() {
        let (api, _dir) = api().await;
        let alice = Principal::User("alice".into());
        let bob = Principal::User("Bob".into());
        let name = Name::TaskLongArnFormat;
        assert_eq!(effective(&api, &alice, name).await.unwrap(), "enabled");
        put(&api, &Principal::Root, setting(name, "disabled", "arn:aws:iam::123456789012:root")).await.unwrap();
        assert_eq!(effective(&api, &alice, name).await.unwrap(), "disabled");
        assert_eq!(effective(&api, &Principal::Root, name).await.unwrap(), "disabled");
        put(&api, &alice, setting(name, "enabled", "arn:aws:iam::123456789012:user/alice")).await.unwrap();
        assert_eq!(effective(&api, &alice, name).await.unwrap(), "enabled");
        assert_eq!(effective(&api, &bob, name).await.unwrap(), "disabled");
        // IAM names do not depend on case.
        put(&api, &bob, setting(name, "enabled", "arn:aws:iam::123456789012:user/Bob")).await.unwrap();
        assert_eq!(effective(&api, &Principal::User("bob".into()), name).await.unwrap(), "enabled");
        let caller = Caller::User { name: "alice".into(), access_key_id: "AKIA".into() };
        assert_eq!(arn_format(&api, &caller, name).await.unwrap(), ArnFormat::Long);
        assert_eq!(arn_format(&api, &Caller::Root, name).await.unwrap(), ArnFormat::Short);
        // Deleting the default brings AWS's back; deleting twice finds nothing.
        assert!(delete(&api, &Principal::Root, name).await.unwrap().is_some());
        assert!(delete(&api, &Principal::Root, name).await.unwrap().is_none());
        assert_eq!(effective(&api, &Principal::Role("r".into()), name).await.unwrap(), "enabled");
        let own = all_own(&api, &alice).await.unwrap();
        assert_eq!(own, vec![setting(name, "enabled", "arn:aws:iam::123456789012:user/alice")]);
        assert!(tag_on_create_needs_tag_resource(&api, &caller).await.unwrap());
        put(&api, &alice, setting(Name::TagResourceAuthorization, "off", "x")).await.unwrap();
        assert!(!tag_on_create_needs_tag_resource(&api, &caller).await.unwrap());
        let names: Vec<String> = all_own(&api, &alice).await.unwrap().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["tagResourceAuthorization", "taskLongArnFormat"]);
    }
}
