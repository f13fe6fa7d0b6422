//! Reading events: GetLogEvents (one stream, from the agent that holds it) and FilterLogEvents (every agent holding
//! streams of the group, asked concurrently, their answers merged in `(timestamp, eventId)` order).
//!
//! Tokens are opaque to clients and carry what makes them safe to reuse: a GetLogEvents token is the agent's own
//! token behind a tag of the group and stream it was issued for, and a FilterLogEvents token holds the position
//! in the merged order (the last event returned) and a tag of the request's group, streams and pattern. A token
//! presented with another stream or another query is refused, not silently misread.

use std::collections::BTreeSet;

use berth_model::logs::{
    EventCursor, FilterEventsRequest, FilterEventsResponse, FilteredLogEvent, GetEventsRequest, GetEventsResponse,
    paths,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::logs::link::{self, LinkFailure};
use crate::logs::{groups, index, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEventsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
    /// Data protection masks nothing in Berth, so unmasking changes nothing.
    #[allow(dead_code)]
    unmask: Option<bool>,
}

pub async fn get_log_events(api: &Api, req: GetLogEventsRequest) -> ApiResult<Value> {
    let group = validate::group_of(req.log_group_name.as_deref(), req.log_group_identifier.as_deref())?;
    let stream = req.log_stream_name;
    validate::stream_name("logStreamName", &stream)?;
    let limit = validate::limit(req.limit, validate::MAX_EVENTS)?;
    validate::time_range(req.start_time, req.end_time)?;
    let agent_token = match req.next_token.as_deref() {
        None | Some("") => None,
        Some(token) => unwrap_stream_token(&group, &stream, token)?,
    };
    let record = groups::load(api, &group).await?;
    let Some(entry) = index::stream(api, &group, &stream).await? else {
        return Err(ApiError::new(ErrorCode::ResourceNotFoundException, "The specified log stream does not exist."));
    };
    let what = format!("log stream {stream} of log group {group}");
    let instance = entry.container_instance_arn;
    let host = link::resolve(api, &entry.cluster, &instance).await.map_err(|e| e.into_api(&what, &instance))?;
    let request = GetEventsRequest {
        log_group_name: group.clone(),
        log_stream_name: stream.clone(),
        start_time: req.start_time,
        end_time: req.end_time,
        next_token: agent_token,
        limit,
        start_from_head: req.start_from_head.unwrap_or(false),
        retention_in_days: record.retention_in_days,
    };
    let answer: GetEventsResponse =
        link::call(&host, paths::GET_EVENTS, &request).await.map_err(|e| e.into_api(&what, &instance))?;
    Ok(json!({
        "events": answer.events,
        "nextForwardToken": wrap_stream_token(&group, &stream, &answer.next_forward_token),
        "nextBackwardToken": wrap_stream_token(&group, &stream, &answer.next_backward_token),
    }))
}

/// A short tag of `parts`, so a token can say what it was issued for without repeating it.
fn tag(parts: &[&str]) -> String {
    let mut digest = Sha256::new();
    for p in parts {
        digest.update(p.as_bytes());
        digest.update([0u8]);
    }
    hex::encode(&digest.finalize()[..8])
}

/// `<tag of group and stream>.<agent token>`. The same agent token always gives the same token, so a client that
/// stops when the forward token repeats (CloudWatch's end-of-stream signal) still stops.
fn wrap_stream_token(group: &str, stream: &str, agent_token: &str) -> String {
    format!("{}.{agent_token}", tag(&[group, stream]))
}

/// The agent's token inside a GetLogEvents token, if it was issued for this group and stream.
fn unwrap_stream_token(group: &str, stream: &str, token: &str) -> ApiResult<Option<String>> {
    let Some((token_tag, agent_token)) = token.split_once('.') else {
        return Err(ApiError::invalid("The specified nextToken is invalid: it was not issued by GetLogEvents."));
    };
    if token_tag != tag(&[group, stream]) {
        return Err(ApiError::invalid(format!(
            "The specified nextToken is invalid for log stream {stream} of log group {group}: it was issued for \
             another log stream."
        )));
    }
    Ok(Some(agent_token.to_owned()).filter(|t| !t.is_empty()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEventsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    /// Deprecated in CloudWatch; results are always interleaved.
    #[allow(dead_code)]
    interleaved: Option<bool>,
    #[allow(dead_code)]
    unmask: Option<bool>,
}

/// What a FilterLogEvents token holds: a tag of the query and the last event returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FilterToken {
    q: String,
    t: i64,
    e: String,
}

pub async fn filter_log_events(api: &Api, req: FilterLogEventsRequest) -> ApiResult<Value> {
    let group = validate::group_of(req.log_group_name.as_deref(), req.log_group_identifier.as_deref())?;
    if req.log_stream_names.is_some() && req.log_stream_name_prefix.is_some() {
        return Err(ApiError::invalid(
            "logStreamNames and logStreamNamePrefix are mutually exclusive; specify one of them.",
        ));
    }
    let names: Option<BTreeSet<String>> = match req.log_stream_names {
        Some(names) => {
            if names.is_empty() || names.len() > 100 {
                return Err(ApiError::invalid("logStreamNames must name 1 to 100 log streams."));
            }
            for n in &names {
                validate::stream_name("logStreamNames", n)?;
            }
            Some(names.into_iter().collect())
        }
        None => None,
    };
    if let Some(p) = &req.log_stream_name_prefix {
        validate::stream_name("logStreamNamePrefix", p)?;
    }
    let pattern = req.filter_pattern.filter(|p| !p.trim().is_empty());
    if let Some(p) = &pattern {
        validate::filter_pattern(p)?;
    }
    let limit = validate::limit(req.limit, validate::MAX_EVENTS)?;
    validate::time_range(req.start_time, req.end_time)?;
    let query = query_tag(&group, names.as_ref(), req.log_stream_name_prefix.as_deref(), pattern.as_deref());
    let after = match req.next_token.as_deref() {
        None | Some("") => None,
        Some(token) => Some(decode_filter_token(&query, token)?),
    };
    let record = groups::load(api, &group).await?;
    let streams: Vec<index::StreamRecord> = index::streams_of(api, &group, req.log_stream_name_prefix.as_deref())
        .await?
        .into_iter()
        .filter(|s| names.as_ref().is_none_or(|n| n.contains(&s.log_stream_name)))
        .collect();
    let base = FilterEventsRequest {
        log_group_name: group.clone(),
        log_stream_names: None,
        log_stream_name_prefix: None,
        start_time: req.start_time,
        end_time: req.end_time,
        filter_pattern: pattern,
        after,
        limit,
        retention_in_days: record.retention_in_days,
    };
    let calls = index::by_host(streams).into_iter().map(|((cluster, instance), streams)| {
        let mut request = base.clone();
        request.log_stream_names = Some(streams.iter().map(|s| s.log_stream_name.clone()).collect());
        async move {
            let answer = match link::resolve(api, &cluster, &instance).await {
                Ok(host) => link::call::<_, FilterEventsResponse>(&host, paths::FILTER_EVENTS, &request).await,
                Err(e) => Err(e),
            };
            (instance, streams, answer)
        }
    });
    let mut pages = Vec::new();
    let mut searched = Vec::new();
    for (instance, streams, answer) in futures::future::join_all(calls).await {
        let reached = match answer {
            Ok(page) => {
                pages.push((page.events, page.more));
                true
            }
            // The host has none of these streams yet (their containers have not started): nothing to merge.
            Err(LinkFailure::Refused { code: ErrorCode::ResourceNotFoundException, .. }) => true,
            Err(LinkFailure::Refused { code, message }) => return Err(ApiError::new(code, message)),
            Err(LinkFailure::Unreachable(reason)) => {
                tracing::debug!(instance, reason, "FilterLogEvents skips an unreachable host");
                false
            }
        };
        searched.extend(streams.into_iter().map(|s| (s.log_stream_name, reached)));
    }
    let (events, more) = merge(pages, limit as usize);
    let next_token = if more { events.last().map(|e| encode_filter_token(&query, e)) } else { None };
    searched.sort();
    let searched: Vec<Value> = searched
        .into_iter()
        .map(|(name, reached)| json!({"logStreamName": name, "searchedCompletely": reached && !more}))
        .collect();
    Ok(json!({"events": events, "searchedLogStreams": searched, "nextToken": next_token}))
}

/// The tag of what a FilterLogEvents request reads (its times may move between pages, as `aws logs tail` moves
/// `startTime`; the group, streams and pattern may not).
fn query_tag(group: &str, names: Option<&BTreeSet<String>>, prefix: Option<&str>, pattern: Option<&str>) -> String {
    let names = names.map(|n| n.iter().map(String::as_str).collect::<Vec<_>>().join("\u{1}"));
    tag(&[group, names.as_deref().unwrap_or("-"), prefix.unwrap_or("-"), pattern.unwrap_or("-")])
}

fn encode_filter_token(query: &str, last: &FilteredLogEvent) -> String {
    let token = FilterToken { q: query.to_owned(), t: last.timestamp, e: last.event_id.clone() };
    hex::encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_filter_token(query: &str, token: &str) -> ApiResult<EventCursor> {
    let invalid = || ApiError::invalid("The specified nextToken is invalid: it was not issued by FilterLogEvents.");
    let bytes = hex::decode(token).map_err(|_| invalid())?;
    let token: FilterToken = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if token.q != query {
        return Err(ApiError::invalid(
            "The specified nextToken is invalid here: it was issued for another log group, other log streams or \
             another filterPattern.",
        ));
    }
    Ok(EventCursor { timestamp: token.t, event_id: token.e })
}

/// The first `limit` events of several hosts' pages in `(timestamp, eventId)` order, and whether more follow.
///
/// Each page holds a host's first matching events after the cursor, in order, and says whether that host has more.
/// A host may stop short of `limit` (its answers are capped in bytes), so what it did not return sorts after its
/// last returned event but possibly before other hosts' events: the merge ends at the earliest such last event, and
/// paging on from the last returned event misses nothing.
fn merge(pages: Vec<(Vec<FilteredLogEvent>, bool)>, limit: usize) -> (Vec<FilteredLogEvent>, bool) {
    let key = |e: &FilteredLogEvent| (e.timestamp, e.event_id.clone());
    let cutoff = pages.iter().filter(|(_, more)| *more).filter_map(|(events, _)| events.last().map(key)).min();
    let any_more = pages.iter().any(|(_, more)| *more);
    let mut events: Vec<FilteredLogEvent> = pages.into_iter().flat_map(|(events, _)| events).collect();
    events.sort_by(|a, b| (a.timestamp, &a.event_id).cmp(&(b.timestamp, &b.event_id)));
    events.dedup_by(|a, b| a.timestamp == b.timestamp && a.event_id == b.event_id);
    if let Some(cutoff) = cutoff {
        events.retain(|e| key(e) <= cutoff);
    }
    let more = any_more || events.len() > limit;
    events.truncate(limit);
    (events, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(stream: &str, ts: i64, id: &str) -> FilteredLogEvent {
        FilteredLogEvent {
            log_stream_name: stream.into(),
            timestamp: ts,
            message: format!("{stream}@{ts}"),
            ingestion_time: ts,
            event_id: id.into(),
        }
    }

    #[test]
    fn stream_tokens_belong_to_their_stream() {
        let token = wrap_stream_token("/ecs/a", "ecs/web/1", "f/123");
        assert_eq!(unwrap_stream_token("/ecs/a", "ecs/web/1", &token).unwrap(), Some("f/123".into()));
        let e = unwrap_stream_token("/ecs/a", "ecs/web/2", &token).unwrap_err();
        assert!(e.message.contains("another log stream"), "{}", e.message);
        assert!(unwrap_stream_token("/ecs/b", "ecs/web/1", &token).is_err());
        assert!(unwrap_stream_token("/ecs/a", "ecs/web/1", "garbage").is_err());
        // The same agent token gives the same token: clients stop when the forward token repeats.
        assert_eq!(token, wrap_stream_token("/ecs/a", "ecs/web/1", "f/123"));
    }

    #[test]
    fn filter_tokens_belong_to_their_query() {
        let q = query_tag("/ecs/a", None, None, Some("ERROR"));
        let token = encode_filter_token(&q, &ev("s", 5, "0005-1"));
        assert_eq!(decode_filter_token(&q, &token).unwrap(), EventCursor { timestamp: 5, event_id: "0005-1".into() });
        assert!(decode_filter_token(&query_tag("/ecs/b", None, None, Some("ERROR")), &token).is_err());
        assert!(decode_filter_token(&query_tag("/ecs/a", None, None, None), &token).is_err());
        let names = BTreeSet::from(["s".to_owned()]);
        assert!(decode_filter_token(&query_tag("/ecs/a", Some(&names), None, Some("ERROR")), &token).is_err());
        assert!(decode_filter_token(&q, "not-hex").is_err());
        assert!(decode_filter_token(&q, &hex::encode("{}")).is_err());
    }

    #[test]
    fn merge_orders_by_time_then_id_and_pages_safely() {
        let a = vec![ev("a", 1, "1-a"), ev("a", 3, "3-a"), ev("a", 5, "5-a")];
        let b = vec![ev("b", 2, "2-b"), ev("b", 3, "3-b")];
        let (events, more) = merge(vec![(a.clone(), false), (b.clone(), false)], 10);
        let order: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(order, vec!["1-a", "2-b", "3-a", "3-b", "5-a"]);
        assert!(!more);
        let (events, more) = merge(vec![(a.clone(), false), (b.clone(), false)], 3);
        assert_eq!(events.len(), 3);
        assert!(more);
        assert_eq!(events[2].event_id, "3-a");
        let (events, more) = merge(vec![(vec![], true), (vec![], false)], 3);
        assert!(events.is_empty() && more);
        // Host b stopped short (its answer hit the byte cap) after 2-b: a's later events must wait for the next
        // page, or b's events between 2 and 5 would be skipped.
        let (events, more) = merge(vec![(a, false), (vec![ev("b", 2, "2-b")], true)], 10);
        let order: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(order, vec!["1-a", "2-b"]);
        assert!(more);
    }
}
