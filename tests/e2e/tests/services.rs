//! ECS services end to end: a real `berth up` (its agent on Docker) and, where a test needs several hosts, hollow
//! agents (the real agent code on a fake runtime, in this process) in one cluster, driven by aws-sdk-ecs.
//! A killed container and a lost host are replaced, a rolling update is checked against its bounds at every step,
//! a bad image and a never-healthy revision trip the circuit breaker and roll back, DAEMON services follow the
//! instances, draining moves service tasks (and only those), AZ rebalancing evens out the zones when a lost host
//! returns, a deployment survives a server crash, and a forced DeleteService stops everything.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    ContainerDefinition, ContainerInstanceStatus, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentRolloutState, DesiredStatus, HealthCheck, HealthStatus, KeyValuePair, PlacementConstraint,
    PlacementConstraintType, PlacementStrategy, PlacementStrategyType, SchedulingStrategy, Service, Task,
};
use berth_e2e::{Berth, hollow_agent, test_image};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// A small container that sleeps and exits at once on SIGTERM (PID 1 ignores SIGTERM without a handler).
fn sleeper(name: &str) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder()
        .name(name)
        .image(test_image())
        .cpu(10)
        .memory(32)
        .stop_timeout(2)
        .command("sh")
        .command("-c")
        .command("trap 'exit 0' TERM; sleep 3600 & wait")
}

fn health_check(shell: &str) -> HealthCheck {
    HealthCheck::builder()
        .command("CMD-SHELL")
        .command(shell)
        .interval(5)
        .timeout(2)
        .retries(1)
        .build()
        .expect("health check")
}

/// Registers a revision; returns its ARN.
async fn register(ecs: &Client, family: &str, container: ContainerDefinition) -> String {
    let out = ecs
        .register_task_definition()
        .family(family)
        .container_definitions(container)
        .send()
        .await
        .expect("register task definition");
    out.task_definition().and_then(|t| t.task_definition_arn()).expect("task definition arn").to_owned()
}

fn config(max: i32, min: i32, breaker: bool) -> DeploymentConfiguration {
    let mut b = DeploymentConfiguration::builder().maximum_percent(max).minimum_healthy_percent(min);
    if breaker {
        b = b.deployment_circuit_breaker(DeploymentCircuitBreaker::builder().enable(true).rollback(true).build());
    }
    b.build()
}

fn spread_instances() -> PlacementStrategy {
    PlacementStrategy::builder().r#type(PlacementStrategyType::Spread).field("instanceId").build()
}

fn member_of(expression: &str) -> PlacementConstraint {
    PlacementConstraint::builder().r#type(PlacementConstraintType::MemberOf).expression(expression).build()
}

async fn describe_service(ecs: &Client, name: &str) -> Service {
    let out = ecs.describe_services().services(name).send().await.expect("describe services");
    assert!(out.failures().is_empty(), "describe services {name}: {:?}", out.failures());
    out.services().first().cloned().expect("one service")
}

/// The deployments and the newest events of a service, for failure messages.
fn summary(s: &Service) -> String {
    let deployments: Vec<String> = s
        .deployments()
        .iter()
        .map(|d| {
            format!(
                "{} {} {} rollout={:?} ({}) desired={} pending={} running={} failed={}",
                d.id().unwrap_or("-"),
                d.status().unwrap_or("-"),
                d.task_definition().unwrap_or("-"),
                d.rollout_state().map(|r| r.as_str()),
                d.rollout_state_reason().unwrap_or(""),
                d.desired_count(),
                d.pending_count(),
                d.running_count(),
                d.failed_tasks()
            )
        })
        .collect();
    let events: Vec<&str> = s.events().iter().take(15).filter_map(|e| e.message()).collect();
    format!(
        "service {} status={:?} desired={} pending={} running={}\n  deployments: {deployments:#?}\n  events: {events:#?}",
        s.service_name().unwrap_or("-"),
        s.status(),
        s.desired_count(),
        s.pending_count(),
        s.running_count()
    )
}

/// Polls DescribeServices until `done` holds, `limit` at most.
async fn wait_service(
    ecs: &Client,
    name: &str,
    what: &str,
    limit: Duration,
    done: impl Fn(&Service) -> bool,
) -> Service {
    let deadline = Instant::now() + limit;
    loop {
        let s = describe_service(ecs, name).await;
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "service {name} did not become {what} within {limit:?}:\n{}", summary(&s));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One deployment, of `task_definition`, COMPLETED, with `desired` tasks running and none pending.
fn is_steady(s: &Service, desired: i32, task_definition: &str) -> bool {
    let d = s.deployments();
    s.status() == Some("ACTIVE")
        && d.len() == 1
        && d[0].status() == Some("PRIMARY")
        && d[0].task_definition() == Some(task_definition)
        && d[0].rollout_state() == Some(&DeploymentRolloutState::Completed)
        && s.desired_count() == desired
        && s.running_count() == desired
        && s.pending_count() == 0
}

fn primary(s: &Service) -> &aws_sdk_ecs::types::Deployment {
    s.deployments().iter().find(|d| d.status() == Some("PRIMARY")).expect("a PRIMARY deployment")
}

fn events(s: &Service) -> Vec<String> {
    s.events().iter().filter_map(|e| e.message().map(str::to_owned)).collect()
}

/// The "(service NAME) rolling back to deployment ecs-svc/D." event, D naming either the completed deployment rolled
/// back to or the rollback deployment that took over (its task definition is the same).
fn check_rollback_event(events: &[String], service: &str, completed: &str, rollback: &str) {
    let prefix = format!("(service {service}) rolling back to deployment ");
    let named: Vec<&str> =
        events.iter().filter_map(|e| e.strip_prefix(&prefix)).filter_map(|r| r.strip_suffix('.')).collect();
    assert!(named.iter().any(|d| *d == completed || *d == rollback), "a rollback event: {events:#?}");
}

/// The ServiceDeployment (ListServiceDeployments + DescribeServiceDeployments) of a deployment that the circuit
/// breaker failed and that was rolled back; checks what it says about the failure.
async fn check_rolled_back(ecs: &Client, service: &str, deployment_id: &str) {
    let digits = deployment_id.strip_prefix("ecs-svc/").expect("ecs-svc/ id");
    let listed = ecs.list_service_deployments().service(service).send().await.expect("list service deployments");
    let brief = listed
        .service_deployments()
        .iter()
        .find(|b| b.service_deployment_arn().is_some_and(|a| a.ends_with(&format!("/{digits}"))))
        .unwrap_or_else(|| panic!("{deployment_id} in ListServiceDeployments: {listed:#?}"));
    let arn = brief.service_deployment_arn().expect("arn").to_owned();
    let described =
        ecs.describe_service_deployments().service_deployment_arns(&arn).send().await.expect("describe deployments");
    let d = described.service_deployments().first().unwrap_or_else(|| panic!("{arn}: {described:#?}"));
    assert_eq!(d.status().map(|s| s.as_str()), Some("ROLLBACK_SUCCESSFUL"), "{d:#?}");
    assert!(d.status_reason().is_some_and(|r| r.starts_with("ECS deployment circuit breaker:")), "{d:#?}");
    assert!(d.rollback().is_some_and(|r| r.reason().is_some()), "rollback recorded: {d:#?}");
    let breaker = d.deployment_circuit_breaker().expect("circuit breaker");
    assert_eq!(breaker.status().map(|s| s.as_str()), Some("TRIGGERED"), "{d:#?}");
    assert_eq!(breaker.threshold(), 3, "clamp(ceil(0.5*2), 3, 200): {d:#?}");
    assert!(breaker.failure_count() >= 3, "{d:#?}");
}

async fn list_tasks(ecs: &Client, service: &str, desired: DesiredStatus) -> Vec<String> {
    let out = ecs
        .list_tasks()
        .service_name(service)
        .desired_status(desired)
        .max_results(100)
        .send()
        .await
        .expect("list tasks");
    let mut arns = out.task_arns().to_vec();
    arns.sort();
    arns
}

async fn describe_tasks(ecs: &Client, arns: &[String]) -> Vec<Task> {
    if arns.is_empty() {
        return vec![];
    }
    let out = ecs.describe_tasks().set_tasks(Some(arns.to_vec())).send().await.expect("describe tasks");
    assert!(out.failures().is_empty(), "describe tasks: {:?}", out.failures());
    out.tasks().to_vec()
}

async fn describe_task(ecs: &Client, arn: &str) -> Task {
    describe_tasks(ecs, &[arn.to_owned()]).await.into_iter().next().expect("task")
}

/// The service's tasks whose desired status is RUNNING, as one consistent picture: the list is read before and
/// after DescribeTasks and the sample is kept only when both agree, so no task started or was told to stop while
/// the states were read (desired status only ever goes RUNNING -> STOPPED).
async fn snapshot(ecs: &Client, service: &str) -> Vec<Task> {
    for _ in 0..100 {
        let before = list_tasks(ecs, service, DesiredStatus::Running).await;
        let tasks = describe_tasks(ecs, &before).await;
        let after = list_tasks(ecs, service, DesiredStatus::Running).await;
        if before == after {
            return tasks;
        }
    }
    panic!("no consistent picture of {service}'s tasks in 100 tries");
}

/// Tasks that count against maximumPercent: desired RUNNING and not stopped yet.
fn active(tasks: &[Task]) -> Vec<&Task> {
    tasks.iter().filter(|t| t.desired_status() == Some("RUNNING") && t.last_status() != Some("STOPPED")).collect()
}

fn running(t: &Task) -> bool {
    t.desired_status() == Some("RUNNING") && t.last_status() == Some("RUNNING")
}

fn healthy_by_check(t: &Task) -> bool {
    running(t) && t.health_status() == Some(&HealthStatus::Healthy)
}

fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn stop_code(t: &Task) -> Option<&str> {
    t.stop_code().map(|c| c.as_str())
}

/// Waits until `n` service tasks run (desired RUNNING, lastStatus RUNNING, nothing else active) and `check` holds
/// for them; returns them.
async fn wait_tasks(
    ecs: &Client,
    service: &str,
    what: &str,
    limit: Duration,
    check: impl Fn(&[Task]) -> bool,
) -> Vec<Task> {
    let deadline = Instant::now() + limit;
    loop {
        let tasks = snapshot(ecs, service).await;
        if check(&tasks) {
            return tasks;
        }
        if Instant::now() > deadline {
            let states: Vec<_> = tasks
                .iter()
                .map(|t| {
                    (
                        task_id(t.task_arn().unwrap_or("-")).to_owned(),
                        t.last_status().map(str::to_owned),
                        t.health_status().map(|h| h.as_str().to_owned()),
                        t.container_instance_arn().map(|a| task_id(a).to_owned()),
                        t.task_definition_arn().map(str::to_owned),
                    )
                })
                .collect();
            let s = describe_service(ecs, service).await;
            panic!("{service}: {what} not reached within {limit:?}; tasks {states:#?}\n{}", summary(&s));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until a task is STOPPED; returns it.
async fn wait_stopped(ecs: &Client, arn: &str, limit: Duration) -> Task {
    let deadline = Instant::now() + limit;
    loop {
        let t = describe_task(ecs, arn).await;
        if t.last_status() == Some("STOPPED") {
            return t;
        }
        assert!(Instant::now() < deadline, "task {arn} did not stop within {limit:?}: {t:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Ids of the running containers of a task, found by Berth's label.
fn running_containers_of(task_arn: &str) -> Vec<String> {
    docker(&["ps", "-q", "--filter", &format!("label=berth.task-arn={task_arn}")]).lines().map(str::to_owned).collect()
}

/// The task ARN of every running container on a (real) container instance.
fn running_task_arns_on(instance_arn: &str) -> Vec<String> {
    let ids = docker(&["ps", "-q", "--filter", &format!("label=berth.container-instance={instance_arn}")]);
    ids.lines().map(|id| docker(&["inspect", "-f", "{{index .Config.Labels \"berth.task-arn\"}}", id])).collect()
}

fn started(dir: &std::path::Path, extra: &[&str]) -> (Berth, String) {
    test_image();
    let berth = Berth::start_with(dir, extra);
    let instance = berth.wait_agent();
    (berth, instance)
}

/// How many of `tasks` run on each instance.
fn per_instance(tasks: &[&Task]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for t in tasks {
        *m.entry(t.container_instance_arn().unwrap_or("-").to_owned()).or_insert(0) += 1;
    }
    m
}

const STEADY: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_service_container_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (berth, _instance) = started(dir.path(), &[]);
    let ecs = berth.ecs();
    let td = register(&ecs, "svc-kill", sleeper("app").build()).await;
    ecs.create_service().service_name("svc-kill").task_definition(&td).desired_count(2).send().await.expect("create");
    let s = wait_service(&ecs, "svc-kill", "steady", STEADY, |s| is_steady(s, 2, &td)).await;
    let deployment = primary(&s).id().expect("deployment id").to_owned();
    assert!(deployment.starts_with("ecs-svc/"), "{deployment}");
    let tasks = snapshot(&ecs, "svc-kill").await;
    assert_eq!(tasks.len(), 2);
    for t in &tasks {
        assert_eq!(t.group(), Some("service:svc-kill"));
        assert_eq!(t.started_by(), Some(deployment.as_str()));
        assert_eq!(t.last_status(), Some("RUNNING"));
    }

    let victim = tasks[0].task_arn().expect("arn").to_owned();
    let containers = running_containers_of(&victim);
    assert_eq!(containers.len(), 1, "one container for {victim}: {containers:?}");
    let killed_at = Instant::now();
    docker(&["kill", "-s", "KILL", &containers[0]]);

    let originals: BTreeSet<String> = tasks.iter().filter_map(|t| t.task_arn().map(str::to_owned)).collect();
    let after = wait_tasks(&ecs, "svc-kill", "a replacement RUNNING", Duration::from_secs(60), |ts| {
        let a = active(ts);
        a.len() == 2 && a.iter().all(|t| running(t)) && a.iter().any(|t| !originals.contains(t.task_arn().unwrap()))
    })
    .await;
    eprintln!("svc-kill: replacement RUNNING {:.2} s after docker kill", killed_at.elapsed().as_secs_f64());
    let replacement = after
        .iter()
        .find(|t| !originals.contains(t.task_arn().unwrap()))
        .and_then(|t| t.task_arn())
        .expect("replacement")
        .to_owned();
    assert!(after.iter().all(|t| t.task_arn() != Some(victim.as_str())), "the dead task is not desired RUNNING");

    let dead = wait_stopped(&ecs, &victim, Duration::from_secs(30)).await;
    assert_eq!(dead.containers()[0].exit_code(), Some(137), "{dead:?}");
    assert_eq!(stop_code(&dead), Some("EssentialContainerExited"), "{dead:?}");
    let s = wait_service(&ecs, "svc-kill", "steady again", STEADY, |s| is_steady(s, 2, &td)).await;
    assert_eq!(s.running_count(), 2);
    let ev = events(&s);
    assert!(
        ev.iter()
            .any(|e| e.starts_with("(service svc-kill) has started 1 tasks:") && e.contains(task_id(&replacement))),
        "an event names the replacement: {ev:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_of_a_lost_host_are_replaced_on_the_remaining_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (berth, real) = started(dir.path(), &["--agent-deadline", "3"]);
    let ecs = berth.ecs();
    let h1 = hollow_agent(&berth, dir.path(), "lost-h1", "lab-a", &[]).await;
    let lost = h1.container_instance_arn.clone();
    let td = register(&ecs, "svc-lost", sleeper("app").build()).await;
    ecs.create_service()
        .service_name("svc-lost")
        .task_definition(&td)
        .desired_count(4)
        .placement_strategy(spread_instances())
        .send()
        .await
        .expect("create");
    wait_service(&ecs, "svc-lost", "steady", STEADY, |s| is_steady(s, 4, &td)).await;
    let tasks = snapshot(&ecs, "svc-lost").await;
    let spread = per_instance(&active(&tasks));
    assert_eq!(spread.get(&real), Some(&2), "spread over both hosts: {spread:?}");
    assert_eq!(spread.get(&lost), Some(&2), "spread over both hosts: {spread:?}");
    let on_lost: Vec<String> = tasks
        .iter()
        .filter(|t| t.container_instance_arn() == Some(lost.as_str()))
        .map(|t| t.task_arn().unwrap().to_owned())
        .collect();

    let silenced = Instant::now();
    h1.shutdown();
    let after = wait_tasks(&ecs, "svc-lost", "4 RUNNING on the real host", Duration::from_secs(90), |ts| {
        let a = active(ts);
        a.len() == 4 && a.iter().all(|t| running(t) && t.container_instance_arn() == Some(real.as_str()))
    })
    .await;
    eprintln!(
        "svc-lost: 4 tasks RUNNING on the remaining host {:.1} s after the agent went silent (deadline 3 s)",
        silenced.elapsed().as_secs_f64()
    );
    assert_eq!(after.len(), 4, "nothing else desired RUNNING: {after:#?}");
    for arn in &on_lost {
        let t = wait_stopped(&ecs, arn, Duration::from_secs(30)).await;
        assert!(t.stopped_reason().is_some_and(|r| r.starts_with("Host lost")), "{t:?}");
    }
    let s = wait_service(&ecs, "svc-lost", "steady again", STEADY, |s| is_steady(s, 4, &td)).await;
    assert_eq!(running_task_arns_on(&real).len(), 4, "four containers on the real host");
    let ci = ecs.describe_container_instances().container_instances(&lost).send().await.expect("describe ci");
    assert!(!ci.container_instances()[0].agent_connected(), "the silent instance is disconnected");
    assert_eq!(s.running_count(), 4);
}

/// AZ rebalancing (on by default): a zone whose host is lost gives its tasks to the other zone; when the host comes
/// back, the service moves tasks back until the zones are even, never running more than maximumPercent allows nor
/// fewer healthy tasks than minimumHealthyPercent.
#[tokio::test(flavor = "multi_thread")]
async fn az_rebalancing_evens_out_the_zones_when_a_lost_host_comes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = Berth::start_with(dir.path(), &["--no-agent", "--agent-deadline", "3"]);
    let ecs = berth.ecs();
    let a1 = hollow_agent(&berth, dir.path(), "az-a1", "lab-a", &[]).await;
    let a2 = hollow_agent(&berth, dir.path(), "az-a2", "lab-a", &[]).await;
    let b = hollow_agent(&berth, dir.path(), "az-b", "lab-b", &[]).await;
    let zone_of: BTreeMap<String, &str> = [
        (a1.container_instance_arn.clone(), "lab-a"),
        (a2.container_instance_arn.clone(), "lab-a"),
        (b.container_instance_arn.clone(), "lab-b"),
    ]
    .into();
    let per_zone = |tasks: &[Task]| {
        let mut counts = BTreeMap::new();
        for t in active(tasks) {
            let zone = t.container_instance_arn().and_then(|i| zone_of.get(i)).copied().unwrap_or("-");
            *counts.entry(zone.to_owned()).or_insert(0) += 1;
        }
        counts
    };
    let td = register(&ecs, "svc-az", sleeper("app").build()).await;
    let created = ecs
        .create_service()
        .service_name("svc-az")
        .task_definition(&td)
        .desired_count(4)
        .deployment_configuration(config(200, 100, false))
        .send()
        .await
        .expect("create");
    let service = created.service().expect("service");
    assert_eq!(service.availability_zone_rebalancing().map(|r| r.as_str()), Some("ENABLED"), "ECS's default");
    wait_service(&ecs, "svc-az", "steady", STEADY, |s| is_steady(s, 4, &td)).await;
    let even = BTreeMap::from([("lab-a".to_owned(), 2), ("lab-b".to_owned(), 2)]);
    assert_eq!(per_zone(&snapshot(&ecs, "svc-az").await), even);

    // Zone b's host goes silent: its tasks are replaced in zone a.
    b.shutdown();
    wait_tasks(&ecs, "svc-az", "4 RUNNING in lab-a", Duration::from_secs(60), |ts| {
        per_zone(ts) == BTreeMap::from([("lab-a".to_owned(), 4)]) && active(ts).iter().all(|t| running(t))
    })
    .await;
    wait_service(&ecs, "svc-az", "steady in one zone", STEADY, |s| is_steady(s, 4, &td)).await;

    // It comes back (the same instance): the service moves two tasks back to zone b, within its bounds.
    let b = hollow_agent(&berth, dir.path(), "az-b", "lab-b", &[]).await;
    let returned = Instant::now();
    let deadline = returned + STEADY;
    loop {
        let tasks = snapshot(&ecs, "svc-az").await;
        let live = active(&tasks);
        assert!(live.len() <= 8, "maximumPercent 200 allows 8 tasks, {} are live", live.len());
        assert!(live.iter().filter(|t| running(t)).count() >= 4, "minimumHealthyPercent 100: {}", live.len());
        let s = describe_service(&ecs, "svc-az").await;
        if per_zone(&tasks) == even && is_steady(&s, 4, &td) && live.len() == 4 {
            eprintln!(
                "svc-az: zones even and the service steady {:.1} s after the zone's host came back",
                returned.elapsed().as_secs_f64()
            );
            break;
        }
        assert!(Instant::now() < deadline, "never rebalanced: {:?}\n{}", per_zone(&tasks), summary(&s));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ev = events(&describe_service(&ecs, "svc-az").await);
    let said = |needle: &str| ev.iter().any(|e| e.contains(needle));
    assert!(
        said(
            "service (svc-az) is not AZ balanced with 4 tasks in lab-a and 0 tasks in lab-b. AZ Rebalancing in progress."
        ),
        "{ev:#?}"
    );
    assert!(said("tasks in lab-b to AZ Rebalance:"), "{ev:#?}");
    assert!(said("running tasks in lab-a due to AZ rebalancing:"), "{ev:#?}");
    assert!(said("service (svc-az) is AZ balanced with 2 tasks in lab-a and 2 tasks in lab-b."), "{ev:#?}");

    // Turned off, a new imbalance stays.
    ecs.update_service()
        .service("svc-az")
        .availability_zone_rebalancing(aws_sdk_ecs::types::AvailabilityZoneRebalancing::Disabled)
        .send()
        .await
        .expect("disable");
    let s = describe_service(&ecs, "svc-az").await;
    assert_eq!(s.availability_zone_rebalancing().map(|r| r.as_str()), Some("DISABLED"));
    assert_eq!(s.deployments().len(), 1, "changing it starts no deployment");
    for agent in [a1, a2, b] {
        agent.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rolling_update_stays_within_its_bounds_at_every_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (berth, _instance) = started(dir.path(), &[]);
    let ecs = berth.ecs();
    let v1 = register(&ecs, "svc-roll", sleeper("app").build()).await;
    let v2 = register(
        &ecs,
        "svc-roll",
        sleeper("app").environment(KeyValuePair::builder().name("REVISION").value("2").build()).build(),
    )
    .await;
    ecs.create_service()
        .service_name("svc-roll")
        .task_definition(&v1)
        .desired_count(4)
        .deployment_configuration(config(150, 50, false))
        .send()
        .await
        .expect("create");
    let s = wait_service(&ecs, "svc-roll", "steady", STEADY, |s| is_steady(s, 4, &v1)).await;
    assert!(events(&s).iter().any(|e| e == "(service svc-roll) has reached a steady state."), "{}", summary(&s));
    let old_tasks: BTreeSet<String> =
        snapshot(&ecs, "svc-roll").await.iter().map(|t| t.task_arn().unwrap().to_owned()).collect();
    assert_eq!(old_tasks.len(), 4);

    let updated = ecs.update_service().service("svc-roll").task_definition(&v2).send().await.expect("update");
    let svc = updated.service().expect("service");
    let new_id = primary(svc).id().expect("id").to_owned();
    assert_eq!(primary(svc).task_definition(), Some(v2.as_str()));
    assert_eq!(primary(svc).rollout_state(), Some(&DeploymentRolloutState::InProgress));

    let (mut samples, mut mixed, mut max_active, mut min_running) = (0usize, 0usize, 0usize, usize::MAX);
    let deadline = Instant::now() + Duration::from_secs(120);
    let started_at = Instant::now();
    loop {
        let tasks = snapshot(&ecs, "svc-roll").await;
        let a = active(&tasks);
        let run = a.iter().filter(|t| running(t)).count();
        let tds: BTreeSet<&str> = a.iter().filter_map(|t| t.task_definition_arn()).collect();
        let states: Vec<_> = a.iter().map(|t| (t.last_status(), t.task_definition_arn())).collect();
        assert!(a.len() <= 6, "maximumPercent 150 of 4: {} tasks RUNNING or PENDING: {states:#?}", a.len());
        assert!(run >= 2, "minimumHealthyPercent 50 of 4: only {run} RUNNING: {states:#?}");
        samples += 1;
        max_active = max_active.max(a.len());
        min_running = min_running.min(run);
        if tds.len() > 1 {
            mixed += 1;
        }
        let s = describe_service(&ecs, "svc-roll").await;
        if is_steady(&s, 4, &v2) && a.len() == 4 && run == 4 && tds == BTreeSet::from([v2.as_str()]) {
            assert_eq!(primary(&s).id(), Some(new_id.as_str()), "{}", summary(&s));
            break;
        }
        assert!(Instant::now() < deadline, "the rollout did not complete: {}", summary(&s));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "svc-roll: rollout {:.1} s, {samples} samples ({mixed} with both revisions), at most {max_active} active, \
         at least {min_running} RUNNING",
        started_at.elapsed().as_secs_f64()
    );
    assert!(samples >= 3, "the rollout was sampled: {samples}");
    assert!(mixed >= 1, "a rolling update runs both revisions for a while");

    let s = describe_service(&ecs, "svc-roll").await;
    assert_eq!(s.deployments().len(), 1, "{}", summary(&s));
    assert_eq!(s.task_definition(), Some(v2.as_str()));
    let ev = events(&s);
    assert!(
        ev.iter().any(|e| e == &format!("(service svc-roll) (deployment {new_id}) deployment completed.")),
        "{ev:#?}"
    );
    for arn in &old_tasks {
        let t = wait_stopped(&ecs, arn, Duration::from_secs(30)).await;
        assert_eq!(stop_code(&t), Some("ServiceSchedulerInitiated"), "{t:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_image_trips_the_circuit_breaker_and_rolls_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (berth, _instance) = started(dir.path(), &[]);
    let ecs = berth.ecs();
    let good = register(&ecs, "svc-ghost", sleeper("app").build()).await;
    let bad = register(&ecs, "svc-ghost", sleeper("app").image("berth-test/svc-no-such-image:404").build()).await;
    ecs.create_service()
        .service_name("svc-ghost")
        .task_definition(&good)
        .desired_count(2)
        .deployment_configuration(config(200, 100, true))
        .send()
        .await
        .expect("create");
    let s = wait_service(&ecs, "svc-ghost", "steady", STEADY, |s| is_steady(s, 2, &good)).await;
    let good_id = primary(&s).id().expect("id").to_owned();
    let breaker = s.deployment_configuration().and_then(|c| c.deployment_circuit_breaker()).expect("breaker");
    assert!(breaker.enable() && breaker.rollback());

    let updated = ecs.update_service().service("svc-ghost").task_definition(&bad).send().await.expect("update");
    let bad_id = primary(updated.service().expect("service")).id().expect("id").to_owned();
    assert_ne!(bad_id, good_id);

    let mut failed_seen = None;
    let deadline = Instant::now() + Duration::from_secs(150);
    let s = loop {
        let s = describe_service(&ecs, "svc-ghost").await;
        if let Some(d) = s.deployments().iter().find(|d| d.id() == Some(bad_id.as_str())) {
            assert_ne!(d.rollout_state(), Some(&DeploymentRolloutState::Completed), "{}", summary(&s));
            if d.rollout_state() == Some(&DeploymentRolloutState::Failed) && failed_seen.is_none() {
                failed_seen = Some((d.rollout_state_reason().unwrap_or("").to_owned(), d.failed_tasks()));
            }
        }
        let a = snapshot(&ecs, "svc-ghost").await;
        let run = a.iter().filter(|t| running(t)).count();
        assert!(run >= 2, "minimumHealthyPercent 100: {run} RUNNING\n{}", summary(&s));
        if is_steady(&s, 2, &good) && primary(&s).id() != Some(good_id.as_str()) {
            break s;
        }
        assert!(Instant::now() < deadline, "no rollback completed: {}", summary(&s));
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(s.task_definition(), Some(good.as_str()), "the service is back on the good revision");
    let ev = events(&s);
    assert!(
        ev.iter().any(|e| e.contains(&format!("(deployment {bad_id}) deployment failed"))),
        "an event says the deployment failed: {ev:#?}"
    );
    check_rollback_event(&ev, "svc-ghost", &good_id, primary(&s).id().expect("id"));
    let stopped = describe_tasks(&ecs, &list_tasks(&ecs, "svc-ghost", DesiredStatus::Stopped).await).await;
    let bad_tasks: Vec<&Task> = stopped.iter().filter(|t| t.task_definition_arn() == Some(bad.as_str())).collect();
    assert!(bad_tasks.len() >= 3, "at least the threshold of bad tasks was tried: {}", bad_tasks.len());
    let mut failed_to_start = 0;
    for t in bad_tasks {
        let t = wait_stopped(&ecs, t.task_arn().unwrap(), Duration::from_secs(30)).await;
        if stop_code(&t) == Some("TaskFailedToStart") {
            assert!(t.stopped_reason().is_some_and(|r| r.starts_with("CannotPullContainerError")), "{t:?}");
            failed_to_start += 1;
        }
    }
    assert!(failed_to_start >= 3, "the failures the breaker counted: {failed_to_start}");
    check_rolled_back(&ecs, "svc-ghost", &bad_id).await;

    // Polled every 50 ms, DescribeServices must have shown the failed deployment (ACTIVE, rolloutState FAILED)
    // while the rollback ran.
    let (reason, failed) = failed_seen.expect("DescribeServices showed the new deployment with rolloutState FAILED");
    assert!(reason.starts_with("ECS deployment circuit breaker:"), "{reason}");
    assert!(failed >= 3, "threshold clamp(ceil(0.5*2), 3, 200) = 3: failedTasks {failed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revision_that_never_turns_healthy_is_rolled_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (berth, _instance) = started(dir.path(), &[]);
    let ecs = berth.ecs();
    let good = register(&ecs, "svc-sick", sleeper("app").health_check(health_check("true")).build()).await;
    let sick = register(&ecs, "svc-sick", sleeper("app").health_check(health_check("exit 1")).build()).await;
    ecs.create_service()
        .service_name("svc-sick")
        .task_definition(&good)
        .desired_count(2)
        .deployment_configuration(config(200, 100, true))
        .send()
        .await
        .expect("create");
    let s = wait_service(&ecs, "svc-sick", "steady", STEADY, |s| is_steady(s, 2, &good)).await;
    let good_id = primary(&s).id().expect("id").to_owned();
    let old = wait_tasks(&ecs, "svc-sick", "2 HEALTHY", Duration::from_secs(60), |ts| {
        ts.len() == 2 && ts.iter().all(healthy_by_check)
    })
    .await;
    let old: Vec<String> = old.iter().map(|t| t.task_arn().unwrap().to_owned()).collect();

    let updated = ecs.update_service().service("svc-sick").task_definition(&sick).send().await.expect("update");
    let sick_id = primary(updated.service().expect("service")).id().expect("id").to_owned();

    let mut failed_seen = None;
    let mut rollback_started = false;
    let deadline = Instant::now() + Duration::from_secs(180);
    let s = loop {
        let tasks = snapshot(&ecs, "svc-sick").await;
        let healthy = tasks.iter().filter(|t| healthy_by_check(t)).count();
        let states: Vec<_> = tasks
            .iter()
            .map(|t| {
                (task_id(t.task_arn().unwrap()).to_owned(), t.last_status(), t.health_status(), t.task_definition_arn())
            })
            .collect();
        assert!(healthy >= 2, "minimumHealthyPercent 100: {healthy} healthy: {states:#?}");
        // Until the rollback begins (its own tasks take 5 s to turn healthy before any old one may go), the old
        // revision's tasks are untouched.
        if !rollback_started {
            for arn in &old {
                let t = tasks.iter().find(|t| t.task_arn() == Some(arn.as_str()));
                assert!(t.is_some_and(healthy_by_check), "old task {arn} stays RUNNING and HEALTHY: {states:#?}");
            }
        }
        let s = describe_service(&ecs, "svc-sick").await;
        rollback_started |= primary(&s).id() != Some(sick_id.as_str());
        if let Some(d) = s.deployments().iter().find(|d| d.id() == Some(sick_id.as_str())) {
            assert_ne!(d.rollout_state(), Some(&DeploymentRolloutState::Completed), "{}", summary(&s));
            if d.rollout_state() == Some(&DeploymentRolloutState::Failed) && failed_seen.is_none() {
                failed_seen = Some((d.rollout_state_reason().unwrap_or("").to_owned(), d.failed_tasks()));
            }
        }
        if is_steady(&s, 2, &good) && primary(&s).id() != Some(good_id.as_str()) && healthy == 2 {
            break s;
        }
        assert!(Instant::now() < deadline, "no rollback completed: {}", summary(&s));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(s.task_definition(), Some(good.as_str()));
    let ev = events(&s);
    assert!(ev.iter().any(|e| e.ends_with("failed container health checks.")), "{ev:#?}");
    check_rollback_event(&ev, "svc-sick", &good_id, primary(&s).id().expect("id"));
    let stopped = describe_tasks(&ecs, &list_tasks(&ecs, "svc-sick", DesiredStatus::Stopped).await).await;
    let sick_tasks: Vec<&Task> = stopped.iter().filter(|t| t.task_definition_arn() == Some(sick.as_str())).collect();
    assert!(sick_tasks.len() >= 3, "{}", sick_tasks.len());
    for t in sick_tasks {
        wait_stopped(&ecs, t.task_arn().unwrap(), Duration::from_secs(30)).await;
    }
    let running_now = snapshot(&ecs, "svc-sick").await;
    assert!(running_now.iter().all(|t| t.task_definition_arn() == Some(good.as_str())), "{running_now:#?}");
    check_rolled_back(&ecs, "svc-sick", &sick_id).await;

    let (reason, failed) = failed_seen.expect("DescribeServices showed the sick deployment with rolloutState FAILED");
    assert!(reason.starts_with("ECS deployment circuit breaker:"), "{reason}");
    assert!(failed >= 3, "failedTasks {failed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daemon_service_runs_once_on_every_active_instance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (berth, real) = started(dir.path(), &[]);
    let ecs = berth.ecs();
    let h1 = hollow_agent(&berth, dir.path(), "daemon-h1", "lab-a", &[]).await;
    let td = register(&ecs, "svc-daemon", sleeper("agent").build()).await;
    let created = ecs
        .create_service()
        .service_name("svc-daemon")
        .task_definition(&td)
        .scheduling_strategy(SchedulingStrategy::Daemon)
        .send()
        .await
        .expect("create");
    let created = created.service().expect("service");
    assert_eq!(created.scheduling_strategy(), Some(&SchedulingStrategy::Daemon));
    let dc = created.deployment_configuration().expect("deployment configuration");
    assert_eq!((dc.maximum_percent(), dc.minimum_healthy_percent()), (Some(100), Some(0)));

    let one_each = |instances: Vec<String>| {
        move |ts: &[Task]| {
            let a = active(ts);
            let m = per_instance(&a);
            a.iter().all(|t| running(t)) && m.len() == instances.len() && instances.iter().all(|i| m.get(i) == Some(&1))
        }
    };
    wait_tasks(
        &ecs,
        "svc-daemon",
        "one task on each of 2 instances",
        STEADY,
        one_each(vec![real.clone(), h1.container_instance_arn.clone()]),
    )
    .await;
    wait_service(&ecs, "svc-daemon", "steady at 2", STEADY, |s| is_steady(s, 2, &td)).await;

    let h2 = hollow_agent(&berth, dir.path(), "daemon-h2", "lab-a", &[]).await;
    wait_tasks(
        &ecs,
        "svc-daemon",
        "one task on each of 3 instances",
        STEADY,
        one_each(vec![real.clone(), h1.container_instance_arn.clone(), h2.container_instance_arn.clone()]),
    )
    .await;
    wait_service(&ecs, "svc-daemon", "steady at 3", STEADY, |s| is_steady(s, 3, &td)).await;
    let on_h1: Vec<String> = snapshot(&ecs, "svc-daemon")
        .await
        .iter()
        .filter(|t| t.container_instance_arn() == Some(h1.container_instance_arn.as_str()))
        .map(|t| t.task_arn().unwrap().to_owned())
        .collect();
    assert_eq!(on_h1.len(), 1);

    ecs.update_container_instances_state()
        .container_instances(&h1.container_instance_arn)
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .expect("drain");
    wait_tasks(
        &ecs,
        "svc-daemon",
        "one task on each ACTIVE instance",
        STEADY,
        one_each(vec![real.clone(), h2.container_instance_arn.clone()]),
    )
    .await;
    wait_service(&ecs, "svc-daemon", "steady at 2 after draining", STEADY, |s| is_steady(s, 2, &td)).await;
    let t = wait_stopped(&ecs, &on_h1[0], Duration::from_secs(30)).await;
    assert_eq!(stop_code(&t), Some("ServiceSchedulerInitiated"), "{t:?}");

    let listed =
        ecs.list_services().scheduling_strategy(SchedulingStrategy::Daemon).send().await.expect("list daemon services");
    assert_eq!(listed.service_arns().len(), 1, "{:?}", listed.service_arns());
    let listed = ecs
        .list_services()
        .scheduling_strategy(SchedulingStrategy::Replica)
        .send()
        .await
        .expect("list replica services");
    assert!(listed.service_arns().is_empty(), "{:?}", listed.service_arns());
    h1.shutdown();
    h2.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn draining_moves_service_tasks_and_leaves_standalone_tasks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (berth, real) = started(dir.path(), &[]);
    let ecs = berth.ecs();
    let h1 = hollow_agent(&berth, dir.path(), "drain-h1", "lab-a", &[]).await;
    let drained = h1.container_instance_arn.clone();
    let td = register(&ecs, "svc-drain", sleeper("app").build()).await;
    ecs.create_service()
        .service_name("svc-drain")
        .task_definition(&td)
        .desired_count(2)
        .placement_strategy(spread_instances())
        .send()
        .await
        .expect("create");
    wait_service(&ecs, "svc-drain", "steady", STEADY, |s| is_steady(s, 2, &td)).await;
    let tasks = snapshot(&ecs, "svc-drain").await;
    let m = per_instance(&active(&tasks));
    assert_eq!((m.get(&real), m.get(&drained)), (Some(&1), Some(&1)), "spread: {m:?}");
    let moving = tasks
        .iter()
        .find(|t| t.container_instance_arn() == Some(drained.as_str()))
        .and_then(|t| t.task_arn())
        .expect("task on h1")
        .to_owned();

    let standalone_td = register(&ecs, "svc-drain-standalone", sleeper("solo").build()).await;
    let out = ecs
        .run_task()
        .task_definition(&standalone_td)
        .placement_constraints(member_of("attribute:name == drain-h1"))
        .send()
        .await
        .expect("run task");
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    let standalone = out.tasks()[0].task_arn().expect("arn").to_owned();
    assert_eq!(out.tasks()[0].container_instance_arn(), Some(drained.as_str()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while describe_task(&ecs, &standalone).await.last_status() != Some("RUNNING") {
        assert!(Instant::now() < deadline, "standalone task did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    ecs.update_container_instances_state()
        .container_instances(&drained)
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .expect("drain");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let ts = snapshot(&ecs, "svc-drain").await;
        let a = active(&ts);
        let run = a.iter().filter(|t| running(t)).count();
        assert!(a.len() <= 4, "maximumPercent 200 of 2: {} active", a.len());
        assert!(run >= 2, "minimumHealthyPercent 100 of 2: {run} RUNNING while draining");
        if a.len() == 2 && run == 2 && a.iter().all(|t| t.container_instance_arn() == Some(real.as_str())) {
            break;
        }
        assert!(Instant::now() < deadline, "the service task did not leave the draining instance: {a:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = wait_stopped(&ecs, &moving, Duration::from_secs(30)).await;
    assert_eq!(stop_code(&t), Some("ServiceSchedulerInitiated"), "{t:?}");
    wait_service(&ecs, "svc-drain", "steady after draining", STEADY, |s| is_steady(s, 2, &td)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let solo = describe_task(&ecs, &standalone).await;
    assert_eq!(
        (solo.last_status(), solo.desired_status()),
        (Some("RUNNING"), Some("RUNNING")),
        "a standalone task stays on a draining instance: {solo:?}"
    );
    let ci = ecs.describe_container_instances().container_instances(&drained).send().await.expect("describe ci");
    assert_eq!(ci.container_instances()[0].status(), Some("DRAINING"));
    assert_eq!(ci.container_instances()[0].running_tasks_count(), 1, "only the standalone task is left");
    h1.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_survives_a_server_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut berth, instance) = started(dir.path(), &[]);
    let ecs = berth.ecs();
    let v1 = register(&ecs, "svc-crash", sleeper("app").build()).await;
    // v2 turns healthy about 5 s after it starts: the deployment is still going when the server dies.
    let v2 = register(
        &ecs,
        "svc-crash",
        sleeper("app")
            .set_command(Some(
                ["sh", "-c", "sleep 2; touch /tmp/ready; trap 'exit 0' TERM; sleep 3600 & wait"]
                    .map(String::from)
                    .to_vec(),
            ))
            .health_check(health_check("test -f /tmp/ready"))
            .build(),
    )
    .await;
    ecs.create_service().service_name("svc-crash").task_definition(&v1).desired_count(3).send().await.expect("create");
    wait_service(&ecs, "svc-crash", "steady", STEADY, |s| is_steady(s, 3, &v1)).await;
    let updated = ecs.update_service().service("svc-crash").task_definition(&v2).send().await.expect("update");
    let new_id = primary(updated.service().expect("service")).id().expect("id").to_owned();
    wait_tasks(&ecs, "svc-crash", "a v2 task placed", Duration::from_secs(30), |ts| {
        ts.iter().any(|t| t.task_definition_arn() == Some(v2.as_str()))
    })
    .await;
    let s = describe_service(&ecs, "svc-crash").await;
    assert_eq!(primary(&s).rollout_state(), Some(&DeploymentRolloutState::InProgress), "{}", summary(&s));

    berth.kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    berth.start_again();
    assert_eq!(berth.wait_agent(), instance);
    let ecs = berth.ecs();

    let s = wait_service(&ecs, "svc-crash", "steady on v2", Duration::from_secs(120), |s| is_steady(s, 3, &v2)).await;
    assert_eq!(primary(&s).id(), Some(new_id.as_str()), "the same deployment resumed: {}", summary(&s));
    let final_tasks = wait_tasks(&ecs, "svc-crash", "3 v2 tasks", Duration::from_secs(60), |ts| {
        ts.len() == 3 && ts.iter().all(|t| running(t) && t.task_definition_arn() == Some(v2.as_str()))
    })
    .await;
    let expected: BTreeSet<String> = final_tasks.iter().map(|t| t.task_arn().unwrap().to_owned()).collect();
    // Every v1 task is stopped for good (its container too), and nothing extra appears for a while.
    for arn in list_tasks(&ecs, "svc-crash", DesiredStatus::Stopped).await {
        wait_stopped(&ecs, &arn, Duration::from_secs(30)).await;
    }
    for _ in 0..6 {
        let now: BTreeSet<String> =
            snapshot(&ecs, "svc-crash").await.iter().map(|t| t.task_arn().unwrap().to_owned()).collect();
        assert_eq!(now, expected, "the service's tasks stay the same three");
        let mut on_host = running_task_arns_on(&instance);
        on_host.sort();
        let on_host_set: BTreeSet<String> = on_host.iter().cloned().collect();
        assert_eq!(on_host.len(), 3, "exactly three containers run, no duplicates: {on_host:?}");
        assert_eq!(on_host_set, expected, "the running containers are the service's tasks");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_running_service_stops_its_tasks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (berth, _instance) = started(dir.path(), &[]);
    let ecs = berth.ecs();
    let td = register(&ecs, "svc-delete", sleeper("app").build()).await;
    ecs.create_service().service_name("svc-delete").task_definition(&td).desired_count(2).send().await.expect("create");
    wait_service(&ecs, "svc-delete", "steady", STEADY, |s| is_steady(s, 2, &td)).await;
    let tasks: Vec<String> =
        snapshot(&ecs, "svc-delete").await.iter().map(|t| t.task_arn().unwrap().to_owned()).collect();
    assert_eq!(tasks.len(), 2);

    let err = ecs.delete_service().service("svc-delete").send().await.expect_err("scaled above 0");
    let err = err.into_service_error();
    assert!(err.is_invalid_parameter_exception(), "{err:?}");
    assert_eq!(err.meta().message(), Some("The service cannot be stopped while it is scaled above 0."));

    let deleted = ecs.delete_service().service("svc-delete").force(true).send().await.expect("forced delete");
    assert_eq!(deleted.service().and_then(|s| s.status()), Some("DRAINING"));
    for arn in &tasks {
        let t = wait_stopped(&ecs, arn, Duration::from_secs(60)).await;
        assert_eq!(stop_code(&t), Some("ServiceSchedulerInitiated"), "{t:?}");
        assert!(running_containers_of(arn).is_empty(), "the container of {arn} stopped");
    }
    let s =
        wait_service(&ecs, "svc-delete", "INACTIVE", Duration::from_secs(60), |s| s.status() == Some("INACTIVE")).await;
    assert_eq!(s.running_count(), 0);
    assert!(snapshot(&ecs, "svc-delete").await.is_empty(), "no task is desired RUNNING");
    let listed = ecs.list_services().send().await.expect("list services");
    assert!(listed.service_arns().is_empty(), "an INACTIVE service is not listed: {:?}", listed.service_arns());
    let err = ecs.update_service().service("svc-delete").desired_count(1).send().await.expect_err("inactive");
    assert!(err.into_service_error().is_service_not_active_exception());
    let missing = ecs.describe_services().services("svc-never").send().await.expect("describe missing");
    assert_eq!(missing.failures().first().and_then(|f| f.reason()), Some("MISSING"));
}
