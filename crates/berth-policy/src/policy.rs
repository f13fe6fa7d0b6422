//! A parsed policy document: its kind, language version, `Id` and statements; parsing (module `parse`) and
//! writing it back as JSON. Size limits differ per policy type (2,048 characters for a trust policy, 6,144 for a
//! managed policy, 2,048/5,120/10,240 for a user's/group's/role's inline policies together), so the caller checks
//! them, counting as IAM does with [`non_whitespace_len`].

use std::fmt;

use serde_json::{Map, Value};

use crate::error::PolicyError;
use crate::statement::Statement;

/// What a document is attached to, which decides its grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Policies of users, groups and roles, inline or managed: no `Principal`; `Resource` or `NotResource` required.
    Identity,
    /// A role's trust policy (AssumeRolePolicyDocument): `Principal` (or, with `Deny`, `NotPrincipal`) required;
    /// `Resource` and `NotResource` prohibited, as IAM does; the policy applies to the role it is attached to.
    Resource,
}

/// The policy language version (`Version` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum Version {
    /// The original language, and the meaning of a document without `Version`: no policy variables.
    V2008_10_17,
    /// The current language.
    V2012_10_17,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2008_10_17 => "2008-10-17",
            Version::V2012_10_17 => "2012-10-17",
        }
    }
}

/// A policy document that IAM would accept.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub(crate) kind: PolicyKind,
    /// As written: `None` when the document has no `Version`.
    pub(crate) version: Option<Version>,
    pub(crate) id: Option<String>,
    pub(crate) statements: Vec<Statement>,
}

impl Policy {
    /// Parses and validates a policy document as IAM does; the error's `Display` is IAM's
    /// `MalformedPolicyDocument` message.
    pub fn parse(document: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        crate::parse::parse(document, kind)
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The language the document is written in; 2008-10-17 when it has no `Version`.
    pub fn version(&self) -> Version {
        self.version.unwrap_or(Version::V2008_10_17)
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Whether any statement reads a condition key that starts with `prefix` (ASCII case-insensitive, as keys are
    /// compared), in a condition or a policy variable: so a caller can leave out of the request context what no
    /// policy looks at and is costly to find (a resource's tags).
    pub fn reads_key(&self, prefix: &str) -> bool {
        self.statements.iter().flat_map(Statement::keys).any(|key| {
            key.len() >= prefix.len() && key.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        })
    }

    /// IAM's rule for CreatePolicy and CreatePolicyVersion, which refuse the 2008-10-17 language (and documents
    /// without `Version`) that inline and trust policies still accept.
    pub fn require_current_version(&self) -> Result<(), PolicyError> {
        match self.version {
            Some(Version::V2012_10_17) => Ok(()),
            _ => Err(PolicyError::version_too_old()),
        }
    }

    /// The document as JSON, every list written as an array (object members in alphabetical order). Parsing it
    /// again gives an equal policy.
    pub fn to_json(&self) -> Value {
        let mut document = Map::new();
        if let Some(version) = self.version {
            document.insert("Version".into(), version.as_str().into());
        }
        if let Some(id) = &self.id {
            document.insert("Id".into(), id.clone().into());
        }
        let statements = self.statements.iter().map(statement_json).collect();
        document.insert("Statement".into(), Value::Array(statements));
        Value::Object(document)
    }
}

/// Compact JSON, as [`Policy::to_json`] gives it.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

fn statement_json(statement: &Statement) -> Value {
    let not = |negated: bool, name: &str| if negated { format!("Not{name}") } else { name.to_owned() };
    let mut map = Map::new();
    if let Some(sid) = &statement.sid {
        map.insert("Sid".into(), sid.clone().into());
    }
    map.insert("Effect".into(), statement.effect.as_str().into());
    if let Some((negated, principals)) = &statement.principal {
        map.insert(not(*negated, "Principal"), principals.to_json());
    }
    let actions: Vec<Value> = statement.action.items.iter().map(|a| a.source.clone().into()).collect();
    map.insert(not(statement.action.negated, "Action"), actions.into());
    if let Some(resource) = &statement.resource {
        let resources: Vec<Value> = resource.items.iter().map(|r| r.source().into()).collect();
        map.insert(not(resource.negated, "Resource"), resources.into());
    }
    if !statement.conditions.is_empty() {
        let mut blocks = Map::new();
        for block in &statement.conditions {
            let mut keys = Map::new();
            for (key, values) in &block.entries {
                let values: Vec<Value> = values.iter().map(|v| v.source().into()).collect();
                keys.insert(key.clone(), values.into());
            }
            blocks.insert(block.name.clone(), Value::Object(keys));
        }
        map.insert("Condition".into(), Value::Object(blocks));
    }
    Value::Object(map)
}

/// The size IAM counts against its policy size limits: characters other than white space.
pub fn non_whitespace_len(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_a_policy_reads_are_its_conditions_and_variables() {
        let doc = |statement: &str| format!(r#"{{"Version": "2012-10-17", "Statement": [{statement}]}}"#);
        let parse = |statement: &str| Policy::parse(&doc(statement), PolicyKind::Identity).unwrap();
        let plain = parse(r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}"#);
        assert!(!plain.reads_key("aws:ResourceTag/"));
        let condition = parse(
            r#"{"Effect": "Deny", "Action": "ecs:*", "Resource": "*",
                "Condition": {"StringEquals": {"AWS:resourcetag/team": "ml"}}}"#,
        );
        assert!(condition.reads_key("aws:ResourceTag/"), "keys compare case-insensitively");
        assert!(!condition.reads_key("ecs:ResourceTag/"));
        let in_resource = parse(
            r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:*:*:cluster/${aws:ResourceTag/env}"}"#,
        );
        assert!(in_resource.reads_key("aws:ResourceTag/"));
        let in_value = parse(
            r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "${aws:ResourceTag/team}"}}}"#,
        );
        assert!(in_value.reads_key("aws:ResourceTag/") && in_value.reads_key("aws:PrincipalTag/"));
    }
}
