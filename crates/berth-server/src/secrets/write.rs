//! CreateSecret, PutSecretValue, UpdateSecret and UpdateSecretVersionStage: each parses its request into a typed
//! value with every stateless check, applies it to the stored secret as a transition ([`super::record`]), and
//! commits the record, the new version's sealed value and the removal of dropped versions' values in one
//! transaction guarded by compares.
//!
//! A ClientRequestToken is the new version's id, so a retry is recognised: the same token with the same value
//! succeeds without a second version; with another value it answers `ResourceExistsException`. Berth has no KMS,
//! no replication and no rotation: `KmsKeyId` other than the default, `AddReplicaRegions`, `Type` and
//! `RotationToken` are refused with errors saying so.

use serde::Deserialize;
use serde_json::{Value, json};

use super::record::{AWSCURRENT, NewVersion, SecretRecord, Tag, ValueKind};
use super::{invalid_parameter, invalid_request, store, validate};
use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::{self, Versioned};

/// A tag as sent (both members are optional in the model).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    key: Option<String>,
    value: Option<String>,
}

/// Tags as sent, checked.
pub fn tags_of(given: Vec<TagInput>) -> ApiResult<Vec<Tag>> {
    let tags = given
        .into_iter()
        .map(|t| match t.key {
            Some(key) => Ok(Tag { key, value: t.value.unwrap_or_default() }),
            None => Err(invalid_parameter("Tags: every tag needs a Key.")),
        })
        .collect::<ApiResult<Vec<_>>>()?;
    validate::tags(tags)
}

/// A new version's value and id.
pub struct Payload {
    pub kind: ValueKind,
    pub plaintext: Vec<u8>,
    pub version_id: String,
}

/// What a ClientRequestToken that already names a version means for this request.
enum Retry {
    /// The version holds this very value: the request was applied before.
    Same,
    /// No version has this id.
    New,
}

/// Whether `payload` repeats an existing version (same id, same value), is new, or reuses an id with another
/// value (`ResourceExistsException`).
async fn retry_of(api: &Api, secret: &SecretRecord, payload: &Payload) -> ApiResult<Retry> {
    let Some(existing) = secret.version(&payload.version_id) else { return Ok(Retry::New) };
    let stored = store::open_value(api, secret, &existing.id).await?;
    if existing.kind == payload.kind && stored == payload.plaintext {
        return Ok(Retry::Same);
    }
    Err(ApiError::new(
        ErrorCode::Service("ResourceExistsException"),
        format!(
            "You can't use ClientRequestToken {} because that value is already in use for a version of secret {}.",
            payload.version_id, secret.arn
        ),
    ))
}

fn no_replication(regions: Option<&Vec<Value>>) -> ApiResult<()> {
    if regions.is_some_and(|r| !r.is_empty()) {
        return Err(invalid_parameter(
            "AddReplicaRegions is not supported: Berth has no replication; a secret lives in this server's region only.",
        ));
    }
    Ok(())
}

fn no_type(t: Option<&str>) -> ApiResult<()> {
    match t {
        None | Some("") => Ok(()),
        Some(_) => {
            Err(invalid_parameter("Type is not supported by Berth: it has no secrets managed by other services."))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSecretRequest {
    name: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_binary: Option<String>,
    secret_string: Option<String>,
    #[serde(default)]
    tags: Vec<TagInput>,
    add_replica_regions: Option<Vec<Value>>,
    #[allow(dead_code)]
    force_overwrite_replica_secret: Option<bool>,
    #[serde(rename = "Type")]
    kind: Option<String>,
}

/// A checked CreateSecret.
pub struct NewSecret {
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
    pub payload: Option<Payload>,
}

pub fn parse_create(req: CreateSecretRequest) -> ApiResult<NewSecret> {
    validate::name("Name", &req.name)?;
    if let Some(d) = &req.description {
        validate::description(d)?;
    }
    validate::kms_key(req.kms_key_id.as_deref())?;
    no_replication(req.add_replica_regions.as_ref())?;
    no_type(req.kind.as_deref())?;
    let tags = tags_of(req.tags)?;
    let version_id = validate::new_version_id(req.client_request_token.as_deref())?;
    let payload = validate::value(req.secret_string, req.secret_binary)?.map(|(kind, plaintext)| Payload {
        kind,
        plaintext,
        version_id,
    });
    Ok(NewSecret { name: req.name, description: req.description, tags, payload })
}

/// Six random letters and digits, the end of a secret's ARN.
fn arn_suffix() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 6];
    // Without OS randomness there is no safe nonce for sealing either; fail the same way.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator is unavailable");
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

pub async fn create_secret(api: &Api, req: CreateSecretRequest) -> ApiResult<Value> {
    let new = parse_create(req)?;
    let arn = format!(
        "arn:aws:secretsmanager:{}:{}:secret:{}-{}",
        api.scope.region,
        api.scope.account_id,
        new.name,
        arn_suffix()
    );
    // A secret past its recovery window is purged here, so its name can be used again.
    store::by_name(api, &new.name).await?;
    let key = store::secret_key(&new.name);
    let db = api.store.as_ref();
    state::commit(db, || async {
        if let Some(existing) = state::get::<SecretRecord>(db, &key).await? {
            return existing_on_create(api, &existing.value, new.payload.as_ref()).await.map(|v| (vec![], vec![], v));
        }
        let now = api.now();
        let mut secret = SecretRecord::new(&new.name, arn.clone(), new.description.clone(), new.tags.clone(), now);
        let mut compares = vec![berth_store::Compare::absent(key.clone())];
        let mut ops = vec![];
        if let Some(p) = &new.payload {
            secret.add_version(
                NewVersion { id: p.version_id.clone(), kind: p.kind, stages: vec![AWSCURRENT.into()] },
                now,
            );
            let (compare, op) = store::put_value(api, &secret, &p.version_id, &p.plaintext)?;
            compares.push(compare);
            ops.push(op);
        }
        ops.push(state::put(&key, &secret)?);
        let out = json!({
            "ARN": secret.arn,
            "Name": secret.name,
            "VersionId": new.payload.as_ref().map(|p| &p.version_id),
        });
        Ok((compares, ops, out))
    })
    .await
}

/// CreateSecret on a name that is taken: a retry of the same request succeeds, anything else is refused.
async fn existing_on_create(api: &Api, existing: &SecretRecord, payload: Option<&Payload>) -> ApiResult<Value> {
    if existing.is_scheduled_for_deletion() {
        return Err(invalid_request(
            "You can't create this secret because a secret with this name is already scheduled for deletion.",
        ));
    }
    if let Some(p) = payload
        && let Retry::Same = retry_of(api, existing, p).await?
    {
        return Ok(json!({ "ARN": existing.arn, "Name": existing.name, "VersionId": p.version_id }));
    }
    Err(ApiError::new(
        ErrorCode::Service("ResourceExistsException"),
        format!("The operation failed because the secret {} already exists.", existing.name),
    ))
}

/// Adds `payload` as a new version carrying `stages` (or recognises a retry); the compares, ops and the version's
/// labels afterwards.
async fn add_version(
    api: &Api,
    current: &Versioned<SecretRecord>,
    payload: &Payload,
    stages: &[String],
    update: impl FnOnce(&mut SecretRecord),
) -> ApiResult<(Vec<berth_store::Compare>, Vec<berth_store::Op>, Vec<String>)> {
    let mut secret = current.value.clone();
    if let Retry::Same = retry_of(api, &secret, payload).await? {
        let stages = secret.version(&payload.version_id).map(|v| v.stages.clone()).unwrap_or_default();
        return Ok((vec![], vec![], stages));
    }
    let now = api.now();
    update(&mut secret);
    let new = NewVersion { id: payload.version_id.clone(), kind: payload.kind, stages: stages.to_vec() };
    let dropped = secret.add_version(new, now);
    let (compare, put_value) = store::put_value(api, &secret, &payload.version_id, &payload.plaintext)?;
    let mut ops = vec![put_value, state::put(&current.key, &secret)?];
    ops.extend(store::delete_values(&secret.name, &dropped));
    Ok((vec![current.unchanged(), compare], ops, stages.to_vec()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutSecretValueRequest {
    secret_id: String,
    client_request_token: Option<String>,
    secret_binary: Option<String>,
    secret_string: Option<String>,
    version_stages: Option<Vec<String>>,
    rotation_token: Option<String>,
}

/// A checked PutSecretValue.
pub struct PutValue {
    pub secret_id: String,
    pub payload: Payload,
    pub stages: Vec<String>,
}

pub fn parse_put(req: PutSecretValueRequest) -> ApiResult<PutValue> {
    validate::secret_id(&req.secret_id)?;
    if req.rotation_token.is_some() {
        return Err(invalid_parameter("RotationToken is not supported: Berth does not rotate secrets."));
    }
    let version_id = validate::new_version_id(req.client_request_token.as_deref())?;
    let Some((kind, plaintext)) = validate::value(req.secret_string, req.secret_binary)? else {
        return Err(invalid_parameter("You must provide either SecretString or SecretBinary."));
    };
    let stages = match req.version_stages {
        Some(s) => validate::stages(s)?,
        None => vec![AWSCURRENT.to_owned()],
    };
    Ok(PutValue { secret_id: req.secret_id, payload: Payload { kind, plaintext, version_id }, stages })
}

pub async fn put_secret_value(api: &Api, req: PutSecretValueRequest) -> ApiResult<Value> {
    let put = parse_put(req)?;
    let db = api.store.as_ref();
    state::commit(db, || async {
        let current = store::load(api, &put.secret_id).await?;
        current.value.ensure_active()?;
        let (compares, ops, stages) = add_version(api, &current, &put.payload, &put.stages, |_| {}).await?;
        let out = json!({
            "ARN": current.value.arn,
            "Name": current.value.name,
            "VersionId": put.payload.version_id,
            "VersionStages": stages,
        });
        Ok((compares, ops, out))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretRequest {
    secret_id: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_binary: Option<String>,
    secret_string: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
}

/// A checked UpdateSecret.
pub struct Update {
    pub secret_id: String,
    pub description: Option<String>,
    pub payload: Option<Payload>,
}

pub fn parse_update(req: UpdateSecretRequest) -> ApiResult<Update> {
    validate::secret_id(&req.secret_id)?;
    if let Some(d) = &req.description {
        validate::description(d)?;
    }
    validate::kms_key(req.kms_key_id.as_deref())?;
    no_type(req.kind.as_deref())?;
    let version_id = validate::new_version_id(req.client_request_token.as_deref())?;
    let payload = validate::value(req.secret_string, req.secret_binary)?.map(|(kind, plaintext)| Payload {
        kind,
        plaintext,
        version_id,
    });
    Ok(Update { secret_id: req.secret_id, description: req.description, payload })
}

pub async fn update_secret(api: &Api, req: UpdateSecretRequest) -> ApiResult<Value> {
    let update = parse_update(req)?;
    let db = api.store.as_ref();
    state::commit(db, || async {
        let current = store::load(api, &update.secret_id).await?;
        current.value.ensure_active()?;
        let out = json!({
            "ARN": current.value.arn,
            "Name": current.value.name,
            "VersionId": update.payload.as_ref().map(|p| &p.version_id),
        });
        let describe = |s: &mut SecretRecord| {
            if let Some(d) = &update.description {
                s.description = Some(d.clone());
            }
        };
        if let Some(p) = &update.payload {
            let (compares, ops, _) = add_version(api, &current, p, &[AWSCURRENT.to_owned()], describe).await?;
            return Ok((compares, ops, out));
        }
        let mut secret = current.value.clone();
        describe(&mut secret);
        if secret == current.value {
            return Ok((vec![], vec![], out));
        }
        secret.last_changed_date = api.now();
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &secret)?], out))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretVersionStageRequest {
    secret_id: String,
    version_stage: String,
    remove_from_version_id: Option<String>,
    move_to_version_id: Option<String>,
}

/// A checked UpdateSecretVersionStage.
#[derive(Debug)]
pub struct StageMove {
    pub secret_id: String,
    pub stage: String,
    pub remove_from: Option<String>,
    pub move_to: Option<String>,
}

pub fn parse_stage_move(req: UpdateSecretVersionStageRequest) -> ApiResult<StageMove> {
    validate::secret_id(&req.secret_id)?;
    validate::stage("VersionStage", &req.version_stage)?;
    if let Some(id) = &req.remove_from_version_id {
        validate::version_id("RemoveFromVersionId", id)?;
    }
    if let Some(id) = &req.move_to_version_id {
        validate::version_id("MoveToVersionId", id)?;
    }
    if req.remove_from_version_id.is_none() && req.move_to_version_id.is_none() {
        return Err(invalid_parameter("Give MoveToVersionId, RemoveFromVersionId or both."));
    }
    Ok(StageMove {
        secret_id: req.secret_id,
        stage: req.version_stage,
        remove_from: req.remove_from_version_id,
        move_to: req.move_to_version_id,
    })
}

pub async fn update_secret_version_stage(api: &Api, req: UpdateSecretVersionStageRequest) -> ApiResult<Value> {
    let m = parse_stage_move(req)?;
    let db = api.store.as_ref();
    state::commit(db, || async {
        let current = store::load(api, &m.secret_id).await?;
        current.value.ensure_active()?;
        let mut secret = current.value.clone();
        secret.move_stage(&m.stage, m.remove_from.as_deref(), m.move_to.as_deref(), api.now())?;
        let out = json!({ "ARN": secret.arn, "Name": secret.name });
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &secret)?], out))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::decode_input;

    fn create(body: Value) -> ApiResult<NewSecret> {
        parse_create(decode_input(body)?)
    }

    #[test]
    fn create_requests() {
        let token = "0123456789abcdef0123456789abcdef";
        let new = create(json!({"Name": "db", "SecretString": "pw", "ClientRequestToken": token,
            "Tags": [{"Key": "team", "Value": "ml"}], "Description": "d"}))
        .unwrap();
        assert_eq!(new.name, "db");
        let p = new.payload.unwrap();
        assert_eq!((p.kind, p.plaintext.as_slice(), p.version_id.as_str()), (ValueKind::String, &b"pw"[..], token));
        assert_eq!(new.tags, [Tag { key: "team".into(), value: "ml".into() }]);
        assert!(create(json!({"Name": "db"})).unwrap().payload.is_none(), "a secret may start without a value");
        let e = |body: Value| create(body).err().map(|e| e.message).unwrap_or_default();
        assert!(e(json!({"Name": "db", "KmsKeyId": "alias/k"})).contains("KMS"));
        assert!(e(json!({"Name": "db", "AddReplicaRegions": [{"Region": "eu-west-1"}]})).contains("replication"));
        assert!(e(json!({"Name": "db", "Type": "x"})).contains("Type"));
        assert!(e(json!({"Name": "a b"})).contains("name"));
        assert!(e(json!({"Name": "db", "ClientRequestToken": "short"})).contains("ClientRequestToken"));
        assert!(e(json!({"Name": "db", "Tags": [{"Value": "v"}]})).contains("Key"));
        assert!(e(json!({"Name": "db", "Description": "d".repeat(2049)})).contains("Description"));
        assert!(e(json!({"Name": 5})).contains("Name"));
        assert!(create(json!({"Name": "db", "KmsKeyId": "alias/aws/secretsmanager"})).is_ok());
    }

    #[test]
    fn put_requests() {
        let put = |body: Value| decode_input(body).and_then(parse_put);
        let p = put(json!({"SecretId": "db", "SecretString": "v"})).unwrap();
        assert_eq!(p.stages, [AWSCURRENT]);
        assert_eq!(p.payload.version_id.len(), 36, "a fresh UUID without a token");
        let p = put(json!({"SecretId": "db", "SecretBinary": "AQI=", "VersionStages": ["AWSPENDING"]})).unwrap();
        assert_eq!((p.payload.kind, p.stages.as_slice()), (ValueKind::Binary, &["AWSPENDING".to_owned()][..]));
        let e = put(json!({"SecretId": "db"})).err().unwrap();
        assert!(e.message.contains("SecretString"), "{}", e.message);
        assert!(put(json!({"SecretId": "db", "SecretString": "v", "VersionStages": []})).is_err());
        assert!(put(json!({"SecretId": "db", "SecretString": "v", "RotationToken": "x".repeat(40)})).is_err());
        assert!(put(json!({"SecretId": "", "SecretString": "v"})).is_err());
    }

    #[test]
    fn update_and_stage_requests() {
        let update = |body: Value| decode_input(body).and_then(parse_update);
        let u = update(json!({"SecretId": "db", "Description": "new"})).unwrap();
        assert!(u.payload.is_none());
        assert!(update(json!({"SecretId": "db", "KmsKeyId": "arn:aws:kms:us-east-1:1:key/x"})).is_err());
        let stage = |body: Value| decode_input(body).and_then(parse_stage_move);
        let id = "0123456789abcdef0123456789abcdef";
        assert!(stage(json!({"SecretId": "db", "VersionStage": "AWSCURRENT", "MoveToVersionId": id})).is_ok());
        let e = stage(json!({"SecretId": "db", "VersionStage": "AWSCURRENT"})).unwrap_err();
        assert!(e.message.contains("MoveToVersionId"));
        assert!(stage(json!({"SecretId": "db", "VersionStage": "", "MoveToVersionId": id})).is_err());
        assert!(stage(json!({"SecretId": "db", "VersionStage": "x", "MoveToVersionId": "short"})).is_err());
    }

    #[test]
    fn arn_suffixes_are_six_alphanumerics() {
        let s = arn_suffix();
        assert_eq!(s.len(), 6);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
