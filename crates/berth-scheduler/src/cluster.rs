//! A cluster's instances as placement keeps them between decisions: the nodes, by slot and by ARN, and the
//! indexes of the last few kinds of request. Every change to a node goes through `Cluster::change`, which keeps
//! the indexes current.

use std::collections::HashMap;

use crate::index::{Index, Request};
use crate::node::{Granted, Node, reason};
use crate::rules::Constraint;

/// How many kinds of request keep an index. A service or a batch of RunTasks repeats one kind; a few more cover
/// several at once without rebuilding each time.
const CACHED_INDEXES: usize = 4;

/// Where a task goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The chosen node's slot.
    pub node: usize,
    pub granted: Granted,
}

/// Why a task could not be placed: a reason per active instance, by slot.
pub type Rejections = Vec<(usize, &'static str)>;

#[derive(Default)]
pub struct Cluster {
    nodes: Vec<Option<Node>>,
    by_arn: HashMap<String, usize>,
    free_slots: Vec<usize>,
    /// Most recently used first.
    indexes: Vec<Index>,
    /// Drives the `random` strategy.
    seed: u64,
}

impl Cluster {
    pub fn new(seed: u64) -> Cluster {
        Cluster { seed, ..Cluster::default() }
    }

    /// Adds a node, or replaces the one with the same ARN; returns its slot.
    pub fn upsert(&mut self, node: Node) -> usize {
        if let Some(&slot) = self.by_arn.get(node.arn())
            && self.nodes.get(slot).is_some_and(Option::is_some)
        {
            self.change(slot, |n| *n = node);
            return slot;
        }
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.nodes.push(None);
                self.nodes.len() - 1
            }
        };
        self.by_arn.insert(node.arn().to_owned(), slot);
        for index in &mut self.indexes {
            index.attach(slot, Some(&node), self.seed);
        }
        self.nodes[slot] = Some(node);
        slot
    }

    pub fn remove(&mut self, arn: &str) -> Option<Node> {
        let slot = self.by_arn.remove(arn)?;
        let node = self.nodes.get_mut(slot)?.take()?;
        for index in &mut self.indexes {
            index.detach(slot, &node);
        }
        self.free_slots.push(slot);
        Some(node)
    }

    pub fn slot(&self, arn: &str) -> Option<usize> {
        self.by_arn.get(arn).copied()
    }

    pub fn node(&self, slot: usize) -> Option<&Node> {
        self.nodes.get(slot).and_then(Option::as_ref)
    }

    /// Every node with its slot.
    pub fn nodes(&self) -> impl Iterator<Item = (usize, &Node)> {
        self.nodes.iter().enumerate().filter_map(|(slot, n)| n.as_ref().map(|n| (slot, n)))
    }

    pub fn len(&self) -> usize {
        self.by_arn.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_arn.is_empty()
    }

    /// Places one task and takes its resources on the chosen node, so the next decision sees them taken.
    pub fn place(&mut self, request: &Request) -> Result<Placement, Rejections> {
        self.select_index(request);
        let index = &self.indexes[0];
        let Some(slot) = index.best() else {
            return Err(index.rejections());
        };
        let granted = self.change(slot, |node| node.reserve(&request.demand)).ok_or_else(Vec::new)?;
        Ok(Placement { node: slot, granted })
    }

    /// Places one task on the given node if it fits there (StartTask): the same checks as [`Cluster::place`]; a
    /// node that is not ACTIVE (DRAINING) is refused as INACTIVE.
    pub fn place_on(&mut self, slot: usize, request: &Request) -> Result<Placement, &'static str> {
        let node = self.node(slot).filter(|n| n.is_active()).ok_or(reason::INACTIVE)?;
        let demand = &request.demand;
        let why = node
            .rejection(demand)
            .or_else(|| request.constraints.iter().find(|c| !c.allows(node, &demand.group)).map(Constraint::reason));
        if let Some(reason) = why {
            return Err(reason);
        }
        let granted = self.change(slot, |node| node.reserve(demand)).ok_or(reason::INACTIVE)?;
        Ok(Placement { node: slot, granted })
    }

    /// Changes one node, keeping every index current (`None`: no node in that slot).
    fn change<R>(&mut self, slot: usize, f: impl FnOnce(&mut Node) -> R) -> Option<R> {
        let node = self.nodes.get_mut(slot)?.as_mut()?;
        for index in &mut self.indexes {
            index.detach(slot, node);
        }
        let result = f(node);
        for index in &mut self.indexes {
            index.attach(slot, Some(node), self.seed);
        }
        Some(result)
    }

    /// Makes the index for `request` the first one, building it when there is none.
    fn select_index(&mut self, request: &Request) {
        match self.indexes.iter().position(|i| i.request == *request) {
            Some(p) => self.indexes[..=p].rotate_right(1),
            None => {
                self.indexes.insert(0, Index::build(request.clone(), &self.nodes, self.seed));
                self.indexes.truncate(CACHED_INDEXES);
            }
        }
    }
}
