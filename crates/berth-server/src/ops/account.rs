//! ListAccountSettings. Berth has no per-account or per-principal settings yet (PutAccountSetting is not
//! supported), so the settings listed are the fixed behaviour of this server, each stated as the ECS setting
//! that describes it.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult};
use crate::paging::PageRequest;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListAccountSettingsRequest {
    name: Option<String>,
    value: Option<String>,
    principal_arn: Option<String>,
    #[allow(dead_code)] // Every setting listed is already the effective one.
    effective_settings: Option<bool>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// What this server does, as ECS account settings.
const SETTINGS: [(&str, &str); 5] = [
    // ARNs of tasks, services and container instances include the cluster name.
    ("containerInstanceLongArnFormat", "enabled"),
    ("serviceLongArnFormat", "enabled"),
    ("taskLongArnFormat", "enabled"),
    // New clusters start with containerInsights disabled.
    ("containerInsights", "disabled"),
    // ENI trunking does not exist here.
    ("awsvpcTrunking", "disabled"),
];

const VALID_NAMES: [&str; 12] = [
    "serviceLongArnFormat",
    "taskLongArnFormat",
    "containerInstanceLongArnFormat",
    "awsvpcTrunking",
    "containerInsights",
    "fargateFIPSMode",
    "tagResourceAuthorization",
    "fargateTaskRetirementWaitPeriod",
    "guardDutyActivate",
    "defaultLogDriverMode",
    "fargateEventWindows",
    "dualStackIPv6",
];

pub async fn list_account_settings(api: &Api, req: ListAccountSettingsRequest) -> ApiResult<Value> {
    if let Some(n) = &req.name
        && !VALID_NAMES.contains(&n.as_str())
    {
        return Err(ApiError::invalid(format!(
            "name '{}' is not a valid account setting name.",
            berth_model::names::truncate(n, 64)
        )));
    }
    let page = PageRequest::new(req.next_token.as_deref(), req.max_results, 10)?;
    let principal = req.principal_arn.clone().unwrap_or_else(|| format!("arn:aws:iam::{}:root", api.scope.account_id));
    let mut settings: Vec<Value> = SETTINGS
        .iter()
        .filter(|(n, v)| req.name.as_deref().is_none_or(|x| x == *n) && req.value.as_deref().is_none_or(|x| x == *v))
        .map(|(n, v)| json!({ "name": n, "value": v, "principalArn": principal, "type": "aws_managed" }))
        .collect();
    settings.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let (settings, next) = page.apply(settings, |s| s["name"].as_str().unwrap_or_default().to_owned());
    Ok(json!({ "settings": settings, "nextToken": next }))
}
