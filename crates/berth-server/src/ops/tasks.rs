//! RunTask, StartTask, StopTask, DescribeTasks, ListTasks: tasks as the user sees them.
//!
//! A task is stored under `tasks/<cluster>/<id>` with the reservation it holds on its instance; placing it also
//! writes the instance's new remaining resources and an assignment under `assignments/<cluster>/<instance>/<id>`
//! that the instance's agent watches. All three change in one transaction with compares on the instances read, so
//! concurrent placements never over-commit an instance.

use std::collections::BTreeMap;

use berth_model::arn::{self, ArnFormat};
use berth_model::instance::ContainerInstance;
use berth_model::names::{check_tags, truncate};
use berth_model::service::{PlacementConstraint, PlacementStrategy};
use berth_model::task::{Container, NetworkBinding, Task, TaskOverride, TaskStatus, stop_code};
use berth_model::taskdef::TaskDefinition;
use berth_model::{Failure, Tag};
use berth_scheduler::{Constraint, Demand, Placement, Request, Strategy};
use berth_store::{Compare, Op};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::account_settings::{self, Name};
use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ops::taskdefs;
use crate::paging::PageRequest;
use crate::placement::View;
use crate::resources::{self, Reservation};
use crate::state::{self, Versioned, keys};

/// A task as stored: the ECS task and what it holds on its instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTask {
    #[serde(flatten)]
    pub task: Task,
    #[serde(default)]
    pub reservation: Reservation,
    /// The host ports the scheduler chose for each container's dynamic port mappings, by container name. The agent
    /// binds exactly these ([`StoredTask::for_agent`]); `networkBindings` shows them only once the container has
    /// started and its agent reports them, as ECS shows bindings only for containers that ran.
    #[serde(rename = "assignedBindings", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assigned_bindings: BTreeMap<String, Vec<NetworkBinding>>,
}

impl StoredTask {
    /// The task as its agent receives it: containers that have reported no bindings yet carry the ones reserved
    /// for them.
    pub fn for_agent(self) -> Task {
        let mut task = self.task;
        for container in &mut task.containers {
            if container.network_bindings.is_empty()
                && let Some(assigned) = self.assigned_bindings.get(&container.name)
            {
                container.network_bindings.clone_from(assigned);
            }
        }
        task
    }
}

/// What an instance's agent is told to run (see `keys::assignment`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub task_arn: String,
    pub desired_status: String,
    pub task_definition: TaskDefinition,
}

/// Most tasks one RunTask places, and most instances one StartTask names.
const MAX_COUNT: i64 = 10;

/// The parts RunTask and StartTask share.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRequest {
    cluster: Option<String>,
    task_definition: String,
    group: Option<String>,
    started_by: Option<String>,
    overrides: Option<TaskOverride>,
    #[serde(default)]
    tags: Vec<Tag>,
    propagate_tags: Option<String>,
    #[serde(rename = "enableECSManagedTags")]
    enable_ecs_managed_tags: Option<bool>,
    enable_execute_command: Option<bool>,
    network_configuration: Option<Value>,
    reference_id: Option<String>,
    #[serde(default)]
    volume_configurations: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskRequest {
    #[serde(flatten)]
    common: TaskRequest,
    count: Option<i64>,
    launch_type: Option<String>,
    #[serde(default)]
    capacity_provider_strategy: Vec<Value>,
    platform_version: Option<String>,
    #[serde(default)]
    placement_constraints: Vec<PlacementConstraint>,
    #[serde(default)]
    placement_strategy: Vec<PlacementStrategy>,
    client_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTaskRequest {
    #[serde(flatten)]
    common: TaskRequest,
    container_instances: Vec<String>,
}

/// A checked RunTask/StartTask: the definition to run and how.
struct Launch {
    cluster: String,
    definition: TaskDefinition,
    overrides: TaskOverride,
    group: String,
    started_by: Option<String>,
    tags: Vec<Tag>,
    enable_execute_command: bool,
    launch_type: String,
    demand: Demand,
    constraints: Vec<Constraint>,
    /// The tasks' ARN format (`taskLongArnFormat` of the principal that starts them).
    format: ArnFormat,
}

pub async fn run_task(api: &Api, caller: &Caller, req: RunTaskRequest) -> ApiResult<Value> {
    let count = req.count.unwrap_or(1);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(ApiError::invalid(format!("count must be between 1 and {MAX_COUNT}, got {count}.")));
    }
    if !req.capacity_provider_strategy.is_empty() {
        return Err(ApiError::new(
            ErrorCode::UnsupportedFeatureException,
            "capacityProviderStrategy is not supported by Berth: tasks run on the cluster's registered container instances (launchType EC2 or EXTERNAL).",
        ));
    }
    let launch_type = check_launch_type(req.launch_type.as_deref())?;
    if req.platform_version.is_some() {
        return Err(ApiError::invalid("platformVersion applies only to the FARGATE launch type."));
    }
    let (constraints, strategies) = parse_placement(&req.placement_constraints, &req.placement_strategy)?;
    let mut launch = prepare(api, caller, &req.common, launch_type).await?;
    launch.constraints.extend(constraints);

    let token = match &req.client_token {
        Some(t) if t.is_empty() || t.len() > 64 => {
            return Err(ApiError::invalid("clientToken must be 1 to 64 characters."));
        }
        Some(t) => Some((keys::client_token(&launch.cluster, &hex::encode(Sha256::digest(t))), request_hash(&req))),
        None => None,
    };
    if let Some((key, hash)) = &token
        && let Some(done) = state::get::<ClientTokenRecord>(api.store.as_ref(), key).await?
    {
        if &done.value.request_hash != hash {
            return Err(ApiError::client(
                "The clientToken was already used by a RunTask call with different parameters.",
            ));
        }
        return describe_arns(api, &launch.cluster, &done.value.task_arns, done.value.failures.clone()).await;
    }

    let request = Request { demand: launch.demand.clone(), constraints: launch.constraints.clone(), strategies };
    let (tasks, failures) = place_and_commit(
        api,
        &launch,
        |view| {
            if view.scheduler.is_empty() {
                return Err(ApiError::invalid(NO_INSTANCES));
            }
            Ok(place_count(view, &request, count as usize))
        },
        |tasks, failures| {
            let Some((key, hash)) = &token else { return Ok((vec![], vec![])) };
            let record = ClientTokenRecord {
                request_hash: hash.clone(),
                task_arns: tasks.iter().map(|t| t.task_arn.clone()).collect(),
                failures: failures.to_vec(),
            };
            Ok((vec![Compare::absent(key.clone())], vec![state::put(key, &record)?]))
        },
    )
    .await?;
    let tasks: Vec<Task> = tasks.into_iter().map(|t| present(t, true)).collect();
    Ok(json!({ "tasks": tasks, "failures": failures }))
}

pub async fn start_task(api: &Api, caller: &Caller, req: StartTaskRequest) -> ApiResult<Value> {
    if req.container_instances.is_empty() || req.container_instances.len() > MAX_COUNT as usize {
        return Err(ApiError::invalid(format!(
            "containerInstances: between 1 and {MAX_COUNT} instances, got {}.",
            req.container_instances.len()
        )));
    }
    let launch = prepare(api, caller, &req.common, "EC2".into()).await?;
    let request =
        Request { demand: launch.demand.clone(), constraints: launch.constraints.clone(), strategies: vec![] };
    let (tasks, failures) = place_and_commit(
        api,
        &launch,
        |view| Ok(place_on_each(api, view, &launch.cluster, &request, &req.container_instances)),
        |_, _| Ok((vec![], vec![])),
    )
    .await?;
    let tasks: Vec<Task> = tasks.into_iter().map(|t| present(t, true)).collect();
    Ok(json!({ "tasks": tasks, "failures": failures }))
}

pub(crate) fn check_launch_type(launch_type: Option<&str>) -> ApiResult<String> {
    match launch_type {
        None | Some("EC2") => Ok("EC2".into()),
        Some("EXTERNAL") => Ok("EXTERNAL".into()),
        Some("FARGATE" | "MANAGED_INSTANCES") => Err(ApiError::new(
            ErrorCode::UnsupportedFeatureException,
            format!(
                "launchType {} is not supported by Berth: tasks run on the cluster's registered container instances (EC2 or EXTERNAL).",
                launch_type.unwrap_or_default()
            ),
        )),
        Some(other) => Err(ApiError::invalid(format!(
            "launchType '{}' is not valid. Valid values: EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES.",
            truncate(other, 64)
        ))),
    }
}

/// The error (RunTask) or failure reason (services) of a cluster without instances.
pub const NO_INSTANCES: &str = "No Container Instances were found in your cluster.";

/// Parses request-level placement constraints (at most 10) and strategies (at most 5), as RunTask, CreateService
/// and UpdateService take them; errors name the entry.
pub fn parse_placement(
    constraints: &[PlacementConstraint],
    strategies: &[PlacementStrategy],
) -> ApiResult<(Vec<Constraint>, Vec<Strategy>)> {
    if constraints.len() > 10 {
        return Err(ApiError::invalid("placementConstraints: at most 10 constraints are allowed."));
    }
    if strategies.len() > berth_scheduler::MAX_STRATEGIES {
        return Err(ApiError::invalid("placementStrategy: at most 5 strategies are allowed."));
    }
    let constraints = constraints
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Constraint::parse(&c.kind, c.expression.as_deref())
                .map_err(|e| ApiError::invalid(format!("placementConstraints[{i}]: {e}")))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let strategies = strategies
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Strategy::parse(&s.kind, s.field.as_deref())
                .map_err(|e| ApiError::invalid(format!("placementStrategy[{i}]: {e}")))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((constraints, strategies))
}

/// The task definition's own placement constraints.
pub fn definition_constraints(definition: &TaskDefinition) -> ApiResult<Vec<Constraint>> {
    definition
        .placement_constraints
        .iter()
        .map(|c| {
            Constraint::parse(&c.r#type, c.expression.as_deref())
                .map_err(|e| ApiError::client(format!("The task definition's placement constraint is not valid: {e}")))
        })
        .collect()
}

/// Places `count` tasks on the view, best instance first; each instance's reasons are reported once.
fn place_count(view: &mut View, request: &Request, count: usize) -> (Vec<Placement>, Vec<Failure>) {
    let mut placed = Vec::new();
    let mut failures: Vec<Failure> = Vec::new();
    for _ in 0..count {
        match view.scheduler.place(request) {
            Ok(p) => placed.push(p),
            Err(rejections) => {
                for (slot, reason) in rejections {
                    let Some(node) = view.scheduler.node(slot) else { continue };
                    let arn = node.arn();
                    if !failures.iter().any(|f| f.arn.as_deref() == Some(arn) && f.reason == reason) {
                        failures.push(Failure { arn: Some(arn.to_owned()), reason: reason.into(), detail: None });
                    }
                }
            }
        }
    }
    (placed, failures)
}

/// Places one task on each named instance (ids or ARNs); an instance not in the cluster is MISSING.
fn place_on_each(
    api: &Api,
    view: &mut View,
    cluster: &str,
    request: &Request,
    references: &[String],
) -> (Vec<Placement>, Vec<Failure>) {
    let mut placed = Vec::new();
    let mut failures = Vec::new();
    for reference in references {
        let (other_cluster, id) = arn::scoped_id(reference, "container-instance");
        let arn = api.scope.container_instance(cluster, id);
        // The view knows instances by their ARN, long or short (containerInstanceLongArnFormat).
        let short = api.scope.container_instance_as(ArnFormat::Short, cluster, id);
        let slot = [arn.as_str(), short.as_str()]
            .into_iter()
            .find_map(|a| view.scheduler.slot(a))
            .filter(|_| other_cluster.is_none_or(|c| c == cluster));
        let arn = match slot.and_then(|s| view.scheduler.node(s)) {
            Some(node) => node.arn().to_owned(),
            None => arn,
        };
        let Some(slot) = slot else {
            let arn = match arn::resource_part(reference) {
                Some(_) => reference.clone(),
                None => arn,
            };
            failures.push(Failure::missing(arn));
            continue;
        };
        match view.scheduler.place_on(slot, request) {
            Ok(p) => placed.push(p),
            Err(reason) => failures.push(Failure { arn: Some(arn), reason: reason.into(), detail: None }),
        }
    }
    (placed, failures)
}

/// Tasks the service controller asks for: one deployment's task definition, with the service's placement.
pub struct ServiceLaunch {
    pub cluster: String,
    pub definition: TaskDefinition,
    pub group: String,
    pub started_by: String,
    /// The service's constraints; the definition's are added here.
    pub constraints: Vec<Constraint>,
    pub strategies: Vec<Strategy>,
    pub tags: Vec<Tag>,
    pub enable_execute_command: bool,
    /// The tasks' ARN format: the `taskLongArnFormat` of the principal that created the service.
    pub format: ArnFormat,
}

/// Where the service controller wants tasks: `Count` anywhere placement chooses (REPLICA), or one on each of
/// these instances (DAEMON).
pub enum Target {
    Count(usize),
    Instances(Vec<String>),
}

/// Places and commits a service's tasks as RunTask and StartTask do. A cluster without instances is a failure
/// ([`NO_INSTANCES`]), not an error, so the controller can report it as an event.
pub async fn launch_service_tasks(
    api: &Api,
    spec: ServiceLaunch,
    target: Target,
) -> ApiResult<(Vec<Task>, Vec<Failure>)> {
    let overrides = TaskOverride::default();
    let demand = resources::demand(&spec.definition, &overrides, &spec.group)?;
    let mut constraints = spec.constraints;
    constraints.extend(definition_constraints(&spec.definition)?);
    let launch = Launch {
        cluster: spec.cluster,
        definition: spec.definition,
        overrides,
        group: spec.group,
        started_by: Some(spec.started_by),
        tags: spec.tags,
        enable_execute_command: spec.enable_execute_command,
        launch_type: "EC2".into(),
        demand,
        constraints,
        format: spec.format,
    };
    let request =
        Request { demand: launch.demand.clone(), constraints: launch.constraints.clone(), strategies: spec.strategies };
    place_and_commit(
        api,
        &launch,
        |view| match &target {
            Target::Count(_) if view.scheduler.is_empty() => {
                Ok((vec![], vec![Failure { arn: None, reason: NO_INSTANCES.into(), detail: None }]))
            }
            Target::Count(n) => Ok(place_count(view, &request, *n)),
            Target::Instances(arns) => Ok(place_on_each(api, view, &launch.cluster, &request, arns)),
        },
        |_, _| Ok((vec![], vec![])),
    )
    .await
}

/// Checks what RunTask and StartTask share and resolves the task definition. The tasks' ARN format is the
/// caller's `taskLongArnFormat`; as on ECS, tasks with short ARNs take no tags.
async fn prepare(api: &Api, caller: &Caller, req: &TaskRequest, launch_type: String) -> ApiResult<Launch> {
    if let Some(s) = &req.started_by
        && s.chars().count() > 128
    {
        return Err(ApiError::invalid("startedBy can be at most 128 characters."));
    }
    if let Some(g) = &req.group
        && (g.is_empty() || g.chars().count() > 255)
    {
        return Err(ApiError::invalid("group must be 1 to 255 characters."));
    }
    if let Some(r) = &req.reference_id
        && r.chars().count() > 64
    {
        return Err(ApiError::invalid("referenceId can be at most 64 characters."));
    }
    check_tags(&req.tags)?;
    if let Some(p) = &req.propagate_tags
        && !matches!(p.as_str(), "TASK_DEFINITION" | "SERVICE" | "NONE")
    {
        return Err(ApiError::invalid(format!(
            "propagateTags '{}' is not valid. Valid values: TASK_DEFINITION, SERVICE, NONE.",
            truncate(p, 64)
        )));
    }
    if !req.volume_configurations.is_empty() {
        return Err(ApiError::new(
            ErrorCode::UnsupportedFeatureException,
            "volumeConfigurations (EBS volumes configured at launch) are not supported by Berth.",
        ));
    }
    let format = account_settings::arn_format(api, caller, Name::TaskLongArnFormat).await?;
    if format == ArnFormat::Short {
        check_short_arn_tags(&req.tags, req.propagate_tags.as_deref(), req.enable_ecs_managed_tags)?;
    }
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    let Some(stored) = taskdefs::find(api, &req.task_definition).await.ok().flatten() else {
        return Err(ApiError::client("Unable to describe task definition."));
    };
    let definition = stored.value.definition;
    if definition.status != "ACTIVE" {
        return Err(ApiError::client(format!(
            "TaskDefinition is inactive: {} cannot start new tasks.",
            definition.task_definition_arn.as_deref().unwrap_or_default()
        )));
    }
    if !definition.is_compatible_with(&launch_type) {
        return Err(ApiError::invalid(format!("Task definition does not support launch_type {launch_type}.")));
    }
    if definition.network_mode() == "awsvpc" && req.network_configuration.is_none() {
        return Err(ApiError::invalid(
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        ));
    }
    let overrides = req.overrides.clone().unwrap_or_default();
    check_overrides(&definition, &overrides)?;
    let group = req.group.clone().unwrap_or_else(|| format!("family:{}", definition.family));
    let demand = resources::demand(&definition, &overrides, &group)?;
    let constraints = definition_constraints(&definition)?;
    let mut tags = req.tags.clone();
    if req.propagate_tags.as_deref() == Some("TASK_DEFINITION") {
        let mut merged = stored.value.tags;
        berth_model::names::merge_tags(&mut merged, tags);
        tags = merged;
    }
    let _ = req.enable_ecs_managed_tags; // Managed tags name AWS resources Berth does not create.
    Ok(Launch {
        cluster,
        definition,
        overrides,
        group,
        started_by: req.started_by.clone(),
        tags,
        enable_execute_command: req.enable_execute_command.unwrap_or(false),
        launch_type,
        demand,
        constraints,
        format,
    })
}

/// ECS refuses tags, propagated tags and managed tags for resources that get short ARNs.
pub(crate) fn check_short_arn_tags(tags: &[Tag], propagate: Option<&str>, managed: Option<bool>) -> ApiResult<()> {
    if !tags.is_empty() {
        return Err(account_settings::short_arn_tags_on_create());
    }
    if propagate.is_some_and(|p| p != "NONE") {
        return Err(account_settings::short_arn_propagate_tags());
    }
    if managed == Some(true) {
        return Err(account_settings::short_arn_managed_tags());
    }
    Ok(())
}

fn check_overrides(def: &TaskDefinition, overrides: &TaskOverride) -> ApiResult<()> {
    for (i, o) in overrides.container_overrides.iter().enumerate() {
        let Some(name) = o.name.as_deref() else {
            return Err(ApiError::invalid(format!("overrides.containerOverrides[{i}].name is required.")));
        };
        if def.container(name).is_none() {
            return Err(ApiError::invalid(format!(
                "Override for container named {} is not a container in the TaskDefinition.",
                truncate(name, 255)
            )));
        }
        for (field, value) in [("cpu", o.cpu), ("memory", o.memory), ("memoryReservation", o.memory_reservation)] {
            if value.is_some_and(|v| v < 0) {
                return Err(ApiError::invalid(format!(
                    "overrides.containerOverrides[{i}].{field} must not be negative."
                )));
            }
        }
        if let (Some(m), Some(r)) = (o.memory, o.memory_reservation)
            && r > m
        {
            return Err(ApiError::invalid(format!(
                "overrides.containerOverrides[{i}]: memoryReservation ({r}) must not exceed memory ({m})."
            )));
        }
        for e in o.environment.iter().flatten() {
            if e.name.as_deref().is_none_or(str::is_empty) {
                return Err(ApiError::invalid(format!(
                    "overrides.containerOverrides[{i}].environment: every entry needs a name."
                )));
            }
        }
    }
    Ok(())
}

/// Decides placements on the cluster's view and commits them: the tasks, their assignments and the chosen
/// instances' new records, with a compare on each of those instances (see [`crate::placement`]). `decide` places on
/// the view; `extra` adds compares and writes given the tasks and failures (a clientToken's record). Failures are
/// reported only from a view just read from the store, and a conflict reads the touched instances again.
async fn place_and_commit<D, E>(
    api: &Api,
    launch: &Launch,
    mut decide: D,
    extra: E,
) -> ApiResult<(Vec<Task>, Vec<Failure>)>
where
    D: FnMut(&mut View) -> ApiResult<(Vec<Placement>, Vec<Failure>)>,
    E: Fn(&[Task], &[Failure]) -> ApiResult<(Vec<Compare>, Vec<Op>)>,
{
    const ATTEMPTS: usize = 64;
    crate::logs::ensure_groups(api, &launch.definition).await;
    let handle = api.placements.of(&launch.cluster);
    let mut view = handle.lock().await;
    let mut fresh = false;
    for _ in 0..ATTEMPTS {
        let outcome = attempt(api, launch, &mut view, &handle, &mut decide, &extra, &mut fresh).await;
        match outcome {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => continue,
            Err(e) => {
                view.invalidate();
                return Err(e);
            }
        }
    }
    view.invalidate();
    Err(ApiError::server("The request conflicted with concurrent changes too often; retry it."))
}

/// One try of [`place_and_commit`]: `None` when it must be tried again.
async fn attempt<D, E>(
    api: &Api,
    launch: &Launch,
    view: &mut View,
    handle: &std::sync::Arc<tokio::sync::Mutex<View>>,
    decide: &mut D,
    extra: &E,
    fresh: &mut bool,
) -> ApiResult<Option<(Vec<Task>, Vec<Failure>)>>
where
    D: FnMut(&mut View) -> ApiResult<(Vec<Placement>, Vec<Failure>)>,
    E: Fn(&[Task], &[Failure]) -> ApiResult<(Vec<Compare>, Vec<Op>)>,
{
    view.ensure_loaded(&api.store, handle).await?;
    let (placed, failures) = decide(view)?;
    if !failures.is_empty() && !*fresh {
        view.reload(&api.store, handle).await?;
        *fresh = true;
        return Ok(None);
    }
    let touched: Vec<usize> = placed.iter().map(|p| p.node).collect();
    // Reads are cheap and a failed transaction takes the writer's time, so a stale view is caught here first.
    if !view.validate(api.store.as_ref(), &touched).await? {
        return Ok(None);
    }
    let Staged { mut compares, mut ops, tasks, records } = create_tasks(api, launch, view, &placed)?;
    let (more_compares, more_ops) = extra(&tasks, &failures)?;
    compares.extend(more_compares);
    ops.extend(more_ops);
    ops.extend(crate::logs::stream_ops(&launch.cluster, &launch.definition, &tasks)?);
    let result = api.store.txn(compares, ops).await?;
    if result.succeeded {
        for (_, key, record) in records {
            view.put(key, record, result.revision, true);
        }
        api.metrics.observe_placements(&launch.cluster, tasks.len(), failures.iter().map(|f| f.reason.as_str()));
        return Ok(Some((tasks, failures)));
    }
    view.refresh(api.store.as_ref(), &touched).await?;
    Ok(None)
}

/// What a placement writes: the compares and ops of its transaction, the new tasks, and each rewritten instance
/// record (slot in the view, store key, new value).
struct Staged {
    compares: Vec<Compare>,
    ops: Vec<Op>,
    tasks: Vec<Task>,
    records: Vec<(usize, String, ContainerInstance)>,
}

/// Builds the tasks for `placed`, the ops writing them and their assignments, and the chosen instances' new
/// records with a compare on each (only those: a placement elsewhere cannot invalidate this one).
fn create_tasks(api: &Api, launch: &Launch, view: &View, placed: &[Placement]) -> ApiResult<Staged> {
    let now = api.now();
    let mut ops = Vec::new();
    let mut tasks = Vec::new();
    let mut records: BTreeMap<usize, ContainerInstance> = BTreeMap::new();
    let host_mode = launch.definition.network_mode() == "host";
    for p in placed {
        let Some(node) = view.scheduler.node(p.node) else {
            return Err(ApiError::server("The placement view lost an instance; retry the request."));
        };
        let instance = &node.instance;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let task_arn = api.scope.task_as(launch.format, &launch.cluster, &id);
        let granted = &p.granted;
        let reservation = Reservation {
            cpu: launch.demand.cpu,
            memory: launch.demand.memory,
            tcp_ports: [launch.demand.tcp_ports.as_slice(), &granted.dynamic_tcp].concat(),
            udp_ports: [launch.demand.udp_ports.as_slice(), &granted.dynamic_udp].concat(),
            gpu_ids: granted.gpu_ids.clone(),
        };
        let mut gpus = granted.gpu_ids.iter();
        let (mut dynamic_tcp, mut dynamic_udp) = (granted.dynamic_tcp.iter(), granted.dynamic_udp.iter());
        let mut assigned_bindings = BTreeMap::new();
        let containers = launch
            .definition
            .container_definitions
            .iter()
            .map(|c| {
                let c = launch.overrides.apply_to(c);
                // Dynamic host ports are chosen here, so the agent binds exactly what the instance record holds.
                let network_bindings: Vec<NetworkBinding> = c
                    .port_mappings
                    .iter()
                    .filter(|m| matches!(resources::host_port(m, host_mode), resources::HostPort::Dynamic))
                    .filter_map(|m| {
                        let udp = m.protocol() == "udp";
                        let port = if udp { dynamic_udp.next() } else { dynamic_tcp.next() }?;
                        Some(NetworkBinding {
                            bind_ip: Some("0.0.0.0".into()),
                            container_port: m.container_port,
                            host_port: Some(i32::from(*port)),
                            protocol: Some(m.protocol().to_owned()),
                            container_port_range: None,
                            host_port_range: None,
                        })
                    })
                    .collect();
                if !network_bindings.is_empty() {
                    assigned_bindings.insert(c.name.clone(), network_bindings);
                }
                Container {
                    container_arn: api.scope.container_as(
                        launch.format,
                        &launch.cluster,
                        &id,
                        &uuid::Uuid::new_v4().simple().to_string(),
                    ),
                    task_arn: task_arn.clone(),
                    name: c.name.clone(),
                    image: c.image.clone(),
                    image_digest: None,
                    runtime_id: None,
                    last_status: "PENDING".into(),
                    exit_code: None,
                    reason: None,
                    network_bindings: vec![],
                    network_interfaces: vec![],
                    health_status: c.health_check.as_ref().map(|_| "UNKNOWN".into()),
                    cpu: Some(c.cpu.unwrap_or(0).to_string()),
                    memory: c.memory.map(|m| m.to_string()),
                    memory_reservation: c.memory_reservation.map(|m| m.to_string()),
                    gpu_ids: gpus.by_ref().take(c.gpu_count() as usize).cloned().collect(),
                }
            })
            .collect();
        let (cpu, memory) = resources::task_size(&launch.definition, &launch.overrides)?;
        let task = Task {
            task_arn: task_arn.clone(),
            cluster_arn: api.scope.cluster(&launch.cluster),
            task_definition_arn: launch.definition.task_definition_arn.clone().unwrap_or_default(),
            container_instance_arn: Some(instance.container_instance_arn.clone()),
            last_status: TaskStatus::Provisioning.as_str().into(),
            desired_status: "RUNNING".into(),
            health_status: Some("UNKNOWN".into()),
            stop_code: None,
            stopped_reason: None,
            containers,
            cpu: Some(cpu.unwrap_or(launch.demand.cpu as u64).to_string()),
            memory: Some(memory.unwrap_or(launch.demand.memory as u64).to_string()),
            overrides: launch.overrides.naming_every_container(&launch.definition),
            group: Some(launch.group.clone()),
            started_by: launch.started_by.clone(),
            launch_type: Some(launch.launch_type.clone()),
            availability_zone: instance.attribute("ecs.availability-zone").flatten().map(str::to_owned),
            connectivity: Some("CONNECTED".into()),
            connectivity_at: Some(now),
            created_at: now,
            pull_started_at: None,
            pull_stopped_at: None,
            started_at: None,
            stopping_at: None,
            execution_stopped_at: None,
            stopped_at: None,
            version: 1,
            tags: Some(launch.tags.clone()),
            attributes: vec![],
            attachments: vec![],
            enable_execute_command: launch.enable_execute_command,
        };
        let instance_id = instance.id().to_owned();
        let assignment = Assignment {
            task_arn: task_arn.clone(),
            desired_status: "RUNNING".into(),
            task_definition: launch.definition.clone(),
        };
        // The view's node already counts the batch's groups; the record takes each task's resources and counts.
        let record = records.entry(p.node).or_insert_with(|| instance.clone());
        resources::apply(record, &reservation, 1);
        resources::count_transition(record, None, Some(TaskStatus::Provisioning));
        ops.push(state::put(
            keys::task(&launch.cluster, &id),
            &StoredTask { task: task.clone(), reservation, assigned_bindings },
        )?);
        ops.push(state::put(keys::assignment(&launch.cluster, &instance_id, &id), &assignment)?);
        tasks.push(task);
    }
    let mut compares = Vec::new();
    let mut rewritten = Vec::new();
    for (slot, mut record) in records {
        let Some((key, revision)) = view.record(slot).cloned() else {
            return Err(ApiError::server("The placement view lost an instance; retry the request."));
        };
        record.version += 1;
        compares.push(Compare::unchanged(key.clone(), revision));
        ops.push(state::put(&key, &record)?);
        rewritten.push((slot, key, record));
    }
    Ok(Staged { compares, ops, tasks, records: rewritten })
}

/// What a clientToken remembers: the request it answered and what it placed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientTokenRecord {
    request_hash: String,
    task_arns: Vec<String>,
    #[serde(default)]
    failures: Vec<Failure>,
}

/// A digest of the parameters of a RunTask, so a reused token with other parameters is told apart.
fn request_hash(req: &RunTaskRequest) -> String {
    let c = &req.common;
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        c.cluster, c.task_definition, req.count, c.group, c.started_by, c.overrides, c.tags, req.launch_type
    );
    hex::encode(Sha256::digest(text))
}

async fn describe_arns(api: &Api, cluster: &str, arns: &[String], failures: Vec<Failure>) -> ApiResult<Value> {
    let mut tasks = Vec::new();
    for a in arns {
        let (_, id) = arn::scoped_id(a, "task");
        if let Some(t) = state::get::<StoredTask>(api.store.as_ref(), &keys::task(cluster, id)).await? {
            tasks.push(present(t.value.task, true));
        }
    }
    Ok(json!({ "tasks": tasks, "failures": failures }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTaskRequest {
    cluster: Option<String>,
    task: String,
    reason: Option<String>,
}

pub async fn stop_task(api: &Api, req: StopTaskRequest) -> ApiResult<Value> {
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    if let Some(r) = &req.reason
        && r.chars().count() > 255
    {
        return Err(ApiError::invalid("reason can be at most 255 characters."));
    }
    let key = task_key(&cluster, &req.task)
        .ok_or_else(|| ApiError::invalid(format!("task '{}' is not a task id or ARN.", truncate(&req.task, 256))))?;
    let reason = req.reason.clone().unwrap_or_else(|| "Task stopped by user".into());
    let stopped = request_stop(api, &cluster, &key, stop_code::USER_INITIATED, &reason).await?.ok_or_else(|| {
        ApiError::invalid(format!("The referenced task was not found: {}.", truncate(&req.task, 256)))
    })?;
    Ok(json!({ "task": present(stopped, false) }))
}

/// Sets a task's desired status to STOPPED (once; a later stop keeps the first code and reason) and tells its
/// agent. A task the agent never picked up, or whose agent is gone, stops at once. `None` when there is no such
/// task.
pub async fn request_stop(api: &Api, cluster: &str, key: &str, code: &str, reason: &str) -> ApiResult<Option<Task>> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let Some(current) = state::get::<StoredTask>(store, key).await? else {
            return Ok((vec![], vec![], None));
        };
        let mut stored = current.value.clone();
        if stored.task.desired_status == "STOPPED" || stored.task.is_stopped() {
            return Ok((vec![], vec![], Some(stored.task)));
        }
        let now = api.now();
        let task = &mut stored.task;
        task.desired_status = "STOPPED".into();
        task.stop_code = Some(code.into());
        task.stopped_reason = Some(reason.into());
        task.stopping_at = Some(now);
        task.version += 1;
        let mut compares = vec![current.unchanged()];
        let mut ops = Vec::new();
        let instance = match task.container_instance_arn.as_deref() {
            Some(a) => {
                let (_, id) = arn::scoped_id(a, "container-instance");
                state::get::<ContainerInstance>(store, &keys::instance(cluster, id)).await?
            }
            None => None,
        };
        let agent_gone = instance.as_ref().is_none_or(|i| !i.value.agent_connected || i.value.status == "INACTIVE");
        let status = task.status();
        if status == Some(TaskStatus::Running) {
            task.last_status = TaskStatus::Stopping.as_str().into();
        }
        if agent_gone {
            finish_stop(&mut stored, status, instance, &mut compares, &mut ops, now)?;
        } else if let Some(akey) = assignment_key(&stored.task) {
            // Tell the agent: its manifest shows the task's desired status from the assignment's change.
            if let Some(mut a) = state::get::<Assignment>(store, &akey).await? {
                a.value.desired_status = "STOPPED".into();
                compares.push(a.unchanged());
                ops.push(state::put(&akey, &a.value)?);
            }
        }
        ops.push(state::put(key, &stored)?);
        Ok((compares, ops, Some(stored.task)))
    })
    .await
}

/// The assignment key of a placed task.
pub fn assignment_key(task: &Task) -> Option<String> {
    let (_, inst_id) = arn::scoped_id(task.container_instance_arn.as_deref()?, "container-instance");
    Some(keys::assignment(arn::cluster_name(&task.cluster_arn), inst_id, task.id()))
}

/// Marks a task STOPPED now, gives its resources back to its instance (adding the instance's compare and put) and
/// deletes its assignment: the manifest holds live tasks only, and the agent cleans up what leaves it.
pub fn finish_stop(
    stored: &mut StoredTask,
    from: Option<TaskStatus>,
    instance: Option<Versioned<ContainerInstance>>,
    compares: &mut Vec<Compare>,
    ops: &mut Vec<Op>,
    now: f64,
) -> ApiResult<()> {
    let task = &mut stored.task;
    task.last_status = TaskStatus::Stopped.as_str().into();
    task.desired_status = "STOPPED".into();
    task.stopped_at = Some(now);
    task.stopping_at.get_or_insert(now);
    task.execution_stopped_at.get_or_insert(now);
    for c in &mut task.containers {
        if c.last_status != "STOPPED" {
            c.last_status = "STOPPED".into();
        }
    }
    if let Some(akey) = assignment_key(&stored.task) {
        ops.push(Op::delete(akey));
    }
    if let Some(mut inst) = instance {
        resources::apply(&mut inst.value, &stored.reservation, -1);
        if let Some(group) = &stored.task.group {
            inst.value.count_task_group(group, -1);
        }
        resources::count_transition(&mut inst.value, from, Some(TaskStatus::Stopped));
        inst.value.version += 1;
        compares.push(inst.unchanged());
        ops.push(state::put(&inst.key, &inst.value)?);
    }
    Ok(())
}

/// The task an ARN names, wherever it is: a task ARN in the short format (`task/<id>`) does not name its cluster,
/// so each cluster is looked in (task ids are unique).
pub async fn find_by_arn(api: &Api, task_arn: &str) -> ApiResult<Option<StoredTask>> {
    let store = api.store.as_ref();
    let (cluster, id) = arn::scoped_id(task_arn, "task");
    if id.is_empty() || id.contains('/') {
        return Ok(None);
    }
    if let Some(cluster) = cluster {
        return Ok(state::get::<StoredTask>(store, &keys::task(cluster, id)).await?.map(|t| t.value));
    }
    for c in state::list::<berth_model::cluster::Cluster>(store, keys::CLUSTERS).await? {
        if let Some(t) = state::get::<StoredTask>(store, &keys::task(&c.value.cluster_name, id)).await? {
            return Ok(Some(t.value));
        }
    }
    Ok(None)
}

/// The store key of a task reference (id or ARN) in `cluster`; `None` when it names another cluster's task or is
/// malformed.
pub fn task_key(cluster: &str, reference: &str) -> Option<String> {
    let (other, id) = arn::scoped_id(reference, "task");
    if other.is_some_and(|c| c != cluster) || id.is_empty() || id.contains('/') {
        return None;
    }
    Some(keys::task(cluster, id))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTasksRequest {
    cluster: Option<String>,
    tasks: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

pub async fn describe_tasks(api: &Api, req: DescribeTasksRequest) -> ApiResult<Value> {
    if req.tasks.is_empty() || req.tasks.len() > 100 {
        return Err(ApiError::invalid(format!("tasks: between 1 and 100 tasks per call, got {}.", req.tasks.len())));
    }
    let with_tags = crate::ops::tags::include_tags(&req.include)?;
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    for reference in &req.tasks {
        let found = match task_key(&cluster, reference) {
            Some(key) => state::get::<StoredTask>(api.store.as_ref(), &key).await?,
            None => None,
        };
        match found {
            Some(t) => tasks.push(present(t.value.task, with_tags)),
            None if arn::resource_part(reference).is_some() => failures.push(Failure::missing(reference.clone())),
            None => failures.push(Failure::missing(api.scope.task(&cluster, reference))),
        }
    }
    Ok(json!({ "tasks": tasks, "failures": failures }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksRequest {
    cluster: Option<String>,
    container_instance: Option<String>,
    family: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    started_by: Option<String>,
    service_name: Option<String>,
    desired_status: Option<String>,
    launch_type: Option<String>,
    daemon_name: Option<String>,
}

pub async fn list_tasks(api: &Api, req: ListTasksRequest) -> ApiResult<Value> {
    let page = PageRequest::new(req.next_token.as_deref(), req.max_results, 100)?;
    let desired = req.desired_status.as_deref().unwrap_or("RUNNING");
    if !matches!(desired, "RUNNING" | "PENDING" | "STOPPED") {
        return Err(ApiError::invalid(format!(
            "desiredStatus '{}' is not valid. Valid values: RUNNING, PENDING, STOPPED.",
            truncate(desired, 64)
        )));
    }
    if let Some(l) = &req.launch_type {
        check_launch_type_filter(l)?;
    }
    if req.daemon_name.is_some() {
        return Err(ApiError::new(ErrorCode::UnsupportedFeatureException, "Daemons are not supported by Berth."));
    }
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    let instance_id = req.container_instance.as_deref().map(|r| arn::scoped_id(r, "container-instance").1);
    let group = req.service_name.as_deref().map(|s| format!("service:{}", arn::scoped_id(s, "service").1));
    let all = state::list::<StoredTask>(api.store.as_ref(), &keys::tasks_of(&cluster)).await?;
    let matching: Vec<Versioned<StoredTask>> =
        all.into_iter()
            .filter(|t| {
                let task = &t.value.task;
                // ECS never lists tasks by a desired status of PENDING.
                desired != "PENDING"
                    && task.desired_status == desired
                    && instance_id.is_none_or(|id| {
                        task.container_instance_arn.as_deref().is_some_and(|a| a.rsplit('/').next() == Some(id))
                    })
                    && req.family.as_deref().is_none_or(|f| {
                        arn::task_definition_ref(&task.task_definition_arn).is_ok_and(|(fam, _)| fam == f)
                    })
                    && req.started_by.as_deref().is_none_or(|s| task.started_by.as_deref() == Some(s))
                    && group.as_deref().is_none_or(|g| task.group.as_deref() == Some(g))
                    && req.launch_type.as_deref().is_none_or(|l| task.launch_type.as_deref() == Some(l))
            })
            .collect();
    let (items, next) = page.apply(matching, |t| t.key.clone());
    let arns: Vec<String> = items.into_iter().map(|t| t.value.task.task_arn).collect();
    Ok(json!({ "taskArns": arns, "nextToken": next }))
}

pub(crate) fn check_launch_type_filter(l: &str) -> ApiResult<()> {
    if matches!(l, "EC2" | "FARGATE" | "EXTERNAL" | "MANAGED_INSTANCES") {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "launchType '{}' is not valid. Valid values: EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES.",
            truncate(l, 64)
        )))
    }
}

/// A task as Describe shows it; tags only when asked for.
pub fn present(mut task: Task, with_tags: bool) -> Task {
    // Without include=TAGS ECS answers an empty list.
    if !with_tags {
        task.tags = None;
    }
    task.tags.get_or_insert_with(Vec::new);
    // ECS shows UNKNOWN for a container without a health check once it has left PENDING; stored, such containers
    // have none, so the task's health follows only the containers that are checked.
    for c in task.containers.iter_mut().filter(|c| c.last_status != "PENDING") {
        c.health_status.get_or_insert_with(|| "UNKNOWN".into());
    }
    task
}
