//! The service controller: keeps every service's tasks as its deployments want them. It runs on the leader only
//! and is driven by store watches on tasks, services and instances, so a task that stops is replaced as soon as its
//! agent reports it; a quarter-second tick covers what only time changes (back-off, grace periods, settling).
//!
//! Each pass over a service reads it, its tasks and the cluster's instances, asks [`rollout::plan`] what to do,
//! commits the service's new state (with a compare, so a concurrent UpdateService wins and the pass is redone),
//! then stops and starts tasks through the same paths as StopTask and RunTask.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use berth_model::instance::ContainerInstance;
use berth_model::service::service_of_group;
use berth_model::task::stop_code;
use berth_model::{Failure, arn};
use berth_scheduler::{Constraint, Node, Strategy};
use berth_store::{EventKind, WatchEvent};
use futures::{FutureExt, StreamExt};
use serde::Deserialize;

use super::rebalance;
use super::rollout::{self, HostView, Inputs, Start, TaskView};
use crate::api::Api;
use crate::error::ApiResult;
use crate::ops::services::StoredService;
use crate::ops::taskdefs;
use crate::ops::tasks::{self, NO_INSTANCES, ServiceLaunch, StoredTask, Target};
use crate::state::{self, keys};

/// The store key whose holder runs the service controller.
const LEADER_KEY: &str = "leader/service-controller";

/// How often services that are not steady are looked at again without a change to wake them (settling rollouts,
/// back-off, grace periods). Short, so a rollout completes close to when its tasks have settled.
const TICK: Duration = Duration::from_millis(250);

/// After a placement fails, the service's next launch waits this long unless the cluster changes first.
const PLACEMENT_RETRY_SECONDS: f64 = 1.0;

/// Runs until aborted: campaigns for leadership and drives the services while leading.
pub async fn run(api: Arc<Api>) {
    let store = api.store.clone();
    crate::leader::run_as_leader(store, LEADER_KEY, || {
        let api = api.clone();
        async move {
            loop {
                if let Err(e) = follow(&api).await {
                    tracing::warn!(error = %e.message, "service controller: restarting its watches");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    })
    .await;
}

/// One (cluster, service) pair.
type ServiceId = (String, String);

/// Watches from the current revision, reconciles everything once, then whatever the changes touch.
async fn follow(api: &Api) -> ApiResult<()> {
    let store = api.store.as_ref();
    let from = store.current_revision().await?;
    let mut watches = futures::stream::select_all([
        store.watch(keys::TASKS, from).await?,
        store.watch(keys::SERVICES, from).await?,
        store.watch(keys::INSTANCES, from).await?,
    ]);
    let mut controller = Controller::default();
    let mut dirty = services(api, |_| true).await?;
    let mut tick = tokio::time::interval(TICK);
    loop {
        let started = (!dirty.is_empty()).then(std::time::Instant::now);
        for id in std::mem::take(&mut dirty) {
            if let Err(e) = controller.reconcile(api, &id).await {
                tracing::warn!(cluster = %id.0, service = %id.1, error = %e.message, "service pass failed");
            }
        }
        if let Some(started) = started {
            api.metrics.observe_controller("services", started.elapsed());
        }
        tokio::select! {
            event = watches.next() => {
                let Some(event) = event else { return Ok(()) };
                let mut changes = Changes::default();
                changes.note(event?);
                // Take everything already queued, so a burst of reports is one pass.
                while let Some(Some(event)) = watches.next().now_or_never() {
                    changes.note(event?);
                }
                controller.retry_at.retain(|(c, _), _| !changes.clusters.contains_key(c));
                dirty = changes.services_to_visit(api).await?;
            }
            _ = tick.tick() => {
                // Services that may have work only a clock starts: settling, back-off, grace periods.
                dirty = services(api, |s| !s.state.steady).await?;
            }
        }
    }
}

/// The services (not INACTIVE) under `prefix` that `wanted` picks.
async fn services_under(
    api: &Api,
    prefix: &str,
    wanted: impl Fn(&StoredService) -> bool,
) -> ApiResult<BTreeSet<ServiceId>> {
    Ok(state::list::<StoredService>(api.store.as_ref(), prefix)
        .await?
        .into_iter()
        .filter(|s| s.value.service.status != "INACTIVE" && wanted(&s.value))
        .filter_map(|s| service_id(&s.key))
        .collect())
}

async fn services(api: &Api, wanted: impl Fn(&StoredService) -> bool) -> ApiResult<BTreeSet<ServiceId>> {
    services_under(api, keys::SERVICES, wanted).await
}

/// What a batch of watch events touched.
#[derive(Default)]
struct Changes {
    services: BTreeSet<ServiceId>,
    /// Clusters whose instances changed, and whether any changed state (not just remaining resources).
    clusters: BTreeMap<String, bool>,
}

impl Changes {
    fn note(&mut self, event: WatchEvent) {
        let key = event.kv.key.as_str();
        if let Some(id) = service_id(key) {
            self.services.insert(id);
        } else if key.starts_with(keys::TASKS) {
            #[derive(Deserialize)]
            struct Group {
                group: Option<String>,
            }
            let value = match event.kind {
                EventKind::Put => Some(&event.kv.value),
                EventKind::Delete => None,
            };
            let group = value.and_then(|v| serde_json::from_slice::<Group>(v).ok()).and_then(|g| g.group);
            let cluster = key.split('/').nth(1).unwrap_or_default();
            if let Some(name) = group.as_deref().and_then(service_of_group) {
                self.services.insert((cluster.to_owned(), name.to_owned()));
            }
        } else if let Some(cluster) = key.split('/').nth(1) {
            *self.clusters.entry(cluster.to_owned()).or_default() |= instance_changed(&event);
        }
    }

    /// The services to look at: those touched directly, and for each cluster whose instances changed (joined,
    /// left, changed state or freed resources) its services that want something, DAEMON ones, or all of them when an
    /// instance's state changed. Each cluster's services are read once per batch.
    async fn services_to_visit(self, api: &Api) -> ApiResult<BTreeSet<ServiceId>> {
        let mut visit = self.services;
        for (cluster, state_changed) in self.clusters {
            let wanted = |s: &StoredService| state_changed || !s.state.steady || s.service.is_daemon();
            visit.extend(services_under(api, &keys::services_of(&cluster), wanted).await?);
        }
        Ok(visit)
    }
}

/// What the controller remembers between passes (nothing it could not rebuild: it only saves work).
#[derive(Default)]
struct Controller {
    /// Services whose last launch could not be placed, and when to try again.
    retry_at: HashMap<ServiceId, f64>,
}

impl Controller {
    /// One pass over one service.
    async fn reconcile(&mut self, api: &Api, id: &ServiceId) -> ApiResult<()> {
        let (cluster, name) = id;
        let store = api.store.as_ref();
        let key = keys::service(cluster, name);
        let Some(current) = state::get::<StoredService>(store, &key).await? else { return Ok(()) };
        if current.value.service.status == "INACTIVE" {
            return Ok(());
        }
        let group = current.value.service.group();
        let tasks: Vec<StoredTask> = state::list::<StoredTask>(store, &keys::tasks_of(cluster))
            .await?
            .into_iter()
            .map(|t| t.value)
            .filter(|t| t.task.group.as_deref() == Some(group.as_str()))
            .collect();
        let views: Vec<TaskView> = tasks.iter().map(task_view).collect();
        let instances = state::list::<ContainerInstance>(store, &keys::instances_of(cluster)).await?;

        let mut definitions = BTreeMap::new();
        for d in &current.value.service.deployments {
            if let Some(def) = taskdefs::find(api, &d.task_definition).await? {
                definitions.insert(d.id.clone(), def.value);
            }
        }
        let service = &current.value.service;
        let (constraints, strategies) =
            tasks::parse_placement(&service.placement_constraints, &service.placement_strategy)?;
        let strategies =
            if strategies.is_empty() && !service.is_daemon() { Strategy::service_default() } else { strategies };
        let primary_def = service.deployments.first().and_then(|d| definitions.get(&d.id));
        let mut all_constraints = constraints.clone();
        if let Some(def) = primary_def {
            all_constraints.extend(tasks::definition_constraints(&def.definition)?);
        }
        let hosts: Vec<HostView> = instances.iter().map(|i| host_view(&i.value, &all_constraints, &group)).collect();
        let health_checked = |deployment: &str| {
            definitions.get(deployment).is_some_and(|d| {
                d.definition.container_definitions.iter().any(|c| c.is_essential() && c.health_check.is_some())
            })
        };
        let now = api.now();
        let mut stored = current.value.clone();
        let plan = rollout::plan(
            &mut stored,
            &views,
            &hosts,
            &Inputs { now, health_checked: &health_checked, strategies: &strategies },
        );
        for message in &plan.events {
            push_event(&mut stored, now, message);
        }
        if serde_json::to_vec(&stored).ok() != serde_json::to_vec(&current.value).ok() {
            let written = store.txn(vec![current.unchanged()], vec![state::put(&key, &stored)?]).await?;
            if !written.succeeded {
                // Someone changed the service meanwhile; its watch event brings it back here.
                return Ok(());
            }
        }

        for stop in &plan.stops {
            let task_key = keys::task(cluster, &stop.id);
            tasks::request_stop(api, cluster, &task_key, stop_code::SERVICE_SCHEDULER_INITIATED, &stop.reason).await?;
        }
        let Some(start) = plan.start else { return Ok(()) };
        if self.retry_at.get(id).is_some_and(|at| *at > now) {
            return Ok(());
        }
        let Some(primary) = stored.service.deployments.first() else { return Ok(()) };
        // A rollback decided in this pass deploys a definition not read above.
        if !definitions.contains_key(&primary.id)
            && let Some(def) = taskdefs::find(api, &primary.task_definition).await?
        {
            definitions.insert(primary.id.clone(), def.value);
        }
        let Some(definition) = definitions.get(&primary.id) else {
            push_events(
                api,
                &key,
                &[format!(
                    "(service {name}) cannot start tasks: its task definition {} cannot be read.",
                    primary.task_definition
                )],
            )
            .await?;
            return Ok(());
        };
        let tags = match stored.service.propagate_tags.as_str() {
            "SERVICE" => stored.service.tags.clone().unwrap_or_default(),
            "TASK_DEFINITION" => definition.tags.clone(),
            _ => vec![],
        };
        let mut constraints = constraints;
        let (target, zone) = match start {
            Start::Count(n) => (Target::Count(n), None),
            Start::On(hosts) => (Target::Instances(hosts), None),
            Start::InZone { zone, count } => {
                let expression = rebalance::zone_expression(&zone);
                match Constraint::parse("memberOf", Some(&expression)) {
                    Ok(c) => constraints.push(c),
                    Err(e) => tracing::warn!(zone, error = e, "AZ rebalancing: a zone name the query cannot hold"),
                }
                (Target::Count(count), Some(zone))
            }
        };
        let spec = ServiceLaunch {
            cluster: cluster.clone(),
            definition: definition.definition.clone(),
            group,
            started_by: primary.id.clone(),
            constraints,
            strategies,
            tags,
            enable_execute_command: stored.service.enable_execute_command,
            format: stored.state.task_arn_format(),
        };
        let (started, failures) = tasks::launch_service_tasks(api, spec, target).await?;
        let mut events = Vec::new();
        if !started.is_empty() {
            let ids: Vec<String> = started.iter().map(|t| t.id().to_owned()).collect();
            events.push(match &zone {
                Some(zone) => rebalance::launched_event(name, zone, &ids),
                None => {
                    let names: Vec<String> = ids.iter().map(|id| format!("(task {id})")).collect();
                    format!("(service {name}) has started {} tasks: {}.", started.len(), names.join(" "))
                }
            });
        }
        if !failures.is_empty() {
            self.retry_at.insert(id.clone(), now + PLACEMENT_RETRY_SECONDS);
            events.push(unable_to_place(name, &failures));
        } else {
            self.retry_at.remove(id);
        }
        push_events(api, &key, &events).await
    }
}

/// `(cluster, name)` of a `services/<cluster>/<name>` key.
fn service_id(key: &str) -> Option<ServiceId> {
    let mut parts = key.strip_prefix(keys::SERVICES)?.splitn(2, '/');
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}

/// Whether an instance's state (not just its remaining resources) changed: status, connection or attributes.
fn instance_changed(event: &WatchEvent) -> bool {
    #[derive(Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        status: Option<String>,
        agent_connected: Option<bool>,
        attributes: Option<serde_json::Value>,
    }
    let decode = |bytes: &[u8]| serde_json::from_slice::<Shape>(bytes).ok();
    match (&event.kind, &event.prev_kv) {
        (EventKind::Put, Some(prev)) => decode(&prev.value) != decode(&event.kv.value),
        _ => true,
    }
}

fn task_view(stored: &StoredTask) -> TaskView {
    let t = &stored.task;
    TaskView {
        id: t.id().to_owned(),
        deployment: t.started_by.clone().unwrap_or_default(),
        instance: t.container_instance_arn.clone(),
        status: t.status(),
        desired_running: t.desired_status == "RUNNING",
        started_at: t.started_at,
        health: t.health_status.clone(),
        stop_code: t.stop_code.clone(),
    }
}

fn host_view(instance: &ContainerInstance, constraints: &[Constraint], group: &str) -> HostView {
    let active = instance.status == "ACTIVE";
    let node = Node::new(instance.clone());
    let allowed = constraints.iter().all(|c| matches!(c, Constraint::DistinctInstance) || c.allows(&node, group));
    HostView {
        arn: instance.container_instance_arn.clone(),
        active,
        daemon_eligible: active && instance.agent_connected && allowed,
        attributes: instance
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.value.clone().unwrap_or_default()))
            .chain([("instanceId".to_owned(), instance.container_instance_arn.clone())])
            .collect(),
        remaining_cpu: node.cpu,
        remaining_memory: node.memory,
    }
}

/// Adds an event unless it repeats one of the last few within a minute (placement failures and back-off repeat
/// on every try; ECS shows them now and then, not on every pass).
fn push_event(stored: &mut StoredService, now: f64, message: &str) {
    let repeats = stored.service.events.iter().take(5).any(|e| e.message == message && now - e.created_at < 60.0);
    let repeatable = message.ends_with("has reached a steady state.")
        || message.contains("has started")
        || message.contains("has stopped");
    if repeats && !repeatable {
        return;
    }
    stored.service.push_event(uuid::Uuid::new_v4().to_string(), now, message.to_owned());
}

/// Appends events to a service outside a pass (after its launches).
async fn push_events(api: &Api, key: &str, messages: &[String]) -> ApiResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let store = api.store.as_ref();
    state::commit(store, || async {
        let Some(current) = state::get::<StoredService>(store, key).await? else { return Ok((vec![], vec![], ())) };
        let mut stored = current.value.clone();
        let now = api.now();
        for m in messages {
            push_event(&mut stored, now, m);
        }
        Ok((vec![current.unchanged()], vec![state::put(key, &stored)?], ()))
    })
    .await
}

/// ECS's wording for a task that fits nowhere, naming the closest instance's reason.
fn unable_to_place(name: &str, failures: &[Failure]) -> String {
    let head = format!(
        "(service {name}) is unable to place a task because no container instance met all of its requirements."
    );
    let Some(first) = failures.first() else { return head };
    if first.reason == NO_INSTANCES {
        return format!("{head} Reason: {NO_INSTANCES}");
    }
    let instance = first.arn.as_deref().map(|a| arn::scoped_id(a, "container-instance").1).unwrap_or("unknown");
    let what = match first.reason.as_str() {
        "RESOURCE:CPU" => "has insufficient CPU units available".to_owned(),
        "RESOURCE:MEMORY" => "has insufficient memory available".to_owned(),
        "RESOURCE:GPU" => "has insufficient GPU available".to_owned(),
        "RESOURCE:PORTS" | "RESOURCE:PORTS_UDP" => "is already using a port required by your task".to_owned(),
        other => format!("encountered error \"{other}\""),
    };
    format!(
        "{head} The closest matching (container-instance {instance}) {what}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    )
}
