//! The agent's metrics and task stats: every `stats_interval` the [`collector`] takes one Docker stats sample of
//! each running container of the tasks the engine runs, exports per-container and per-task CPU and memory as
//! Prometheus gauges, and reports the samples to the server with `SubmitTaskStats` (one call per interval), which
//! turns them into utilization per task, service and cluster.
//!
//! [`AgentMetrics`] is the agent's own Prometheus [`Registry`] (no global recorder, so several agents can run in
//! one process); [`router`] serves it as `GET /metrics` (OpenMetrics text) on the agent's link endpoint. The
//! runtime adds its own metrics (Docker call latency) through `ContainerRuntime::register_metrics`.
//!
//! Units: CPU in cores (1.0 = one core = 1024 ECS CPU units), averaged over the last sampling interval; memory in
//! bytes in use without the reclaimable page cache, as `docker stats` shows it.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::http::HeaderValue;
use axum::response::IntoResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::runtime::ContainerRuntime;

pub mod collector;
pub mod sample;

pub use collector::{Collector, run};

/// The content type of the OpenMetrics text format, which Prometheus scrapes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Sampling interval when none is configured.
pub const DEFAULT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Labels of a per-task series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabels {
    pub cluster: String,
    /// The task's group: `service:<name>` for a service's tasks, else `family:<family>`.
    pub group: String,
    pub task_id: String,
}

/// Labels of a per-container series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ContainerLabels {
    pub cluster: String,
    pub group: String,
    pub task_id: String,
    pub container: String,
}

/// Labels of the Docker call histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub call: &'static str,
}

/// Docker Engine API call latency by call, kept by the Docker runtime.
pub type DockerTimings = Family<CallLabels, Histogram, fn() -> Histogram>;

type FloatGauge = Gauge<f64, AtomicU64>;

/// A fresh Docker call histogram family: 1 ms to about 33 s.
pub fn docker_timings() -> DockerTimings {
    fn buckets() -> Histogram {
        Histogram::new(exponential_buckets(0.001, 2.0, 16))
    }
    DockerTimings::new_with_constructor(buckets)
}

/// Registers a runtime's Docker call histogram under its Prometheus name.
pub fn register_docker_timings(registry: &mut Registry, timings: &DockerTimings) {
    registry.register(
        "berth_docker_request_duration_seconds",
        "Latency of Docker Engine API calls, by call",
        timings.clone(),
    );
}

/// The agent's metrics.
pub struct AgentMetrics {
    registry: Registry,
    pub container_cpu: Family<ContainerLabels, FloatGauge>,
    pub container_memory: Family<ContainerLabels, Gauge>,
    pub task_cpu: Family<TaskLabels, FloatGauge>,
    pub task_memory: Family<TaskLabels, Gauge>,
    pub samples: Counter,
    pub sample_failures: Counter,
    pub reports: Counter,
    pub report_failures: Counter,
}

impl AgentMetrics {
    /// The agent's registry, with the runtime's own metrics added.
    pub fn new(runtime: &dyn ContainerRuntime) -> Arc<Self> {
        let mut registry = Registry::default();
        let container_cpu = Family::<ContainerLabels, FloatGauge>::default();
        registry.register(
            "berth_container_cpu_usage_cores",
            "CPU a task's container uses, in cores (1 = 1024 CPU units), averaged over the last sampling interval",
            container_cpu.clone(),
        );
        let container_memory = Family::<ContainerLabels, Gauge>::default();
        registry.register(
            "berth_container_memory_usage_bytes",
            "Memory a task's container uses, without the reclaimable page cache",
            container_memory.clone(),
        );
        let task_cpu = Family::<TaskLabels, FloatGauge>::default();
        registry.register(
            "berth_task_cpu_usage_cores",
            "CPU a task's containers use together, in cores (1 = 1024 CPU units)",
            task_cpu.clone(),
        );
        let task_memory = Family::<TaskLabels, Gauge>::default();
        registry.register(
            "berth_task_memory_usage_bytes",
            "Memory a task's containers use together",
            task_memory.clone(),
        );
        let samples = Counter::default();
        registry.register("berth_stats_samples", "Container stats samples taken", samples.clone());
        let sample_failures = Counter::default();
        registry.register(
            "berth_stats_sample_failures",
            "Container stats samples that failed (container gone, Docker error)",
            sample_failures.clone(),
        );
        let reports = Counter::default();
        registry.register("berth_stats_reports", "SubmitTaskStats reports sent to the server", reports.clone());
        let report_failures = Counter::default();
        registry.register(
            "berth_stats_report_failures",
            "SubmitTaskStats reports the server did not accept",
            report_failures.clone(),
        );
        runtime.register_metrics(&mut registry);
        Arc::new(AgentMetrics {
            registry,
            container_cpu,
            container_memory,
            task_cpu,
            task_memory,
            samples,
            sample_failures,
            reports,
            report_failures,
        })
    }

    /// Everything in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// `GET /metrics`, for the agent's link endpoint (no authentication, as Prometheus scrapes it).
pub fn router(metrics: Arc<AgentMetrics>) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                let mut response = metrics.encode().into_response();
                response.headers_mut().insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
                response
            }
        }),
    )
}
