//! GetResourcePolicy and DeleteResourcePolicy. Berth has no resource policies on secrets (access is decided by
//! the caller's identity-based policies alone), so a secret never has one: GetResourcePolicy answers without
//! `ResourcePolicy` and DeleteResourcePolicy has nothing to remove. Both are served so that clients reading a
//! secret's policy (Terraform's `aws_secretsmanager_secret` does on every read) work; PutResourcePolicy is refused.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{store, validate};
use crate::api::Api;
use crate::error::ApiResult;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourcePolicyRequest {
    secret_id: String,
}

pub async fn get_resource_policy(api: &Api, req: ResourcePolicyRequest) -> ApiResult<Value> {
    validate::secret_id(&req.secret_id)?;
    let secret = store::load(api, &req.secret_id).await?.value;
    Ok(json!({ "ARN": secret.arn, "Name": secret.name }))
}

pub async fn delete_resource_policy(api: &Api, req: ResourcePolicyRequest) -> ApiResult<Value> {
    validate::secret_id(&req.secret_id)?;
    let secret = store::load(api, &req.secret_id).await?.value;
    secret.ensure_active()?;
    Ok(json!({ "ARN": secret.arn, "Name": secret.name }))
}
