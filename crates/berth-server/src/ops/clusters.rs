//! CreateCluster, DeleteCluster, DescribeClusters, ListClusters, UpdateCluster, UpdateClusterSettings.

use berth_model::arn;
use berth_model::cluster::{self, Cluster, ClusterSetting, KeyValuePair};
use berth_model::instance::ContainerInstance;
use berth_model::names::{self, check_resource_name, check_tags};
use berth_model::{Failure, Tag};
use berth_store::Compare;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::account_settings;
use crate::api::{Api, DEFAULT_CLUSTER};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::paging::PageRequest;
use crate::state::{self, keys};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateClusterRequest {
    cluster_name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    settings: Option<Vec<ClusterSetting>>,
    configuration: Option<Value>,
    #[serde(default)]
    capacity_providers: Vec<String>,
    #[serde(default)]
    default_capacity_provider_strategy: Vec<Value>,
    service_connect_defaults: Option<Value>,
}

/// A cluster created without a `containerInsights` setting takes the caller's `containerInsights` account setting.
pub async fn create_cluster(api: &Api, caller: &Caller, req: CreateClusterRequest) -> ApiResult<Value> {
    let name = req.cluster_name.as_deref().unwrap_or(DEFAULT_CLUSTER).to_owned();
    check_resource_name("clusterName", &name)?;
    check_tags(&req.tags)?;
    let mut settings = req.settings.unwrap_or_default();
    cluster::check_settings(&settings)?;
    if !req.capacity_providers.is_empty() || !req.default_capacity_provider_strategy.is_empty() {
        return Err(ApiError::new(
            ErrorCode::UnsupportedFeatureException,
            "capacityProviders: capacity providers are not supported by Berth yet.",
        ));
    }
    if !settings.iter().any(|s| s.name == "containerInsights") {
        let insights = account_settings::effective_for(api, caller, account_settings::Name::ContainerInsights).await?;
        settings.push(ClusterSetting { name: "containerInsights".into(), value: insights });
    }
    let key = keys::cluster(&name);
    let created = state::commit(api.store.as_ref(), || async {
        let existing = state::get::<Cluster>(api.store.as_ref(), &key).await?;
        // CreateCluster on an ACTIVE cluster returns it unchanged, as ECS does.
        if let Some(c) = &existing
            && c.value.status == "ACTIVE"
        {
            return Ok((vec![c.unchanged()], vec![], c.value.clone()));
        }
        let compare = match &existing {
            Some(c) => c.unchanged(),
            None => Compare::absent(key.clone()),
        };
        let cluster = Cluster {
            cluster_arn: api.scope.cluster(&name),
            cluster_name: name.clone(),
            status: "ACTIVE".into(),
            registered_container_instances_count: 0,
            running_tasks_count: 0,
            pending_tasks_count: 0,
            active_services_count: 0,
            statistics: None,
            tags: Some(req.tags.clone()),
            settings: Some(settings.clone()),
            configuration: req.configuration.clone(),
            service_connect_defaults: req.service_connect_defaults.clone(),
            capacity_providers: vec![],
            default_capacity_provider_strategy: vec![],
        };
        Ok((vec![compare], vec![state::put(&key, &cluster)?], cluster))
    })
    .await?;
    let shown = present(api, created, &[Include::Settings, Include::Tags, Include::Configurations]).await?;
    Ok(json!({ "cluster": shown }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteClusterRequest {
    cluster: String,
}

pub async fn delete_cluster(api: &Api, req: DeleteClusterRequest) -> ApiResult<Value> {
    let name = arn::cluster_name(&req.cluster).to_owned();
    let store = api.store.as_ref();
    let deleted = state::commit(store, || async {
        let current = api.active_cluster(Some(&name)).await?;
        let instances = state::list::<ContainerInstance>(store, &keys::instances_of(&name)).await?;
        if instances.iter().any(|i| matches!(i.value.status.as_str(), "ACTIVE" | "DRAINING")) {
            return Err(ApiError::new(
                ErrorCode::ClusterContainsContainerInstancesException,
                "The Cluster cannot be deleted while Container Instances are active or draining.",
            ));
        }
        let counts = LiveCounts::of(api, &name).await?;
        if counts.active_services + counts.draining_services > 0 {
            return Err(ApiError::new(
                ErrorCode::ClusterContainsServicesException,
                "The Cluster cannot be deleted while Services are active.",
            ));
        }
        if counts.running_tasks + counts.pending_tasks > 0 {
            return Err(ApiError::new(
                ErrorCode::ClusterContainsTasksException,
                "The Cluster cannot be deleted while Tasks are active.",
            ));
        }
        let mut cluster = current.value.clone();
        cluster.status = "INACTIVE".into();
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &cluster)?], cluster))
    })
    .await?;
    let shown = present(api, deleted, &[Include::Settings]).await?;
    Ok(json!({ "cluster": shown }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeClustersRequest {
    clusters: Option<Vec<String>>,
    #[serde(default)]
    include: Vec<String>,
}

/// Optional parts of a cluster description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Include {
    Settings,
    Statistics,
    Tags,
    Configurations,
    Attachments,
}

fn parse_includes(include: &[String]) -> ApiResult<Vec<Include>> {
    include
        .iter()
        .map(|i| match i.as_str() {
            "SETTINGS" => Ok(Include::Settings),
            "STATISTICS" => Ok(Include::Statistics),
            "TAGS" => Ok(Include::Tags),
            "CONFIGURATIONS" => Ok(Include::Configurations),
            "ATTACHMENTS" => Ok(Include::Attachments),
            other => Err(ApiError::invalid(format!(
                "include value '{}' is not valid. Valid values: ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS.",
                names::truncate(other, 64)
            ))),
        })
        .collect()
}

pub async fn describe_clusters(api: &Api, req: DescribeClustersRequest) -> ApiResult<Value> {
    let include = parse_includes(&req.include)?;
    let wanted = req.clusters.unwrap_or_else(|| vec![DEFAULT_CLUSTER.to_owned()]);
    if wanted.len() > 100 {
        return Err(ApiError::invalid(format!("clusters: at most 100 clusters per call, got {}.", wanted.len())));
    }
    let mut clusters = Vec::new();
    let mut failures = Vec::new();
    for c in &wanted {
        let name = arn::cluster_name(c);
        match state::get::<Cluster>(api.store.as_ref(), &keys::cluster(name)).await? {
            Some(found) => clusters.push(present(api, found.value, &include).await?),
            None => {
                failures.push(Failure::missing(if c.starts_with("arn:") { c.clone() } else { api.scope.cluster(name) }))
            }
        }
    }
    Ok(json!({ "clusters": clusters, "failures": failures }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListClustersRequest {
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub async fn list_clusters(api: &Api, req: ListClustersRequest) -> ApiResult<Value> {
    let page = PageRequest::new(req.next_token.as_deref(), req.max_results, 100)?;
    let arns: Vec<String> = state::list::<Cluster>(api.store.as_ref(), keys::CLUSTERS)
        .await?
        .into_iter()
        .filter(|c| c.value.status == "ACTIVE")
        .map(|c| c.value.cluster_arn)
        .collect();
    let (arns, next) = page.apply(arns, |a| a.clone());
    Ok(json!({ "clusterArns": arns, "nextToken": next }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateClusterRequest {
    cluster: String,
    settings: Option<Vec<ClusterSetting>>,
    configuration: Option<Value>,
    service_connect_defaults: Option<Value>,
}

pub async fn update_cluster(api: &Api, req: UpdateClusterRequest) -> ApiResult<Value> {
    if let Some(s) = &req.settings {
        cluster::check_settings(s)?;
    }
    let updated = modify(api, &req.cluster, |c| {
        if let Some(s) = &req.settings {
            cluster::merge_settings(c.settings.get_or_insert_with(Vec::new), s.clone());
        }
        if let Some(conf) = &req.configuration {
            c.configuration = Some(conf.clone());
        }
        if let Some(d) = &req.service_connect_defaults {
            c.service_connect_defaults = Some(d.clone());
        }
    })
    .await?;
    let shown = present(api, updated, &[Include::Settings, Include::Configurations]).await?;
    Ok(json!({ "cluster": shown }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateClusterSettingsRequest {
    cluster: String,
    settings: Vec<ClusterSetting>,
}

pub async fn update_cluster_settings(api: &Api, req: UpdateClusterSettingsRequest) -> ApiResult<Value> {
    cluster::check_settings(&req.settings)?;
    let updated = modify(api, &req.cluster, |c| {
        cluster::merge_settings(c.settings.get_or_insert_with(Vec::new), req.settings.clone());
    })
    .await?;
    let shown = present(api, updated, &[Include::Settings]).await?;
    Ok(json!({ "cluster": shown }))
}

/// Read-modify-write of an ACTIVE cluster.
pub async fn modify(api: &Api, cluster: &str, change: impl Fn(&mut Cluster)) -> ApiResult<Cluster> {
    state::commit(api.store.as_ref(), || async {
        let current = api.active_cluster(Some(cluster)).await?;
        let mut c = current.value.clone();
        change(&mut c);
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &c)?], c))
    })
    .await
}

/// Counts of what runs in a cluster, read from the store.
#[derive(Debug, Default)]
struct LiveCounts {
    instances: i64,
    running_tasks: i64,
    pending_tasks: i64,
    active_services: i64,
    draining_services: i64,
}

impl LiveCounts {
    async fn of(api: &Api, cluster: &str) -> ApiResult<Self> {
        let store = api.store.as_ref();
        let mut counts = LiveCounts::default();
        // Every task is placed on an instance, and the instance's counts change in the same transaction as the
        // task's status, so their sums are the cluster's counts without reading every task.
        for i in state::list::<ContainerInstance>(store, &keys::instances_of(cluster)).await? {
            if matches!(i.value.status.as_str(), "ACTIVE" | "DRAINING") {
                counts.instances += 1;
            }
            counts.running_tasks += i.value.running_tasks_count;
            counts.pending_tasks += i.value.pending_tasks_count;
        }
        // Services are read generically so these counts stay right as their type grows.
        for s in state::list::<Value>(store, &keys::services_of(cluster)).await? {
            match s.value.get("status").and_then(Value::as_str) {
                Some("ACTIVE") => counts.active_services += 1,
                Some("DRAINING") => counts.draining_services += 1,
                _ => {}
            }
        }
        Ok(counts)
    }
}

/// A cluster as Describe shows it: live counts filled in, optional parts as `include` asks.
async fn present(api: &Api, mut c: Cluster, include: &[Include]) -> ApiResult<Value> {
    if c.status == "ACTIVE" {
        let counts = LiveCounts::of(api, &c.cluster_name).await?;
        c.registered_container_instances_count = counts.instances;
        c.running_tasks_count = counts.running_tasks;
        c.pending_tasks_count = counts.pending_tasks;
        c.active_services_count = counts.active_services;
        if include.contains(&Include::Statistics) {
            let stat = |name: &str, value: i64| KeyValuePair { name: name.into(), value: value.to_string() };
            c.statistics = Some(vec![
                stat("runningEC2TasksCount", counts.running_tasks),
                stat("runningFargateTasksCount", 0),
                stat("pendingEC2TasksCount", counts.pending_tasks),
                stat("pendingFargateTasksCount", 0),
                stat("activeEC2ServiceCount", counts.active_services),
                stat("activeFargateServiceCount", 0),
                stat("drainingEC2ServiceCount", counts.draining_services),
                stat("drainingFargateServiceCount", 0),
            ]);
        }
    }
    // ECS answers an empty list for each of these parts when it is not asked for.
    if !include.contains(&Include::Statistics) {
        c.statistics = None;
    }
    if !include.contains(&Include::Tags) {
        c.tags = None;
    }
    if !include.contains(&Include::Settings) {
        c.settings = None;
    }
    c.statistics.get_or_insert_with(Vec::new);
    c.tags.get_or_insert_with(Vec::new);
    c.settings.get_or_insert_with(Vec::new);
    if !include.contains(&Include::Configurations) {
        c.configuration = None;
    }
    let mut v = serde_json::to_value(&c).map_err(|e| ApiError::server(e.to_string()))?;
    if include.contains(&Include::Attachments)
        && let Some(obj) = v.as_object_mut()
    {
        obj.insert("attachments".into(), json!([]));
        obj.insert("attachmentsStatus".into(), json!("UPDATE_COMPLETE"));
    }
    Ok(v)
}
