//! Recursive-descent parser from tokens to the expression tree.
//!
//! Arguments are converted to the type of their subject here (numbers, booleans, versions, times, compiled regular
//! expressions), so that a mistake is reported with its position when the expression is submitted rather than
//! showing up as an instance that silently never matches.

use std::fmt;

use super::lexer::{Kind, SymbolicOp, Token};
use super::{MAX_NESTING, QueryError, eval, java_regex};

/// A node of the parsed expression.
#[derive(Clone, Debug)]
pub(super) enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Condition(Condition),
}

/// One `subject operator [argument]` condition.
#[derive(Clone, Debug)]
pub(super) struct Condition {
    pub subject: Subject,
    pub test: Test,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Subject {
    AgentConnected,
    AgentVersion,
    Attribute(String),
    Ec2InstanceId,
    RegisteredAt,
    RunningTasksCount,
    TaskGroup,
}

/// What a condition checks. The negated operators (`!=`, `!in`, `!~`, `!exists`) are the positive check with
/// `negated` set, which is what gives absent values and `task:group` their ECS meaning: a negated check holds when
/// no value satisfies the positive one.
#[derive(Clone, Debug)]
pub(super) enum Test {
    Exists { negated: bool },
    Equals { negated: bool, value: Value },
    Order { op: Order, value: Value },
    In { negated: bool, values: Vec<Value> },
    Matches { negated: bool, regex: regex::Regex },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Order {
    Gt,
    Ge,
    Lt,
    Le,
}

/// An argument, typed for its subject.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    /// Attribute values, EC2 instance ids and task groups. `number` is set when the text reads as a number, for the
    /// numeric ordering of attribute values.
    Text {
        text: String,
        number: Option<f64>,
    },
    Bool(bool),
    Count(i64),
    Version(Vec<u64>),
    /// Seconds since the Unix epoch.
    Time(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Exists,
    NotExists,
    In,
    NotIn,
    Matches,
    NotMatches,
}

impl Operator {
    fn from_token(kind: &Kind) -> Option<Operator> {
        match kind {
            Kind::Op(op) => Some(match op {
                SymbolicOp::Eq => Operator::Eq,
                SymbolicOp::Ne => Operator::Ne,
                SymbolicOp::Gt => Operator::Gt,
                SymbolicOp::Ge => Operator::Ge,
                SymbolicOp::Lt => Operator::Lt,
                SymbolicOp::Le => Operator::Le,
                SymbolicOp::Match => Operator::Matches,
                SymbolicOp::NotMatch => Operator::NotMatches,
                SymbolicOp::NotExists => Operator::NotExists,
                SymbolicOp::NotIn => Operator::NotIn,
            }),
            Kind::Word(word) => match word.to_ascii_lowercase().as_str() {
                "equals" => Some(Operator::Eq),
                "not_equals" => Some(Operator::Ne),
                "greater_than" => Some(Operator::Gt),
                "greater_than_equal" => Some(Operator::Ge),
                "less_than" => Some(Operator::Lt),
                "less_than_equal" => Some(Operator::Le),
                "exists" => Some(Operator::Exists),
                "not_exists" => Some(Operator::NotExists),
                "in" => Some(Operator::In),
                "not_in" => Some(Operator::NotIn),
                "matches" => Some(Operator::Matches),
                "not_matches" => Some(Operator::NotMatches),
                _ => None,
            },
            _ => None,
        }
    }
}

use Operator as Op;

/// Operators each subject accepts, as the ECS documentation lists them. `attribute:` takes them all; `task:group`
/// has no list there, and takes the string operators plus `exists` (any task at all on the instance).
const STRING_OPS: &[Operator] = &[Op::Eq, Op::Ne, Op::In, Op::NotIn, Op::Matches, Op::NotMatches];
const STRING_OPS_TEXT: &str = "==, !=, in, !in, =~, !~";
const ORDERED_OPS: &[Operator] = &[Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le];
const ORDERED_OPS_TEXT: &str = "==, !=, >, >=, <, <=";
const GROUP_OPS: &[Operator] =
    &[Op::Eq, Op::Ne, Op::In, Op::NotIn, Op::Matches, Op::NotMatches, Op::Exists, Op::NotExists];
const GROUP_OPS_TEXT: &str = "==, !=, in, !in, =~, !~, exists, !exists";
const ALL_OPS: &[Operator] = &[
    Op::Eq,
    Op::Ne,
    Op::Gt,
    Op::Ge,
    Op::Lt,
    Op::Le,
    Op::Exists,
    Op::NotExists,
    Op::In,
    Op::NotIn,
    Op::Matches,
    Op::NotMatches,
];
const ALL_OPS_TEXT: &str = "==, !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~";

/// ECS limits attribute names to 128 characters.
const MAX_ATTRIBUTE_NAME_LEN: usize = 128;

impl Subject {
    fn parse(word: &str, position: usize) -> Result<Subject, QueryError> {
        Ok(match word {
            "agentConnected" => Subject::AgentConnected,
            "agentVersion" => Subject::AgentVersion,
            "ec2InstanceId" => Subject::Ec2InstanceId,
            "registeredAt" => Subject::RegisteredAt,
            "runningTasksCount" => Subject::RunningTasksCount,
            "task:group" => Subject::TaskGroup,
            _ => match word.strip_prefix("attribute:") {
                Some(name) => Subject::Attribute(attribute_name(name, position + "attribute:".len())?),
                None => return Err(QueryError::UnknownSubject { subject: word.to_string(), position }),
            },
        })
    }

    fn operators(&self) -> (&'static [Operator], &'static str) {
        match self {
            Subject::AgentConnected | Subject::Ec2InstanceId => (STRING_OPS, STRING_OPS_TEXT),
            Subject::AgentVersion | Subject::RegisteredAt | Subject::RunningTasksCount => {
                (ORDERED_OPS, ORDERED_OPS_TEXT)
            }
            Subject::TaskGroup => (GROUP_OPS, GROUP_OPS_TEXT),
            Subject::Attribute(_) => (ALL_OPS, ALL_OPS_TEXT),
        }
    }

    /// Converts a literal to the type this subject compares with.
    fn value(&self, literal: Literal) -> Result<Value, QueryError> {
        let invalid = |expected: &'static str| QueryError::InvalidValue {
            value: literal.text.clone(),
            subject: self.to_string(),
            position: literal.pos,
            expected,
        };
        match self {
            Subject::AgentConnected => match literal.text.to_ascii_lowercase().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(invalid("true or false")),
            },
            Subject::AgentVersion => eval::parse_version(&literal.text)
                .map(Value::Version)
                .ok_or_else(|| invalid("a version such as 1.14.5")),
            Subject::RegisteredAt => parse_time(&literal.text).map(Value::Time).ok_or_else(|| {
                invalid(
                    "a date such as 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18",
                )
            }),
            Subject::RunningTasksCount => literal.text.parse().map(Value::Count).map_err(|_| invalid("a whole number")),
            Subject::Attribute(_) | Subject::Ec2InstanceId | Subject::TaskGroup => {
                let number = eval::as_number(&literal.text);
                Ok(Value::Text { text: literal.text, number })
            }
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::AgentConnected => f.write_str("agentConnected"),
            Subject::AgentVersion => f.write_str("agentVersion"),
            Subject::Attribute(name) => write!(f, "attribute:{name}"),
            Subject::Ec2InstanceId => f.write_str("ec2InstanceId"),
            Subject::RegisteredAt => f.write_str("registeredAt"),
            Subject::RunningTasksCount => f.write_str("runningTasksCount"),
            Subject::TaskGroup => f.write_str("task:group"),
        }
    }
}

/// Checks an attribute name against the characters ECS allows in one.
fn attribute_name(name: &str, position: usize) -> Result<String, QueryError> {
    let reason = if name.is_empty() {
        "the name is empty"
    } else if name.chars().count() > MAX_ATTRIBUTE_NAME_LEN {
        "names are at most 128 characters long"
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '\\' | '.')) {
        "names may contain only letters, digits, '-', '_', '/', '\\' and '.'"
    } else {
        return Ok(name.to_string());
    };
    Err(QueryError::InvalidAttributeName { name: name.to_string(), position, reason })
}

/// A `registeredAt` argument in seconds since the epoch. ECS documents four forms: with an offset, with `Z`, without
/// a zone (read as UTC) and a bare date (midnight UTC).
pub(super) fn parse_time(text: &str) -> Option<f64> {
    use jiff::{Timestamp, civil, tz::TimeZone};
    // A timestamp needs an offset or `Z`, so a civil datetime is tried only for zone-less text, never for text
    // whose offset jiff would otherwise drop.
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at.as_duration().as_secs_f64());
    }
    let civil = match text.parse::<civil::DateTime>() {
        Ok(datetime) => datetime,
        Err(_) => text.parse::<civil::Date>().ok()?.to_datetime(civil::Time::midnight()),
    };
    let at = TimeZone::UTC.to_timestamp(civil).ok()?;
    Some(at.as_duration().as_secs_f64())
}

struct Literal {
    text: String,
    pos: usize,
}

const AFTER_CONDITION: &str = "'and', 'or' or the end of the expression";
const AFTER_GROUP: &str = "')', 'and' or 'or'";
const CONDITION: &str = "a condition, '(' or 'not'";

/// Builds the tree for a whole expression.
pub(super) fn parse_tokens(tokens: Vec<Token>) -> Result<Node, QueryError> {
    let mut parser = Parser { tokens, next: 0, depth: 0 };
    let root = parser.or()?;
    match parser.peek() {
        None => Ok(root),
        Some(token) if token.kind == Kind::RParen => Err(QueryError::UnmatchedParen { position: token.pos }),
        Some(token) => Err(unexpected(token, AFTER_CONDITION)),
    }
}

fn unexpected(token: &Token, expected: &'static str) -> QueryError {
    // Long literals are cut so that the message stays readable.
    const SHOWN: usize = 40;
    let token_text = if token.text.chars().count() > SHOWN {
        format!("{}...", token.text.chars().take(SHOWN).collect::<String>())
    } else {
        token.text.clone()
    };
    QueryError::UnexpectedToken { token: token_text, position: token.pos, expected }
}

fn is_word(token: &Token, word: &str) -> bool {
    matches!(&token.kind, Kind::Word(w) if w.eq_ignore_ascii_case(word))
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    /// Takes the next token when `accept` likes it.
    fn eat(&mut self, accept: impl Fn(&Token) -> bool) -> bool {
        let hit = self.peek().is_some_and(accept);
        if hit {
            self.next += 1;
        }
        hit
    }

    fn nest(&mut self, position: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_NESTING { Err(QueryError::TooDeep { position }) } else { Ok(()) }
    }

    fn or(&mut self) -> Result<Node, QueryError> {
        let first = self.and()?;
        let mut terms = vec![first];
        while self.eat(|t| t.kind == Kind::OrOr || is_word(t, "or")) {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 { terms.swap_remove(0) } else { Node::Or(terms) })
    }

    fn and(&mut self) -> Result<Node, QueryError> {
        let first = self.unary()?;
        let mut terms = vec![first];
        while self.eat(|t| t.kind == Kind::AndAnd || is_word(t, "and")) {
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 { terms.swap_remove(0) } else { Node::And(terms) })
    }

    fn unary(&mut self) -> Result<Node, QueryError> {
        let Some(token) = self.peek() else {
            return Err(QueryError::UnexpectedEnd { expected: CONDITION });
        };
        // `not` followed directly by `(` lexes as the word `not` and a parenthesis, so `not(...)` needs no
        // special case.
        if token.kind == Kind::Bang || is_word(token, "not") {
            let position = token.pos;
            self.next += 1;
            self.nest(position)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Node::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, QueryError> {
        let Some(token) = self.bump() else {
            return Err(QueryError::UnexpectedEnd { expected: CONDITION });
        };
        match &token.kind {
            Kind::LParen => {
                self.nest(token.pos)?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.peek() {
                    Some(close) if close.kind == Kind::RParen => {
                        self.next += 1;
                        Ok(inner)
                    }
                    Some(other) => Err(unexpected(other, AFTER_GROUP)),
                    None => Err(QueryError::UnclosedParen { position: token.pos }),
                }
            }
            Kind::Word(word) if !(is_word(&token, "and") || is_word(&token, "or")) => {
                let subject = Subject::parse(word, token.pos)?;
                self.condition(subject)
            }
            _ => Err(unexpected(&token, CONDITION)),
        }
    }

    fn condition(&mut self, subject: Subject) -> Result<Node, QueryError> {
        let Some(op_token) = self.bump() else {
            return Err(QueryError::UnexpectedEnd { expected: "an operator" });
        };
        let Some(op) = Operator::from_token(&op_token.kind) else {
            return Err(unexpected(&op_token, "an operator such as '==', 'in' or 'exists'"));
        };
        let (allowed, allowed_text) = subject.operators();
        if !allowed.contains(&op) {
            return Err(QueryError::UnsupportedOperator {
                operator: op_token.text,
                subject: subject.to_string(),
                position: op_token.pos,
                supported: allowed_text,
            });
        }
        let test = match op {
            Op::Exists => Test::Exists { negated: false },
            Op::NotExists => Test::Exists { negated: true },
            Op::Eq | Op::Ne => {
                let value = subject.value(self.literal(&op_token)?)?;
                Test::Equals { negated: op == Op::Ne, value }
            }
            Op::Gt | Op::Ge | Op::Lt | Op::Le => {
                let order = match op {
                    Op::Gt => Order::Gt,
                    Op::Ge => Order::Ge,
                    Op::Lt => Order::Lt,
                    _ => Order::Le,
                };
                Test::Order { op: order, value: subject.value(self.literal(&op_token)?)? }
            }
            Op::In | Op::NotIn => {
                let values =
                    self.list(&op_token)?.into_iter().map(|l| subject.value(l)).collect::<Result<Vec<_>, _>>()?;
                Test::In { negated: op == Op::NotIn, values }
            }
            Op::Matches | Op::NotMatches => {
                let literal = self.literal(&op_token)?;
                let regex = java_regex::compile(&literal.text).map_err(|reason| QueryError::InvalidRegex {
                    pattern: literal.text.clone(),
                    position: literal.pos,
                    reason,
                })?;
                Test::Matches { negated: op == Op::NotMatches, regex }
            }
        };
        Ok(Node::Condition(Condition { subject, test }))
    }

    /// The single literal argument of `op`.
    fn literal(&mut self, op: &Token) -> Result<Literal, QueryError> {
        match self.peek() {
            Some(Token { kind: Kind::Word(text) | Kind::Quoted(text), pos, .. }) => {
                let literal = Literal { text: text.clone(), pos: *pos };
                self.next += 1;
                Ok(literal)
            }
            Some(token @ Token { kind: Kind::LBracket | Kind::LParen, .. }) => {
                Err(unexpected(token, "a single value (lists are for 'in' and 'not_in')"))
            }
            _ => Err(QueryError::MissingArgument { operator: op.text.clone(), position: op.pos }),
        }
    }

    /// The argument list of `in` / `not_in`: `[a, b]` as ECS documents it, or `(a, b)`.
    fn list(&mut self, op: &Token) -> Result<Vec<Literal>, QueryError> {
        let (close, after_item) = match self.peek() {
            Some(Token { kind: Kind::LBracket, .. }) => (Kind::RBracket, "',' or ']'"),
            Some(Token { kind: Kind::LParen, .. }) => (Kind::RParen, "',' or ')'"),
            Some(token @ Token { kind: Kind::Word(_) | Kind::Quoted(_), .. }) => {
                return Err(unexpected(token, "an argument list such as [a, b]"));
            }
            _ => return Err(QueryError::MissingArgument { operator: op.text.clone(), position: op.pos }),
        };
        self.next += 1;
        let mut items = Vec::new();
        loop {
            match self.bump() {
                Some(Token { kind: Kind::Word(text) | Kind::Quoted(text), pos, .. }) => {
                    items.push(Literal { text, pos });
                }
                Some(other) => return Err(unexpected(&other, "a value")),
                None => return Err(QueryError::UnexpectedEnd { expected: "a value" }),
            }
            match self.bump() {
                Some(Token { kind: Kind::Comma, .. }) => {}
                Some(token) if token.kind == close => return Ok(items),
                Some(other) => return Err(unexpected(&other, after_item)),
                None => return Err(QueryError::UnexpectedEnd { expected: after_item }),
            }
        }
    }
}
