//! One statement of a policy, and whether it applies to a request: its action, resource and principal elements
//! match and all its conditions hold (IAM User Guide, "IAM JSON policy elements").
//!
//! - `Action` matches when any pattern matches the action, case-insensitively; `NotAction` when none does.
//! - `Resource` matches when any ARN pattern matches the resource (module `arn`); `NotResource` when none does. A
//!   trust policy has neither, and applies to the role it is attached to whatever the request names.
//! - `Principal`/`NotPrincipal` likewise, in trust policies only.

use crate::arn;
use crate::condition::ConditionBlock;
use crate::context::Context;
use crate::evaluate::Request;
use crate::principal::Principals;
use crate::variables::Template;
use crate::wildcard::{self, Token};

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// A statement of a parsed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    /// `Principal` (false) or `NotPrincipal` (true); trust policies only.
    pub(crate) principal: Option<(bool, Principals)>,
    pub(crate) action: Negatable<Action>,
    /// `None` in trust policies, which have no `Resource`.
    pub(crate) resource: Option<Negatable<Template>>,
    pub(crate) conditions: Vec<ConditionBlock>,
}

/// An element and its `Not` form: `Action` or `NotAction`, `Resource` or `NotResource`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Negatable<T> {
    pub(crate) negated: bool,
    pub(crate) items: Vec<T>,
}

/// An action pattern as written and, lowercased, as tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Action {
    pub(crate) source: String,
    tokens: Vec<Token>,
}

impl Action {
    pub(crate) fn new(source: String) -> Action {
        let tokens = wildcard::compile(&source.to_lowercase());
        Action { source, tokens }
    }
}

impl Statement {
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// Whether the statement applies to the request (its effect then counts); `action` is the request's action,
    /// lowercased once for all statements.
    pub(crate) fn applies(&self, request: &Request, action: &[char]) -> bool {
        self.action_matches(action)
            && self.resource_matches(request.resource, request.context)
            && self.principal_matches(request)
            && self.conditions.iter().all(|block| block.holds(request.context))
    }

    /// Every condition key the statement reads: its conditions' keys and its variables' (in `Resource` and in
    /// condition values).
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        let resources = self.resource.iter().flat_map(|r| r.items.iter()).flat_map(Template::variables);
        let conditions =
            self.conditions.iter().flat_map(|block| block.entries.iter()).flat_map(|(key, values)| {
                std::iter::once(key.as_str()).chain(values.iter().flat_map(Template::variables))
            });
        resources.chain(conditions)
    }

    fn action_matches(&self, action: &[char]) -> bool {
        self.action.items.iter().any(|pattern| wildcard::matches_chars(&pattern.tokens, action)) != self.action.negated
    }

    fn principal_matches(&self, request: &Request) -> bool {
        let Some((negated, principals)) = &self.principal else { return true };
        // An account in `Principal` grants to all its principals; in `NotPrincipal` it excepts only its root.
        principals.matches(request.principal, !negated) != *negated
    }

    fn resource_matches(&self, resource: &str, context: &Context) -> bool {
        let Some(element) = &self.resource else { return true };
        // A pattern whose variable has no value matches no resource (so `NotResource` then excludes nothing).
        element
            .items
            .iter()
            .any(|pattern| pattern.resolve(context, true).is_some_and(|tokens| arn::matches(&tokens, resource)))
            != element.negated
    }
}
