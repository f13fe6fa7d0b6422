//! The Berth control plane: the ECS JSON 1.1 API, SigV4 authentication and the resource handlers, all over the
//! revisioned store.
//!
//! Layout: [`wire`] is the HTTP edge (framing, auth, errors); [`dispatch`] maps operation names to handlers;
//! [`ops`] holds one module per resource family; [`state`] is typed access to the store; [`error`] maps every
//! failure to its ECS code once. [`bootstrap`] prepares a data directory (store, admin key, aws profile).
//!
//! [`controllers`] keep the stored state true to the world (agent liveness, the stopped-task reaper, services);
//! [`leader`] elects the one server that runs the service controller;
//! [`resources`] is the bookkeeping of what tasks hold on their instances.
//!
//! Current limitations: IAM policies are not enforced (every valid key is an administrator).

use std::sync::Arc;

use berth_model::arn::ArnScope;
use berth_store::Store;

pub mod account_settings;
pub mod api;
pub mod auth;
pub mod authz;
pub mod bootstrap;
pub mod compactor;
pub mod console;
pub mod controllers;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod iam;
pub mod leader;
pub mod liveness;
pub mod logs;
pub mod manifests;
pub mod metered_store;
pub mod metrics;
pub mod oidc;
pub mod ops;
pub mod paging;
pub mod placement;
pub mod resources;
pub mod sealing;
pub mod secrets;
pub mod ssm;
pub mod state;
pub mod sts;
pub mod utilization;
pub mod wire;

pub use api::Api;
pub use auth::AuthMode;

/// Settings of one control plane.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub region: String,
    pub account_id: String,
    pub auth: AuthMode,
    /// How long an agent may be silent before its instance is disconnected and its tasks are marked lost.
    pub agent_deadline: std::time::Duration,
    /// How long stopped tasks stay visible before they are deleted.
    pub task_retention: std::time::Duration,
    /// Berth's CA (`berth up` creates it): the server's link client trusts only it, and it issues agents' link
    /// certificates. `None`: plain HTTP (`--insecure-http`), links included.
    pub tls_authority: Option<Arc<berth_tls::pki::Authority>>,
    /// The file holding the key that seals secret values (made on first start); `None`: a key for this process
    /// only (tests).
    pub secrets_key: Option<std::path::PathBuf>,
    /// The OIDC issuer URL (`iss` of task tokens); `None`: the server's URL, given with
    /// `api.oidc.set_default_issuer` once known.
    pub oidc_issuer: Option<String>,
    /// How old the newest OIDC signing key gets before a new one is added.
    pub oidc_key_rotation: std::time::Duration,
}

impl ServerConfig {
    /// ECS's defaults: agents lost after 60 s of silence, stopped tasks kept for an hour.
    pub fn new(region: &str, account_id: &str, auth: AuthMode) -> Self {
        ServerConfig {
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            auth,
            agent_deadline: std::time::Duration::from_secs(60),
            task_retention: std::time::Duration::from_secs(3600),
            secrets_key: None,
            tls_authority: None,
            oidc_issuer: None,
            oidc_key_rotation: oidc::DEFAULT_ROTATION,
        }
    }
}

/// Builds the API context over a store.
pub async fn build_api(store: Arc<dyn Store>, config: &ServerConfig) -> Result<Arc<Api>, error::ApiError> {
    let metrics = Arc::new(metrics::ServerMetrics::new());
    let store = metered_store::MeteredStore::wrap(store, metrics.store_timings());
    let auth = auth::Auth::load(store.as_ref(), config.auth, &config.region).await?;
    let scope = ArnScope { region: config.region.clone(), account_id: config.account_id.clone() };
    let oidc =
        oidc::Oidc::new(config.oidc_issuer.as_deref(), config.oidc_key_rotation).map_err(error::ApiError::server)?;
    let manifests = Arc::new(manifests::Manifests::default());
    manifests.start(store.clone());
    let api = Arc::new(Api {
        store,
        scope,
        auth,
        agents: liveness::Liveness::default(),
        agent_deadline: config.agent_deadline,
        task_retention: config.task_retention,
        closing: tokio::sync::watch::Sender::new(false),
        placements: Default::default(),
        manifests,
        metrics,
        utilization: Default::default(),
        policies: Default::default(),
        link_client: logs::link::client(config.tls_authority.as_deref())?,
        tls_authority: config.tls_authority.clone(),
        sealer: match &config.secrets_key {
            Some(path) => sealing::Sealer::load_or_create(path).map_err(|e| error::ApiError::server(e.to_string()))?,
            None => sealing::Sealer::ephemeral(),
        },
        oidc,
    });
    // The issuer's first signing key, unless the store has one.
    oidc::keys::ensure(&api).await?;
    Ok(api)
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes in-flight requests. The store's history
/// compactor and the access key watch run alongside.
pub async fn serve(
    api: Arc<Api>,
    listener: berth_tls::Listener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let compactor = tokio::spawn(compactor::run(api.store.clone(), compactor::INTERVAL));
    let liveness = tokio::spawn(controllers::liveness::run(api.clone()));
    let reaper = tokio::spawn(controllers::reaper::run(api.clone()));
    let services = tokio::spawn(controllers::services::run(api.clone()));
    let oidc_keys = tokio::spawn(oidc::keys::run(api.clone()));
    let key_watch = {
        let api = api.clone();
        tokio::spawn(async move { api.auth.follow(api.store.as_ref()).await })
    };
    let iam_watch = {
        let api = api.clone();
        tokio::spawn(async move { api.policies.follow(api.store.as_ref()).await })
    };
    let closing = api.closing.clone();
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    let app = wire::router(api).into_make_service_with_connect_info::<berth_tls::Peer>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    compactor.abort();
    liveness.abort();
    reaper.abort();
    services.abort();
    oidc_keys.abort();
    key_watch.abort();
    iam_watch.abort();
    served
}
