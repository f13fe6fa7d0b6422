//! PutAttributes, DeleteAttributes, ListAttributes: custom attributes on container instances, which `memberOf`
//! constraints and ListContainerInstances filters select on.

use std::collections::BTreeMap;

use berth_model::Attribute;
use berth_model::arn;
use berth_model::instance::ContainerInstance;
use berth_model::names::{check_attribute, truncate};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::paging::PageRequest;
use crate::state::{self, keys};

const TARGET_TYPE: &str = "container-instance";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributesRequest {
    cluster: Option<String>,
    attributes: Vec<Attribute>,
}

pub async fn put_attributes(api: &Api, req: AttributesRequest) -> ApiResult<Value> {
    for a in &req.attributes {
        check_attribute(&a.name, a.value.as_deref())?;
    }
    let applied = change(api, &req, |inst, a| inst.set_attribute(&a.name, a.value.as_deref())).await?;
    Ok(json!({ "attributes": applied }))
}

pub async fn delete_attributes(api: &Api, req: AttributesRequest) -> ApiResult<Value> {
    let applied = change(api, &req, |inst, a| inst.attributes.retain(|x| x.name != a.name)).await?;
    Ok(json!({ "attributes": applied }))
}

/// Applies `apply` for every attribute to its target instance, all in one transaction. Returns the attributes with
/// their targets as full ARNs.
async fn change(
    api: &Api,
    req: &AttributesRequest,
    apply: impl Fn(&mut ContainerInstance, &Attribute),
) -> ApiResult<Vec<Attribute>> {
    if req.attributes.is_empty() || req.attributes.len() > 10 {
        return Err(ApiError::invalid(format!("attributes: between 1 and 10 per call, got {}.", req.attributes.len())));
    }
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value;
    // Group by target so each instance is read and written once.
    let mut by_target: BTreeMap<String, Vec<&Attribute>> = BTreeMap::new();
    for a in &req.attributes {
        if let Some(t) = &a.target_type
            && t != TARGET_TYPE
        {
            return Err(ApiError::invalid(format!(
                "attributes.targetType '{}' is not valid. Valid values: container-instance.",
                truncate(t, 64)
            )));
        }
        let Some(target) = a.target_id.as_deref().filter(|t| !t.is_empty()) else {
            return Err(ApiError::invalid(format!(
                "attributes.targetId is required for attribute '{}' (a container instance id or ARN).",
                a.name
            )));
        };
        if a.target_type.is_none() && arn::resource_part(target).is_none() {
            return Err(ApiError::invalid(format!(
                "attributes.targetType is required when targetId '{}' is a short id rather than an ARN.",
                truncate(target, 64)
            )));
        }
        let (_, id) = arn::scoped_id(target, "container-instance");
        by_target.entry(keys::instance(&cluster.cluster_name, id)).or_default().push(a);
    }
    let store = api.store.as_ref();
    // Each target's ARN as the instance has it (long or short: containerInstanceLongArnFormat).
    let arns: BTreeMap<String, String> = state::commit(store, || async {
        let mut compares = Vec::new();
        let mut ops = Vec::new();
        let mut arns = BTreeMap::new();
        for (key, attrs) in &by_target {
            let Some(current) =
                state::get::<ContainerInstance>(store, key).await?.filter(|i| i.value.status != "INACTIVE")
            else {
                let id = key.rsplit('/').next().unwrap_or(key);
                return Err(ApiError::new(
                    ErrorCode::TargetNotFoundException,
                    format!("Could not find container instance {id} in cluster {}.", cluster.cluster_name),
                ));
            };
            let mut inst = current.value.clone();
            for a in attrs {
                apply(&mut inst, a);
            }
            let custom = inst.attributes.iter().filter(|a| berth_model::instance::is_custom_attribute(&a.name)).count();
            if custom > berth_model::instance::MAX_CUSTOM_ATTRIBUTES {
                return Err(ApiError::new(
                    ErrorCode::AttributeLimitExceededException,
                    format!(
                        "Container instance {} would have {custom} custom attributes; at most {} are allowed.",
                        inst.container_instance_arn,
                        berth_model::instance::MAX_CUSTOM_ATTRIBUTES
                    ),
                ));
            }
            inst.version += 1;
            compares.push(current.unchanged());
            ops.push(state::put(key, &inst)?);
            arns.insert(key.clone(), inst.container_instance_arn.clone());
        }
        Ok((compares, ops, arns))
    })
    .await?;
    let applied = req
        .attributes
        .iter()
        .map(|a| {
            let target = a.target_id.as_deref().unwrap_or_default();
            let (_, id) = arn::scoped_id(target, "container-instance");
            let key = keys::instance(&cluster.cluster_name, id);
            let target_id =
                arns.get(&key).cloned().unwrap_or_else(|| api.scope.container_instance(&cluster.cluster_name, id));
            Attribute { target_type: Some(TARGET_TYPE.into()), target_id: Some(target_id), ..a.clone() }
        })
        .collect();
    Ok(applied)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListAttributesRequest {
    cluster: Option<String>,
    target_type: String,
    attribute_name: Option<String>,
    attribute_value: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub async fn list_attributes(api: &Api, req: ListAttributesRequest) -> ApiResult<Value> {
    if req.target_type != TARGET_TYPE {
        return Err(ApiError::invalid(format!(
            "targetType '{}' is not valid. Valid values: container-instance.",
            truncate(&req.target_type, 64)
        )));
    }
    if req.attribute_value.is_some() && req.attribute_name.is_none() {
        return Err(ApiError::invalid("attributeValue can only be given together with attributeName."));
    }
    let page = PageRequest::new(req.next_token.as_deref(), req.max_results, 100)?;
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value;
    let mut found = Vec::new();
    for inst in state::list::<ContainerInstance>(api.store.as_ref(), &keys::instances_of(&cluster.cluster_name)).await?
    {
        if inst.value.status == "INACTIVE" {
            continue;
        }
        for a in &inst.value.attributes {
            let name_ok = req.attribute_name.as_ref().is_none_or(|n| n == &a.name);
            let value_ok = req.attribute_value.as_ref().is_none_or(|v| a.value.as_ref() == Some(v));
            if name_ok && value_ok {
                let sort_key = format!("{}\u{0}{}", inst.key, a.name);
                let attr = Attribute {
                    name: a.name.clone(),
                    value: a.value.clone(),
                    target_type: Some(TARGET_TYPE.into()),
                    target_id: Some(inst.value.container_instance_arn.clone()),
                };
                found.push((sort_key, attr));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let (page_items, next) = page.apply(found, |(k, _)| k.clone());
    let attributes: Vec<Attribute> = page_items.into_iter().map(|(_, a)| a).collect();
    Ok(json!({ "attributes": attributes, "nextToken": next }))
}
