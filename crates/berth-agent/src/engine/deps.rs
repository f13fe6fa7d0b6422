//! Container ordering inside a task, as amazon-ecs-agent's dependency graph does it: `volumesFrom` orders
//! creation, `dependsOn` orders starts (START, COMPLETE, SUCCESS, HEALTHY) and, reversed, stops.

use std::time::Duration;

use berth_model::taskdef::{ContainerDefinition, ContainerDependency};
use tokio::time::Instant;

/// Where a container is, as far as its dependents care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Not started yet (being pulled, created, or waiting for its own dependencies).
    NotStarted,
    Running,
    /// Ran and exited, with its exit code when known.
    Exited(Option<i32>),
    /// Stopped without ever running (failed to start, or cancelled).
    NeverRan,
}

/// One container of the task, seen from a container that depends on it.
#[derive(Debug, Clone)]
pub(crate) struct DepState<'a> {
    pub name: &'a str,
    pub progress: Progress,
    pub healthy: bool,
    pub has_health_check: bool,
    /// When it started (for its own `startTimeout`).
    pub started: Option<Instant>,
    /// Its `startTimeout`: ECS gives up on COMPLETE/SUCCESS/HEALTHY conditions on this container when it has not
    /// met them this long after it started.
    pub start_timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Every condition holds: start it.
    Ready,
    /// Wait; re-check at `deadline` at the latest (a timeout) or when something changes.
    Wait { deadline: Option<Instant> },
    /// A condition can never hold: the task fails with this reason.
    Never(String),
}

fn not_met(condition: &str, target: &str, dep: &str, why: &str) -> Readiness {
    Readiness::Never(format!(
        "Dependency condition {condition} of container {target} on container {dep} not met: {why}"
    ))
}

fn exited_text(dep: &str, code: Option<i32>) -> String {
    match code {
        Some(code) => format!("{dep} exited with code {code}"),
        None => format!("{dep} stopped"),
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether `target` may start now.
///
/// `own_timeout` is the target's own `startTimeout`, counted from `wait_began` (when its start was first
/// considered); a dependency's `startTimeout` is counted from the dependency's start, as ECS does.
pub(crate) fn readiness(
    target: &str,
    dependencies: &[ContainerDependency],
    states: &[DepState<'_>],
    wait_began: Instant,
    own_timeout: Option<Duration>,
    now: Instant,
) -> Readiness {
    let mut deadline = None;
    let mut waiting = false;
    for dependency in dependencies {
        let condition = dependency.condition.as_str();
        let dep_name = dependency.container_name.as_str();
        let Some(dep) = states.iter().find(|s| s.name == dep_name) else {
            return not_met(condition, target, dep_name, &format!("{dep_name} is not a container of the task"));
        };
        let satisfied = match (condition, dep.progress) {
            (_, Progress::NeverRan) => {
                return not_met(condition, target, dep_name, &format!("{dep_name} did not start"));
            }
            ("START", Progress::Running | Progress::Exited(_)) => true,
            ("START", Progress::NotStarted) => false,
            ("COMPLETE", Progress::Exited(_)) => true,
            ("SUCCESS", Progress::Exited(Some(0))) => true,
            ("SUCCESS", Progress::Exited(code)) => {
                return not_met(condition, target, dep_name, &exited_text(dep_name, code));
            }
            ("COMPLETE" | "SUCCESS", _) => false,
            ("HEALTHY", Progress::Exited(code)) => {
                return not_met(condition, target, dep_name, &exited_text(dep_name, code));
            }
            ("HEALTHY", _) if !dep.has_health_check => {
                return not_met(condition, target, dep_name, &format!("{dep_name} has no health check"));
            }
            ("HEALTHY", _) => dep.healthy,
            (other, _) => {
                return not_met(other, target, dep_name, &format!("unknown condition {other}"));
            }
        };
        if satisfied {
            continue;
        }
        // The dependency's own startTimeout (ECS semantics) for conditions that need more than a start.
        if condition != "START"
            && let (Some(started), Some(timeout)) = (dep.started, dep.start_timeout)
        {
            let limit = started + timeout;
            if now >= limit {
                return not_met(condition, target, dep_name, &format!("timed out after {}s", timeout.as_secs()));
            }
            deadline = earliest(deadline, Some(limit));
        }
        // The target's own startTimeout.
        if let Some(timeout) = own_timeout {
            let limit = wait_began + timeout;
            if now >= limit {
                return not_met(condition, target, dep_name, &format!("timed out after {}s", timeout.as_secs()));
            }
            deadline = earliest(deadline, Some(limit));
        }
        waiting = true;
    }
    if waiting { Readiness::Wait { deadline } } else { Readiness::Ready }
}

/// A `dependsOn` cycle, as the names along it, when there is one.
pub(crate) fn dependency_cycle(defs: &[ContainerDefinition]) -> Option<Vec<String>> {
    let edges: Vec<Vec<usize>> = defs
        .iter()
        .map(|d| {
            d.dependencies()
                .iter()
                .filter_map(|dep| defs.iter().position(|other| other.name == dep.container_name))
                .collect()
        })
        .collect();
    find_cycle(&edges).map(|cycle| cycle.into_iter().map(|i| defs[i].name.clone()).collect())
}

/// Depth-first search for a cycle in a graph given as adjacency lists.
fn find_cycle(edges: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(n: usize, edges: &[Vec<usize>], marks: &mut [Mark], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        marks[n] = Mark::Open;
        path.push(n);
        for &next in &edges[n] {
            match marks[next] {
                Mark::Open => {
                    let start = path.iter().position(|&p| p == next).unwrap_or(0);
                    return Some(path[start..].to_vec());
                }
                Mark::New => {
                    if let Some(cycle) = visit(next, edges, marks, path) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[n] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; edges.len()];
    for n in 0..edges.len() {
        if marks[n] == Mark::New {
            let mut path = Vec::new();
            if let Some(cycle) = visit(n, edges, &mut marks, &mut path) {
                return Some(cycle);
            }
        }
    }
    None
}

/// Container indices in an order where every `volumesFrom` source comes before the containers reading from it
/// (definition order otherwise). An unknown source or a cycle is an error, the task's stop reason.
pub(crate) fn creation_order(defs: &[ContainerDefinition]) -> Result<Vec<usize>, String> {
    let mut sources = Vec::with_capacity(defs.len());
    for d in defs {
        let mut these = Vec::new();
        for from in &d.volumes_from {
            let Some(source) = from.source_container.as_deref() else { continue };
            match defs.iter().position(|other| other.name == source) {
                Some(i) => these.push(i),
                None => {
                    return Err(format!(
                        "CannotCreateContainerError: volumesFrom of container {} names {source}, which is not a \
                         container of the task",
                        d.name
                    ));
                }
            }
        }
        sources.push(these);
    }
    if let Some(cycle) = find_cycle(&sources) {
        let names: Vec<&str> = cycle.iter().map(|&i| defs[i].name.as_str()).collect();
        return Err(format!("CannotCreateContainerError: volumesFrom cycle between containers {}", names.join(", ")));
    }
    let mut order = Vec::with_capacity(defs.len());
    let mut placed = vec![false; defs.len()];
    while order.len() < defs.len() {
        let before = order.len();
        for i in 0..defs.len() {
            if !placed[i] && sources[i].iter().all(|&s| placed[s]) {
                placed[i] = true;
                order.push(i);
            }
        }
        if order.len() == before {
            break; // unreachable without a cycle
        }
    }
    Ok(order)
}

/// For each container, the indices of the containers whose `dependsOn` names it: they must stop before it does.
pub(crate) fn dependents(defs: &[ContainerDefinition]) -> Vec<Vec<usize>> {
    defs.iter()
        .map(|d| {
            defs.iter()
                .enumerate()
                .filter(|(_, other)| other.dependencies().iter().any(|dep| dep.container_name == d.name))
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(name: &str, condition: &str) -> ContainerDependency {
        ContainerDependency { container_name: name.into(), condition: condition.into() }
    }

    fn state(name: &str, progress: Progress) -> DepState<'_> {
        DepState { name, progress, healthy: false, has_health_check: true, started: None, start_timeout: None }
    }

    #[test]
    fn conditions() {
        let t0 = Instant::now();
        let check = |cond: &str, s: DepState<'_>| readiness("app", &[dep("db", cond)], &[s], t0, None, t0);
        assert_eq!(check("START", state("db", Progress::NotStarted)), Readiness::Wait { deadline: None });
        assert_eq!(check("START", state("db", Progress::Running)), Readiness::Ready);
        assert_eq!(check("START", state("db", Progress::Exited(Some(1)))), Readiness::Ready);
        assert_eq!(check("COMPLETE", state("db", Progress::Running)), Readiness::Wait { deadline: None });
        assert_eq!(check("COMPLETE", state("db", Progress::Exited(Some(3)))), Readiness::Ready);
        assert_eq!(check("SUCCESS", state("db", Progress::Exited(Some(0)))), Readiness::Ready);
        assert_eq!(
            check("SUCCESS", state("db", Progress::Exited(Some(1)))),
            Readiness::Never(
                "Dependency condition SUCCESS of container app on container db not met: db exited with code 1".into()
            )
        );
        let mut healthy = state("db", Progress::Running);
        assert_eq!(check("HEALTHY", healthy.clone()), Readiness::Wait { deadline: None });
        healthy.healthy = true;
        assert_eq!(check("HEALTHY", healthy), Readiness::Ready);
        assert!(matches!(check("HEALTHY", state("db", Progress::Exited(Some(0)))), Readiness::Never(_)));
        let unchecked = DepState { has_health_check: false, ..state("db", Progress::Running) };
        assert!(matches!(check("HEALTHY", unchecked), Readiness::Never(_)));
        assert!(matches!(check("START", state("db", Progress::NeverRan)), Readiness::Never(_)));
        assert!(matches!(check("START", state("other", Progress::Running)), Readiness::Never(_)));
    }

    #[test]
    fn timeouts() {
        let t0 = Instant::now();
        let ten = Duration::from_secs(10);
        // The target's own startTimeout.
        let s = [state("db", Progress::Running)];
        assert_eq!(
            readiness("app", &[dep("db", "HEALTHY")], &s, t0, Some(ten), t0),
            Readiness::Wait { deadline: Some(t0 + ten) }
        );
        assert_eq!(
            readiness("app", &[dep("db", "HEALTHY")], &s, t0, Some(ten), t0 + ten),
            Readiness::Never(
                "Dependency condition HEALTHY of container app on container db not met: timed out after 10s".into()
            )
        );
        // The dependency's startTimeout, from its start; not for START.
        let s = [DepState { started: Some(t0), start_timeout: Some(ten), ..state("db", Progress::Running) }];
        assert!(matches!(readiness("app", &[dep("db", "COMPLETE")], &s, t0, None, t0 + ten), Readiness::Never(_)));
        let s = [DepState { started: Some(t0), start_timeout: Some(ten), ..state("db", Progress::NotStarted) }];
        assert_eq!(readiness("app", &[dep("db", "START")], &s, t0, None, t0 + ten), Readiness::Wait { deadline: None });
    }

    fn defs(value: serde_json::Value) -> Vec<ContainerDefinition> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn orders() {
        let d = defs(json!([
            {"name": "app", "image": "x", "volumesFrom": [{"sourceContainer": "data"}],
             "dependsOn": [{"containerName": "db", "condition": "START"}]},
            {"name": "data", "image": "x"},
            {"name": "db", "image": "x"},
        ]));
        assert_eq!(creation_order(&d).unwrap(), vec![1, 2, 0]);
        assert_eq!(dependents(&d), vec![vec![], vec![], vec![0]]);
        assert_eq!(dependency_cycle(&d), None);
        let cyclic = defs(json!([
            {"name": "a", "image": "x", "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "image": "x", "dependsOn": [{"containerName": "a", "condition": "START"}]},
        ]));
        assert_eq!(dependency_cycle(&cyclic), Some(vec!["a".to_owned(), "b".to_owned()]));
        let bad = defs(json!([{"name": "a", "image": "x", "volumesFrom": [{"sourceContainer": "zz"}]}]));
        assert!(creation_order(&bad).is_err());
    }
}
