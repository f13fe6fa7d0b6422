//! Log groups: CreateLogGroup, DeleteLogGroup, DescribeLogGroups, PutRetentionPolicy and DeleteRetentionPolicy.
//! A group is a record in the store (`loggroups/<name>`); its streams live on the hosts, so deleting a group or
//! changing its retention is passed on to the agents holding its streams (best effort: a host that is down learns
//! the retention from the next read, which always carries it, and a deleted group's index is gone either way).

use std::collections::{BTreeMap, BTreeSet};

use berth_model::logs::{DeleteGroupRequest, PutRetentionRequest, paths};
use berth_model::names::truncate;
use berth_store::{Compare, Op};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::logs::{index, link, now_millis, tags, validate};
use crate::state::{self, keys};

/// A log group as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupRecord {
    pub log_group_name: String,
    /// Milliseconds since the epoch.
    pub creation_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<u32>,
    /// `arn:aws:logs:<region>:<account>:log-group:<name>:*`, as CloudWatch's `arn` field reads.
    pub arn: String,
    #[serde(default)]
    pub stored_bytes: u64,
    #[serde(default = "standard")]
    pub log_group_class: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn standard() -> String {
    "STANDARD".into()
}

impl LogGroupRecord {
    fn new(api: &Api, name: &str, class: Option<String>, tags: BTreeMap<String, String>) -> Self {
        LogGroupRecord {
            log_group_name: name.to_owned(),
            creation_time: now_millis(),
            retention_in_days: None,
            arn: format!("arn:aws:logs:{}:{}:log-group:{name}:*", api.scope.region, api.scope.account_id),
            stored_bytes: 0,
            log_group_class: class.unwrap_or_else(standard),
            tags,
        }
    }

    /// The group as DescribeLogGroups shows it; with a name pattern CloudWatch returns only the name, the creation
    /// time and the ARN.
    fn present(&self, basics_only: bool) -> Value {
        if basics_only {
            return json!({"logGroupName": self.log_group_name, "creationTime": self.creation_time, "arn": self.arn});
        }
        json!({
            "logGroupName": self.log_group_name,
            "creationTime": self.creation_time,
            "retentionInDays": self.retention_in_days,
            "metricFilterCount": 0,
            "arn": self.arn,
            "storedBytes": self.stored_bytes,
            "logGroupClass": self.log_group_class,
            "logGroupArn": self.arn.strip_suffix(":*").unwrap_or(&self.arn),
            "deletionProtectionEnabled": false,
        })
    }
}

/// The group named `name`, or `ResourceNotFoundException` as CloudWatch words it.
pub async fn load(api: &Api, name: &str) -> ApiResult<LogGroupRecord> {
    match state::get::<LogGroupRecord>(api.store.as_ref(), &keys::log_group(name)).await? {
        Some(g) => Ok(g.value),
        None => Err(ApiError::new(ErrorCode::ResourceNotFoundException, "The specified log group does not exist.")),
    }
}

/// Creates the group unless it exists (placing a task writing to it).
pub async fn ensure(api: &Api, name: &str) -> ApiResult<()> {
    let key = keys::log_group(name);
    if api.store.get(&key).await?.is_some() {
        return Ok(());
    }
    let record = LogGroupRecord::new(api, name, None, BTreeMap::new());
    // A concurrent creation wins the compare; the group exists either way.
    api.store.txn(vec![Compare::absent(key.clone())], vec![state::put(key, &record)?]).await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLogGroupRequest {
    log_group_name: String,
    kms_key_id: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    log_group_class: Option<String>,
    deletion_protection_enabled: Option<bool>,
}

pub async fn create_log_group(api: &Api, req: CreateLogGroupRequest) -> ApiResult<Value> {
    validate::group_name("logGroupName", &req.log_group_name)?;
    if req.kms_key_id.is_some() {
        return Err(ApiError::invalid(
            "kmsKeyId is not supported by Berth: log events are kept on the hosts' disks, not encrypted with KMS.",
        ));
    }
    if req.deletion_protection_enabled == Some(true) {
        return Err(ApiError::invalid("deletionProtectionEnabled is not supported by Berth."));
    }
    if let Some(class) = &req.log_group_class
        && !matches!(class.as_str(), "STANDARD" | "INFREQUENT_ACCESS")
    {
        return Err(ApiError::invalid(format!(
            "logGroupClass '{}' is not valid. Valid values: STANDARD, INFREQUENT_ACCESS.",
            truncate(class, 64)
        )));
    }
    let tags = req.tags.unwrap_or_default();
    tags::check(&tags)?;
    let key = keys::log_group(&req.log_group_name);
    let record = LogGroupRecord::new(api, &req.log_group_name, req.log_group_class, tags);
    let created = api.store.txn(vec![Compare::absent(key.clone())], vec![state::put(key, &record)?]).await?;
    if !created.succeeded {
        return Err(ApiError::new(ErrorCode::ResourceAlreadyExistsException, "The specified log group already exists"));
    }
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteLogGroupRequest {
    log_group_name: String,
}

pub async fn delete_log_group(api: &Api, req: DeleteLogGroupRequest) -> ApiResult<Value> {
    let name = req.log_group_name;
    validate::group_name("logGroupName", &name)?;
    let key = keys::log_group(&name);
    let Some(current) = state::get::<LogGroupRecord>(api.store.as_ref(), &key).await? else {
        return Err(ApiError::new(ErrorCode::ResourceNotFoundException, "The specified log group does not exist."));
    };
    if !api.store.txn(vec![current.unchanged()], vec![Op::delete(key)]).await?.succeeded {
        return Err(ApiError::new(
            ErrorCode::ResourceNotFoundException,
            "The specified log group changed or was deleted meanwhile; describe it and retry.",
        ));
    }
    let streams = index::streams_of(api, &name, None).await?;
    // The index of a large group is deleted in bounded transactions.
    for chunk in streams.chunks(256) {
        let ops = chunk.iter().map(|r| Op::delete(keys::log_stream(&name, &r.log_stream_name))).collect();
        api.store.txn(vec![], ops).await?;
    }
    let request = DeleteGroupRequest { log_group_name: name.clone() };
    tell_agents(api, streams, paths::DELETE_GROUP, &request).await;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRetentionPolicyRequest {
    log_group_name: String,
    retention_in_days: i64,
}

pub async fn put_retention_policy(api: &Api, req: PutRetentionPolicyRequest) -> ApiResult<Value> {
    validate::group_name("logGroupName", &req.log_group_name)?;
    let days = validate::retention(req.retention_in_days)?;
    set_retention(api, &req.log_group_name, Some(days)).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRetentionPolicyRequest {
    log_group_name: String,
}

pub async fn delete_retention_policy(api: &Api, req: DeleteRetentionPolicyRequest) -> ApiResult<Value> {
    validate::group_name("logGroupName", &req.log_group_name)?;
    set_retention(api, &req.log_group_name, None).await
}

async fn set_retention(api: &Api, name: &str, days: Option<u32>) -> ApiResult<Value> {
    let key = keys::log_group(name);
    state::commit(api.store.as_ref(), || async {
        let Some(current) = state::get::<LogGroupRecord>(api.store.as_ref(), &key).await? else {
            return Err(ApiError::new(ErrorCode::ResourceNotFoundException, "The specified log group does not exist."));
        };
        let mut record = current.value.clone();
        record.retention_in_days = days;
        Ok((vec![current.unchanged()], vec![state::put(&key, &record)?], ()))
    })
    .await?;
    let streams = index::streams_of(api, name, None).await?;
    let request = PutRetentionRequest { log_group_name: name.to_owned(), retention_in_days: days };
    tell_agents(api, streams, paths::PUT_RETENTION, &request).await;
    Ok(json!({}))
}

/// Sends `request` to every agent holding one of `streams`, concurrently; failures are logged.
async fn tell_agents<Req: Serialize + Sync>(api: &Api, streams: Vec<index::StreamRecord>, path: &str, request: &Req) {
    let hosts: BTreeSet<(String, String)> =
        streams.into_iter().map(|r| (r.cluster, r.container_instance_arn)).collect();
    let calls = hosts.into_iter().map(|(cluster, instance)| async move {
        let outcome = match link::resolve(api, &cluster, &instance).await {
            Ok(host) => link::call::<Req, Value>(&host, path, request).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            tracing::warn!(instance, path, error = ?e, "could not pass a log group change to an agent");
        }
    });
    futures::future::join_all(calls).await;
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroupsRequest {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    log_group_class: Option<String>,
    log_group_identifiers: Option<Vec<String>>,
    account_identifiers: Option<Vec<String>>,
    #[allow(dead_code)]
    include_linked_accounts: Option<bool>,
}

pub async fn describe_log_groups(api: &Api, req: DescribeLogGroupsRequest) -> ApiResult<Value> {
    let limit = validate::limit(req.limit, validate::MAX_DESCRIBE)? as usize;
    if req.log_group_name_prefix.is_some() && req.log_group_name_pattern.is_some() {
        return Err(ApiError::invalid(
            "logGroupNamePrefix and logGroupNamePattern are mutually exclusive; specify one of them.",
        ));
    }
    if let Some(p) = &req.log_group_name_prefix {
        validate::group_name("logGroupNamePrefix", p)?;
    }
    if let Some(p) = &req.log_group_name_pattern
        && !p.is_empty()
    {
        validate::group_name("logGroupNamePattern", p)?;
    }
    if req.account_identifiers.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(ApiError::invalid("accountIdentifiers: Berth has no linked accounts."));
    }
    let wanted: Option<BTreeSet<String>> = match &req.log_group_identifiers {
        Some(ids) => Some(ids.iter().map(|id| validate::group_of(None, Some(id))).collect::<ApiResult<_>>()?),
        None => None,
    };
    let after = match req.next_token.as_deref() {
        None | Some("") => None,
        Some(token) => Some(decode_name_token(token)?),
    };
    let prefix = format!("{}{}", keys::LOG_GROUPS, req.log_group_name_prefix.as_deref().unwrap_or(""));
    let pattern = req.log_group_name_pattern.as_deref().filter(|p| !p.is_empty());
    let groups: Vec<LogGroupRecord> = state::list::<LogGroupRecord>(api.store.as_ref(), &prefix)
        .await?
        .into_iter()
        .map(|v| v.value)
        .filter(|g| after.as_deref().is_none_or(|a| g.log_group_name.as_str() > a))
        .filter(|g| pattern.is_none_or(|p| g.log_group_name.contains(p)))
        .filter(|g| req.log_group_class.as_deref().is_none_or(|c| g.log_group_class == c))
        .filter(|g| wanted.as_ref().is_none_or(|w| w.contains(&g.log_group_name)))
        .collect();
    let more = groups.len() > limit;
    let page = &groups[..groups.len().min(limit)];
    let next_token = if more { page.last().map(|g| hex::encode(&g.log_group_name)) } else { None };
    Ok(json!({
        "logGroups": page.iter().map(|g| g.present(pattern.is_some())).collect::<Vec<_>>(),
        "nextToken": next_token,
    }))
}

/// The group name a DescribeLogGroups token continues after.
fn decode_name_token(token: &str) -> ApiResult<String> {
    let invalid = || ApiError::invalid("The specified nextToken is invalid: it was not issued by DescribeLogGroups.");
    let name = String::from_utf8(hex::decode(token).map_err(|_| invalid())?).map_err(|_| invalid())?;
    if !validate::is_group_name(&name) {
        return Err(invalid());
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_hold_a_group_name() {
        assert_eq!(decode_name_token(&hex::encode("/ecs/a")).unwrap(), "/ecs/a");
        assert!(decode_name_token("zz").is_err());
        assert!(decode_name_token(&hex::encode("a b")).is_err());
    }
}
