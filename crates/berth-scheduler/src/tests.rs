//! Behaviour of whole decisions, and property tests: the index decides exactly as a full scan would, no instance
//! is ever over-committed, constraints always hold, spread stays even and binpack packs.

use proptest::prelude::{Just, Strategy as Gen, any, prop, prop_assert, prop_assert_eq, prop_oneof, proptest};

use crate::index::rank;
use crate::*;
use berth_model::instance::{ContainerInstance, Resource, VersionInfo};
use berth_model::ports::{DEFAULT_DYNAMIC_HOST_PORT_RANGE, DYNAMIC_PORT_RANGE_ATTRIBUTE};

fn instance(id: &str, cpu: i64, memory: i64, ports: &[u16], az: &str) -> ContainerInstance {
    ContainerInstance {
        container_instance_arn: format!("arn:aws:ecs:us-east-1:000000000000:container-instance/c/{id}"),
        ec2_instance_id: None,
        version: 1,
        version_info: VersionInfo::default(),
        remaining_resources: vec![
            Resource::integer("CPU", cpu),
            Resource::integer("MEMORY", memory),
            Resource::string_set("PORTS", ports.iter().map(|p| p.to_string()).collect()),
            Resource::string_set("PORTS_UDP", vec![]),
        ],
        registered_resources: vec![],
        status: "ACTIVE".into(),
        status_reason: None,
        agent_connected: true,
        running_tasks_count: 0,
        pending_tasks_count: 0,
        attributes: vec![berth_model::Attribute::new("ecs.availability-zone", Some(az))],
        registered_at: 0.0,
        attachments: vec![],
        tags: None,
        platform_devices: None,
        health_status: None,
        task_groups: Default::default(),
        agent_link: None,
    }
}

fn cluster(nodes: Vec<ContainerInstance>) -> Cluster {
    let mut c = Cluster::new(7);
    for i in nodes {
        c.upsert(Node::new(i));
    }
    c
}

fn request(cpu: i64, memory: i64) -> Request {
    Request { demand: Demand { cpu, memory, group: "family:web".into(), ..Demand::default() }, ..Request::default() }
}

fn with(mut r: Request, constraints: Vec<Constraint>, strategies: Vec<Strategy>) -> Request {
    r.constraints = constraints;
    r.strategies = strategies;
    r
}

#[test]
fn fits_by_cpu_memory_and_ports() {
    let mut c = cluster(vec![instance("a", 1024, 512, &[22], "a"), instance("b", 4096, 4096, &[22, 80], "b")]);
    let mut r = request(512, 256);
    r.demand.tcp_ports = vec![80];
    assert_eq!(c.place(&r).unwrap().node, 0);
    // Port 80 is now taken on both.
    assert_eq!(c.place(&r).unwrap_err(), vec![(0, reason::PORTS), (1, reason::PORTS)]);
    assert!(c.place(&request(8192, 1)).unwrap_err().iter().all(|(_, r)| *r == reason::CPU));
    assert!(c.place(&request(1, 1 << 20)).unwrap_err().iter().all(|(_, r)| *r == reason::MEMORY));
}

#[test]
fn a_batch_never_over_commits() {
    let mut c = cluster(vec![instance("a", 1024, 1024, &[], "a"), instance("b", 1024, 1024, &[], "b")]);
    let placed = (0..10).filter(|_| c.place(&request(256, 256)).is_ok()).count();
    assert_eq!(placed, 8);
    assert!(c.nodes().all(|(_, n)| n.cpu == 0 && n.memory == 0));
}

#[test]
fn default_spreads_and_binpack_packs() {
    let mut c = cluster(vec![instance("a", 4096, 4096, &[], "a"), instance("b", 4096, 4096, &[], "b")]);
    let first = c.place(&request(256, 256)).unwrap().node;
    let second = c.place(&request(256, 256)).unwrap().node;
    assert_ne!(first, second);
    let binpack = with(request(256, 256), vec![], vec![Strategy::Binpack(BinpackField::Memory)]);
    let mut c = cluster(vec![instance("a", 4096, 4096, &[], "a"), instance("b", 4096, 2048, &[], "b")]);
    for _ in 0..3 {
        assert_eq!(c.place(&binpack).unwrap().node, 1);
    }
}

#[test]
fn constraints_filter() {
    let mut c = cluster(vec![instance("a", 4096, 4096, &[], "a"), instance("b", 4096, 4096, &[], "b")]);
    let member = Constraint::parse("memberOf", Some("attribute:ecs.availability-zone == b")).unwrap();
    assert_eq!(c.place(&with(request(1, 1), vec![member], vec![])).unwrap().node, 1);
    let distinct = with(request(1, 1), vec![Constraint::DistinctInstance], vec![]);
    assert_eq!(c.place(&distinct).unwrap().node, 0);
    assert_eq!(c.place(&distinct).unwrap_err(), vec![(0, reason::DISTINCT_INSTANCE), (1, reason::DISTINCT_INSTANCE)]);
    // task:group sees the tasks just placed.
    let beside = Constraint::parse("memberOf", Some("task:group == family:web")).unwrap();
    let mut other = with(request(1, 1), vec![beside], vec![]);
    other.demand.group = "family:cache".into();
    assert!(c.place(&other).is_ok());
}

#[test]
fn disconnected_missing_attributes_and_inactive_instances() {
    let mut down = instance("a", 4096, 4096, &[], "a");
    down.agent_connected = false;
    let mut draining = instance("b", 4096, 4096, &[], "b");
    draining.status = "DRAINING".into();
    let mut c = cluster(vec![down, draining, instance("c", 4096, 4096, &[], "c")]);
    let mut r = request(1, 1);
    r.demand.required_attributes = vec![("ecs.capability.x".into(), None)];
    assert_eq!(c.place(&r).unwrap_err(), vec![(0, reason::AGENT), (2, reason::ATTRIBUTE)]);
    // The agent comes back: the instance's record is replaced and the cached index follows.
    let mut up = instance("a", 4096, 4096, &[], "a");
    up.attributes.push(berth_model::Attribute::new("ecs.capability.x", None));
    c.upsert(Node::new(up));
    assert_eq!(c.place(&r).unwrap().node, 0);
}

#[test]
fn gpus_are_assigned_by_id() {
    let mut inst = instance("a", 4096, 4096, &[], "a");
    inst.remaining_resources.push(Resource::string_set("GPU", vec!["GPU-0".into(), "GPU-1".into()]));
    let mut c = cluster(vec![inst]);
    let mut r = request(1, 1);
    r.demand.gpus = 2;
    assert_eq!(c.place(&r).unwrap().granted.gpu_ids, vec!["GPU-0", "GPU-1"]);
    assert_eq!(c.place(&r).unwrap_err(), vec![(0, reason::GPU)]);
}

#[test]
fn dynamic_ports_come_from_the_instance_range() {
    let mut small = instance("a", 4096, 4096, &[22], "a");
    small.attributes.push(berth_model::Attribute::new(DYNAMIC_PORT_RANGE_ATTRIBUTE, Some("30000-30002")));
    let mut c = cluster(vec![small]);
    let mut r = request(1, 1);
    r.demand.dynamic_tcp = 2;
    r.demand.dynamic_udp = 1;
    let p = c.place(&r).unwrap();
    assert_eq!((p.granted.dynamic_tcp, p.granted.dynamic_udp), (vec![30000, 30001], vec![30000]));
    assert_eq!(c.place(&r).unwrap_err(), vec![(0, reason::PORTS)]);
    r.demand.dynamic_tcp = 1;
    assert_eq!(c.place(&r).unwrap().granted.dynamic_tcp, vec![30002]);
    // Without the attribute, the default range applies.
    let mut c = cluster(vec![instance("b", 4096, 4096, &[], "b")]);
    assert_eq!(c.place(&r).unwrap().granted.dynamic_tcp, vec![DEFAULT_DYNAMIC_HOST_PORT_RANGE.low]);
}

#[test]
fn spread_by_attribute_balances_zones_of_unequal_size() {
    // Zone a has three instances, zone b one: tasks alternate between zones, not instances.
    let nodes =
        ["a", "a", "a", "b"].iter().enumerate().map(|(i, az)| instance(&format!("i{i}"), 1 << 20, 1 << 20, &[], az));
    let mut c = cluster(nodes.collect());
    let r = with(request(1, 1), vec![], Strategy::service_default());
    let mut per_zone = std::collections::BTreeMap::new();
    for _ in 0..8 {
        let slot = c.place(&r).unwrap().node;
        let az = c.node(slot).unwrap().instance.attribute("ecs.availability-zone").flatten().unwrap().to_owned();
        *per_zone.entry(az).or_insert(0) += 1;
    }
    assert_eq!(per_zone.values().copied().collect::<Vec<_>>(), vec![4, 4]);
}

#[test]
fn a_task_leaving_makes_its_zone_preferred_again() {
    let mut c = cluster(vec![instance("x", 1 << 20, 1 << 20, &[], "a"), instance("y", 1 << 20, 1 << 20, &[], "b")]);
    let r = with(request(1, 1), vec![], vec![Strategy::Spread(SpreadField::Attribute("ecs.availability-zone".into()))]);
    for _ in 0..4 {
        c.place(&r).unwrap();
    }
    // Two tasks leave zone a: its count drops, which the cached ranking must not miss.
    let mut x = c.node(0).unwrap().instance.clone();
    x.count_task_group("family:web", -2);
    c.upsert(Node::new(x));
    assert_eq!(c.place(&r).unwrap().node, 0);
    assert_eq!(c.place(&r).unwrap().node, 0);
}

#[test]
fn a_count_going_down_is_seen_by_the_other_instances_of_the_zone() {
    let zone = |id: &str, az: &str, tasks: i32| {
        let mut i = instance(id, 1 << 20, 1 << 20, &[], az);
        i.count_task_group("family:web", tasks);
        i
    };
    let mut c = cluster(vec![zone("x1", "a", 2), zone("x2", "a", 0), zone("y", "b", 0)]);
    let r = with(request(1, 1), vec![], vec![Strategy::Spread(SpreadField::Attribute("ecs.availability-zone".into()))]);
    assert_eq!(c.place(&r).unwrap().node, 2, "zone b has fewer tasks");
    // x1's tasks leave and its agent disconnects: zone a now has none, so x2 is the right choice, although its
    // ranking was computed when zone a had two.
    let mut x1 = c.node(0).unwrap().instance.clone();
    x1.count_task_group("family:web", -2);
    x1.agent_connected = false;
    c.upsert(Node::new(x1));
    assert_eq!(c.place(&r).unwrap().node, 1);
}

#[test]
fn place_on_checks_like_place() {
    let mut c = cluster(vec![instance("a", 512, 512, &[], "a")]);
    assert!(c.place_on(0, &request(512, 512)).is_ok());
    assert_eq!(c.place_on(0, &request(1, 1)), Err(reason::CPU));
    let mut draining = instance("b", 512, 512, &[], "b");
    draining.status = "DRAINING".into();
    let slot = c.upsert(Node::new(draining));
    assert_eq!(c.place_on(slot, &request(1, 1)), Err(reason::INACTIVE));
}

#[test]
fn removed_instances_are_not_chosen() {
    let mut c = cluster(vec![instance("a", 4096, 4096, &[], "a"), instance("b", 4096, 4096, &[], "b")]);
    assert!(c.place(&request(1, 1)).is_ok());
    let arn = c.node(1).unwrap().arn().to_owned();
    c.remove(&arn);
    for _ in 0..3 {
        assert_eq!(c.place(&request(1, 1)).unwrap().node, 0);
    }
    assert_eq!(c.len(), 1);
}

// ---- property tests ----

#[derive(Debug, Clone)]
struct Host {
    cpu: i64,
    memory: i64,
    az: u8,
    connected: bool,
    active: bool,
}

fn host() -> impl Gen<Value = Host> {
    (1i64..=8, 1i64..=8, 0u8..3, prop::bool::weighted(0.9), prop::bool::weighted(0.9))
        .prop_map(|(c, m, az, connected, active)| Host { cpu: c * 512, memory: m * 512, az, connected, active })
}

fn strategies() -> impl Gen<Value = Vec<Strategy>> {
    let one = prop_oneof![
        Just(Strategy::Binpack(BinpackField::Cpu)),
        Just(Strategy::Binpack(BinpackField::Memory)),
        Just(Strategy::Spread(SpreadField::Instance)),
        Just(Strategy::Spread(SpreadField::Attribute("ecs.availability-zone".into()))),
        Just(Strategy::Random),
    ];
    prop::collection::vec(one, 0..=3)
}

fn build(hosts: &[Host]) -> Cluster {
    cluster(
        hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let mut inst = instance(&format!("i{i}"), h.cpu, h.memory, &[], &format!("az{}", h.az));
                inst.agent_connected = h.connected;
                inst.status = if h.active { "ACTIVE" } else { "DRAINING" }.into();
                inst
            })
            .collect(),
    )
}

/// The decision a full scan makes, counting spread values from scratch.
fn scan(c: &Cluster, r: &Request) -> Option<usize> {
    let group = &r.demand.group;
    let count = |i: usize, value: Option<&str>| -> i64 {
        let Strategy::Spread(SpreadField::Attribute(name)) = &r.strategies[i] else { return 0 };
        c.nodes()
            .filter(|(_, n)| n.is_active() && n.instance.attribute(name).flatten() == value)
            .map(|(_, n)| i64::from(n.tasks_in_group(group)))
            .sum()
    };
    c.nodes()
        .filter(|(_, n)| n.is_active() && n.rejection(&r.demand).is_none())
        .filter(|(_, n)| r.constraints.iter().all(|k| k.allows(n, group)))
        .min_by_key(|(slot, n)| (rank(r, n, 7, count), *slot))
        .map(|(slot, _)| slot)
}

proptest! {
    #[test]
    fn the_index_decides_as_a_full_scan_would(
        hosts in prop::collection::vec(host(), 1..12),
        strategies in strategies(),
        distinct in any::<bool>(),
        tasks in prop::collection::vec((1i64..=3, 1i64..=3, 0usize..3, prop::bool::weighted(0.25)), 1..60),
    ) {
        let mut c = build(&hosts);
        let groups = ["g0", "g1", "g2"];
        for (cpu, memory, g, leave) in tasks {
            if leave {
                // A change from outside: a task of the group leaves an instance, whose record is read again.
                let slot = (cpu as usize * 7 + memory as usize) % hosts.len();
                let mut record = c.node(slot).unwrap().instance.clone();
                record.count_task_group(groups[g], -1);
                if memory == 3 {
                    record.agent_connected = !record.agent_connected;
                }
                c.upsert(Node::new(record));
                continue;
            }
            let mut r = with(request(cpu * 256, memory * 256), vec![], strategies.clone());
            r.demand.group = groups[g].into();
            if distinct {
                r.constraints.push(Constraint::DistinctInstance);
            }
            let expected = scan(&c, &r);
            let got = c.place(&r).ok().map(|p| p.node);
            prop_assert_eq!(got, expected);
            // Never over-committed.
            prop_assert!(c.nodes().all(|(_, n)| n.cpu >= 0 && n.memory >= 0));
            // Only active, connected instances, and distinctInstance holds.
            if let Some(slot) = got {
                let n = c.node(slot).unwrap();
                prop_assert!(n.is_active() && n.instance.agent_connected);
                if distinct {
                    prop_assert_eq!(n.tasks_in_group(&r.demand.group), 1);
                }
            }
        }
    }

    #[test]
    fn spread_is_never_more_than_one_apart_on_equal_instances(n in 1usize..10, tasks in 1usize..60) {
        let hosts: Vec<Host> =
            (0..n).map(|_| Host { cpu: 1 << 20, memory: 1 << 20, az: 0, connected: true, active: true }).collect();
        let mut c = build(&hosts);
        let r = with(request(1, 1), vec![], vec![Strategy::Spread(SpreadField::Instance)]);
        for _ in 0..tasks {
            c.place(&r).unwrap();
        }
        let counts: Vec<u32> = c.nodes().map(|(_, n)| n.tasks_in_group("family:web")).collect();
        prop_assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1, "{:?}", counts);
    }

    #[test]
    fn binpack_uses_the_fewest_equal_instances(n in 1usize..10, per_host in 1i64..8, tasks in 1usize..40) {
        let hosts: Vec<Host> =
            (0..n).map(|_| Host { cpu: 1 << 20, memory: per_host * 256, az: 0, connected: true, active: true }).collect();
        let mut c = build(&hosts);
        let r = with(request(1, 256), vec![], vec![Strategy::Binpack(BinpackField::Memory)]);
        let placed = (0..tasks).filter(|_| c.place(&r).is_ok()).count();
        prop_assert_eq!(placed, tasks.min(n * per_host as usize));
        let used = c.nodes().filter(|(_, n)| n.task_count() > 0).count();
        prop_assert_eq!(used, placed.div_ceil(per_host as usize));
    }
}
