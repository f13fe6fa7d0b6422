//! DescribeLogStreams: a group's streams from the index, with what only the hosts know (first and last event,
//! last ingestion, stored bytes) filled in from their agents, best effort: a host that cannot be reached still
//! has its streams listed, without those fields.

use std::collections::BTreeMap;

use berth_model::logs::{DescribeStreamsRequest, DescribeStreamsResponse, StreamInfo, paths};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult};
use crate::logs::{groups, index, link, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreamsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    next_token: Option<String>,
    limit: Option<i64>,
}

/// A stream as listed: the index entry and the host's details when it answered.
struct Listed {
    record: index::StreamRecord,
    info: Option<StreamInfo>,
}

impl Listed {
    /// The key the order and the page tokens use.
    fn sort_key(&self, by_time: bool) -> String {
        if by_time {
            let last = self.info.as_ref().and_then(|i| i.last_event_timestamp).unwrap_or(0).max(0);
            format!("{last:020}/{}", self.record.log_stream_name)
        } else {
            self.record.log_stream_name.clone()
        }
    }

    fn present(&self, arn_prefix: &str) -> Value {
        let r = &self.record;
        let i = self.info.as_ref();
        json!({
            "logStreamName": r.log_stream_name,
            "creationTime": i.map(|i| i.creation_time).unwrap_or(r.creation_time),
            "firstEventTimestamp": i.and_then(|i| i.first_event_timestamp),
            "lastEventTimestamp": i.and_then(|i| i.last_event_timestamp),
            "lastIngestionTime": i.and_then(|i| i.last_ingestion_time),
            "arn": format!("{arn_prefix}:log-stream:{}", r.log_stream_name),
            "storedBytes": i.map(|i| i.stored_bytes).unwrap_or(0),
        })
    }
}

pub async fn describe_log_streams(api: &Api, req: DescribeLogStreamsRequest) -> ApiResult<Value> {
    let group = validate::group_of(req.log_group_name.as_deref(), req.log_group_identifier.as_deref())?;
    if let Some(p) = &req.log_stream_name_prefix {
        validate::stream_name("logStreamNamePrefix", p)?;
    }
    let by_time = match req.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "orderBy '{}' is not valid. Valid values: LogStreamName, LastEventTime.",
                berth_model::names::truncate(other, 64)
            )));
        }
    };
    if by_time && req.log_stream_name_prefix.is_some() {
        return Err(ApiError::invalid("Cannot order by LastEventTime with a logStreamNamePrefix."));
    }
    let limit = validate::limit(req.limit, validate::MAX_DESCRIBE)? as usize;
    let descending = req.descending.unwrap_or(false);
    let after = match req.next_token.as_deref() {
        None | Some("") => None,
        Some(token) => Some(decode_token(token, by_time)?),
    };
    let record = groups::load(api, &group).await?;
    let streams = index::streams_of(api, &group, req.log_stream_name_prefix.as_deref()).await?;
    let mut listed = live_details(api, &group, req.log_stream_name_prefix.as_deref(), streams).await;
    listed.sort_by_cached_key(|l| l.sort_key(by_time));
    if descending {
        listed.reverse();
    }
    let page: Vec<Listed> = listed
        .into_iter()
        .filter(|l| match &after {
            Some(a) if descending => l.sort_key(by_time) < *a,
            Some(a) => l.sort_key(by_time) > *a,
            None => true,
        })
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    let page = &page[..page.len().min(limit)];
    let next_token = if more { page.last().map(|l| encode_token(&l.sort_key(by_time), by_time)) } else { None };
    let arn_prefix = record.arn.strip_suffix(":*").unwrap_or(&record.arn);
    Ok(json!({
        "logStreams": page.iter().map(|l| l.present(arn_prefix)).collect::<Vec<_>>(),
        "nextToken": next_token,
    }))
}

/// The streams with each host's details, asking the hosts concurrently.
async fn live_details(api: &Api, group: &str, prefix: Option<&str>, streams: Vec<index::StreamRecord>) -> Vec<Listed> {
    let calls = index::by_host(streams).into_iter().map(|((cluster, instance), records)| async move {
        let request =
            DescribeStreamsRequest { log_group_name: group.to_owned(), log_stream_name_prefix: prefix.map(Into::into) };
        let answer = match link::resolve(api, &cluster, &instance).await {
            Ok(host) => link::call::<_, DescribeStreamsResponse>(&host, paths::DESCRIBE_STREAMS, &request).await,
            Err(e) => Err(e),
        };
        let mut infos: BTreeMap<String, StreamInfo> = match answer {
            Ok(a) => a.log_streams.into_iter().map(|s| (s.log_stream_name.clone(), s)).collect(),
            Err(e) => {
                tracing::debug!(instance, error = ?e, "DescribeLogStreams lists a host's streams without details");
                BTreeMap::new()
            }
        };
        records
            .into_iter()
            .map(|record| {
                let info = infos.remove(&record.log_stream_name);
                Listed { record, info }
            })
            .collect::<Vec<_>>()
    });
    futures::future::join_all(calls).await.into_iter().flatten().collect()
}

/// A token: the order it was issued for (`n` name, `t` time) and the sort key of the last stream returned.
fn encode_token(key: &str, by_time: bool) -> String {
    hex::encode(format!("{}{key}", if by_time { 't' } else { 'n' }))
}

fn decode_token(token: &str, by_time: bool) -> ApiResult<String> {
    let invalid = || ApiError::invalid("The specified nextToken is invalid: it was not issued by DescribeLogStreams.");
    let text = String::from_utf8(hex::decode(token).map_err(|_| invalid())?).map_err(|_| invalid())?;
    let expected = if by_time { 't' } else { 'n' };
    match text.strip_prefix(expected) {
        Some(key) => Ok(key.to_owned()),
        None => Err(ApiError::invalid("The specified nextToken was issued for another orderBy.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_their_order() {
        let t = encode_token("ecs/a/1", false);
        assert_eq!(decode_token(&t, false).unwrap(), "ecs/a/1");
        assert!(decode_token(&t, true).is_err());
        assert!(decode_token("xyz", false).is_err());
    }

    #[test]
    fn time_keys_sort_numerically() {
        let listed = |name: &str, last: Option<i64>| Listed {
            record: index::StreamRecord {
                log_group_name: "g".into(),
                log_stream_name: name.into(),
                cluster: "c".into(),
                container_instance_arn: "i".into(),
                task_arn: "t".into(),
                creation_time: 0,
            },
            info: last.map(|l| StreamInfo {
                log_stream_name: name.into(),
                creation_time: 0,
                first_event_timestamp: None,
                last_event_timestamp: Some(l),
                last_ingestion_time: None,
                stored_bytes: 0,
            }),
        };
        assert!(listed("z", Some(9)).sort_key(true) < listed("a", Some(10)).sort_key(true));
        assert!(listed("a", None).sort_key(true) < listed("b", Some(1)).sort_key(true));
    }
}
