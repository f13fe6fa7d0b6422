//! A parameter as stored, and the pure transitions of PutParameter and of labels.
//!
//! - `ssm/parameters/<key>`: the [`ParameterRecord`]: the name as created, its tags and a copy of its latest
//!   version (so reads of the current value are one store read).
//! - `ssm/versions/<escaped key>/<version, 20 digits>`: one [`VersionRecord`] per version kept (at most
//!   [`MAX_VERSIONS`]), with its labels.
//!
//! A SecureString's value is stored sealed (see [`super::store`]); String and StringList values are plain text, as
//! they are not secret in Parameter Store either.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::names::{Name, label_problem};
use super::pattern::Pattern;
use super::validation;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The most versions of a parameter kept.
pub const MAX_VERSIONS: usize = 100;
/// The most labels one version carries.
pub const MAX_LABELS: usize = 10;
/// The most tags a parameter carries.
pub const MAX_TAGS: usize = 50;
/// The largest value of a Standard parameter, in bytes.
pub const STANDARD_MAX: usize = 4096;
/// The largest value of an Advanced parameter, in bytes.
pub const ADVANCED_MAX: usize = 8192;
/// The only KMS key Berth accepts for SecureString parameters: its sealing stands for it.
pub const DEFAULT_KEY: &str = "alias/aws/ssm";

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParameterType {
    String,
    StringList,
    SecureString,
}

impl ParameterType {
    pub fn parse(field: &str, text: &str) -> ApiResult<ParameterType> {
        match text {
            "String" => Ok(ParameterType::String),
            "StringList" => Ok(ParameterType::StringList),
            "SecureString" => Ok(ParameterType::SecureString),
            other => Err(validation(format!(
                "1 validation error detected: Value '{}' at '{field}' failed to satisfy constraint: Member must \
                 satisfy enum value set: [SecureString, StringList, String]",
                berth_model::names::truncate(other, 64)
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ParameterType::String => "String",
            ParameterType::StringList => "StringList",
            ParameterType::SecureString => "SecureString",
        }
    }
}

/// A stored version's tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tier {
    Standard,
    Advanced,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "Standard",
            Tier::Advanced => "Advanced",
        }
    }

    fn max_value(self) -> usize {
        match self {
            Tier::Standard => STANDARD_MAX,
            Tier::Advanced => ADVANCED_MAX,
        }
    }
}

/// The tier a PutParameter asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierRequest {
    Standard,
    Advanced,
    /// Standard when the value fits, else Advanced.
    IntelligentTiering,
}

impl TierRequest {
    pub fn parse(text: &str) -> ApiResult<TierRequest> {
        match text {
            "Standard" => Ok(TierRequest::Standard),
            "Advanced" => Ok(TierRequest::Advanced),
            "Intelligent-Tiering" => Ok(TierRequest::IntelligentTiering),
            other => Err(validation(format!(
                "1 validation error detected: Value '{}' at 'tier' failed to satisfy constraint: Member must satisfy \
                 enum value set: [Advanced, Intelligent-Tiering, Standard]",
                berth_model::names::truncate(other, 64)
            ))),
        }
    }
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// One version's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionData {
    pub version: u64,
    #[serde(rename = "type")]
    pub kind: ParameterType,
    /// Plain for String and StringList; sealed for SecureString.
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    pub tier: Tier,
    pub last_modified_date: f64,
}

/// A parameter as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterRecord {
    /// The name as created.
    pub name: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub latest: VersionData,
}

/// A version as stored, with its labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRecord {
    #[serde(flatten)]
    pub data: VersionData,
    #[serde(default)]
    pub labels: Vec<String>,
}

/// A checked PutParameter (no `Debug`: it holds the value).
#[derive(Clone)]
pub struct Put {
    pub name: Name,
    /// The plaintext value (never part of an error).
    pub value: String,
    pub kind: Option<ParameterType>,
    pub overwrite: bool,
    pub description: Option<String>,
    /// The pattern as given, and compiled.
    pub allowed_pattern: Option<(String, Pattern)>,
    pub tags: Vec<Tag>,
    pub tier: Option<TierRequest>,
    /// Whether a KeyId (the default) was given.
    pub key_id: bool,
}

/// The version PutParameter makes: after `existing` (if any), with the value in clear; refusals as Parameter
/// Store words them. `now` is its LastModifiedDate.
pub fn next_version(existing: Option<&ParameterRecord>, put: &Put, now: f64) -> ApiResult<VersionData> {
    let previous = existing.map(|p| &p.latest);
    if previous.is_some() && !put.overwrite {
        return Err(ApiError::new(
            ErrorCode::Service("ParameterAlreadyExists"),
            "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
        ));
    }
    let kind = match (put.kind, previous) {
        (Some(k), _) => k,
        (None, Some(p)) => p.kind,
        (None, None) => return Err(validation("A parameter type is required when you create a parameter (Type).")),
    };
    if put.key_id && kind != ParameterType::SecureString {
        return Err(validation("KeyId can be given for SecureString parameters only."));
    }
    let description = put.description.clone().or_else(|| previous.and_then(|p| p.description.clone()));
    let allowed_pattern = match &put.allowed_pattern {
        Some((text, pattern)) => Some((text.clone(), pattern.clone())),
        None => match previous.and_then(|p| p.allowed_pattern.clone()) {
            Some(text) => Pattern::new(&text).ok().map(|p| (text, p)),
            None => None,
        },
    };
    if let Some((text, pattern)) = &allowed_pattern
        && !pattern.is_match(&put.value)
    {
        return Err(ApiError::new(
            ErrorCode::Service("ParameterPatternMismatchException"),
            format!("Parameter value, cannot be validated against allowedPattern: {text}"),
        ));
    }
    let tier = tier_of(put.tier, previous.map(|p| p.tier), put.value.len())?;
    Ok(VersionData {
        version: previous.map_or(1, |p| p.version + 1),
        kind,
        value: put.value.clone(),
        description,
        allowed_pattern: allowed_pattern.map(|(text, _)| text),
        tier,
        last_modified_date: now,
    })
}

/// The tier of a new version: as asked (Standard by default, or the parameter's current tier), never from Advanced
/// back to Standard, and large enough for the value.
fn tier_of(asked: Option<TierRequest>, current: Option<Tier>, size: usize) -> ApiResult<Tier> {
    let tier = match (asked, current) {
        (Some(TierRequest::Advanced), _) | (Some(TierRequest::IntelligentTiering), Some(Tier::Advanced)) => {
            Tier::Advanced
        }
        (Some(TierRequest::IntelligentTiering), _) => {
            if size > STANDARD_MAX {
                Tier::Advanced
            } else {
                Tier::Standard
            }
        }
        (Some(TierRequest::Standard), Some(Tier::Advanced)) => {
            return Err(validation(
                "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the \
                 advanced-parameter tier to the standard-parameter tier (Tier). If necessary, you can delete the \
                 advanced parameter and recreate it as a standard parameter.",
            ));
        }
        (Some(TierRequest::Standard), _) | (None, None) => Tier::Standard,
        (None, Some(t)) => t,
    };
    if size > tier.max_value() {
        return Err(validation(match tier {
            Tier::Standard => format!(
                "Standard tier parameters support a maximum parameter value of {STANDARD_MAX} bytes (Value). To \
                 create a larger parameter value, upgrade the parameter to use the advanced-parameter tier \
                 (Tier Advanced or Intelligent-Tiering)."
            ),
            Tier::Advanced => {
                format!("Advanced tier parameters support a maximum parameter value of {ADVANCED_MAX} bytes (Value).")
            }
        }));
    }
    Ok(tier)
}

/// LabelParameterVersion on `versions` (all the parameter's versions): attaches `labels` to `version`, taking each
/// from the version that had it. Labels that break the rules are returned (and not attached); the versions changed
/// are marked in the returned list of indexes.
pub fn label(versions: &mut [VersionRecord], version: u64, labels: &[String]) -> ApiResult<(Vec<String>, Vec<usize>)> {
    let Some(target) = versions.iter().position(|v| v.data.version == version) else {
        return Err(version_not_found(version));
    };
    let (valid, invalid): (Vec<&String>, Vec<&String>) = labels.iter().partition(|l| label_problem(l).is_none());
    let mut changed = Vec::new();
    for (i, v) in versions.iter_mut().enumerate() {
        if i == target {
            continue;
        }
        let before = v.labels.len();
        v.labels.retain(|l| !valid.contains(&l));
        if v.labels.len() != before {
            changed.push(i);
        }
    }
    let t = &mut versions[target];
    let before = t.labels.clone();
    for l in valid {
        if !t.labels.contains(l) {
            t.labels.push(l.clone());
        }
    }
    if t.labels.len() > MAX_LABELS {
        return Err(ApiError::new(
            ErrorCode::Service("ParameterVersionLabelLimitExceeded"),
            format!(
                "A parameter version can have maximum {MAX_LABELS} labels. Move one or more labels to another version \
                 and try again (version {version} would have {}).",
                t.labels.len()
            ),
        ));
    }
    if t.labels != before {
        changed.push(target);
    }
    Ok((invalid.into_iter().cloned().collect(), changed))
}

/// UnlabelParameterVersion on one version: the labels removed and those it did not carry.
pub fn unlabel(version: &mut VersionRecord, labels: &[String]) -> (Vec<String>, Vec<String>) {
    let (removed, invalid): (Vec<String>, Vec<String>) =
        labels.iter().cloned().partition(|l| version.labels.contains(l));
    version.labels.retain(|l| !removed.contains(l));
    (removed, invalid)
}

pub fn version_not_found(version: u64) -> ApiError {
    ApiError::new(
        ErrorCode::Service("ParameterVersionNotFound"),
        format!("Systems Manager could not find version {version} of the parameter. Verify the version and try again."),
    )
}

/// Adds or replaces tags; more than [`MAX_TAGS`] is `TooManyTagsError`.
pub fn add_tags(current: &mut Vec<Tag>, tags: &[Tag]) -> ApiResult<()> {
    for tag in tags {
        match current.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value.clone(),
            None => current.push(tag.clone()),
        }
    }
    if current.len() > MAX_TAGS {
        return Err(ApiError::new(
            ErrorCode::Service("TooManyTagsError"),
            format!(
                "The Tag limit of {MAX_TAGS} has been exceeded (Tags: the parameter would have {}).",
                current.len()
            ),
        ));
    }
    Ok(())
}

/// The members every view of a version shares.
pub fn common(name: &str, arn: &str, v: &VersionData) -> Value {
    json!({
        "Name": name,
        "Type": v.kind.as_str(),
        "Version": v.version,
        "LastModifiedDate": v.last_modified_date,
        "ARN": arn,
        "DataType": "text",
    })
}

/// DescribeParameters' and GetParameterHistory's metadata of a version (no value).
pub fn metadata(name: &str, arn: &str, v: &VersionData) -> Value {
    let mut out = common(name, arn, v);
    out["Description"] = json!(v.description);
    out["AllowedPattern"] = json!(v.allowed_pattern);
    out["Tier"] = json!(v.tier.as_str());
    out["Policies"] = json!([]);
    if v.kind == ParameterType::SecureString {
        out["KeyId"] = json!(DEFAULT_KEY);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(value: &str) -> Put {
        Put {
            name: Name { given: "/a/b".into(), key: "/a/b".into() },
            value: value.into(),
            kind: Some(ParameterType::String),
            overwrite: false,
            description: None,
            allowed_pattern: None,
            tags: vec![],
            tier: None,
            key_id: false,
        }
    }

    fn record(v: VersionData) -> ParameterRecord {
        ParameterRecord { name: "/a/b".into(), tags: vec![], latest: v }
    }

    #[test]
    fn first_and_next_versions() {
        let v1 = next_version(None, &put("x"), 1.0).unwrap();
        assert_eq!((v1.version, v1.kind, v1.tier), (1, ParameterType::String, Tier::Standard));
        let existing = record(v1);
        let e = next_version(Some(&existing), &put("y"), 2.0).unwrap_err();
        assert_eq!(e.code, ErrorCode::Service("ParameterAlreadyExists"));
        let mut again = put("y");
        again.overwrite = true;
        again.kind = None;
        again.description = Some("d".into());
        let v2 = next_version(Some(&existing), &again, 2.0).unwrap();
        assert_eq!((v2.version, v2.kind, v2.description.as_deref()), (2, ParameterType::String, Some("d")));
        let mut untyped = put("x");
        untyped.kind = None;
        assert!(next_version(None, &untyped, 1.0).unwrap_err().message.contains("Type"));
        let mut keyed = put("x");
        keyed.key_id = true;
        assert!(next_version(None, &keyed, 1.0).unwrap_err().message.contains("KeyId"));
    }

    #[test]
    fn allowed_patterns_are_kept_and_checked() {
        let mut p = put("123");
        p.allowed_pattern = Some((r"^\d+$".into(), Pattern::new(r"^\d+$").unwrap()));
        let v1 = next_version(None, &p, 1.0).unwrap();
        let existing = record(v1);
        let mut bad = put("abc-secret");
        bad.overwrite = true;
        let e = next_version(Some(&existing), &bad, 2.0).unwrap_err();
        assert_eq!(e.code, ErrorCode::Service("ParameterPatternMismatchException"));
        assert!(!e.message.contains("abc-secret"), "never the value");
        let mut good = put("456");
        good.overwrite = true;
        assert_eq!(next_version(Some(&existing), &good, 2.0).unwrap().allowed_pattern.as_deref(), Some(r"^\d+$"));
    }

    #[test]
    fn tiers_and_their_limits() {
        assert_eq!(tier_of(None, None, 10).unwrap(), Tier::Standard);
        assert!(tier_of(None, None, STANDARD_MAX + 1).unwrap_err().message.contains("Standard"));
        assert_eq!(tier_of(Some(TierRequest::Advanced), None, ADVANCED_MAX).unwrap(), Tier::Advanced);
        assert!(tier_of(Some(TierRequest::Advanced), None, ADVANCED_MAX + 1).is_err());
        assert_eq!(tier_of(Some(TierRequest::IntelligentTiering), None, 10).unwrap(), Tier::Standard);
        assert_eq!(tier_of(Some(TierRequest::IntelligentTiering), None, STANDARD_MAX + 1).unwrap(), Tier::Advanced);
        assert_eq!(tier_of(Some(TierRequest::IntelligentTiering), Some(Tier::Advanced), 1).unwrap(), Tier::Advanced);
        assert_eq!(tier_of(None, Some(Tier::Advanced), 1).unwrap(), Tier::Advanced, "overwrite keeps the tier");
        assert!(
            tier_of(Some(TierRequest::Standard), Some(Tier::Advanced), 1).unwrap_err().message.contains("downgrade")
        );
        assert!(TierRequest::parse("Premium").is_err());
        assert!(ParameterType::parse("Type", "Number").unwrap_err().message.contains("Type"));
    }

    fn versions(n: u64) -> Vec<VersionRecord> {
        (1..=n)
            .map(|i| VersionRecord {
                data: VersionData {
                    version: i,
                    kind: ParameterType::String,
                    value: "v".into(),
                    description: None,
                    allowed_pattern: None,
                    tier: Tier::Standard,
                    last_modified_date: 1.0,
                },
                labels: vec![],
            })
            .collect()
    }

    #[test]
    fn labels_move_between_versions() {
        let mut vs = versions(3);
        let (invalid, changed) = label(&mut vs, 1, &["prod".into(), "1bad".into(), "awsx".into()]).unwrap();
        assert_eq!(invalid, ["1bad", "awsx"]);
        assert_eq!(changed, [0]);
        let (_, changed) = label(&mut vs, 3, &["prod".into()]).unwrap();
        assert_eq!(changed, [0, 2]);
        assert!(vs[0].labels.is_empty());
        assert_eq!(vs[2].labels, ["prod"]);
        assert!(label(&mut vs, 9, &["x".into()]).is_err());
        let many: Vec<String> = (0..11).map(|i| format!("l{i}")).collect();
        let e = label(&mut vs, 2, &many).unwrap_err();
        assert_eq!(e.code, ErrorCode::Service("ParameterVersionLabelLimitExceeded"));
        let (removed, invalid) = unlabel(&mut vs[2], &["prod".into(), "nope".into()]);
        assert_eq!((removed, invalid), (vec!["prod".to_owned()], vec!["nope".to_owned()]));
    }

    #[test]
    fn tags_are_bounded() {
        let mut tags = vec![];
        let t = |k: &str| Tag { key: k.into(), value: "v".into() };
        add_tags(&mut tags, &[t("a"), t("a")]).unwrap();
        assert_eq!(tags.len(), 1);
        let many: Vec<Tag> = (0..MAX_TAGS).map(|i| t(&format!("k{i}"))).collect();
        assert_eq!(add_tags(&mut tags, &many).unwrap_err().code, ErrorCode::Service("TooManyTagsError"));
    }

    #[test]
    fn versions_store_flat() {
        let v = &versions(1)[0];
        let json = serde_json::to_value(v).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(serde_json::from_value::<VersionRecord>(json).unwrap(), *v);
    }
}
