//! The IAM API (query protocol, `Version=2010-05-08`, signed for `iam`): users, access keys, groups, roles with
//! trust policies, customer managed policies with versions, inline policies, attachments, tags, and
//! GetAccountAuthorizationDetails. Every operation of the botocore IAM model is in [`OPERATIONS`]; those without a
//! handler answer `InvalidAction` naming the operation, names outside the model `InvalidAction` too.
//!
//! Modules: [`entities`] (the stored records and IAM's input rules), [`users`], [`access_keys`], [`groups`],
//! [`roles`], [`policies`] (managed policies and versions), [`attached`] (attaching them), [`inline`] (inline
//! policies), [`details`] (GetAccountAuthorizationDetails), [`absent`] (the kinds of entity Berth does not have:
//! listed empty). Who may call what is decided before a handler runs
//! (`crate::authz`); the handlers only record what the caller asked for.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::Api;
use crate::auth::Caller;
use crate::dispatch::decode_input;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::{self, Versioned, keys};

pub mod absent;
pub mod access_keys;
pub mod attached;
pub mod details;
pub mod entities;
pub mod groups;
pub mod inline;
pub mod policies;
pub mod roles;
pub mod users;

use entities::{Identity, Kind, ManagedPolicy};

/// The XML namespace of IAM's responses.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// The API version requests name.
pub const VERSION: &str = "2010-05-08";

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = ApiResult<Value>> + Send>>;

/// A handler: the API context, the caller (GetUser without a name describes the caller) and the parameters.
pub type Handler = fn(Arc<Api>, Caller, Value) -> HandlerFuture;

/// One operation of the IAM model.
pub struct Operation {
    pub name: &'static str,
    pub handler: Option<Handler>,
}

/// Wraps `handler(&Api, &Caller, Input) -> ApiResult<Value>` as a table entry.
macro_rules! handler {
    ($f:path) => {
        |api: Arc<Api>, caller: Caller, params: Value| -> HandlerFuture {
            Box::pin(async move {
                let input = decode(params)?;
                $f(&api, &caller, input).await
            })
        }
    };
}

/// Every operation of the IAM model (botocore iam 2010-05-08), sorted by name.
pub static OPERATIONS: &[Operation] = &[
    Operation { name: "AcceptDelegationRequest", handler: None },
    Operation { name: "AddClientIDToOpenIDConnectProvider", handler: None },
    Operation { name: "AddRoleToInstanceProfile", handler: None },
    Operation { name: "AddUserToGroup", handler: Some(handler!(groups::add_user_to_group)) },
    Operation { name: "AssociateDelegationRequest", handler: None },
    Operation { name: "AttachGroupPolicy", handler: Some(handler!(attached::attach_group_policy)) },
    Operation { name: "AttachRolePolicy", handler: Some(handler!(attached::attach_role_policy)) },
    Operation { name: "AttachUserPolicy", handler: Some(handler!(attached::attach_user_policy)) },
    Operation { name: "ChangePassword", handler: None },
    Operation { name: "CreateAccessKey", handler: Some(handler!(access_keys::create_access_key)) },
    Operation { name: "CreateAccountAlias", handler: None },
    Operation { name: "CreateDelegationRequest", handler: None },
    Operation { name: "CreateGroup", handler: Some(handler!(groups::create_group)) },
    Operation { name: "CreateInstanceProfile", handler: None },
    Operation { name: "CreateLoginProfile", handler: None },
    Operation { name: "CreateOpenIDConnectProvider", handler: None },
    Operation { name: "CreatePolicy", handler: Some(handler!(policies::create_policy)) },
    Operation { name: "CreatePolicyVersion", handler: Some(handler!(policies::create_policy_version)) },
    Operation { name: "CreateRole", handler: Some(handler!(roles::create_role)) },
    Operation { name: "CreateSAMLProvider", handler: None },
    Operation { name: "CreateServiceLinkedRole", handler: None },
    Operation { name: "CreateServiceSpecificCredential", handler: None },
    Operation { name: "CreateUser", handler: Some(handler!(users::create_user)) },
    Operation { name: "CreateVirtualMFADevice", handler: None },
    Operation { name: "DeactivateMFADevice", handler: None },
    Operation { name: "DeleteAccessKey", handler: Some(handler!(access_keys::delete_access_key)) },
    Operation { name: "DeleteAccountAlias", handler: None },
    Operation { name: "DeleteAccountPasswordPolicy", handler: None },
    Operation { name: "DeleteGroup", handler: Some(handler!(groups::delete_group)) },
    Operation { name: "DeleteGroupPolicy", handler: Some(handler!(inline::delete_group_policy)) },
    Operation { name: "DeleteInstanceProfile", handler: None },
    Operation { name: "DeleteLoginProfile", handler: Some(handler!(absent::no_login_profile)) },
    Operation { name: "DeleteOpenIDConnectProvider", handler: None },
    Operation { name: "DeletePolicy", handler: Some(handler!(policies::delete_policy)) },
    Operation { name: "DeletePolicyVersion", handler: Some(handler!(policies::delete_policy_version)) },
    Operation { name: "DeleteRole", handler: Some(handler!(roles::delete_role)) },
    Operation { name: "DeleteRolePermissionsBoundary", handler: None },
    Operation { name: "DeleteRolePolicy", handler: Some(handler!(inline::delete_role_policy)) },
    Operation { name: "DeleteSAMLProvider", handler: None },
    Operation { name: "DeleteSSHPublicKey", handler: None },
    Operation { name: "DeleteServerCertificate", handler: None },
    Operation { name: "DeleteServiceLinkedRole", handler: None },
    Operation { name: "DeleteServiceSpecificCredential", handler: None },
    Operation { name: "DeleteSigningCertificate", handler: None },
    Operation { name: "DeleteUser", handler: Some(handler!(users::delete_user)) },
    Operation { name: "DeleteUserPermissionsBoundary", handler: None },
    Operation { name: "DeleteUserPolicy", handler: Some(handler!(inline::delete_user_policy)) },
    Operation { name: "DeleteVirtualMFADevice", handler: None },
    Operation { name: "DetachGroupPolicy", handler: Some(handler!(attached::detach_group_policy)) },
    Operation { name: "DetachRolePolicy", handler: Some(handler!(attached::detach_role_policy)) },
    Operation { name: "DetachUserPolicy", handler: Some(handler!(attached::detach_user_policy)) },
    Operation { name: "DisableOrganizationsRootCredentialsManagement", handler: None },
    Operation { name: "DisableOrganizationsRootSessions", handler: None },
    Operation { name: "DisableOutboundWebIdentityFederation", handler: None },
    Operation { name: "EnableMFADevice", handler: None },
    Operation { name: "EnableOrganizationsRootCredentialsManagement", handler: None },
    Operation { name: "EnableOrganizationsRootSessions", handler: None },
    Operation { name: "EnableOutboundWebIdentityFederation", handler: None },
    Operation { name: "GenerateCredentialReport", handler: None },
    Operation { name: "GenerateOrganizationsAccessReport", handler: None },
    Operation { name: "GenerateServiceLastAccessedDetails", handler: None },
    Operation { name: "GetAccessKeyLastUsed", handler: Some(handler!(access_keys::get_access_key_last_used)) },
    Operation {
        name: "GetAccountAuthorizationDetails",
        handler: Some(handler!(details::get_account_authorization_details)),
    },
    Operation { name: "GetAccountPasswordPolicy", handler: None },
    Operation { name: "GetAccountSummary", handler: None },
    Operation { name: "GetContextKeysForCustomPolicy", handler: None },
    Operation { name: "GetContextKeysForPrincipalPolicy", handler: None },
    Operation { name: "GetCredentialReport", handler: None },
    Operation { name: "GetDelegationRequest", handler: None },
    Operation { name: "GetGroup", handler: Some(handler!(groups::get_group)) },
    Operation { name: "GetGroupPolicy", handler: Some(handler!(inline::get_group_policy)) },
    Operation { name: "GetHumanReadableSummary", handler: None },
    Operation { name: "GetInstanceProfile", handler: None },
    Operation { name: "GetLoginProfile", handler: Some(handler!(absent::no_login_profile)) },
    Operation { name: "GetMFADevice", handler: None },
    Operation { name: "GetOpenIDConnectProvider", handler: None },
    Operation { name: "GetOrganizationsAccessReport", handler: None },
    Operation { name: "GetOutboundWebIdentityFederationInfo", handler: None },
    Operation { name: "GetPolicy", handler: Some(handler!(policies::get_policy)) },
    Operation { name: "GetPolicyVersion", handler: Some(handler!(policies::get_policy_version)) },
    Operation { name: "GetRole", handler: Some(handler!(roles::get_role)) },
    Operation { name: "GetRolePolicy", handler: Some(handler!(inline::get_role_policy)) },
    Operation { name: "GetSAMLProvider", handler: None },
    Operation { name: "GetSSHPublicKey", handler: None },
    Operation { name: "GetServerCertificate", handler: None },
    Operation { name: "GetServiceLastAccessedDetails", handler: None },
    Operation { name: "GetServiceLastAccessedDetailsWithEntities", handler: None },
    Operation { name: "GetServiceLinkedRoleDeletionStatus", handler: None },
    Operation { name: "GetUser", handler: Some(handler!(users::get_user)) },
    Operation { name: "GetUserPolicy", handler: Some(handler!(inline::get_user_policy)) },
    Operation { name: "ListAccessKeys", handler: Some(handler!(access_keys::list_access_keys)) },
    Operation { name: "ListAccountAliases", handler: None },
    Operation { name: "ListAttachedGroupPolicies", handler: Some(handler!(attached::list_attached_group_policies)) },
    Operation { name: "ListAttachedRolePolicies", handler: Some(handler!(attached::list_attached_role_policies)) },
    Operation { name: "ListAttachedUserPolicies", handler: Some(handler!(attached::list_attached_user_policies)) },
    Operation { name: "ListDelegationRequests", handler: None },
    Operation { name: "ListEntitiesForPolicy", handler: Some(handler!(attached::list_entities_for_policy)) },
    Operation { name: "ListGroupPolicies", handler: Some(handler!(inline::list_group_policies)) },
    Operation { name: "ListGroups", handler: Some(handler!(groups::list_groups)) },
    Operation { name: "ListGroupsForUser", handler: Some(handler!(groups::list_groups_for_user)) },
    Operation { name: "ListInstanceProfileTags", handler: None },
    Operation { name: "ListInstanceProfiles", handler: Some(handler!(absent::list_instance_profiles)) },
    Operation { name: "ListInstanceProfilesForRole", handler: Some(handler!(absent::list_instance_profiles_for_role)) },
    Operation { name: "ListMFADeviceTags", handler: None },
    Operation { name: "ListMFADevices", handler: Some(handler!(absent::list_mfa_devices)) },
    Operation { name: "ListOpenIDConnectProviderTags", handler: None },
    Operation { name: "ListOpenIDConnectProviders", handler: None },
    Operation { name: "ListOrganizationsFeatures", handler: None },
    Operation { name: "ListPolicies", handler: Some(handler!(policies::list_policies)) },
    Operation { name: "ListPoliciesGrantingServiceAccess", handler: None },
    Operation { name: "ListPolicyTags", handler: Some(handler!(policies::list_policy_tags)) },
    Operation { name: "ListPolicyVersions", handler: Some(handler!(policies::list_policy_versions)) },
    Operation { name: "ListRolePolicies", handler: Some(handler!(inline::list_role_policies)) },
    Operation { name: "ListRoleTags", handler: Some(handler!(roles::list_role_tags)) },
    Operation { name: "ListRoles", handler: Some(handler!(roles::list_roles)) },
    Operation { name: "ListSAMLProviderTags", handler: None },
    Operation { name: "ListSAMLProviders", handler: None },
    Operation { name: "ListSSHPublicKeys", handler: Some(handler!(absent::list_ssh_public_keys)) },
    Operation { name: "ListServerCertificateTags", handler: None },
    Operation { name: "ListServerCertificates", handler: None },
    Operation {
        name: "ListServiceSpecificCredentials",
        handler: Some(handler!(absent::list_service_specific_credentials)),
    },
    Operation { name: "ListSigningCertificates", handler: Some(handler!(absent::list_signing_certificates)) },
    Operation { name: "ListUserPolicies", handler: Some(handler!(inline::list_user_policies)) },
    Operation { name: "ListUserTags", handler: Some(handler!(users::list_user_tags)) },
    Operation { name: "ListUsers", handler: Some(handler!(users::list_users)) },
    Operation { name: "ListVirtualMFADevices", handler: Some(handler!(absent::list_virtual_mfa_devices)) },
    Operation { name: "PutGroupPolicy", handler: Some(handler!(inline::put_group_policy)) },
    Operation { name: "PutRolePermissionsBoundary", handler: None },
    Operation { name: "PutRolePolicy", handler: Some(handler!(inline::put_role_policy)) },
    Operation { name: "PutUserPermissionsBoundary", handler: None },
    Operation { name: "PutUserPolicy", handler: Some(handler!(inline::put_user_policy)) },
    Operation { name: "RejectDelegationRequest", handler: None },
    Operation { name: "RemoveClientIDFromOpenIDConnectProvider", handler: None },
    Operation { name: "RemoveRoleFromInstanceProfile", handler: None },
    Operation { name: "RemoveUserFromGroup", handler: Some(handler!(groups::remove_user_from_group)) },
    Operation { name: "ResetServiceSpecificCredential", handler: None },
    Operation { name: "ResyncMFADevice", handler: None },
    Operation { name: "SendDelegationToken", handler: None },
    Operation { name: "SetDefaultPolicyVersion", handler: Some(handler!(policies::set_default_policy_version)) },
    Operation { name: "SetSecurityTokenServicePreferences", handler: None },
    Operation { name: "SimulateCustomPolicy", handler: None },
    Operation { name: "SimulatePrincipalPolicy", handler: None },
    Operation { name: "TagInstanceProfile", handler: None },
    Operation { name: "TagMFADevice", handler: None },
    Operation { name: "TagOpenIDConnectProvider", handler: None },
    Operation { name: "TagPolicy", handler: Some(handler!(policies::tag_policy)) },
    Operation { name: "TagRole", handler: Some(handler!(roles::tag_role)) },
    Operation { name: "TagSAMLProvider", handler: None },
    Operation { name: "TagServerCertificate", handler: None },
    Operation { name: "TagUser", handler: Some(handler!(users::tag_user)) },
    Operation { name: "UntagInstanceProfile", handler: None },
    Operation { name: "UntagMFADevice", handler: None },
    Operation { name: "UntagOpenIDConnectProvider", handler: None },
    Operation { name: "UntagPolicy", handler: Some(handler!(policies::untag_policy)) },
    Operation { name: "UntagRole", handler: Some(handler!(roles::untag_role)) },
    Operation { name: "UntagSAMLProvider", handler: None },
    Operation { name: "UntagServerCertificate", handler: None },
    Operation { name: "UntagUser", handler: Some(handler!(users::untag_user)) },
    Operation { name: "UpdateAccessKey", handler: Some(handler!(access_keys::update_access_key)) },
    Operation { name: "UpdateAccountPasswordPolicy", handler: None },
    Operation { name: "UpdateAssumeRolePolicy", handler: Some(handler!(roles::update_assume_role_policy)) },
    Operation { name: "UpdateDelegationRequest", handler: None },
    Operation { name: "UpdateGroup", handler: Some(handler!(groups::update_group)) },
    Operation { name: "UpdateLoginProfile", handler: None },
    Operation { name: "UpdateOpenIDConnectProviderThumbprint", handler: None },
    Operation { name: "UpdateRole", handler: Some(handler!(roles::update_role)) },
    Operation { name: "UpdateRoleDescription", handler: Some(handler!(roles::update_role_description)) },
    Operation { name: "UpdateSAMLProvider", handler: None },
    Operation { name: "UpdateSSHPublicKey", handler: None },
    Operation { name: "UpdateServerCertificate", handler: None },
    Operation { name: "UpdateServiceSpecificCredential", handler: None },
    Operation { name: "UpdateSigningCertificate", handler: None },
    Operation { name: "UpdateUser", handler: Some(handler!(users::update_user)) },
    Operation { name: "UploadSSHPublicKey", handler: None },
    Operation { name: "UploadServerCertificate", handler: None },
    Operation { name: "UploadSigningCertificate", handler: None },
];

/// The operation named `name`, if the IAM model has it.
pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.binary_search_by(|op| op.name.cmp(name)).ok().map(|i| &OPERATIONS[i])
}

/// Runs the named operation for `caller`.
pub async fn dispatch(api: Arc<Api>, caller: Caller, name: &str, params: Value) -> ApiResult<Value> {
    match find(name).map(|op| op.handler) {
        Some(Some(handler)) => {
            let answer = handler(api.clone(), caller, params).await;
            // Authorization reads identities from memory: whatever this operation changed counts from the next
            // request on (reads move it too, which costs one reload of the caller's policies).
            api.policies.changed();
            answer
        }
        Some(None) => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("{name} is not supported by Berth. See docs/API-COVERAGE.md for the IAM operations it serves."),
        )),
        None => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {} for version {VERSION}.", berth_model::names::truncate(name, 128)),
        )),
    }
}

/// Decodes query parameters into an operation's input; a mistyped or missing one is a `ValidationError` naming it.
fn decode<T: DeserializeOwned>(params: Value) -> ApiResult<T> {
    let params = if params.is_null() { Value::Object(Default::default()) } else { params };
    decode_input(params).map_err(|e| ApiError::new(ErrorCode::ValidationError, e.message))
}

/// Reads a user, group or role; `NoSuchEntity` when there is none.
pub async fn load(api: &Api, kind: Kind, name: &str) -> ApiResult<Versioned<Identity>> {
    entities::check_name(kind, name_field(kind), name)?;
    state::get::<Identity>(api.store.as_ref(), &keys::iam(kind.as_str(), name))
        .await?
        .ok_or_else(|| entities::not_found(kind, name))
}

/// Every user, group or role, by name.
pub async fn all(api: &Api, kind: Kind) -> ApiResult<Vec<Versioned<Identity>>> {
    state::list::<Identity>(api.store.as_ref(), &keys::iam_of(kind.as_str())).await
}

/// Every managed policy.
pub async fn all_policies(api: &Api) -> ApiResult<Vec<Versioned<ManagedPolicy>>> {
    state::list::<ManagedPolicy>(api.store.as_ref(), &keys::iam_of(Kind::Policy.as_str())).await
}

/// IAM's answer to an operation on "the caller's own user" made with a role's session.
pub fn not_a_user() -> ApiError {
    ApiError::new(ErrorCode::ValidationError, "Must specify userName when calling with non-User credentials")
}

/// The parameter naming an identity of the kind, for messages.
pub fn name_field(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "userName",
        Kind::Group => "groupName",
        Kind::Role => "roleName",
        Kind::Policy => "policyName",
    }
}

/// Read-modify-write of one user, group or role: `change` edits it (or refuses). The record is rewritten even when
/// unchanged, so its revision moves and transactions that compared it (DeleteGroup against a concurrent
/// AddUserToGroup) are redone.
pub async fn modify<R>(
    api: &Api,
    kind: Kind,
    name: &str,
    change: impl Fn(&mut Identity) -> ApiResult<R>,
) -> ApiResult<R> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let current = load(api, kind, name).await?;
        let mut next = current.value.clone();
        let result = change(&mut next)?;
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &next)?], result))
    })
    .await
}

/// One page of `items` (sorted by `key`) after `marker`, at most `max_items` (1 to 1000, 100 by default), as IAM
/// pages: `IsTruncated` and the `Marker` to pass next.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> ApiResult<(Vec<T>, bool, Option<String>)> {
    let max = match max_items {
        None => 100,
        Some(n) if (1..=1000).contains(&n) => n as usize,
        Some(n) => {
            return Err(entities::validation(
                "maxItems",
                &n.to_string(),
                "Member must have value less than or equal to 1000 and greater than or equal to 1",
            ));
        }
    };
    let after = match marker {
        None => None,
        Some(m) => Some(
            hex::decode(m)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, "Invalid Marker."))?,
        ),
    };
    let mut rest: Vec<T> = items.into_iter().filter(|i| after.as_deref().is_none_or(|a| key(i).as_str() > a)).collect();
    let truncated = rest.len() > max;
    rest.truncate(max);
    let next = if truncated { rest.last().map(|i| hex::encode(key(i))) } else { None };
    Ok((rest, truncated, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in OPERATIONS.windows(2) {
            assert!(pair[0].name < pair[1].name, "{} must sort before {}", pair[0].name, pair[1].name);
        }
        assert!(find("CreateUser").and_then(|o| o.handler).is_some());
        assert!(find("CreateSAMLProvider").is_some_and(|o| o.handler.is_none()));
    }

    /// The table holds exactly the operations of the IAM model in the installed botocore package.
    #[test]
    fn table_matches_the_botocore_model() {
        crate::dispatch::botocore_model::assert_table_matches("iam", OPERATIONS.iter().map(|o| o.name));
    }

    #[test]
    fn pages_follow_markers() {
        let names: Vec<String> = (0..5).map(|i| format!("u{i}")).collect();
        let (first, truncated, marker) = page(names.clone(), |n| n.clone(), None, Some(2)).unwrap();
        assert_eq!((first, truncated), (vec!["u0".to_owned(), "u1".to_owned()], true));
        let (second, _, _) = page(names.clone(), |n| n.clone(), marker.as_deref(), Some(10)).unwrap();
        assert_eq!(second, ["u2", "u3", "u4"]);
        assert!(page(names.clone(), |n| n.clone(), Some("zz"), None).is_err());
        assert!(page(names, |n| n.clone(), None, Some(0)).is_err());
    }
}
