//! CreateService, UpdateService, DeleteService, DescribeServices, ListServices, ListServiceDeployments and
//! DescribeServiceDeployments: services as the user sees them.
//!
//! A service is stored under `services/<cluster>/<name>` with the controller's bookkeeping beside it
//! ([`ServiceState`]: deployment history, failure accounting, launch back-off). These handlers only record what the
//! user wants (a new deployment, a desired count, DRAINING); the service controller
//! (`controllers::services`) makes the tasks match and fills in the counts, rollout states and events.

use std::collections::BTreeSet;

use berth_model::arn::{self, ArnFormat};
use berth_model::names::{check_resource_name, check_tags, truncate};
use berth_model::service::{
    AzRebalancing, Deployment, DeploymentConfiguration, DeploymentController, PlacementConstraint, PlacementStrategy,
    Rollback, Service, ServiceDeployment, ServiceDeploymentAlarms, ServiceDeploymentCircuitBreaker,
    ServiceRevisionSummary,
};
use berth_model::{Failure, Tag};
use berth_store::Compare;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::account_settings::{self, Name, Principal};
use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ops::taskdefs;
use crate::ops::tasks::{check_launch_type, check_launch_type_filter, check_short_arn_tags, parse_placement};
use crate::paging::PageRequest;
use crate::state::{self, Versioned, keys};

/// A service as stored: the ECS service and the controller's bookkeeping (never returned).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredService {
    #[serde(flatten)]
    pub service: Service,
    #[serde(rename = "berthState", default)]
    pub state: ServiceState,
}

/// What the controller remembers between passes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceState {
    /// A digest of the CreateService request, so an identical retry returns the service instead of failing.
    pub request_hash: String,
    /// Every deployment, newest first, at most [`MAX_HISTORY`].
    pub history: Vec<DeploymentRecord>,
    pub throttle: Throttle,
    /// Whether the last pass found the service steady, so "has reached a steady state." is said once per arrival.
    pub steady: bool,
    /// An Availability Zone rebalance is under way (`controllers::rebalance`).
    #[serde(default)]
    pub rebalancing: bool,
    /// The service's tasks get short ARNs (`task/<id>`): the principal that created it had `taskLongArnFormat`
    /// disabled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub short_task_arns: bool,
}

impl ServiceState {
    /// The ARN format of the tasks the service starts.
    pub fn task_arn_format(&self) -> ArnFormat {
        if self.short_task_arns { ArnFormat::Short } else { ArnFormat::Long }
    }
}

/// ListServiceDeployments shows this many of a service's deployments.
pub const MAX_HISTORY: usize = 50;

/// Launch back-off for tasks that stop before reaching RUNNING (ECS's "unable to consistently start tasks").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttle {
    /// Tasks in a row that stopped before RUNNING.
    pub failures: u32,
    /// No launches before this time (seconds since the epoch).
    pub until: f64,
}

/// One deployment's history: the source of `ServiceDeployment`, and the controller's failure accounting.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    /// `ecs-svc/<digits>`, as in `Deployment.id`.
    pub id: String,
    pub task_definition: String,
    pub configuration: DeploymentConfiguration,
    pub created_at: f64,
    pub updated_at: f64,
    #[serde(default)]
    pub finished_at: Option<f64>,
    #[serde(default)]
    pub stopped_at: Option<f64>,
    /// A `ServiceDeploymentStatus`.
    pub status: String,
    #[serde(default)]
    pub status_reason: Option<String>,
    /// The deployments that were live when this one started, with their task counts then.
    #[serde(default)]
    pub sources: Vec<(String, i64, i64)>,
    #[serde(default)]
    pub rollback: Option<Rollback>,
    /// For a rollback: the failed deployment it replaces.
    #[serde(default)]
    pub rollback_of: Option<String>,
    pub failure_count: i64,
    pub threshold: i64,
    /// Tasks already counted as failed, stopped tasks already looked at, and tasks already seen healthy (for
    /// `resetOnHealthyTask`).
    #[serde(default)]
    pub failed: BTreeSet<String>,
    #[serde(default)]
    pub seen: BTreeSet<String>,
    #[serde(default)]
    pub healthy: BTreeSet<String>,
    /// The kind of the last failure counted ("to start" or "health checks"), for the breaker's message.
    #[serde(default)]
    pub last_failure: Option<String>,
}

impl StoredService {
    pub fn record_mut(&mut self, id: &str) -> Option<&mut DeploymentRecord> {
        self.state.history.iter_mut().find(|r| r.id == id)
    }

    pub fn record(&self, id: &str) -> Option<&DeploymentRecord> {
        self.state.history.iter().find(|r| r.id == id)
    }

    /// Starts a deployment of `task_definition`: the current PRIMARY turns ACTIVE (its rollout, if still in
    /// progress, is stopped), and the new one becomes PRIMARY with IN_PROGRESS. Returns its id.
    pub fn start_deployment(&mut self, task_definition: &str, now: f64, rollback_of: Option<&str>) -> String {
        let id = new_deployment_id();
        let service = &mut self.service;
        let mut sources = Vec::new();
        let superseded: Vec<String> = service.deployments.iter().map(|d| d.id.clone()).collect();
        for d in &mut service.deployments {
            d.status = "ACTIVE".into();
            d.updated_at = now;
            sources.push((d.id.clone(), d.running_count, d.pending_count));
        }
        let desired = service.desired_count;
        let config = service.deployment_configuration.clone();
        service.deployments.insert(
            0,
            Deployment {
                id: id.clone(),
                status: "PRIMARY".into(),
                task_definition: task_definition.to_owned(),
                desired_count: desired,
                pending_count: 0,
                running_count: 0,
                failed_tasks: 0,
                created_at: now,
                updated_at: now,
                launch_type: service.launch_type.clone(),
                rollout_state: "IN_PROGRESS".into(),
                rollout_state_reason: format!("ECS deployment {id} in progress."),
                network_configuration: service.network_configuration.clone(),
            },
        );
        service.task_definition = task_definition.to_owned();
        for old in superseded {
            if let Some(r) = self.record_mut(&old)
                && r.status == "IN_PROGRESS"
            {
                r.status = "STOPPED".into();
                r.status_reason = Some(format!("Service deployment stopped by the newer deployment {id}."));
                r.stopped_at = Some(now);
                r.updated_at = now;
            }
        }
        self.state.history.insert(
            0,
            DeploymentRecord {
                id: id.clone(),
                task_definition: task_definition.to_owned(),
                threshold: config.failure_threshold(desired),
                configuration: config,
                created_at: now,
                updated_at: now,
                finished_at: None,
                stopped_at: None,
                status: "IN_PROGRESS".into(),
                status_reason: None,
                sources,
                rollback: None,
                rollback_of: rollback_of.map(str::to_owned),
                failure_count: 0,
                failed: BTreeSet::new(),
                seen: BTreeSet::new(),
                healthy: BTreeSet::new(),
                last_failure: None,
            },
        );
        self.state.history.truncate(MAX_HISTORY);
        self.state.throttle = Throttle::default();
        self.state.steady = false;
        self.state.rebalancing = false;
        id
    }
}

/// `ecs-svc/` and 19 random digits, as ECS names deployments.
fn new_deployment_id() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10_u128.pow(19);
    format!("ecs-svc/{n:019}")
}

/// The digits of a deployment id, used in service deployment and revision ARNs.
pub fn deployment_digits(id: &str) -> &str {
    id.strip_prefix("ecs-svc/").unwrap_or(id)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceRequest {
    cluster: Option<String>,
    service_name: String,
    task_definition: Option<String>,
    desired_count: Option<i64>,
    client_token: Option<String>,
    launch_type: Option<String>,
    #[serde(default)]
    capacity_provider_strategy: Vec<Value>,
    platform_version: Option<String>,
    role: Option<String>,
    deployment_configuration: Option<DeploymentConfiguration>,
    #[serde(default)]
    placement_constraints: Vec<PlacementConstraint>,
    #[serde(default)]
    placement_strategy: Vec<PlacementStrategy>,
    network_configuration: Option<Value>,
    health_check_grace_period_seconds: Option<i64>,
    scheduling_strategy: Option<String>,
    deployment_controller: Option<DeploymentController>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(rename = "enableECSManagedTags")]
    enable_ecs_managed_tags: Option<bool>,
    propagate_tags: Option<String>,
    enable_execute_command: Option<bool>,
    availability_zone_rebalancing: Option<String>,
    #[serde(flatten)]
    unsupported: Unsupported,
}

/// Members that configure AWS integrations Berth does not have; each is refused when given.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Unsupported {
    #[serde(default)]
    load_balancers: Vec<Value>,
    #[serde(default)]
    service_registries: Vec<Value>,
    service_connect_configuration: Option<Value>,
    #[serde(default)]
    volume_configurations: Vec<Value>,
    #[serde(default)]
    vpc_lattice_configurations: Vec<Value>,
}

impl Unsupported {
    fn check(&self) -> ApiResult<()> {
        let given = [
            ("loadBalancers", !self.load_balancers.is_empty()),
            ("serviceRegistries", !self.service_registries.is_empty()),
            ("serviceConnectConfiguration", self.service_connect_configuration.is_some()),
            ("volumeConfigurations", !self.volume_configurations.is_empty()),
            ("vpcLatticeConfigurations", !self.vpc_lattice_configurations.is_empty()),
        ];
        match given.iter().find(|(_, set)| *set) {
            Some((name, _)) => Err(unsupported(&format!(
                "{name} is not supported by Berth: it has no load balancers, service discovery or EBS volumes."
            ))),
            None => Ok(()),
        }
    }
}

fn unsupported(message: &str) -> ApiError {
    ApiError::new(ErrorCode::UnsupportedFeatureException, message)
}

/// The service's ARN takes the caller's `serviceLongArnFormat`, its tasks' the caller's `taskLongArnFormat`.
pub async fn create_service(api: &Api, caller: &Caller, req: CreateServiceRequest) -> ApiResult<Value> {
    check_resource_name("serviceName", &req.service_name)?;
    req.unsupported.check()?;
    check_common(&req.capacity_provider_strategy, req.platform_version.as_deref(), req.role.as_deref())?;
    if let Some(c) = &req.deployment_controller
        && c.kind != "ECS"
    {
        return match c.kind.as_str() {
            "CODE_DEPLOY" | "EXTERNAL" => Err(unsupported(&format!(
                "deploymentController {} is not supported by Berth: it runs the ECS rolling update controller.",
                c.kind
            ))),
            other => Err(ApiError::invalid(format!(
                "deploymentController.type '{}' is not valid. Valid values: ECS, CODE_DEPLOY, EXTERNAL.",
                truncate(other, 64)
            ))),
        };
    }
    let scheduling = req.scheduling_strategy.clone().unwrap_or_else(|| "REPLICA".into());
    let daemon = match scheduling.as_str() {
        "REPLICA" => false,
        "DAEMON" => true,
        other => {
            return Err(ApiError::invalid(format!(
                "schedulingStrategy '{}' is not valid. Valid values: REPLICA, DAEMON.",
                truncate(other, 64)
            )));
        }
    };
    let launch_type = check_launch_type(req.launch_type.as_deref())?;
    let config = check_deployment_configuration(req.deployment_configuration.clone(), daemon)?;
    let desired = match (daemon, req.desired_count) {
        (false, None) => {
            return Err(ApiError::invalid(
                "desiredCount is required for a service with the REPLICA scheduling strategy.",
            ));
        }
        (_, Some(n)) if n < 0 => return Err(ApiError::invalid(format!("desiredCount must not be negative, got {n}."))),
        (true, Some(_)) => {
            return Err(ApiError::invalid(
                "desiredCount is not allowed with the DAEMON scheduling strategy: it runs one task per instance.",
            ));
        }
        (false, Some(n)) => n,
        (true, None) => 0,
    };
    parse_placement(&req.placement_constraints, &req.placement_strategy)?;
    if daemon && !req.placement_strategy.is_empty() {
        return Err(ApiError::invalid("Placement strategies are not supported with the DAEMON scheduling strategy."));
    }
    check_grace_period(req.health_check_grace_period_seconds)?;
    check_tags(&req.tags)?;
    let propagate_tags = check_propagate_tags(req.propagate_tags.as_deref())?;
    let rebalancing = match req.availability_zone_rebalancing.as_deref() {
        Some(given) => check_rebalancing(given, daemon)?,
        None => default_rebalancing(daemon, &req.placement_strategy),
    };
    if let Some(t) = &req.client_token
        && (t.is_empty() || t.len() > 64)
    {
        return Err(ApiError::invalid("clientToken must be 1 to 64 characters."));
    }
    let service_format = account_settings::arn_format(api, caller, Name::ServiceLongArnFormat).await?;
    if service_format == ArnFormat::Short && !req.tags.is_empty() {
        return Err(account_settings::short_arn_tags_on_create());
    }
    let task_format = account_settings::arn_format(api, caller, Name::TaskLongArnFormat).await?;
    if task_format == ArnFormat::Short {
        check_short_arn_tags(&[], Some(propagate_tags.as_str()), req.enable_ecs_managed_tags)?;
    }
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    let Some(reference) = req.task_definition.as_deref() else {
        return Err(ApiError::invalid("taskDefinition is required for a service with the ECS deployment controller."));
    };
    let definition = active_definition(api, reference, &launch_type, req.network_configuration.is_some()).await?;
    let hash = hex::encode(Sha256::digest(format!("{req:?}")));

    let key = keys::service(&cluster, &req.service_name);
    let existing = state::get::<StoredService>(api.store.as_ref(), &key).await?;
    let compare = match &existing {
        Some(e) if e.value.service.status == "ACTIVE" => {
            if e.value.state.request_hash == hash {
                return Ok(json!({ "service": present(e.value.service.clone(), true) }));
            }
            return Err(ApiError::invalid("Creation of service was not idempotent."));
        }
        Some(e) if e.value.service.status == "DRAINING" => {
            return Err(ApiError::invalid("Unable to Start a service that is still Draining."));
        }
        Some(e) => e.unchanged(),
        None => Compare::absent(key.clone()),
    };
    let now = api.now();
    let mut stored = StoredService {
        service: Service {
            service_arn: api.scope.service_as(service_format, &cluster, &req.service_name),
            service_name: req.service_name.clone(),
            cluster_arn: api.scope.cluster(&cluster),
            status: "ACTIVE".into(),
            desired_count: desired,
            running_count: 0,
            pending_count: 0,
            launch_type,
            task_definition: String::new(),
            deployment_configuration: config,
            deployments: vec![],
            events: vec![],
            created_at: now,
            created_by: Some(Principal::of(caller).arn(api).await),
            placement_constraints: req.placement_constraints.clone(),
            placement_strategy: req.placement_strategy.clone(),
            // ECS shows 0 for a service created without one.
            health_check_grace_period_seconds: Some(req.health_check_grace_period_seconds.unwrap_or(0)),
            scheduling_strategy: scheduling,
            deployment_controller: DeploymentController { kind: "ECS".into() },
            tags: Some(req.tags.clone()),
            enable_ecs_managed_tags: req.enable_ecs_managed_tags.unwrap_or(false),
            propagate_tags,
            enable_execute_command: req.enable_execute_command.unwrap_or(false),
            network_configuration: req.network_configuration.clone().map(with_network_defaults),
            current_service_deployment: None,
            load_balancers: vec![],
            service_registries: vec![],
            availability_zone_rebalancing: rebalancing,
        },
        state: ServiceState {
            request_hash: hash,
            short_task_arns: task_format == ArnFormat::Short,
            ..ServiceState::default()
        },
    };
    let arn = definition.task_definition_arn.clone().unwrap_or_default();
    let id = stored.start_deployment(&arn, now, None);
    stored.service.current_service_deployment =
        Some(api.scope.service_deployment(&cluster, &req.service_name, deployment_digits(&id)));
    let result = api.store.txn(vec![compare], vec![state::put(&key, &stored)?]).await?;
    if !result.succeeded {
        return Err(ApiError::invalid("Creation of service was not idempotent."));
    }
    Ok(json!({ "service": present(stored.service, true) }))
}

/// Capacity providers, Fargate platform versions and load balancer roles: AWS integrations Berth does not have.
fn check_common(capacity_providers: &[Value], platform_version: Option<&str>, role: Option<&str>) -> ApiResult<()> {
    if !capacity_providers.is_empty() {
        return Err(unsupported(
            "capacityProviderStrategy is not supported by Berth: tasks run on the cluster's registered container instances (launchType EC2 or EXTERNAL).",
        ));
    }
    if platform_version.is_some() {
        return Err(ApiError::invalid("platformVersion applies only to the FARGATE launch type."));
    }
    if role.is_some() {
        return Err(unsupported(
            "role is not supported by Berth: it applies to load balancers, which Berth does not have.",
        ));
    }
    Ok(())
}

/// Validates a deployment configuration and fills in ECS's defaults (REPLICA 200/100, DAEMON 100/0).
fn check_deployment_configuration(
    given: Option<DeploymentConfiguration>,
    daemon: bool,
) -> ApiResult<DeploymentConfiguration> {
    let mut c = given.unwrap_or_default();
    let (default_max, default_min) = if daemon { (100, 0) } else { (200, 100) };
    let max = *c.maximum_percent.get_or_insert(default_max);
    let min = *c.minimum_healthy_percent.get_or_insert(default_min);
    if !(0..=100).contains(&min) {
        return Err(ApiError::invalid(format!(
            "deploymentConfiguration.minimumHealthyPercent must be between 0 and 100, got {min}."
        )));
    }
    if daemon && max != 100 {
        return Err(ApiError::invalid(format!(
            "deploymentConfiguration.maximumPercent must be 100 for the DAEMON scheduling strategy, got {max}."
        )));
    }
    if !(100..=2000).contains(&max) {
        return Err(ApiError::invalid(format!(
            "deploymentConfiguration.maximumPercent must be between 100 and 2000, got {max}."
        )));
    }
    let breaker = c.deployment_circuit_breaker.get_or_insert(berth_model::service::DeploymentCircuitBreaker {
        enable: false,
        rollback: false,
        reset_on_healthy_task: None,
        threshold_configuration: None,
    });
    if let Some(t) = &breaker.threshold_configuration {
        let ok_kind = matches!(t.kind.as_str(), "COUNT" | "BOUNDED_PERCENT" | "UNBOUNDED_PERCENT");
        if !ok_kind {
            return Err(ApiError::invalid(format!(
                "deploymentConfiguration.deploymentCircuitBreaker.thresholdConfiguration.type '{}' is not valid. Valid values: COUNT, BOUNDED_PERCENT, UNBOUNDED_PERCENT.",
                truncate(&t.kind, 64)
            )));
        }
        if t.value < 1 {
            return Err(ApiError::invalid(
                "deploymentConfiguration.deploymentCircuitBreaker.thresholdConfiguration.value must be at least 1.",
            ));
        }
    }
    if c.alarms.as_ref().and_then(|a| a.get("enable")).and_then(Value::as_bool) == Some(true) {
        return Err(unsupported(
            "deploymentConfiguration.alarms is not supported by Berth: it has no CloudWatch alarms.",
        ));
    }
    match c.strategy.get_or_insert_with(|| "ROLLING".into()).as_str() {
        "ROLLING" => {}
        other @ ("BLUE_GREEN" | "LINEAR" | "CANARY") => {
            return Err(unsupported(&format!(
                "deploymentConfiguration.strategy {other} is not supported by Berth: it deploys with ROLLING updates."
            )));
        }
        other => {
            return Err(ApiError::invalid(format!(
                "deploymentConfiguration.strategy '{}' is not valid. Valid values: ROLLING, BLUE_GREEN, LINEAR, CANARY.",
                truncate(other, 64)
            )));
        }
    }
    if c.lifecycle_hooks.is_some() || c.linear_configuration.is_some() || c.canary_configuration.is_some() {
        return Err(unsupported(
            "deploymentConfiguration lifecycle hooks, linear and canary configurations are not supported by Berth.",
        ));
    }
    Ok(c)
}

fn check_grace_period(seconds: Option<i64>) -> ApiResult<()> {
    match seconds {
        Some(s) if !(0..=i64::from(i32::MAX)).contains(&s) => {
            Err(ApiError::invalid(format!("healthCheckGracePeriodSeconds must be between 0 and 2147483647, got {s}.")))
        }
        _ => Ok(()),
    }
}

/// An `availabilityZoneRebalancing` value; DAEMON services run one task per instance, so there is nothing to
/// rebalance and ENABLED is refused for them.
fn check_rebalancing(value: &str, daemon: bool) -> ApiResult<AzRebalancing> {
    match AzRebalancing::parse(value) {
        Some(AzRebalancing::Enabled) if daemon => Err(ApiError::invalid(
            "availabilityZoneRebalancing ENABLED is not supported with the DAEMON scheduling strategy.",
        )),
        Some(r) => Ok(r),
        None => Err(ApiError::invalid(format!(
            "availabilityZoneRebalancing '{}' is not valid. Valid values: ENABLED, DISABLED.",
            truncate(value, 64)
        ))),
    }
}

/// What CreateService picks when the request names none: ENABLED, as ECS does for services that can be rebalanced;
/// DISABLED for DAEMON services and for those whose first placement strategy is binpack (ECS keeps those off, so
/// that rebalancing does not undo the packing).
fn default_rebalancing(daemon: bool, strategies: &[PlacementStrategy]) -> AzRebalancing {
    if daemon || strategies.first().is_some_and(|s| s.kind == "binpack") {
        AzRebalancing::Disabled
    } else {
        AzRebalancing::Enabled
    }
}

/// A network configuration as ECS stores it: `awsvpcConfiguration.assignPublicIp` is DISABLED unless given.
fn with_network_defaults(mut config: Value) -> Value {
    if let Some(awsvpc) = config.get_mut("awsvpcConfiguration").and_then(Value::as_object_mut) {
        awsvpc.entry("assignPublicIp").or_insert_with(|| json!("DISABLED"));
    }
    config
}

fn check_propagate_tags(value: Option<&str>) -> ApiResult<String> {
    match value {
        None => Ok("NONE".into()),
        Some(v @ ("TASK_DEFINITION" | "SERVICE" | "NONE")) => Ok(v.to_owned()),
        Some(other) => Err(ApiError::invalid(format!(
            "propagateTags '{}' is not valid. Valid values: TASK_DEFINITION, SERVICE, NONE.",
            truncate(other, 64)
        ))),
    }
}

/// The ACTIVE task definition a service is asked to run, checked against its launch type and network settings.
async fn active_definition(
    api: &Api,
    reference: &str,
    launch_type: &str,
    has_network_configuration: bool,
) -> ApiResult<berth_model::taskdef::TaskDefinition> {
    let Some(stored) = taskdefs::find(api, reference).await? else {
        return Err(ApiError::client("Unable to describe task definition."));
    };
    let definition = stored.value.definition;
    if definition.status != "ACTIVE" {
        return Err(ApiError::client(format!(
            "TaskDefinition is inactive: {} cannot start new tasks.",
            definition.task_definition_arn.as_deref().unwrap_or_default()
        )));
    }
    if !definition.is_compatible_with(launch_type) {
        return Err(ApiError::invalid(format!("Task definition does not support launch_type {launch_type}.")));
    }
    if definition.network_mode() == "awsvpc" && !has_network_configuration {
        return Err(ApiError::invalid(
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        ));
    }
    Ok(definition)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateServiceRequest {
    cluster: Option<String>,
    service: String,
    desired_count: Option<i64>,
    task_definition: Option<String>,
    #[serde(default)]
    capacity_provider_strategy: Vec<Value>,
    deployment_configuration: Option<DeploymentConfiguration>,
    network_configuration: Option<Value>,
    placement_constraints: Option<Vec<PlacementConstraint>>,
    placement_strategy: Option<Vec<PlacementStrategy>>,
    platform_version: Option<String>,
    #[serde(default)]
    force_new_deployment: bool,
    health_check_grace_period_seconds: Option<i64>,
    deployment_controller: Option<DeploymentController>,
    enable_execute_command: Option<bool>,
    #[serde(rename = "enableECSManagedTags")]
    enable_ecs_managed_tags: Option<bool>,
    propagate_tags: Option<String>,
    availability_zone_rebalancing: Option<String>,
    #[serde(flatten)]
    unsupported: Unsupported,
}

pub async fn update_service(api: &Api, req: UpdateServiceRequest) -> ApiResult<Value> {
    req.unsupported.check()?;
    check_common(&req.capacity_provider_strategy, req.platform_version.as_deref(), None)?;
    if req.deployment_controller.as_ref().is_some_and(|c| c.kind != "ECS") {
        return Err(unsupported("Berth services use the ECS deployment controller only."));
    }
    if let Some(n) = req.desired_count
        && n < 0
    {
        return Err(ApiError::invalid(format!("desiredCount must not be negative, got {n}.")));
    }
    parse_placement(
        req.placement_constraints.as_deref().unwrap_or_default(),
        req.placement_strategy.as_deref().unwrap_or_default(),
    )?;
    check_grace_period(req.health_check_grace_period_seconds)?;
    let propagate = req.propagate_tags.as_deref().map(|p| check_propagate_tags(Some(p))).transpose()?;
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    let key = service_key(&cluster, &req.service)?;
    let store = api.store.as_ref();
    // Resolved once: a bare family means its latest ACTIVE revision at the time of the call.
    let resolved = match &req.task_definition {
        Some(reference) => {
            let Some(current) = state::get::<StoredService>(store, &key).await? else {
                return Err(ApiError::service_not_found());
            };
            let s = &current.value.service;
            let has_network = req.network_configuration.is_some() || s.network_configuration.is_some();
            active_definition(api, reference, &s.launch_type, has_network).await?.task_definition_arn
        }
        None => None,
    };
    state::commit(store, || async {
        let Some(current) = state::get::<StoredService>(store, &key).await? else {
            return Err(ApiError::service_not_found());
        };
        let mut stored = current.value.clone();
        let service = &mut stored.service;
        if service.status != "ACTIVE" {
            return Err(ApiError::service_not_active());
        }
        let daemon = service.is_daemon();
        // Changing it does not start a deployment.
        if let Some(given) = req.availability_zone_rebalancing.as_deref() {
            service.availability_zone_rebalancing = check_rebalancing(given, daemon)?;
        }
        if daemon && req.desired_count.is_some() {
            return Err(ApiError::invalid(
                "desiredCount is not allowed with the DAEMON scheduling strategy: it runs one task per instance.",
            ));
        }
        if daemon && req.placement_strategy.as_ref().is_some_and(|s| !s.is_empty()) {
            return Err(ApiError::invalid(
                "Placement strategies are not supported with the DAEMON scheduling strategy.",
            ));
        }
        let mut redeploy = req.force_new_deployment;
        if let Some(given) = &req.deployment_configuration {
            let mut merged = service.deployment_configuration.clone();
            if given.maximum_percent.is_some() {
                merged.maximum_percent = given.maximum_percent;
            }
            if given.minimum_healthy_percent.is_some() {
                merged.minimum_healthy_percent = given.minimum_healthy_percent;
            }
            if given.deployment_circuit_breaker.is_some() {
                merged.deployment_circuit_breaker.clone_from(&given.deployment_circuit_breaker);
            }
            merged.alarms.clone_from(&given.alarms);
            merged.strategy.clone_from(&given.strategy);
            merged.lifecycle_hooks.clone_from(&given.lifecycle_hooks);
            merged.linear_configuration.clone_from(&given.linear_configuration);
            merged.canary_configuration.clone_from(&given.canary_configuration);
            service.deployment_configuration = check_deployment_configuration(Some(merged), daemon)?;
        }
        if let Some(n) = req.desired_count {
            service.desired_count = n;
            if let Some(primary) = service.deployments.first_mut() {
                primary.desired_count = n;
            }
        }
        if let Some(c) = &req.placement_constraints
            && c != &service.placement_constraints
        {
            service.placement_constraints = c.clone();
            redeploy = true;
        }
        if let Some(s) = &req.placement_strategy
            && s != &service.placement_strategy
        {
            service.placement_strategy = s.clone();
            redeploy = true;
        }
        if let Some(n) = req.network_configuration.clone().map(with_network_defaults)
            && service.network_configuration.as_ref() != Some(&n)
        {
            service.network_configuration = Some(n);
            redeploy = true;
        }
        if req.health_check_grace_period_seconds.is_some() {
            service.health_check_grace_period_seconds = req.health_check_grace_period_seconds;
        }
        if let Some(e) = req.enable_execute_command {
            service.enable_execute_command = e;
        }
        if stored.state.short_task_arns {
            check_short_arn_tags(&[], propagate.as_deref(), req.enable_ecs_managed_tags)?;
        }
        if let Some(e) = req.enable_ecs_managed_tags {
            service.enable_ecs_managed_tags = e;
        }
        if let Some(p) = &propagate {
            service.propagate_tags = p.clone();
        }
        let mut target = service.task_definition.clone();
        if let Some(arn) = &resolved
            && arn != &service.task_definition
        {
            target = arn.clone();
            redeploy = true;
        }
        let now = api.now();
        stored.state.throttle = Throttle::default();
        stored.state.steady = false;
        if redeploy {
            let id = stored.start_deployment(&target, now, None);
            stored.service.current_service_deployment =
                Some(api.scope.service_deployment(&cluster, &stored.service.service_name, deployment_digits(&id)));
        }
        let result = present(stored.service.clone(), true);
        Ok((vec![current.unchanged()], vec![state::put(&key, &stored)?], result))
    })
    .await
    .map(|service| json!({ "service": service }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteServiceRequest {
    cluster: Option<String>,
    service: String,
    force: Option<bool>,
}

pub async fn delete_service(api: &Api, req: DeleteServiceRequest) -> ApiResult<Value> {
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    let key = service_key(&cluster, &req.service)?;
    let store = api.store.as_ref();
    state::commit(store, || async {
        let Some(current) = state::get::<StoredService>(store, &key).await? else {
            return Err(ApiError::service_not_found());
        };
        let mut stored = current.value.clone();
        // Deleting again answers what is there, as ECS does.
        if stored.service.status != "ACTIVE" {
            return Ok((vec![], vec![], present(stored.service, true)));
        }
        let service = &mut stored.service;
        if !service.is_daemon() && service.desired_count > 0 && req.force != Some(true) {
            return Err(ApiError::invalid("The service cannot be stopped while it is scaled above 0."));
        }
        service.status = "DRAINING".into();
        service.desired_count = 0;
        for d in &mut service.deployments {
            d.desired_count = 0;
        }
        stored.state.steady = false;
        let result = present(stored.service.clone(), true);
        Ok((vec![current.unchanged()], vec![state::put(&key, &stored)?], result))
    })
    .await
    .map(|service| json!({ "service": service }))
}

/// The store key of a service reference (name or ARN) in `cluster`.
fn service_key(cluster: &str, reference: &str) -> ApiResult<String> {
    let (other, name) = arn::scoped_id(reference, "service");
    if other.is_some_and(|c| c != cluster) {
        return Err(ApiError::invalid(format!(
            "service '{}' belongs to another cluster than the one named.",
            truncate(reference, 256)
        )));
    }
    if name.is_empty() || name.contains('/') {
        return Err(ApiError::invalid(format!("service '{}' is not a service name or ARN.", truncate(reference, 256))));
    }
    Ok(keys::service(cluster, name))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeServicesRequest {
    cluster: Option<String>,
    services: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

pub async fn describe_services(api: &Api, req: DescribeServicesRequest) -> ApiResult<Value> {
    if req.services.is_empty() || req.services.len() > 10 {
        return Err(ApiError::invalid(format!(
            "services: between 1 and 10 services per call, got {}.",
            req.services.len()
        )));
    }
    let with_tags = crate::ops::tags::include_tags(&req.include)?;
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    let mut services = Vec::new();
    let mut failures = Vec::new();
    for reference in &req.services {
        let found = match service_key(&cluster, reference) {
            Ok(key) => state::get::<StoredService>(api.store.as_ref(), &key).await?,
            Err(_) => None,
        };
        match found {
            Some(s) => services.push(present(s.value.service, with_tags)),
            None if arn::resource_part(reference).is_some() => failures.push(Failure::missing(reference.clone())),
            None => failures.push(Failure::missing(api.scope.service(&cluster, reference))),
        }
    }
    Ok(json!({ "services": services, "failures": failures }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServicesRequest {
    cluster: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    launch_type: Option<String>,
    scheduling_strategy: Option<String>,
    resource_management_type: Option<String>,
}

pub async fn list_services(api: &Api, req: ListServicesRequest) -> ApiResult<Value> {
    let page = PageRequest::new(req.next_token.as_deref(), req.max_results, 10)?;
    if let Some(l) = &req.launch_type {
        check_launch_type_filter(l)?;
    }
    if let Some(s) = &req.scheduling_strategy
        && !matches!(s.as_str(), "REPLICA" | "DAEMON")
    {
        return Err(ApiError::invalid(format!(
            "schedulingStrategy '{}' is not valid. Valid values: REPLICA, DAEMON.",
            truncate(s, 64)
        )));
    }
    if let Some(r) = &req.resource_management_type
        && !matches!(r.as_str(), "CUSTOMER" | "ECS")
    {
        return Err(ApiError::invalid(format!(
            "resourceManagementType '{}' is not valid. Valid values: CUSTOMER, ECS.",
            truncate(r, 64)
        )));
    }
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    let all = state::list::<StoredService>(api.store.as_ref(), &keys::services_of(&cluster)).await?;
    let matching: Vec<Versioned<StoredService>> = all
        .into_iter()
        .filter(|s| {
            let s = &s.value.service;
            s.status == "ACTIVE"
                && req.launch_type.as_deref().is_none_or(|l| s.launch_type == l)
                && req.scheduling_strategy.as_deref().is_none_or(|st| s.scheduling_strategy == st)
                // Berth manages no services on the user's behalf.
                && req.resource_management_type.as_deref().is_none_or(|r| r == "CUSTOMER")
        })
        .collect();
    let (items, next) = page.apply(matching, |s| s.key.clone());
    let arns: Vec<String> = items.into_iter().map(|s| s.value.service.service_arn).collect();
    Ok(json!({ "serviceArns": arns, "nextToken": next }))
}

/// A service as Describe shows it; tags only when asked for.
pub fn present(mut service: Service, with_tags: bool) -> Service {
    if !with_tags {
        service.tags = None;
    } else if service.tags.is_none() {
        service.tags = Some(vec![]);
    }
    service
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAtFilter {
    before: Option<f64>,
    after: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServiceDeploymentsRequest {
    service: String,
    cluster: Option<String>,
    #[serde(default)]
    status: Vec<String>,
    created_at: Option<CreatedAtFilter>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// The values of `ServiceDeploymentStatus`.
const DEPLOYMENT_STATUSES: [&str; 9] = [
    "PENDING",
    "SUCCESSFUL",
    "STOPPED",
    "STOP_REQUESTED",
    "IN_PROGRESS",
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
];

pub async fn list_service_deployments(api: &Api, req: ListServiceDeploymentsRequest) -> ApiResult<Value> {
    let page = PageRequest::new(req.next_token.as_deref(), req.max_results, 20)?;
    for s in &req.status {
        if !DEPLOYMENT_STATUSES.contains(&s.as_str()) {
            return Err(ApiError::invalid(format!(
                "status '{}' is not valid. Valid values: {}.",
                truncate(s, 64),
                DEPLOYMENT_STATUSES.join(", ")
            )));
        }
    }
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    let key = service_key(&cluster, &req.service)?;
    let Some(stored) = state::get::<StoredService>(api.store.as_ref(), &key).await? else {
        return Err(ApiError::service_not_found());
    };
    let stored = stored.value;
    let (before, after) = match &req.created_at {
        Some(f) => (f.before, f.after),
        None => (None, None),
    };
    // History is newest first; the token is the creation time (fixed width) and id of the last one shown.
    let matching: Vec<&DeploymentRecord> = stored
        .state
        .history
        .iter()
        .filter(|r| req.status.is_empty() || req.status.contains(&r.status))
        .filter(|r| before.is_none_or(|b| r.created_at < b) && after.is_none_or(|a| r.created_at > a))
        .collect();
    let (items, next) = page.apply_ordered(matching, |r| format!("{:020.3}|{}", r.created_at, r.id), true);
    let briefs: Vec<Value> = items
        .into_iter()
        .map(|r| {
            let d = service_deployment(api, &stored, r);
            json!({
                "serviceDeploymentArn": d.service_deployment_arn,
                "serviceArn": d.service_arn,
                "clusterArn": d.cluster_arn,
                "startedAt": d.started_at,
                "createdAt": d.created_at,
                "finishedAt": d.finished_at,
                "targetServiceRevisionArn": d.target_service_revision.arn,
                "status": d.status,
                "statusReason": d.status_reason,
            })
        })
        .collect();
    Ok(json!({ "serviceDeployments": briefs, "nextToken": next }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeServiceDeploymentsRequest {
    service_deployment_arns: Vec<String>,
}

pub async fn describe_service_deployments(api: &Api, req: DescribeServiceDeploymentsRequest) -> ApiResult<Value> {
    if req.service_deployment_arns.is_empty() || req.service_deployment_arns.len() > 20 {
        return Err(ApiError::invalid(format!(
            "serviceDeploymentArns: between 1 and 20 ARNs per call, got {}.",
            req.service_deployment_arns.len()
        )));
    }
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for reference in &req.service_deployment_arns {
        let parts: Option<Vec<&str>> = arn::resource_part(reference)
            .and_then(|r| r.strip_prefix("service-deployment/"))
            .map(|r| r.split('/').collect());
        let Some([cluster, service, id]) = parts.as_deref() else {
            return Err(ApiError::invalid(format!(
                "serviceDeploymentArns: '{}' is not a service deployment ARN.",
                truncate(reference, 256)
            )));
        };
        let stored = match service_key(cluster, service) {
            Ok(key) => state::get::<StoredService>(api.store.as_ref(), &key).await?,
            Err(_) => None,
        };
        let deployment_id = format!("ecs-svc/{id}");
        match stored.as_ref().and_then(|s| s.value.record(&deployment_id).map(|r| (s, r))) {
            Some((s, r)) => found.push(service_deployment(api, &s.value, r)),
            None => failures.push(Failure::missing(reference.clone())),
        }
    }
    Ok(json!({ "serviceDeployments": found, "failures": failures }))
}

/// The `ServiceDeployment` view of a deployment's record, with live counts while it still has tasks.
fn service_deployment(api: &Api, stored: &StoredService, r: &DeploymentRecord) -> ServiceDeployment {
    let service = &stored.service;
    let cluster = arn::cluster_name(&service.cluster_arn);
    let name = &service.service_name;
    let revision = |id: &str| api.scope.service_revision(cluster, name, deployment_digits(id));
    let live = service.deployments.iter().find(|d| d.id == r.id);
    let (running, pending) = live.map(|d| (d.running_count, d.pending_count)).unwrap_or((0, 0));
    let breaker_on = r.configuration.breaker_enabled();
    let breaker_status = match (breaker_on, r.status.as_str()) {
        (false, _) => "DISABLED",
        (true, "ROLLBACK_IN_PROGRESS" | "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED") => "TRIGGERED",
        (true, "IN_PROGRESS") => "MONITORING",
        (true, _) if r.failure_count >= r.threshold => "TRIGGERED",
        (true, _) => "MONITORING_COMPLETE",
    };
    ServiceDeployment {
        service_deployment_arn: api.scope.service_deployment(cluster, name, deployment_digits(&r.id)),
        service_arn: service.service_arn.clone(),
        cluster_arn: service.cluster_arn.clone(),
        created_at: r.created_at,
        started_at: Some(r.created_at),
        finished_at: r.finished_at,
        stopped_at: r.stopped_at,
        updated_at: r.updated_at,
        source_service_revisions: r
            .sources
            .iter()
            .map(|(id, running, pending)| ServiceRevisionSummary {
                arn: revision(id),
                requested_task_count: 0,
                running_task_count: *running,
                pending_task_count: *pending,
            })
            .collect(),
        target_service_revision: ServiceRevisionSummary {
            arn: revision(&r.id),
            requested_task_count: live.map(|d| d.desired_count).unwrap_or(0),
            running_task_count: running,
            pending_task_count: pending,
        },
        status: r.status.clone(),
        status_reason: r.status_reason.clone(),
        deployment_configuration: r.configuration.clone(),
        rollback: r.rollback.clone().map(|mut rb| {
            rb.service_revision_arn = revision(&rb.service_revision_arn);
            rb
        }),
        deployment_circuit_breaker: ServiceDeploymentCircuitBreaker {
            status: breaker_status.into(),
            failure_count: r.failure_count,
            threshold: r.threshold,
        },
        alarms: ServiceDeploymentAlarms {
            status: "DISABLED".into(),
            alarm_names: vec![],
            triggered_alarm_names: vec![],
        },
    }
}
