//! IAM's stored state: users, groups and roles (one record shape, [`Identity`], for what they share: inline policies,
//! attached managed policies, tags) and customer managed policies with their versions ([`ManagedPolicy`]), kept
//! under `iam/<kind>/<lowercased name>` (IAM names are unique without regard to case), plus the checks IAM applies to
//! names, paths, tags and policy documents, and how each record reads on the wire.
//!
//! Group membership is kept on the user (`groups`), so ListGroupsForUser is one read and GetGroup a scan of the
//! users: fine for the tens to thousands of users a Berth holds. Berth has no AWS managed policies, instance
//! profiles, permissions boundaries, login profiles or MFA devices.

use std::collections::BTreeMap;

use berth_model::names::truncate;
use berth_policy::{Policy, PolicyKind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::wire::query::{timestamp, url_encoded};

/// The three kinds of identity and the managed policy, as IAM names them in ARNs and ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    User,
    Group,
    Role,
    Policy,
}

impl Kind {
    /// The store folder and the ARN's resource type.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Role => "role",
            Kind::Policy => "policy",
        }
    }

    /// How IAM names the kind in messages.
    fn noun(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Role => "role",
            Kind::Policy => "policy",
        }
    }

    /// The first four characters of the kind's unique ids.
    fn id_prefix(self) -> &'static str {
        match self {
            Kind::User => "AIDA",
            Kind::Group => "AGPA",
            Kind::Role => "AROA",
            Kind::Policy => "ANPA",
        }
    }

    /// The longest name IAM allows.
    fn max_name(self) -> usize {
        match self {
            Kind::User | Kind::Role => 64,
            Kind::Group | Kind::Policy => 128,
        }
    }

    /// The longest inline policy IAM allows for the kind, in characters other than whitespace.
    pub fn max_inline_policy(self) -> usize {
        match self {
            Kind::User => 2048,
            Kind::Group => 5120,
            Kind::Role | Kind::Policy => 10240,
        }
    }

    /// How many managed policies may be attached.
    pub fn max_attached(self) -> usize {
        match self {
            Kind::Role => 20,
            _ => 10,
        }
    }

    /// The name IAM gives the kind's quota of attached policies.
    pub fn attached_quota(self) -> &'static str {
        match self {
            Kind::User => "PoliciesPerUser",
            Kind::Group => "PoliciesPerGroup",
            Kind::Role => "PoliciesPerRole",
            Kind::Policy => "Policies",
        }
    }
}

/// A tag on a user, role or policy (`Tag`: `Key`, `Value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamTag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value", default)]
    pub value: String,
}

/// A user, group or role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// As created (IAM keeps the case given).
    pub name: String,
    pub id: String,
    pub path: String,
    pub created_at: f64,
    #[serde(default)]
    pub tags: Vec<IamTag>,
    /// Inline policies by name: the document as sent.
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    /// ARNs of the attached managed policies, in attachment order.
    #[serde(default)]
    pub attached: Vec<String>,
    /// Users: the groups they are in (names as the groups were created).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Roles: the trust policy (who may assume the role), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Roles: the longest session AssumeRole may ask for, in seconds (3600 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_duration: Option<i64>,
}

impl Identity {
    pub fn new(kind: Kind, name: &str, path: &str, now: f64) -> Identity {
        Identity {
            name: name.to_owned(),
            id: new_id(kind),
            path: path.to_owned(),
            created_at: now,
            tags: vec![],
            inline: BTreeMap::new(),
            attached: vec![],
            groups: vec![],
            trust_policy: None,
            description: None,
            max_session_duration: None,
        }
    }

    pub fn arn(&self, kind: Kind, account: &str) -> String {
        arn(kind, account, &self.path, &self.name)
    }

    /// `User`, `Group` or `Role` as IAM returns it (`tags` where the operation shows them).
    pub fn present(&self, kind: Kind, account: &str, with_tags: bool) -> Value {
        let mut v = json!({
            "Path": self.path,
            "Arn": self.arn(kind, account),
            "CreateDate": timestamp(self.created_at),
        });
        let (name_key, id_key) = match kind {
            Kind::User => ("UserName", "UserId"),
            Kind::Group => ("GroupName", "GroupId"),
            _ => ("RoleName", "RoleId"),
        };
        v[name_key] = json!(self.name);
        v[id_key] = json!(self.id);
        if kind == Kind::Role {
            v["AssumeRolePolicyDocument"] = json!(self.trust_policy.as_deref().map(url_encoded));
            v["Description"] = json!(self.description);
            v["MaxSessionDuration"] = json!(self.max_session_duration.unwrap_or(3600));
            v["RoleLastUsed"] = json!({});
        }
        if with_tags && !self.tags.is_empty() && kind != Kind::Group {
            v["Tags"] = json!(self.tags);
        }
        v
    }
}

/// A version of a managed policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyVersion {
    /// `v1`, `v2`, ...
    pub id: String,
    pub document: String,
    pub created_at: f64,
}

/// A customer managed policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedPolicy {
    pub name: String,
    pub id: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: f64,
    pub updated_at: f64,
    pub default_version: String,
    /// Newest first, at most [`MAX_POLICY_VERSIONS`].
    pub versions: Vec<PolicyVersion>,
    /// The number the next version takes (IAM never reuses one).
    pub next_version: u32,
    #[serde(default)]
    pub tags: Vec<IamTag>,
}

/// IAM keeps at most five versions of a managed policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

impl ManagedPolicy {
    pub fn arn(&self, account: &str) -> String {
        arn(Kind::Policy, account, &self.path, &self.name)
    }

    pub fn version(&self, id: &str) -> Option<&PolicyVersion> {
        self.versions.iter().find(|v| v.id == id)
    }

    /// The document in force.
    pub fn default_document(&self) -> Option<&str> {
        self.version(&self.default_version).map(|v| v.document.as_str())
    }

    /// `Policy` as IAM returns it; `attachments` is the number of identities it is attached to.
    pub fn present(&self, account: &str, attachments: usize, with_tags: bool) -> Value {
        let mut v = json!({
            "PolicyName": self.name,
            "PolicyId": self.id,
            "Arn": self.arn(account),
            "Path": self.path,
            "DefaultVersionId": self.default_version,
            "AttachmentCount": attachments,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": true,
            "Description": self.description,
            "CreateDate": timestamp(self.created_at),
            "UpdateDate": timestamp(self.updated_at),
        });
        if with_tags && !self.tags.is_empty() {
            v["Tags"] = json!(self.tags);
        }
        v
    }

    /// `PolicyVersion` as IAM returns it (the document URL-encoded).
    pub fn present_version(&self, version: &PolicyVersion) -> Value {
        json!({
            "Document": url_encoded(&version.document),
            "VersionId": version.id,
            "IsDefaultVersion": version.id == self.default_version,
            "CreateDate": timestamp(version.created_at),
        })
    }
}

/// `arn:aws:iam::<account>:<kind><path><name>`.
pub fn arn(kind: Kind, account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{}{path}{name}", kind.as_str())
}

/// The name a policy ARN of this account ends with, or `None` for another account's (AWS managed policies
/// included: Berth has none).
pub fn policy_name_of(account: &str, policy_arn: &str) -> Option<String> {
    let rest = policy_arn.strip_prefix(&format!("arn:aws:iam::{account}:policy/"))?;
    rest.rsplit('/').next().filter(|n| !n.is_empty()).map(str::to_owned)
}

/// A fresh unique id: the kind's prefix and 17 characters, as IAM's look.
pub fn new_id(kind: Kind) -> String {
    format!("{}{}", kind.id_prefix(), crate::auth::random_string(17, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
}

/// IAM's `ValidationError` wording for a parameter outside its constraint.
pub fn validation(field: &str, value: &str, constraint: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ValidationError,
        format!(
            "1 validation error detected: Value '{}' at '{field}' failed to satisfy constraint: {constraint}",
            truncate(value, 128)
        ),
    )
}

/// A user, group, role or policy name: 1 to 64 (users, roles) or 128 (groups, policies) of `[\w+=,.@-]`.
pub fn check_name(kind: Kind, field: &str, name: &str) -> ApiResult<()> {
    let max = kind.max_name();
    if name.is_empty() || name.chars().count() > max {
        return Err(validation(
            field,
            name,
            &format!("Member must have length less than or equal to {max} and greater than or equal to 1"),
        ));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)) {
        return Err(validation(field, name, "Member must satisfy regular expression pattern: [\\w+=,.@-]+"));
    }
    Ok(())
}

/// A path: `/`, or `/` + printable ASCII + `/`, at most 512 characters.
pub fn check_path(field: &str, path: &str) -> ApiResult<()> {
    let printable = path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    let shaped = path == "/" || (path.len() >= 2 && path.starts_with('/') && path.ends_with('/'));
    if path.len() > 512 || !printable || !shaped {
        return Err(validation(
            field,
            path,
            "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ));
    }
    Ok(())
}

/// Tags as IAM takes them: at most 50 per resource, keys 1 to 128 and values at most 256 characters of letters,
/// digits, spaces and `_.:/=+-@`, no `aws:` keys, no key twice.
pub fn check_tags(tags: &[IamTag]) -> ApiResult<()> {
    if tags.len() > 50 {
        return Err(ApiError::new(ErrorCode::LimitExceeded, "The number of tags has reached the maximum limit (50)."));
    }
    let mut keys = std::collections::HashSet::new();
    for t in tags {
        let ok = |s: &str| s.chars().all(berth_model::names::is_tag_char);
        if t.key.is_empty() || t.key.chars().count() > 128 || !ok(&t.key) {
            return Err(validation(
                "tags.member.key",
                &t.key,
                "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
            ));
        }
        if t.value.chars().count() > 256 || !ok(&t.value) {
            return Err(validation(
                "tags.member.value",
                &t.value,
                "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
            ));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                "User-defined tags can't start with the 'aws:' prefix.",
            ));
        }
        if !keys.insert(t.key.to_ascii_lowercase()) {
            return Err(ApiError::new(ErrorCode::InvalidInput, format!("Duplicate tag keys found: {}.", t.key)));
        }
    }
    Ok(())
}

/// Merges `new` into `tags` (a key's value is replaced), then checks the 50-tag limit.
pub fn merge_tags(tags: &mut Vec<IamTag>, new: Vec<IamTag>) -> ApiResult<()> {
    for t in new {
        match tags.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value,
            None => tags.push(t),
        }
    }
    if tags.len() > 50 {
        return Err(ApiError::new(ErrorCode::LimitExceeded, "The number of tags has reached the maximum limit (50)."));
    }
    Ok(())
}

/// Parses and validates a policy document as IAM does: `MalformedPolicyDocument` naming the problem, or
/// `LimitExceeded` with `too_long` when it is longer than `max` characters other than whitespace.
pub fn check_document(document: &str, kind: PolicyKind, max: usize, too_long: &str) -> ApiResult<Policy> {
    if berth_policy::non_whitespace_len(document) > max {
        return Err(ApiError::new(ErrorCode::LimitExceeded, too_long));
    }
    Policy::parse(document, kind).map_err(|e| ApiError::new(ErrorCode::MalformedPolicyDocument, e.to_string()))
}

/// `EntityAlreadyExists` for a name taken (without regard to case).
pub fn already_exists(kind: Kind, name: &str) -> ApiError {
    let message = match kind {
        Kind::Policy => format!("A policy called {name} already exists. Duplicate names are not allowed."),
        _ => {
            let noun = kind.noun();
            let capital = format!("{}{}", noun[..1].to_ascii_uppercase(), &noun[1..]);
            format!("{capital} with name {name} already exists.")
        }
    };
    ApiError::new(ErrorCode::EntityAlreadyExists, message)
}

/// `NoSuchEntity` for a name not found.
pub fn not_found(kind: Kind, name: &str) -> ApiError {
    ApiError::new(ErrorCode::NoSuchEntity, format!("The {} with name {name} cannot be found.", kind.noun()))
}

/// `NoSuchEntity` for a policy ARN that names nothing attachable.
pub fn no_policy(policy_arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NoSuchEntity,
        format!("Policy {} does not exist or is not attachable.", truncate(policy_arn, 2048)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_and_tags_follow_iam() {
        assert!(check_name(Kind::User, "userName", "alice+ops@ml.example").is_ok());
        assert_eq!(check_name(Kind::User, "userName", "al ice").unwrap_err().code, ErrorCode::ValidationError);
        assert!(check_name(Kind::User, "userName", &"a".repeat(65)).is_err());
        assert!(check_name(Kind::Group, "groupName", &"a".repeat(128)).is_ok());
        for ok in ["/", "/ml/", "/ml/team-a/"] {
            assert!(check_path("path", ok).is_ok(), "{ok}");
        }
        for bad in ["", "ml", "/ml", "ml/", "/m l/"] {
            assert!(check_path("path", bad).is_err(), "{bad}");
        }
        let tag = |k: &str, v: &str| IamTag { key: k.into(), value: v.into() };
        assert!(check_tags(&[tag("team", ""), tag("cost center", "ml-1")]).is_ok());
        assert_eq!(check_tags(&[tag("aws:x", "1")]).unwrap_err().code, ErrorCode::InvalidInput);
        assert_eq!(check_tags(&[tag("a", "1"), tag("A", "2")]).unwrap_err().code, ErrorCode::InvalidInput);
        assert_eq!(check_tags(&[tag("a*", "1")]).unwrap_err().code, ErrorCode::ValidationError);
    }

    #[test]
    fn arns_and_ids_read_as_iam_writes_them() {
        assert_eq!(arn(Kind::User, "123456789012", "/", "alice"), "arn:aws:iam::123456789012:user/alice");
        assert_eq!(arn(Kind::Policy, "123456789012", "/ml/", "p"), "arn:aws:iam::123456789012:policy/ml/p");
        assert_eq!(policy_name_of("123456789012", "arn:aws:iam::123456789012:policy/ml/p").as_deref(), Some("p"));
        assert_eq!(policy_name_of("123456789012", "arn:aws:iam::aws:policy/AdministratorAccess"), None);
        let id = new_id(Kind::Role);
        assert!(id.starts_with("AROA") && id.len() == 21, "{id}");
        assert_eq!(already_exists(Kind::User, "alice").message, "User with name alice already exists.");
    }
}
