//! Placement: which container instance each task goes to, decided from a snapshot of the cluster. Pure, no I/O:
//! the server keeps a [`Cluster`] current from the store, asks it for placements and commits them with compares
//! on the chosen instances' revisions (retrying on conflict).
//!
//! A decision filters instances by status (only ACTIVE), agent connection, `requiresAttributes`, free CPU,
//! memory, fixed and dynamic host ports and GPUs, then by placement constraints (`memberOf`, `distinctInstance`),
//! and takes the best of the rest by the placement strategies in order (`binpack`, `spread`, `random`), then by the
//! defaults: fewest tasks of the group, most free memory, fewest tasks. Without a strategy a batch therefore
//! spreads over the cluster.
//!
//! Cost: [`Cluster`] keeps, per kind of request, the feasible instances ordered by rank ([`index`]), so a decision
//! is O(p + log n) for n instances, where p is the number of distinct values of the spread attributes (1 without
//! `spread` on an attribute, 3 for spread over three availability zones); taking the task's resources re-ranks the
//! one chosen instance in O(log n) per cached index. The first decision of a new kind builds its index in
//! O(n log n).
//!
//! Modules: [`node`] (an instance's resources and fit), [`rules`] (constraints and strategies), [`index`] (the
//! ranking), [`cluster`] (nodes and indexes together).

pub mod cluster;
pub mod index;
pub mod node;
pub mod rules;

#[cfg(test)]
mod tests;

pub use cluster::{Cluster, Placement, Rejections};
pub use index::Request;
pub use node::{Demand, Granted, Node, reason};
pub use rules::{BinpackField, Constraint, MAX_STRATEGIES, SpreadField, Strategy};
