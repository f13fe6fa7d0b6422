//! Container logs on the host (issue 6): the agent keeps each container's stdout and stderr in the log stream the
//! `awslogs` driver would have written ([`berth_model::logs::destination`]), and serves them to the server's
//! CloudWatch Logs API over its link endpoint ([`crate::link`]).
//!
//! - [`store`]: the streams on disk, with caps and retention, and the reads (`GetLogEvents` tokens,
//!   `FilterLogEvents` merging, `DescribeLogStreams` details).
//! - [`pattern`]: CloudWatch filter patterns for `FilterLogEvents`.
//! - [`shipper`]: follows each container's output through the runtime into its stream, resuming after restarts.
//!
//! Which stream a container feeds is written on the container as labels ([`GROUP_LABEL`], [`STREAM_LABEL`]) when
//! it is created, so the shipper needs nothing but the runtime to find its work, also after an agent restart.

use std::collections::BTreeMap;

pub mod pattern;
pub mod shipper;
pub mod store;

pub use shipper::Shipper;
pub use store::{Limits, LogStore};

/// Label naming the log group a container's output goes to.
pub const GROUP_LABEL: &str = "berth.log-group";
/// Label naming the log stream a container's output goes to.
pub const STREAM_LABEL: &str = "berth.log-stream";

/// Default cap of all streams on a host together: 1 GiB.
pub const DEFAULT_HOST_MAX_BYTES: u64 = 1 << 30;
/// Default cap of one stream: 100 MiB.
pub const DEFAULT_STREAM_MAX_BYTES: u64 = 100 << 20;

/// Docker's own copy of output the agent ships (`json-file`): bounded, since the stream keeps it.
pub const DOCKER_MAX_SIZE: &str = "10m";
pub const DOCKER_MAX_FILE: &str = "3";

/// The log driver Docker gets for a container whose output Berth keeps (`awslogs`, or no logConfiguration):
/// `json-file`, which the agent can read back, with a bounded size.
pub fn json_file_driver() -> (String, BTreeMap<String, String>) {
    (
        "json-file".to_owned(),
        BTreeMap::from([
            ("max-size".to_owned(), DOCKER_MAX_SIZE.to_owned()),
            ("max-file".to_owned(), DOCKER_MAX_FILE.to_owned()),
        ]),
    )
}

/// The `(group, stream)` a container's labels name, when its output is shipped.
pub fn destination_of(labels: &BTreeMap<String, String>) -> Option<(String, String)> {
    Some((labels.get(GROUP_LABEL)?.clone(), labels.get(STREAM_LABEL)?.clone()))
}
