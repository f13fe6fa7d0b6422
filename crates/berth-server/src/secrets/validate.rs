//! Stateless checks of Secrets Manager input, with its limits and messages: secret names and ids (name, full ARN
//! or partial ARN), ClientRequestToken, values, descriptions, tags, staging labels, recovery windows, KMS keys
//! (the default only), ListSecrets filters and sorting, and page tokens. Failures are `InvalidParameterException`
//! naming the field (`InvalidNextTokenException` for tokens). Messages never quote a secret value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use berth_model::arn::ArnScope;
use berth_model::names::{is_tag_char, truncate};

use super::invalid_parameter;
use super::record::{Tag, ValueKind};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The largest secret value, in bytes (string or binary).
pub const MAX_VALUE_BYTES: usize = 65_536;

/// The KMS key Berth's sealing stands for: the only `KmsKeyId` accepted.
pub const DEFAULT_KMS_KEY: &str = "alias/aws/secretsmanager";

/// A secret name: 1 to 512 ASCII letters, digits and `/_+=.@-`.
pub fn name(field: &str, name: &str) -> ApiResult<()> {
    if name.is_empty() || name.len() > 512 || !name.chars().all(is_name_char) {
        return Err(invalid_parameter(format!(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: \
             -/_+=.@! ({field} '{}', 1 to 512 characters).",
            truncate(name, 512)
        )));
    }
    Ok(())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

/// Where a `SecretId` may point: each candidate is a name to look up and, for a full ARN, the ARN the secret must
/// have. A full ARN (`...:secret:<name>-<6 characters>`) is tried first as such, then as a partial ARN (`...:secret:
/// <name>`); ARNs of another region or account name nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub arn: Option<String>,
}

/// A `SecretId` as given: a name, or a Secrets Manager ARN (full or partial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretId {
    Name(String),
    Arn { region: String, account: String, resource: String, arn: String },
}

/// Checks a `SecretId` (name, full ARN or partial ARN) without the store.
pub fn secret_id(id: &str) -> ApiResult<SecretId> {
    if id.is_empty() || id.chars().count() > 2048 {
        return Err(invalid_parameter("SecretId must be 1 to 2048 characters long."));
    }
    let Some(rest) = id.strip_prefix("arn:") else {
        name("SecretId", id)?;
        return Ok(SecretId::Name(id.to_owned()));
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [_partition, service, region, account, resource] = parts.as_slice() else {
        return Err(not_an_arn(id));
    };
    let Some(resource) = resource.strip_prefix("secret:") else { return Err(not_an_arn(id)) };
    if *service != "secretsmanager" {
        return Err(not_an_arn(id));
    }
    name("SecretId", resource)?;
    Ok(SecretId::Arn {
        region: (*region).to_owned(),
        account: (*account).to_owned(),
        resource: resource.to_owned(),
        arn: id.to_owned(),
    })
}

/// The candidates a checked `SecretId` stands for; empty when it names nothing in this region and account.
pub fn candidates(scope: &ArnScope, id: &SecretId) -> Vec<Candidate> {
    match id {
        SecretId::Name(name) => vec![Candidate { name: name.clone(), arn: None }],
        SecretId::Arn { region, account, .. } if *region != scope.region || *account != scope.account_id => vec![],
        SecretId::Arn { resource, arn, .. } => {
            let mut out = Vec::new();
            if let Some((base, suffix)) = resource.rsplit_once('-')
                && suffix.len() == 6
                && suffix.chars().all(|c| c.is_ascii_alphanumeric())
                && !base.is_empty()
            {
                out.push(Candidate { name: base.to_owned(), arn: Some(arn.clone()) });
            }
            out.push(Candidate { name: resource.clone(), arn: None });
            out
        }
    }
}

fn not_an_arn(id: &str) -> ApiError {
    invalid_parameter(format!(
        "SecretId '{}' is not a secret name or a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>).",
        truncate(id, 256)
    ))
}

/// A ClientRequestToken (the new version's id): 32 to 64 printable ASCII characters.
pub fn client_request_token(token: &str) -> ApiResult<()> {
    if !(32..=64).contains(&token.len()) {
        return Err(invalid_parameter("ClientRequestToken must be 32-64 characters long."));
    }
    version_chars("ClientRequestToken", token)
}

/// A VersionId given to find a version: 32 to 64 printable ASCII characters.
pub fn version_id(field: &str, id: &str) -> ApiResult<()> {
    if !(32..=64).contains(&id.len()) {
        return Err(invalid_parameter(format!("{field} must be 32-64 characters long.")));
    }
    version_chars(field, id)
}

fn version_chars(field: &str, id: &str) -> ApiResult<()> {
    if !id.bytes().all(|b| b.is_ascii_graphic()) || id.contains('/') {
        return Err(invalid_parameter(format!(
            "{field} may hold printable ASCII characters other than '/' only (a UUID is usual)."
        )));
    }
    Ok(())
}

/// A new version id: the ClientRequestToken, or a fresh UUID when the client sent none.
pub fn new_version_id(token: Option<&str>) -> ApiResult<String> {
    match token {
        Some(t) => {
            client_request_token(t)?;
            Ok(t.to_owned())
        }
        None => Ok(uuid::Uuid::new_v4().to_string()),
    }
}

/// A secret value from `SecretString` or `SecretBinary` (base64 in JSON), at most one of them; `None` when
/// neither is given. The plaintext is never part of an error.
pub fn value(string: Option<String>, binary: Option<String>) -> ApiResult<Option<(ValueKind, Vec<u8>)>> {
    match (string, binary) {
        (Some(_), Some(_)) => Err(invalid_parameter(
            "You can't specify both a binary secret value (SecretBinary) and a string secret value (SecretString) in \
             the same secret.",
        )),
        (None, None) => Ok(None),
        (Some(s), None) => {
            if s.is_empty() || s.len() > MAX_VALUE_BYTES {
                return Err(invalid_parameter(format!("SecretString must be 1 to {MAX_VALUE_BYTES} bytes long.")));
            }
            Ok(Some((ValueKind::String, s.into_bytes())))
        }
        (None, Some(b)) => {
            let bytes =
                STANDARD.decode(b.as_bytes()).map_err(|_| invalid_parameter("SecretBinary must be base64-encoded."))?;
            if bytes.is_empty() || bytes.len() > MAX_VALUE_BYTES {
                return Err(invalid_parameter(format!("SecretBinary must be 1 to {MAX_VALUE_BYTES} bytes long.")));
            }
            Ok(Some((ValueKind::Binary, bytes)))
        }
    }
}

/// A description: at most 2048 characters.
pub fn description(d: &str) -> ApiResult<()> {
    if d.chars().count() > 2048 {
        return Err(invalid_parameter("Description can be at most 2048 characters long."));
    }
    Ok(())
}

/// `KmsKeyId`: Berth has no KMS, so only the default key (or none) is accepted.
pub fn kms_key(key: Option<&str>) -> ApiResult<()> {
    match key {
        None | Some("") => Ok(()),
        Some(k) if k == DEFAULT_KMS_KEY => Ok(()),
        Some(k) => Err(invalid_parameter(format!(
            "KmsKeyId '{}' is not supported: Berth has no KMS. Secret values are sealed with the server's own key; \
             omit KmsKeyId (or give {DEFAULT_KMS_KEY}).",
            truncate(k, 256)
        ))),
    }
}

/// Tags as given: at most 50, keys of 1 to 128 and values of at most 256 letters, digits, spaces and `_.:/=+-@`,
/// no keys under `aws:`. A key given twice keeps its last value.
pub fn tags(tags: Vec<Tag>) -> ApiResult<Vec<Tag>> {
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for tag in tags {
        tag_key("Tags", &tag.key)?;
        if tag.value.chars().count() > 256 {
            return Err(invalid_parameter(format!(
                "Tags: the value of '{}' is longer than 256 characters.",
                truncate(&tag.key, 128)
            )));
        }
        if let Some(c) = tag.value.chars().find(|c| !is_tag_char(*c)) {
            return Err(invalid_parameter(format!(
                "Tags: the value of '{}' holds '{c}', which tags do not allow (letters, digits, spaces and _.:/=+-@).",
                truncate(&tag.key, 128)
            )));
        }
        match out.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value,
            None => out.push(tag),
        }
    }
    if out.len() > super::record::MAX_TAGS {
        return Err(invalid_parameter(format!("Tags: a secret can have at most {} tags.", super::record::MAX_TAGS)));
    }
    Ok(out)
}

/// A tag key: 1 to 128 tag characters, not under `aws:`.
pub fn tag_key(field: &str, key: &str) -> ApiResult<()> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(invalid_parameter(format!("{field}: tag keys must be 1 to 128 characters.")));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(invalid_parameter(format!("{field}: tag keys starting with 'aws:' are reserved.")));
    }
    if let Some(c) = key.chars().find(|c| !is_tag_char(*c)) {
        return Err(invalid_parameter(format!(
            "{field}: tag key '{}' holds '{c}', which tags do not allow (letters, digits, spaces and _.:/=+-@).",
            truncate(key, 128)
        )));
    }
    Ok(())
}

/// A staging label: 1 to 256 characters.
pub fn stage(field: &str, stage: &str) -> ApiResult<()> {
    if stage.is_empty() || stage.chars().count() > 256 {
        return Err(invalid_parameter(format!("{field}: a staging label must be 1 to 256 characters.")));
    }
    Ok(())
}

/// PutSecretValue's `VersionStages`: 1 to 20 labels (duplicates once).
pub fn stages(given: Vec<String>) -> ApiResult<Vec<String>> {
    if given.is_empty() || given.len() > 20 {
        return Err(invalid_parameter("VersionStages must hold 1 to 20 staging labels."));
    }
    let mut out: Vec<String> = Vec::with_capacity(given.len());
    for s in given {
        stage("VersionStages", &s)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// How DeleteSecret deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// Scheduled after a recovery window of this many days.
    After(u32),
    /// At once, without recovery.
    Now,
}

/// `RecoveryWindowInDays` (7 to 30, default 30) or `ForceDeleteWithoutRecovery`, not both.
pub fn deletion(days: Option<i64>, force: Option<bool>) -> ApiResult<Deletion> {
    let force = force.unwrap_or(false);
    if force && days.is_some() {
        return Err(invalid_parameter(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        ));
    }
    if force {
        return Ok(Deletion::Now);
    }
    match days {
        None => Ok(Deletion::After(30)),
        Some(d @ 7..=30) => Ok(Deletion::After(d as u32)),
        Some(_) => Err(invalid_parameter("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")),
    }
}

/// `MaxResults` within 1..=`max`, or `max` when absent.
pub fn max_results(value: Option<i64>, max: i64) -> ApiResult<usize> {
    match value {
        None => Ok(max as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(invalid_parameter(format!("MaxResults must be between 1 and {max}, got {n}."))),
    }
}

/// The sort key a page token continues after.
pub fn next_token(token: Option<&str>) -> ApiResult<Option<String>> {
    let invalid = || ApiError::new(ErrorCode::Service("InvalidNextTokenException"), "The NextToken value is invalid.");
    match token {
        None => Ok(None),
        Some(t) => {
            let bytes = hex::decode(t).map_err(|_| invalid())?;
            String::from_utf8(bytes).map(Some).map_err(|_| invalid())
        }
    }
}

/// The token that continues after `key`.
pub fn token_after(key: &str) -> String {
    hex::encode(key.as_bytes())
}

/// A ListSecrets filter key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKey {
    Description,
    Name,
    TagKey,
    TagValue,
    PrimaryRegion,
    OwningService,
    All,
}

/// One filter value: what to match, and whether it is negated (`!value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterValue {
    pub negated: bool,
    pub text: String,
}

/// A checked filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub key: FilterKey,
    pub values: Vec<FilterValue>,
}

/// A filter as sent.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterInput {
    key: Option<String>,
    values: Option<Vec<String>>,
}

/// `Filters`: at most 10, each a known key with 1 to 10 values of at most 512 characters of
/// `[a-zA-Z0-9 :_@/+=.-!]`.
pub fn filters(given: Vec<FilterInput>) -> ApiResult<Vec<Filter>> {
    if given.len() > 10 {
        return Err(invalid_parameter("Filters can hold at most 10 filters."));
    }
    given
        .into_iter()
        .map(|f| {
            let key = match f.key.as_deref() {
                Some("description") => FilterKey::Description,
                Some("name") => FilterKey::Name,
                Some("tag-key") => FilterKey::TagKey,
                Some("tag-value") => FilterKey::TagValue,
                Some("primary-region") => FilterKey::PrimaryRegion,
                Some("owning-service") => FilterKey::OwningService,
                Some("all") => FilterKey::All,
                other => {
                    return Err(invalid_parameter(format!(
                        "Filters.Key '{}' is not valid. Valid values: description, name, tag-key, tag-value, \
                         primary-region, owning-service, all.",
                        truncate(other.unwrap_or(""), 64)
                    )));
                }
            };
            let values = f.values.unwrap_or_default();
            if values.is_empty() || values.len() > 10 {
                return Err(invalid_parameter("Filters.Values must hold 1 to 10 values."));
            }
            let values = values
                .into_iter()
                .map(|v| {
                    if v.chars().count() > 512
                        || !v.chars().all(|c| c.is_ascii_alphanumeric() || " :_@/+=.-!".contains(c))
                    {
                        return Err(invalid_parameter(format!(
                            "Filters.Values '{}' is not valid: at most 512 of letters, digits, spaces and :_@/+=.-! \
                             (a leading ! negates).",
                            truncate(&v, 128)
                        )));
                    }
                    Ok(match v.strip_prefix('!') {
                        Some(rest) => FilterValue { negated: true, text: rest.to_owned() },
                        None => FilterValue { negated: false, text: v },
                    })
                })
                .collect::<ApiResult<Vec<_>>>()?;
            Ok(Filter { key, values })
        })
        .collect()
}

/// What a filter looks at in a secret.
pub struct Searchable<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub tags: &'a [Tag],
}

/// Whether a secret passes every filter (a filter passes when one of its values does). Name, tag keys and tag
/// values match by prefix, case-sensitive; description and `all` by words (each word of the value begins a word of
/// the field), not case-sensitive; `all` looks at the name, description, tag keys and tag values. A negated value
/// passes when its match fails. Berth's secrets have no primary region or owning service.
pub fn matches(filters: &[Filter], s: &Searchable) -> bool {
    filters.iter().all(|f| {
        f.values.iter().any(|v| {
            let hit = match f.key {
                FilterKey::Name => s.name.starts_with(&v.text),
                FilterKey::TagKey => s.tags.iter().any(|t| t.key.starts_with(&v.text)),
                FilterKey::TagValue => s.tags.iter().any(|t| t.value.starts_with(&v.text)),
                FilterKey::Description => s.description.is_some_and(|d| words_match(&v.text, d)),
                FilterKey::All => {
                    let mut fields: Vec<&str> = vec![s.name];
                    fields.extend(s.description);
                    fields.extend(s.tags.iter().flat_map(|t| [t.key.as_str(), t.value.as_str()]));
                    words_match(&v.text, &fields.join(" "))
                }
                FilterKey::PrimaryRegion | FilterKey::OwningService => false,
            };
            hit != v.negated
        })
    })
}

/// Whether every word of `query` begins some word of `text`, not case-sensitive.
fn words_match(query: &str, text: &str) -> bool {
    let wanted = words(query);
    let have = words(text);
    !wanted.is_empty() && wanted.iter().all(|w| have.iter().any(|h| h.starts_with(w.as_str())))
}

/// Lowercased words: letters and digits, split at punctuation, at a change from letter to digit (or back) and
/// before an uppercase letter that follows a lowercase one (`credsDatabase#892` is creds, database, 892).
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut last: Option<char> = None;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            last = None;
            continue;
        }
        if let Some(p) = last {
            let boundary = (p.is_alphabetic() != c.is_alphabetic()) || (p.is_lowercase() && c.is_uppercase());
            if boundary && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
        last = Some(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// ListSecrets' `SortBy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    CreatedDate,
    LastAccessedDate,
    LastChangedDate,
    Name,
}

pub fn sort_by(value: Option<&str>) -> ApiResult<SortBy> {
    match value {
        None | Some("created-date") => Ok(SortBy::CreatedDate),
        Some("last-accessed-date") => Ok(SortBy::LastAccessedDate),
        Some("last-changed-date") => Ok(SortBy::LastChangedDate),
        Some("name") => Ok(SortBy::Name),
        Some(other) => Err(invalid_parameter(format!(
            "SortBy '{}' is not valid. Valid values: created-date, last-accessed-date, last-changed-date, name.",
            truncate(other, 64)
        ))),
    }
}

/// ListSecrets' `SortOrder`: whether descending (the default).
pub fn descending(value: Option<&str>) -> ApiResult<bool> {
    match value {
        None | Some("desc") => Ok(true),
        Some("asc") => Ok(false),
        Some(other) => Err(invalid_parameter(format!(
            "SortOrder '{}' is not valid. Valid values: asc, desc.",
            truncate(other, 64)
        ))),
    }
}

/// A sort key for dates that orders as the dates do: zero-padded milliseconds, then the tie-breaker.
pub fn date_key(seconds: f64, tie: &str) -> String {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    format!("{millis:016}\u{1}{tie}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> ArnScope {
        ArnScope { region: "us-east-1".into(), account_id: "123456789012".into() }
    }

    #[test]
    fn names() {
        assert!(name("Name", "prod/db_password+x=y.z@w-1").is_ok());
        for bad in ["", "a b", "a:b", "ü", &"a".repeat(513)] {
            let e = name("Name", bad).unwrap_err();
            assert!(e.message.contains("name"), "{}", e.message);
        }
    }

    #[test]
    fn secret_ids_by_name_full_and_partial_arn() {
        let s = scope();
        let of = |id: &str| candidates(&s, &secret_id(id).unwrap());
        assert_eq!(of("db"), [Candidate { name: "db".into(), arn: None }]);
        let full = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbC123";
        assert_eq!(
            of(full),
            [
                Candidate { name: "prod/db".into(), arn: Some(full.into()) },
                Candidate { name: "prod/db-AbC123".into(), arn: None },
            ]
        );
        let partial = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db";
        assert_eq!(of(partial), [Candidate { name: "prod/db".into(), arn: None }]);
        assert!(of("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC123").is_empty());
        assert!(secret_id("arn:aws:ssm:us-east-1:123456789012:parameter/x").is_err());
        assert!(secret_id("arn:aws:secretsmanager:us-east-1:123456789012:secret:").is_err());
        assert!(secret_id("").is_err());
        assert!(secret_id("bad name").unwrap_err().message.contains("SecretId"));
    }

    #[test]
    fn tokens_and_version_ids() {
        assert!(client_request_token(&"a".repeat(32)).is_ok());
        assert!(client_request_token(&"a".repeat(31)).is_err());
        assert!(client_request_token(&"a".repeat(65)).is_err());
        assert!(client_request_token(&format!("{}/", "a".repeat(32))).is_err());
        assert_eq!(new_version_id(None).unwrap().len(), 36);
        let e = version_id("VersionId", "short").unwrap_err();
        assert!(e.message.contains("VersionId"));
    }

    #[test]
    fn values_are_one_of_string_or_binary_and_never_echoed() {
        assert_eq!(value(None, None).unwrap(), None);
        assert_eq!(value(Some("s3cr3t".into()), None).unwrap(), Some((ValueKind::String, b"s3cr3t".to_vec())));
        assert_eq!(value(None, Some(STANDARD.encode([0u8, 1, 2]))).unwrap(), Some((ValueKind::Binary, vec![0, 1, 2])));
        let e = value(Some("s3cr3t".into()), Some("AA==".into())).unwrap_err();
        assert!(!e.message.contains("s3cr3t"));
        assert!(value(Some("x".repeat(MAX_VALUE_BYTES + 1)), None).is_err());
        assert!(value(Some(String::new()), None).is_err());
        let e = value(None, Some("not base64!!".into())).unwrap_err();
        assert!(e.message.contains("SecretBinary"));
    }

    #[test]
    fn kms_keys_other_than_the_default_are_refused() {
        assert!(kms_key(None).is_ok());
        assert!(kms_key(Some(DEFAULT_KMS_KEY)).is_ok());
        let e = kms_key(Some("alias/mine")).unwrap_err();
        assert!(e.message.contains("KmsKeyId") && e.message.contains("KMS"), "{}", e.message);
    }

    #[test]
    fn tag_rules() {
        let t = |k: &str, v: &str| Tag { key: k.into(), value: v.into() };
        assert_eq!(tags(vec![t("a", "1"), t("a", "2")]).unwrap(), [t("a", "2")]);
        assert!(tags(vec![t("aws:x", "1")]).is_err());
        assert!(tags(vec![t("", "1")]).is_err());
        assert!(tags(vec![t("k", "a*b")]).is_err());
        assert!(tags(vec![t("k", &"v".repeat(257))]).is_err());
        assert!(tags((0..51).map(|i| t(&format!("k{i}"), "")).collect()).is_err());
        assert!(tag_key("TagKeys", &"k".repeat(129)).is_err());
    }

    #[test]
    fn stage_lists() {
        assert_eq!(stages(vec!["A".into(), "A".into(), "B".into()]).unwrap(), ["A", "B"]);
        assert!(stages(vec![]).is_err());
        assert!(stages((0..21).map(|i| i.to_string()).collect()).is_err());
        assert!(stages(vec![String::new()]).is_err());
    }

    #[test]
    fn deletion_windows() {
        assert_eq!(deletion(None, None).unwrap(), Deletion::After(30));
        assert_eq!(deletion(Some(7), Some(false)).unwrap(), Deletion::After(7));
        assert_eq!(deletion(None, Some(true)).unwrap(), Deletion::Now);
        assert!(deletion(Some(6), None).unwrap_err().message.contains("RecoveryWindowInDays"));
        assert!(deletion(Some(31), None).is_err());
        assert!(deletion(Some(i64::MIN), None).is_err());
        assert!(deletion(Some(7), Some(true)).unwrap_err().message.contains("ForceDeleteWithoutRecovery"));
    }

    #[test]
    fn paging() {
        assert_eq!(max_results(None, 100).unwrap(), 100);
        assert!(max_results(Some(0), 100).unwrap_err().message.contains("MaxResults"));
        assert!(max_results(Some(101), 100).is_err());
        let token = token_after("k\u{1}x");
        assert_eq!(next_token(Some(&token)).unwrap().as_deref(), Some("k\u{1}x"));
        assert_eq!(next_token(Some("zz")).unwrap_err().code, ErrorCode::Service("InvalidNextTokenException"));
        assert!(date_key(1.5, "a") < date_key(10.0, "a"));
    }

    fn filter(key: &str, values: &[&str]) -> FilterInput {
        FilterInput { key: Some(key.into()), values: Some(values.iter().map(|v| v.to_string()).collect()) }
    }

    #[test]
    fn filters_parse_and_match() {
        let tags = [Tag { key: "team".into(), value: "ml-infra".into() }];
        let s =
            Searchable { name: "prod/DatabaseSecret", description: Some("Credentials of the billing DB"), tags: &tags };
        let check = |f: Vec<FilterInput>| matches(&filters(f).unwrap(), &s);
        assert!(check(vec![filter("name", &["prod/Data"])]));
        assert!(!check(vec![filter("name", &["prod/data"])]), "name is case-sensitive");
        assert!(check(vec![filter("name", &["x", "prod"])]), "values are alternatives");
        assert!(check(vec![filter("description", &["billing"])]));
        assert!(check(vec![filter("description", &["credentials db"])]));
        assert!(!check(vec![filter("description", &["invoice"])]));
        assert!(check(vec![filter("tag-key", &["te"])]));
        assert!(check(vec![filter("tag-value", &["ml-"])]));
        assert!(!check(vec![filter("tag-value", &["infra"])]));
        assert!(check(vec![filter("all", &["database"])]), "words split at case changes");
        assert!(check(vec![filter("all", &["INFRA"])]));
        assert!(!check(vec![filter("all", &["nothing"])]));
        assert!(check(vec![filter("name", &["!dev"])]), "negation");
        assert!(!check(vec![filter("name", &["!prod"])]));
        assert!(!check(vec![filter("name", &["prod"]), filter("tag-key", &["owner"])]), "filters all apply");
        assert!(!check(vec![filter("primary-region", &["us"])]));
        assert!(filters(vec![filter("color", &["x"])]).unwrap_err().message.contains("Filters.Key"));
        assert!(filters(vec![filter("name", &[])]).is_err());
        assert!(filters(vec![filter("name", &["a*"])]).is_err());
        assert!(filters((0..11).map(|_| filter("name", &["a"])).collect()).is_err());
    }

    #[test]
    fn words_split_as_secrets_manager_does() {
        assert_eq!(words("credsDatabase#892"), ["creds", "database", "892"]);
        assert_eq!(words("My_Secret"), ["my", "secret"]);
        assert!(words("/-_").is_empty());
    }

    #[test]
    fn sorting() {
        assert_eq!(sort_by(None).unwrap(), SortBy::CreatedDate);
        assert_eq!(sort_by(Some("name")).unwrap(), SortBy::Name);
        assert!(sort_by(Some("size")).unwrap_err().message.contains("SortBy"));
        assert!(descending(None).unwrap());
        assert!(!descending(Some("asc")).unwrap());
        assert!(descending(Some("up")).unwrap_err().message.contains("SortOrder"));
    }
}
