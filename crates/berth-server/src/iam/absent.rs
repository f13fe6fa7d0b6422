//! IAM entities Berth does not have: instance profiles, SSH public keys, MFA devices, login profiles, signing
//! certificates and service-specific credentials. Their creation answers `InvalidAction` (not supported); listing
//! them answers, truthfully, that there are none, and reading or deleting a login profile that `NoSuchEntity`.
//! Tools that clean up before deleting a user or role (Terraform's `force_destroy`, instance profile checks) call
//! these.

use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::Kind;
use super::load;
use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForUser {
    user_name: Option<String>,
}

/// The named user must exist (without one, the caller's own).
async fn user_exists(api: &Api, caller: &Caller, named: Option<&str>) -> ApiResult<()> {
    match (named, caller) {
        (Some(name), _) => load(api, Kind::User, name).await.map(|_| ()),
        (None, Caller::User { name, .. }) => load(api, Kind::User, name).await.map(|_| ()),
        (None, _) => Ok(()),
    }
}

pub async fn list_ssh_public_keys(api: &Api, caller: &Caller, req: ForUser) -> ApiResult<Value> {
    user_exists(api, caller, req.user_name.as_deref()).await?;
    Ok(json!({ "SSHPublicKeys": [], "IsTruncated": false }))
}

pub async fn list_mfa_devices(api: &Api, caller: &Caller, req: ForUser) -> ApiResult<Value> {
    user_exists(api, caller, req.user_name.as_deref()).await?;
    Ok(json!({ "MFADevices": [], "IsTruncated": false }))
}

pub async fn list_signing_certificates(api: &Api, caller: &Caller, req: ForUser) -> ApiResult<Value> {
    user_exists(api, caller, req.user_name.as_deref()).await?;
    Ok(json!({ "Certificates": [], "IsTruncated": false }))
}

pub async fn list_service_specific_credentials(api: &Api, caller: &Caller, req: ForUser) -> ApiResult<Value> {
    user_exists(api, caller, req.user_name.as_deref()).await?;
    Ok(json!({ "ServiceSpecificCredentials": [] }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Any {}

pub async fn list_virtual_mfa_devices(_api: &Api, _caller: &Caller, _req: Any) -> ApiResult<Value> {
    Ok(json!({ "VirtualMFADevices": [], "IsTruncated": false }))
}

pub async fn list_instance_profiles(_api: &Api, _caller: &Caller, _req: Any) -> ApiResult<Value> {
    Ok(json!({ "InstanceProfiles": [], "IsTruncated": false }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForRole {
    role_name: String,
}

pub async fn list_instance_profiles_for_role(api: &Api, _caller: &Caller, req: ForRole) -> ApiResult<Value> {
    load(api, Kind::Role, &req.role_name).await?;
    Ok(json!({ "InstanceProfiles": [], "IsTruncated": false }))
}

/// GetLoginProfile and DeleteLoginProfile: users have no console password in Berth.
pub async fn no_login_profile(api: &Api, caller: &Caller, req: ForUser) -> ApiResult<Value> {
    user_exists(api, caller, req.user_name.as_deref()).await?;
    let name = req.user_name.as_deref().unwrap_or("the caller");
    Err(ApiError::new(ErrorCode::NoSuchEntity, format!("Login Profile for User {name} cannot be found.")))
}
