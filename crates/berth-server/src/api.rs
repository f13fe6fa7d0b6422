//! The state every operation handler shares, and lookups several handlers need.

use std::sync::Arc;
use std::time::Duration;

use berth_model::arn::{self, ArnScope};
use berth_model::cluster::Cluster;
use berth_store::Store;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::liveness::Liveness;
use crate::state::{self, Versioned, keys};

/// The control plane's shared context.
pub struct Api {
    pub store: Arc<dyn Store>,
    pub scope: ArnScope,
    pub auth: Auth,
    /// When each instance's agent was last heard from.
    pub agents: Liveness,
    /// How long an agent may be silent before its instance is disconnected and its tasks are lost.
    pub agent_deadline: Duration,
    /// How long stopped tasks stay visible.
    pub task_retention: Duration,
    /// Turns true when the server begins shutting down, so long polls answer at once instead of holding the
    /// graceful shutdown open.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// Per cluster, the instances as placement sees them, kept current by a watch.
    pub placements: crate::placement::Views,
    /// Wakes the long polls of instances whose assignments changed.
    pub manifests: Arc<crate::manifests::Manifests>,
    /// The Prometheus metrics served at `/metrics`.
    pub metrics: Arc<crate::metrics::ServerMetrics>,
    /// Task utilization of the last hour, from the agents' stats reports.
    pub utilization: crate::utilization::Utilization,
    /// Parsed IAM policy documents, for authorization.
    pub policies: crate::authz::PolicyCache,
    /// Seals secret values at rest.
    pub sealer: crate::sealing::Sealer,
    /// Berth's CA, which issues the agents' link certificates; `None` when the server serves plain HTTP.
    pub tls_authority: Option<Arc<berth_tls::pki::Authority>>,
    /// The client the server calls agents' link endpoints with (trusting only [`Api::tls_authority`]).
    pub link_client: reqwest::Client,
    /// The OIDC issuer: its URL, key rotation period and opened signing keys.
    pub oidc: crate::oidc::Oidc,
}

/// The cluster an omitted `cluster` parameter means.
pub const DEFAULT_CLUSTER: &str = "default";

impl Api {
    /// Seconds since the epoch, as ECS timestamps are sent.
    pub fn now(&self) -> f64 {
        now()
    }

    /// The cluster name a `cluster` parameter (name, ARN or absent) refers to.
    pub fn cluster_name(cluster: Option<&str>) -> &str {
        match cluster {
            Some(c) if !c.is_empty() => arn::cluster_name(c),
            _ => DEFAULT_CLUSTER,
        }
    }

    /// The ACTIVE cluster a `cluster` parameter refers to, or `ClusterNotFoundException`.
    pub async fn active_cluster(&self, cluster: Option<&str>) -> ApiResult<Versioned<Cluster>> {
        let name = Self::cluster_name(cluster);
        match state::get::<Cluster>(self.store.as_ref(), &keys::cluster(name)).await? {
            Some(c) if c.value.status == "ACTIVE" => Ok(c),
            _ => Err(ApiError::cluster_not_found()),
        }
    }
}

/// Seconds since the epoch with millisecond precision.
pub fn now() -> f64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (since.as_millis() as f64) / 1000.0
}
