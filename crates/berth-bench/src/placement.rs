//! The scheduler alone: a synthetic cluster of container instances in memory and a long run of placement
//! decisions through [`berth_scheduler::Cluster`], as the server makes them (one task per decision, each seeing the
//! resources the previous ones took). No store, no network: this measures the decision itself.
//!
//! Scenarios, each on a fresh cluster: ECS's common production mix (spread over availability zones, then binpack
//! on memory, restricted by a `memberOf` on instance types), then each strategy alone.

use std::time::Instant;

use berth_model::Attribute;
use berth_model::instance::{ContainerInstance, Resource, VersionInfo};
use berth_scheduler::{BinpackField, Cluster, Constraint, Demand, Node, Request, SpreadField, Strategy};
use serde_json::{Value, json};

use crate::pct;

/// What to run.
#[derive(Debug, Clone)]
pub struct PlacementLoad {
    pub instances: usize,
    pub tasks: usize,
}

const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
const TYPES: [&str; 3] = ["m5.2xlarge", "c5.2xlarge", "g5.2xlarge"];
/// Each synthetic host: 8 vCPUs and 32 GiB, so 32 tasks of a quarter vCPU fit.
const HOST_CPU: i64 = 8 * 1024;
const HOST_MEMORY: i64 = 32 * 1024;

/// Runs every scenario and returns one JSON object: the headline figures are the first (combined) scenario's.
pub fn run(load: &PlacementLoad) -> Result<Value, String> {
    let member = Constraint::parse(
        "memberOf",
        Some("attribute:ecs.instance-type =~ m5.* or attribute:ecs.instance-type == c5.2xlarge"),
    )?;
    let zone_spread = Strategy::Spread(SpreadField::Attribute("ecs.availability-zone".into()));
    let scenarios: Vec<(&str, Vec<Constraint>, Vec<Strategy>)> = vec![
        ("spread-az+binpack-memory+memberOf", vec![member], vec![zone_spread, Strategy::Binpack(BinpackField::Memory)]),
        ("binpack-memory", vec![], vec![Strategy::Binpack(BinpackField::Memory)]),
        ("spread-instanceId", vec![], vec![Strategy::Spread(SpreadField::Instance)]),
        ("random", vec![], vec![Strategy::Random]),
    ];
    let mut results = Vec::new();
    for (name, constraints, strategies) in scenarios {
        let demand = Demand { cpu: 256, memory: 512, group: "family:bench".into(), ..Demand::default() };
        results.push(scenario(name, load, Request { demand, constraints, strategies }));
    }
    let head = results.first().cloned().unwrap_or(Value::Null);
    Ok(json!({
        "bench": "placement",
        "instances": load.instances,
        "tasks": load.tasks,
        "placements_per_sec": head["placements_per_sec"],
        "p99_us": head["p99_us"],
        "scenarios": results,
    }))
}

fn scenario(name: &str, load: &PlacementLoad, request: Request) -> Value {
    let built = Instant::now();
    let mut cluster = Cluster::new(0x5eed);
    for i in 0..load.instances {
        cluster.upsert(Node::new(instance(i)));
    }
    let build_ms = built.elapsed().as_secs_f64() * 1e3;
    let mut samples_ns: Vec<u32> = Vec::with_capacity(load.tasks);
    let mut placed = 0usize;
    let started = Instant::now();
    for _ in 0..load.tasks {
        let t = Instant::now();
        let ok = cluster.place(&request).is_ok();
        samples_ns.push(u32::try_from(t.elapsed().as_nanos()).unwrap_or(u32::MAX));
        placed += usize::from(ok);
    }
    let secs = started.elapsed().as_secs_f64();
    let used = cluster.nodes().filter(|(_, n)| n.task_count() > 0).count();
    samples_ns.sort_unstable();
    // `pct` turns microsecond samples into milliseconds, so nanosecond samples come out in microseconds.
    json!({
        "scenario": name,
        "placed": placed,
        "failed": load.tasks - placed,
        "instances_used": used,
        "placements_per_sec": (placed as f64 / secs).round(),
        "p50_us": pct(&samples_ns, 50.0),
        "p99_us": pct(&samples_ns, 99.0),
        "max_us": pct(&samples_ns, 100.0),
        "cluster_build_ms": (build_ms * 10.0).round() / 10.0,
    })
}

/// A registered host as the agent would report it, with a zone and an instance type taken in turn.
fn instance(i: usize) -> ContainerInstance {
    let ports = ["22", "2375", "2376", "51678", "51679"].map(String::from).to_vec();
    ContainerInstance {
        container_instance_arn: format!("arn:aws:ecs:us-east-1:000000000000:container-instance/bench/{i:032x}"),
        ec2_instance_id: Some(format!("i-{i:017x}")),
        version: 1,
        version_info: VersionInfo::default(),
        remaining_resources: vec![
            Resource::integer("CPU", HOST_CPU),
            Resource::integer("MEMORY", HOST_MEMORY),
            Resource::string_set("PORTS", ports.clone()),
            Resource::string_set("PORTS_UDP", vec![]),
        ],
        registered_resources: vec![
            Resource::integer("CPU", HOST_CPU),
            Resource::integer("MEMORY", HOST_MEMORY),
            Resource::string_set("PORTS", ports),
            Resource::string_set("PORTS_UDP", vec![]),
        ],
        status: "ACTIVE".into(),
        status_reason: None,
        agent_connected: true,
        running_tasks_count: 0,
        pending_tasks_count: 0,
        attributes: vec![
            Attribute::new("ecs.availability-zone", Some(ZONES[i % ZONES.len()])),
            Attribute::new("ecs.instance-type", Some(TYPES[(i / ZONES.len()) % TYPES.len()])),
            Attribute::new("ecs.os-type", Some("linux")),
            Attribute::new("ecs.cpu-architecture", Some("x86_64")),
        ],
        registered_at: 1.7e9,
        attachments: vec![],
        tags: None,
        platform_devices: None,
        health_status: None,
        task_groups: Default::default(),
        agent_link: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_places_every_task_on_a_small_cluster() {
        let out = run(&PlacementLoad { instances: 30, tasks: 300 }).unwrap();
        let scenarios = out["scenarios"].as_array().unwrap();
        assert_eq!(scenarios.len(), 4);
        for s in scenarios {
            assert_eq!(s["placed"], 300, "{s}");
            assert_eq!(s["failed"], 0, "{s}");
        }
        // Binpack fills instances before opening new ones (32 tasks each); spread uses every instance.
        assert_eq!(scenarios[1]["instances_used"], 10);
        assert_eq!(scenarios[2]["instances_used"], 30);
        // Spread over the three zones first (100 tasks each), then binpack within a zone: 4 hosts per zone.
        assert_eq!(scenarios[0]["instances_used"], 12);
    }
}
