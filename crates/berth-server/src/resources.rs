//! What a task takes from its container instance: the demand placement checks, the reservation recorded on the
//! task, and the bookkeeping on the instance record (remaining resources, pending and running counts) as tasks are
//! placed, start and stop. Every change here is written in the same transaction as the task's.

use berth_model::instance::{ContainerInstance, Resource};
use berth_model::task::{TaskOverride, TaskStatus};
use berth_model::taskdef::{ContainerDefinition, PortMapping, TaskDefinition, units};
use berth_scheduler::Demand;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

/// Resources held by one task on its instance, released exactly once when it stops.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub cpu: i64,
    pub memory: i64,
    #[serde(default)]
    pub tcp_ports: Vec<u16>,
    #[serde(default)]
    pub udp_ports: Vec<u16>,
    #[serde(default)]
    pub gpu_ids: Vec<String>,
}

/// Task-level CPU units and MiB in effect: the overrides' when given, else the definition's.
pub fn task_size(def: &TaskDefinition, overrides: &TaskOverride) -> ApiResult<(Option<u64>, Option<u64>)> {
    let cpu = match overrides.cpu.as_deref() {
        Some(text) => Some(units::parse_cpu(text).map_err(|e| ApiError::invalid(format!("overrides.cpu: {e}")))?),
        None => def.cpu_units(),
    };
    let memory = match overrides.memory.as_deref() {
        Some(text) => Some(units::parse_memory(text).map_err(|e| ApiError::invalid(format!("overrides.memory: {e}")))?),
        None => def.memory_mib(),
    };
    Ok((cpu, memory))
}

/// What a task of `def` with `overrides` needs from a host (ECS's accounting: task-level cpu and memory when set,
/// else the containers' cpu and their memoryReservation, or memory when no reservation is set).
pub fn demand(def: &TaskDefinition, overrides: &TaskOverride, group: &str) -> ApiResult<Demand> {
    let containers: Vec<ContainerDefinition> =
        def.container_definitions.iter().map(|c| overrides.apply_to(c)).collect();
    let (task_cpu, task_memory) = task_size(def, overrides)?;
    let cpu = match task_cpu {
        Some(units) => units as i64,
        None => containers.iter().map(|c| i64::from(c.cpu.unwrap_or(0).max(0))).sum(),
    };
    let memory = match task_memory {
        Some(mib) => mib as i64,
        None => containers.iter().map(|c| i64::from(c.reserved_memory_mib().unwrap_or(0).max(0))).sum(),
    };
    let host_mode = def.network_mode() == "host";
    let mut tcp_ports = Vec::new();
    let mut udp_ports = Vec::new();
    let (mut dynamic_tcp, mut dynamic_udp) = (0, 0);
    for c in &containers {
        for m in &c.port_mappings {
            let udp = m.protocol() == "udp";
            let port = match host_port(m, host_mode) {
                HostPort::Fixed(port) => port,
                HostPort::Dynamic => {
                    *(if udp { &mut dynamic_udp } else { &mut dynamic_tcp }) += 1;
                    continue;
                }
                HostPort::Docker => continue,
            };
            let list = if udp { &mut udp_ports } else { &mut tcp_ports };
            if list.contains(&port) {
                return Err(ApiError::invalid(format!(
                    "Host port {port}/{} is mapped twice in the task definition.",
                    m.protocol()
                )));
            }
            list.push(port);
        }
    }
    let required_attributes =
        def.requires_attributes.iter().map(|a| (a.name.clone(), a.value.clone())).collect::<Vec<_>>();
    Ok(Demand {
        cpu,
        memory,
        tcp_ports,
        udp_ports,
        dynamic_tcp,
        dynamic_udp,
        gpus: containers.iter().map(|c| c.gpu_count() as usize).sum(),
        required_attributes,
        group: group.to_owned(),
    })
}

/// Where a port mapping's host port comes from.
pub enum HostPort {
    /// A fixed port: the mapping's `hostPort`, or the container port itself in host network mode.
    Fixed(u16),
    /// Placement picks one from the instance's dynamic range.
    Dynamic,
    /// A port range without host ports: Docker picks them on the host.
    Docker,
}

pub fn host_port(m: &PortMapping, host_mode: bool) -> HostPort {
    let fixed = if host_mode { m.container_port } else { m.host_port.filter(|p| *p > 0) };
    match (fixed.and_then(|p| u16::try_from(p).ok()), m.container_port) {
        (Some(port), _) => HostPort::Fixed(port),
        (None, Some(_)) if !host_mode => HostPort::Dynamic,
        _ => HostPort::Docker,
    }
}

/// Takes a reservation from an instance's remaining resources (`sign` 1) or gives it back (`sign` -1).
pub fn apply(instance: &mut ContainerInstance, r: &Reservation, sign: i64) {
    let registered_ports = |name: &str| -> Vec<String> {
        instance
            .registered_resources
            .iter()
            .find(|x| x.name == name)
            .and_then(|x| x.string_set_value.clone())
            .unwrap_or_default()
    };
    let reserved_tcp = registered_ports("PORTS");
    let reserved_udp = registered_ports("PORTS_UDP");
    for res in &mut instance.remaining_resources {
        match res.name.as_str() {
            "CPU" => res.integer_value = Some(res.integer_value.unwrap_or(0) - sign * r.cpu),
            "MEMORY" => res.integer_value = Some(res.integer_value.unwrap_or(0) - sign * r.memory),
            "PORTS" => update_set(res, &r.tcp_ports, &reserved_tcp, sign > 0),
            "PORTS_UDP" => update_set(res, &r.udp_ports, &reserved_udp, sign > 0),
            "GPU" => {
                let set = res.string_set_value.get_or_insert_with(Vec::new);
                if sign > 0 {
                    set.retain(|g| !r.gpu_ids.contains(g));
                } else {
                    for g in &r.gpu_ids {
                        if !set.contains(g) {
                            set.push(g.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// PORTS lists ports in use: a task's ports join it while the task holds them; the host's reserved ports stay.
fn update_set(res: &mut Resource, ports: &[u16], reserved: &[String], take: bool) {
    let set = res.string_set_value.get_or_insert_with(Vec::new);
    for p in ports.iter().map(u16::to_string) {
        if take {
            if !set.contains(&p) {
                set.push(p);
            }
        } else if !reserved.contains(&p) {
            set.retain(|x| *x != p);
        }
    }
}

/// Moves a task between the instance's pending and running counts as its status changes (`None`: not on the
/// instance).
pub fn count_transition(instance: &mut ContainerInstance, from: Option<TaskStatus>, to: Option<TaskStatus>) {
    fn bucket(s: Option<TaskStatus>) -> Option<bool> {
        match s {
            None | Some(TaskStatus::Stopped) => None,
            Some(s) => Some(s >= TaskStatus::Running),
        }
    }
    let (old, new) = (bucket(from), bucket(to));
    if old == new {
        return;
    }
    match old {
        Some(true) => instance.running_tasks_count -= 1,
        Some(false) => instance.pending_tasks_count -= 1,
        None => {}
    }
    match new {
        Some(true) => instance.running_tasks_count += 1,
        Some(false) => instance.pending_tasks_count += 1,
        None => {}
    }
    instance.running_tasks_count = instance.running_tasks_count.max(0);
    instance.pending_tasks_count = instance.pending_tasks_count.max(0);
}
