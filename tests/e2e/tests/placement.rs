//! Placement end to end: `berth up` (its real agent on Docker) and hollow agents (the real agent code on a fake
//! runtime, many in this process) in one cluster, driven by aws-sdk-ecs. Constraints pick hosts by attribute,
//! strategies spread and pack, dynamic host ports come from the scheduler and work on the real host, GPUs are
//! handed out by id, and a malformed expression is refused with its position.

use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    ContainerDefinition, PlacementConstraint, PlacementConstraintType, PlacementStrategy, PlacementStrategyType,
    PortMapping, ResourceRequirement, ResourceType, Task,
};
use berth_e2e::{Berth, hollow_agent, http_get, remove_containers, test_image};

fn member_of(expression: &str) -> PlacementConstraint {
    PlacementConstraint::builder().r#type(PlacementConstraintType::MemberOf).expression(expression).build()
}

fn strategy(kind: PlacementStrategyType, field: &str) -> PlacementStrategy {
    PlacementStrategy::builder().r#type(kind).field(field).build()
}

async fn register(ecs: &Client, family: &str, container: ContainerDefinition) {
    ecs.register_task_definition().family(family).container_definitions(container).send().await.expect("register");
}

async fn describe(ecs: &Client, arn: &str) -> Task {
    let out = ecs.describe_tasks().tasks(arn).send().await.expect("describe");
    out.tasks().first().cloned().expect("task")
}

async fn wait_running(ecs: &Client, arn: &str) -> Task {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = describe(ecs, arn).await;
        if t.last_status() == Some("RUNNING") {
            return t;
        }
        assert!(Instant::now() < deadline, "task did not reach RUNNING: {t:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of an instance attribute, by instance ARN.
async fn attribute_of(ecs: &Client, instance: &str, name: &str) -> Option<String> {
    let out = ecs.describe_container_instances().container_instances(instance).send().await.expect("describe");
    let inst = out.container_instances().first()?;
    inst.attributes().iter().find(|a| a.name() == name).and_then(|a| a.value().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread")]
async fn real_and_hollow_agents_share_a_cluster_and_placement_honours_every_rule() {
    test_image();
    let dir = tempfile::tempdir().unwrap();
    let berth = Berth::start_with(dir.path(), &["--attribute", "role=real"]);
    let real = berth.wait_agent();
    let ecs = berth.ecs();
    let mut agents = Vec::new();
    for (i, az) in ["lab-a", "lab-a", "lab-b", "lab-b"].iter().enumerate() {
        let gpus: &[&str] = if i == 3 { &["GPU-hollow-0", "GPU-hollow-1"] } else { &[] };
        agents.push(hollow_agent(&berth, dir.path(), &format!("h{i}"), az, gpus).await);
    }
    let listed = ecs.list_container_instances().send().await.expect("list");
    assert_eq!(listed.container_instance_arns().len(), 5);

    // memberOf picks the hollow hosts; spread over instances uses each of them once before any twice.
    let app = ContainerDefinition::builder().name("app").image("berth-bench/hollow:latest").memory(32).build();
    register(&ecs, "app", app).await;
    let out = ecs
        .run_task()
        .task_definition("app")
        .count(8)
        .placement_constraints(member_of("attribute:role == hollow"))
        .placement_strategy(strategy(PlacementStrategyType::Spread, "instanceId"))
        .send()
        .await
        .expect("run on hollow hosts");
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    let mut per_host = std::collections::BTreeMap::new();
    for t in out.tasks() {
        *per_host.entry(t.container_instance_arn().unwrap().to_owned()).or_insert(0) += 1;
    }
    assert_eq!(per_host.values().copied().collect::<Vec<_>>(), vec![2, 2, 2, 2], "{per_host:?}");
    assert!(!per_host.contains_key(&real));
    for t in out.tasks() {
        wait_running(&ecs, t.task_arn().unwrap()).await;
    }

    // binpack on memory fills the host with the least memory left first: all three go to one host.
    let out = ecs
        .run_task()
        .task_definition("app")
        .count(3)
        .group("packed")
        .placement_constraints(member_of("attribute:role == hollow and attribute:ecs.availability-zone == lab-b"))
        .placement_strategy(strategy(PlacementStrategyType::Binpack, "memory"))
        .send()
        .await
        .expect("binpack");
    let hosts: std::collections::BTreeSet<_> =
        out.tasks().iter().map(|t| t.container_instance_arn().unwrap()).collect();
    assert_eq!(hosts.len(), 1, "binpack used {hosts:?}");
    let host = hosts.into_iter().next().unwrap();
    assert_eq!(attribute_of(&ecs, host, "ecs.availability-zone").await.as_deref(), Some("lab-b"));

    // distinctInstance: one per host, the rest fail with ECS's reason.
    let out = ecs
        .run_task()
        .task_definition("app")
        .count(7)
        .group("one-each")
        .placement_constraints(PlacementConstraint::builder().r#type(PlacementConstraintType::DistinctInstance).build())
        .placement_constraints(member_of("attribute:role == hollow"))
        .send()
        .await
        .expect("distinct");
    assert_eq!(out.tasks().len(), 4);
    for f in out.failures() {
        let expected = if f.arn() == Some(real.as_str()) {
            "MemberOf placement constraint unsatisfied"
        } else {
            "DistinctInstance placement constraint unsatisfied"
        };
        assert_eq!(f.reason(), Some(expected), "{f:?}");
    }
    assert_eq!(out.failures().len(), 5, "each instance once, with its reason: {:?}", out.failures());

    // GPUs: only the hollow host that has two can take a task asking for two, and it gets them by id.
    let gpu = ContainerDefinition::builder()
        .name("trainer")
        .image("berth-bench/hollow:latest")
        .memory(32)
        .resource_requirements(ResourceRequirement::builder().r#type(ResourceType::Gpu).value("2").build().unwrap())
        .build();
    register(&ecs, "trainer", gpu).await;
    let out = ecs.run_task().task_definition("trainer").send().await.expect("gpu task");
    let t = &out.tasks()[0];
    let mut ids = t.containers()[0].gpu_ids().to_vec();
    ids.sort();
    assert_eq!(ids, vec!["GPU-hollow-0", "GPU-hollow-1"]);
    assert_eq!(attribute_of(&ecs, t.container_instance_arn().unwrap(), "name").await.as_deref(), Some("h3"));
    let out = ecs.run_task().task_definition("trainer").send().await.expect("second gpu task");
    assert!(out.tasks().is_empty());
    assert!(out.failures().iter().any(|f| f.reason() == Some("RESOURCE:GPU")), "{:?}", out.failures());

    // The real host: a web container on a host port the scheduler chose from the dynamic range, reachable there.
    let web = ContainerDefinition::builder()
        .name("web")
        .image(test_image())
        .memory(64)
        .set_command(Some(["httpd", "-f", "-p", "80", "-h", "/www"].map(String::from).to_vec()))
        .port_mappings(PortMapping::builder().container_port(80).build())
        .build();
    register(&ecs, "web", web).await;
    let out = ecs
        .run_task()
        .task_definition("web")
        .placement_constraints(member_of("attribute:role == real"))
        .send()
        .await
        .expect("web on the real host");
    let placed = &out.tasks()[0];
    assert_eq!(placed.container_instance_arn(), Some(real.as_str()));
    // As in ECS, bindings show once the container has started (the port is reserved at placement all the same).
    assert!(placed.containers()[0].network_bindings().is_empty(), "{:?}", placed.containers());
    let running = wait_running(&ecs, placed.task_arn().unwrap()).await;
    let planned = running.containers()[0].network_bindings()[0].host_port().expect("the host port bound");
    assert!((49153..=65535).contains(&planned), "{planned}");
    let body = http_get(planned);
    assert!(body.starts_with("HTTP/1."), "no answer on port {planned}: {body:?}");

    // A malformed expression is refused before anything runs, and the message says where.
    let err = ecs
        .run_task()
        .task_definition("app")
        .placement_constraints(member_of("attribute:role == hollow and (attribute:x == 1"))
        .send()
        .await
        .expect_err("malformed expression");
    let service = err.into_service_error();
    assert!(service.is_invalid_parameter_exception(), "{service:?}");
    assert!(format!("{service:?}").contains("at 29"), "the position of the unclosed parenthesis: {service:?}");

    for a in agents {
        a.shutdown();
    }
    remove_containers(&real);
}
