//! `AllowedPattern`: the regular expression PutParameter checks a value against. AWS uses Java's syntax; Berth uses
//! the `regex` crate, whose syntax is the same for what patterns commonly hold (literals, `.`, classes with
//! `\d \w \s`, anchors `^ $ \A \z`, groups, named groups, alternation, greedy and lazy quantifiers). Where they
//! differ, the pattern is refused (`InvalidAllowedPatternException`), never misread: lookaround, backreferences and
//! possessive quantifiers do not exist in `regex`. Matching takes time linear in the value, and a compiled pattern
//! is bounded in size, so no pattern makes a request slow.
//!
//! A value passes when the pattern matches somewhere in it (anchor with `^...$` to match all of it, as AWS's
//! examples do).

/// The most memory one compiled pattern may take.
const SIZE_LIMIT: usize = 8 << 20;

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern(regex::Regex);

impl Pattern {
    /// Compiles `pattern`; the error says why it is not one Berth can check.
    pub fn new(pattern: &str) -> Result<Pattern, String> {
        if possessive(pattern) {
            // `regex` would read `a++` as a greedy repetition, which matches where Java's possessive one does not.
            return Err("possessive quantifiers are not supported".to_owned());
        }
        regex::RegexBuilder::new(pattern).size_limit(SIZE_LIMIT).build().map(Pattern).map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "it is too large".to_owned(),
            // The first line of the parser's message names the problem; the rest draws the pattern.
            other => other.to_string().lines().last().unwrap_or("invalid syntax").trim().to_owned(),
        })
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

/// Whether `pattern` has a quantifier directly followed by `+` (Java's possessive form) outside a class.
fn possessive(pattern: &str) -> bool {
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => in_class = true,
            ']' => in_class = false,
            '*' | '+' | '?' | '}' if !in_class && chars.peek() == Some(&'+') => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn anchors_and_classes() {
        assert!(m(r"^\d+$", "12345"));
        assert!(!m(r"^\d+$", "12a45"));
        assert!(!m(r"^\d+$", ""));
        assert!(m(r"\d+", "ab1"), "unanchored patterns match anywhere");
        assert!(m(r"^[a-z0-9_-]{3,8}$", "ab_c-9"));
        assert!(!m(r"^[a-z0-9_-]{3,8}$", "ab"));
        assert!(m(r"^[^,]+$", "no commas"));
        assert!(!m(r"^[^,]+$", "a,b"));
        assert!(m(r"^\w+@\w+\.com$", "me@example.com"));
        assert!(m(r"\Aabc\z", "abc"));
        assert!(m(r"^(?<env>dev|prod)-\d{2}$", "prod-42"));
        assert!(m(r"^a+?b*?c??$", "aab"));
    }

    #[test]
    fn pathological_patterns_stay_linear() {
        let text = "a".repeat(8192);
        let started = std::time::Instant::now();
        assert!(!m(r"^(a+)+b$", &text));
        assert!(!m(r"^(a|aa)*c$", &text));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn unsupported_and_broken_patterns_are_refused() {
        for bad in [r"(?=a)", r"(?!a)", r"\1", r"a++", r"a*+", "a{2}+", "(", ")", "[a", "*a", "a{2,1}", r"a\", "[z-a]"]
        {
            assert!(Pattern::new(bad).is_err(), "{bad} must be refused");
        }
        let err = Pattern::new("((a{100}){100}){100}").unwrap_err();
        assert_eq!(err, "it is too large");
        assert!(Pattern::new(r"^\d{1000}$").is_ok());
        assert!(Pattern::new(r"^[+*]+\++$").is_ok(), "a '+' in a class or escaped is no quantifier");
    }
}
