//! Tags on log groups: TagResource, UntagResource and ListTagsForResource (by ARN), and the older TagLogGroup,
//! UntagLogGroup and ListTagsLogGroup (by name), with CloudWatch's limits: at most 50 tags per resource, keys of 1 to
//! 128 and values of at most 256 letters, digits, spaces and `_.:/=+-@`, no keys under `aws:`.
//!
//! Tags live on the group's record (`loggroups/<name>`), so they go with the group when it is deleted. Of
//! CloudWatch's taggable resources Berth has log groups only: a destination's ARN answers
//! `ResourceNotFoundException`.

use std::collections::BTreeMap;

use berth_model::names::{is_tag_char, truncate};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::logs::groups::LogGroupRecord;
use crate::logs::validate;
use crate::state::{self, keys};

/// The most tags a log group can carry.
const MAX_TAGS: usize = 50;

/// Checks tags as CloudWatch does (each key and value; the count is checked against the merged set by callers).
pub fn check(tags: &BTreeMap<String, String>) -> ApiResult<()> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid(format!("tags: a log group can have at most {MAX_TAGS} tags.")));
    }
    for (key, value) in tags {
        check_key(key)?;
        if value.chars().count() > 256 {
            return Err(ApiError::invalid(format!(
                "tags: the value of '{}' is longer than 256 characters.",
                truncate(key, 128)
            )));
        }
        if let Some(c) = value.chars().find(|c| !is_tag_char(*c)) {
            return Err(ApiError::invalid(format!(
                "tags: the value of '{}' holds '{c}', which tags do not allow (letters, digits, spaces and _.:/=+-@).",
                truncate(key, 128)
            )));
        }
    }
    Ok(())
}

fn check_key(key: &str) -> ApiResult<()> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(ApiError::invalid("tags: keys must be 1 to 128 characters."));
    }
    if key.starts_with("aws:") {
        return Err(ApiError::invalid("tags: keys starting with 'aws:' are reserved."));
    }
    if let Some(c) = key.chars().find(|c| !is_tag_char(*c)) {
        return Err(ApiError::invalid(format!(
            "tags: key '{}' holds '{c}', which tags do not allow (letters, digits, spaces and _.:/=+-@).",
            truncate(key, 128)
        )));
    }
    Ok(())
}

/// The log group a `resourceArn` names: `arn:<partition>:logs:<region>:<account>:log-group:<name>`, with or without
/// the `:*` that DescribeLogGroups' `arn` carries.
fn group_of_arn(api: &Api, arn: &str) -> ApiResult<String> {
    let invalid = || {
        ApiError::invalid(format!(
            "resourceArn '{}' is not a CloudWatch Logs ARN (arn:aws:logs:<region>:<account>:log-group:<name>).",
            truncate(arn, 256)
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", _partition, "logs", region, account, resource] = parts.as_slice() else { return Err(invalid()) };
    let not_found = || ApiError::new(ErrorCode::ResourceNotFoundException, "The specified resource does not exist.");
    if *region != api.scope.region || *account != api.scope.account_id {
        return Err(not_found());
    }
    if let Some(name) = resource.strip_prefix("log-group:") {
        let name = name.strip_suffix(":*").unwrap_or(name);
        validate::group_name("resourceArn", name)?;
        return Ok(name.to_owned());
    }
    if resource.starts_with("destination:") {
        // A well-formed name of something Berth never has.
        return Err(not_found());
    }
    Err(invalid())
}

/// What a tagging request does to a group's tags.
enum Change {
    Add(BTreeMap<String, String>),
    Remove(Vec<String>),
}

/// Applies `change` to the group's tags in one commit; `too_many` is the error for a result above 50 tags.
async fn change_tags(api: &Api, name: &str, change: Change, too_many: ErrorCode) -> ApiResult<Value> {
    let key = keys::log_group(name);
    let store = api.store.as_ref();
    state::commit(store, || async {
        let Some(current) = state::get::<LogGroupRecord>(store, &key).await? else {
            return Err(ApiError::new(ErrorCode::ResourceNotFoundException, "The specified log group does not exist."));
        };
        let mut record = current.value.clone();
        match &change {
            Change::Add(tags) => {
                record.tags.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
                if record.tags.len() > MAX_TAGS {
                    return Err(ApiError::new(
                        too_many,
                        format!(
                            "A log group can have at most {MAX_TAGS} tags; this request would leave {} with {}.",
                            name,
                            record.tags.len()
                        ),
                    ));
                }
            }
            Change::Remove(keys) => record.tags.retain(|k, _| !keys.contains(k)),
        }
        if record == current.value {
            return Ok((vec![], vec![], ()));
        }
        Ok((vec![current.unchanged()], vec![state::put(&key, &record)?], ()))
    })
    .await?;
    Ok(json!({}))
}

async fn tags_of(api: &Api, name: &str) -> ApiResult<Value> {
    let group = crate::logs::groups::load(api, name).await?;
    Ok(json!({ "tags": group.tags }))
}

fn check_keys(field: &str, keys: &[String]) -> ApiResult<()> {
    if keys.len() > MAX_TAGS {
        return Err(ApiError::invalid(format!("{field}: at most {MAX_TAGS} keys per request.")));
    }
    for key in keys {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(ApiError::invalid(format!("{field}: keys must be 1 to 128 characters.")));
        }
    }
    Ok(())
}

fn check_given(tags: &BTreeMap<String, String>) -> ApiResult<()> {
    if tags.is_empty() {
        return Err(ApiError::invalid("tags: give at least one tag."));
    }
    check(tags)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceRequest {
    resource_arn: String,
}

pub async fn list_tags_for_resource(api: &Api, req: ListTagsForResourceRequest) -> ApiResult<Value> {
    let name = group_of_arn(api, &req.resource_arn)?;
    tags_of(api, &name).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceRequest {
    resource_arn: String,
    tags: BTreeMap<String, String>,
}

pub async fn tag_resource(api: &Api, req: TagResourceRequest) -> ApiResult<Value> {
    check_given(&req.tags)?;
    let name = group_of_arn(api, &req.resource_arn)?;
    change_tags(api, &name, Change::Add(req.tags), ErrorCode::TooManyTagsException).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceRequest {
    resource_arn: String,
    tag_keys: Vec<String>,
}

pub async fn untag_resource(api: &Api, req: UntagResourceRequest) -> ApiResult<Value> {
    check_keys("tagKeys", &req.tag_keys)?;
    let name = group_of_arn(api, &req.resource_arn)?;
    change_tags(api, &name, Change::Remove(req.tag_keys), ErrorCode::TooManyTagsException).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsLogGroupRequest {
    log_group_name: String,
}

pub async fn list_tags_log_group(api: &Api, req: ListTagsLogGroupRequest) -> ApiResult<Value> {
    validate::group_name("logGroupName", &req.log_group_name)?;
    tags_of(api, &req.log_group_name).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagLogGroupRequest {
    log_group_name: String,
    tags: BTreeMap<String, String>,
}

pub async fn tag_log_group(api: &Api, req: TagLogGroupRequest) -> ApiResult<Value> {
    validate::group_name("logGroupName", &req.log_group_name)?;
    check_given(&req.tags)?;
    // The older operation has no TooManyTagsException in the model; it answers InvalidParameterException.
    change_tags(api, &req.log_group_name, Change::Add(req.tags), ErrorCode::InvalidParameterException).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagLogGroupRequest {
    log_group_name: String,
    tags: Vec<String>,
}

pub async fn untag_log_group(api: &Api, req: UntagLogGroupRequest) -> ApiResult<Value> {
    validate::group_name("logGroupName", &req.log_group_name)?;
    if req.tags.is_empty() {
        return Err(ApiError::invalid("tags: give at least one tag key."));
    }
    check_keys("tags", &req.tags)?;
    change_tags(api, &req.log_group_name, Change::Remove(req.tags), ErrorCode::InvalidParameterException).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_as_cloudwatch_states_them() {
        let many: BTreeMap<String, String> = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(check(&many).is_err());
        assert!(check(&BTreeMap::from([("aws:x".into(), "v".into())])).is_err());
        assert!(check(&BTreeMap::from([("team".into(), "ml".into())])).is_ok());
        assert!(check(&BTreeMap::from([("team name".into(), "".into())])).is_ok(), "empty values are values");
        assert!(check(&BTreeMap::from([("ünïcode".into(), "ok @ 1+1=2".into())])).is_ok());
        assert!(check(&BTreeMap::from([("a*b".into(), "v".into())])).is_err());
        assert!(check(&BTreeMap::from([("k".into(), "new\nline".into())])).is_err());
        assert!(check(&BTreeMap::from([("k".into(), "x".repeat(257))])).is_err());
        assert!(check(&BTreeMap::from([("k".repeat(129), "v".into())])).is_err());
    }
}
