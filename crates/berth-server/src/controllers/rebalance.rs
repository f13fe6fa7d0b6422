//! Availability Zone rebalancing (`availabilityZoneRebalancing: ENABLED`), as pure decisions for the rollout
//! planner: once a REPLICA service is steady, its PRIMARY tasks should be spread evenly over the availability zones
//! it can run in (no two zones more than one task apart). When they are not, for example after a host of an
//! emptier zone comes back, the planner moves tasks one batch at a time within the deployment's bounds: it starts
//! tasks in the emptiest zone while `maximumPercent` leaves room, and once they are healthy stops as many in the
//! fullest zones; with no room above the desired count it stops first, as far as `minimumHealthyPercent` allows,
//! and starts the replacement in the emptiest zone.
//!
//! The zones are the `ecs.availability-zone` attributes of the instances that could run the service's tasks
//! (ACTIVE, connected, meeting its constraints); instances without one take no part. Events follow ECS's wording.
//! A rebalance in progress is remembered in the service's state, so its later passes continue it even though the
//! service is not steady meanwhile.

use std::collections::BTreeMap;

use super::rollout::{HostView, TaskView};

/// The attribute naming an instance's availability zone.
pub const ZONE_ATTRIBUTE: &str = "ecs.availability-zone";

/// The stop reason of tasks moved out of a crowded zone.
pub const REASON: &str = "Availability Zone rebalancing";

/// The PRIMARY tasks of a service by availability zone.
#[derive(Debug, Clone)]
pub struct Zones<'a> {
    /// Every zone the service can run in, with its tasks (zones without any included).
    by_zone: BTreeMap<String, Vec<&'a TaskView>>,
}

impl<'a> Zones<'a> {
    /// Sorts `tasks` by the zone of their instance. `None` when rebalancing cannot reason about them: fewer than
    /// two zones can take tasks, or a task sits on an instance outside those zones (a host gone quiet, one without
    /// a zone): the cluster is in flux and the service scheduler settles that first.
    pub fn of(tasks: &[&'a TaskView], hosts: &[HostView]) -> Option<Zones<'a>> {
        let mut by_zone: BTreeMap<String, Vec<&'a TaskView>> = hosts
            .iter()
            .filter(|h| h.daemon_eligible)
            .filter_map(|h| h.attributes.get(ZONE_ATTRIBUTE))
            .filter(|z| !z.is_empty())
            .map(|z| (z.clone(), Vec::new()))
            .collect();
        if by_zone.len() < 2 {
            return None;
        }
        for t in tasks {
            let host = hosts.iter().find(|h| h.daemon_eligible && Some(h.arn.as_str()) == t.instance.as_deref())?;
            let zone = host.attributes.get(ZONE_ATTRIBUTE)?;
            by_zone.get_mut(zone)?.push(t);
        }
        Some(Zones { by_zone })
    }

    /// No two zones more than one task apart.
    pub fn balanced(&self) -> bool {
        let counts = self.by_zone.values().map(Vec::len);
        counts.clone().max().unwrap_or(0) - counts.min().unwrap_or(0) <= 1
    }

    /// The zone with the fewest tasks (the first by name among equals).
    pub fn emptiest(&self) -> &str {
        self.by_zone.iter().min_by_key(|(_, tasks)| tasks.len()).map(|(z, _)| z.as_str()).unwrap_or_default()
    }

    /// How many tasks the emptiest zone lacks to reach an even share of `total` (at least one).
    pub fn deficit(&self, total: usize) -> usize {
        let share = total / self.by_zone.len();
        share.saturating_sub(self.by_zone[self.emptiest()].len()).max(1)
    }

    /// Up to `n` tasks to stop, each from the fullest zone at the time (`eligible` decides which may go), and the
    /// zone each leaves.
    pub fn take_from_fullest(&self, n: usize, eligible: impl Fn(&TaskView) -> bool) -> Vec<(String, String)> {
        let mut pool: BTreeMap<&str, Vec<&TaskView>> =
            self.by_zone.iter().map(|(z, tasks)| (z.as_str(), tasks.clone())).collect();
        let mut taken = Vec::new();
        while taken.len() < n {
            let Some((zone, tasks)) = pool.iter_mut().filter(|(_, t)| t.iter().any(|t| eligible(t))).max_by(
                |(za, a), (zb, b)| a.len().cmp(&b.len()).then(zb.cmp(za)), // the first zone by name among equals
            ) else {
                break;
            };
            let Some(i) = tasks.iter().rposition(|t| eligible(t)) else { break };
            taken.push((tasks.remove(i).id.clone(), (*zone).to_owned()));
        }
        taken
    }

    /// "2 tasks in lab-a and 0 tasks in lab-b", as ECS lists zones in its rebalancing events.
    pub fn describe(&self) -> String {
        let parts: Vec<String> =
            self.by_zone.iter().map(|(zone, tasks)| format!("{} tasks in {zone}", tasks.len())).collect();
        match parts.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => parts.concat(),
        }
    }
}

/// ECS's event when a rebalance begins.
pub fn started_event(service: &str, zones: &Zones) -> String {
    format!("service ({service}) is not AZ balanced with {}. AZ Rebalancing in progress.", zones.describe())
}

/// ECS's event when a rebalance completes.
pub fn completed_event(service: &str, zones: &Zones) -> String {
    format!("service ({service}) is AZ balanced with {}.", zones.describe())
}

/// ECS's event for tasks stopped to rebalance.
pub fn stopped_event(service: &str, zone: &str, ids: &[String]) -> String {
    let names: Vec<String> = ids.iter().map(|id| format!("(task {id})")).collect();
    format!(
        "(service {service}) has stopped {} running tasks in {zone} due to AZ rebalancing: {}.",
        ids.len(),
        names.join(" ")
    )
}

/// ECS's event for tasks started to rebalance.
pub fn launched_event(service: &str, zone: &str, ids: &[String]) -> String {
    let names: Vec<String> = ids.iter().map(|id| format!("(task {id})")).collect();
    format!("(service {service}) has started {} tasks in {zone} to AZ Rebalance: {}.", ids.len(), names.join(" "))
}

/// The placement constraint that keeps a start inside `zone`.
pub fn zone_expression(zone: &str) -> String {
    let quote = if zone.contains('\'') { '"' } else { '\'' };
    format!("attribute:{ZONE_ATTRIBUTE} == {quote}{zone}{quote}")
}

#[cfg(test)]
mod tests {
    use berth_model::task::TaskStatus;

    use super::*;

    fn host(arn: &str, zone: &str) -> HostView {
        HostView {
            arn: arn.into(),
            active: true,
            daemon_eligible: true,
            attributes: [(ZONE_ATTRIBUTE.to_owned(), zone.to_owned())].into(),
            ..Default::default()
        }
    }

    fn task(id: &str, instance: &str) -> TaskView {
        TaskView {
            id: id.into(),
            deployment: "d".into(),
            instance: Some(instance.into()),
            status: Some(TaskStatus::Running),
            desired_running: true,
            started_at: Some(0.0),
            health: None,
            stop_code: None,
        }
    }

    #[test]
    fn zones_count_every_zone_that_can_take_tasks() {
        let hosts = [host("h1", "a"), host("h2", "a"), host("h3", "b")];
        let tasks = [task("t1", "h1"), task("t2", "h2"), task("t3", "h1")];
        let refs: Vec<&TaskView> = tasks.iter().collect();
        let zones = Zones::of(&refs, &hosts).expect("two zones");
        assert!(!zones.balanced());
        assert_eq!(zones.emptiest(), "b");
        assert_eq!(zones.deficit(3), 1);
        assert_eq!(zones.describe(), "3 tasks in a and 0 tasks in b");
        let taken = zones.take_from_fullest(2, |_| true);
        assert_eq!(taken.len(), 2);
        assert!(taken.iter().all(|(_, z)| z == "a"));

        // One zone, or a task on an instance outside the zones: nothing to reason about.
        assert!(Zones::of(&refs, &hosts[..2]).is_none());
        let mut quiet = hosts.clone();
        quiet[0].daemon_eligible = false;
        assert!(Zones::of(&refs, &quiet).is_none());
    }

    #[test]
    fn balance_allows_one_task_of_difference() {
        let hosts = [host("h1", "a"), host("h2", "b"), host("h3", "c")];
        let tasks = [task("t1", "h1"), task("t2", "h1"), task("t3", "h2")];
        let refs: Vec<&TaskView> = tasks.iter().collect();
        let zones = Zones::of(&refs, &hosts).expect("three zones");
        assert!(!zones.balanced(), "2, 1 and 0");
        assert_eq!(zones.describe(), "2 tasks in a, 1 tasks in b and 0 tasks in c");
        let even = [task("t1", "h1"), task("t2", "h2"), task("t3", "h3"), task("t4", "h1")];
        let refs: Vec<&TaskView> = even.iter().collect();
        assert!(Zones::of(&refs, &hosts).expect("zones").balanced());
    }

    #[test]
    fn zone_expressions_parse() {
        for zone in ["us-east-1a", "lab a", "it's"] {
            let expression = zone_expression(zone);
            assert!(berth_model::query::parse(&expression).is_ok(), "{expression}");
        }
    }
}
