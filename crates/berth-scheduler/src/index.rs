//! The ranked candidates for one kind of request, kept up to date as the cluster changes, so that a decision
//! costs O(p log n) instead of a scan of every instance (p: the partitions below, 1 without `spread` on an
//! attribute).
//!
//! Each active instance is either *rejected* (with the ECS reason) or *ranked* under a key: one component per
//! strategy, then the default tie-breakers. Every component depends only on the instance itself, except `spread`
//! over an attribute, whose component is the number of the group's tasks on all active instances sharing the
//! attribute value: one placement changes it for thousands of instances. So ranked instances are partitioned by
//! their values of the spread attributes (e.g. one partition per availability zone). Within a partition those
//! components are equal, so it is ordered by the other components alone and never goes stale; a decision takes the
//! best of each partition, fills in the partition's current counts and keeps the best of those.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::node::{Demand, Node};
use crate::rules::{BinpackField, Constraint, MAX_STRATEGIES, SpreadField, Strategy};

/// Sort key of a candidate: lower is better.
pub(crate) type Key = [i64; MAX_STRATEGIES + 3];

/// Everything that decides where a task may go and how candidates rank. Requests equal in all of it share an
/// index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub demand: Demand,
    pub constraints: Vec<Constraint>,
    /// At most [`MAX_STRATEGIES`]; further ones are ignored.
    pub strategies: Vec<Strategy>,
}

/// Tasks of the group per value of one attribute (`None`: instances without the attribute or its value).
#[derive(Debug, Clone, Default)]
struct SpreadCounts {
    by_value: HashMap<String, i64>,
    absent: i64,
}

impl SpreadCounts {
    fn get(&self, value: Option<&str>) -> i64 {
        match value {
            Some(v) => self.by_value.get(v).copied().unwrap_or(0),
            None => self.absent,
        }
    }

    fn add(&mut self, value: Option<&str>, n: i64) {
        match value {
            Some(v) => *self.by_value.entry(v.to_owned()).or_default() += n,
            None => self.absent += n,
        }
    }
}

/// What one instance adds to the spread counts: per strategy, its attribute value and its tasks of the group.
type Share = Vec<(Option<String>, i64)>;

/// Ranked instances sharing their values of the spread attributes.
struct Partition {
    /// Per strategy position: the attribute value for `spread` over an attribute (`None`: absent), else `None`.
    values: Vec<Option<String>>,
    /// Keys with the spread-attribute components left at 0.
    ranked: BTreeSet<(Key, usize)>,
}

pub(crate) struct Index {
    pub(crate) request: Request,
    partitions: Vec<Partition>,
    partition_of: HashMap<Vec<Option<String>>, usize>,
    /// Each ranked slot's partition and key.
    entries: Vec<Option<(usize, Key)>>,
    rejected: BTreeMap<usize, &'static str>,
    /// Per strategy position; used only by `spread` over an attribute.
    spread: Vec<SpreadCounts>,
    has_attribute_spread: bool,
}

impl Index {
    pub(crate) fn build(request: Request, nodes: &[Option<Node>], seed: u64) -> Index {
        let strategies = request.strategies.len().min(MAX_STRATEGIES);
        let has_attribute_spread =
            request.strategies.iter().any(|s| matches!(s, Strategy::Spread(SpreadField::Attribute(_))));
        let mut index = Index {
            request,
            partitions: Vec::new(),
            partition_of: HashMap::new(),
            entries: vec![None; nodes.len()],
            rejected: BTreeMap::new(),
            spread: vec![SpreadCounts::default(); strategies],
            has_attribute_spread,
        };
        for node in nodes.iter().flatten() {
            let share = index.share(node);
            index.add_share(&share, 1);
        }
        for (slot, node) in nodes.iter().enumerate() {
            if let Some(node) = node {
                index.admit(slot, node, seed);
            }
        }
        index
    }

    /// The best candidate, or `None` when no instance can take the task.
    pub(crate) fn best(&self) -> Option<usize> {
        let mut best: Option<(Key, usize)> = None;
        for partition in &self.partitions {
            let Some(&(mut key, slot)) = partition.ranked.first() else { continue };
            for (i, value) in partition.values.iter().enumerate() {
                if let Strategy::Spread(SpreadField::Attribute(_)) = &self.request.strategies[i] {
                    key[i] = self.spread[i].get(value.as_deref());
                }
            }
            if best.is_none_or(|b| (key, slot) < b) {
                best = Some((key, slot));
            }
        }
        best.map(|(_, slot)| slot)
    }

    /// Why each active instance that cannot take the task is refused, by slot.
    pub(crate) fn rejections(&self) -> Vec<(usize, &'static str)> {
        self.rejected.iter().map(|(&slot, &reason)| (slot, reason)).collect()
    }

    /// Takes a node out before it changes (or is removed).
    pub(crate) fn detach(&mut self, slot: usize, node: &Node) {
        if let Some((partition, key)) = self.entries.get_mut(slot).and_then(Option::take) {
            self.partitions[partition].ranked.remove(&(key, slot));
        }
        self.rejected.remove(&slot);
        let share = self.share(node);
        self.add_share(&share, -1);
    }

    /// Puts a node back after it changed (`None`: it was removed).
    pub(crate) fn attach(&mut self, slot: usize, node: Option<&Node>, seed: u64) {
        if let Some(node) = node {
            let share = self.share(node);
            self.add_share(&share, 1);
            self.admit(slot, node, seed);
        }
    }

    fn admit(&mut self, slot: usize, node: &Node, seed: u64) {
        if self.entries.len() <= slot {
            self.entries.resize(slot + 1, None);
        }
        if !node.is_active() {
            return;
        }
        let demand = &self.request.demand;
        let why = node.rejection(demand).or_else(|| {
            self.request.constraints.iter().find(|c| !c.allows(node, &demand.group)).map(Constraint::reason)
        });
        if let Some(reason) = why {
            self.rejected.insert(slot, reason);
            return;
        }
        let values = self.spread_values(node);
        let partition = match self.partition_of.get(&values) {
            Some(&p) => p,
            None => {
                self.partitions.push(Partition { values: values.clone(), ranked: BTreeSet::new() });
                self.partition_of.insert(values, self.partitions.len() - 1);
                self.partitions.len() - 1
            }
        };
        let key = rank(&self.request, node, seed, |_, _| 0);
        self.partitions[partition].ranked.insert((key, slot));
        self.entries[slot] = Some((partition, key));
    }

    /// The node's value of each spread attribute, by strategy position (empty without such strategies).
    fn spread_values(&self, node: &Node) -> Vec<Option<String>> {
        if !self.has_attribute_spread {
            return Vec::new();
        }
        self.request
            .strategies
            .iter()
            .take(MAX_STRATEGIES)
            .map(|s| match s {
                Strategy::Spread(SpreadField::Attribute(name)) => {
                    node.instance.attribute(name).flatten().map(str::to_owned)
                }
                _ => None,
            })
            .collect()
    }

    fn share(&self, node: &Node) -> Share {
        if !node.is_active() {
            return Share::new();
        }
        let tasks = i64::from(node.tasks_in_group(&self.request.demand.group));
        self.spread_values(node)
            .into_iter()
            .zip(&self.request.strategies)
            .map(|(value, s)| match s {
                Strategy::Spread(SpreadField::Attribute(_)) => (value, tasks),
                _ => (None, 0),
            })
            .collect()
    }

    fn add_share(&mut self, share: &Share, sign: i64) {
        for (counts, (value, n)) in self.spread.iter_mut().zip(share) {
            if *n != 0 {
                counts.add(value.as_deref(), sign * n);
            }
        }
    }
}

/// The sort key of `node`: one component per strategy, then the defaults (fewest tasks of the group, most free
/// memory, fewest tasks). `spread_count(i, value)` gives strategy `i`'s count for an attribute value.
pub(crate) fn rank(
    request: &Request,
    node: &Node,
    seed: u64,
    spread_count: impl Fn(usize, Option<&str>) -> i64,
) -> Key {
    let group = &request.demand.group;
    let mut key = [0; MAX_STRATEGIES + 3];
    for (i, s) in request.strategies.iter().take(MAX_STRATEGIES).enumerate() {
        key[i] = match s {
            Strategy::Binpack(BinpackField::Cpu) => node.cpu,
            Strategy::Binpack(BinpackField::Memory) => node.memory,
            Strategy::Spread(SpreadField::Instance) => i64::from(node.tasks_in_group(group)),
            Strategy::Spread(SpreadField::Attribute(name)) => spread_count(i, node.instance.attribute(name).flatten()),
            // Mixing in the node's task count draws a new number for it after every placement.
            Strategy::Random => {
                (mix(seed ^ hash(node.arn()) ^ node.task_count().wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 1) as i64
            }
        };
    }
    key[MAX_STRATEGIES] = i64::from(node.tasks_in_group(group));
    key[MAX_STRATEGIES + 1] = -node.memory;
    key[MAX_STRATEGIES + 2] = node.instance.running_tasks_count + node.instance.pending_tasks_count;
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
