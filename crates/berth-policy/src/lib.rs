//! IAM policies: the JSON policy grammar, validated as IAM validates it (with IAM's `MalformedPolicyDocument`
//! messages), and IAM's evaluation of a request against a set of policies. Pure, no I/O: the server parses a
//! document when it is stored ([`Policy::parse`]) and asks [`evaluate()`] on every call with the action, resource ARN,
//! principal and condition keys of the request.
//!
//! Supported: `Version` 2012-10-17 and 2008-10-17 (no `Version` means 2008-10-17, without policy variables), `Id`,
//! `Statement` (object or array), `Sid`, `Effect`, `Action`/`NotAction`, `Resource`/`NotResource`,
//! `Principal`/`NotPrincipal` in trust policies, and `Condition` with every IAM operator, `...IfExists`, and the
//! `ForAnyValue:`/`ForAllValues:` set operators; `*`/`?` wildcards in actions (case-insensitive) and segment-wise
//! in ARNs (case-sensitive); policy variables with defaults and the `${*}`/`${?}`/`${$}` escapes.
//!
//! Not here: permissions boundaries, SCPs and session policies (combine their decisions with
//! [`Decision::intersect`]), resource-based policies other than role trust policies, the account root's bypass of
//! policies, and the checks that need the store (that a principal or service named in a trust policy exists).
//!
//! Modules: [`policy`] (the document and its kinds), `parse` and `resource_rules` (IAM's validation),
//! [`statement`], `condition` (operators and multi-value logic) with `date`, `ip` and `base64` values,
//! `variables`, `wildcard` and `arn` (matching), [`principal`], [`context`] (the request's condition keys),
//! [`mod@evaluate`] (the decision), `json` (order- and duplicate-preserving JSON), [`error`].

mod arn;
mod base64;
mod condition;
pub mod context;
mod date;
pub mod error;
pub mod evaluate;
mod ip;
mod json;
mod parse;
pub mod policy;
pub mod principal;
mod resource_rules;
pub mod statement;
mod variables;
mod wildcard;

#[cfg(test)]
mod tests;

pub use context::Context;
pub use error::PolicyError;
pub use evaluate::{Decision, Request, evaluate};
pub use policy::{Policy, PolicyKind, Version, non_whitespace_len};
pub use principal::{Principal, PrincipalKind};
pub use statement::{Effect, Statement};
