//! IAM's decision for one request against a set of policies (IAM User Guide, "Policy evaluation logic",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>): a `Deny` statement
//! that applies wins, whatever else applies; otherwise an `Allow` statement that applies allows; otherwise the
//! request is implicitly denied.
//!
//! That is the whole logic for identity-based policies, and the logic within each policy type. Other policy types
//! (a session policy, a permissions boundary) combine with [`Decision::intersect`]: the request must be allowed by
//! each, and an explicit deny anywhere stays explicit. The account root's bypass of policies is the caller's.

use crate::context::Context;
use crate::policy::Policy;
use crate::principal::Principal;
use crate::statement::Effect;

/// What is asked: one action on one resource by one principal, with the request's condition keys.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `service:Action`, e.g. `ecs:RunTask`; compared case-insensitively.
    pub action: &'a str,
    /// The resource's ARN, or `*` for actions without resource-level permissions.
    pub resource: &'a str,
    pub principal: &'a Principal,
    pub context: &'a Context,
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Allow,
    /// A `Deny` statement applied.
    ExplicitDeny,
    /// No statement allowed the request.
    ImplicitDeny,
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }

    /// Two decisions over policies of the same type (as if they were one set): an explicit deny wins, then allow.
    pub fn union(self, other: Decision) -> Decision {
        match (self, other) {
            (Decision::ExplicitDeny, _) | (_, Decision::ExplicitDeny) => Decision::ExplicitDeny,
            (Decision::Allow, _) | (_, Decision::Allow) => Decision::Allow,
            _ => Decision::ImplicitDeny,
        }
    }

    /// Two decisions of policy types that limit each other (identity policies and a session policy or permissions
    /// boundary): allowed only if both allow; an explicit deny in either stays explicit.
    pub fn intersect(self, other: Decision) -> Decision {
        match (self, other) {
            (Decision::ExplicitDeny, _) | (_, Decision::ExplicitDeny) => Decision::ExplicitDeny,
            (Decision::Allow, Decision::Allow) => Decision::Allow,
            _ => Decision::ImplicitDeny,
        }
    }
}

/// IAM's evaluation of `request` against `policies`: an explicit `Deny` in any policy wins, then any `Allow`,
/// else an implicit deny. Trust policies also match their `Principal`/`NotPrincipal` against the request's
/// principal; identity policies have none.
pub fn evaluate<'p>(request: &Request, policies: impl IntoIterator<Item = &'p Policy>) -> Decision {
    let action: Vec<char> = request.action.to_lowercase().chars().collect();
    let mut decision = Decision::ImplicitDeny;
    for statement in policies.into_iter().flat_map(Policy::statements) {
        // Once allowed, only a Deny statement can change the outcome, so Allow statements need no more matching.
        if (statement.effect == Effect::Allow && decision == Decision::Allow) || !statement.applies(request, &action) {
            continue;
        }
        match statement.effect {
            Effect::Deny => return Decision::ExplicitDeny,
            Effect::Allow => decision = Decision::Allow,
        }
    }
    decision
}
