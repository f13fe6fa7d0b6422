//! Evaluates a parsed expression against one container instance.
//!
//! Every subject is observed as a (possibly empty) set of values plus whether it exists at all: one value for the
//! instance's fields, none for an absent attribute or field, one per task for `task:group`. A positive check holds
//! when any value satisfies it and its negation when none does, which gives ECS's answers for absent attributes and
//! for task groups from one rule.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::Candidate;
use super::parser::{Condition, Node, Order, Subject, Test, Value};

impl Node {
    pub(super) fn eval(&self, candidate: &dyn Candidate) -> bool {
        match self {
            Node::Or(terms) => terms.iter().any(|t| t.eval(candidate)),
            Node::And(terms) => terms.iter().all(|t| t.eval(candidate)),
            Node::Not(inner) => !inner.eval(candidate),
            Node::Condition(condition) => condition.eval(candidate),
        }
    }
}

/// A value read from the instance.
enum Actual<'a> {
    Text(&'a str),
    Bool(bool),
    Count(i64),
    Version(&'a str),
    Time(f64),
}

impl Actual<'_> {
    /// The value as a pattern sees it.
    fn text(&self) -> Cow<'_, str> {
        match self {
            Actual::Text(s) | Actual::Version(s) => Cow::Borrowed(s),
            Actual::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Actual::Count(n) => Cow::Owned(n.to_string()),
            Actual::Time(t) => Cow::Owned(t.to_string()),
        }
    }
}

impl Condition {
    fn eval(&self, candidate: &dyn Candidate) -> bool {
        let (exists, values) = observe(&self.subject, candidate);
        match &self.test {
            Test::Exists { negated } => exists != *negated,
            Test::Equals { negated, value } => values.iter().any(|a| equals(a, value)) != *negated,
            Test::Order { op, value } => values.iter().any(|a| compare(a, value).is_some_and(|o| op.accepts(o))),
            Test::In { negated, values: list } => values.iter().any(|a| list.iter().any(|v| equals(a, v))) != *negated,
            Test::Matches { negated, regex } => values.iter().any(|a| regex.is_match(&a.text())) != *negated,
        }
    }
}

/// Whether the subject exists on the instance, and its values. An attribute present without a value exists but has
/// no value to compare, so only `exists` / `!exists` see it.
fn observe<'a>(subject: &Subject, candidate: &'a dyn Candidate) -> (bool, Vec<Actual<'a>>) {
    fn optional(value: Option<Actual<'_>>) -> (bool, Vec<Actual<'_>>) {
        match value {
            Some(v) => (true, vec![v]),
            None => (false, Vec::new()),
        }
    }
    match subject {
        Subject::AgentConnected => (true, vec![Actual::Bool(candidate.agent_connected())]),
        Subject::AgentVersion => optional(candidate.agent_version().map(Actual::Version)),
        Subject::Attribute(name) => match candidate.attribute(name) {
            None => (false, Vec::new()),
            Some(value) => (true, value.map(Actual::Text).into_iter().collect()),
        },
        Subject::Ec2InstanceId => optional(candidate.ec2_instance_id().map(Actual::Text)),
        Subject::RegisteredAt => optional(candidate.registered_at().map(Actual::Time)),
        Subject::RunningTasksCount => (true, vec![Actual::Count(candidate.running_tasks_count())]),
        Subject::TaskGroup => {
            let groups = candidate.task_groups();
            (!groups.is_empty(), groups.into_iter().map(Actual::Text).collect())
        }
    }
}

fn equals(actual: &Actual<'_>, value: &Value) -> bool {
    match (actual, value) {
        (Actual::Text(a), Value::Text { text, .. }) => *a == text,
        (Actual::Bool(a), Value::Bool(b)) => a == b,
        (Actual::Count(a), Value::Count(b)) => a == b,
        (Actual::Version(a), Value::Version(b)) => {
            lenient_version(a).is_some_and(|a| compare_versions(&a, b) == Ordering::Equal)
        }
        (Actual::Time(a), Value::Time(b)) => a == b,
        // The parser types every argument for its subject, so other pairs cannot be built.
        _ => false,
    }
}

/// How the instance's value orders against the argument; `None` when they cannot be ordered (an unreadable agent
/// version, a NaN time), which fails every ordered comparison.
fn compare(actual: &Actual<'_>, value: &Value) -> Option<Ordering> {
    match (actual, value) {
        // Attribute values are strings; numbers among them order as numbers so that `attribute:cores > 8` means
        // what it says for an instance with 16.
        (Actual::Text(a), Value::Text { text, number }) => match (as_number(a), number) {
            (Some(x), Some(y)) => x.partial_cmp(y),
            _ => Some((*a).cmp(text.as_str())),
        },
        (Actual::Count(a), Value::Count(b)) => Some(a.cmp(b)),
        (Actual::Version(a), Value::Version(b)) => lenient_version(a).map(|a| compare_versions(&a, b)),
        (Actual::Time(a), Value::Time(b)) => a.partial_cmp(b),
        _ => None,
    }
}

impl Order {
    fn accepts(self, ordering: Ordering) -> bool {
        match self {
            Order::Gt => ordering == Ordering::Greater,
            Order::Ge => ordering != Ordering::Less,
            Order::Lt => ordering == Ordering::Less,
            Order::Le => ordering != Ordering::Greater,
        }
    }
}

/// `text` as a number, if it is one. Rust's float parser also takes `inf` and `NaN`; attribute values spelled like
/// that are words here, so only digits, signs, points and exponents qualify.
pub(super) fn as_number(text: &str) -> Option<f64> {
    if !text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E')) {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A version argument: dot-separated whole numbers (`1.14.5`).
pub(super) fn parse_version(text: &str) -> Option<Vec<u64>> {
    text.split('.')
        .map(|part| if part.bytes().all(|b| b.is_ascii_digit()) { part.parse().ok() } else { None })
        .collect()
}

/// An agent's reported version, read as far as it is numeric: agents report builds such as `1.14.5-dev` or
/// `v1.14.5`, which compare as `1.14.5`.
fn lenient_version(text: &str) -> Option<Vec<u64>> {
    let text = text.trim();
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let mut parts = Vec::new();
    for part in text.split('.') {
        let digits = part.bytes().take_while(u8::is_ascii_digit).count();
        let Some(n) = part.get(..digits).and_then(|d| d.parse::<u64>().ok()) else {
            break;
        };
        parts.push(n);
        if digits < part.len() {
            break;
        }
    }
    if parts.is_empty() { None } else { Some(parts) }
}

/// Compares dotted versions component by component; missing components count as 0, so `1.14` equals `1.14.0`.
fn compare_versions(a: &[u64], b: &[u64]) -> Ordering {
    let len = a.len().max(b.len());
    (0..len)
        .map(|i| a.get(i).copied().unwrap_or(0).cmp(&b.get(i).copied().unwrap_or(0)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_versions_compare_numerically() {
        let v = |s: &str| parse_version(s).unwrap_or_else(|| panic!("{s}"));
        assert_eq!(compare_versions(&v("1.14.5"), &v("1.9.0")), Ordering::Greater);
        assert_eq!(compare_versions(&v("1.14"), &v("1.14.0")), Ordering::Equal);
        assert_eq!(compare_versions(&v("2"), &v("10")), Ordering::Less);
        assert_eq!(parse_version("1.x"), None);
        assert_eq!(parse_version(""), None);
        assert_eq!(parse_version("1..2"), None);
        assert_eq!(lenient_version("1.14.5-dev"), Some(vec![1, 14, 5]));
        assert_eq!(lenient_version("v1.20.0"), Some(vec![1, 20, 0]));
        assert_eq!(lenient_version("dev"), None);
    }

    #[test]
    fn query_numbers_exclude_words() {
        assert_eq!(as_number("16"), Some(16.0));
        assert_eq!(as_number("-2.5e1"), Some(-25.0));
        assert_eq!(as_number("inf"), None);
        assert_eq!(as_number("NaN"), None);
        assert_eq!(as_number(""), None);
        assert_eq!(as_number("1.2.3"), None);
    }
}
