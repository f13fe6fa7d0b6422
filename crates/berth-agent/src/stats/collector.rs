//! The sampling loop: which containers to sample (the running containers of the running tasks the engine
//! publishes in the metadata registry, so no Docker list or inspect is needed), one one-shot Docker stats call per
//! container (a few at a time), CPU from the difference with the container's previous sample, sums per task, the
//! gauges of [`super::AgentMetrics`] (series of containers that went away are removed), and the report to the
//! server.
//!
//! A container's first sample has nothing to compare with, so a task is reported from its second interval on. A
//! report that fails is not retried: the next interval's supersedes it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_client::Client;
use berth_model::agent::AGENT_TARGET_PREFIX;
use berth_model::utilization::{CPU_UNITS_PER_CORE, ContainerUsage, SubmitTaskStatsRequest, TaskStatsSample};
use futures::StreamExt;

use super::sample::Reading;
use super::{AgentMetrics, ContainerLabels, TaskLabels};
use crate::metadata::{Registry, TaskMetadata};
use crate::runtime::ContainerRuntime;

/// Stats calls in flight at once: Docker answers each from cgroup files, but hundreds at once would queue in the
/// daemon behind the engine's own calls.
const CONCURRENCY: usize = 8;

/// How long a report may take before it is abandoned.
const REPORT_TIMEOUT: Duration = Duration::from_secs(10);

const MIB: f64 = 1024.0 * 1024.0;

/// Samples every `interval` and reports to the server until the task is aborted.
pub async fn run(client: Client, mut collector: Collector, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let target = format!("{AGENT_TARGET_PREFIX}SubmitTaskStats");
    // An empty report is sent once after tasks were reported (so the server forgets them), then not again.
    let mut reported_any = false;
    loop {
        tick.tick().await;
        let report = collector.round().await;
        if report.tasks.is_empty() && !reported_any {
            continue;
        }
        reported_any = !report.tasks.is_empty();
        collector.metrics.reports.inc();
        match client.call::<_, serde_json::Value>(&target, &report, Some(REPORT_TIMEOUT)).await {
            Ok(_) => {}
            Err(e) => {
                collector.metrics.report_failures.inc();
                tracing::debug!(error = %e, "task stats report not delivered");
            }
        }
    }
}

/// What one container sample belongs to.
struct Target {
    task: usize,
    container: String,
    docker_id: String,
}

/// The sampler's state between rounds.
pub struct Collector {
    runtime: Arc<dyn ContainerRuntime>,
    registry: Arc<Registry>,
    metrics: Arc<AgentMetrics>,
    cluster: String,
    instance_arn: String,
    /// Each container's previous reading, by runtime id.
    previous: HashMap<String, Reading>,
    exported_containers: HashSet<ContainerLabels>,
    exported_tasks: HashSet<TaskLabels>,
}

impl Collector {
    pub fn new(
        runtime: Arc<dyn ContainerRuntime>,
        registry: Arc<Registry>,
        metrics: Arc<AgentMetrics>,
        cluster: String,
        instance_arn: String,
    ) -> Self {
        Collector {
            runtime,
            registry,
            metrics,
            cluster,
            instance_arn,
            previous: HashMap::new(),
            exported_containers: HashSet::new(),
            exported_tasks: HashSet::new(),
        }
    }

    /// Samples every running container once, updates the gauges and returns the report for the server.
    pub async fn round(&mut self) -> SubmitTaskStatsRequest {
        let tasks: Vec<TaskMetadata> =
            self.registry.tasks().into_iter().filter(|t| t.known_status == "RUNNING").collect();
        let mut targets = Vec::new();
        for (i, task) in tasks.iter().enumerate() {
            for c in task.containers.iter().filter(|c| c.known_status == "RUNNING") {
                if let Some(id) = &c.docker_id {
                    targets.push(Target { task: i, container: c.name.clone(), docker_id: id.clone() });
                }
            }
        }
        let runtime = &self.runtime;
        let samples: Vec<_> = futures::stream::iter(targets)
            .map(|t| async move {
                let result = runtime.stats_one_shot(&t.docker_id).await;
                (t, result, Instant::now())
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;

        let mut previous = HashMap::with_capacity(samples.len());
        // Per task (by index): the containers with a CPU figure, and the task's memory.
        let mut usage: BTreeMap<usize, (Vec<ContainerUsage>, u64)> = BTreeMap::new();
        let mut containers_seen = HashSet::new();
        let timestamp = now();
        for (target, result, received) in samples {
            let reading = match result {
                Ok(stats) => Reading::parse(&stats.raw, received),
                Err(e) => {
                    tracing::debug!(container = %target.docker_id, error = %e, "stats sample failed");
                    None
                }
            };
            let Some(reading) = reading else {
                self.metrics.sample_failures.inc();
                continue;
            };
            self.metrics.samples.inc();
            let task = &tasks[target.task];
            let labels = container_labels(&self.cluster, task, &target.container);
            let cores = self.previous.get(&target.docker_id).and_then(|p| reading.cores_since(p));
            previous.insert(target.docker_id.clone(), reading);
            self.metrics.container_memory.get_or_create(&labels).set(reading.memory_bytes as i64);
            let entry = usage.entry(target.task).or_default();
            entry.1 += reading.memory_bytes;
            if let Some(cores) = cores {
                self.metrics.container_cpu.get_or_create(&labels).set(cores);
                entry.0.push(ContainerUsage {
                    name: target.container.clone(),
                    cpu_used: cores * CPU_UNITS_PER_CORE,
                    memory_used_mib: reading.memory_bytes as f64 / MIB,
                });
            }
            containers_seen.insert(labels);
        }
        self.previous = previous;

        let mut tasks_seen = HashSet::new();
        let mut report = Vec::new();
        for (i, (containers, memory)) in usage {
            let task = &tasks[i];
            let labels = task_labels(&self.cluster, task);
            let cores: f64 = containers.iter().map(|c| c.cpu_used).sum::<f64>() / CPU_UNITS_PER_CORE;
            self.metrics.task_memory.get_or_create(&labels).set(memory as i64);
            if !containers.is_empty() {
                self.metrics.task_cpu.get_or_create(&labels).set(cores);
                report.push(TaskStatsSample { task_arn: task.task_arn.clone(), containers });
            }
            tasks_seen.insert(labels);
        }
        // Series of containers and tasks that are gone (or whose sample failed) leave the endpoint.
        for gone in self.exported_containers.difference(&containers_seen) {
            self.metrics.container_cpu.remove(gone);
            self.metrics.container_memory.remove(gone);
        }
        for gone in self.exported_tasks.difference(&tasks_seen) {
            self.metrics.task_cpu.remove(gone);
            self.metrics.task_memory.remove(gone);
        }
        self.exported_containers = containers_seen;
        self.exported_tasks = tasks_seen;
        SubmitTaskStatsRequest {
            cluster: self.cluster.clone(),
            container_instance: self.instance_arn.clone(),
            timestamp,
            tasks: report,
        }
    }
}

fn task_id(task: &TaskMetadata) -> String {
    task.task_arn.rsplit('/').next().unwrap_or_default().to_owned()
}

fn group(task: &TaskMetadata) -> String {
    match &task.service_name {
        Some(service) => format!("service:{service}"),
        None => format!("family:{}", task.family),
    }
}

fn task_labels(cluster: &str, task: &TaskMetadata) -> TaskLabels {
    TaskLabels { cluster: cluster.to_owned(), group: group(task), task_id: task_id(task) }
}

fn container_labels(cluster: &str, task: &TaskMetadata, container: &str) -> ContainerLabels {
    ContainerLabels {
        cluster: cluster.to_owned(),
        group: group(task),
        task_id: task_id(task),
        container: container.to_owned(),
    }
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::ContainerMetadata;
    use crate::runtime::{ContainerStats, RuntimeError};
    use serde_json::json;
    use std::sync::Mutex;

    /// A runtime whose containers' CPU counters advance by a set number of nanoseconds per sample.
    #[derive(Default)]
    struct Ticking {
        counters: Mutex<HashMap<String, (u64, u64)>>,
        seconds: Mutex<i64>,
    }

    #[async_trait::async_trait]
    impl ContainerRuntime for Ticking {
        async fn info(&self) -> crate::runtime::Result<crate::runtime::RuntimeInfo> {
            Err(RuntimeError::Unavailable("stats only".into()))
        }
        async fn image_present(&self, _: &str) -> crate::runtime::Result<bool> {
            Ok(true)
        }
        async fn pull_image(&self, _: &str, _: Option<&crate::runtime::RegistryAuth>) -> crate::runtime::Result<()> {
            Ok(())
        }
        async fn create_volume(&self, _: &crate::runtime::VolumeSpec) -> crate::runtime::Result<()> {
            Ok(())
        }
        async fn remove_volume(&self, _: &str) -> crate::runtime::Result<()> {
            Ok(())
        }
        async fn create_container(&self, _: &crate::runtime::ContainerSpec) -> crate::runtime::Result<String> {
            Err(RuntimeError::Unavailable("stats only".into()))
        }
        async fn start_container(&self, _: &str) -> crate::runtime::Result<()> {
            Ok(())
        }
        async fn stop_container(&self, _: &str, _: Duration) -> crate::runtime::Result<()> {
            Ok(())
        }
        async fn inspect_container(&self, id: &str) -> crate::runtime::Result<crate::runtime::ContainerState> {
            Err(RuntimeError::NotFound(id.into()))
        }
        async fn remove_container(&self, _: &str) -> crate::runtime::Result<()> {
            Ok(())
        }
        async fn list_containers(
            &self,
            _: &[(String, String)],
        ) -> crate::runtime::Result<Vec<crate::runtime::ContainerState>> {
            Ok(vec![])
        }
        fn events(
            &self,
            _: &[(String, String)],
        ) -> futures::stream::BoxStream<'static, crate::runtime::Result<crate::runtime::RuntimeEvent>> {
            futures::stream::empty().boxed()
        }
        async fn stats(&self, id: &str) -> crate::runtime::Result<ContainerStats> {
            let seconds = *self.seconds.lock().unwrap();
            let mut counters = self.counters.lock().unwrap();
            let Some((total, step)) = counters.get_mut(id) else { return Err(RuntimeError::NotFound(id.into())) };
            *total += *step;
            let read = jiff::Timestamp::from_second(1_700_000_000 + seconds).unwrap().to_string();
            Ok(ContainerStats {
                raw: json!({"read": read, "cpu_stats": {"cpu_usage": {"total_usage": *total}},
                            "memory_stats": {"usage": 64u64 << 20, "stats": {"inactive_file": 0}}}),
            })
        }
    }

    fn task(arn: &str, service: Option<&str>, containers: &[(&str, &str)]) -> TaskMetadata {
        TaskMetadata {
            cluster: "default".into(),
            task_arn: arn.into(),
            family: "fam".into(),
            service_name: service.map(str::to_owned),
            known_status: "RUNNING".into(),
            containers: containers
                .iter()
                .map(|(name, id)| ContainerMetadata {
                    name: (*name).into(),
                    docker_id: Some((*id).into()),
                    known_status: "RUNNING".into(),
                    ..ContainerMetadata::default()
                })
                .collect(),
            ..TaskMetadata::default()
        }
    }

    #[tokio::test]
    async fn rounds_sum_containers_per_task_and_drop_gone_series() {
        let runtime = Arc::new(Ticking::default());
        // Two seconds between samples: a counter advancing 2e9 ns per sample is one core.
        runtime.counters.lock().unwrap().insert("c1".into(), (0, 2_000_000_000));
        runtime.counters.lock().unwrap().insert("c2".into(), (0, 1_000_000_000));
        runtime.counters.lock().unwrap().insert("c3".into(), (0, 0));
        let registry = Registry::new(runtime.clone());
        registry.update_task(task("arn:aws:ecs:r:1:task/default/t1", Some("web"), &[("a", "c1"), ("b", "c2")]));
        registry.update_task(task("arn:aws:ecs:r:1:task/default/t2", None, &[("x", "c3")]));
        let metrics = AgentMetrics::new(runtime.as_ref());
        let mut collector =
            Collector::new(runtime.clone(), registry.clone(), metrics.clone(), "default".into(), "inst".into());

        let first = collector.round().await;
        assert!(first.tasks.is_empty(), "no CPU figure yet: {first:?}");
        *runtime.seconds.lock().unwrap() = 2;
        let mut second = collector.round().await;
        second.tasks.sort_by(|a, b| a.task_arn.cmp(&b.task_arn));
        assert_eq!(second.tasks.len(), 2);
        let t1 = &second.tasks[0];
        let mut by_name: Vec<_> = t1.containers.iter().map(|c| (c.name.as_str(), c.cpu_used)).collect();
        by_name.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(by_name, [("a", 1024.0), ("b", 512.0)]);
        assert_eq!(t1.containers[0].memory_used_mib, 64.0);
        assert_eq!(second.container_instance, "inst");

        let text = metrics.encode();
        assert!(
            text.contains(r#"berth_task_cpu_usage_cores{cluster="default",group="service:web",task_id="t1"} 1.5"#),
            "{text}"
        );
        assert!(text.contains(
            r#"berth_container_cpu_usage_cores{cluster="default",group="service:web",task_id="t1",container="a"} 1.0"#
        ));
        assert!(
            text.contains(
                r#"berth_task_memory_usage_bytes{cluster="default",group="family:fam",task_id="t2"} 67108864"#
            )
        );
        assert!(text.contains("berth_stats_samples_total 6"));

        // t2 stops: its series go, and the report leaves it out.
        registry.remove_task("arn:aws:ecs:r:1:task/default/t2");
        *runtime.seconds.lock().unwrap() = 4;
        let third = collector.round().await;
        assert_eq!(third.tasks.len(), 1);
        let text = metrics.encode();
        assert!(!text.contains("task_id=\"t2\""), "{text}");
        assert!(text.contains("task_id=\"t1\""));
    }
}
