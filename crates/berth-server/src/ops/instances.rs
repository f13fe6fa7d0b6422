//! RegisterContainerInstance, DeregisterContainerInstance, DescribeContainerInstances, ListContainerInstances,
//! UpdateContainerInstancesState.

use berth_model::arn::{self, ArnFormat};
use berth_model::instance::{
    self, ContainerInstance, InstanceCandidate, MAX_CUSTOM_ATTRIBUTES, PlatformDevice, Resource, VersionInfo,
};
use berth_model::logs::AgentLink;
use berth_model::names::{check_attribute, check_tags, truncate};
use berth_model::{Attribute, Failure, Tag, query};
use berth_store::Compare;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::account_settings::{self, Name};
use crate::api::{Api, DEFAULT_CLUSTER};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ops::clusters;
use crate::paging::PageRequest;
use crate::state::{self, Versioned, keys};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterContainerInstanceRequest {
    cluster: Option<String>,
    instance_identity_document: Option<String>,
    #[allow(dead_code)] // Accepted as the agent sends it; signatures of AWS identity documents are not checked.
    instance_identity_document_signature: Option<String>,
    #[serde(default)]
    total_resources: Vec<Resource>,
    version_info: Option<VersionInfo>,
    container_instance_arn: Option<String>,
    #[serde(default)]
    attributes: Vec<Attribute>,
    #[serde(default)]
    platform_devices: Vec<PlatformDevice>,
    #[serde(default)]
    tags: Vec<Tag>,
    /// Berth's extension: where the agent serves its log streams, and the token it accepts.
    #[serde(rename = "berthAgentLink")]
    agent_link: Option<AgentLink>,
}

/// A new instance's ARN takes the caller's `containerInstanceLongArnFormat`; a re-registration keeps its ARN.
pub async fn register_container_instance(
    api: &Api,
    caller: &Caller,
    req: RegisterContainerInstanceRequest,
) -> ApiResult<Value> {
    let cluster_name = Api::cluster_name(req.cluster.as_deref()).to_owned();
    instance::check_total_resources(&req.total_resources)?;
    for a in &req.attributes {
        check_attribute(&a.name, a.value.as_deref())?;
    }
    check_tags(&req.tags)?;
    if let Some(link) = &req.agent_link {
        check_agent_link(link)?;
    }
    for d in &req.platform_devices {
        if d.id.is_empty() || !matches!(d.kind.as_str(), "GPU" | "NEURON_DEVICE") {
            return Err(ApiError::invalid(format!(
                "platformDevices: each device needs an id and a type of GPU or NEURON_DEVICE (got id '{}', type '{}').",
                truncate(&d.id, 64),
                truncate(&d.kind, 32)
            )));
        }
    }
    let identity = match req.instance_identity_document.as_deref() {
        Some(doc) if !doc.is_empty() => Some(instance::parse_identity_document(doc)?),
        _ => None,
    };
    let reregister_id =
        req.container_instance_arn.as_deref().map(|a| arn::scoped_id(a, "container-instance").1.to_owned());
    // A new instance's ARN format (a re-registration keeps the ARN it has).
    let new_format = match reregister_id {
        Some(_) => None,
        None => Some(account_settings::arn_format(api, caller, Name::ContainerInstanceLongArnFormat).await?),
    };
    if new_format == Some(ArnFormat::Short) && !req.tags.is_empty() {
        return Err(account_settings::short_arn_tags_on_create());
    }
    ensure_cluster(api, caller, &cluster_name).await?;

    let store = api.store.as_ref();
    let registered = state::commit(store, || async {
        api.active_cluster(Some(&cluster_name)).await?;
        let existing = match &reregister_id {
            Some(id) => {
                let found = state::get::<ContainerInstance>(store, &keys::instance(&cluster_name, id)).await?;
                match found {
                    Some(f) if f.value.status != "INACTIVE" => Some(f),
                    _ => {
                        return Err(ApiError::invalid(format!(
                            "containerInstanceArn: container instance {} is not registered in cluster {cluster_name}.",
                            truncate(id, 64)
                        )));
                    }
                }
            }
            None => None,
        };
        let mut registered_resources = registered_resources(&req.total_resources, &req.platform_devices);
        let inst = match &existing {
            Some(old) => {
                let mut inst = old.value.clone();
                inst.remaining_resources = rebase_remaining(
                    &old.value.registered_resources,
                    &old.value.remaining_resources,
                    &registered_resources,
                );
                inst.registered_resources = std::mem::take(&mut registered_resources);
                inst.version += 1;
                inst
            }
            None => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                ContainerInstance {
                    container_instance_arn: api.scope.container_instance_as(
                        new_format.unwrap_or_default(),
                        &cluster_name,
                        &id,
                    ),
                    ec2_instance_id: None,
                    version: 1,
                    version_info: VersionInfo::default(),
                    remaining_resources: registered_resources.clone(),
                    registered_resources,
                    status: "ACTIVE".into(),
                    status_reason: None,
                    // Turns true when the host's agent holds its work channel; no agent channel exists yet.
                    agent_connected: false,
                    running_tasks_count: 0,
                    pending_tasks_count: 0,
                    attributes: vec![],
                    registered_at: api.now(),
                    attachments: vec![],
                    tags: Some(vec![]),
                    platform_devices: None,
                    health_status: None,
                    task_groups: Default::default(),
                    agent_link: None,
                }
            }
        };
        let mut inst = inst;
        // A restarted agent brings a new token; an agent that sends none (an older one) keeps no stale link.
        inst.agent_link = req.agent_link.clone();
        if let Some(v) = &req.version_info {
            inst.version_info = v.clone();
        }
        for a in &req.attributes {
            inst.set_attribute(&a.name, a.value.as_deref());
        }
        if let Some(id) = &identity {
            if let Some(ec2) = &id.instance_id {
                inst.ec2_instance_id = Some(ec2.clone());
            }
            if let Some(az) = &id.availability_zone
                && inst.attribute("ecs.availability-zone").is_none()
            {
                inst.set_attribute("ecs.availability-zone", Some(az));
            }
            if let Some(t) = &id.instance_type
                && inst.attribute("ecs.instance-type").is_none()
            {
                inst.set_attribute("ecs.instance-type", Some(t));
            }
        }
        check_custom_attribute_limit(&inst)?;
        if !req.platform_devices.is_empty() {
            inst.platform_devices = Some(req.platform_devices.clone());
        }
        if !req.tags.is_empty() {
            if arn::is_short(&inst.container_instance_arn, "container-instance") {
                return Err(account_settings::short_arn_tags_on_create());
            }
            berth_model::names::merge_tags(inst.tags.get_or_insert_with(Vec::new), req.tags.clone());
        }
        let key = keys::instance(&cluster_name, inst.id());
        let compare = match &existing {
            Some(old) => old.unchanged(),
            None => Compare::absent(key.clone()),
        };
        Ok((vec![compare], vec![state::put(&key, &inst)?], inst))
    })
    .await?;
    Ok(json!({ "containerInstance": present(registered, true) }))
}

/// The default cluster exists as soon as something registers into it, as with the ECS agent; any other cluster
/// must have been created.
async fn ensure_cluster(api: &Api, caller: &Caller, name: &str) -> ApiResult<()> {
    if name == DEFAULT_CLUSTER && api.active_cluster(Some(name)).await.is_err() {
        let req =
            serde_json::from_value(json!({ "clusterName": name })).map_err(|e| ApiError::server(e.to_string()))?;
        clusters::create_cluster(api, caller, req).await?;
    }
    Ok(())
}

fn check_custom_attribute_limit(inst: &ContainerInstance) -> ApiResult<()> {
    let custom = inst.attributes.iter().filter(|a| instance::is_custom_attribute(&a.name)).count();
    if custom > MAX_CUSTOM_ATTRIBUTES {
        return Err(ApiError::new(
            crate::error::ErrorCode::AttributeLimitExceededException,
            format!(
                "Container instance {} would have {custom} custom attributes; at most {MAX_CUSTOM_ATTRIBUTES} are allowed.",
                inst.container_instance_arn
            ),
        ));
    }
    Ok(())
}

/// The registered resources of a host: CPU and MEMORY as given (0 when absent), port sets, and its GPUs.
fn registered_resources(total: &[Resource], devices: &[PlatformDevice]) -> Vec<Resource> {
    let find = |name: &str| total.iter().find(|r| r.name == name);
    let int = |name: &str| find(name).and_then(|r| r.integer_value.or(r.long_value)).unwrap_or(0);
    let set = |name: &str| find(name).and_then(|r| r.string_set_value.clone()).unwrap_or_default();
    let mut out = vec![
        Resource::integer("CPU", int("CPU")),
        Resource::integer("MEMORY", int("MEMORY")),
        Resource::string_set("PORTS", set("PORTS")),
        Resource::string_set("PORTS_UDP", set("PORTS_UDP")),
    ];
    let mut gpus = set("GPU");
    gpus.extend(devices.iter().filter(|d| d.kind == "GPU").map(|d| d.id.clone()));
    gpus.dedup();
    if !gpus.is_empty() {
        out.push(Resource::string_set("GPU", gpus));
    }
    out
}

/// Remaining resources after a re-registration changes the registered ones: what tasks use stays used.
/// (For integers remaining = registered - used; port sets list taken ports, so used ports stay in them; GPU sets
/// list free GPUs.)
fn rebase_remaining(old_reg: &[Resource], old_rem: &[Resource], new_reg: &[Resource]) -> Vec<Resource> {
    let find = |list: &[Resource], name: &str| list.iter().find(|r| r.name == name).cloned();
    new_reg
        .iter()
        .map(|reg| {
            let (Some(o_reg), Some(o_rem)) = (find(old_reg, &reg.name), find(old_rem, &reg.name)) else {
                return reg.clone();
            };
            let mut rem = reg.clone();
            match reg.name.as_str() {
                "CPU" | "MEMORY" => {
                    let used = o_reg.integer_value.unwrap_or(0) - o_rem.integer_value.unwrap_or(0);
                    rem.integer_value = Some(reg.integer_value.unwrap_or(0) - used);
                }
                "GPU" => {
                    let old_free = o_rem.string_set_value.unwrap_or_default();
                    let old_all = o_reg.string_set_value.unwrap_or_default();
                    let used: Vec<String> = old_all.into_iter().filter(|g| !old_free.contains(g)).collect();
                    rem.string_set_value = Some(
                        reg.string_set_value
                            .clone()
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|g| !used.contains(g))
                            .collect(),
                    );
                }
                _ => {
                    let old_reserved = o_reg.string_set_value.unwrap_or_default();
                    let mut taken = reg.string_set_value.clone().unwrap_or_default();
                    for p in o_rem.string_set_value.unwrap_or_default() {
                        if !old_reserved.contains(&p) && !taken.contains(&p) {
                            taken.push(p);
                        }
                    }
                    rem.string_set_value = Some(taken);
                }
            }
            rem
        })
        .collect()
}

/// Resolves `containerInstance` references (ids or ARNs) of a request to their keys in `cluster`.
/// An ARN that names another cluster than the request's points nowhere in this one.
fn instance_key(cluster: &str, reference: &str) -> String {
    match arn::scoped_id(reference, "container-instance") {
        (Some(other), id) if other != cluster => keys::instance(other, &format!("{id}\u{0}elsewhere")),
        (_, id) => keys::instance(cluster, id),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeContainerInstancesRequest {
    cluster: Option<String>,
    container_instances: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

pub async fn describe_container_instances(api: &Api, req: DescribeContainerInstancesRequest) -> ApiResult<Value> {
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value;
    if req.container_instances.len() > 100 {
        return Err(ApiError::invalid(format!(
            "containerInstances: at most 100 per call, got {}.",
            req.container_instances.len()
        )));
    }
    for i in &req.include {
        if !matches!(i.as_str(), "TAGS" | "CONTAINER_INSTANCE_HEALTH") {
            return Err(ApiError::invalid(format!(
                "include value '{}' is not valid. Valid values: TAGS, CONTAINER_INSTANCE_HEALTH.",
                truncate(i, 64)
            )));
        }
    }
    let with_tags = req.include.iter().any(|i| i == "TAGS");
    let with_health = req.include.iter().any(|i| i == "CONTAINER_INSTANCE_HEALTH");
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for reference in &req.container_instances {
        let key = instance_key(&cluster.cluster_name, reference);
        match state::get::<ContainerInstance>(api.store.as_ref(), &key).await? {
            Some(i) => {
                let mut inst = present(i.value, with_tags);
                if with_health {
                    inst.health_status = Some(health(&inst, api.now()));
                }
                found.push(inst);
            }
            None if arn::resource_part(reference).is_some() => failures.push(Failure::missing(reference.clone())),
            None => failures.push(Failure::missing(api.scope.container_instance(&cluster.cluster_name, reference))),
        }
    }
    Ok(json!({ "containerInstances": found, "failures": failures }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListContainerInstancesRequest {
    cluster: Option<String>,
    filter: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    status: Option<String>,
}

const INSTANCE_STATUSES: [&str; 5] = ["ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"];

pub async fn list_container_instances(api: &Api, req: ListContainerInstancesRequest) -> ApiResult<Value> {
    let page = PageRequest::new(req.next_token.as_deref(), req.max_results, 100)?;
    if let Some(s) = &req.status
        && !INSTANCE_STATUSES.contains(&s.as_str())
    {
        return Err(ApiError::invalid(format!(
            "status '{}' is not valid. Valid values: {}.",
            truncate(s, 64),
            INSTANCE_STATUSES.join(", ")
        )));
    }
    let filter = match req.filter.as_deref() {
        Some(f) if !f.trim().is_empty() => {
            Some(query::parse(f).map_err(|e| ApiError::invalid(format!("filter: {e}")))?)
        }
        _ => None,
    };
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value;
    let instances =
        state::list::<ContainerInstance>(api.store.as_ref(), &keys::instances_of(&cluster.cluster_name)).await?;
    let matching: Vec<Versioned<ContainerInstance>> = instances
        .into_iter()
        .filter(|i| match &req.status {
            Some(s) => &i.value.status == s,
            None => i.value.status != "INACTIVE",
        })
        .filter(|i| {
            let Some(expr) = &filter else { return true };
            expr.matches(&InstanceCandidate(&i.value))
        })
        .collect();
    let (page_items, next) = page.apply(matching, |i| i.key.clone());
    let arns: Vec<String> = page_items.into_iter().map(|i| i.value.container_instance_arn).collect();
    Ok(json!({ "containerInstanceArns": arns, "nextToken": next }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeregisterContainerInstanceRequest {
    cluster: Option<String>,
    container_instance: String,
    force: Option<bool>,
}

pub async fn deregister_container_instance(api: &Api, req: DeregisterContainerInstanceRequest) -> ApiResult<Value> {
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value;
    let key = instance_key(&cluster.cluster_name, &req.container_instance);
    let store = api.store.as_ref();
    let force = req.force.unwrap_or(false);
    let deregistered = state::commit(store, || async {
        let Some(current) =
            state::get::<ContainerInstance>(store, &key).await?.filter(|i| i.value.status != "INACTIVE")
        else {
            return Err(ApiError::invalid(format!(
                "containerInstance: {} is not registered in cluster {}.",
                truncate(&req.container_instance, 128),
                cluster.cluster_name
            )));
        };
        let running: u32 = current.value.task_groups.values().sum();
        if running > 0 && !force {
            return Err(ApiError::invalid(format!(
                "Found {running} running tasks on the instance {}; deregister with force to leave them orphaned.",
                current.value.container_instance_arn
            )));
        }
        let mut inst = current.value.clone();
        inst.status = "INACTIVE".into();
        inst.agent_connected = false;
        inst.version += 1;
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &inst)?], inst))
    })
    .await?;
    Ok(json!({ "containerInstance": present(deregistered, true) }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateContainerInstancesStateRequest {
    cluster: Option<String>,
    container_instances: Vec<String>,
    status: String,
}

pub async fn update_container_instances_state(
    api: &Api,
    req: UpdateContainerInstancesStateRequest,
) -> ApiResult<Value> {
    if !matches!(req.status.as_str(), "ACTIVE" | "DRAINING") {
        return Err(ApiError::invalid(format!(
            "status '{}' is not valid for UpdateContainerInstancesState. Valid values: ACTIVE, DRAINING.",
            truncate(&req.status, 64)
        )));
    }
    if req.container_instances.len() > 10 {
        return Err(ApiError::invalid(format!(
            "containerInstances: at most 10 per call, got {}.",
            req.container_instances.len()
        )));
    }
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value;
    let store = api.store.as_ref();
    let mut updated = Vec::new();
    let mut failures = Vec::new();
    for reference in &req.container_instances {
        let key = instance_key(&cluster.cluster_name, reference);
        let (_, id) = arn::scoped_id(reference, "container-instance");
        let arn = api.scope.container_instance(&cluster.cluster_name, id);
        let result = state::commit(store, || async {
            let Some(current) = state::get::<ContainerInstance>(store, &key).await? else {
                return Ok((vec![], vec![], None));
            };
            let mut inst = current.value.clone();
            if inst.status == "INACTIVE" {
                return Ok((vec![], vec![], Some(Err(inst))));
            }
            if inst.status == req.status {
                return Ok((vec![], vec![], Some(Ok(inst))));
            }
            inst.status = req.status.clone();
            inst.version += 1;
            Ok((vec![current.unchanged()], vec![state::put(&key, &inst)?], Some(Ok(inst))))
        })
        .await?;
        match result {
            Some(Ok(inst)) => updated.push(present(inst, false)),
            Some(Err(inst)) => failures.push(Failure {
                arn: Some(inst.container_instance_arn),
                reason: "INACTIVE".into(),
                detail: None,
            }),
            None => failures.push(Failure::missing(arn)),
        }
    }
    Ok(json!({ "containerInstances": updated, "failures": failures }))
}

/// An instance as Describe shows it; tags only when asked for.
/// `ContainerInstanceHealthStatus`: the one check Berth has is its agent's (which drives the Docker Engine) holding
/// its connection: OK while it does, INSUFFICIENT_DATA while it does not. Berth does not record when that last
/// changed, so `lastStatusChange` is left out.
fn health(inst: &ContainerInstance, now: f64) -> Value {
    let mut check = json!({"type": "CONTAINER_RUNTIME", "status": "OK", "lastUpdated": now});
    if !inst.agent_connected {
        check["status"] = json!("INSUFFICIENT_DATA");
        check["statusReason"] = json!("The instance's agent is not connected to the server.");
    }
    json!({ "overallStatus": check["status"], "details": [check] })
}

pub fn present(mut inst: ContainerInstance, with_tags: bool) -> ContainerInstance {
    inst.task_groups.clear();
    inst.agent_link = None;
    if !with_tags {
        inst.tags = None;
    } else if inst.tags.is_none() {
        inst.tags = Some(vec![]);
    }
    inst
}

/// An agent link must be an http(s) address and a token long enough not to be guessed.
fn check_agent_link(link: &AgentLink) -> ApiResult<()> {
    let scheme_ok = link.endpoint.starts_with("http://") || link.endpoint.starts_with("https://");
    if !scheme_ok || link.endpoint.len() > 256 {
        return Err(ApiError::invalid(format!(
            "berthAgentLink.endpoint: expected https://host:port (or http://), got '{}'.",
            truncate(&link.endpoint, 64)
        )));
    }
    if !(16..=256).contains(&link.token.len()) {
        return Err(ApiError::invalid("berthAgentLink.token: expected 16 to 256 characters."));
    }
    Ok(())
}
