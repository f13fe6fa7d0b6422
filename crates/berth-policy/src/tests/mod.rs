//! Tests of the whole crate: AWS's documented examples as tables ([`evaluation`], [`conditions`], [`variables`],
//! [`trust`]), every validation rule with IAM's message ([`malformed`]), and property tests ([`properties`]).

mod conditions;
mod evaluation;
mod malformed;
mod properties;
mod trust;
mod variables;

use crate::{Context, Decision, Policy, PolicyKind, Principal, Request, evaluate};

pub(crate) const ACCOUNT: &str = "123456789012";

pub(crate) fn identity(document: &str) -> Policy {
    match Policy::parse(document, PolicyKind::Identity) {
        Ok(policy) => policy,
        Err(e) => panic!("{e}: {document}"),
    }
}

/// The decision for `action` on `resource` by user `alice` with `context`.
pub(crate) fn decide(policies: &[&Policy], action: &str, resource: &str, context: &Context) -> Decision {
    let alice = Principal::user(ACCOUNT, "/", "alice");
    evaluate(&Request { action, resource, principal: &alice, context }, policies.iter().copied())
}

/// A policy with one statement made of `body` (the members after `"Effect"`), version 2012-10-17.
pub(crate) fn statement(effect: &str, body: &str) -> Policy {
    identity(&format!(r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "{effect}", {body}}}}}"#))
}

/// Whether an Allow statement with `condition` (a JSON object) applies to `context`.
pub(crate) fn condition_holds(condition: &str, context: &Context) -> bool {
    let policy = statement("Allow", &format!(r#""Action": "*", "Resource": "*", "Condition": {condition}"#));
    decide(&[&policy], "ecs:RunTask", "*", context) == Decision::Allow
}

/// A context from `(key, values)` pairs.
pub(crate) fn context(pairs: &[(&str, &[&str])]) -> Context {
    pairs.iter().fold(Context::new(), |context, (key, values)| context.with(key, values.iter().copied()))
}
