//! One container instance as placement sees it: what is left of its CPU, memory, ports and GPUs, whether a task's
//! [`Demand`] fits, and taking the resources of a placed task.

use std::collections::BTreeSet;

use berth_model::instance::ContainerInstance;
use berth_model::ports::{DYNAMIC_PORT_RANGE_ATTRIBUTE, HostPortRange};

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
    /// StartTask named an instance that takes no tasks (DRAINING).
    pub const INACTIVE: &str = "INACTIVE";
}

/// What one task needs from a host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demand {
    pub cpu: i64,
    pub memory: i64,
    /// Fixed host ports (a mapping's `hostPort`, or the container port in host network mode).
    pub tcp_ports: Vec<u16>,
    pub udp_ports: Vec<u16>,
    /// How many host ports placement picks from the instance's dynamic range (mappings without a `hostPort`).
    pub dynamic_tcp: usize,
    pub dynamic_udp: usize,
    pub gpus: usize,
    /// `requiresAttributes` of the task definition: the instance must carry each (with that value when given).
    pub required_attributes: Vec<(String, Option<String>)>,
    /// The task's group, for `distinctInstance`, `task:group` and spreading.
    pub group: String,
}

/// What a placed task received beyond CPU and memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Granted {
    pub gpu_ids: Vec<String>,
    /// Dynamic host ports, in the order of the task's mappings without a `hostPort`.
    pub dynamic_tcp: Vec<u16>,
    pub dynamic_udp: Vec<u16>,
}

/// One instance as placement sees it. The remaining amounts are read from the instance record and shrink as tasks
/// are placed on it; the record's task groups count the placed tasks too.
#[derive(Debug, Clone)]
pub struct Node {
    pub instance: ContainerInstance,
    pub cpu: i64,
    pub memory: i64,
    tcp: Ports,
    udp: Ports,
    pub free_gpus: Vec<String>,
}

impl Node {
    /// A node from an instance record.
    pub fn new(instance: ContainerInstance) -> Node {
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
        let range = instance
            .attribute(DYNAMIC_PORT_RANGE_ATTRIBUTE)
            .flatten()
            .and_then(|text| text.parse::<HostPortRange>().ok())
            .unwrap_or_default();
        Node {
            cpu: int("CPU"),
            memory: int("MEMORY"),
            tcp: Ports::new(ports("PORTS"), range),
            udp: Ports::new(ports("PORTS_UDP"), range),
            free_gpus: find("GPU").and_then(|r| r.string_set_value.clone()).unwrap_or_default(),
            instance,
        }
    }

    pub fn arn(&self) -> &str {
        &self.instance.container_instance_arn
    }

    /// Only ACTIVE instances take tasks; DRAINING and INACTIVE ones are not even considered.
    pub fn is_active(&self) -> bool {
        self.instance.status == "ACTIVE"
    }

    pub fn tasks_in_group(&self, group: &str) -> u32 {
        self.instance.tasks_in_group(group)
    }

    /// Live tasks on the instance, of any group.
    pub fn task_count(&self) -> u64 {
        self.instance.task_groups.values().map(|&n| u64::from(n)).sum()
    }

    /// Why the task cannot go here, or `None` when it fits.
    pub fn rejection(&self, demand: &Demand) -> Option<&'static str> {
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
        if !self.tcp.fits(&demand.tcp_ports, demand.dynamic_tcp) {
            return Some(reason::PORTS);
        }
        if !self.udp.fits(&demand.udp_ports, demand.dynamic_udp) {
            return Some(reason::PORTS_UDP);
        }
        if demand.gpus > self.free_gpus.len() {
            return Some(reason::GPU);
        }
        None
    }

    /// Takes the task's resources (the caller checked that it fits).
    pub fn reserve(&mut self, demand: &Demand) -> Granted {
        self.cpu -= demand.cpu;
        self.memory -= demand.memory;
        self.tcp.take(&demand.tcp_ports);
        self.udp.take(&demand.udp_ports);
        let n = demand.gpus.min(self.free_gpus.len());
        self.instance.count_task_group(&demand.group, 1);
        Granted {
            gpu_ids: self.free_gpus.drain(..n).collect(),
            dynamic_tcp: self.tcp.take_dynamic(demand.dynamic_tcp),
            dynamic_udp: self.udp.take_dynamic(demand.dynamic_udp),
        }
    }
}

/// The host ports of one protocol in use on an instance, and its dynamic range.
#[derive(Debug, Clone)]
struct Ports {
    taken: BTreeSet<u16>,
    range: HostPortRange,
    /// How many of `taken` lie in `range`, so a fit check does not count them each time.
    taken_in_range: usize,
}

impl Ports {
    fn new(taken: BTreeSet<u16>, range: HostPortRange) -> Ports {
        let taken_in_range = taken.range(range.low..=range.high).count();
        Ports { taken, range, taken_in_range }
    }

    fn in_range(&self, port: u16) -> bool {
        self.range.contains(port)
    }

    fn fits(&self, fixed: &[u16], dynamic: usize) -> bool {
        if fixed.iter().any(|p| self.taken.contains(p)) {
            return false;
        }
        if dynamic == 0 {
            return true;
        }
        let fixed_in_range = fixed.iter().filter(|&&p| self.in_range(p)).count();
        self.range.len().saturating_sub(self.taken_in_range + fixed_in_range) >= dynamic
    }

    fn take(&mut self, ports: &[u16]) {
        for &p in ports {
            if self.taken.insert(p) && self.in_range(p) {
                self.taken_in_range += 1;
            }
        }
    }

    /// The lowest free ports of the range.
    fn take_dynamic(&mut self, count: usize) -> Vec<u16> {
        let free: Vec<u16> =
            (self.range.low..=self.range.high).filter(|p| !self.taken.contains(p)).take(count).collect();
        self.take(&free);
        free
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_ports_come_from_the_range_and_count_fixed_ones() {
        let mut p = Ports::new([22, 101].into_iter().collect(), HostPortRange { low: 100, high: 103 });
        assert!(p.fits(&[], 3));
        assert!(!p.fits(&[], 4));
        assert!(!p.fits(&[102], 3), "a fixed port inside the range uses one of the free ones");
        assert!(!p.fits(&[22], 0));
        assert_eq!(p.take_dynamic(2), vec![100, 102]);
        assert!(p.fits(&[], 1));
        assert_eq!(p.take_dynamic(1), vec![103]);
        assert!(!p.fits(&[], 1));
    }
}
