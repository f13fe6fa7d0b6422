//! What a user asks of placement: constraints that rule instances out and strategies that rank the rest, parsed
//! from ECS's `{type, expression}` and `{type, field}` pairs.

use berth_model::instance::InstanceCandidate;
use berth_model::query::{self, Expr};

use crate::node::{Node, reason};

/// A placement constraint (task definition's and the request's together).
#[derive(Debug, Clone)]
pub enum Constraint {
    DistinctInstance,
    /// A cluster query expression, kept with its text so two requests can tell whether they ask the same.
    MemberOf {
        expr: Expr,
        text: String,
    },
}

impl PartialEq for Constraint {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Constraint::DistinctInstance, Constraint::DistinctInstance) => true,
            (Constraint::MemberOf { text: a, .. }, Constraint::MemberOf { text: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl Constraint {
    /// Parses a `{type, expression}` pair; the error names what is wrong (and where, in an expression).
    pub fn parse(kind: &str, expression: Option<&str>) -> Result<Constraint, String> {
        match (kind, expression.filter(|e| !e.trim().is_empty())) {
            ("distinctInstance", None) => Ok(Constraint::DistinctInstance),
            ("distinctInstance", Some(_)) => {
                Err("A distinctInstance placement constraint must not have an expression.".into())
            }
            ("memberOf", Some(e)) => {
                if e.len() > 2000 {
                    return Err("A memberOf expression can be at most 2000 characters.".into());
                }
                let expr = query::parse(e).map_err(|err| format!("memberOf expression: {err}"))?;
                Ok(Constraint::MemberOf { expr, text: e.to_owned() })
            }
            ("memberOf", None) => Err("A memberOf placement constraint needs an expression.".into()),
            (other, _) => Err(format!(
                "Placement constraint type '{}' is not valid. Valid types: distinctInstance, memberOf.",
                berth_model::names::truncate(other, 64)
            )),
        }
    }

    pub fn allows(&self, node: &Node, group: &str) -> bool {
        match self {
            Constraint::DistinctInstance => node.tasks_in_group(group) == 0,
            Constraint::MemberOf { expr, .. } => expr.matches(&InstanceCandidate(&node.instance)),
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            Constraint::DistinctInstance => reason::DISTINCT_INSTANCE,
            Constraint::MemberOf { .. } => reason::MEMBER_OF,
        }
    }
}

/// A placement strategy, applied in order as tie-breakers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Least remaining `cpu` or `memory` first.
    Binpack(BinpackField),
    /// Fewest tasks of the group per value of the field first (`instanceId`/`host`, or an attribute name).
    Spread(SpreadField),
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinpackField {
    Cpu,
    Memory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpreadField {
    Instance,
    Attribute(String),
}

/// ECS allows at most this many strategies in one request.
pub const MAX_STRATEGIES: usize = 5;

impl Strategy {
    /// Parses a `{type, field}` pair; the error names what is wrong.
    pub fn parse(kind: &str, field: Option<&str>) -> Result<Strategy, String> {
        match (kind, field) {
            ("random", None | Some("")) => Ok(Strategy::Random),
            ("random", Some(_)) => Err("A random placement strategy takes no field.".into()),
            ("binpack", Some(f)) if f.eq_ignore_ascii_case("cpu") => Ok(Strategy::Binpack(BinpackField::Cpu)),
            ("binpack", Some(f)) if f.eq_ignore_ascii_case("memory") => Ok(Strategy::Binpack(BinpackField::Memory)),
            ("binpack", _) => Err("A binpack placement strategy's field must be cpu or memory.".into()),
            ("spread", Some("instanceId" | "host")) => Ok(Strategy::Spread(SpreadField::Instance)),
            ("spread", Some(f)) if f.starts_with("attribute:") && f.len() > "attribute:".len() => {
                Ok(Strategy::Spread(SpreadField::Attribute(f["attribute:".len()..].to_owned())))
            }
            ("spread", _) => {
                Err("A spread placement strategy's field must be instanceId, host or attribute:<name>.".into())
            }
            (other, _) => Err(format!(
                "Placement strategy type '{}' is not valid. Valid types: binpack, random, spread.",
                berth_model::names::truncate(other, 64)
            )),
        }
    }

    /// What ECS uses for a service that names no strategy: spread over availability zones, then over instances.
    pub fn service_default() -> Vec<Strategy> {
        vec![
            Strategy::Spread(SpreadField::Attribute("ecs.availability-zone".into())),
            Strategy::Spread(SpreadField::Instance),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_problem() {
        assert!(Constraint::parse("distinctInstance", Some("x == y")).is_err());
        assert!(Constraint::parse("memberOf", None).is_err());
        let err = Constraint::parse("memberOf", Some("attribute:x ==")).unwrap_err();
        assert!(err.contains("memberOf expression"), "{err}");
        let err = Constraint::parse("memberOf", Some("attribute:x == a and (b")).unwrap_err();
        assert!(err.contains("at "), "the position is named: {err}");
        assert!(Constraint::parse("sameHost", None).unwrap_err().contains("sameHost"));
        // The README's example.
        let readme = "attribute:ecs.instance-type =~ g5.* and not(task:group == batch)";
        assert!(Constraint::parse("memberOf", Some(readme)).is_ok());
        assert_eq!(
            Strategy::parse("spread", Some("attribute:ecs.availability-zone")),
            Ok(Strategy::Spread(SpreadField::Attribute("ecs.availability-zone".into())))
        );
        assert_eq!(Strategy::parse("spread", Some("host")), Ok(Strategy::Spread(SpreadField::Instance)));
        assert_eq!(Strategy::parse("binpack", Some("CPU")), Ok(Strategy::Binpack(BinpackField::Cpu)));
        assert!(Strategy::parse("binpack", Some("disk")).is_err());
        assert!(Strategy::parse("spread", Some("attribute:")).is_err());
        assert!(Strategy::parse("random", Some("x")).is_err());
    }

    #[test]
    fn constraints_compare_by_text() {
        let a = Constraint::parse("memberOf", Some("attribute:a == 1")).unwrap();
        let b = Constraint::parse("memberOf", Some("attribute:a == 1")).unwrap();
        let c = Constraint::parse("memberOf", Some("attribute:a == 2")).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, Constraint::DistinctInstance);
    }
}
