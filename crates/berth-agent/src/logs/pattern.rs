//! CloudWatch Logs filter patterns for unstructured events, as `FilterLogEvents` takes them: bare terms that must
//! all appear, `"quoted phrases"` that must appear as written, `?term` alternatives (at least one must appear) and
//! `-term` exclusions (none may appear). Matching is case-sensitive, as CloudWatch's. JSON (`{ $.x = 1 }`),
//! space-delimited (`[a, b]`) and regular-expression (`%re%`) patterns are refused rather than silently matching
//! something else.

/// A parsed pattern; the empty pattern matches every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pattern {
    required: Vec<String>,
    any_of: Vec<String>,
    excluded: Vec<String>,
}

/// Why a pattern was refused; the text names the parameter, for an `InvalidParameterException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(pub String);

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let trimmed = text.trim();
        let unsupported = |kind: &str| {
            PatternError(format!(
                "Invalid filterPattern {trimmed:?}: {kind} patterns are not supported; use terms, \"quoted phrases\", \
                 ?alternatives and -exclusions"
            ))
        };
        match trimmed.chars().next() {
            Some('{') => return Err(unsupported("JSON")),
            Some('[') => return Err(unsupported("space-delimited")),
            Some('%') => return Err(unsupported("regular expression")),
            _ => {}
        }
        let mut pattern = Pattern::default();
        let mut chars = trimmed.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&first) = chars.peek() else { break };
            let kind = match first {
                '?' | '-' => {
                    chars.next();
                    first
                }
                _ => ' ',
            };
            let term: String = if chars.peek() == Some(&'"') {
                chars.next();
                let mut phrase = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => phrase.extend(chars.next()),
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => phrase.push(c),
                    }
                }
                if !closed {
                    return Err(PatternError(format!("Invalid filterPattern {trimmed:?}: unbalanced quotes")));
                }
                phrase
            } else {
                let mut word = String::new();
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    word.push(c);
                }
                word
            };
            if term.is_empty() {
                continue;
            }
            match kind {
                '?' => pattern.any_of.push(term),
                '-' => pattern.excluded.push(term),
                _ => pattern.required.push(term),
            }
        }
        Ok(pattern)
    }

    pub fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|t| message.contains(t.as_str()))
            && (self.any_of.is_empty() || self.any_of.iter().any(|t| message.contains(t.as_str())))
            && !self.excluded.iter().any(|t| message.contains(t.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, message: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(message)
    }

    #[test]
    fn empty_matches_everything() {
        assert!(m("", "anything"));
        assert!(m("   ", ""));
    }

    #[test]
    fn bare_terms_must_all_appear_case_sensitively() {
        assert!(m("ERROR disk", "ERROR: disk full"));
        assert!(!m("ERROR disk", "ERROR: memory"));
        assert!(!m("error", "ERROR"));
    }

    #[test]
    fn quoted_phrases_match_as_written() {
        assert!(m("\"disk full\"", "ERROR: disk full now"));
        assert!(!m("\"disk full\"", "full disk"));
        assert!(m("\"say \\\"hi\\\"\"", "they say \"hi\""));
        assert!(m("ERROR \"disk full\"", "ERROR disk full"));
    }

    #[test]
    fn alternatives_and_exclusions() {
        assert!(m("?ERROR ?WARN", "WARN low memory"));
        assert!(!m("?ERROR ?WARN", "INFO fine"));
        assert!(m("ERROR -timeout", "ERROR disk"));
        assert!(!m("ERROR -timeout", "ERROR timeout"));
        assert!(!m("-\"not found\"", "file not found"));
        assert!(m("?\"a b\" ?c", "x a b y"));
    }

    #[test]
    fn structured_patterns_are_refused_naming_the_parameter() {
        for p in ["{ $.x = 1 }", "[ip, user]", "%ERR.*%"] {
            let e = Pattern::parse(p).unwrap_err();
            assert!(e.0.contains("filterPattern"), "{e}");
        }
        assert!(Pattern::parse("\"open").unwrap_err().0.contains("filterPattern"));
    }
}
