//! AddTagsToResource, RemoveTagsFromResource and ListTagsForResource for `ResourceType` `Parameter` (Berth has no
//! other SSM resources: other types answer `InvalidResourceType`). `ResourceId` is the parameter's name or ARN.
//! Tags live on the parameter's record and go with it; at most 50 (`TooManyTagsError`).

use serde::Deserialize;
use serde_json::{Value, json};

use super::names::Name;
use super::params::plain_name;
use super::record::{self, Tag};
use super::{input, store};
use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state;

/// The parameter a tagging request names.
fn parameter(api: &Api, resource_type: &str, resource_id: &str) -> ApiResult<Name> {
    const TYPES: [&str; 9] = [
        "Document",
        "ManagedInstance",
        "MaintenanceWindow",
        "Parameter",
        "PatchBaseline",
        "OpsItem",
        "OpsMetadata",
        "Automation",
        "Association",
    ];
    if resource_type != "Parameter" {
        let why = if TYPES.contains(&resource_type) { "Berth has Parameter Store only" } else { "not a resource type" };
        return Err(ApiError::new(
            ErrorCode::Service("InvalidResourceType"),
            format!(
                "ResourceType {} is not supported ({why}); Berth tags parameters (ResourceType Parameter).",
                berth_model::names::truncate(resource_type, 64)
            ),
        ));
    }
    plain_name(api, "ResourceId", resource_id).map_err(|e| invalid_id(resource_id, &e.message))
}

fn invalid_id(resource_id: &str, why: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Service("InvalidResourceId"),
        format!("Invalid ResourceId {}: {why}", berth_model::names::truncate(resource_id, 256)),
    )
}

/// Applies `change` to the parameter's tags.
async fn change(api: &Api, name: &Name, change: impl Fn(&mut Vec<Tag>) -> ApiResult<()>) -> ApiResult<Value> {
    state::commit(api.store.as_ref(), || async {
        let Some(current) = store::get(api, name).await? else {
            return Err(invalid_id(&name.given, "the parameter does not exist."));
        };
        let mut updated = current.value.clone();
        change(&mut updated.tags)?;
        if updated == current.value {
            return Ok((vec![], vec![], json!({})));
        }
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &updated)?], json!({})))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddTagsToResourceRequest {
    resource_type: String,
    resource_id: String,
    tags: Vec<Tag>,
}

pub async fn add_tags_to_resource(api: &Api, req: AddTagsToResourceRequest) -> ApiResult<Value> {
    let tags = input::tags(req.tags)?;
    let name = parameter(api, &req.resource_type, &req.resource_id)?;
    change(api, &name, |current| record::add_tags(current, &tags)).await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTagsFromResourceRequest {
    resource_type: String,
    resource_id: String,
    tag_keys: Vec<String>,
}

pub async fn remove_tags_from_resource(api: &Api, req: RemoveTagsFromResourceRequest) -> ApiResult<Value> {
    for key in &req.tag_keys {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(super::validation("TagKeys: tag keys must be 1 to 128 characters."));
        }
    }
    let name = parameter(api, &req.resource_type, &req.resource_id)?;
    change(api, &name, |current| {
        current.retain(|t| !req.tag_keys.contains(&t.key));
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceRequest {
    resource_type: String,
    resource_id: String,
}

pub async fn list_tags_for_resource(api: &Api, req: ListTagsForResourceRequest) -> ApiResult<Value> {
    let name = parameter(api, &req.resource_type, &req.resource_id)?;
    let Some(current) = store::get(api, &name).await? else {
        return Err(invalid_id(&name.given, "the parameter does not exist."));
    };
    Ok(json!({ "TagList": current.value.tags }))
}
