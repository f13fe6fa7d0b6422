//! Container logs as Berth keeps them: where each container's output goes (log group and stream, named as the
//! `awslogs` driver names them), and the protocol between the server's CloudWatch Logs API and the agent that
//! holds the streams on its host.
//!
//! The agent stores every stream on its own disk; the server keeps only the log groups and an index of which
//! instance holds which stream, and answers `GetLogEvents`, `FilterLogEvents` and `DescribeLogStreams` by asking
//! those agents over their link endpoint ([`AgentLink`]), with the requests and answers below.

use serde::{Deserialize, Serialize};

use crate::taskdef::ContainerDefinition;

/// The stream prefix used when a task definition names none: streams read `ecs/<container>/<task-id>`.
pub const DEFAULT_STREAM_PREFIX: &str = "ecs";

/// The group a container's output goes to when its task definition names none.
pub fn default_group(family: &str) -> String {
    format!("/ecs/{family}")
}

/// Where one container's output is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogDestination {
    pub log_group_name: String,
    pub log_stream_name: String,
}

/// Log drivers whose output Docker can read back, so the agent can ship it into a stream. `awslogs` itself is
/// served by Berth: Docker keeps the output in `json-file` and the agent moves it into the stream.
const SHIPPED_DRIVERS: [&str; 4] = ["awslogs", "json-file", "local", "journald"];

/// Where the output of `container` in task `task_id` of `family` goes, or `None` when its log driver sends it
/// somewhere Berth cannot read (syslog, splunk, fluentd, `none`, ...).
///
/// With `awslogs`, `awslogs-group` names the group and `awslogs-stream-prefix` the prefix, giving
/// `prefix/container/task-id` as ECS does; without options (or without a logConfiguration at all) the group is
/// [`default_group`] and the prefix [`DEFAULT_STREAM_PREFIX`].
pub fn destination(family: &str, container: &ContainerDefinition, task_id: &str) -> Option<LogDestination> {
    let (driver, options) = match &container.log_configuration {
        Some(c) => (c.log_driver.as_str(), c.options.as_ref()),
        None => ("awslogs", None),
    };
    if !SHIPPED_DRIVERS.contains(&driver) {
        return None;
    }
    let option = |name: &str| {
        if driver != "awslogs" {
            return None;
        }
        options.and_then(|o| o.get(name)).map(String::as_str).filter(|v| !v.is_empty())
    };
    let group = option("awslogs-group").map(str::to_owned).unwrap_or_else(|| default_group(family));
    let prefix = option("awslogs-stream-prefix").unwrap_or(DEFAULT_STREAM_PREFIX);
    Some(LogDestination { log_group_name: group, log_stream_name: format!("{prefix}/{}/{task_id}", container.name) })
}

/// How the server reaches an agent: the address of the agent's link endpoint and the bearer token it accepts.
/// The agent sends both with `RegisterContainerInstance` (a Berth extension field, `berthAgentLink`) and a new
/// token on every start; the server keeps them in the instance record and never shows them to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentLink {
    /// `https://host:port` (`http://` when the server serves plain HTTP), reachable from the servers.
    pub endpoint: String,
    pub token: String,
}

/// The agent operation `GetLinkCertificate`: after registering, an agent whose link endpoint is `https://` asks
/// the server's CA for a certificate for that endpoint's host, for a key it generated and proves it holds
/// (`proof`: an ECDSA P-256 SHA-256 signature, ASN.1 DER, over `berth-link-certificate:<containerInstance>`).
/// The server then verifies the agent's certificate whenever it calls the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkCertificateRequest {
    pub cluster: String,
    pub container_instance: String,
    /// The uncompressed P-256 public point, base64.
    pub public_key: String,
    /// base64.
    pub proof: String,
}

/// The answer to [`LinkCertificateRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkCertificate {
    /// PEM, issued by the server's CA for the host of the instance's registered link endpoint.
    pub certificate: String,
    /// Seconds since the epoch.
    pub expires_at: f64,
}

/// Paths of the agent link endpoint's log operations (`POST`, JSON bodies, `Authorization: Bearer <token>`).
pub mod paths {
    pub const GET_EVENTS: &str = "/logs/get-events";
    pub const FILTER_EVENTS: &str = "/logs/filter-events";
    pub const DESCRIBE_STREAMS: &str = "/logs/describe-streams";
    pub const DELETE_GROUP: &str = "/logs/delete-group";
    pub const PUT_RETENTION: &str = "/logs/put-retention";
}

/// An error the agent answers with (HTTP 400 or 404 for the client's mistakes, 500 for its own), carrying the
/// CloudWatch Logs error code the server passes on (`ResourceNotFoundException`, `InvalidParameterException`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkError {
    pub code: String,
    pub message: String,
}

/// `GetLogEvents` on one stream, as the agent serves it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetEventsRequest {
    pub log_group_name: String,
    pub log_stream_name: String,
    /// Milliseconds since the epoch, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// Milliseconds since the epoch, exclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// A `nextForwardToken` or `nextBackwardToken` from an earlier answer for the same stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// At most this many events (the server has already bounded it to 1..=10,000).
    pub limit: u32,
    /// Without a token: from the oldest events when true, else the newest (CloudWatch's default).
    #[serde(default)]
    pub start_from_head: bool,
    /// The group's retention: events older than this many days are neither returned nor kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<u32>,
}

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputLogEvent {
    pub timestamp: i64,
    pub message: String,
    pub ingestion_time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetEventsResponse {
    /// Oldest first, whichever direction was read.
    pub events: Vec<OutputLogEvent>,
    pub next_forward_token: String,
    pub next_backward_token: String,
}

/// `FilterLogEvents` over the streams of one group that this agent holds.
///
/// Events are ordered by `(timestamp, eventId)` across streams; `after` is the last `(timestamp, eventId)` the
/// caller has already seen, so the server can merge several agents' answers and page statelessly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterEventsRequest {
    pub log_group_name: String,
    /// Only these streams (absent: every stream of the group on this host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stream_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stream_name_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// CloudWatch's filter pattern: terms that must all appear, `"quoted phrases"`, `?term` alternatives and
    /// `-term` exclusions. Absent or empty matches everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<EventCursor>,
    pub limit: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<u32>,
}

/// A position in a group's merged event order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCursor {
    pub timestamp: i64,
    pub event_id: String,
}

/// One event matched by a filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilteredLogEvent {
    pub log_stream_name: String,
    pub timestamp: i64,
    pub message: String,
    pub ingestion_time: i64,
    /// Unique within the group and stable: the same event always has the same id (`aws logs tail --follow`
    /// drops repeats by it). Ids of events with equal timestamps sort in stream order.
    pub event_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterEventsResponse {
    /// In `(timestamp, eventId)` order, at most `limit`.
    pub events: Vec<FilteredLogEvent>,
    /// Whether more matching events follow the last one returned.
    pub more: bool,
}

/// `DescribeLogStreams` details this agent knows for the streams of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStreamsRequest {
    pub log_group_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stream_name_prefix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamInfo {
    pub log_stream_name: String,
    pub creation_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event_timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ingestion_time: Option<i64>,
    pub stored_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStreamsResponse {
    pub log_streams: Vec<StreamInfo>,
}

/// Removes every stream of a group from the host (`DeleteLogGroup`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteGroupRequest {
    pub log_group_name: String,
}

/// Sets (or, with `None`, clears) how many days the host keeps the group's events (`PutRetentionPolicy`,
/// `DeleteRetentionPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRetentionRequest {
    pub log_group_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::LogConfiguration;
    use std::collections::BTreeMap;

    fn container(log: Option<(&str, &[(&str, &str)])>) -> ContainerDefinition {
        let mut c: ContainerDefinition =
            serde_json::from_value(serde_json::json!({"name": "trainer", "image": "x"})).expect("container");
        c.log_configuration = log.map(|(driver, options)| LogConfiguration {
            log_driver: driver.to_owned(),
            options: Some(options.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>()),
            secret_options: None,
        });
        c
    }

    #[test]
    fn awslogs_names_streams_prefix_container_task() {
        let c = container(Some(("awslogs", &[("awslogs-group", "/ml/train"), ("awslogs-stream-prefix", "run")])));
        let d = destination("trainer", &c, "abc").expect("shipped");
        assert_eq!(d.log_group_name, "/ml/train");
        assert_eq!(d.log_stream_name, "run/trainer/abc");
    }

    #[test]
    fn no_configuration_uses_the_default_group_and_prefix() {
        let d = destination("trainer", &container(None), "abc").expect("shipped");
        assert_eq!(d.log_group_name, "/ecs/trainer");
        assert_eq!(d.log_stream_name, "ecs/trainer/abc");
        let d = destination("fam", &container(Some(("json-file", &[("awslogs-group", "ignored")]))), "t").expect("x");
        assert_eq!(d.log_group_name, "/ecs/fam");
    }

    #[test]
    fn drivers_docker_cannot_read_back_are_not_shipped() {
        assert_eq!(destination("f", &container(Some(("syslog", &[]))), "t"), None);
        assert_eq!(destination("f", &container(Some(("none", &[]))), "t"), None);
    }
}
