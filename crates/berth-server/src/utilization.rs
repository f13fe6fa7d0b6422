//! Task utilization, kept in memory for the last hour: the agents' `SubmitTaskStats` samples, per task (the latest
//! sample of each running task) and summed per service and per cluster into one datapoint per
//! [`RESOLUTION_SECONDS`], and the `DescribeUtilization` operation (under
//! `berth_model::utilization::BERTH_TARGET_PREFIX`) that serves them.
//!
//! Arithmetic, as ECS's `CPUUtilization` and `MemoryUtilization`: a percentage is the CPU units (or MiB) the tasks
//! use over the CPU units (or MiB) they reserve, x 100, summed over the tasks before dividing (so a service's figure
//! is the average weighted by reservation). A task's reservation is the one recorded when it was placed: its
//! task-level `cpu` and `memory` when set, else the sum of its containers' `cpu` and `memoryReservation` (or
//! `memory`). A task that reserves no CPU at all (no task-level cpu and every container at cpu 0) has no
//! `cpuUtilization`, and its CPU is left out of its service's and cluster's figures, numerator and denominator:
//! ECS counts such containers as having no share to measure against, and counting their use against nothing would
//! make the figure meaningless. The same holds for memory, which an EC2 task always reserves in practice.
//!
//! The cluster figure divides by what the cluster's tasks reserve, like the service figure; ECS's cluster-level
//! metric divides by the instances' registered capacity instead, which is what `CPUReservation` already tells.
//!
//! Bounds: a task is forgotten when its instance leaves it out of a report (it stopped) or after
//! [`TASK_SILENCE_SECONDS`] without a sample (its host went away); a series keeps at most an hour of datapoints and
//! is dropped once its newest is older than that, so memory follows the number of running tasks and of services
//! active in the last hour. Nothing is persisted: a restarted server starts with no history.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use berth_model::arn;
use berth_model::names::truncate;
use berth_model::utilization::{
    ClusterUtilization, ContainerUsage, Datapoint, DescribeUtilizationRequest, DescribeUtilizationResponse,
    ServiceUtilization, SubmitTaskStatsRequest, TaskUtilization, percent,
};
use serde_json::Value;

use crate::api::Api;
use crate::dispatch::decode_input;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ops::tasks::StoredTask;
use crate::state::{self, keys};

/// Width of one datapoint of a service or cluster series: the agents' default sampling interval.
pub const RESOLUTION_SECONDS: i64 = 10;

/// How long datapoints are kept.
pub const RETENTION_SECONDS: i64 = 3600;

/// A task without a sample for this long is forgotten; its latest sample is shown until then.
pub const TASK_SILENCE_SECONDS: f64 = 60.0;

/// Most services or tasks one `DescribeUtilization` may name.
const MAX_NAMED: usize = 100;

/// Operations under the Berth target prefix.
pub const OPERATIONS: &[&str] = &["DescribeUtilization"];

/// Runs a Berth operation (target prefix `BerthV20261206.`).
pub async fn dispatch(api: std::sync::Arc<Api>, operation: &str, body: Value) -> ApiResult<Value> {
    match operation {
        "DescribeUtilization" => describe_utilization(&api, decode_input(body)?).await,
        other => Err(ApiError::new(
            ErrorCode::UnknownOperationException,
            format!("Unknown Berth operation {}.", truncate(other, 128)),
        )),
    }
}

/// What the server knows about a task from its record: who it belongs to and what it reserves.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    pub group: Option<String>,
    pub cpu_reserved: i64,
    pub memory_reserved_mib: i64,
}

/// Sums over the tasks of one datapoint; only tasks that reserve a resource add to its pair.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Totals {
    cpu_used: f64,
    cpu_reserved: f64,
    memory_used: f64,
    memory_reserved: f64,
}

impl Totals {
    fn of(info: &TaskInfo, cpu_used: f64, memory_used: f64) -> Totals {
        let mut t = Totals::default();
        if info.cpu_reserved > 0 {
            t.cpu_used = cpu_used;
            t.cpu_reserved = info.cpu_reserved as f64;
        }
        if info.memory_reserved_mib > 0 {
            t.memory_used = memory_used;
            t.memory_reserved = info.memory_reserved_mib as f64;
        }
        t
    }

    fn add(&mut self, other: &Totals, sign: f64) {
        self.cpu_used += sign * other.cpu_used;
        self.cpu_reserved += sign * other.cpu_reserved;
        self.memory_used += sign * other.memory_used;
        self.memory_reserved += sign * other.memory_reserved;
    }

    fn datapoint(&self, timestamp: f64) -> Datapoint {
        // Subtracting a replaced sample can leave rounding dust where nothing is reserved any more.
        let reserved = |r: f64| if r < 0.5 { 0.0 } else { r };
        Datapoint {
            timestamp,
            cpu_utilization: percent(self.cpu_used, reserved(self.cpu_reserved)).map(round2),
            memory_utilization: percent(self.memory_used, reserved(self.memory_reserved)).map(round2),
        }
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// One service's or cluster's datapoints, oldest first, one per [`RESOLUTION_SECONDS`] that had samples.
#[derive(Debug, Default)]
struct Series {
    buckets: VecDeque<(i64, Totals)>,
}

impl Series {
    /// Adds (`sign` 1) or takes back (`sign` -1) a task's contribution to the bucket starting at `start`.
    fn add(&mut self, start: i64, totals: &Totals, sign: f64) {
        match self.buckets.binary_search_by_key(&start, |(s, _)| *s) {
            Ok(i) => self.buckets[i].1.add(totals, sign),
            Err(i) => {
                let mut t = Totals::default();
                t.add(totals, sign);
                self.buckets.insert(i, (start, t));
            }
        }
    }

    /// Drops buckets that started at or before `cutoff`.
    fn prune(&mut self, cutoff: i64) {
        while self.buckets.front().is_some_and(|(s, _)| *s <= cutoff) {
            self.buckets.pop_front();
        }
    }

    fn datapoints(&self) -> Vec<Datapoint> {
        self.buckets.iter().map(|(s, t)| t.datapoint(*s as f64)).collect()
    }

    /// The newest datapoint, if it is recent enough to describe now.
    fn current(&self, now: f64) -> Option<Datapoint> {
        let (start, totals) = self.buckets.back()?;
        ((*start as f64) + (RESOLUTION_SECONDS as f64) + TASK_SILENCE_SECONDS >= now)
            .then(|| totals.datapoint(*start as f64))
    }
}

/// A task's latest sample and what it added to its series.
#[derive(Debug)]
struct TaskEntry {
    cluster: String,
    instance: String,
    info: TaskInfo,
    /// The agent's sampling time.
    timestamp: f64,
    /// When the server received the sample.
    received: f64,
    cpu_used: f64,
    memory_used_mib: f64,
    containers: Vec<ContainerUsage>,
    /// The bucket the latest sample went into and what it added there, taken back if the task reports again within
    /// the same bucket (a sampling interval shorter than the resolution).
    contributed: Option<(i64, Totals)>,
}

impl TaskEntry {
    fn service(&self) -> Option<&str> {
        self.info.group.as_deref().and_then(|g| g.strip_prefix("service:"))
    }
}

#[derive(Debug, Default)]
struct Inner {
    tasks: HashMap<String, TaskEntry>,
    /// Per (cluster, service).
    services: HashMap<(String, String), Series>,
    clusters: HashMap<String, Series>,
    /// Per (cluster, instance ARN), the tasks its latest report named.
    instances: HashMap<(String, String), HashSet<String>>,
    last_prune: f64,
}

/// One instance's report, resolved: the tasks' samples with what the server knows of each task.
pub struct Report {
    pub cluster: String,
    pub instance: String,
    /// The agent's sampling time.
    pub timestamp: f64,
    /// (task ARN, info, containers' usage); tasks the server does not know are left out by the caller.
    pub tasks: Vec<(String, TaskInfo, Vec<ContainerUsage>)>,
}

/// The utilization history of every cluster this server has heard about.
#[derive(Debug, Default)]
pub struct Utilization {
    inner: Mutex<Inner>,
}

impl Utilization {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Which of these tasks the server has no entry for yet (their records must be read).
    pub fn unknown(&self, arns: &[&str]) -> Vec<String> {
        let inner = self.lock();
        arns.iter().filter(|a| !inner.tasks.contains_key(**a)).map(|a| (*a).to_owned()).collect()
    }

    /// The info kept for a known task.
    pub fn info(&self, arn: &str) -> Option<TaskInfo> {
        self.lock().tasks.get(arn).map(|t| t.info.clone())
    }

    /// Records an instance's report received at `now`: forgets the tasks the instance reported before and leaves
    /// out now, and adds each task's sample to its service's and cluster's datapoint.
    pub fn record(&self, report: Report, now: f64) {
        let mut inner = self.lock();
        let Inner { tasks, services, clusters, instances, .. } = &mut *inner;
        let named: HashSet<String> = report.tasks.iter().map(|(arn, _, _)| arn.clone()).collect();
        let instance_key = (report.cluster.clone(), report.instance.clone());
        if let Some(before) = instances.get(&instance_key) {
            for gone in before.difference(&named) {
                if tasks.get(gone).is_some_and(|t| t.instance == report.instance) {
                    tasks.remove(gone);
                }
            }
        }
        instances.insert(instance_key, named);
        let bucket = (now as i64).div_euclid(RESOLUTION_SECONDS) * RESOLUTION_SECONDS;
        for (arn, info, containers) in report.tasks {
            let cpu_used: f64 = containers.iter().map(|c| c.cpu_used.max(0.0)).sum();
            let memory_used: f64 = containers.iter().map(|c| c.memory_used_mib.max(0.0)).sum();
            let totals = Totals::of(&info, cpu_used, memory_used);
            let entry = tasks.entry(arn).or_insert_with(|| TaskEntry {
                cluster: report.cluster.clone(),
                instance: report.instance.clone(),
                info: info.clone(),
                timestamp: 0.0,
                received: 0.0,
                cpu_used: 0.0,
                memory_used_mib: 0.0,
                containers: Vec::new(),
                contributed: None,
            });
            let service = entry.service().map(|s| (entry.cluster.clone(), s.to_owned()));
            let mut series: Vec<&mut Series> = vec![clusters.entry(entry.cluster.clone()).or_default()];
            if let Some(key) = service {
                series.push(services.entry(key).or_default());
            }
            if let Some((b, old)) = entry.contributed.filter(|(b, _)| *b == bucket) {
                for s in series.iter_mut() {
                    s.add(b, &old, -1.0);
                }
            }
            for s in series.iter_mut() {
                s.add(bucket, &totals, 1.0);
            }
            entry.instance.clone_from(&report.instance);
            entry.timestamp = report.timestamp;
            entry.received = now;
            entry.cpu_used = cpu_used;
            entry.memory_used_mib = memory_used;
            entry.containers = containers;
            entry.contributed = Some((bucket, totals));
        }
        drop(inner);
        self.prune(now, false);
    }

    /// Forgets silent tasks and datapoints older than the retention; at most once a second unless `force`.
    fn prune(&self, now: f64, force: bool) {
        let mut inner = self.lock();
        if !force && now - inner.last_prune < 1.0 {
            return;
        }
        inner.last_prune = now;
        let Inner { tasks, services, clusters, instances, .. } = &mut *inner;
        tasks.retain(|_, t| now - t.received <= TASK_SILENCE_SECONDS);
        let cutoff = now as i64 - RETENTION_SECONDS;
        for series in services.values_mut().chain(clusters.values_mut()) {
            series.prune(cutoff);
        }
        services.retain(|_, s| !s.buckets.is_empty());
        clusters.retain(|_, s| !s.buckets.is_empty());
        instances.retain(|_, named| {
            named.retain(|arn| tasks.contains_key(arn));
            !named.is_empty()
        });
    }

    /// A cluster's utilization now and over the last hour.
    pub fn cluster(&self, cluster: &str, now: f64) -> ClusterUtilization {
        self.prune(now, true);
        let inner = self.lock();
        let series = inner.clusters.get(cluster);
        let current = series.and_then(|s| s.current(now));
        ClusterUtilization {
            cluster_name: cluster.to_owned(),
            cpu_utilization: current.as_ref().and_then(|d| d.cpu_utilization),
            memory_utilization: current.as_ref().and_then(|d| d.memory_utilization),
            datapoints: series.map(Series::datapoints).unwrap_or_default(),
        }
    }

    /// A service's utilization now and over the last hour.
    pub fn service(&self, cluster: &str, service: &str, now: f64) -> ServiceUtilization {
        let inner = self.lock();
        let series = inner.services.get(&(cluster.to_owned(), service.to_owned()));
        let current = series.and_then(|s| s.current(now));
        ServiceUtilization {
            service_name: service.to_owned(),
            cpu_utilization: current.as_ref().and_then(|d| d.cpu_utilization),
            memory_utilization: current.as_ref().and_then(|d| d.memory_utilization),
            datapoints: series.map(Series::datapoints).unwrap_or_default(),
        }
    }

    /// The latest sample of each task of `cluster` that reported in the last [`TASK_SILENCE_SECONDS`], or of those
    /// whose ARN or id `wanted` holds; sorted by ARN.
    pub fn tasks(&self, cluster: &str, wanted: Option<&HashSet<String>>, now: f64) -> Vec<TaskUtilization> {
        let inner = self.lock();
        let mut out: Vec<TaskUtilization> = inner
            .tasks
            .iter()
            .filter(|(_, t)| t.cluster == cluster && now - t.received <= TASK_SILENCE_SECONDS)
            .filter(|(arn, _)| {
                wanted.is_none_or(|w| w.contains(arn.as_str()) || w.contains(arn::scoped_id(arn, "task").1))
            })
            .map(|(arn, t)| TaskUtilization {
                task_arn: arn.clone(),
                group: t.info.group.clone(),
                timestamp: t.timestamp,
                cpu_used: round2(t.cpu_used),
                cpu_reserved: t.info.cpu_reserved,
                memory_used_mib: round2(t.memory_used_mib),
                memory_reserved_mib: t.info.memory_reserved_mib,
                cpu_utilization: percent(t.cpu_used, t.info.cpu_reserved as f64).map(round2),
                memory_utilization: percent(t.memory_used_mib, t.info.memory_reserved_mib as f64).map(round2),
                containers: t.containers.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.task_arn.cmp(&b.task_arn));
        out
    }

    /// The current figure of every service and cluster with a recent datapoint, for the metrics endpoint:
    /// ((cluster, service or None), datapoint).
    pub fn current_all(&self, now: f64) -> Vec<((String, Option<String>), Datapoint)> {
        let inner = self.lock();
        let clusters = inner.clusters.iter().filter_map(|(c, s)| Some(((c.clone(), None), s.current(now)?)));
        let services =
            inner.services.iter().filter_map(|((c, name), s)| Some(((c.clone(), Some(name.clone())), s.current(now)?)));
        clusters.chain(services).collect()
    }
}

/// `SubmitTaskStats`: records an instance's samples. Tasks the server has no record of, or that have stopped, are
/// ignored; a task's record is read once, on its first sample.
pub async fn submit(api: &Api, req: SubmitTaskStatsRequest) -> ApiResult<Value> {
    let cluster = Api::cluster_name(Some(&req.cluster)).to_owned();
    let (other, instance_id) = arn::scoped_id(&req.container_instance, "container-instance");
    if other.is_some_and(|c| c != cluster) || instance_id.is_empty() {
        return Err(ApiError::invalid("containerInstance does not belong to the cluster named."));
    }
    if !req.timestamp.is_finite() {
        return Err(ApiError::invalid("timestamp must be a number of seconds since the epoch."));
    }
    for (i, t) in req.tasks.iter().enumerate() {
        if t.containers.iter().any(|c| !c.cpu_used.is_finite() || !c.memory_used_mib.is_finite()) {
            return Err(ApiError::invalid(format!(
                "tasks[{i}].containers: cpuUsed and memoryUsedMiB must be numbers."
            )));
        }
    }
    let arns: Vec<&str> = req.tasks.iter().map(|t| t.task_arn.as_str()).collect();
    let mut fetched = HashMap::new();
    for task_ref in api.utilization.unknown(&arns) {
        let (_, task_id) = arn::scoped_id(&task_ref, "task");
        if task_id.is_empty() {
            continue;
        }
        let Some(stored) = state::get::<StoredTask>(api.store.as_ref(), &keys::task(&cluster, task_id)).await? else {
            continue;
        };
        if stored.value.task.is_stopped() {
            continue;
        }
        let info = TaskInfo {
            group: stored.value.task.group.clone(),
            cpu_reserved: stored.value.reservation.cpu,
            memory_reserved_mib: stored.value.reservation.memory,
        };
        fetched.insert(task_ref, info);
    }
    let mut tasks = Vec::with_capacity(req.tasks.len());
    for t in req.tasks {
        let info = match fetched.remove(&t.task_arn) {
            Some(info) => info,
            None => match api.utilization.info(&t.task_arn) {
                Some(info) => info,
                None => continue,
            },
        };
        tasks.push((t.task_arn, info, t.containers));
    }
    let report = Report { cluster, instance: req.container_instance, timestamp: req.timestamp, tasks };
    api.utilization.record(report, api.now());
    Ok(serde_json::json!({}))
}

/// `DescribeUtilization`.
pub async fn describe_utilization(api: &Api, req: DescribeUtilizationRequest) -> ApiResult<Value> {
    for (field, list) in [("services", &req.services), ("tasks", &req.tasks)] {
        if let Some(list) = list {
            if list.len() > MAX_NAMED {
                return Err(ApiError::invalid(format!("{field} can name at most {MAX_NAMED} entries.")));
            }
            if list.iter().any(|s| s.is_empty()) {
                return Err(ApiError::invalid(format!("{field} must not contain empty names.")));
            }
        }
    }
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    let now = api.now();
    let names: Vec<String> = match &req.services {
        Some(list) => list.iter().map(|s| arn::scoped_id(s, "service").1.to_owned()).collect(),
        None => state::list::<Value>(api.store.as_ref(), &keys::services_of(&cluster))
            .await?
            .into_iter()
            .filter(|s| s.value.get("status").and_then(Value::as_str) != Some("INACTIVE"))
            .filter_map(|s| s.value.get("serviceName").and_then(Value::as_str).map(str::to_owned))
            .collect(),
    };
    let wanted: Option<HashSet<String>> = req.tasks.as_ref().map(|t| t.iter().cloned().collect());
    let response = DescribeUtilizationResponse {
        cluster: api.utilization.cluster(&cluster, now),
        services: names.iter().map(|n| api.utilization.service(&cluster, n, now)).collect(),
        tasks: api.utilization.tasks(&cluster, wanted.as_ref(), now),
    };
    serde_json::to_value(response).map_err(|e| ApiError::server(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(group: &str, cpu: i64, memory: i64) -> TaskInfo {
        TaskInfo { group: Some(group.to_owned()), cpu_reserved: cpu, memory_reserved_mib: memory }
    }

    fn usage(name: &str, cpu: f64, memory: f64) -> ContainerUsage {
        ContainerUsage { name: name.to_owned(), cpu_used: cpu, memory_used_mib: memory }
    }

    fn report(instance: &str, tasks: Vec<(&str, TaskInfo, Vec<ContainerUsage>)>) -> Report {
        Report {
            cluster: "default".into(),
            instance: instance.into(),
            timestamp: 0.0,
            tasks: tasks.into_iter().map(|(a, i, c)| (a.to_owned(), i, c)).collect(),
        }
    }

    const T0: f64 = 1_700_000_000.0;

    #[test]
    fn service_and_cluster_figures_are_used_over_reserved() {
        let u = Utilization::default();
        u.record(
            report(
                "i1",
                vec![
                    // A task at one full core of its 1024 units, with two containers.
                    ("t1", info("service:web", 1024, 256), vec![usage("a", 768.0, 64.0), usage("b", 256.0, 64.0)]),
                    ("t2", info("service:web", 1024, 256), vec![usage("a", 0.0, 0.0)]),
                    ("t3", info("family:batch", 2048, 512), vec![usage("x", 1024.0, 128.0)]),
                ],
            ),
            T0,
        );
        let web = u.service("default", "web", T0);
        assert_eq!(web.cpu_utilization, Some(50.0));
        assert_eq!(web.memory_utilization, Some(25.0));
        assert_eq!(web.datapoints.len(), 1);
        let cluster = u.cluster("default", T0);
        assert_eq!(cluster.cpu_utilization, Some(50.0));
        assert_eq!(cluster.memory_utilization, Some(25.0));
        let tasks = u.tasks("default", None, T0);
        assert_eq!(tasks.len(), 3);
        assert_eq!(tasks[0].cpu_used, 1024.0);
        assert_eq!(tasks[0].cpu_utilization, Some(100.0));
        assert_eq!(tasks[0].memory_utilization, Some(50.0));
        assert_eq!(tasks[0].containers.len(), 2);
        let only = HashSet::from(["t3".to_owned()]);
        assert_eq!(u.tasks("default", Some(&only), T0).len(), 1);
        assert!(u.tasks("other", None, T0).is_empty());
    }

    #[test]
    fn tasks_without_a_cpu_reservation_are_left_out_of_cpu_figures() {
        let u = Utilization::default();
        u.record(
            report(
                "i1",
                vec![
                    ("t1", info("service:web", 0, 128), vec![usage("a", 2048.0, 64.0)]),
                    ("t2", info("service:web", 512, 128), vec![usage("a", 128.0, 64.0)]),
                ],
            ),
            T0,
        );
        let web = u.service("default", "web", T0);
        assert_eq!(web.cpu_utilization, Some(25.0));
        assert_eq!(web.memory_utilization, Some(50.0));
        let tasks = u.tasks("default", None, T0);
        assert_eq!(tasks[0].cpu_utilization, None);
        assert_eq!(tasks[0].cpu_used, 2048.0);

        let alone = Utilization::default();
        alone.record(report("i1", vec![("t1", info("service:web", 0, 0), vec![usage("a", 10.0, 1.0)])]), T0);
        let web = alone.service("default", "web", T0);
        assert_eq!((web.cpu_utilization, web.memory_utilization), (None, None));
        assert_eq!(web.datapoints.len(), 1);
    }

    #[test]
    fn a_second_sample_in_the_same_interval_replaces_the_first() {
        let u = Utilization::default();
        let start = (T0 as i64 / RESOLUTION_SECONDS * RESOLUTION_SECONDS) as f64;
        u.record(report("i1", vec![("t1", info("service:web", 1024, 100), vec![usage("a", 1024.0, 10.0)])]), start);
        u.record(
            report("i1", vec![("t1", info("service:web", 1024, 100), vec![usage("a", 256.0, 20.0)])]),
            start + 2.0,
        );
        let web = u.service("default", "web", start + 2.0);
        assert_eq!(web.datapoints.len(), 1);
        assert_eq!(web.cpu_utilization, Some(25.0));
        assert_eq!(web.memory_utilization, Some(20.0));
        // The next interval is a new datapoint.
        u.record(
            report("i1", vec![("t1", info("service:web", 1024, 100), vec![usage("a", 512.0, 20.0)])]),
            start + RESOLUTION_SECONDS as f64,
        );
        let web = u.service("default", "web", start + RESOLUTION_SECONDS as f64);
        assert_eq!(web.datapoints.len(), 2);
        assert_eq!(web.datapoints[0].cpu_utilization, Some(25.0));
        assert_eq!(web.cpu_utilization, Some(50.0));
        assert!(web.datapoints[0].timestamp < web.datapoints[1].timestamp);
    }

    #[test]
    fn stopped_and_silent_tasks_are_forgotten_but_their_history_stays() {
        let u = Utilization::default();
        let web = || info("service:web", 1024, 100);
        u.record(report("i1", vec![("t1", web(), vec![usage("a", 1.0, 1.0)]), ("t2", web(), vec![])]), T0);
        u.record(report("i2", vec![("t3", web(), vec![usage("a", 1.0, 1.0)])]), T0);
        assert_eq!(u.tasks("default", None, T0).len(), 3);
        // i1 leaves t2 out: it stopped. i2's t3 is untouched.
        u.record(report("i1", vec![("t1", web(), vec![usage("a", 1.0, 1.0)])]), T0 + 10.0);
        let arns: Vec<String> = u.tasks("default", None, T0 + 10.0).into_iter().map(|t| t.task_arn).collect();
        assert_eq!(arns, ["t1", "t3"]);
        // Silent past the limit: gone from tasks, and the service has no current figure, but keeps its history.
        let later = T0 + 10.0 + TASK_SILENCE_SECONDS + RESOLUTION_SECONDS as f64 + 1.0;
        u.record(report("i3", vec![]), later);
        assert!(u.tasks("default", None, later).is_empty());
        assert_eq!(u.unknown(&["t1"]), ["t1"]);
        let s = u.service("default", "web", later);
        assert_eq!(s.cpu_utilization, None);
        assert_eq!(s.datapoints.len(), 2);
    }

    #[test]
    fn history_is_kept_for_an_hour_and_bounded() {
        let u = Utilization::default();
        let web = || info("service:web", 1024, 100);
        // Two hours of samples every 2 s: five per datapoint.
        let mut now = T0;
        while now < T0 + 2.0 * RETENTION_SECONDS as f64 {
            u.record(report("i1", vec![("t1", web(), vec![usage("a", 512.0, 50.0)])]), now);
            now += 2.0;
        }
        let s = u.service("default", "web", now);
        let expected = (RETENTION_SECONDS / RESOLUTION_SECONDS) as usize;
        assert!(s.datapoints.len() <= expected && s.datapoints.len() >= expected - 1, "{}", s.datapoints.len());
        assert!(s.datapoints.iter().all(|d| d.cpu_utilization == Some(50.0) && d.memory_utilization == Some(50.0)));
        assert!(s.datapoints.first().is_some_and(|d| d.timestamp >= now - RETENTION_SECONDS as f64));
        // A service gone for over an hour is dropped entirely.
        let much_later = now + RETENTION_SECONDS as f64 + 60.0;
        let c = u.cluster("default", much_later);
        assert!(c.datapoints.is_empty());
        assert!(u.current_all(much_later).is_empty());
        assert!(u.lock().services.is_empty() && u.lock().clusters.is_empty());
    }

    #[test]
    fn current_figures_for_the_metrics_endpoint() {
        let u = Utilization::default();
        u.record(report("i1", vec![("t1", info("service:web", 1024, 100), vec![usage("a", 256.0, 10.0)])]), T0);
        let mut all = u.current_all(T0);
        all.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].0, ("default".to_owned(), None));
        assert_eq!(all[1].0, ("default".to_owned(), Some("web".to_owned())));
        assert_eq!(all[1].1.cpu_utilization, Some(25.0));
    }
}
