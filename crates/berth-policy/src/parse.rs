//! Reading a policy document into a [`Policy`], refusing what IAM refuses with IAM's message.
//!
//! Identity policies follow IAM's order of checks as moto records it against IAM, because with several faults the
//! message must be the one IAM gives: (1) JSON and shape ("Syntax errors in policy." for any wrong type, unknown or
//! repeated member, missing or unknown `Effect`, both `X` and `NotX`, unknown condition operator); (2) a
//! `Principal`; (3) the "legacy parser": `Effect` spelled exactly, dates in `Date*` conditions, ARNs with an empty
//! segment; (4) unique, alphanumeric `Sid`s; (5) actions present; (6) resources present; (7) the first bad
//! resource ARN ([`crate::resource_rules`]); (8) action names (`vendor:Name`).
//!
//! Trust policies ([`PolicyKind::Resource`]) go through IAM's resource-policy parser, which stops at the first
//! fault and names the field: `Missing required field Principal`, `Has prohibited field Resource`,
//! `Invalid principal in policy: "AWS":"..."`, then the same condition, `Sid` and action checks.

use crate::condition::{ConditionBlock, Operator, Test};
use crate::error::{self, IDENTITY, Messages, PolicyError, TRUST};
use crate::json::Json;
use crate::policy::{Policy, PolicyKind, Version};
use crate::principal::Principals;
use crate::resource_rules;
use crate::statement::{Action, Effect, Negatable, Statement};
use crate::variables::Template;

const TOP_LEVEL: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_MEMBERS: &[&str] =
    &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];

/// A statement whose members have the right JSON types, before IAM's other rules.
struct Raw<'a> {
    sid: Option<String>,
    /// As written; IAM's first pass takes any case, the legacy pass only `Allow` and `Deny`.
    effect: String,
    /// `Principal` or `NotPrincipal` as written; identity policies refuse it after the first pass.
    principal: Option<(bool, &'a Json)>,
    /// The element read, in trust policies.
    principals: Option<(bool, Principals)>,
    action: Option<(bool, Vec<String>)>,
    resource: Option<(bool, Vec<String>)>,
    conditions: Vec<RawCondition>,
}

struct RawCondition {
    name: String,
    operator: Option<Operator>,
    entries: Vec<(String, Vec<String>)>,
}

pub(crate) fn parse(document: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let messages = match kind {
        PolicyKind::Identity => &IDENTITY,
        PolicyKind::Resource => &TRUST,
    };
    let syntax = || PolicyError::new(messages.syntax);
    let Some(Json::Object(members)) = Json::parse(document) else {
        return Err(PolicyError::new(messages.invalid_json));
    };
    if let Some(name) = Json::duplicate(&members) {
        return Err(repeated(kind, name, messages));
    }
    if let Some((name, _)) = members.iter().find(|(name, _)| !TOP_LEVEL.contains(&name.as_str())) {
        return Err(unknown(kind, name, messages));
    }
    let version = match Json::member(&members, "Version") {
        None => None,
        Some(Json::String(v)) if v == "2012-10-17" => Some(Version::V2012_10_17),
        Some(Json::String(v)) if v == "2008-10-17" => Some(Version::V2008_10_17),
        Some(_) => return Err(PolicyError::new(messages.bad_version)),
    };
    let id = match Json::member(&members, "Id") {
        None => None,
        Some(Json::String(id)) => Some(id.clone()),
        Some(_) => return Err(syntax()),
    };
    let items: Vec<&Json> = match Json::member(&members, "Statement") {
        None if kind == PolicyKind::Resource => return Err(error::missing_field("Statement")),
        None => return Err(syntax()),
        Some(statement @ Json::Object(_)) => vec![statement],
        Some(Json::Array(items)) if items.is_empty() && kind == PolicyKind::Resource => {
            return Err(PolicyError::new(error::STATEMENT_EMPTY));
        }
        Some(Json::Array(items)) if !items.is_empty() => items.iter().collect(),
        Some(_) => return Err(syntax()),
    };
    let raw = items.into_iter().map(|item| read_statement(item, kind, messages)).collect::<Result<Vec<_>, _>>()?;

    match kind {
        PolicyKind::Identity => check_identity(&raw)?,
        PolicyKind::Resource => check_trust(&raw)?,
    }
    let variables = version == Some(Version::V2012_10_17);
    let statements = raw.into_iter().map(|raw| build(raw, variables)).collect();
    Ok(Policy { kind, version, id, statements })
}

/// A member named twice.
fn repeated(kind: PolicyKind, name: &str, messages: &Messages) -> PolicyError {
    match kind {
        PolicyKind::Identity => PolicyError::new(messages.syntax),
        PolicyKind::Resource => error::already_has(name),
    }
}

/// A member the grammar does not have.
fn unknown(kind: PolicyKind, name: &str, messages: &Messages) -> PolicyError {
    match kind {
        PolicyKind::Identity => PolicyError::new(messages.syntax),
        PolicyKind::Resource => error::unknown_field(name),
    }
}

/// The first pass: JSON types, member names, and (for trust policies) the fields IAM requires or prohibits.
fn read_statement<'a>(item: &'a Json, kind: PolicyKind, messages: &Messages) -> Result<Raw<'a>, PolicyError> {
    let syntax = || PolicyError::new(messages.syntax);
    let trust = kind == PolicyKind::Resource;
    let Json::Object(members) = item else { return Err(syntax()) };
    if let Some(name) = Json::duplicate(members) {
        return Err(repeated(kind, name, messages));
    }
    if let Some((name, _)) = members.iter().find(|(name, _)| !STATEMENT_MEMBERS.contains(&name.as_str())) {
        return Err(unknown(kind, name, messages));
    }
    let member = |name: &str| Json::member(members, name);
    for element in ["Principal", "Action", "Resource"] {
        if member(element).is_some() && member(&format!("Not{element}")).is_some() {
            return Err(if trust { error::already_has(element) } else { syntax() });
        }
    }
    let effect = match member("Effect") {
        Some(Json::String(effect)) if !trust && matches!(effect.to_lowercase().as_str(), "allow" | "deny") => {
            effect.clone()
        }
        Some(Json::String(effect)) if trust && matches!(effect.as_str(), "Allow" | "Deny") => effect.clone(),
        Some(other) if trust => return Err(error::invalid_effect(&other.scalar_text().unwrap_or_default())),
        None if trust => return Err(error::missing_field("Effect")),
        _ => return Err(syntax()),
    };
    let sid = match member("Sid") {
        None => None,
        Some(Json::String(sid)) => Some(sid.clone()),
        Some(_) => return Err(syntax()),
    };
    let either = |name: &str| match (member(name), member(&format!("Not{name}"))) {
        (Some(value), _) => Some((false, value)),
        (None, Some(value)) => Some((true, value)),
        (None, None) => None,
    };
    let strings = |(negated, value): (bool, &Json)| -> Result<(bool, Vec<String>), PolicyError> {
        match value {
            Json::String(s) => Ok((negated, vec![s.clone()])),
            Json::Array(items) => items
                .iter()
                .map(|item| match item {
                    Json::String(s) => Ok(s.clone()),
                    _ => Err(syntax()),
                })
                .collect::<Result<_, _>>()
                .map(|items| (negated, items)),
            _ => Err(syntax()),
        }
    };
    let principal = either("Principal");
    let mut principals = None;
    if trust {
        for prohibited in ["Resource", "NotResource"] {
            if member(prohibited).is_some() {
                return Err(error::prohibited_field(prohibited));
            }
        }
        principals = match principal {
            None => return Err(error::missing_field("Principal")),
            Some((true, _)) if effect == "Allow" => return Err(PolicyError::new(error::ALLOW_WITH_NOT_PRINCIPAL)),
            Some((negated, value)) => Some((negated, Principals::read(value)?)),
        };
    }
    let resource = either("Resource").map(strings).transpose()?;
    let action = either("Action").map(strings).transpose()?;
    if trust && action.as_ref().is_none_or(|(_, actions)| actions.is_empty()) {
        return Err(error::missing_field("Action"));
    }
    let conditions = match member("Condition") {
        None => Vec::new(),
        Some(Json::Object(blocks)) => read_conditions(blocks, messages)?,
        Some(_) => return Err(syntax()),
    };
    Ok(Raw { sid, effect, principal, principals, action, resource, conditions })
}

/// `{"Operator": {"key": value or [values]}}`; values may be strings, numbers or booleans.
fn read_conditions(blocks: &[(String, Json)], messages: &Messages) -> Result<Vec<RawCondition>, PolicyError> {
    let syntax = || PolicyError::new(messages.syntax);
    if Json::duplicate(blocks).is_some() {
        return Err(syntax());
    }
    let mut conditions = Vec::with_capacity(blocks.len());
    for (name, block) in blocks {
        let Json::Object(keys) = block else { return Err(syntax()) };
        if Json::duplicate(keys).is_some() {
            return Err(syntax());
        }
        let operator = Operator::parse(name);
        // IAM accepts an operator it does not know only when nothing is under it.
        if operator.is_none() && !keys.is_empty() {
            return Err(syntax());
        }
        let mut entries = Vec::with_capacity(keys.len());
        for (key, value) in keys {
            let values = match value {
                Json::Array(items) => items.iter().map(Json::scalar_text).collect::<Option<Vec<_>>>(),
                scalar => scalar.scalar_text().map(|value| vec![value]),
            };
            entries.push((key.clone(), values.ok_or_else(syntax)?));
        }
        conditions.push(RawCondition { name: name.clone(), operator, entries });
    }
    Ok(conditions)
}

/// The checks after the first pass, in IAM's order, for identity policies.
fn check_identity(statements: &[Raw]) -> Result<(), PolicyError> {
    if statements.iter().any(|s| s.principal.is_some()) {
        return Err(PolicyError::new(error::PRINCIPAL_IN_IDENTITY_POLICY));
    }
    let legacy = || PolicyError::new(error::LEGACY_PARSING);
    if statements.iter().any(|s| !matches!(s.effect.as_str(), "Allow" | "Deny")) || !dates_parse(statements) {
        return Err(legacy());
    }
    // IAM keeps the last ARN format fault it meets (resources of a statement in descending order) and reports it
    // after the checks below; the legacy rule is applied only while no format fault has been met.
    let mut format_fault = None;
    for negated in [false, true] {
        let lists = statements.iter().filter_map(|s| s.resource.as_ref()).filter(|(n, _)| *n == negated);
        for (_, resources) in lists {
            let mut sorted: Vec<&String> = resources.iter().collect();
            sorted.sort_by(|a, b| b.cmp(a));
            for resource in sorted {
                if let Some(fault) = resource_rules::format_error(resource) {
                    format_fault = Some(fault);
                }
            }
            if format_fault.is_none() && resources.iter().any(|r| resource_rules::fails_legacy(r)) {
                return Err(legacy());
            }
        }
    }
    check_sids(statements, &IDENTITY)?;
    if statements.iter().any(|s| s.action.as_ref().is_none_or(|(_, actions)| actions.is_empty())) {
        return Err(PolicyError::new(error::MISSING_ACTIONS));
    }
    if statements.iter().any(|s| s.resource.as_ref().is_none_or(|(_, resources)| resources.is_empty())) {
        return Err(PolicyError::new(error::MISSING_RESOURCES));
    }
    if let Some(fault) = format_fault {
        return Err(fault);
    }
    check_actions(statements)
}

/// The checks after the first pass for trust policies.
fn check_trust(statements: &[Raw]) -> Result<(), PolicyError> {
    if !dates_parse(statements) {
        return Err(PolicyError::new(error::LEGACY_PARSING));
    }
    check_sids(statements, &TRUST)?;
    check_actions(statements)
}

/// Whether every value of every `Date*` condition is a date IAM reads.
fn dates_parse(statements: &[Raw]) -> bool {
    statements
        .iter()
        .flat_map(|s| &s.conditions)
        .filter(|c| c.operator.is_some_and(|op| is_date(op.test())))
        .flat_map(|c| c.entries.iter().flat_map(|(_, values)| values))
        .all(|value| crate::date::parse(value).is_some())
}

fn is_date(test: Test) -> bool {
    matches!(
        test,
        Test::DateEquals
            | Test::DateLessThan
            | Test::DateLessThanEquals
            | Test::DateGreaterThan
            | Test::DateGreaterThanEquals
    )
}

/// Non-empty `Sid`s are unique within the policy and alphanumeric.
fn check_sids(statements: &[Raw], messages: &Messages) -> Result<(), PolicyError> {
    let sids: Vec<&str> = statements.iter().filter_map(|s| s.sid.as_deref()).filter(|sid| !sid.is_empty()).collect();
    if sids.iter().enumerate().any(|(i, sid)| sids[..i].contains(sid)) {
        return Err(PolicyError::new(messages.duplicate_sid));
    }
    if !sids.iter().all(|sid| sid.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(PolicyError::new(error::SID_NOT_ALPHANUMERIC));
    }
    Ok(())
}

/// Every action is `*` or `vendor:Name` with a vendor of letters, digits, `-` and `.`: all `Action` lists first,
/// then all `NotAction` lists, as IAM checks them.
fn check_actions(statements: &[Raw]) -> Result<(), PolicyError> {
    for negated in [false, true] {
        let actions = statements.iter().filter_map(|s| s.action.as_ref()).filter(|(n, _)| *n == negated);
        for action in actions.flat_map(|(_, actions)| actions) {
            let parts: Vec<&str> = action.split(':').collect();
            if parts.len() == 1 && parts[0] != "*" {
                return Err(PolicyError::new(error::ACTION_WITHOUT_VENDOR));
            }
            if parts.len() > 2 {
                return Err(PolicyError::new(error::ACTION_COLONS));
            }
            let vendor = parts[0];
            if vendor != "*" && !vendor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
                return Err(error::vendor_not_valid(vendor));
            }
        }
    }
    Ok(())
}

/// The statement of a document that passed every check.
fn build(raw: Raw, variables: bool) -> Statement {
    let effect = if raw.effect == "Deny" { Effect::Deny } else { Effect::Allow };
    let (negated, actions) = raw.action.unwrap_or_default();
    let action = Negatable { negated, items: actions.into_iter().map(Action::new).collect() };
    let resource = raw.resource.map(|(negated, resources)| Negatable {
        negated,
        items: resources.iter().map(|r| Template::parse(r, variables)).collect(),
    });
    let conditions = raw
        .conditions
        .into_iter()
        .map(|c| {
            let takes_variables = variables && c.operator.is_some_and(|op| op.takes_variables());
            let entries = c
                .entries
                .into_iter()
                .map(|(key, values)| (key, values.iter().map(|v| Template::parse(v, takes_variables)).collect()))
                .collect();
            ConditionBlock::new(c.name, c.operator, entries)
        })
        .collect();
    Statement { sid: raw.sid, effect, principal: raw.principals, action, resource, conditions }
}
