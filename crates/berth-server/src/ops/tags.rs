//! TagResource, UntagResource, ListTagsForResource on every taggable resource Berth has: clusters, task
//! definitions, container instances and services. Tags live inside each resource's own record.

use berth_model::Tag;
use berth_model::arn;
use berth_model::cluster::Cluster;
use berth_model::instance::ContainerInstance;
use berth_model::names::{check_tags, merge_tags, truncate};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ops::services::StoredService;
use crate::ops::taskdefs::StoredTaskDefinition;
use crate::state::{self, keys};

/// The store key of a taggable resource, by kind.
enum Tagged {
    Cluster(String),
    TaskDefinition(String),
    Instance(String),
    Service(String),
}

fn resolve(resource_arn: &str) -> ApiResult<Tagged> {
    let invalid =
        || ApiError::invalid(format!("resourceArn '{}' is not a valid ECS resource ARN.", truncate(resource_arn, 256)));
    let resource = arn::resource_part(resource_arn).ok_or_else(invalid)?;
    let (kind, rest) = resource.split_once('/').ok_or_else(invalid)?;
    // As on ECS, resources with ARNs in the short format (no cluster: the `*LongArnFormat` account settings
    // disabled when they were created) cannot be tagged.
    if matches!(kind, "task" | "service" | "container-instance") && arn::is_short(resource_arn, kind) {
        return Err(crate::account_settings::short_arn_tagging());
    }
    match kind {
        "cluster" => Ok(Tagged::Cluster(keys::cluster(rest))),
        "task-definition" => match arn::task_definition_ref(rest) {
            Ok((family, Some(rev))) => Ok(Tagged::TaskDefinition(keys::taskdef(family, rev))),
            _ => Err(invalid()),
        },
        "container-instance" => match rest.split_once('/') {
            Some((cluster, id)) => Ok(Tagged::Instance(keys::instance(cluster, id))),
            None => Err(invalid()),
        },
        "service" => match rest.split_once('/') {
            Some((cluster, name)) => Ok(Tagged::Service(keys::service(cluster, name))),
            None => Err(invalid()),
        },
        "task" | "capacity-provider" | "task-set" => Err(ApiError::new(
            ErrorCode::ResourceNotFoundException,
            format!("The specified resource {} could not be found.", truncate(resource_arn, 256)),
        )),
        _ => Err(invalid()),
    }
}

/// Whether a Describe call's `include` (which may only name TAGS) asks for tags.
pub fn include_tags(include: &[String]) -> ApiResult<bool> {
    match include.iter().find(|i| *i != "TAGS") {
        Some(other) => {
            Err(ApiError::invalid(format!("include value '{}' is not valid. Valid values: TAGS.", truncate(other, 64))))
        }
        None => Ok(!include.is_empty()),
    }
}

/// A change to a resource's tags.
type TagChange = dyn Fn(&mut Vec<Tag>) + Sync;

fn not_found(resource_arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceNotFoundException,
        format!("The specified resource {} could not be found.", truncate(resource_arn, 256)),
    )
}

/// Reads a resource's tags, applies `change` (if any) and writes the resource back; returns the tags.
async fn with_tags(api: &Api, resource_arn: &str, change: Option<&TagChange>) -> ApiResult<Vec<Tag>> {
    let store = api.store.as_ref();
    let target = resolve(resource_arn)?;
    state::commit(store, || async {
        macro_rules! edit {
            ($ty:ty, $key:expr, $live:expr, $tags:expr) => {{
                let current = state::get::<$ty>(store, $key).await?;
                let Some(current) = current.filter($live) else {
                    return Err(not_found(resource_arn));
                };
                let mut value = current.value.clone();
                let tags = $tags(&mut value);
                let Some(change) = change else {
                    return Ok((vec![], vec![], tags.clone()));
                };
                change(tags);
                check_tags(tags)?;
                let result = tags.clone();
                Ok((vec![current.unchanged()], vec![state::put($key, &value)?], result))
            }};
        }
        match &target {
            Tagged::Cluster(key) => {
                edit!(Cluster, key, |c: &state::Versioned<Cluster>| c.value.status == "ACTIVE", cluster_tags)
            }
            Tagged::TaskDefinition(key) => {
                edit!(StoredTaskDefinition, key, |_: &state::Versioned<StoredTaskDefinition>| true, taskdef_tags)
            }
            Tagged::Instance(key) => {
                edit!(
                    ContainerInstance,
                    key,
                    |i: &state::Versioned<ContainerInstance>| i.value.status != "INACTIVE",
                    instance_tags
                )
            }
            Tagged::Service(key) => {
                edit!(
                    StoredService,
                    key,
                    |s: &state::Versioned<StoredService>| s.value.service.status != "INACTIVE",
                    service_tags
                )
            }
        }
    })
    .await
}

fn cluster_tags(c: &mut Cluster) -> &mut Vec<Tag> {
    c.tags.get_or_insert_with(Vec::new)
}

fn taskdef_tags(t: &mut StoredTaskDefinition) -> &mut Vec<Tag> {
    &mut t.tags
}

fn service_tags(s: &mut StoredService) -> &mut Vec<Tag> {
    s.service.tags.get_or_insert_with(Vec::new)
}

fn instance_tags(i: &mut ContainerInstance) -> &mut Vec<Tag> {
    i.tags.get_or_insert_with(Vec::new)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceRequest {
    resource_arn: String,
    tags: Vec<Tag>,
}

pub async fn tag_resource(api: &Api, req: TagResourceRequest) -> ApiResult<Value> {
    check_tags(&req.tags)?;
    let new = req.tags.clone();
    with_tags(api, &req.resource_arn, Some(&move |tags: &mut Vec<Tag>| merge_tags(tags, new.clone()))).await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceRequest {
    resource_arn: String,
    tag_keys: Vec<String>,
}

pub async fn untag_resource(api: &Api, req: UntagResourceRequest) -> ApiResult<Value> {
    let remove = req.tag_keys.clone();
    with_tags(api, &req.resource_arn, Some(&move |tags: &mut Vec<Tag>| tags.retain(|t| !remove.contains(&t.key))))
        .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceRequest {
    resource_arn: String,
}

pub async fn list_tags_for_resource(api: &Api, req: ListTagsForResourceRequest) -> ApiResult<Value> {
    let tags = with_tags(api, &req.resource_arn, None).await?;
    Ok(json!({ "tags": tags }))
}
