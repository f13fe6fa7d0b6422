//! Policy variables: `${aws:username}` in a `Resource` or a string, ARN or Bool condition value stands for the
//! request's value of that key (IAM User Guide, "IAM policy elements: Variables and tags",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>).
//!
//! - Only the 2012-10-17 language has variables; in 2008-10-17 (and without `Version`) `${aws:username}` is text.
//! - `${*}`, `${?}` and `${$}` are a literal `*`, `?` and `$`, never wildcards.
//! - `${key, 'default'}` gives a value to use when the key is absent.
//! - A variable whose key is absent (or multivalued: IAM does not substitute those), with no default, makes the whole
//!   value match nothing; a negated operator then holds, as IAM documents for "policy variables with no value".
//! - A substituted value is literal: a `*` in a tag value is not a wildcard.
//!
//! A `${` without a closing `}` is plain text.

use std::borrow::Cow;

use crate::context::Context;
use crate::wildcard::Token;

/// A policy string, split into text and variables once at parse time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    /// The text as written, for serializing the policy back.
    source: String,
    parts: Vec<Part>,
    /// The tokens with wildcards, compiled once, when there is no variable to resolve per request.
    fixed: Option<Vec<Token>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Policy text; `*` and `?` in it are wildcards where the operator has them.
    Text(String),
    /// `${*}`, `${?}` or `${$}`.
    Escaped(char),
    Variable {
        key: String,
        default: Option<String>,
    },
}

impl Template {
    /// `variables`: whether `${...}` is a variable here (2012-10-17, and an element that takes variables).
    pub(crate) fn parse(text: &str, variables: bool) -> Template {
        let source = text.to_owned();
        if !variables || !text.contains("${") {
            return Template::new(source, vec![Part::Text(text.to_owned())]);
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let Some(length) = rest[start + 2..].find('}') else { break };
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            parts.push(variable(&rest[start + 2..start + 2 + length]));
            rest = &rest[start + 2 + length + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Template::new(source, parts)
    }

    fn new(source: String, parts: Vec<Part>) -> Template {
        let mut template = Template { source, parts, fixed: None };
        if !template.parts.iter().any(|part| matches!(part, Part::Variable { .. })) {
            template.fixed = template.resolve(&Context::new(), true).map(Cow::into_owned);
        }
        template
    }

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The condition keys its variables name.
    pub(crate) fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable { key, .. } => Some(key.as_str()),
            _ => None,
        })
    }

    /// The pattern this value stands for in this request, `*`/`?` in policy text as wildcards when `wildcards`;
    /// `None` when a variable has no value.
    pub(crate) fn resolve(&self, context: &Context, wildcards: bool) -> Option<Cow<'_, [Token]>> {
        if wildcards && let Some(fixed) = &self.fixed {
            return Some(Cow::Borrowed(fixed));
        }
        let mut tokens = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(text) if wildcards => tokens.extend(crate::wildcard::compile(text)),
                Part::Text(text) => tokens.extend(text.chars().map(Token::Char)),
                Part::Escaped(c) => tokens.push(Token::Char(*c)),
                Part::Variable { key, default } => {
                    let value = context.single(key).or(default.as_deref())?;
                    tokens.extend(value.chars().map(Token::Char));
                }
            }
        }
        Some(Cow::Owned(tokens))
    }

    /// The value as a plain string for this request (no wildcards), `None` when a variable has no value.
    pub(crate) fn resolve_text(&self, context: &Context) -> Option<String> {
        let tokens = self.resolve(context, false)?;
        Some(
            tokens
                .iter()
                .map(|token| match *token {
                    Token::Char(c) => c,
                    // Unreachable without wildcards; spelled out rather than panicking.
                    Token::Any => '*',
                    Token::One => '?',
                })
                .collect(),
        )
    }
}

/// The part for the text between `${` and `}`.
fn variable(inside: &str) -> Part {
    match inside.trim() {
        "*" => return Part::Escaped('*'),
        "?" => return Part::Escaped('?'),
        "$" => return Part::Escaped('$'),
        _ => {}
    }
    // `${aws:PrincipalTag/team, 'company-wide'}`: the default is single-quoted after a comma.
    if let Some((key, default)) = inside.split_once(',') {
        let default = default.trim();
        if default.len() >= 2 && default.starts_with('\'') && default.ends_with('\'') {
            return Part::Variable {
                key: key.trim().to_owned(),
                default: Some(default[1..default.len() - 1].to_owned()),
            };
        }
    }
    Part::Variable { key: inside.trim().to_owned(), default: None }
}

#[cfg(test)]
mod tests {
    use super::Template;
    use crate::context::Context;
    use crate::wildcard::{Token, compile};

    fn text(template: &str, context: &Context) -> Option<String> {
        Template::parse(template, true).resolve_text(context)
    }

    #[test]
    fn substitutes_escapes_and_defaults() {
        let c = Context::new().with("aws:username", ["Bob"]).with("aws:PrincipalTag/team", ["yellow"]);
        assert_eq!(text("home/${aws:username}/*", &c).as_deref(), Some("home/Bob/*"));
        assert_eq!(text("${AWS:UserName}", &c).as_deref(), Some("Bob"));
        assert_eq!(text("bucket-${aws:PrincipalTag/team, 'company-wide'}", &c).as_deref(), Some("bucket-yellow"));
        let without_team = Context::new();
        assert_eq!(
            text("bucket-${aws:PrincipalTag/team, 'company-wide'}", &without_team).as_deref(),
            Some("bucket-company-wide")
        );
        assert_eq!(text("a${aws:username}", &without_team), None);
        assert_eq!(text("${*}${?}${$}", &without_team).as_deref(), Some("*?$"));
        assert_eq!(text("${unclosed", &without_team).as_deref(), Some("${unclosed"));
        assert_eq!(Template::parse("${aws:username}", false).resolve_text(&c).as_deref(), Some("${aws:username}"));
    }

    #[test]
    fn escapes_and_values_are_literal() {
        let c = Context::new().with("k", ["a*b"]);
        let template = Template::parse("${*}x*${k}", true);
        let tokens = template.resolve(&c, true);
        let mut expected = vec![Token::Char('*'), Token::Char('x'), Token::Any];
        expected.extend("a*b".chars().map(Token::Char));
        assert_eq!(tokens.as_deref(), Some(expected.as_slice()));
        assert_eq!(Template::parse("x*", true).resolve(&c, true).as_deref(), Some(compile("x*").as_slice()));
    }
}
