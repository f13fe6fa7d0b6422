//! The ECS cluster query language.
//!
//! This module owns the expressions ECS accepts in `ListContainerInstances`' `filter` and in `memberOf` placement
//! constraints: turning the text into an [`Expr`] (reporting every mistake as a [`QueryError`] that names the position
//! and token) and deciding whether a container instance, seen through the [`Candidate`] trait, satisfies it. It knows
//! nothing about how instances are stored.
//!
//! Grammar (word operators and connectives are case-insensitive; subjects are spelled as ECS spells them):
//!
//! ```text
//! expression := or
//! or         := and { ("||" | "or") and }
//! and        := unary { ("&&" | "and") unary }
//! unary      := ("!" | "not") unary | primary
//! primary    := "(" or ")" | condition
//! condition  := subject operator [argument]
//! subject    := agentConnected | agentVersion | attribute:<name> | ec2InstanceId | registeredAt
//!             | runningTasksCount | task:group
//! operator   := == | equals | != | not_equals | > | greater_than | >= | greater_than_equal | < | less_than
//!             | <= | less_than_equal | exists | !exists | not_exists | in | !in | not_in | =~ | matches
//!             | !~ | not_matches
//! argument   := literal | list               (a list only, and always, after in / not_in)
//! list       := "[" literal { "," literal } "]" | "(" literal { "," literal } ")"
//! literal    := bare word | 'single quoted' | "double quoted"
//! ```
//!
//! A bare word runs until whitespace, `(`, `)`, `[`, `]`, `,` or a symbolic operator (`==`, `!=`, `=~`, `!~`, `>=`,
//! `<=`, `>`, `<`, `&&`, `||`), so `service:production`, `g2.*` and `2018-06-18T22:28:28+00:00` are single literals.
//! ECS forbids parentheses inside a single condition, so a pattern that needs them (or spaces) is quoted. Quoted
//! literals have no escapes: to put a `'` in a literal, quote it with `"`, and the other way round.
//!
//! Matching follows the ECS documentation: `matches` patterns are Java regular expressions matched against the whole
//! value (as Java's `String.matches` does), translated to the `regex` crate at parse time. Conditions on an absent
//! value (an attribute the instance lacks, an instance without an EC2 id, ...) are false for the positive operators
//! (`==`, `in`, `=~`, ordered comparisons) and true for their negations; `task:group` asks whether *any* task on the
//! instance is in a matching group, and its negated operators whether *none* is.

mod eval;
mod java_regex;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

/// The longest expression accepted, in characters. ECS caps `memberOf` expressions at 2000 characters; the same cap
/// bounds the work a `filter` can ask of the server.
pub const MAX_EXPRESSION_LEN: usize = 2000;

/// How deeply parentheses and `not`s may nest. Parsing and evaluation recurse once per level, so the cap keeps a
/// hostile expression from exhausting a small thread stack; real expressions nest a handful of levels at most.
pub const MAX_NESTING: usize = 64;

/// A parsed query expression, ready to be evaluated against many container instances.
#[derive(Clone, Debug)]
pub struct Expr {
    root: parser::Node,
}

impl Expr {
    /// Whether `candidate` satisfies the expression.
    pub fn matches(&self, candidate: &dyn Candidate) -> bool {
        self.root.eval(candidate)
    }
}

impl std::str::FromStr for Expr {
    type Err = QueryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

/// What an expression can ask of a container instance.
pub trait Candidate {
    /// `None`: the attribute is absent; `Some(None)`: present without a value; `Some(Some(v))`: present with `v`.
    fn attribute(&self, name: &str) -> Option<Option<&str>>;
    fn agent_connected(&self) -> bool;
    fn agent_version(&self) -> Option<&str>;
    fn ec2_instance_id(&self) -> Option<&str>;
    /// Registration time in seconds since the Unix epoch.
    fn registered_at(&self) -> Option<f64>;
    fn running_tasks_count(&self) -> i64;
    /// The groups of the tasks on the instance (for `task:group`); duplicates are fine.
    fn task_groups(&self) -> Vec<&str>;
}

/// Parses a cluster query expression.
///
/// Everything that can be checked without an instance is checked here: subjects, operators allowed for each subject,
/// argument types (numbers, booleans, versions, dates) and regular expressions, so evaluation never fails.
pub fn parse(expression: &str) -> Result<Expr, QueryError> {
    let length = expression.chars().count();
    if length > MAX_EXPRESSION_LEN {
        return Err(QueryError::TooLong { length });
    }
    if expression.trim().is_empty() {
        return Err(QueryError::Empty);
    }
    let tokens = lexer::tokenize(expression)?;
    let root = parser::parse_tokens(tokens)?;
    Ok(Expr { root })
}

/// Why an expression was refused. Positions are 0-based character offsets into the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error("Invalid filter expression: the expression is empty")]
    Empty,
    #[error("Invalid filter expression: the expression is {length} characters long; at most {max} are allowed", max = MAX_EXPRESSION_LEN)]
    TooLong { length: usize },
    #[error("Invalid filter expression: unexpected token '{token}' at {position}; expected {expected}")]
    UnexpectedToken { token: String, position: usize, expected: &'static str },
    #[error("Invalid filter expression: unexpected end of expression; expected {expected}")]
    UnexpectedEnd { expected: &'static str },
    #[error(
        "Invalid filter expression: unknown subject '{subject}' at {position}; expected agentConnected, agentVersion, \
         attribute:<name>, ec2InstanceId, registeredAt, runningTasksCount or task:group"
    )]
    UnknownSubject { subject: String, position: usize },
    #[error("Invalid filter expression: invalid attribute name '{name}' at {position}: {reason}")]
    InvalidAttributeName { name: String, position: usize, reason: &'static str },
    #[error("Invalid filter expression: unterminated quoted literal starting at {position}")]
    UnterminatedQuote { position: usize },
    #[error("Invalid filter expression: operator '{operator}' at {position} needs an argument")]
    MissingArgument { operator: String, position: usize },
    #[error(
        "Invalid filter expression: operator '{operator}' at {position} cannot be used with {subject}; \
         valid operators: {supported}"
    )]
    UnsupportedOperator { operator: String, subject: String, position: usize, supported: &'static str },
    #[error("Invalid filter expression: '{value}' at {position} is not {expected} for {subject}")]
    InvalidValue { value: String, subject: String, position: usize, expected: &'static str },
    #[error("Invalid filter expression: unbalanced parentheses: '(' at {position} is never closed")]
    UnclosedParen { position: usize },
    #[error("Invalid filter expression: unbalanced parentheses: ')' at {position} has no matching '('")]
    UnmatchedParen { position: usize },
    #[error("Invalid filter expression: invalid regular expression '{pattern}' at {position}: {reason}")]
    InvalidRegex { pattern: String, position: usize, reason: String },
    #[error("Invalid filter expression: nesting deeper than {max} levels at {position}", max = MAX_NESTING)]
    TooDeep { position: usize },
}
