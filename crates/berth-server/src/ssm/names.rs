//! Parameter names, hierarchies, selectors and labels, with Parameter Store's rules and messages.
//!
//! A name is 1 to 2048 of `a-zA-Z0-9_.-` and `/`; a name with `/` is a path: it starts with `/`, has no empty
//! level, no trailing `/`, at most 15 levels. Names (or their first level) beginning with `aws` or `ssm`, any case,
//! are reserved. `/name` and `name` (one level) are the same parameter, as in Parameter Store: the key is the name
//! without that leading `/`. Reads may add a selector (`name:3` for a version, `name:label`) and may name the
//! parameter by its ARN (`arn:aws:ssm:<region>:<account>:parameter/<name>`).

use berth_model::arn::ArnScope;
use berth_model::names::truncate;

use super::validation;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The most levels a hierarchy may have.
pub const MAX_LEVELS: usize = 15;

/// The longest name.
pub const MAX_NAME: usize = 2048;

/// A checked parameter name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// As given.
    pub given: String,
    /// The store's key for it: one-level names without their leading `/`.
    pub key: String,
}

/// What a selector after the name picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Version(u64),
    Label(String),
}

/// A name as reads give it: the parameter and an optional selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: Name,
    pub selector: Option<Selector>,
}

impl Selector {
    /// As GetParameter's `Selector` shows it: `:3` or `:label`.
    pub fn shown(&self) -> String {
        match self {
            Selector::Version(v) => format!(":{v}"),
            Selector::Label(l) => format!(":{l}"),
        }
    }
}

/// The store key of a name: one-level names lose their leading `/`.
pub fn key_of(name: &str) -> String {
    match name.strip_prefix('/') {
        Some(rest) if !rest.contains('/') => rest.to_owned(),
        _ => name.to_owned(),
    }
}

fn reserved(name: &str) -> bool {
    let lower = name.trim_start_matches('/').to_ascii_lowercase();
    lower.starts_with("aws") || lower.starts_with("ssm")
}

/// A name PutParameter may create.
pub fn name(field: &str, name: &str) -> ApiResult<Name> {
    syntax(field, name)?;
    if reserved(name) {
        return Err(validation(format!(
            "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). ({field} '{}')",
            truncate(name, 256)
        )));
    }
    Ok(Name { given: name.to_owned(), key: key_of(name) })
}

/// A name as reads and deletions take it (reserved prefixes name nothing, but are not malformed).
pub fn existing(field: &str, name: &str) -> ApiResult<Name> {
    syntax(field, name)?;
    Ok(Name { given: name.to_owned(), key: key_of(name) })
}

fn syntax(field: &str, name: &str) -> ApiResult<()> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(validation(format!(
            "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length \
             between 1 and {MAX_NAME}."
        )));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "_.-/".contains(*c))) {
        return Err(validation(format!(
            "Parameter name '{}' ({field}) is not valid: '{c}' is not allowed. Parameter names can include only \
             a-zA-Z0-9_.- and / to delineate hierarchies.",
            truncate(name, 256)
        )));
    }
    if name.contains('/') {
        if !name.starts_with('/') {
            return Err(validation(format!(
                "Parameter name must be a fully qualified name ({field} '{}' has '/' but does not begin with it).",
                truncate(name, 256)
            )));
        }
        if name.len() > 1 && (name.ends_with('/') || name.contains("//")) {
            return Err(validation(format!(
                "Parameter name '{}' ({field}) is not valid: a hierarchy level can't be empty.",
                truncate(name, 256)
            )));
        }
        if name == "/" {
            return Err(validation(format!("{field}: '/' alone is not a parameter name.")));
        }
        if levels(name) > MAX_LEVELS {
            return Err(ApiError::new(
                ErrorCode::Service("HierarchyLevelLimitExceededException"),
                format!(
                    "A hierarchy can have a maximum of {MAX_LEVELS} levels ({field} '{}' has {}).",
                    truncate(name, 256),
                    levels(name)
                ),
            ));
        }
    }
    Ok(())
}

/// The levels of a path: `/a/b/c` has 3.
pub fn levels(name: &str) -> usize {
    name.split('/').filter(|s| !s.is_empty()).count()
}

/// A name as GetParameter, GetParameters and the tagging operations take it: the name or the parameter's ARN,
/// optionally with a selector.
pub fn reference(scope: &ArnScope, field: &str, given: &str) -> ApiResult<Reference> {
    let without_arn = strip_arn(scope, given).ok_or_else(|| {
        validation(format!(
            "{field} '{}' is not a parameter ARN of this region and account (arn:aws:ssm:{}:{}:parameter/<name>).",
            truncate(given, 256),
            scope.region,
            scope.account_id
        ))
    })?;
    let (name_part, selector) = match without_arn.split_once(':') {
        None => (without_arn.as_str(), None),
        Some((n, sel)) => (n, Some(selector(field, sel)?)),
    };
    Ok(Reference { name: existing(field, name_part)?, selector })
}

/// The name inside a parameter ARN (with the hierarchy's leading `/`), or the name itself; `None` for the ARN of
/// another region, account or service.
fn strip_arn(scope: &ArnScope, given: &str) -> Option<String> {
    let Some(rest) = given.strip_prefix("arn:") else { return Some(given.to_owned()) };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [_partition, "ssm", region, account, resource] = parts.as_slice() else { return None };
    if *region != scope.region || *account != scope.account_id {
        return None;
    }
    let name = resource.strip_prefix("parameter")?;
    // `parameter/a/b` is `/a/b`; `parameter/x` is `x` (or `/x`, the same parameter).
    if name.starts_with('/') { Some(name.to_owned()) } else { None }
}

fn selector(field: &str, text: &str) -> ApiResult<Selector> {
    if text.is_empty() {
        return Err(validation(format!("{field}: a ':' must be followed by a version or a label.")));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Selector::Version)
            .map_err(|_| validation(format!("{field}: the version {} is too large.", truncate(text, 32))));
    }
    if text.contains(':') || label_problem(text).is_some() {
        return Err(validation(format!(
            "{field}: '{}' is not a valid version or label selector.",
            truncate(text, 128)
        )));
    }
    Ok(Selector::Label(text.to_owned()))
}

/// Why a label is not valid, if it is not: 1 to 100 of letters, digits, `.`, `-`, `_`; not beginning with a digit,
/// `aws` or `ssm`.
pub fn label_problem(label: &str) -> Option<&'static str> {
    let lower = label.to_ascii_lowercase();
    if label.is_empty() || label.chars().count() > 100 {
        Some("labels are 1 to 100 characters")
    } else if !label.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)) {
        Some("labels hold letters, digits, '.', '-' and '_' only")
    } else if label.starts_with(|c: char| c.is_ascii_digit()) {
        Some("labels can't begin with a number")
    } else if lower.starts_with("aws") || lower.starts_with("ssm") {
        Some("labels can't begin with \"aws\" or \"ssm\"")
    } else {
        None
    }
}

/// A path GetParametersByPath takes: `/`, or a hierarchy `/a/b` (a trailing `/` is allowed), at most 15 levels.
pub fn path(field: &str, path: &str) -> ApiResult<String> {
    if path.is_empty() || path.len() > MAX_NAME {
        return Err(validation(format!("{field} must be 1 to {MAX_NAME} characters long.")));
    }
    let trimmed = if path.len() > 1 { path.strip_suffix('/').unwrap_or(path) } else { path };
    if !trimmed.starts_with('/')
        || trimmed.contains("//")
        || !trimmed.chars().all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
    {
        return Err(validation(format!(
            "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a \
             forward slash \"/\". It must use only letters, numbers, or the following symbols: . (period), - \
             (hyphen), _ (underscore). ({field} '{}')",
            truncate(path, 256)
        )));
    }
    if levels(trimmed) > MAX_LEVELS {
        return Err(ApiError::new(
            ErrorCode::Service("HierarchyLevelLimitExceededException"),
            format!("A hierarchy can have a maximum of {MAX_LEVELS} levels ({field} '{}').", truncate(path, 256)),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Whether the parameter with store key `key` lies under `path` (checked by [`path`]): one level below it, or at
/// any depth when `recursive`. One-level names (stored without `/`) lie directly under `/`.
pub fn under(key: &str, path: &str, recursive: bool) -> bool {
    if path == "/" {
        return recursive || !key.contains('/');
    }
    let Some(rest) = key.strip_prefix(path).and_then(|r| r.strip_prefix('/')) else { return false };
    !rest.is_empty() && (recursive || !rest.contains('/'))
}

/// The parameter's ARN: `arn:aws:ssm:<region>:<account>:parameter/<name without its leading />`.
pub fn arn(scope: &ArnScope, key: &str) -> String {
    format!("arn:aws:ssm:{}:{}:parameter/{}", scope.region, scope.account_id, key.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> ArnScope {
        ArnScope { region: "us-east-1".into(), account_id: "123456789012".into() }
    }

    #[test]
    fn names_and_hierarchies() {
        assert_eq!(name("Name", "/prod/db/url").unwrap().key, "/prod/db/url");
        assert_eq!(name("Name", "/flat").unwrap().key, "flat", "one level: the same parameter as 'flat'");
        assert_eq!(name("Name", "flat.name-1_x").unwrap().key, "flat.name-1_x");
        let e = name("Name", "a/b").unwrap_err();
        assert!(e.message.contains("fully qualified"), "{}", e.message);
        assert!(name("Name", "/a//b").is_err());
        assert!(name("Name", "/a/b/").is_err());
        assert!(name("Name", "/").is_err());
        assert!(name("Name", "a b").unwrap_err().message.contains("Name"));
        assert!(name("Name", "").is_err());
        assert!(name("Name", &"a".repeat(MAX_NAME + 1)).is_err());
        let deep = "/l".repeat(MAX_LEVELS + 1);
        let e = name("Name", &deep).unwrap_err();
        assert_eq!(e.code, ErrorCode::Service("HierarchyLevelLimitExceededException"));
        assert!(name("Name", &"/l".repeat(MAX_LEVELS)).is_ok());
        for reserved in ["aws-x", "/aws/x", "SSM.x", "/Ssm/y", "awsome"] {
            let e = name("Name", reserved).unwrap_err();
            assert!(e.message.contains("aws"), "{reserved}: {}", e.message);
            assert!(existing("Name", reserved).is_ok(), "reads of reserved names are not malformed");
        }
    }

    #[test]
    fn references_with_selectors_and_arns() {
        let s = scope();
        let r = reference(&s, "Name", "/a/b:3").unwrap();
        assert_eq!((r.name.key.as_str(), r.selector), ("/a/b", Some(Selector::Version(3))));
        let r = reference(&s, "Name", "x:prod").unwrap();
        assert_eq!(r.selector, Some(Selector::Label("prod".into())));
        assert_eq!(r.selector.unwrap().shown(), ":prod");
        let r = reference(&s, "Name", "arn:aws:ssm:us-east-1:123456789012:parameter/a/b").unwrap();
        assert_eq!(r.name.key, "/a/b");
        let r = reference(&s, "Name", "arn:aws:ssm:us-east-1:123456789012:parameter/x:2").unwrap();
        assert_eq!((r.name.key.as_str(), r.selector), ("x", Some(Selector::Version(2))));
        assert!(reference(&s, "Name", "arn:aws:ssm:eu-west-1:123456789012:parameter/x").is_err());
        assert!(reference(&s, "Name", "x:").is_err());
        assert!(reference(&s, "Name", "x:1:2").is_err());
        assert!(reference(&s, "Name", "x:awslabel").is_err());
        assert!(reference(&s, "Name", "x:99999999999999999999999").is_err());
        assert_eq!(arn(&s, "/a/b"), "arn:aws:ssm:us-east-1:123456789012:parameter/a/b");
        assert_eq!(arn(&s, "x"), "arn:aws:ssm:us-east-1:123456789012:parameter/x");
    }

    #[test]
    fn labels() {
        assert!(label_problem("prod-1.x_y").is_none());
        assert!(label_problem("1st").is_some());
        assert!(label_problem("AWSy").is_some());
        assert!(label_problem("ssm").is_some());
        assert!(label_problem("a b").is_some());
        assert!(label_problem("").is_some());
        assert!(label_problem(&"a".repeat(101)).is_some());
    }

    #[test]
    fn paths() {
        assert_eq!(path("Path", "/a/b/").unwrap(), "/a/b");
        assert_eq!(path("Path", "/").unwrap(), "/");
        assert!(path("Path", "a/b").unwrap_err().message.contains("forward slash"));
        assert!(path("Path", "/a//b").is_err());
        assert!(path("Path", "").is_err());
        assert!(path("Path", &"/l".repeat(16)).is_err());
        assert!(under("/a/b", "/a", false));
        assert!(!under("/a/b/c", "/a", false));
        assert!(under("/a/b/c", "/a", true));
        assert!(!under("/ab/c", "/a", true), "a sibling with a longer name is not below");
        assert!(!under("/a", "/a", true), "the path itself is not below it");
        assert!(under("flat", "/", false));
        assert!(!under("/a/b", "/", false));
        assert!(under("/a/b", "/", true));
    }
}
