//! Principals: who makes a request ([`Principal`]), and the `Principal`/`NotPrincipal` element of a trust policy
//! that names who may (`Principals`), with IAM's matching between the two (IAM User Guide, "AWS JSON policy
//! elements: Principal"):
//!
//! - `"*"` and `{"AWS": "*"}`: everyone.
//! - `{"AWS": "123456789012"}` or `{"AWS": "arn:aws:iam::123456789012:root"}`: the account, so any user, role
//!   session or the root of that account (IAM then also wants the caller's own identity policy to allow the
//!   action, which is the server's second check; this crate only says the trust policy matches).
//! - `{"AWS": "arn:aws:iam::123456789012:user/path/name"}`: that user.
//! - `{"AWS": "arn:aws:iam::123456789012:role/path/name"}`: every session of that role; role names are unique in an
//!   account whatever their path, so a session (`arn:aws:sts::123456789012:assumed-role/name/session`) is matched
//!   by account and role name.
//! - `{"AWS": "arn:aws:sts::123456789012:assumed-role/name/session"}`: that session.
//! - `{"Service": "ecs-tasks.amazonaws.com"}`, `{"Federated": "<provider>"}`: that service or identity provider.
//!
//! In `NotPrincipal` an account stands for the account's root only, not for its users and sessions: the User
//! Guide's example `"NotPrincipal": {"AWS": ["arn:aws:iam::444455556666:user/Bob", "arn:aws:iam::444455556666:root"]}`
//! with `Deny` denies everyone but Bob, his account's other users included.
//!
//! Wildcards inside a principal are refused at parse time, as IAM does; `CanonicalUser` (S3 only) is refused too.

use crate::error::{self, PolicyError};
use crate::json::Json;

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's ARN: `arn:aws:iam::123456789012:root`, `...:user/path/name`,
    /// `arn:aws:sts::123456789012:assumed-role/role/session`; for services and identity providers their name.
    pub arn: String,
    /// The 12-digit account the principal belongs to; empty for services.
    pub account: String,
    pub kind: PrincipalKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account root (the key `berth up` creates).
    Root,
    /// An IAM user.
    User,
    /// A role session (STS AssumeRole, or a task's role).
    AssumedRole,
    /// An AWS service acting itself, e.g. `ecs-tasks.amazonaws.com` assuming a task role.
    Service(String),
    /// A web identity or SAML provider (AssumeRoleWithWebIdentity), e.g. an OIDC provider's ARN.
    Federated(String),
}

impl Principal {
    /// The account root: `arn:aws:iam::<account>:root`.
    pub fn root(account: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.to_owned(),
            kind: PrincipalKind::Root,
        }
    }

    /// An IAM user; `path` is IAM's path (`/` by default, else `/division/`).
    pub fn user(account: &str, path: &str, name: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:user{path}{name}"),
            account: account.to_owned(),
            kind: PrincipalKind::User,
        }
    }

    /// A session of role `role_name` (the name without its path, as in STS's ARNs).
    pub fn assumed_role(account: &str, role_name: &str, session_name: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"),
            account: account.to_owned(),
            kind: PrincipalKind::AssumedRole,
        }
    }

    /// A service principal such as `ecs-tasks.amazonaws.com`.
    pub fn service(name: &str) -> Principal {
        Principal { arn: name.to_owned(), account: String::new(), kind: PrincipalKind::Service(name.to_owned()) }
    }

    /// A federated caller authenticated by `provider` (an OIDC/SAML provider ARN, or a name such as
    /// `cognito-identity.amazonaws.com`), whose role is in `account`.
    pub fn federated(account: &str, provider: &str) -> Principal {
        Principal {
            arn: provider.to_owned(),
            account: account.to_owned(),
            kind: PrincipalKind::Federated(provider.to_owned()),
        }
    }

    /// Whether the principal belongs to an account as IAM's account principals mean it (users, sessions, root).
    fn in_account(&self, account: &str) -> bool {
        matches!(self.kind, PrincipalKind::Root | PrincipalKind::User | PrincipalKind::AssumedRole)
            && self.account == account
    }
}

/// A `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principals {
    /// `"*"`.
    Everyone,
    /// `{"AWS": [...], "Service": [...], "Federated": [...]}`.
    Map { aws: Vec<String>, service: Vec<String>, federated: Vec<String> },
}

impl Principals {
    /// Reads and checks an element as IAM's trust-policy parser does.
    pub(crate) fn read(value: &Json) -> Result<Principals, PolicyError> {
        let members = match value {
            Json::String(s) if s == "*" => return Ok(Principals::Everyone),
            Json::String(_) => return Err(PolicyError::new(error::PRINCIPAL_NOT_OBJECT)),
            Json::Object(members) => members,
            _ => return Err(PolicyError::new(error::PRINCIPAL_NOT_OBJECT)),
        };
        if members.is_empty() {
            return Err(PolicyError::new(error::PRINCIPAL_EMPTY));
        }
        let (mut aws, mut service, mut federated) = (Vec::new(), Vec::new(), Vec::new());
        for (kind, values) in members {
            let values = principal_values(kind, values)?;
            let (list, valid): (&mut Vec<String>, fn(&str) -> bool) = match kind.as_str() {
                "AWS" => (&mut aws, valid_aws),
                "Service" => (&mut service, valid_service),
                "Federated" => (&mut federated, valid_federated),
                _ => return Err(error::invalid_principal(kind, values.first().map_or("", String::as_str))),
            };
            if let Some(bad) = values.iter().find(|value| !valid(value)) {
                return Err(error::invalid_principal(kind, bad));
            }
            list.extend(values);
        }
        Ok(Principals::Map { aws, service, federated })
    }

    /// Whether the element names `principal`; `accounts_cover_members`: whether an account stands for all of its
    /// principals (`Principal`) or only for its root (`NotPrincipal`).
    pub(crate) fn matches(&self, principal: &Principal, accounts_cover_members: bool) -> bool {
        match self {
            Principals::Everyone => true,
            Principals::Map { aws, service, federated } => {
                aws.iter().any(|id| aws_matches(id, principal, accounts_cover_members))
                    || matches!(&principal.kind, PrincipalKind::Service(name) if service.contains(name))
                    || matches!(&principal.kind, PrincipalKind::Federated(provider) if federated.contains(provider))
            }
        }
    }

    /// The element as JSON, every list an array.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Principals::Everyone => serde_json::Value::from("*"),
            Principals::Map { aws, service, federated } => {
                let mut map = serde_json::Map::new();
                for (name, values) in [("AWS", aws), ("Service", service), ("Federated", federated)] {
                    if !values.is_empty() {
                        map.insert(name.to_owned(), serde_json::Value::from(values.clone()));
                    }
                }
                serde_json::Value::Object(map)
            }
        }
    }
}

/// The values of one principal type: a string or a non-empty array of strings.
fn principal_values(kind: &str, value: &Json) -> Result<Vec<String>, PolicyError> {
    match value {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) if items.is_empty() => Err(PolicyError::new(error::PRINCIPAL_EMPTY)),
        Json::Array(items) => items
            .iter()
            .map(|item| match item {
                Json::String(s) => Ok(s.clone()),
                other => Err(error::invalid_principal(kind, &other.scalar_text().unwrap_or_default())),
            })
            .collect(),
        other => Err(error::invalid_principal(kind, &other.scalar_text().unwrap_or_default())),
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:<partition>:<service>::<account>:<rest>` split into (partition, service, account, rest).
fn split_principal_arn(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some((partition, service, account, rest))
}

fn valid_aws(value: &str) -> bool {
    if value == "*" || is_account(value) {
        return true;
    }
    let Some((partition, service, account, rest)) = split_principal_arn(value) else { return false };
    let name_ok = |name: &str| !name.is_empty() && !name.contains(['*', '?']);
    matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && is_account(account)
        && match service {
            "iam" => {
                rest == "root"
                    || rest.strip_prefix("user/").is_some_and(name_ok)
                    || rest.strip_prefix("role/").is_some_and(name_ok)
            }
            "sts" => {
                rest.strip_prefix("assumed-role/").is_some_and(|s| name_ok(s) && s.contains('/'))
                    || rest.strip_prefix("federated-user/").is_some_and(name_ok)
            }
            _ => false,
        }
}

/// Service principals are DNS-like names under amazonaws.com (IAM checks its catalog; Berth checks the shape).
fn valid_service(value: &str) -> bool {
    let Some(prefix) = value.strip_suffix(".amazonaws.com").or_else(|| value.strip_suffix(".amazonaws.com.cn")) else {
        return false;
    };
    !prefix.is_empty()
        && prefix.split('.').all(|label| {
            !label.is_empty() && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn valid_federated(value: &str) -> bool {
    !value.is_empty() && !value.contains(['*', '?']) && !value.chars().any(char::is_whitespace)
}

/// Whether one `AWS` principal value names `principal`.
fn aws_matches(id: &str, principal: &Principal, accounts_cover_members: bool) -> bool {
    let account_matches = |account: &str| {
        if accounts_cover_members {
            principal.in_account(account)
        } else {
            principal.kind == PrincipalKind::Root && principal.account == account
        }
    };
    if id == "*" {
        return true;
    }
    if is_account(id) {
        return account_matches(id);
    }
    let Some((_, service, account, rest)) = split_principal_arn(id) else { return false };
    if service == "iam" && rest == "root" {
        return account_matches(account);
    }
    if id == principal.arn {
        return true;
    }
    // A role ARN names all its sessions; role names are unique in an account whatever the path.
    let Some(role_path) = rest.strip_prefix("role/").filter(|_| service == "iam") else { return false };
    let role_name = role_path.rsplit('/').next().unwrap_or(role_path);
    principal.kind == PrincipalKind::AssumedRole
        && principal.account == account
        && split_principal_arn(&principal.arn)
            .and_then(|(_, _, _, rest)| rest.strip_prefix("assumed-role/"))
            .and_then(|session| session.split_once('/'))
            .is_some_and(|(name, _)| name == role_name)
}

#[cfg(test)]
mod tests {
    use super::{Principal, Principals};
    use crate::json::Json;

    fn principals(json: &str) -> Principals {
        Principals::read(&Json::parse(json).unwrap()).unwrap()
    }

    #[test]
    fn account_role_user_and_service_principals() {
        let acct = "123456789012";
        let user = Principal::user(acct, "/", "alice");
        let session = Principal::assumed_role(acct, "deploy", "s1");
        let other_account = Principal::user("210987654321", "/", "alice");
        let tasks = Principal::service("ecs-tasks.amazonaws.com");

        for account in [r#"{"AWS": "123456789012"}"#, r#"{"AWS": "arn:aws:iam::123456789012:root"}"#] {
            let p = principals(account);
            assert!(p.matches(&user, true) && p.matches(&session, true) && p.matches(&Principal::root(acct), true));
            assert!(!p.matches(&other_account, true) && !p.matches(&tasks, true));
        }
        let role = principals(r#"{"AWS": "arn:aws:iam::123456789012:role/ops/deploy"}"#);
        assert!(role.matches(&session, true));
        assert!(!role.matches(&Principal::assumed_role(acct, "deployer", "s1"), true));
        assert!(!role.matches(&user, true));
        let exact = principals(r#"{"AWS": ["arn:aws:sts::123456789012:assumed-role/deploy/s1"]}"#);
        assert!(exact.matches(&session, true) && !exact.matches(&Principal::assumed_role(acct, "deploy", "s2"), true));
        let alice = principals(r#"{"AWS": "arn:aws:iam::123456789012:user/alice"}"#);
        assert!(alice.matches(&user, true) && !alice.matches(&other_account, true));
        let service = principals(r#"{"Service": ["ecs-tasks.amazonaws.com"]}"#);
        assert!(service.matches(&tasks, true) && !service.matches(&user, true));
        assert!(principals(r#""*""#).matches(&tasks, true));
        assert!(principals(r#"{"AWS": "*"}"#).matches(&user, true));
        let web = principals(r#"{"Federated": "arn:aws:iam::123456789012:oidc-provider/berth"}"#);
        assert!(web.matches(&Principal::federated(acct, "arn:aws:iam::123456789012:oidc-provider/berth"), true));
        assert!(!web.matches(&user, true));

        // In NotPrincipal, an account is its root alone.
        let account = principals(r#"{"AWS": "arn:aws:iam::123456789012:root"}"#);
        assert!(account.matches(&Principal::root(acct), false));
        assert!(!account.matches(&user, false) && !account.matches(&session, false));
        assert!(alice.matches(&user, false) && role.matches(&session, false));
    }
}
