//! TagResource and UntagResource: tags live on the secret's record, so they go with it. At most 50 per secret,
//! keys of 1 to 128 and values of at most 256 letters, digits, spaces and `_.:/=+-@`, no `aws:` keys. A secret
//! scheduled for deletion refuses changes (`InvalidRequestException`). DescribeSecret and ListSecrets show the
//! tags.

use serde::Deserialize;
use serde_json::{Value, json};

use super::record::{SecretRecord, Tag};
use super::write::{TagInput, tags_of};
use super::{invalid_parameter, store, validate};
use crate::api::Api;
use crate::error::ApiResult;
use crate::state;

/// What a tagging request does.
#[derive(Debug, PartialEq)]
pub enum Change {
    Add(Vec<Tag>),
    Remove(Vec<String>),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    secret_id: String,
    tags: Vec<TagInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    secret_id: String,
    tag_keys: Vec<String>,
}

pub fn parse_tag(req: TagResourceRequest) -> ApiResult<(String, Change)> {
    validate::secret_id(&req.secret_id)?;
    Ok((req.secret_id, Change::Add(tags_of(req.tags)?)))
}

pub fn parse_untag(req: UntagResourceRequest) -> ApiResult<(String, Change)> {
    validate::secret_id(&req.secret_id)?;
    if req.tag_keys.len() > 50 {
        return Err(invalid_parameter("TagKeys can hold at most 50 keys."));
    }
    for key in &req.tag_keys {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(invalid_parameter("TagKeys: tag keys must be 1 to 128 characters."));
        }
    }
    Ok((req.secret_id, Change::Remove(req.tag_keys)))
}

pub async fn tag_resource(api: &Api, req: TagResourceRequest) -> ApiResult<Value> {
    let (id, change) = parse_tag(req)?;
    apply(api, &id, &change).await
}

pub async fn untag_resource(api: &Api, req: UntagResourceRequest) -> ApiResult<Value> {
    let (id, change) = parse_untag(req)?;
    apply(api, &id, &change).await
}

async fn apply(api: &Api, secret_id: &str, change: &Change) -> ApiResult<Value> {
    state::commit(api.store.as_ref(), || async {
        let current = store::load(api, secret_id).await?;
        current.value.ensure_active()?;
        let mut secret: SecretRecord = current.value.clone();
        match change {
            Change::Add(tags) => secret.add_tags(tags, api.now())?,
            Change::Remove(keys) => secret.remove_tags(keys, api.now()),
        }
        if secret.tags == current.value.tags {
            return Ok((vec![], vec![], json!({})));
        }
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &secret)?], json!({})))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::decode_input;

    #[test]
    fn tag_requests() {
        let tag = |body: Value| decode_input(body).and_then(parse_tag);
        let (_, change) = tag(json!({"SecretId": "db", "Tags": [{"Key": "a", "Value": "1"}]})).unwrap();
        assert_eq!(change, Change::Add(vec![Tag { key: "a".into(), value: "1".into() }]));
        assert!(tag(json!({"SecretId": "db", "Tags": [{"Key": "aws:x", "Value": "1"}]})).is_err());
        assert!(tag(json!({"SecretId": "db"})).unwrap_err().message.contains("Tags"));
        let untag = |body: Value| decode_input(body).and_then(parse_untag);
        assert!(untag(json!({"SecretId": "db", "TagKeys": ["a"]})).is_ok());
        assert!(untag(json!({"SecretId": "db", "TagKeys": [""]})).unwrap_err().message.contains("TagKeys"));
    }
}
