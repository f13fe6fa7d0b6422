//! The service scheduler's decisions, as a pure function of one service, its tasks and the cluster's instances:
//! which tasks to stop, how many to start (or on which instances, for DAEMON), and how the service's counts,
//! deployments, circuit breaker and events change. `controllers::services` reads the inputs from the store and
//! carries the plan out; everything here is testable without a store.
//!
//! The rules are ECS's (inventory section 4.5): the PRIMARY deployment is brought to the desired count while all
//! tasks (RUNNING and PENDING) stay within floor(desired x maximumPercent / 100) and healthy tasks never drop below
//! ceil(desired x minimumHealthyPercent / 100) by the scheduler's own stops; tasks of older deployments, of
//! DRAINING instances and UNHEALTHY ones are replaced within those bounds.

use std::collections::BTreeMap;

use berth_model::service::AzRebalancing;
use berth_model::task::{TaskStatus, stop_code};
use berth_scheduler::{BinpackField, SpreadField, Strategy};

use super::rebalance;
use crate::ops::services::{StoredService, Throttle};

/// A task of the service, as the planner needs it.
#[derive(Debug, Clone)]
pub struct TaskView {
    pub id: String,
    /// `startedBy`: the deployment that started it.
    pub deployment: String,
    pub instance: Option<String>,
    pub status: Option<TaskStatus>,
    pub desired_running: bool,
    pub started_at: Option<f64>,
    pub health: Option<String>,
    pub stop_code: Option<String>,
}

impl TaskView {
    /// Still wanted: desired RUNNING and not stopped.
    pub fn live(&self) -> bool {
        self.desired_running && self.status.is_some_and(|s| s < TaskStatus::Stopping)
    }

    pub fn running(&self) -> bool {
        self.status == Some(TaskStatus::Running)
    }

    fn stopped(&self) -> bool {
        self.status == Some(TaskStatus::Stopped)
    }

    /// Not yet STOPPED, wanted or not: its containers may still run (a stop takes up to the stop timeout).
    fn lingering(&self) -> bool {
        self.status.is_some_and(|s| s < TaskStatus::Stopped)
    }

    /// RUNNING, or being stopped with its containers still up: what `runningCount` shows until the task has
    /// stopped, as ECS counts a task it is stopping until its agent reports it stopped.
    fn up(&self) -> bool {
        self.status.is_some_and(|s| (TaskStatus::Running..TaskStatus::Stopped).contains(&s))
    }
}

/// A container instance of the cluster.
#[derive(Debug, Clone, Default)]
pub struct HostView {
    pub arn: String,
    /// Status ACTIVE (not DRAINING or INACTIVE).
    pub active: bool,
    /// ACTIVE, agent connected and meeting the service's constraints: a DAEMON service runs one task here.
    pub daemon_eligible: bool,
    pub attributes: BTreeMap<String, String>,
    pub remaining_cpu: i64,
    pub remaining_memory: i64,
}

/// What the planner is told besides the service, its tasks and the hosts.
pub struct Inputs<'a> {
    pub now: f64,
    /// Deployment ids whose task definition has a health check on an essential container.
    pub health_checked: &'a dyn Fn(&str) -> bool,
    /// How scale-in picks victims: the service's placement strategies, or ECS's service default.
    pub strategies: &'a [Strategy],
}

/// Where new tasks of the PRIMARY deployment go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Count(usize),
    On(Vec<String>),
    /// `count` tasks on instances of one availability zone (AZ rebalancing).
    InZone {
        zone: String,
        count: usize,
    },
}

/// A task to stop, with ECS's stop reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub id: String,
    pub reason: String,
}

/// What one pass decided.
#[derive(Debug, Default)]
pub struct Plan {
    pub stops: Vec<Stop>,
    pub start: Option<Start>,
    /// New event messages, oldest first.
    pub events: Vec<String>,
}

/// The stop reason of tasks replaced for failing their health checks.
pub const HEALTH_REASON: &str = "Task failed container health checks";

/// A task without a health check must stay RUNNING this long before its deployment can complete or it resets the
/// circuit breaker's count, so a revision whose containers start and crash at once is caught by the breaker
/// instead of being declared done (Docker Swarm's update monitor serves the same purpose, 5 s by default).
pub const SETTLE_SECONDS: f64 = 5.0;

/// Launch back-off for tasks that stop before reaching RUNNING, by failures in a row: the first is retried after a
/// second; from the second ([`THROTTLE_FROM`]) launches are throttled, 5 s doubling up to 15 minutes. Tasks launched
/// together fail together, so the pause after the first failure lets the rest of a batch report before more are
/// launched; throttling then begins before the circuit breaker (at least three failures) can trip, and, as on ECS,
/// "unable to consistently start tasks" is said while the failing deployment is still PRIMARY, which is what
/// deploy tools such as ecs-deploy watch for.
fn backoff_seconds(failures: u32) -> f64 {
    match failures {
        0 => 0.0,
        1 => 1.0,
        n => (5.0 * 2f64.powi((n - THROTTLE_FROM).min(10) as i32)).min(900.0),
    }
}

/// Failures in a row from which launches are throttled and the service says so.
const THROTTLE_FROM: u32 = 2;

/// Decides one pass for `stored` and updates it (counts, deployments, breaker, events bookkeeping).
pub fn plan(stored: &mut StoredService, tasks: &[TaskView], hosts: &[HostView], inputs: &Inputs) -> Plan {
    let mut plan = Plan::default();
    if stored.service.deployments.is_empty() {
        return plan;
    }
    let name = stored.service.service_name.clone();
    let now = inputs.now;
    let healthy = |t: &TaskView| {
        t.running() && (!(inputs.health_checked)(&t.deployment) || t.health.as_deref() == Some("HEALTHY"))
    };

    account_stopped(stored, tasks, inputs, &mut plan);

    // Tasks whose containers failed their health checks after the grace period are replaced.
    let grace = stored.service.health_check_grace_period_seconds.unwrap_or(0) as f64;
    let mut stopping: Vec<String> = Vec::new();
    for t in tasks.iter().filter(|t| t.live() && t.running()) {
        let unhealthy = (inputs.health_checked)(&t.deployment) && t.health.as_deref() == Some("UNHEALTHY");
        if unhealthy && t.started_at.is_none_or(|s| now - s >= grace) {
            plan.events.push(format!("(service {name}) (task {}) failed container health checks.", t.id));
            plan.stops.push(Stop { id: t.id.clone(), reason: HEALTH_REASON.into() });
            stopping.push(t.id.clone());
            count_failure(stored, &t.deployment, &t.id, "health checks");
        }
    }

    trip_breaker(stored, &mut plan, now);

    let live: Vec<&TaskView> = tasks.iter().filter(|t| t.live() && !stopping.contains(&t.id)).collect();
    let draining_service = stored.service.status != "ACTIVE";
    if stored.service.is_daemon() && !draining_service {
        plan_daemon(stored, &live, hosts, &healthy, inputs, &mut plan);
    } else {
        plan_replica(stored, &live, hosts, &healthy, inputs, &mut plan);
    }
    let stopped_now: Vec<String> = plan.stops.iter().map(|s| s.id.clone()).collect();
    let remaining: Vec<&TaskView> = live.iter().copied().filter(|t| !stopped_now.contains(&t.id)).collect();
    let scheduled: Vec<&Stop> =
        plan.stops.iter().filter(|s| s.reason != HEALTH_REASON && s.reason != rebalance::REASON).collect();
    if !scheduled.is_empty() {
        let names: Vec<String> = scheduled.iter().map(|s| format!("(task {})", s.id)).collect();
        plan.events.push(format!(
            "(service {name}) has stopped {} running tasks: {}.",
            scheduled.len(),
            names.join(" ")
        ));
    }
    // Health-checked tasks are settled once HEALTHY; others once they have run for a while.
    let settled = |t: &TaskView| {
        (inputs.health_checked)(&t.deployment) || t.started_at.is_some_and(|s| now - s >= SETTLE_SECONDS)
    };
    settle(stored, tasks, &remaining, &healthy, &settled, &mut plan, now);
    plan
}

/// Counts failures of tasks that stopped since the last pass, and notes tasks that turned healthy.
fn account_stopped(stored: &mut StoredService, tasks: &[TaskView], inputs: &Inputs, plan: &mut Plan) {
    let name = stored.service.service_name.clone();
    let now = inputs.now;
    let primary = stored.service.deployments[0].id.clone();
    for t in tasks {
        if t.stopped() {
            let never_ran = t.started_at.is_none();
            let scheduler_stop = t.stop_code.as_deref() == Some(stop_code::SERVICE_SCHEDULER_INITIATED);
            let user_stop = t.stop_code.as_deref() == Some(stop_code::USER_INITIATED);
            let crashed = t.stop_code.as_deref() == Some(stop_code::ESSENTIAL_CONTAINER_EXITED);
            let in_progress =
                stored.service.deployments.iter().any(|d| d.id == t.deployment && d.rollout_state == "IN_PROGRESS");
            let failed = !scheduler_stop && !user_stop && (never_ran || (crashed && in_progress));
            let Some(record) = stored.record_mut(&t.deployment) else { continue };
            if !record.seen.insert(t.id.clone()) || !failed {
                continue;
            }
            count_failure(stored, &t.deployment.clone(), &t.id, "to start");
            if never_ran {
                let throttle = &mut stored.state.throttle;
                throttle.failures += 1;
                // Said when throttling begins, and again when it resumes after launches were let through.
                let throttling = throttle.failures >= THROTTLE_FROM;
                if throttling && (throttle.failures == THROTTLE_FROM || throttle.until <= now) {
                    plan.events.push(format!("(service {name}) is unable to consistently start tasks successfully."));
                }
                throttle.until = throttle.until.max(now + backoff_seconds(throttle.failures));
            }
        } else if t.deployment == primary && t.running() {
            let health_checked = (inputs.health_checked)(&t.deployment);
            let turned_healthy = if health_checked {
                t.health.as_deref() == Some("HEALTHY")
            } else {
                t.started_at.is_some_and(|s| now - s >= SETTLE_SECONDS)
            };
            let reset = stored.service.deployment_configuration.reset_on_healthy_task();
            let Some(record) = stored.record_mut(&primary) else { continue };
            if turned_healthy && record.healthy.insert(t.id.clone()) {
                if reset {
                    record.failure_count = 0;
                }
                stored.state.throttle = Throttle::default();
            }
        }
    }
    // Forget tasks the reaper has removed, so the bookkeeping stays as small as the task history.
    let known: std::collections::BTreeSet<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    for r in &mut stored.state.history {
        r.failed.retain(|id| known.contains(id.as_str()));
        r.healthy.retain(|id| known.contains(id.as_str()));
        r.seen.retain(|id| known.contains(id.as_str()));
    }
}

fn count_failure(stored: &mut StoredService, deployment: &str, task: &str, kind: &str) {
    let Some(record) = stored.record_mut(deployment) else { return };
    if !record.failed.insert(task.to_owned()) {
        return;
    }
    record.failure_count += 1;
    record.last_failure = Some(kind.to_owned());
}

/// Trips the circuit breaker of the PRIMARY deployment when its failures reach the threshold; with rollback, a
/// deployment of the last completed task definition takes over.
fn trip_breaker(stored: &mut StoredService, plan: &mut Plan, now: f64) {
    let config = stored.service.deployment_configuration.clone();
    let primary = stored.service.deployments[0].clone();
    if !config.breaker_enabled() || primary.rollout_state != "IN_PROGRESS" {
        return;
    }
    let threshold = config.failure_threshold(stored.service.desired_count);
    let failures = stored.record(&primary.id).map_or(0, |r| r.failure_count);
    if failures < threshold {
        return;
    }
    let name = stored.service.service_name.clone();
    let kind = stored.record(&primary.id).and_then(|r| r.last_failure.clone()).unwrap_or_else(|| "to start".into());
    let reason = format!("ECS deployment circuit breaker: tasks failed {kind}.");
    plan.events.push(format!("(service {name}) (deployment {}) deployment failed: tasks failed {kind}.", primary.id));
    let target = if config.rollback_enabled() {
        stored
            .state
            .history
            .iter()
            .find(|r| r.id != primary.id && r.status == "SUCCESSFUL")
            .map(|r| (r.id.clone(), r.task_definition.clone()))
    } else {
        None
    };
    {
        let d = &mut stored.service.deployments[0];
        d.rollout_state = "FAILED".into();
        d.rollout_state_reason = match &target {
            Some(_) => format!("{reason} Rolling back to the last completed deployment."),
            None => reason.clone(),
        };
        d.updated_at = now;
    }
    if let Some(record) = stored.record_mut(&primary.id) {
        record.updated_at = now;
        record.threshold = threshold;
        if target.is_some() {
            record.status = "ROLLBACK_IN_PROGRESS".into();
        } else {
            record.status = "STOPPED".into();
            record.stopped_at = Some(now);
        }
        record.status_reason = Some(reason.clone());
    }
    if let Some((restored, td)) = target {
        let id = stored.start_deployment(&td, now, Some(&primary.id));
        let revision = id.clone();
        if let Some(failed) = stored.record_mut(&primary.id) {
            failed.rollback = Some(berth_model::service::Rollback {
                reason: reason.clone(),
                started_at: now,
                // The deployment id; the API edge turns it into the service revision's ARN.
                service_revision_arn: revision,
            });
        }
        plan.events.push(format!("(service {name}) rolling back to deployment {restored}."));
    }
}

/// REPLICA (and any service being deleted): desired count, rolling replacement, draining, scale-in.
fn plan_replica(
    stored: &mut StoredService,
    live: &[&TaskView],
    hosts: &[HostView],
    healthy: &dyn Fn(&TaskView) -> bool,
    inputs: &Inputs,
    plan: &mut Plan,
) {
    let service = &stored.service;
    let primary = &service.deployments[0];
    let desired = if service.status == "ACTIVE" { service.desired_count } else { 0 };
    let config = service.deployment_configuration.clone();
    let max_total = config.max_tasks(desired);
    let min_healthy = config.min_healthy(desired);
    let accepts = |t: &TaskView| {
        t.instance.as_deref().is_none_or(|arn| hosts.iter().find(|h| h.arn == arn).is_none_or(|h| h.active))
    };
    let (mut keep, outgoing): (Vec<&TaskView>, Vec<&TaskView>) =
        live.iter().copied().partition(|t| t.deployment == primary.id && accepts(t));
    let mut live_count = live.len() as i64;
    let mut healthy_count = live.iter().filter(|t| healthy(t)).count() as i64;
    let failed = primary.rollout_state == "FAILED";
    let throttled = stored.state.throttle.until > inputs.now;

    let bounds = Bounds { desired, max_total, min_healthy };
    let steer = if !outgoing.is_empty() {
        // A deployment or a draining instance moves tasks first; a rebalance starts afresh once it is over.
        stored.state.rebalancing = false;
        Steer::default()
    } else if throttled {
        // Tasks keep failing to start: a rebalance waits with every other launch.
        Steer::default()
    } else {
        rebalance_zones(stored, &mut keep, hosts, healthy, bounds, (&mut live_count, &mut healthy_count), plan)
    };
    let service = &stored.service;
    let primary = &service.deployments[0];
    let scale_reason = format!("Scaling activity initiated by (deployment {})", primary.id);

    // Scale-in: surplus PRIMARY tasks go, those not yet running first, then as the strategies dictate.
    if keep.len() as i64 > desired && !steer.hold_scale_in {
        let surplus = keep.len() - desired.max(0) as usize;
        for victim in victims(&keep, surplus, hosts, inputs.strategies, healthy) {
            plan.stops.push(Stop { id: victim.clone(), reason: scale_reason.clone() });
            if let Some(t) = keep.iter().find(|t| t.id == victim) {
                healthy_count -= i64::from(healthy(t));
            }
            live_count -= 1;
            keep.retain(|t| t.id != victim);
        }
    }

    // Starts: the PRIMARY's shortfall, within maximumPercent; none while it has failed or launches back off.
    let want = (desired - keep.len() as i64).max(0);
    let room = (max_total - live_count).max(0);
    let start = if failed || throttled { 0 } else { want.min(room) };
    if start > 0 {
        plan.start = Some(match steer.zone {
            Some(zone) => Start::InZone { zone, count: start as usize },
            None => Start::Count(start as usize),
        });
    }

    // Outgoing tasks (older deployments, DRAINING instances): those not healthy go at once; healthy ones while
    // minimumHealthyPercent allows.
    let mut ordered: Vec<&TaskView> = outgoing.iter().copied().filter(|t| !healthy(t)).collect();
    let healthy_outgoing: Vec<&TaskView> = outgoing.iter().copied().filter(|t| healthy(t)).collect();
    for id in victims(&healthy_outgoing, healthy_outgoing.len(), hosts, inputs.strategies, healthy) {
        if let Some(t) = healthy_outgoing.iter().find(|t| t.id == id) {
            ordered.push(t);
        }
    }
    for t in ordered {
        if healthy(t) {
            // A failed deployment keeps the old tasks it could not replace, but no more than the desired count (a
            // service scaled to zero or deleted stops them all).
            if (failed && healthy_count <= desired) || healthy_count - 1 < min_healthy {
                break;
            }
            healthy_count -= 1;
        }
        plan.stops.push(Stop { id: t.id.clone(), reason: scale_reason.clone() });
    }
    if want > 0 && start == 0 && !failed && !throttled && plan.stops.is_empty() && room == 0 {
        plan.events.push(format!(
            "(service {}) is unable to make progress: its deployment configuration (minimumHealthyPercent {}, maximumPercent {}) allows no task to be started or stopped.",
            service.service_name,
            config.minimum_healthy_percent.unwrap_or(100),
            config.maximum_percent.unwrap_or(200)
        ));
    }
}

/// The deployment bounds of a REPLICA pass.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    desired: i64,
    /// floor(desired x maximumPercent / 100): RUNNING and PENDING tasks at most.
    max_total: i64,
    /// ceil(desired x minimumHealthyPercent / 100): healthy tasks at least.
    min_healthy: i64,
}

/// What AZ rebalancing asks of the rest of a REPLICA pass.
#[derive(Debug, Default)]
struct Steer {
    /// New tasks go to this zone.
    zone: Option<String>,
    /// The surplus above the desired count is rebalancing's own: the usual scale-in leaves it alone.
    hold_scale_in: bool,
}

/// AZ rebalancing's part of a REPLICA pass (see [`rebalance`]): begins once a steady service's PRIMARY tasks are
/// unevenly spread, starts tasks in the emptiest zone within `maximumPercent`, stops the surplus in the fullest
/// zones once every task is healthy (or stops first within `minimumHealthyPercent` when there is no room), and ends
/// when the zones are even. `keep` and the counts lose the tasks it stops.
fn rebalance_zones<'t>(
    stored: &mut StoredService,
    keep: &mut Vec<&'t TaskView>,
    hosts: &[HostView],
    healthy: &dyn Fn(&TaskView) -> bool,
    bounds: Bounds,
    (live_count, healthy_count): (&mut i64, &mut i64),
    plan: &mut Plan,
) -> Steer {
    let service = &stored.service;
    let enabled = service.availability_zone_rebalancing == AzRebalancing::Enabled
        && service.status == "ACTIVE"
        && !service.is_daemon()
        && service.deployments[0].rollout_state == "COMPLETED";
    if !enabled {
        stored.state.rebalancing = false;
        return Steer::default();
    }
    let name = service.service_name.clone();
    let Some(zones) = rebalance::Zones::of(keep, hosts) else { return Steer::default() };
    let desired = bounds.desired.max(0) as usize;
    let all_healthy = keep.iter().all(|t| healthy(t));
    let room = (bounds.max_total - *live_count).max(0) as usize;
    let can_stop_first = *healthy_count > bounds.min_healthy;
    if !stored.state.rebalancing {
        // ECS watches a service's spread once it is steady.
        if !stored.state.steady || keep.len() != desired || zones.balanced() {
            return Steer::default();
        }
        if room == 0 && !can_stop_first {
            let c = &service.deployment_configuration;
            plan.events.push(format!(
                "(service {name}) is unable to rebalance across Availability Zones: its deployment configuration (minimumHealthyPercent {}, maximumPercent {}) allows no task to be started or stopped.",
                c.minimum_healthy_percent.unwrap_or(100),
                c.maximum_percent.unwrap_or(200)
            ));
            return Steer::default();
        }
        plan.events.push(rebalance::started_event(&name, &zones));
        stored.state.rebalancing = true;
    }
    let stop = |taken: Vec<(String, String)>, keep: &mut Vec<&TaskView>, plan: &mut Plan| {
        let mut by_zone: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, zone) in taken {
            keep.retain(|t| t.id != id);
            plan.stops.push(Stop { id: id.clone(), reason: rebalance::REASON.into() });
            by_zone.entry(zone).or_default().push(id);
        }
        for (zone, ids) in by_zone {
            plan.events.push(rebalance::stopped_event(&name, &zone, &ids));
        }
    };
    if keep.len() > desired {
        // The tasks started in the emptiest zone are up once every task is healthy; then the surplus goes from
        // the fullest zones.
        if all_healthy {
            let taken = zones.take_from_fullest(keep.len() - desired, healthy);
            *live_count -= taken.len() as i64;
            *healthy_count -= taken.len() as i64;
            stop(taken, keep, plan);
        }
        return Steer { zone: None, hold_scale_in: true };
    }
    if keep.len() < desired || !all_healthy {
        return Steer { zone: Some(zones.emptiest().to_owned()), hold_scale_in: false };
    }
    if zones.balanced() {
        plan.events.push(rebalance::completed_event(&name, &zones));
        stored.state.rebalancing = false;
        return Steer::default();
    }
    if room > 0 {
        let count = room.min(zones.deficit(desired));
        plan.start = Some(Start::InZone { zone: zones.emptiest().to_owned(), count });
        return Steer { zone: None, hold_scale_in: true };
    }
    if can_stop_first {
        // No room above the desired count: one task leaves the fullest zone and its replacement starts in the
        // emptiest one in this same pass.
        let taken = zones.take_from_fullest(1, healthy);
        *live_count -= taken.len() as i64;
        *healthy_count -= taken.len() as i64;
        stop(taken, keep, plan);
    }
    Steer { zone: Some(zones.emptiest().to_owned()), hold_scale_in: false }
}

/// DAEMON: one PRIMARY task on each eligible instance; none elsewhere.
fn plan_daemon(
    stored: &mut StoredService,
    live: &[&TaskView],
    hosts: &[HostView],
    healthy: &dyn Fn(&TaskView) -> bool,
    inputs: &Inputs,
    plan: &mut Plan,
) {
    let eligible: Vec<&HostView> = hosts.iter().filter(|h| h.daemon_eligible).collect();
    let desired = eligible.len() as i64;
    stored.service.desired_count = desired;
    stored.service.deployments[0].desired_count = desired;
    let service = &stored.service;
    let primary = &service.deployments[0];
    let reason = format!("Scaling activity initiated by (deployment {})", primary.id);
    let min_healthy = service.deployment_configuration.min_healthy(desired);
    let mut healthy_count = live.iter().filter(|t| healthy(t)).count() as i64;
    let failed = primary.rollout_state == "FAILED";
    let throttled = stored.state.throttle.until > inputs.now;
    let mut place_on = Vec::new();
    for host in &eligible {
        let here: Vec<&TaskView> = live.iter().copied().filter(|t| t.instance.as_deref() == Some(&host.arn)).collect();
        let (mine, old): (Vec<&TaskView>, Vec<&TaskView>) = here.into_iter().partition(|t| t.deployment == primary.id);
        for extra in mine.iter().skip(1) {
            plan.stops.push(Stop { id: extra.id.clone(), reason: reason.clone() });
        }
        if !mine.is_empty() {
            for t in old {
                plan.stops.push(Stop { id: t.id.clone(), reason: reason.clone() });
            }
            continue;
        }
        if failed {
            continue;
        }
        match old.first() {
            // The old task frees its resources first (maximumPercent is 100 for DAEMON).
            Some(t) if !healthy(t) || healthy_count > min_healthy => {
                healthy_count -= i64::from(healthy(t));
                for t in &old {
                    plan.stops.push(Stop { id: t.id.clone(), reason: reason.clone() });
                }
            }
            Some(_) => {}
            None if !throttled => place_on.push(host.arn.clone()),
            None => {}
        }
    }
    for t in live {
        let on_eligible = t.instance.as_deref().is_some_and(|arn| eligible.iter().any(|h| h.arn == arn));
        if !on_eligible {
            plan.stops.push(Stop { id: t.id.clone(), reason: reason.clone() });
        }
    }
    if !place_on.is_empty() {
        plan.start = Some(Start::On(place_on));
    }
}

/// Picks `n` tasks to stop: those not yet healthy first, then from the most crowded value of the first spread
/// field (or the least packed instance for binpack), later strategies breaking ties.
fn victims(
    tasks: &[&TaskView],
    n: usize,
    hosts: &[HostView],
    strategies: &[Strategy],
    healthy: &dyn Fn(&TaskView) -> bool,
) -> Vec<String> {
    let host = |t: &TaskView| t.instance.as_deref().and_then(|arn| hosts.iter().find(|h| h.arn == arn));
    let value = |t: &TaskView, field: &SpreadField| -> String {
        match field {
            SpreadField::Instance => t.instance.clone().unwrap_or_default(),
            SpreadField::Attribute(a) => host(t).and_then(|h| h.attributes.get(a).cloned()).unwrap_or_default(),
        }
    };
    let mut pool: Vec<&TaskView> = tasks.to_vec();
    let mut chosen = Vec::new();
    while chosen.len() < n && !pool.is_empty() {
        let key = |t: &TaskView| -> Vec<i64> {
            let mut k = vec![i64::from(!healthy(t))];
            for s in strategies {
                k.push(match s {
                    Strategy::Spread(field) => {
                        let v = value(t, field);
                        pool.iter().filter(|o| value(o, field) == v).count() as i64
                    }
                    Strategy::Binpack(BinpackField::Cpu) => host(t).map(|h| h.remaining_cpu).unwrap_or(0),
                    Strategy::Binpack(BinpackField::Memory) => host(t).map(|h| h.remaining_memory).unwrap_or(0),
                    Strategy::Random => 0,
                });
            }
            k
        };
        let Some(best) = pool.iter().enumerate().max_by(|(_, a), (_, b)| key(a).cmp(&key(b)).then(b.id.cmp(&a.id)))
        else {
            break;
        };
        let index = best.0;
        chosen.push(pool.remove(index).id.clone());
    }
    chosen
}

/// Counts, old deployments that have drained, completion and the steady state.
///
/// `remaining` are the tasks still wanted after this pass; `tasks` are all of the service's tasks. A task counts
/// toward its deployment until it has STOPPED, not only while it is wanted: a replaced deployment stays listed
/// (ACTIVE, with the tasks still stopping in its `runningCount`) until its last task has stopped, as ECS keeps it,
/// so that `aws ecs wait services-stable` (one deployment, running = desired) waits for old tasks that take their
/// whole stop timeout. For the same reason a rollout completes, and a service is steady, only once they are gone.
fn settle(
    stored: &mut StoredService,
    tasks: &[TaskView],
    remaining: &[&TaskView],
    healthy: &dyn Fn(&TaskView) -> bool,
    settled: &dyn Fn(&TaskView) -> bool,
    plan: &mut Plan,
    now: f64,
) {
    let name = stored.service.service_name.clone();
    let starting = match &plan.start {
        Some(Start::Count(n) | Start::InZone { count: n, .. }) => *n,
        Some(Start::On(hosts)) => hosts.len(),
        None => 0,
    };
    let primary_id = stored.service.deployments[0].id.clone();
    // The deployment history keeps the failure count; each listed deployment shows it.
    let failures: BTreeMap<String, i64> =
        stored.state.history.iter().map(|r| (r.id.clone(), r.failure_count)).collect();
    let lingering = |deployment: &str| tasks.iter().any(|t| t.deployment == deployment && t.lingering());
    for d in &mut stored.service.deployments {
        set_if_changed(&mut d.failed_tasks, failures.get(&d.id).copied().unwrap_or(0), &mut d.updated_at, now);
        let wanted: Vec<&&TaskView> = remaining.iter().filter(|t| t.deployment == d.id).collect();
        let running = tasks.iter().filter(|t| t.deployment == d.id && t.up()).count() as i64;
        let pending = wanted.iter().filter(|t| !t.up()).count() as i64;
        set_if_changed(&mut d.running_count, running, &mut d.updated_at, now);
        set_if_changed(&mut d.pending_count, pending, &mut d.updated_at, now);
        if d.id != primary_id {
            set_if_changed(&mut d.desired_count, wanted.len() as i64, &mut d.updated_at, now);
        }
    }
    // Older deployments leave the list once their last task has stopped; a FAILED one stays beside its rollback
    // until that completes, so clients see why the service is rolling back.
    let rolling_back = stored.service.deployments[0].rollout_state == "IN_PROGRESS";
    let drained: Vec<String> = stored
        .service
        .deployments
        .iter()
        .skip(1)
        .filter(|d| !lingering(&d.id))
        .filter(|d| !(rolling_back && d.rollout_state == "FAILED"))
        .map(|d| d.id.clone())
        .collect();
    stored.service.deployments.retain(|d| !drained.contains(&d.id));
    for id in &drained {
        if let Some(r) = stored.record_mut(id) {
            r.updated_at = now;
            if r.status == "IN_PROGRESS" {
                r.status = "STOPPED".into();
                r.stopped_at = Some(now);
            }
        }
    }
    let service = &mut stored.service;
    service.running_count = service.deployments.iter().map(|d| d.running_count).sum();
    service.pending_count = service.deployments.iter().map(|d| d.pending_count).sum();
    let primary = &service.deployments[0];
    let primary_tasks: Vec<&&TaskView> = remaining.iter().filter(|t| t.deployment == primary.id).collect();
    let all_settled = primary_tasks.iter().all(|t| healthy(t) && settled(t));
    let others_drained = service.deployments.iter().skip(1).all(|d| !lingering(&d.id))
        && tasks.iter().all(|t| t.deployment == primary.id || !t.lingering());
    let converged = others_drained
        && primary_tasks.len() as i64 == service.desired_count
        && all_settled
        && starting == 0
        && plan.stops.is_empty();
    if service.status != "ACTIVE" {
        // ECS turns a deleted service INACTIVE once all its tasks are STOPPING or STOPPED.
        let all_stopping = tasks.iter().all(|t| t.status.is_none_or(|s| s >= TaskStatus::Stopping));
        if remaining.is_empty() && all_stopping {
            service.status = "INACTIVE".into();
            service.running_count = 0;
            service.pending_count = 0;
        }
        stored.state.steady = false;
        return;
    }
    if converged && primary.rollout_state == "IN_PROGRESS" {
        let id = primary.id.clone();
        let d = &mut service.deployments[0];
        d.rollout_state = "COMPLETED".into();
        d.rollout_state_reason = format!("ECS deployment {id} completed.");
        d.updated_at = now;
        plan.events.push(format!("(service {name}) (deployment {id}) deployment completed."));
        // Whatever failed before this deployment has nothing left to show.
        service.deployments.truncate(1);
        let rollback_of = stored.record(&id).and_then(|r| r.rollback_of.clone());
        if let Some(r) = stored.record_mut(&id) {
            r.status = "SUCCESSFUL".into();
            r.finished_at = Some(now);
            r.updated_at = now;
        }
        if let Some(failed) = rollback_of.and_then(|f| stored.record_mut(&f).map(|r| r.id.clone()))
            && let Some(r) = stored.record_mut(&failed)
        {
            r.status = "ROLLBACK_SUCCESSFUL".into();
            r.finished_at = Some(now);
            r.updated_at = now;
        }
    }
    let service = &stored.service;
    let steady = converged && service.pending_count == 0 && service.running_count == service.desired_count;
    if steady && !stored.state.steady {
        plan.events.push(format!("(service {name}) has reached a steady state."));
    }
    stored.state.steady = steady;
}

fn set_if_changed(field: &mut i64, value: i64, updated_at: &mut f64, now: f64) {
    if *field != value {
        *field = value;
        *updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use berth_model::service::{DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentController, Service};

    use super::*;
    use crate::ops::services::ServiceState;

    fn service(desired: i64, min: i64, max: i64, breaker: bool) -> StoredService {
        let mut stored = StoredService {
            service: Service {
                service_arn: "arn:aws:ecs:us-east-1:0:service/default/web".into(),
                service_name: "web".into(),
                cluster_arn: "arn:aws:ecs:us-east-1:0:cluster/default".into(),
                status: "ACTIVE".into(),
                desired_count: desired,
                running_count: 0,
                pending_count: 0,
                launch_type: "EC2".into(),
                task_definition: String::new(),
                deployment_configuration: DeploymentConfiguration {
                    minimum_healthy_percent: Some(min),
                    maximum_percent: Some(max),
                    deployment_circuit_breaker: Some(DeploymentCircuitBreaker {
                        enable: breaker,
                        rollback: breaker,
                        reset_on_healthy_task: None,
                        threshold_configuration: None,
                    }),
                    ..Default::default()
                },
                deployments: vec![],
                events: vec![],
                created_at: 0.0,
                created_by: None,
                placement_constraints: vec![],
                placement_strategy: vec![],
                health_check_grace_period_seconds: None,
                scheduling_strategy: "REPLICA".into(),
                deployment_controller: DeploymentController { kind: "ECS".into() },
                tags: None,
                enable_ecs_managed_tags: false,
                propagate_tags: "NONE".into(),
                enable_execute_command: false,
                network_configuration: None,
                current_service_deployment: None,
                load_balancers: vec![],
                service_registries: vec![],
                availability_zone_rebalancing: AzRebalancing::Disabled,
            },
            state: ServiceState::default(),
        };
        stored.start_deployment("td:1", 0.0, None);
        stored
    }

    fn hosts(n: usize) -> Vec<HostView> {
        (0..n)
            .map(|i| HostView {
                arn: format!("host-{i}"),
                active: true,
                daemon_eligible: true,
                remaining_cpu: 1000,
                remaining_memory: 1000,
                ..Default::default()
            })
            .collect()
    }

    /// A toy cluster: tasks start PENDING and turn RUNNING on the next step (or fail, for bad definitions).
    struct Sim {
        stored: StoredService,
        tasks: Vec<TaskView>,
        hosts: Vec<HostView>,
        now: f64,
        next_id: usize,
        /// Task definitions whose tasks never reach RUNNING.
        broken: Vec<String>,
        /// Task definitions whose containers exit a second after they start.
        crashing: Vec<String>,
        /// Steps a stopped task takes to reach STOPPED (its stop timeout); 0 stops it at once.
        stop_steps: u32,
        /// Tasks being stopped, and the steps they have left.
        stopping: BTreeMap<String, u32>,
    }

    impl Sim {
        fn new(stored: StoredService, hosts: Vec<HostView>) -> Sim {
            Sim {
                stored,
                tasks: vec![],
                hosts,
                now: 100.0,
                next_id: 0,
                broken: vec![],
                crashing: vec![],
                stop_steps: 0,
                stopping: BTreeMap::new(),
            }
        }

        /// One controller pass; returns the plan after applying it.
        fn pass(&mut self) -> Plan {
            let inputs = Inputs { now: self.now, health_checked: &|_| false, strategies: &[] };
            let plan = plan(&mut self.stored, &self.tasks, &self.hosts, &inputs);
            for (i, message) in plan.events.iter().enumerate() {
                self.stored.service.push_event(format!("{}-{i}", self.now), self.now, message.clone());
            }
            for stop in &plan.stops {
                let t = self.tasks.iter_mut().find(|t| t.id == stop.id).expect("stop of a known task");
                t.desired_running = false;
                t.stop_code = Some(stop_code::SERVICE_SCHEDULER_INITIATED.into());
                if self.stop_steps == 0 {
                    t.status = Some(TaskStatus::Stopped);
                } else {
                    // As StopTask does: a RUNNING task is STOPPING until its agent reports it stopped.
                    t.status = t.status.map(|s| s.max(TaskStatus::Stopping));
                    self.stopping.insert(t.id.clone(), self.stop_steps);
                }
            }
            let primary = self.stored.service.deployments[0].id.clone();
            // Placement: round robin over the instances that can take tasks (in the zone, when one is named).
            let round_robin = |zone: Option<&str>, n: usize| -> Vec<Option<String>> {
                let open: Vec<&HostView> = self
                    .hosts
                    .iter()
                    .filter(|h| h.active && h.daemon_eligible)
                    .filter(|h| {
                        zone.is_none_or(|z| h.attributes.get(rebalance::ZONE_ATTRIBUTE).map(String::as_str) == Some(z))
                    })
                    .collect();
                (0..n)
                    .filter(|_| !open.is_empty())
                    .map(|i| Some(open[(self.next_id + i) % open.len()].arn.clone()))
                    .collect()
            };
            let targets: Vec<Option<String>> = match &plan.start {
                Some(Start::Count(n)) => round_robin(None, *n),
                Some(Start::InZone { zone, count }) => round_robin(Some(zone), *count),
                Some(Start::On(h)) => h.iter().cloned().map(Some).collect(),
                None => vec![],
            };
            for instance in targets {
                self.next_id += 1;
                self.tasks.push(TaskView {
                    id: format!("t{:03}", self.next_id),
                    deployment: primary.clone(),
                    instance,
                    status: Some(TaskStatus::Pending),
                    desired_running: true,
                    started_at: None,
                    health: None,
                    stop_code: None,
                });
            }
            plan
        }

        /// Time passes: pending tasks start (or fail to).
        fn advance(&mut self) {
            self.now += 1.0;
            for (id, left) in &mut self.stopping {
                *left -= 1;
                if *left == 0
                    && let Some(t) = self.tasks.iter_mut().find(|t| &t.id == id)
                {
                    t.status = Some(TaskStatus::Stopped);
                }
            }
            self.stopping.retain(|_, left| *left > 0);
            let definition_of = |s: &StoredService, d: &str| {
                s.service.deployments.iter().find(|x| x.id == d).map(|x| x.task_definition.clone())
            };
            for i in 0..self.tasks.len() {
                let td = definition_of(&self.stored, &self.tasks[i].deployment).unwrap_or_default();
                let t = &mut self.tasks[i];
                if t.running() && self.crashing.contains(&td) {
                    t.status = Some(TaskStatus::Stopped);
                    t.desired_running = false;
                    t.stop_code = Some(stop_code::ESSENTIAL_CONTAINER_EXITED.into());
                    continue;
                }
                if t.status != Some(TaskStatus::Pending) {
                    continue;
                }
                if self.broken.contains(&td) {
                    t.status = Some(TaskStatus::Stopped);
                    t.desired_running = false;
                    t.stop_code = Some(stop_code::TASK_FAILED_TO_START.into());
                } else {
                    t.status = Some(TaskStatus::Running);
                    t.started_at = Some(self.now);
                }
            }
        }

        fn live(&self) -> Vec<&TaskView> {
            self.tasks.iter().filter(|t| t.live()).collect()
        }

        fn running_healthy(&self) -> i64 {
            self.live().iter().filter(|t| t.running()).count() as i64
        }

        /// Passes until nothing changes, checking the bounds after every pass.
        fn run_to_rest(&mut self, min_healthy_from_start: bool) {
            let config = self.stored.service.deployment_configuration.clone();
            for _ in 0..200 {
                let healthy_before = self.running_healthy();
                let plan = self.pass();
                // DAEMON services learn their desired count in the pass.
                let desired = self.stored.service.desired_count;
                let live = self.live().len() as i64;
                assert!(live <= config.max_tasks(desired), "{live} tasks exceed maximumPercent");
                if min_healthy_from_start {
                    let floor = config.min_healthy(desired).min(healthy_before);
                    assert!(self.running_healthy() >= floor, "healthy tasks fell below minimumHealthyPercent");
                }
                let rolling = self.stored.service.status == "ACTIVE"
                    && self.stored.service.deployments[0].rollout_state == "IN_PROGRESS";
                if plan.stops.is_empty() && plan.start.is_none() && !rolling && self.live().iter().all(|t| t.running())
                {
                    return;
                }
                self.advance();
            }
            panic!("the service never came to rest");
        }
    }

    #[test]
    fn rolling_updates_stay_within_the_bounds_at_every_step() {
        for (desired, min, max) in [(4, 100, 200), (4, 50, 150), (5, 0, 100), (4, 50, 100), (5, 100, 150), (3, 50, 200)]
        {
            let mut sim = Sim::new(service(desired, min, max, false), hosts(2));
            sim.run_to_rest(false);
            assert_eq!(sim.live().len() as i64, desired);
            assert_eq!(sim.stored.service.deployments[0].rollout_state, "COMPLETED");
            assert!(sim.stored.state.steady);

            let now = sim.now;
            sim.stored.start_deployment("td:2", now, None);
            let new_id = sim.stored.service.deployments[0].id.clone();
            sim.run_to_rest(true);
            let live = sim.live();
            assert_eq!(live.len() as i64, desired, "({min}, {max})");
            assert!(live.iter().all(|t| t.deployment == new_id), "old tasks left behind with ({min}, {max})");
            assert_eq!(sim.stored.service.deployments.len(), 1);
            assert_eq!(sim.stored.service.deployments[0].rollout_state, "COMPLETED");
            assert_eq!(sim.stored.service.running_count, desired);
            let events: Vec<&str> = sim.stored.service.events.iter().map(|e| e.message.as_str()).collect();
            assert!(events.iter().any(|e| e.contains("deployment completed")), "{events:?}");
        }
    }

    #[test]
    fn a_replaced_deployment_stays_listed_until_its_last_task_has_stopped() {
        let mut sim = Sim::new(service(3, 100, 200, false), hosts(2));
        sim.stop_steps = 4;
        sim.run_to_rest(false);
        let old = sim.stored.service.deployments[0].id.clone();
        let now = sim.now;
        let new = sim.stored.start_deployment("td:2", now, None);
        let mut seen_draining_with_running_tasks = false;
        for _ in 0..200 {
            sim.pass();
            let service = &sim.stored.service;
            let old_lingering = sim.tasks.iter().any(|t| t.deployment == old && t.lingering());
            // What `aws ecs wait services-stable` checks.
            let stable = service.deployments.len() == 1 && service.running_count == service.desired_count;
            if old_lingering {
                assert!(!stable, "stable while old tasks are still stopping: {:?}", service.deployments);
                let listed = service.deployments.iter().find(|d| d.id == old).expect("the old deployment is listed");
                assert_eq!(listed.status, "ACTIVE");
                seen_draining_with_running_tasks |= listed.desired_count == 0 && listed.running_count > 0;
                assert_eq!(service.deployments[0].rollout_state, "IN_PROGRESS");
            }
            if stable && service.deployments[0].rollout_state == "COMPLETED" {
                assert!(!old_lingering);
                assert_eq!(service.deployments[0].id, new);
                assert!(seen_draining_with_running_tasks, "never saw the old deployment's tasks stopping");
                return;
            }
            sim.advance();
        }
        panic!("the rollout never completed");
    }

    #[test]
    fn scale_in_is_steady_only_once_the_surplus_tasks_have_stopped() {
        let mut sim = Sim::new(service(4, 100, 200, false), hosts(2));
        sim.stop_steps = 3;
        sim.run_to_rest(false);
        sim.stored.service.desired_count = 2;
        sim.stored.service.deployments[0].desired_count = 2;
        let plan = sim.pass();
        assert_eq!(plan.stops.len(), 2);
        sim.advance();
        sim.pass();
        assert_eq!(sim.stored.service.running_count, 4, "stopping tasks are still up");
        assert!(!sim.stored.state.steady);
        for _ in 0..5 {
            sim.advance();
            sim.pass();
        }
        assert_eq!(sim.stored.service.running_count, 2);
        assert!(sim.stored.state.steady);
    }

    /// Two zones of two hosts each; AZ rebalancing as the service says.
    fn zoned(desired: i64, min: i64, max: i64, rebalancing: AzRebalancing) -> Sim {
        let mut stored = service(desired, min, max, false);
        stored.service.availability_zone_rebalancing = rebalancing;
        let mut hosts = hosts(4);
        for (i, h) in hosts.iter_mut().enumerate() {
            let zone = if i < 2 { "zone-a" } else { "zone-b" };
            h.attributes.insert(rebalance::ZONE_ATTRIBUTE.into(), zone.into());
        }
        Sim::new(stored, hosts)
    }

    fn per_zone(sim: &Sim) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for t in sim.live() {
            let host = sim.hosts.iter().find(|h| Some(h.arn.as_str()) == t.instance.as_deref()).expect("a host");
            *counts.entry(host.attributes[rebalance::ZONE_ATTRIBUTE].clone()).or_default() += 1;
        }
        counts
    }

    /// Zone b's hosts go away; the service runs everything in zone a; they come back.
    fn lose_and_regain_zone_b(sim: &mut Sim) {
        sim.run_to_rest(false);
        for h in &mut sim.hosts[2..] {
            h.daemon_eligible = false;
        }
        for t in &mut sim.tasks {
            if matches!(t.instance.as_deref(), Some("host-2" | "host-3")) {
                t.status = Some(TaskStatus::Stopped);
                t.desired_running = false;
            }
        }
        sim.run_to_rest(false);
        idle(sim, 10);
        assert!(sim.stored.state.steady);
        assert_eq!(per_zone(sim).get("zone-b"), None, "{:?}", per_zone(sim));
        for h in &mut sim.hosts[2..] {
            h.daemon_eligible = true;
        }
    }

    /// Passes while time goes by.
    fn idle(sim: &mut Sim, steps: usize) {
        for _ in 0..steps {
            sim.pass();
            sim.advance();
        }
    }

    #[test]
    fn az_rebalancing_restores_an_even_spread_within_the_deployment_bounds() {
        for (min, max) in [(100, 200), (50, 100), (100, 125)] {
            let mut sim = zoned(4, min, max, AzRebalancing::Enabled);
            lose_and_regain_zone_b(&mut sim);
            assert_eq!(per_zone(&sim)["zone-a"], 4);
            let config = sim.stored.service.deployment_configuration.clone();
            for _ in 0..100 {
                let healthy_before = sim.running_healthy();
                sim.pass();
                let live = sim.live().len() as i64;
                assert!(live <= config.max_tasks(4), "({min}, {max}): {live} tasks exceed maximumPercent");
                assert!(
                    sim.running_healthy() >= config.min_healthy(4).min(healthy_before),
                    "({min}, {max}): healthy tasks fell below minimumHealthyPercent"
                );
                if !sim.stored.state.rebalancing && sim.stored.state.steady && per_zone(&sim).len() == 2 {
                    break;
                }
                sim.advance();
            }
            assert_eq!(per_zone(&sim), BTreeMap::from([("zone-a".into(), 2), ("zone-b".into(), 2)]), "({min}, {max})");
            let events: Vec<&str> = sim.stored.service.events.iter().map(|e| e.message.as_str()).collect();
            assert!(
                events.iter().any(|e| e.contains("is not AZ balanced with 4 tasks in zone-a and 0 tasks in zone-b"))
            );
            assert!(events.iter().any(|e| e.contains("due to AZ rebalancing")), "{events:?}");
            assert!(
                events[0].contains("is AZ balanced with 2 tasks in zone-a and 2 tasks in zone-b")
                    || events.iter().take(3).any(|e| e.contains("is AZ balanced with 2 tasks")),
                "{events:?}"
            );
            assert_eq!(sim.stored.service.deployments.len(), 1);
        }
    }

    #[test]
    fn without_az_rebalancing_or_room_to_move_an_uneven_spread_stays() {
        let mut sim = zoned(4, 100, 200, AzRebalancing::Disabled);
        lose_and_regain_zone_b(&mut sim);
        idle(&mut sim, 20);
        assert_eq!(per_zone(&sim)["zone-a"], 4);

        // 100/100: nothing may start above the desired count nor stop below it.
        let mut sim = zoned(4, 100, 100, AzRebalancing::Enabled);
        lose_and_regain_zone_b(&mut sim);
        idle(&mut sim, 20);
        assert_eq!(per_zone(&sim)["zone-a"], 4);
        let events: Vec<&str> = sim.stored.service.events.iter().map(|e| e.message.as_str()).collect();
        assert!(events.iter().any(|e| e.contains("is unable to rebalance across Availability Zones")), "{events:?}");
    }

    #[test]
    fn a_deployment_whose_tasks_never_start_trips_the_breaker_and_rolls_back() {
        let mut sim = Sim::new(service(4, 50, 200, true), hosts(2));
        sim.run_to_rest(false);
        let good = sim.stored.service.deployments[0].id.clone();
        sim.broken.push("td:bad".into());
        let now = sim.now;
        let bad = sim.stored.start_deployment("td:bad", now, None);
        // Until the rollback completes, the failed deployment is listed beside it as FAILED.
        for _ in 0..10 {
            let plan = sim.pass();
            if plan.events.iter().any(|e| e.contains("deployment failed")) {
                break;
            }
            sim.advance();
        }
        let failed = sim.stored.service.deployments.iter().find(|d| d.id == bad).expect("failed deployment listed");
        assert_eq!(failed.rollout_state, "FAILED");
        assert_eq!(failed.status, "ACTIVE");
        assert!(failed.rollout_state_reason.starts_with("ECS deployment circuit breaker:"));
        sim.advance();
        sim.run_to_rest(true);
        let service = &sim.stored.service;
        assert_eq!(service.deployments.len(), 1, "{:?}", service.deployments);
        let primary = &service.deployments[0];
        assert_eq!(primary.task_definition, "td:1", "rolled back to the last completed definition");
        assert_ne!(primary.id, good);
        assert_eq!(primary.rollout_state, "COMPLETED");
        let failed = sim.stored.record(&bad).expect("the failed deployment's record");
        assert_eq!(failed.status, "ROLLBACK_SUCCESSFUL");
        assert!(failed.failure_count >= 3);
        let events: Vec<&str> = service.events.iter().map(|e| e.message.as_str()).collect();
        assert!(events.iter().any(|e| e.ends_with("deployment failed: tasks failed to start.")), "{events:?}");
        assert!(events.iter().any(|e| e.contains("rolling back to deployment")), "{events:?}");
        assert_eq!(sim.live().len(), 4);
    }

    #[test]
    fn a_revision_that_crashes_right_after_starting_is_rolled_back_not_completed() {
        let mut sim = Sim::new(service(2, 100, 200, true), hosts(1));
        sim.run_to_rest(false);
        sim.crashing.push("td:crash".into());
        let now = sim.now;
        let bad = sim.stored.start_deployment("td:crash", now, None);
        sim.run_to_rest(true);
        let failed = sim.stored.record(&bad).expect("record");
        assert_eq!(failed.status, "ROLLBACK_SUCCESSFUL", "{:?}", sim.stored.service.events);
        assert_eq!(sim.stored.service.deployments[0].task_definition, "td:1");
    }

    #[test]
    fn without_the_breaker_failing_launches_back_off() {
        let mut sim = Sim::new(service(2, 100, 200, false), hosts(1));
        sim.broken.push("td:1".into());
        for _ in 0..30 {
            sim.pass();
            sim.advance();
            if sim.stored.state.throttle.failures >= 3 {
                break;
            }
        }
        let throttle = &sim.stored.state.throttle;
        assert!(throttle.failures >= 3, "{throttle:?}");
        assert!(throttle.until - sim.now >= 5.0, "launches are held back, longer each time: {throttle:?}");
        assert!(sim.pass().start.is_none());
        let said: Vec<&str> = sim.stored.service.events.iter().map(|e| e.message.as_str()).collect();
        assert!(said.contains(&"(service web) is unable to consistently start tasks successfully."), "{said:?}");
    }

    #[test]
    fn a_failing_deployment_is_throttled_while_primary_before_the_breaker_trips() {
        let mut sim = Sim::new(service(2, 100, 200, true), hosts(2));
        sim.run_to_rest(false);
        let now = sim.now;
        let bad = sim.stored.start_deployment("td:bad", now, None);
        sim.broken.push("td:bad".into());
        let unable = "(service web) is unable to consistently start tasks successfully.";
        for _ in 0..4 {
            sim.pass();
            sim.advance();
            let said: Vec<&str> = sim.stored.service.events.iter().map(|e| e.message.as_str()).collect();
            if said.contains(&unable) {
                assert_eq!(sim.stored.service.deployments[0].id, bad, "said while the failing deployment is PRIMARY");
                assert_eq!(sim.stored.service.deployments[0].rollout_state, "IN_PROGRESS");
                // The breaker trips later, once the throttled launches fail too.
                for _ in 0..30 {
                    sim.pass();
                    sim.advance();
                }
                assert_eq!(sim.stored.record(&bad).map(|r| r.status.as_str()), Some("ROLLBACK_SUCCESSFUL"));
                return;
            }
        }
        panic!("never throttled: {:?}", sim.stored.service.events);
    }

    #[test]
    fn a_failed_deployment_without_rollback_keeps_old_tasks_only_up_to_the_desired_count() {
        let mut stored = service(2, 100, 200, true);
        if let Some(b) = stored.service.deployment_configuration.deployment_circuit_breaker.as_mut() {
            b.rollback = false;
        }
        let mut sim = Sim::new(stored, hosts(2));
        sim.run_to_rest(false);
        let now = sim.now;
        sim.stored.start_deployment("td:bad", now, None);
        sim.broken.push("td:bad".into());
        idle(&mut sim, 40);
        assert_eq!(sim.stored.service.deployments[0].rollout_state, "FAILED");
        assert_eq!(sim.live().len(), 2, "the old tasks it could not replace keep running");
        // Deleted (or scaled to zero): they stop, and the service goes.
        sim.stored.service.status = "DRAINING".into();
        sim.stored.service.desired_count = 0;
        idle(&mut sim, 3);
        assert!(sim.live().is_empty());
        assert_eq!(sim.stored.service.status, "INACTIVE");
    }

    #[test]
    fn scale_in_takes_tasks_from_the_most_crowded_instance_first() {
        let mut sim = Sim::new(service(4, 100, 200, false), hosts(2));
        sim.run_to_rest(false);
        // Crowd host-0: three of the four tasks there.
        let ids: Vec<String> = sim.live().iter().map(|t| t.id.clone()).collect();
        for (i, id) in ids.iter().enumerate() {
            let t = sim.tasks.iter_mut().find(|t| &t.id == id).expect("task");
            t.instance = Some(if i < 3 { "host-0" } else { "host-1" }.into());
        }
        sim.stored.service.desired_count = 2;
        let strategies = Strategy::service_default();
        let inputs = Inputs { now: sim.now, health_checked: &|_| false, strategies: &strategies };
        let plan = plan(&mut sim.stored, &sim.tasks, &sim.hosts, &inputs);
        assert_eq!(plan.stops.len(), 2);
        for stop in &plan.stops {
            let t = sim.tasks.iter().find(|t| t.id == stop.id).expect("task");
            assert_eq!(t.instance.as_deref(), Some("host-0"));
        }
    }

    #[test]
    fn unhealthy_tasks_are_replaced_only_after_the_grace_period() {
        let mut stored = service(1, 100, 200, false);
        stored.service.health_check_grace_period_seconds = Some(30);
        let deployment = stored.service.deployments[0].id.clone();
        let task = TaskView {
            id: "t1".into(),
            deployment,
            instance: Some("host-0".into()),
            status: Some(TaskStatus::Running),
            desired_running: true,
            started_at: Some(100.0),
            health: Some("UNHEALTHY".into()),
            stop_code: None,
        };
        let hosts = hosts(1);
        let within = Inputs { now: 110.0, health_checked: &|_| true, strategies: &[] };
        assert!(plan(&mut stored.clone(), std::slice::from_ref(&task), &hosts, &within).stops.is_empty());
        let after = Inputs { now: 131.0, health_checked: &|_| true, strategies: &[] };
        let p = plan(&mut stored, &[task], &hosts, &after);
        assert_eq!(p.stops, vec![Stop { id: "t1".into(), reason: HEALTH_REASON.into() }]);
        assert!(p.events.iter().any(|e| e == "(service web) (task t1) failed container health checks."));
        assert_eq!(stored.service.deployments[0].failed_tasks, 1);
    }

    #[test]
    fn tasks_on_a_draining_instance_are_replaced_before_they_stop() {
        let mut sim = Sim::new(service(2, 100, 200, false), hosts(2));
        sim.run_to_rest(false);
        let on_zero: Vec<String> =
            sim.live().iter().filter(|t| t.instance.as_deref() == Some("host-0")).map(|t| t.id.clone()).collect();
        assert!(!on_zero.is_empty());
        sim.hosts[0].active = false;
        sim.hosts[0].daemon_eligible = false;
        let first = sim.pass();
        assert!(first.stops.is_empty(), "nothing stops before its replacement is healthy");
        assert!(matches!(first.start, Some(Start::Count(n)) if n == on_zero.len()));
        sim.advance();
        sim.run_to_rest(true);
        assert_eq!(sim.live().len(), 2);
        assert!(sim.live().iter().all(|t| !on_zero.contains(&t.id)));
    }

    #[test]
    fn daemon_services_run_one_task_per_eligible_instance() {
        let mut stored = service(0, 0, 100, false);
        stored.service.scheduling_strategy = "DAEMON".into();
        let mut sim = Sim::new(stored, hosts(3));
        sim.run_to_rest(false);
        assert_eq!(sim.live().len(), 3);
        assert_eq!(sim.stored.service.desired_count, 3);
        sim.hosts[1].active = false;
        sim.hosts[1].daemon_eligible = false;
        sim.run_to_rest(false);
        assert_eq!(sim.live().len(), 2);
        assert!(sim.live().iter().all(|t| t.instance.as_deref() != Some("host-1")));
        assert_eq!(sim.stored.service.desired_count, 2);
    }

    #[test]
    fn a_deleted_service_turns_inactive_once_its_tasks_are_stopping() {
        let mut sim = Sim::new(service(2, 100, 200, false), hosts(2));
        sim.stop_steps = 5;
        sim.run_to_rest(false);
        sim.stored.service.status = "DRAINING".into();
        sim.stored.service.desired_count = 0;
        let p = sim.pass();
        assert_eq!(p.stops.len(), 2);
        assert_eq!(sim.stored.service.status, "DRAINING", "its tasks were still RUNNING in this pass");
        sim.pass();
        assert_eq!(sim.stored.service.status, "INACTIVE");
    }

    #[test]
    fn a_deleted_service_stops_everything_then_turns_inactive() {
        let mut sim = Sim::new(service(3, 100, 200, false), hosts(2));
        sim.run_to_rest(false);
        sim.stored.service.status = "DRAINING".into();
        sim.stored.service.desired_count = 0;
        let p = sim.pass();
        assert_eq!(p.stops.len(), 3);
        sim.pass();
        assert_eq!(sim.stored.service.status, "INACTIVE");
    }
}
