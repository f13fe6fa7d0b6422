//! Level-triggered loops that keep the store's state true to the world: the instance liveness controller, the
//! task reaper and the service controller ([`services`], deciding through [`rollout`] and [`rebalance`]). Each pass reads the state
//! afresh, so a missed tick or a restart loses nothing.

pub mod liveness;
pub mod reaper;
pub mod rebalance;
pub mod rollout;
pub mod services;
