//! The `Condition` element: its operators and IAM's rules for combining keys and values (IAM User Guide,
//! "Condition operators" and "Conditions with multiple context keys or values"):
//!
//! - Operators and keys in one `Condition` are ANDed; the values of one key are ORed, except for negated operators
//!   (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, ...), which hold when the request value matches none of them
//!   (NOR).
//! - A key absent from the request: the condition is false, except for negated operators (true), `...IfExists`
//!   (true), `ForAllValues:` (true, the empty set is a subset of anything), `ForAnyValue:` (false), and `Null`,
//!   which tests exactly that.
//! - `ForAnyValue:` holds when some request value passes the operator, `ForAllValues:` when every one does.
//! - A multivalued key without a set operator is read as "the values on each side are ORed": the positive operator
//!   holds when some request value matches some policy value, the negated one when none does. (IAM says to always
//!   use a set operator with multivalued keys and does not document this case.)
//! - Condition keys are case-insensitive, values case-sensitive except for the `IgnoreCase` operators and `Bool`.
//! - Policy variables are substituted in string, ARN and Bool values only (2012-10-17).
//!
//! An operator IAM does not know is refused unless its block is empty, which IAM accepts (and which then tests
//! nothing); `Null` takes no `IfExists`.

use std::borrow::Cow;

use crate::arn;
use crate::base64;
use crate::context::Context;
use crate::date;
use crate::ip::Cidr;
use crate::variables::Template;
use crate::wildcard::{self, Token};

/// One operator and its keys: `"StringEquals": {"aws:username": ["alice"], ...}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConditionBlock {
    /// The operator as written, e.g. `ForAnyValue:StringLikeIfExists`.
    pub(crate) name: String,
    /// `None` for an operator IAM does not know (accepted only without keys).
    operator: Option<Operator>,
    pub(crate) entries: Vec<(String, Vec<Template>)>,
    /// The entries' keys lowercased once, as the request context keeps them.
    lowercase_keys: Vec<String>,
    /// Per entry, its values made ready for comparison once, when none has a variable to resolve per request.
    prepared: Vec<Option<Vec<Prepared<'static>>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operator {
    set: Option<SetOperator>,
    test: Test,
    /// `StringNotEquals` is `StringEquals`, negated.
    negated: bool,
    if_exists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOperator {
    ForAnyValue,
    ForAllValues,
}

/// What one request value is compared with one policy value by (before negation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Test {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    /// `ArnEquals` and `ArnLike` behave identically, as IAM documents.
    Arn,
    Null,
}

/// Every base operator IAM knows, with what it tests and whether it negates.
const OPERATORS: &[(&str, Test, bool)] = &[
    ("StringEquals", Test::StringEquals, false),
    ("StringNotEquals", Test::StringEquals, true),
    ("StringEqualsIgnoreCase", Test::StringEqualsIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", Test::StringEqualsIgnoreCase, true),
    ("StringLike", Test::StringLike, false),
    ("StringNotLike", Test::StringLike, true),
    ("NumericEquals", Test::NumericEquals, false),
    ("NumericNotEquals", Test::NumericEquals, true),
    ("NumericLessThan", Test::NumericLessThan, false),
    ("NumericLessThanEquals", Test::NumericLessThanEquals, false),
    ("NumericGreaterThan", Test::NumericGreaterThan, false),
    ("NumericGreaterThanEquals", Test::NumericGreaterThanEquals, false),
    ("DateEquals", Test::DateEquals, false),
    ("DateNotEquals", Test::DateEquals, true),
    ("DateLessThan", Test::DateLessThan, false),
    ("DateLessThanEquals", Test::DateLessThanEquals, false),
    ("DateGreaterThan", Test::DateGreaterThan, false),
    ("DateGreaterThanEquals", Test::DateGreaterThanEquals, false),
    ("Bool", Test::Bool, false),
    ("BinaryEquals", Test::BinaryEquals, false),
    ("IpAddress", Test::IpAddress, false),
    ("NotIpAddress", Test::IpAddress, true),
    ("ArnEquals", Test::Arn, false),
    ("ArnLike", Test::Arn, false),
    ("ArnNotEquals", Test::Arn, true),
    ("ArnNotLike", Test::Arn, true),
    ("Null", Test::Null, false),
];

impl Operator {
    /// The operator named `name`, or `None` when IAM does not know it.
    pub(crate) fn parse(name: &str) -> Option<Operator> {
        let (set, base) = if let Some(base) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), base)
        } else if let Some(base) = name.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), base)
        } else {
            (None, name)
        };
        let lookup =
            |base: &str| OPERATORS.iter().find(|(n, _, _)| *n == base).map(|&(_, test, negated)| (test, negated));
        if let Some((test, negated)) = lookup(base) {
            return Some(Operator { set, test, negated, if_exists: false });
        }
        let (test, negated) = lookup(base.strip_suffix("IfExists")?)?;
        (test != Test::Null).then_some(Operator { set, test, negated, if_exists: true })
    }

    pub(crate) fn test(&self) -> Test {
        self.test
    }

    /// Whether values of this operator take policy variables: strings, ARNs and Bool, as IAM documents.
    pub(crate) fn takes_variables(&self) -> bool {
        matches!(
            self.test,
            Test::StringEquals | Test::StringEqualsIgnoreCase | Test::StringLike | Test::Bool | Test::Arn
        )
    }
}

impl ConditionBlock {
    pub(crate) fn new(name: String, operator: Option<Operator>, entries: Vec<(String, Vec<Template>)>) -> Self {
        let lowercase_keys = entries.iter().map(|(key, _)| key.to_lowercase()).collect();
        let prepared = entries
            .iter()
            .map(|(_, values)| {
                let operator = operator.filter(|o| o.test != Test::Null)?;
                if values.iter().any(|v| v.variables().next().is_some()) {
                    return None;
                }
                let empty = Context::new();
                Some(
                    values
                        .iter()
                        .filter_map(|value| Prepared::new(operator.test, value, &empty))
                        .map(Prepared::into_owned)
                        .collect(),
                )
            })
            .collect();
        ConditionBlock { name, operator, entries, lowercase_keys, prepared }
    }

    /// Whether every key of the block holds for the request.
    pub(crate) fn holds(&self, context: &Context) -> bool {
        let Some(operator) = self.operator else { return true };
        self.entries.iter().zip(&self.lowercase_keys).zip(&self.prepared).all(|(((_, values), key), prepared)| {
            operator.holds(context.get_lowercase(key), values, prepared.as_deref(), context)
        })
    }
}

impl Operator {
    /// `prepared`: the policy values made ready beforehand, when they could be.
    fn holds(
        &self,
        request: Option<&[String]>,
        policy: &[Template],
        prepared: Option<&[Prepared<'static>]>,
        context: &Context,
    ) -> bool {
        if self.test == Test::Null {
            // "true": the key must be absent; "false": present. Variables are not allowed here.
            let wanted = if request.is_none() { "true" } else { "false" };
            return policy.iter().any(|value| value.source().eq_ignore_ascii_case(wanted));
        }
        let Some(request) = request else {
            return self.if_exists
                || match self.set {
                    Some(SetOperator::ForAllValues) => true,
                    Some(SetOperator::ForAnyValue) => false,
                    None => self.negated,
                };
        };
        // Each policy value resolved once; one that cannot be (a variable without value, a malformed number)
        // matches no request value.
        let resolved: Vec<Prepared>;
        let prepared: &[Prepared] = match prepared {
            Some(ready) => ready,
            None => {
                resolved = policy.iter().filter_map(|value| Prepared::new(self.test, value, context)).collect();
                &resolved
            }
        };
        let positive = |value: &String| prepared.iter().any(|p| p.matches(value));
        match self.set {
            Some(SetOperator::ForAnyValue) => request.iter().any(|v| positive(v) != self.negated),
            Some(SetOperator::ForAllValues) => request.iter().all(|v| positive(v) != self.negated),
            None => request.iter().any(positive) != self.negated,
        }
    }
}

/// A policy value made ready to compare with request values.
#[derive(Debug, Clone, PartialEq)]
enum Prepared<'a> {
    Text(String),
    Lowercase(String),
    Pattern(Cow<'a, [Token]>),
    Number(Test, f64),
    Instant(Test, i128),
    Bytes(Vec<u8>),
    Network(Cidr),
    Arn(Cow<'a, [Token]>),
}

impl<'a> Prepared<'a> {
    fn new(test: Test, value: &'a Template, context: &Context) -> Option<Prepared<'a>> {
        Some(match test {
            Test::StringEquals => Prepared::Text(value.resolve_text(context)?),
            Test::StringEqualsIgnoreCase | Test::Bool => {
                Prepared::Lowercase(value.resolve_text(context)?.to_lowercase())
            }
            Test::StringLike => Prepared::Pattern(value.resolve(context, true)?),
            Test::NumericEquals
            | Test::NumericLessThan
            | Test::NumericLessThanEquals
            | Test::NumericGreaterThan
            | Test::NumericGreaterThanEquals => Prepared::Number(test, number(value.source())?),
            Test::DateEquals
            | Test::DateLessThan
            | Test::DateLessThanEquals
            | Test::DateGreaterThan
            | Test::DateGreaterThanEquals => Prepared::Instant(test, date::parse(value.source())?),
            Test::BinaryEquals => Prepared::Bytes(base64::decode(value.source())?),
            Test::IpAddress => Prepared::Network(Cidr::parse(value.source())?),
            Test::Arn => Prepared::Arn(value.resolve(context, true)?),
            Test::Null => return None,
        })
    }

    fn into_owned(self) -> Prepared<'static> {
        match self {
            Prepared::Pattern(p) => Prepared::Pattern(Cow::Owned(p.into_owned())),
            Prepared::Arn(p) => Prepared::Arn(Cow::Owned(p.into_owned())),
            Prepared::Text(t) => Prepared::Text(t),
            Prepared::Lowercase(t) => Prepared::Lowercase(t),
            Prepared::Number(test, n) => Prepared::Number(test, n),
            Prepared::Instant(test, i) => Prepared::Instant(test, i),
            Prepared::Bytes(b) => Prepared::Bytes(b),
            Prepared::Network(c) => Prepared::Network(c),
        }
    }

    /// Whether the request value matches this policy value (before negation).
    fn matches(&self, request: &str) -> bool {
        match self {
            Prepared::Text(text) => text == request,
            Prepared::Lowercase(text) => *text == request.to_lowercase(),
            Prepared::Pattern(pattern) => wildcard::matches(pattern, request),
            Prepared::Number(test, policy) => number(request).is_some_and(|request| compare(*test, request, *policy)),
            Prepared::Instant(test, policy) => {
                date::parse(request).is_some_and(|request| compare(*test, request, *policy))
            }
            // The request carries binary values base64-encoded, as the policy does.
            Prepared::Bytes(bytes) => base64::decode(request).is_some_and(|request| request == *bytes),
            Prepared::Network(range) => range.contains(request),
            Prepared::Arn(pattern) => arn::matches(pattern, request),
        }
    }
}

/// `request <op> policy` for the numeric and date tests.
fn compare<T: PartialOrd>(test: Test, request: T, policy: T) -> bool {
    match test {
        Test::NumericEquals | Test::DateEquals => request == policy,
        Test::NumericLessThan | Test::DateLessThan => request < policy,
        Test::NumericLessThanEquals | Test::DateLessThanEquals => request <= policy,
        Test::NumericGreaterThan | Test::DateGreaterThan => request > policy,
        Test::NumericGreaterThanEquals | Test::DateGreaterThanEquals => request >= policy,
        _ => false,
    }
}

/// An integer or decimal; Rust's float syntax also takes `inf` and `NaN`, which IAM does not.
fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    let plain = text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    text.parse().ok().filter(|n: &f64| plain && n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::{Operator, Test};

    #[test]
    fn operator_names() {
        let op = Operator::parse("ForAnyValue:StringNotLikeIfExists").unwrap();
        assert_eq!((op.test(), op.negated, op.if_exists), (Test::StringLike, true, true));
        assert_eq!(Operator::parse("ArnLike").map(|o| o.test()), Some(Test::Arn));
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("ForAnyValue::StringEqualsIfExists").is_none());
        assert!(Operator::parse("stringequals").is_none());
        assert!(Operator::parse("StringEqualsIfExistsIfExists").is_none());
    }
}
