//! The server's Prometheus metrics, served at `GET /metrics` (OpenMetrics text, no authentication, like most
//! exporters: it names operations, clusters and services but no secrets).
//!
//! Counted as they happen: API requests by operation and HTTP status, their latency, task placements and placement
//! failures by reason, controller pass durations and store operation latency (through [`crate::metered_store`]).
//! Computed when scraped: tasks by last and desired status, connected agents and the store revision (from the
//! store), and the current CPU and memory utilization per service and cluster (from [`crate::utilization`]).
//!
//! Every metric lives in this process's own [`Registry`] (no global recorder), so several control planes can run
//! in one test process.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Deserialize;

use crate::api::Api;
use crate::error::ApiResult;
use crate::state::keys;

/// The content type of the OpenMetrics text format, which Prometheus scrapes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    cluster: String,
    last_status: String,
    desired_status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    cluster: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    cluster: String,
    service: String,
}

/// Store operation latency by operation (get, list, txn, watch, revision, compact, lease).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    pub operation: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Store operation timings, shared with [`crate::metered_store::MeteredStore`].
pub type StoreTimings = Histograms<StoreLabels>;

fn api_buckets() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

fn store_buckets() -> Histogram {
    // 50 µs to about 1.6 s.
    Histogram::new(exponential_buckets(0.00005, 2.0, 16))
}

fn controller_buckets() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The server's metrics.
pub struct ServerMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histograms<OperationLabels>,
    tasks: Family<TaskLabels, Gauge>,
    placements: Family<ClusterLabels, Counter>,
    placement_failures: Family<ReasonLabels, Counter>,
    controller_seconds: Histograms<ControllerLabels>,
    store_revision: Gauge,
    store_seconds: StoreTimings,
    connected_agents: Family<ClusterLabels, Gauge>,
    service_cpu: Family<ServiceLabels, FloatGauge>,
    service_memory: Family<ServiceLabels, FloatGauge>,
    cluster_cpu: Family<ClusterLabels, FloatGauge>,
    cluster_memory: Family<ClusterLabels, FloatGauge>,
    /// Serialises scrapes: each one clears and refills the computed gauges.
    scrape: tokio::sync::Mutex<()>,
}

impl Default for ServerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "berth_api_requests",
            "API requests by operation (other: not a known operation) and HTTP status code",
            requests.clone(),
        );
        let request_seconds = Histograms::<OperationLabels>::new_with_constructor(api_buckets);
        registry.register(
            "berth_api_request_duration_seconds",
            "Time to answer an API request, by operation",
            request_seconds.clone(),
        );
        let tasks = Family::<TaskLabels, Gauge>::default();
        registry.register("berth_tasks", "Tasks by cluster, last status and desired status", tasks.clone());
        let placements = Family::<ClusterLabels, Counter>::default();
        registry.register("berth_placements", "Tasks placed on container instances", placements.clone());
        let placement_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "berth_placement_failures",
            "Placement failures by reason (RESOURCE:CPU, MISSING, ...), as RunTask reports them",
            placement_failures.clone(),
        );
        let controller_seconds = Histograms::<ControllerLabels>::new_with_constructor(controller_buckets);
        registry.register(
            "berth_controller_pass_duration_seconds",
            "Duration of one pass of a controller (services, liveness, reaper)",
            controller_seconds.clone(),
        );
        let store_revision = Gauge::default();
        registry.register("berth_store_revision", "The store's current revision", store_revision.clone());
        let store_seconds = StoreTimings::new_with_constructor(store_buckets);
        registry.register(
            "berth_store_operation_duration_seconds",
            "Latency of store operations (get, list, txn, watch, revision, compact, lease)",
            store_seconds.clone(),
        );
        let connected_agents = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "berth_connected_agents",
            "Container instances whose agent is connected, by cluster",
            connected_agents.clone(),
        );
        let service_cpu = Family::<ServiceLabels, FloatGauge>::default();
        registry.register(
            "berth_service_cpu_utilization_percent",
            "CPU units the service's tasks use over the units they reserve, x 100 (ECS CPUUtilization)",
            service_cpu.clone(),
        );
        let service_memory = Family::<ServiceLabels, FloatGauge>::default();
        registry.register(
            "berth_service_memory_utilization_percent",
            "Memory the service's tasks use over the memory they reserve, x 100 (ECS MemoryUtilization)",
            service_memory.clone(),
        );
        let cluster_cpu = Family::<ClusterLabels, FloatGauge>::default();
        registry.register(
            "berth_cluster_cpu_utilization_percent",
            "CPU units the cluster's tasks use over the units they reserve, x 100",
            cluster_cpu.clone(),
        );
        let cluster_memory = Family::<ClusterLabels, FloatGauge>::default();
        registry.register(
            "berth_cluster_memory_utilization_percent",
            "Memory the cluster's tasks use over the memory they reserve, x 100",
            cluster_memory.clone(),
        );
        ServerMetrics {
            registry,
            requests,
            request_seconds,
            tasks,
            placements,
            placement_failures,
            controller_seconds,
            store_revision,
            store_seconds,
            connected_agents,
            service_cpu,
            service_memory,
            cluster_cpu,
            cluster_memory,
            scrape: tokio::sync::Mutex::new(()),
        }
    }

    /// Everything as it stands, without refreshing the computed gauges.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// The store timings, for wrapping the store.
    pub fn store_timings(&self) -> StoreTimings {
        self.store_seconds.clone()
    }

    /// Counts one API request. Unknown operation names are counted as `other`, so a client cannot grow the label
    /// set without bound.
    pub fn observe_request(&self, operation: Option<&str>, status: u16, elapsed: Duration) {
        let operation = operation_label(operation);
        self.requests.get_or_create(&RequestLabels { operation: operation.clone(), code: status.to_string() }).inc();
        self.request_seconds.get_or_create(&OperationLabels { operation }).observe(elapsed.as_secs_f64());
    }

    /// Counts tasks placed in a cluster and the failures reported with them.
    pub fn observe_placements<'a>(&self, cluster: &str, placed: usize, failures: impl IntoIterator<Item = &'a str>) {
        if placed > 0 {
            self.placements.get_or_create(&ClusterLabels { cluster: cluster.to_owned() }).inc_by(placed as u64);
        }
        for reason in failures {
            // Reasons are ECS's short codes; a long one is cut so the label stays small.
            let reason = berth_model::names::truncate(reason, 64);
            self.placement_failures.get_or_create(&ReasonLabels { cluster: cluster.to_owned(), reason }).inc();
        }
    }

    /// Records how long one pass of a controller took.
    pub fn observe_controller(&self, controller: &str, elapsed: Duration) {
        self.controller_seconds
            .get_or_create(&ControllerLabels { controller: controller.to_owned() })
            .observe(elapsed.as_secs_f64());
    }

    /// Refreshes the computed gauges from the store and the utilization history, then encodes everything.
    pub async fn render(&self, api: &Api) -> ApiResult<String> {
        let _one_at_a_time = self.scrape.lock().await;
        self.refresh_from_store(api).await?;
        self.refresh_utilization(api);
        Ok(self.encode())
    }

    async fn refresh_from_store(&self, api: &Api) -> ApiResult<()> {
        let store = api.store.as_ref();
        let revision = store.current_revision().await?;
        self.store_revision.set(revision);

        /// The few fields of a stored task the gauges need (the rest is skipped while decoding).
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct TaskStatus {
            last_status: String,
            desired_status: String,
        }
        let mut counts: HashMap<TaskLabels, i64> = HashMap::new();
        for kv in store.list(keys::TASKS, berth_store::ListOptions::default()).await?.kvs {
            let Ok(t) = serde_json::from_slice::<TaskStatus>(&kv.value) else { continue };
            // From the key: a task ARN in the short format does not name the cluster.
            let cluster = keys::cluster_of(&kv.key).unwrap_or_default().to_owned();
            *counts
                .entry(TaskLabels { cluster, last_status: t.last_status, desired_status: t.desired_status })
                .or_default() += 1;
        }
        self.tasks.clear();
        for (labels, n) in counts {
            self.tasks.get_or_create(&labels).set(n);
        }

        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct InstanceStatus {
            status: String,
            #[serde(default)]
            agent_connected: bool,
        }
        let mut connected: HashMap<String, i64> = HashMap::new();
        for kv in store.list(keys::INSTANCES, berth_store::ListOptions::default()).await?.kvs {
            let Ok(i) = serde_json::from_slice::<InstanceStatus>(&kv.value) else { continue };
            let cluster = keys::cluster_of(&kv.key).unwrap_or_default();
            let n = connected.entry(cluster.to_owned()).or_default();
            if i.agent_connected && i.status != "INACTIVE" {
                *n += 1;
            }
        }
        self.connected_agents.clear();
        for (cluster, n) in connected {
            self.connected_agents.get_or_create(&ClusterLabels { cluster }).set(n);
        }
        Ok(())
    }

    fn refresh_utilization(&self, api: &Api) {
        self.service_cpu.clear();
        self.service_memory.clear();
        self.cluster_cpu.clear();
        self.cluster_memory.clear();
        for ((cluster, service), point) in api.utilization.current_all(api.now()) {
            match service {
                Some(service) => {
                    let labels = ServiceLabels { cluster, service };
                    if let Some(v) = point.cpu_utilization {
                        self.service_cpu.get_or_create(&labels).set(v);
                    }
                    if let Some(v) = point.memory_utilization {
                        self.service_memory.get_or_create(&labels).set(v);
                    }
                }
                None => {
                    let labels = ClusterLabels { cluster };
                    if let Some(v) = point.cpu_utilization {
                        self.cluster_cpu.get_or_create(&labels).set(v);
                    }
                    if let Some(v) = point.memory_utilization {
                        self.cluster_memory.get_or_create(&labels).set(v);
                    }
                }
            }
        }
    }
}

/// The label an operation name is counted under: the name when the server serves it, else `other` (`-` when the
/// request never named one).
fn operation_label(operation: Option<&str>) -> String {
    let Some(op) = operation else { return "-".to_owned() };
    let known = crate::dispatch::find(op).is_some()
        || crate::dispatch::AGENT_OPERATIONS.iter().any(|o| o.name == op)
        || crate::utilization::OPERATIONS.contains(&op)
        || crate::logs::find(op).is_some()
        || crate::iam::find(op).is_some()
        || crate::sts::find(op).is_some()
        || crate::secrets::find(op).is_some()
        || crate::ssm::find(op).is_some();
    if known { op.to_owned() } else { "other".to_owned() }
}

/// `GET /metrics`.
pub async fn serve(State(api): State<Arc<Api>>) -> Response {
    match api.metrics.render(&api).await {
        Ok(text) => {
            let mut response = text.into_response();
            response.headers_mut().insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
            response
        }
        Err(e) => {
            tracing::warn!(error = %e.message, "metrics scrape failed");
            (StatusCode::SERVICE_UNAVAILABLE, format!("metrics unavailable: {}\n", e.message)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_placements_and_controllers_render() {
        let m = ServerMetrics::new();
        m.observe_request(Some("RunTask"), 200, Duration::from_millis(3));
        m.observe_request(Some("RunTask"), 200, Duration::from_millis(5));
        m.observe_request(Some("NoSuchThing"), 400, Duration::from_millis(1));
        m.observe_request(None, 403, Duration::from_millis(1));
        m.observe_placements("default", 2, ["RESOURCE:CPU"]);
        m.observe_controller("liveness", Duration::from_millis(2));
        m.store_timings().get_or_create(&StoreLabels { operation: "get" }).observe(0.0001);
        let text = m.encode();
        assert!(text.contains(r#"berth_api_requests_total{operation="RunTask",code="200"} 2"#), "{text}");
        assert!(text.contains(r#"berth_api_requests_total{operation="other",code="400"} 1"#), "{text}");
        assert!(text.contains(r#"berth_api_requests_total{operation="-",code="403"} 1"#), "{text}");
        assert!(text.contains(r#"berth_api_request_duration_seconds_count{operation="RunTask"} 2"#), "{text}");
        assert!(
            text.contains(r#"berth_api_request_duration_seconds_bucket{le="+Inf",operation="RunTask"} 2"#)
                || text.contains(r#"berth_api_request_duration_seconds_bucket{operation="RunTask",le="+Inf"} 2"#)
        );
        assert!(text.contains(r#"berth_placements_total{cluster="default"} 2"#), "{text}");
        assert!(text.contains(r#"berth_placement_failures_total{cluster="default",reason="RESOURCE:CPU"} 1"#));
        assert!(text.contains(r#"berth_controller_pass_duration_seconds_count{controller="liveness"} 1"#));
        assert!(text.contains(r#"berth_store_operation_duration_seconds_count{operation="get"} 1"#));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn operation_labels_are_bounded() {
        assert_eq!(operation_label(Some("DescribeServices")), "DescribeServices");
        assert_eq!(operation_label(Some("Poll")), "Poll");
        assert_eq!(operation_label(Some("GetLogEvents")), "GetLogEvents");
        assert_eq!(operation_label(Some("DescribeUtilization")), "DescribeUtilization");
        assert_eq!(operation_label(Some("x".repeat(500).as_str())), "other");
        assert_eq!(operation_label(None), "-");
    }
}
