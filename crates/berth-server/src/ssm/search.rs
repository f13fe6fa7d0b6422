//! GetParametersByPath and DescribeParameters, and their filters.
//!
//! `ParameterFilters` (ParameterStringFilter): DescribeParameters takes `Name` (Equals, BeginsWith, Contains),
//! `Type`, `KeyId`, `Tier`, `DataType` (Equals, BeginsWith), `Path` (OneLevel, Recursive) and `tag:<key>` (Equals,
//! BeginsWith; without values: the tag is present); GetParametersByPath takes `Type`, `KeyId` (Equals, BeginsWith)
//! and `Label` (Equals; the parameter is returned at the version carrying the label). Each key at most once. The
//! older `Filters` of DescribeParameters (`Name` begins with, `Type`, `KeyId`) are taken too, not with
//! `ParameterFilters`. Results are in name order, paged with `NextToken`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::names::{self, Selector};
use super::params::shown;
use super::record::{self, DEFAULT_KEY, ParameterRecord, ParameterType};
use super::{input, store, validation};
use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// A filter's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterKey {
    Name,
    Type,
    KeyId,
    Path,
    Tier,
    DataType,
    Label,
    Tag(String),
}

impl FilterKey {
    fn shown(&self) -> String {
        match self {
            FilterKey::Name => "Name".into(),
            FilterKey::Type => "Type".into(),
            FilterKey::KeyId => "KeyId".into(),
            FilterKey::Path => "Path".into(),
            FilterKey::Tier => "Tier".into(),
            FilterKey::DataType => "DataType".into(),
            FilterKey::Label => "Label".into(),
            FilterKey::Tag(k) => format!("tag:{k}"),
        }
    }
}

/// A filter's option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOption {
    Equals,
    BeginsWith,
    Contains,
    OneLevel,
    Recursive,
}

/// A checked filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub key: FilterKey,
    pub option: FilterOption,
    pub values: Vec<String>,
}

/// A ParameterStringFilter as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StringFilterInput {
    key: String,
    option: Option<String>,
    values: Option<Vec<String>>,
}

/// Which operation the filters are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Describe,
    ByPath,
}

fn invalid_key(key: &str, valid: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Service("InvalidFilterKey"),
        format!(
            "The following filter key is not valid: {}. Valid filter keys include: [{valid}] (ParameterFilters).",
            berth_model::names::truncate(key, 132)
        ),
    )
}

fn invalid_option(option: &str, valid: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Service("InvalidFilterOption"),
        format!(
            "The following filter option is not valid: {}. Valid options include: [{valid}] (ParameterFilters).",
            berth_model::names::truncate(option, 32)
        ),
    )
}

fn invalid_value(message: String) -> ApiError {
    ApiError::new(ErrorCode::Service("InvalidFilterValue"), message)
}

/// Checks `ParameterFilters` for `usage`.
pub fn string_filters(given: Vec<StringFilterInput>, usage: Use) -> ApiResult<Vec<Filter>> {
    let mut out: Vec<Filter> = Vec::with_capacity(given.len());
    for f in given {
        let key = match f.key.as_str() {
            "Name" => FilterKey::Name,
            "Type" => FilterKey::Type,
            "KeyId" => FilterKey::KeyId,
            "Path" => FilterKey::Path,
            "Tier" => FilterKey::Tier,
            "DataType" => FilterKey::DataType,
            "Label" => FilterKey::Label,
            k => match k.strip_prefix("tag:") {
                Some(tag) if !tag.is_empty() && k.len() <= 132 => FilterKey::Tag(tag.to_owned()),
                _ => return Err(invalid_key(k, "tag:<key>, Name, Type, KeyId, Path, Label, Tier, DataType")),
            },
        };
        let allowed = match usage {
            Use::ByPath => matches!(key, FilterKey::Type | FilterKey::KeyId | FilterKey::Label),
            Use::Describe => !matches!(key, FilterKey::Label),
        };
        if !allowed {
            let valid = match usage {
                Use::ByPath => "Type, KeyId, Label",
                Use::Describe => "tag:<key>, Name, Type, KeyId, Path, Tier, DataType",
            };
            return Err(invalid_key(&key.shown(), valid));
        }
        let (default, valid): (FilterOption, &[(&str, FilterOption)]) = match key {
            FilterKey::Path => (
                FilterOption::OneLevel,
                &[("OneLevel", FilterOption::OneLevel), ("Recursive", FilterOption::Recursive)],
            ),
            FilterKey::Label => (FilterOption::Equals, &[("Equals", FilterOption::Equals)]),
            FilterKey::Name => (
                FilterOption::Equals,
                &[
                    ("Equals", FilterOption::Equals),
                    ("BeginsWith", FilterOption::BeginsWith),
                    ("Contains", FilterOption::Contains),
                ],
            ),
            _ => (FilterOption::Equals, &[("Equals", FilterOption::Equals), ("BeginsWith", FilterOption::BeginsWith)]),
        };
        let option = match f.option.as_deref() {
            None => default,
            Some(o) => match valid.iter().find(|(name, _)| *name == o) {
                Some((_, opt)) => *opt,
                None => {
                    let names: Vec<&str> = valid.iter().map(|(n, _)| *n).collect();
                    return Err(invalid_option(o, &names.join(", ")));
                }
            },
        };
        let values = f.values.unwrap_or_default();
        if values.is_empty() && !matches!(key, FilterKey::Tag(_)) {
            return Err(invalid_value(format!(
                "The following filter values are missing : null for filter key {} (ParameterFilters).",
                key.shown()
            )));
        }
        if values.len() > 50 || values.iter().any(|v| v.is_empty() || v.chars().count() > 1024) {
            return Err(validation(format!(
                "ParameterFilters: the values of {} must be 1 to 50 values of 1 to 1024 characters.",
                key.shown()
            )));
        }
        match &key {
            FilterKey::Type => {
                if let Some(v) = values.iter().find(|v| ParameterType::parse("Values", v).is_err()) {
                    return Err(invalid_value(format!(
                        "The following filter value is not valid: {}. Valid values include: [String, StringList, \
                         SecureString] (ParameterFilters Type).",
                        berth_model::names::truncate(v, 64)
                    )));
                }
            }
            FilterKey::Tier => {
                if let Some(v) =
                    values.iter().find(|v| !matches!(v.as_str(), "Standard" | "Advanced" | "Intelligent-Tiering"))
                {
                    return Err(invalid_value(format!(
                        "The following filter value is not valid: {}. Valid values include: [Standard, Advanced, \
                         Intelligent-Tiering] (ParameterFilters Tier).",
                        berth_model::names::truncate(v, 64)
                    )));
                }
            }
            FilterKey::Path => {
                for v in &values {
                    names::path("ParameterFilters Path", v)?;
                }
            }
            _ => {}
        }
        if out.iter().any(|o| o.key == key) {
            return Err(ApiError::new(
                ErrorCode::Service("InvalidFilterKey"),
                format!(
                    "The following filter is duplicated in the request: {}. A request can contain only one occurrence \
                     of a specific filter (ParameterFilters).",
                    key.shown()
                ),
            ));
        }
        let values = match key {
            FilterKey::Path => {
                values.iter().map(|v| names::path("ParameterFilters Path", v)).collect::<ApiResult<Vec<_>>>()?
            }
            _ => values,
        };
        out.push(Filter { key, option, values });
    }
    Ok(out)
}

/// DescribeParameters' older `Filters`, as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParametersFilterInput {
    key: String,
    values: Vec<String>,
}

/// Checks the older `Filters` and expresses them as string filters (`Name` matches by prefix).
pub fn legacy_filters(given: Vec<ParametersFilterInput>) -> ApiResult<Vec<Filter>> {
    let converted = given
        .into_iter()
        .map(|f| {
            let option = match f.key.as_str() {
                "Name" => "BeginsWith",
                "Type" | "KeyId" => "Equals",
                other => {
                    return Err(validation(format!(
                        "1 validation error detected: Value '{}' at 'filters.member.key' failed to satisfy \
                         constraint: Member must satisfy enum value set: [Name, Type, KeyId] (Filters).",
                        berth_model::names::truncate(other, 64)
                    )));
                }
            };
            Ok(StringFilterInput { key: f.key, option: Some(option.to_owned()), values: Some(f.values) })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    string_filters(converted, Use::Describe)
}

/// The name as filters compare it: with a leading `/`.
fn slashed(name: &str) -> String {
    format!("/{}", name.trim_start_matches('/'))
}

fn compare(option: FilterOption, have: &str, values: &[String]) -> bool {
    values.iter().any(|v| match option {
        FilterOption::BeginsWith => have.starts_with(v.as_str()),
        FilterOption::Contains => have.contains(v.as_str()),
        _ => have == v,
    })
}

/// Whether a parameter (stored under `key`) passes the filters other than `Label`, which needs its versions.
pub fn matches(filters: &[Filter], key: &str, p: &ParameterRecord) -> bool {
    filters.iter().all(|f| match &f.key {
        FilterKey::Name => match f.option {
            FilterOption::Contains => compare(f.option, key, &f.values),
            _ => {
                let values: Vec<String> = f.values.iter().map(|v| slashed(v)).collect();
                compare(f.option, &slashed(key), &values)
            }
        },
        FilterKey::Type => compare(f.option, p.latest.kind.as_str(), &f.values),
        FilterKey::KeyId => p.latest.kind == ParameterType::SecureString && compare(f.option, DEFAULT_KEY, &f.values),
        FilterKey::Tier => compare(f.option, p.latest.tier.as_str(), &f.values),
        FilterKey::DataType => compare(f.option, "text", &f.values),
        FilterKey::Path => f.values.iter().any(|path| names::under(key, path, f.option == FilterOption::Recursive)),
        FilterKey::Tag(tag) => p
            .tags
            .iter()
            .filter(|t| t.key == *tag)
            .any(|t| f.values.is_empty() || compare(f.option, &t.value, &f.values)),
        FilterKey::Label => true,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPathRequest {
    path: String,
    recursive: Option<bool>,
    parameter_filters: Option<Vec<StringFilterInput>>,
    with_decryption: Option<bool>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// A checked GetParametersByPath.
#[derive(Debug, PartialEq)]
pub struct ByPath {
    pub path: String,
    pub recursive: bool,
    pub filters: Vec<Filter>,
    pub decrypt: bool,
    pub size: usize,
    pub after: Option<String>,
}

pub fn parse_by_path(req: GetParametersByPathRequest) -> ApiResult<ByPath> {
    Ok(ByPath {
        path: names::path("Path", &req.path)?,
        recursive: req.recursive.unwrap_or(false),
        filters: string_filters(req.parameter_filters.unwrap_or_default(), Use::ByPath)?,
        decrypt: req.with_decryption.unwrap_or(false),
        size: input::max_results(req.max_results, 10, 10)?,
        after: input::next_token(req.next_token.as_deref())?,
    })
}

pub async fn get_parameters_by_path(api: &Api, req: GetParametersByPathRequest) -> ApiResult<Value> {
    let q = parse_by_path(req)?;
    let prefix = if q.path == "/" { String::new() } else { format!("{}/", q.path) };
    let labels: Option<&Vec<String>> = q.filters.iter().find(|f| f.key == FilterKey::Label).map(|f| &f.values);
    let mut found: Vec<(String, Value)> = Vec::new();
    let mut candidates = store::list(api, &prefix).await?;
    candidates.retain(|p| {
        let key = store::key_of_record(&p.key);
        names::under(key, &q.path, q.recursive)
            && q.after.as_deref().is_none_or(|a| key > a)
            && matches(&q.filters, key, &p.value)
    });
    for p in candidates {
        let key = store::key_of_record(&p.key).to_owned();
        let (data, selector) = match labels {
            None => (p.value.latest.clone(), None),
            Some(labels) => {
                let versions = store::versions(api, &key).await?;
                let hit = versions.into_iter().rev().find_map(|v| {
                    let label = labels.iter().find(|l| v.value.labels.contains(l))?.clone();
                    Some((v.value.data, Some(Selector::Label(label))))
                });
                match hit {
                    Some(hit) => hit,
                    None => continue,
                }
            }
        };
        found.push((key.clone(), shown(api, &p.value, &key, &data, q.decrypt, selector.as_ref())?));
        if found.len() > q.size {
            break;
        }
    }
    let (page, token) = input::page(found, None, q.size);
    Ok(json!({ "Parameters": page, "NextToken": token }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParametersRequest {
    filters: Option<Vec<ParametersFilterInput>>,
    parameter_filters: Option<Vec<StringFilterInput>>,
    max_results: Option<i64>,
    next_token: Option<String>,
    shared: Option<bool>,
}

/// A checked DescribeParameters.
#[derive(Debug, PartialEq)]
pub struct Describe {
    pub filters: Vec<Filter>,
    pub size: usize,
    pub after: Option<String>,
    /// Only parameters shared with this account: Berth has no sharing, so none.
    pub shared: bool,
}

pub fn parse_describe(req: DescribeParametersRequest) -> ApiResult<Describe> {
    let filters = match (req.filters, req.parameter_filters) {
        (Some(_), Some(_)) => {
            return Err(validation(
                "You can use either Filters or ParameterFilters in a single request (DescribeParameters).",
            ));
        }
        (Some(legacy), None) => legacy_filters(legacy)?,
        (None, Some(filters)) => string_filters(filters, Use::Describe)?,
        (None, None) => Vec::new(),
    };
    Ok(Describe {
        filters,
        size: input::max_results(req.max_results, 50, 50)?,
        after: input::next_token(req.next_token.as_deref())?,
        shared: req.shared.unwrap_or(false),
    })
}

pub async fn describe_parameters(api: &Api, req: DescribeParametersRequest) -> ApiResult<Value> {
    let q = parse_describe(req)?;
    if q.shared {
        return Ok(json!({ "Parameters": [] }));
    }
    let items: Vec<(String, Value)> = store::list(api, "")
        .await?
        .into_iter()
        .filter_map(|p| {
            let key = store::key_of_record(&p.key).to_owned();
            if !matches(&q.filters, &key, &p.value) {
                return None;
            }
            let shown = record::metadata(&p.value.name, &store::arn(api, &key), &p.value.latest);
            Some((key, shown))
        })
        .collect();
    let (page, token) = input::page(items, q.after.as_deref(), q.size);
    Ok(json!({ "Parameters": page, "NextToken": token }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::decode_input;
    use crate::ssm::record::{Tag, Tier, VersionData};

    fn filters(body: Value, usage: Use) -> ApiResult<Vec<Filter>> {
        string_filters(decode_input(body)?, usage)
    }

    fn param(kind: ParameterType, tags: &[(&str, &str)]) -> ParameterRecord {
        ParameterRecord {
            name: "n".into(),
            tags: tags.iter().map(|(k, v)| Tag { key: k.to_string(), value: v.to_string() }).collect(),
            latest: VersionData {
                version: 1,
                kind,
                value: "v".into(),
                description: None,
                allowed_pattern: None,
                tier: Tier::Standard,
                last_modified_date: 1.0,
            },
        }
    }

    #[test]
    fn filter_rules() {
        let f = filters(json!([{"Key": "Path", "Values": ["/a/"]}]), Use::Describe).unwrap();
        assert_eq!(f[0].option, FilterOption::OneLevel);
        assert_eq!(f[0].values, ["/a"]);
        let code = |body: Value, usage| filters(body, usage).unwrap_err().code;
        assert_eq!(
            code(json!([{"Key": "Color", "Values": ["x"]}]), Use::Describe),
            ErrorCode::Service("InvalidFilterKey")
        );
        assert_eq!(
            code(json!([{"Key": "Label", "Values": ["x"]}]), Use::Describe),
            ErrorCode::Service("InvalidFilterKey")
        );
        assert_eq!(
            code(json!([{"Key": "Name", "Values": ["x"]}]), Use::ByPath),
            ErrorCode::Service("InvalidFilterKey")
        );
        assert_eq!(
            code(json!([{"Key": "Type", "Option": "Contains", "Values": ["x"]}]), Use::Describe),
            ErrorCode::Service("InvalidFilterOption")
        );
        assert_eq!(
            code(json!([{"Key": "Type", "Values": ["Number"]}]), Use::Describe),
            ErrorCode::Service("InvalidFilterValue")
        );
        assert_eq!(code(json!([{"Key": "Name"}]), Use::Describe), ErrorCode::Service("InvalidFilterValue"));
        assert_eq!(
            code(json!([{"Key": "Name", "Values": ["a"]}, {"Key": "Name", "Values": ["b"]}]), Use::Describe),
            ErrorCode::Service("InvalidFilterKey")
        );
        assert!(filters(json!([{"Key": "tag:team"}]), Use::Describe).is_ok(), "a tag filter may have no values");
        assert!(filters(json!([{"Key": "Path", "Values": ["a"]}]), Use::Describe).is_err());
        assert!(filters(json!([{"Key": "Label", "Values": ["prod"]}]), Use::ByPath).is_ok());
        assert!(legacy_filters(decode_input(json!([{"Key": "Color", "Values": ["x"]}])).unwrap()).is_err());
    }

    #[test]
    fn filters_match() {
        let secure = param(ParameterType::SecureString, &[("team", "ml-infra")]);
        let plain = param(ParameterType::String, &[]);
        let check =
            |body: Value, key: &str, p: &ParameterRecord| matches(&filters(body, Use::Describe).unwrap(), key, p);
        assert!(check(json!([{"Key": "Name", "Option": "BeginsWith", "Values": ["/app"]}]), "/app/x", &plain));
        assert!(check(json!([{"Key": "Name", "Option": "BeginsWith", "Values": ["fla"]}]), "flat", &plain));
        assert!(check(json!([{"Key": "Name", "Values": ["/flat"]}]), "flat", &plain), "Equals with or without /");
        assert!(check(json!([{"Key": "Name", "Option": "Contains", "Values": ["pp/x"]}]), "/app/x", &plain));
        assert!(!check(json!([{"Key": "Name", "Values": ["/app"]}]), "/app/x", &plain));
        assert!(check(json!([{"Key": "Type", "Values": ["SecureString"]}]), "/a", &secure));
        assert!(!check(json!([{"Key": "Type", "Values": ["SecureString"]}]), "/a", &plain));
        assert!(check(json!([{"Key": "KeyId", "Values": ["alias/aws/ssm"]}]), "/a", &secure));
        assert!(!check(json!([{"Key": "KeyId", "Values": ["alias/aws/ssm"]}]), "/a", &plain));
        assert!(check(json!([{"Key": "tag:team"}]), "/a", &secure));
        assert!(check(json!([{"Key": "tag:team", "Option": "BeginsWith", "Values": ["ml"]}]), "/a", &secure));
        assert!(!check(json!([{"Key": "tag:team", "Values": ["ml"]}]), "/a", &secure));
        assert!(!check(json!([{"Key": "tag:team"}]), "/a", &plain));
        assert!(check(json!([{"Key": "Path", "Values": ["/a"]}]), "/a/b", &plain));
        assert!(!check(json!([{"Key": "Path", "Values": ["/a"]}]), "/a/b/c", &plain));
        assert!(check(json!([{"Key": "Path", "Option": "Recursive", "Values": ["/a"]}]), "/a/b/c", &plain));
        assert!(check(
            json!([{"Key": "Tier", "Values": ["Standard"]}, {"Key": "DataType", "Values": ["text"]}]),
            "/a",
            &plain
        ));
    }

    #[test]
    fn by_path_and_describe_requests() {
        let q = parse_by_path(decode_input(json!({"Path": "/app/", "Recursive": true})).unwrap()).unwrap();
        assert_eq!((q.path.as_str(), q.recursive, q.size), ("/app", true, 10));
        assert!(parse_by_path(decode_input(json!({"Path": "/app", "MaxResults": 11})).unwrap()).is_err());
        assert!(parse_by_path(decode_input(json!({"Path": "app"})).unwrap()).is_err());
        let d = parse_describe(decode_input(json!({"Filters": [{"Key": "Name", "Values": ["/a"]}]})).unwrap()).unwrap();
        assert_eq!(d.filters[0].option, FilterOption::BeginsWith);
        let both = json!({"Filters": [{"Key": "Name", "Values": ["/a"]}], "ParameterFilters": [{"Key": "Name", "Values": ["/a"]}]});
        assert!(parse_describe(decode_input(both).unwrap()).unwrap_err().message.contains("ParameterFilters"));
        assert!(parse_describe(decode_input(json!({"MaxResults": 51})).unwrap()).is_err());
    }
}
