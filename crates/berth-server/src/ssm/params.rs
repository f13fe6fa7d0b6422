//! PutParameter, GetParameter, GetParameters, DeleteParameter, DeleteParameters and GetParameterHistory.
//!
//! PutParameter parses its request with every stateless check, computes the new version from the stored parameter
//! ([`record::next_version`]), seals a SecureString's value, and commits the parameter record, the new version and
//! (past [`record::MAX_VERSIONS`]) the removal of the oldest version in one transaction guarded by compares. The
//! oldest version is not dropped while it has labels (`ParameterMaxVersionLimitExceeded`, as Parameter Store).

use berth_store::{Compare, Op};
use serde::Deserialize;
use serde_json::{Value, json};

use super::names::{self, Reference, Selector};
use super::record::{self, MAX_VERSIONS, ParameterRecord, ParameterType, Put, Tag, TierRequest, VersionData};
use super::{input, store, validation};
use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::{self, Versioned};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameterRequest {
    name: String,
    description: Option<String>,
    value: String,
    #[serde(rename = "Type")]
    kind: Option<String>,
    key_id: Option<String>,
    overwrite: Option<bool>,
    allowed_pattern: Option<String>,
    tags: Option<Vec<Tag>>,
    tier: Option<String>,
    policies: Option<String>,
    data_type: Option<String>,
}

pub fn parse_put(req: PutParameterRequest) -> ApiResult<Put> {
    let name = names::name("Name", &req.name)?;
    if req.value.is_empty() {
        return Err(validation(
            "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length \
             greater than or equal to 1.",
        ));
    }
    let kind = req.kind.as_deref().map(|t| ParameterType::parse("type", t)).transpose()?;
    let key_id = input::key_id(req.key_id.as_deref())?;
    let overwrite = req.overwrite.unwrap_or(false);
    if let Some(d) = &req.description {
        input::description(d)?;
    }
    // An empty pattern (Terraform sends one) is no pattern.
    let allowed_pattern = match req.allowed_pattern.filter(|p| !p.is_empty()) {
        Some(p) => {
            let compiled = input::allowed_pattern(&p)?;
            Some((p, compiled))
        }
        None => None,
    };
    let tags = req.tags.unwrap_or_default();
    if overwrite && !tags.is_empty() {
        return Err(validation(
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please \
             remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or \
             RemoveTagsFromResource.",
        ));
    }
    let tags = input::tags(tags)?;
    if tags.len() > record::MAX_TAGS {
        return Err(ApiError::new(
            ErrorCode::Service("TooManyTagsError"),
            format!("The Tag limit of {} has been exceeded (Tags).", record::MAX_TAGS),
        ));
    }
    let tier = req.tier.as_deref().map(TierRequest::parse).transpose()?;
    input::policies(req.policies.as_deref())?;
    input::data_type(req.data_type.as_deref())?;
    Ok(Put {
        name,
        value: req.value,
        kind,
        overwrite,
        description: req.description,
        allowed_pattern,
        tags,
        tier,
        key_id,
    })
}

pub async fn put_parameter(api: &Api, req: PutParameterRequest) -> ApiResult<Value> {
    let put = parse_put(req)?;
    let key = put.name.key.clone();
    let record_key = store::parameter_key(&key);
    let db = api.store.as_ref();
    state::commit(db, || async {
        let existing = store::get(api, &put.name).await?;
        let mut data = record::next_version(existing.as_ref().map(|e| &e.value), &put, api.now())?;
        store::seal(api, &key, &mut data);
        let mut compares = Vec::new();
        let mut ops = Vec::new();
        let record = match &existing {
            Some(e) => {
                compares.push(e.unchanged());
                let versions = store::versions(api, &key).await?;
                if versions.len() >= MAX_VERSIONS
                    && let Some(oldest) = versions.first()
                {
                    if !oldest.value.labels.is_empty() {
                        return Err(ApiError::new(
                            ErrorCode::Service("ParameterMaxVersionLimitExceeded"),
                            format!(
                                "You attempted to create a new version of {} by calling the PutParameter API with the \
                                 overwrite flag. Version {}, the oldest version, can't be deleted because it has a \
                                 label associated with it. Move the label to another version of the parameter, and \
                                 try again.",
                                e.value.name, oldest.value.data.version
                            ),
                        ));
                    }
                    compares.push(oldest.unchanged());
                    ops.push(Op::delete(oldest.key.clone()));
                }
                ParameterRecord { name: e.value.name.clone(), tags: e.value.tags.clone(), latest: data.clone() }
            }
            None => {
                compares.push(Compare::absent(record_key.clone()));
                ParameterRecord { name: put.name.given.clone(), tags: put.tags.clone(), latest: data.clone() }
            }
        };
        let version_key = store::version_key(&key, data.version);
        compares.push(Compare::absent(version_key.clone()));
        ops.push(state::put(&record_key, &record)?);
        ops.push(state::put(version_key, &record::VersionRecord { data: data.clone(), labels: vec![] })?);
        Ok((compares, ops, json!({ "Version": data.version, "Tier": data.tier.as_str() })))
    })
    .await
}

/// The version a reference's selector picks (the latest without one).
async fn resolve(
    api: &Api,
    record: &Versioned<ParameterRecord>,
    selector: Option<&Selector>,
) -> ApiResult<VersionData> {
    let key = store::key_of_record(&record.key);
    match selector {
        None => Ok(record.value.latest.clone()),
        Some(Selector::Version(v)) if *v == record.value.latest.version => Ok(record.value.latest.clone()),
        Some(Selector::Version(v)) => match store::version(api, key, *v).await? {
            Some(found) => Ok(found.value.data),
            None => Err(record::version_not_found(*v)),
        },
        Some(Selector::Label(label)) => store::versions(api, key)
            .await?
            .into_iter()
            .map(|v| v.value)
            .find(|v| v.labels.contains(label))
            .map(|v| v.data)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Service("ParameterVersionNotFound"),
                    format!(
                        "Systems Manager could not find the label {label} on any version of {}. Verify the label and \
                         try again.",
                        record.value.name
                    ),
                )
            }),
    }
}

/// A version as GetParameter shows it.
pub fn shown(
    api: &Api,
    record: &ParameterRecord,
    key: &str,
    data: &VersionData,
    decrypt: bool,
    selector: Option<&Selector>,
) -> ApiResult<Value> {
    let mut out = record::common(&record.name, &store::arn(api, key), data);
    out["Value"] = Value::String(store::value(api, key, data, decrypt)?);
    if let Some(s) = selector {
        out["Selector"] = Value::String(s.shown());
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterRequest {
    name: String,
    with_decryption: Option<bool>,
}

pub async fn get_parameter(api: &Api, req: GetParameterRequest) -> ApiResult<Value> {
    let reference = names::reference(&api.scope, "Name", &req.name)?;
    let decrypt = req.with_decryption.unwrap_or(false);
    let record = store::load(api, &reference.name).await?;
    let data = resolve(api, &record, reference.selector.as_ref()).await?;
    let key = store::key_of_record(&record.key);
    Ok(json!({ "Parameter": shown(api, &record.value, key, &data, decrypt, reference.selector.as_ref())? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersRequest {
    names: Vec<String>,
    with_decryption: Option<bool>,
}

pub async fn get_parameters(api: &Api, req: GetParametersRequest) -> ApiResult<Value> {
    let wanted = input::names(req.names)?;
    let decrypt = req.with_decryption.unwrap_or(false);
    let mut found = Vec::new();
    let mut invalid = Vec::new();
    for given in wanted {
        let Ok(reference) = names::reference(&api.scope, "Names", &given) else {
            invalid.push(given);
            continue;
        };
        let Some(record) = store::get(api, &reference.name).await? else {
            invalid.push(given);
            continue;
        };
        match resolve(api, &record, reference.selector.as_ref()).await {
            Ok(data) => {
                let key = store::key_of_record(&record.key);
                found.push(shown(api, &record.value, key, &data, decrypt, reference.selector.as_ref())?);
            }
            Err(e) if e.code == ErrorCode::Service("ParameterVersionNotFound") => invalid.push(given),
            Err(e) => return Err(e),
        }
    }
    Ok(json!({ "Parameters": found, "InvalidParameters": invalid }))
}

/// A name given to delete, tag or list the history of: the name or the parameter's ARN, without a selector.
pub fn plain_name(api: &Api, field: &str, given: &str) -> ApiResult<names::Name> {
    let Reference { name, selector } = names::reference(&api.scope, field, given)?;
    if selector.is_some() {
        return Err(validation(format!(
            "{field} '{}' must name the parameter without a version or label selector.",
            berth_model::names::truncate(given, 256)
        )));
    }
    Ok(name)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParameterRequest {
    name: String,
}

/// Deletes a parameter and its versions; whether it existed.
async fn delete(api: &Api, name: &names::Name) -> ApiResult<bool> {
    state::commit(api.store.as_ref(), || async {
        let Some(record) = store::get(api, name).await? else { return Ok((vec![], vec![], false)) };
        let (compares, ops) = store::removal(api, &record).await?;
        Ok((compares, ops, true))
    })
    .await
}

pub async fn delete_parameter(api: &Api, req: DeleteParameterRequest) -> ApiResult<Value> {
    let name = plain_name(api, "Name", &req.name)?;
    if !delete(api, &name).await? {
        return Err(store::not_found(&name.given));
    }
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParametersRequest {
    names: Vec<String>,
}

pub async fn delete_parameters(api: &Api, req: DeleteParametersRequest) -> ApiResult<Value> {
    let wanted = input::names(req.names)?;
    let mut deleted = Vec::new();
    let mut invalid = Vec::new();
    for given in wanted {
        match plain_name(api, "Names", &given) {
            Ok(name) if delete(api, &name).await? => deleted.push(given),
            _ => invalid.push(given),
        }
    }
    Ok(json!({ "DeletedParameters": deleted, "InvalidParameters": invalid }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterHistoryRequest {
    name: String,
    with_decryption: Option<bool>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub async fn get_parameter_history(api: &Api, req: GetParameterHistoryRequest) -> ApiResult<Value> {
    let name = plain_name(api, "Name", &req.name)?;
    let decrypt = req.with_decryption.unwrap_or(false);
    let size = input::max_results(req.max_results, 50, 50)?;
    let after = input::next_token(req.next_token.as_deref())?;
    let record = store::load(api, &name).await?;
    let key = store::key_of_record(&record.key);
    let arn = store::arn(api, key);
    let versions: Vec<(String, record::VersionRecord)> = store::versions(api, key)
        .await?
        .into_iter()
        .map(|v| (format!("{:020}", v.value.data.version), v.value))
        .collect();
    let (versions, token) = input::page(versions, after.as_deref(), size);
    let entries = versions
        .iter()
        .map(|v| {
            let mut out = record::metadata(&record.value.name, &arn, &v.data);
            out["Value"] = Value::String(store::value(api, key, &v.data, decrypt)?);
            if !v.labels.is_empty() {
                out["Labels"] = json!(v.labels);
            }
            if let Some(o) = out.as_object_mut() {
                o.remove("ARN");
            }
            Ok(out)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(json!({ "Parameters": entries, "NextToken": token }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::decode_input;

    fn parse(body: Value) -> ApiResult<Put> {
        decode_input::<PutParameterRequest>(body).and_then(parse_put)
    }

    fn message(body: Value) -> String {
        parse(body).err().map(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn put_requests() {
        let p = parse(json!({"Name": "/app/db/url", "Value": "v", "Type": "SecureString", "KeyId": "alias/aws/ssm",
            "Tags": [{"Key": "team", "Value": "ml"}], "Tier": "Intelligent-Tiering", "AllowedPattern": "^v$",
            "DataType": "text"}))
        .unwrap();
        assert_eq!((p.name.key.as_str(), p.kind, p.key_id), ("/app/db/url", Some(ParameterType::SecureString), true));
        assert_eq!(p.tier, Some(TierRequest::IntelligentTiering));
        assert!(
            message(json!({"Name": "/a", "Value": "v", "Overwrite": true, "Tags": [{"Key": "k", "Value": "v"}]}))
                .contains("overwrite")
        );
        assert!(message(json!({"Name": "/a", "Value": ""})).contains("value"));
        assert!(message(json!({"Name": "/a", "Value": "v", "Type": "Number"})).contains("type"));
        assert!(message(json!({"Name": "/a", "Value": "v", "KeyId": "alias/other"})).contains("KMS"));
        assert!(message(json!({"Name": "/a", "Value": "v", "Tier": "Gold"})).contains("tier"));
        assert!(message(json!({"Name": "/a", "Value": "v", "DataType": "aws:ec2:image"})).contains("DataType"));
        assert!(message(json!({"Name": "/a", "Value": "v", "Policies": "[{}]"})).contains("Policies"));
        assert!(message(json!({"Name": "/a", "Value": "v", "AllowedPattern": "(?=x)"})).contains("AllowedPattern"));
        assert!(message(json!({"Name": "/aws/x", "Value": "v"})).contains("aws"));
        assert!(message(json!({"Name": "a/b", "Value": "v"})).contains("fully qualified"));
        assert!(
            message(json!({"Name": "/a", "Value": "v", "Tags": [{"Key": "aws:k", "Value": "v"}]})).contains("aws:")
        );
        assert!(message(json!({"Name": "/a"})).contains("Value"), "a missing Value is named");
        let p = parse(json!({"Name": "/a", "Value": "v", "AllowedPattern": ""})).unwrap();
        assert!(p.allowed_pattern.is_none(), "an empty pattern is none");
        let secret = "hunter2-do-not-echo";
        for body in [
            json!({"Name": "/a", "Value": secret, "Type": "Bogus"}),
            json!({"Name": "/a b", "Value": secret}),
            json!({"Name": "/a", "Value": secret, "Overwrite": true, "Tags": [{"Key": "k", "Value": "v"}]}),
        ] {
            assert!(!message(body).contains(secret));
        }
    }
}
