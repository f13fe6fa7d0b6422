//! Placement: which container instance each task goes to, decided from a snapshot of the cluster. Pure functions,
//! no I/O; the server reads the snapshot, calls [`place`] and commits the result with compares on the chosen
//! instances' revisions (retrying on conflict).
//!
//! A decision filters instances by status, agent connection, `requiresAttributes`, free CPU, memory, ports and
//! GPUs, then by placement constraints (`memberOf`, `distinctInstance`), then ranks the survivors by the placement
//! strategies in order (`binpack`, `spread`, `random`) and takes the first. Without a strategy the instance with the
//! fewest tasks of the group wins, then the one with most free memory, so a batch spreads over the cluster.
//!
//! Current limitations: dynamic host ports are chosen by Docker on the host, not here; `spread` on attributes
//! counts tasks of the group per attribute value among candidate instances only.

use std::collections::{BTreeMap, BTreeSet};

use berth_model::instance::{ContainerInstance, InstanceCandidate};
use berth_model::query::{self, Expr};

/// ECS's failure reasons.
pub mod reason {
    pub const CPU: &str = "RESOURCE:CPU";
    pub const MEMORY: &str = "RESOURCE:MEMORY";
    pub const PORTS: &str = "RESOURCE:PORTS";
    pub const PORTS_UDP: &str = "RESOURCE:PORTS_UDP";
    pub const GPU: &str = "RESOURCE:GPU";
    pub const ATTRIBUTE: &str = "ATTRIBUTE";
    pub const AGENT: &str = "AGENT";
    pub const MEMBER_OF: &str = "MemberOf placement constraint unsatisfied";
    pub const DISTINCT_INSTANCE: &str = "DistinctInstance placement constraint unsatisfied";
}

/// What one task needs from a host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Demand {
    pub cpu: i64,
    pub memory: i64,
    pub tcp_ports: Vec<u16>,
    pub udp_ports: Vec<u16>,
    pub gpus: usize,
    /// `requiresAttributes` of the task definition: the instance must carry each (with that value when given).
    pub required_attributes: Vec<(String, Option<String>)>,
    /// The task's group, for `distinctInstance`, `task:group` and spreading.
    pub group: String,
}

/// One instance as placement sees it. Remaining amounts shrink as [`place`] assigns tasks of a batch.
#[derive(Debug, Clone)]
pub struct Node {
    pub instance: ContainerInstance,
    pub cpu: i64,
    pub memory: i64,
    pub tcp_taken: BTreeSet<u16>,
    pub udp_taken: BTreeSet<u16>,
    pub free_gpus: Vec<String>,
    /// Groups of the tasks on the instance that have not stopped, one entry per task.
    pub task_groups: Vec<String>,
}

impl Node {
    /// A node from an instance record and the groups of its live tasks.
    pub fn new(instance: ContainerInstance, task_groups: Vec<String>) -> Node {
        let find = |name: &str| instance.remaining_resources.iter().find(|r| r.name == name);
        let int = |name: &str| find(name).and_then(|r| r.integer_value.or(r.long_value)).unwrap_or(0);
        let ports = |name: &str| -> BTreeSet<u16> {
            find(name)
                .and_then(|r| r.string_set_value.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|p| p.parse().ok())
                .collect()
        };
        let free_gpus = find("GPU").and_then(|r| r.string_set_value.clone()).unwrap_or_default();
        Node {
            cpu: int("CPU"),
            memory: int("MEMORY"),
            tcp_taken: ports("PORTS"),
            udp_taken: ports("PORTS_UDP"),
            free_gpus,
            task_groups,
            instance,
        }
    }

    fn tasks_in_group(&self, group: &str) -> usize {
        self.task_groups.iter().filter(|g| *g == group).count()
    }

    /// Why the task cannot go here, or `None` when it fits.
    fn rejection(&self, demand: &Demand) -> Option<&'static str> {
        if !self.instance.agent_connected {
            return Some(reason::AGENT);
        }
        for (name, value) in &demand.required_attributes {
            match self.instance.attribute(name) {
                Some(have) if value.is_none() || value.as_deref() == have => {}
                _ => return Some(reason::ATTRIBUTE),
            }
        }
        if demand.cpu > self.cpu {
            return Some(reason::CPU);
        }
        if demand.memory > self.memory {
            return Some(reason::MEMORY);
        }
        if demand.tcp_ports.iter().any(|p| self.tcp_taken.contains(p)) {
            return Some(reason::PORTS);
        }
        if demand.udp_ports.iter().any(|p| self.udp_taken.contains(p)) {
            return Some(reason::PORTS_UDP);
        }
        if demand.gpus > self.free_gpus.len() {
            return Some(reason::GPU);
        }
        None
    }

    /// Takes the task's resources; returns the GPU ids it receives.
    fn reserve(&mut self, demand: &Demand) -> Vec<String> {
        self.cpu -= demand.cpu;
        self.memory -= demand.memory;
        self.tcp_taken.extend(demand.tcp_ports.iter().copied());
        self.udp_taken.extend(demand.udp_ports.iter().copied());
        self.task_groups.push(demand.group.clone());
        let n = demand.gpus.min(self.free_gpus.len());
        self.free_gpus.drain(..n).collect()
    }
}

/// A placement constraint (task definition's and the request's together).
#[derive(Debug, Clone)]
pub enum Constraint {
    DistinctInstance,
    MemberOf(Expr),
}

/// A placement strategy, applied in order as tie-breakers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Least remaining `cpu` or `memory` first.
    Binpack(BinpackField),
    /// Fewest tasks of the group per value of the field first (`instanceId`/`host`, or an attribute name).
    Spread(SpreadField),
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinpackField {
    Cpu,
    Memory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpreadField {
    Instance,
    Attribute(String),
}

impl Constraint {
    /// Parses a `{type, expression}` pair; the error names what is wrong.
    pub fn parse(kind: &str, expression: Option<&str>) -> Result<Constraint, String> {
        match (kind, expression.filter(|e| !e.trim().is_empty())) {
            ("distinctInstance", None) => Ok(Constraint::DistinctInstance),
            ("distinctInstance", Some(_)) => {
                Err("A distinctInstance placement constraint must not have an expression.".into())
            }
            ("memberOf", Some(e)) => {
                if e.len() > 2000 {
                    return Err("A memberOf expression can be at most 2000 characters.".into());
                }
                query::parse(e).map(Constraint::MemberOf).map_err(|err| format!("memberOf expression: {err}"))
            }
            ("memberOf", None) => Err("A memberOf placement constraint needs an expression.".into()),
            (other, _) => Err(format!(
                "Placement constraint type '{}' is not valid. Valid types: distinctInstance, memberOf.",
                berth_model::names::truncate(other, 64)
            )),
        }
    }

    fn allows(&self, node: &Node, group: &str) -> bool {
        match self {
            Constraint::DistinctInstance => node.tasks_in_group(group) == 0,
            Constraint::MemberOf(expr) => {
                let groups = node.task_groups.iter().map(String::as_str).collect();
                expr.matches(&InstanceCandidate { instance: &node.instance, task_groups: groups })
            }
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Constraint::DistinctInstance => reason::DISTINCT_INSTANCE,
            Constraint::MemberOf(_) => reason::MEMBER_OF,
        }
    }
}

impl Strategy {
    /// Parses a `{type, field}` pair; the error names what is wrong.
    pub fn parse(kind: &str, field: Option<&str>) -> Result<Strategy, String> {
        match (kind, field) {
            ("random", None | Some("")) => Ok(Strategy::Random),
            ("random", Some(_)) => Err("A random placement strategy takes no field.".into()),
            ("binpack", Some(f)) if f.eq_ignore_ascii_case("cpu") => Ok(Strategy::Binpack(BinpackField::Cpu)),
            ("binpack", Some(f)) if f.eq_ignore_ascii_case("memory") => Ok(Strategy::Binpack(BinpackField::Memory)),
            ("binpack", _) => Err("A binpack placement strategy's field must be cpu or memory.".into()),
            ("spread", Some("instanceId" | "host")) => Ok(Strategy::Spread(SpreadField::Instance)),
            ("spread", Some(f)) if f.starts_with("attribute:") && f.len() > "attribute:".len() => {
                Ok(Strategy::Spread(SpreadField::Attribute(f["attribute:".len()..].to_owned())))
            }
            ("spread", _) => {
                Err("A spread placement strategy's field must be instanceId, host or attribute:<name>.".into())
            }
            (other, _) => Err(format!(
                "Placement strategy type '{}' is not valid. Valid types: binpack, random, spread.",
                berth_model::names::truncate(other, 64)
            )),
        }
    }
}

/// Where a task goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Index into the nodes given to [`place`].
    pub node: usize,
    pub gpu_ids: Vec<String>,
}

/// Why a task could not be placed: a reason per instance that was considered.
pub type Rejections = Vec<(usize, &'static str)>;

/// Places one task and reserves its resources on the chosen node, so the next call of a batch sees them taken.
/// `seed` drives the `random` strategy.
pub fn place(
    demand: &Demand,
    constraints: &[Constraint],
    strategies: &[Strategy],
    nodes: &mut [Node],
    seed: u64,
) -> Result<Placement, Rejections> {
    let mut rejections = Vec::new();
    let mut candidates = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if node.instance.status != "ACTIVE" {
            continue;
        }
        if let Some(r) = node.rejection(demand) {
            rejections.push((i, r));
        } else if let Some(c) = constraints.iter().find(|c| !c.allows(node, &demand.group)) {
            rejections.push((i, c.reason()));
        } else {
            candidates.push(i);
        }
    }
    let Some(&best) = candidates.iter().min_by_key(|&&i| rank(&nodes[i], nodes, &candidates, demand, strategies, seed))
    else {
        return Err(rejections);
    };
    let gpu_ids = nodes[best].reserve(demand);
    Ok(Placement { node: best, gpu_ids })
}

/// The sort key of a candidate: one component per strategy, then the default tie-breakers.
fn rank(
    node: &Node,
    nodes: &[Node],
    candidates: &[usize],
    demand: &Demand,
    strategies: &[Strategy],
    seed: u64,
) -> Vec<i64> {
    let mut key = Vec::with_capacity(strategies.len() + 3);
    for s in strategies {
        key.push(match s {
            Strategy::Binpack(BinpackField::Cpu) => node.cpu,
            Strategy::Binpack(BinpackField::Memory) => node.memory,
            Strategy::Spread(SpreadField::Instance) => node.tasks_in_group(&demand.group) as i64,
            Strategy::Spread(SpreadField::Attribute(name)) => {
                let value = node.instance.attribute(name).flatten();
                let mut per_value: BTreeMap<Option<&str>, usize> = BTreeMap::new();
                for &c in candidates {
                    let other = &nodes[c];
                    *per_value.entry(other.instance.attribute(name).flatten()).or_default() +=
                        other.tasks_in_group(&demand.group);
                }
                per_value.get(&value).copied().unwrap_or(0) as i64
            }
            Strategy::Random => (mix(seed ^ hash(&node.instance.container_instance_arn)) >> 1) as i64,
        });
    }
    key.push(node.tasks_in_group(&demand.group) as i64);
    key.push(-node.memory);
    key.push(node.instance.running_tasks_count + node.instance.pending_tasks_count);
    key
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_model::instance::{Resource, VersionInfo};

    fn node(id: &str, cpu: i64, memory: i64, ports: &[&str]) -> Node {
        let inst = ContainerInstance {
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
            attributes: vec![berth_model::Attribute::new("ecs.availability-zone", Some(id))],
            registered_at: 0.0,
            attachments: vec![],
            tags: None,
            platform_devices: None,
            health_status: None,
        };
        Node::new(inst, vec![])
    }

    fn demand(cpu: i64, memory: i64) -> Demand {
        Demand { cpu, memory, group: "family:web".into(), ..Demand::default() }
    }

    #[test]
    fn fits_by_cpu_memory_and_ports() {
        let mut nodes = vec![node("a", 1024, 512, &["22"]), node("b", 4096, 4096, &["22", "80"])];
        let d = Demand { tcp_ports: vec![80], ..demand(512, 256) };
        assert_eq!(place(&d, &[], &[], &mut nodes, 0).unwrap().node, 0);
        // Port 80 is now taken on both.
        let err = place(&d, &[], &[], &mut nodes, 0).unwrap_err();
        assert_eq!(err, vec![(0, reason::PORTS), (1, reason::PORTS)]);
        let err = place(&demand(8192, 1), &[], &[], &mut nodes, 0).unwrap_err();
        assert!(err.iter().all(|(_, r)| *r == reason::CPU));
        let err = place(&demand(1, 1 << 20), &[], &[], &mut nodes, 0).unwrap_err();
        assert!(err.iter().all(|(_, r)| *r == reason::MEMORY));
    }

    #[test]
    fn a_batch_never_over_commits() {
        let mut nodes = vec![node("a", 1024, 1024, &[]), node("b", 1024, 1024, &[])];
        let placed = (0..10).filter(|_| place(&demand(256, 256), &[], &[], &mut nodes, 0).is_ok()).count();
        assert_eq!(placed, 8);
        assert!(nodes.iter().all(|n| n.cpu == 0 && n.memory == 0));
    }

    #[test]
    fn default_spreads_and_binpack_packs() {
        let mut nodes = vec![node("a", 4096, 4096, &[]), node("b", 4096, 4096, &[])];
        let first = place(&demand(256, 256), &[], &[], &mut nodes, 0).unwrap().node;
        let second = place(&demand(256, 256), &[], &[], &mut nodes, 0).unwrap().node;
        assert_ne!(first, second);
        let binpack = [Strategy::Binpack(BinpackField::Memory)];
        let mut nodes = vec![node("a", 4096, 4096, &[]), node("b", 4096, 2048, &[])];
        for _ in 0..3 {
            assert_eq!(place(&demand(256, 256), &[], &binpack, &mut nodes, 0).unwrap().node, 1);
        }
    }

    #[test]
    fn constraints_filter() {
        let mut nodes = vec![node("a", 4096, 4096, &[]), node("b", 4096, 4096, &[])];
        let member = Constraint::parse("memberOf", Some("attribute:ecs.availability-zone == b")).unwrap();
        assert_eq!(place(&demand(1, 1), &[member], &[], &mut nodes, 0).unwrap().node, 1);
        let distinct = [Constraint::DistinctInstance];
        assert_eq!(place(&demand(1, 1), &distinct, &[], &mut nodes, 0).unwrap().node, 0);
        let err = place(&demand(1, 1), &distinct, &[], &mut nodes, 0).unwrap_err();
        assert_eq!(err, vec![(0, reason::DISTINCT_INSTANCE), (1, reason::DISTINCT_INSTANCE)]);
        assert!(Constraint::parse("distinctInstance", Some("x == y")).is_err());
        assert!(Constraint::parse("memberOf", None).is_err());
        assert!(Constraint::parse("memberOf", Some("attribute:x ==")).is_err());
        assert!(Strategy::parse("spread", Some("attribute:ecs.availability-zone")).is_ok());
        assert!(Strategy::parse("binpack", Some("disk")).is_err());
    }

    #[test]
    fn disconnected_and_missing_attributes_are_named() {
        let mut nodes = vec![node("a", 4096, 4096, &[])];
        nodes[0].instance.agent_connected = false;
        assert_eq!(place(&demand(1, 1), &[], &[], &mut nodes, 0).unwrap_err(), vec![(0, reason::AGENT)]);
        nodes[0].instance.agent_connected = true;
        let d = Demand { required_attributes: vec![("ecs.capability.x".into(), None)], ..demand(1, 1) };
        assert_eq!(place(&d, &[], &[], &mut nodes, 0).unwrap_err(), vec![(0, reason::ATTRIBUTE)]);
    }

    #[test]
    fn gpus_are_assigned_by_id() {
        let mut nodes = vec![node("a", 4096, 4096, &[])];
        nodes[0].free_gpus = vec!["GPU-0".into(), "GPU-1".into()];
        let d = Demand { gpus: 2, ..demand(1, 1) };
        assert_eq!(place(&d, &[], &[], &mut nodes, 0).unwrap().gpu_ids, vec!["GPU-0", "GPU-1"]);
        assert_eq!(place(&d, &[], &[], &mut nodes, 0).unwrap_err(), vec![(0, reason::GPU)]);
    }
}
