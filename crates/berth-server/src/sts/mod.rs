//! STS (query protocol, `Version=2011-06-15`, signed for `sts`). Every operation of the botocore STS model is in
//! [`OPERATIONS`]; served: GetCallerIdentity (which, as on AWS, needs no permission) and GetAccessKeyInfo.
//!
//! Limits: temporary credentials (AssumeRole, GetSessionToken, AssumeRoleWithWebIdentity) are not served yet; they
//! answer `InvalidAction` naming the operation.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::auth::{AccessKey, Caller};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::iam::entities::{self, Kind};
use crate::iam::{HandlerFuture, Operation};
use crate::state::{self, keys};

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
    Operation { name: "AssumeRole", handler: None },
    Operation { name: "AssumeRoleWithSAML", handler: None },
    Operation { name: "AssumeRoleWithWebIdentity", handler: None },
    Operation { name: "AssumeRoot", handler: None },
    Operation { name: "DecodeAuthorizationMessage", handler: None },
    Operation { name: "GetAccessKeyInfo", handler: Some(handler!(get_access_key_info)) },
    Operation { name: "GetCallerIdentity", handler: Some(handler!(get_caller_identity)) },
    Operation { name: "GetDelegatedAccessToken", handler: None },
    Operation { name: "GetFederationToken", handler: None },
    Operation { name: "GetSessionToken", handler: None },
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

#[derive(Debug, Deserialize)]
pub struct Empty {}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The table holds exactly the operations of the STS model in the installed botocore package.
    #[test]
    fn table_matches_the_botocore_model() {
        let script = r#"
import json, botocore.session
print(json.dumps(sorted(botocore.session.get_session().get_service_model('sts').operation_names)))
"#;
        let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        let python = if venv.exists() { venv.to_string_lossy().into_owned() } else { "python3".to_owned() };
        let out = std::process::Command::new(&python).args(["-c", script]).output().expect("python with botocore");
        assert!(out.status.success(), "botocore must be installed: {}", String::from_utf8_lossy(&out.stderr));
        let model: Vec<String> = serde_json::from_slice(&out.stdout).expect("a JSON list of names");
        let table: Vec<&str> = OPERATIONS.iter().map(|o| o.name).collect();
        assert_eq!(table, model.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
