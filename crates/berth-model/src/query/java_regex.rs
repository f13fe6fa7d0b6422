//! Java regular expressions, as the ECS `matches` operators take them, translated for the `regex` crate.
//!
//! ECS documents its patterns as `java.util.regex.Pattern` syntax matched with `String.matches`, which succeeds only
//! when the pattern matches the whole value. The translation keeps that meaning where the two dialects differ in
//! ways a user would notice:
//!
//! - the pattern is anchored at both ends (`g2.*` matches `g2.2xlarge`, `g2` does not);
//! - `\d`, `\w`, `\s` and the POSIX classes (`\p{Alpha}`, ...) are ASCII-only, as in Java (Rust's are Unicode);
//! - `\Q...\E` quoting, `\h`, `\v`, `\R`, `\e`, `\cX`, octal `\0nn` and `\Z` are rewritten to equivalents;
//! - an escaped punctuation character is always a literal (Rust reads `\<` and `\>` as word boundaries);
//! - inline flags `d`, `u` and `U` (no Rust equivalent, or a different meaning for `U`) are dropped;
//! - comments in `(?x)` mode are removed here, so that anchoring after them cannot be commented out.
//!
//! What `regex` cannot do (back-references, look-around, atomic groups, possessive quantifiers, `\G`) is refused with
//! a message saying so, rather than approximated. Java's `.` also excludes `\r` and Unicode line separators; Rust's
//! excludes only `\n`, a difference left alone as attribute values hold no line breaks.

use regex::{Regex, RegexBuilder};

/// Bounds the memory one compiled pattern may take; patterns are submitted by API callers.
const SIZE_LIMIT: usize = 1 << 20;

const DIGIT: &str = "0-9";
const WORD: &str = "a-zA-Z_0-9";
const SPACE: &str = r"\t\n\x0B\x0C\r\x20";
const HORIZONTAL_SPACE: &str = r"\x20\t\xA0\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}";
const VERTICAL_SPACE: &str = r"\n\x0B\x0C\r\x{85}\x{2028}\x{2029}";

/// Compiles a Java pattern into a regex that matches whole values only.
pub(super) fn compile(pattern: &str) -> Result<Regex, String> {
    let body = translate(pattern)?;
    let anchored = format!(r"\A(?:{body})\z");
    RegexBuilder::new(&anchored).size_limit(SIZE_LIMIT).dfa_size_limit(SIZE_LIMIT).build().map_err(|e| describe(&e))
}

/// One line saying what is wrong. Positions in `regex`'s own report refer to the translated pattern, so they are
/// left out.
fn describe(error: &regex::Error) -> String {
    match error {
        regex::Error::Syntax(report) => {
            let line = report.lines().rev().find_map(|l| l.trim().strip_prefix("error: "));
            line.unwrap_or(report.as_str()).to_string()
        }
        regex::Error::CompiledTooBig(_) => "the pattern is too large".to_string(),
        other => other.to_string(),
    }
}

/// Rewrites a Java pattern in `regex` syntax.
fn translate(pattern: &str) -> Result<String, String> {
    let mut t = Translator {
        chars: pattern.chars().collect(),
        next: 0,
        out: String::with_capacity(pattern.len() + 16),
        class_depth: 0,
        verbose: false,
        groups: Vec::new(),
    };
    while let Some(c) = t.bump() {
        t.step(c)?;
    }
    if t.class_depth > 0 {
        return Err("unclosed character class '['".to_string());
    }
    if !t.groups.is_empty() {
        return Err("unclosed group '('".to_string());
    }
    Ok(t.out)
}

struct Translator {
    chars: Vec<char>,
    next: usize,
    out: String,
    /// How many `[` are open; Java, like `regex`, nests classes.
    class_depth: usize,
    /// Whether `(?x)` is in force, where `#` starts a comment.
    verbose: bool,
    /// For each open group, whether `(?x)` was in force outside it: flags set inside a group end with it.
    groups: Vec<bool>,
}

impl Translator {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.next).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.next + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.next += 1;
        Some(c)
    }

    fn in_class(&self) -> bool {
        self.class_depth > 0
    }

    /// Emits `c` so that `regex` reads it as that literal character, whatever the context and flags.
    fn literal(&mut self, c: char) {
        if c.is_ascii_alphanumeric() {
            self.out.push(c);
        } else {
            self.out.push_str(&format!(r"\x{{{:X}}}", u32::from(c)));
        }
    }

    /// Emits a character class; nested inside another class it is a union, which `regex` also supports.
    fn class(&mut self, members: &str, negated: bool) {
        self.out.push('[');
        if negated {
            self.out.push('^');
        }
        self.out.push_str(members);
        self.out.push(']');
    }

    fn step(&mut self, c: char) -> Result<(), String> {
        match c {
            '#' if self.verbose => {
                // A comment runs to the end of the line.
                while self.bump().is_some_and(|c| c != '\n') {}
            }
            '\\' => self.escape()?,
            '[' => {
                self.class_depth += 1;
                self.out.push('[');
                if self.peek() == Some('^') {
                    self.next += 1;
                    self.out.push('^');
                }
            }
            ']' if self.in_class() => {
                self.class_depth -= 1;
                self.out.push(']');
            }
            // `[:alpha:]` is a POSIX class in `regex` but a plain set of characters in Java; `~~` is an operator in
            // `regex` classes. Escaped, both stay literal.
            ':' | '~' if self.in_class() => self.literal(c),
            // Java takes a stray `]` or `}` as a literal.
            ']' | '}' if !self.in_class() => self.literal(c),
            '(' if !self.in_class() => self.open_group()?,
            ')' if !self.in_class() => {
                let Some(outer_verbose) = self.groups.pop() else {
                    return Err("unmatched ')'".to_string());
                };
                self.verbose = outer_verbose;
                self.out.push(')');
            }
            '*' | '+' | '?' if !self.in_class() => {
                self.out.push(c);
                self.after_quantifier()?;
            }
            '{' if !self.in_class() => self.counted_repetition()?,
            _ => self.out.push(c),
        }
        Ok(())
    }

    /// A quantifier may be followed by `?` (lazy, same in both) or `+` (possessive, which `regex` lacks).
    fn after_quantifier(&mut self) -> Result<(), String> {
        match self.peek() {
            Some('+') => Err("possessive quantifiers such as '*+' are not supported".to_string()),
            Some('?') => {
                self.next += 1;
                self.out.push('?');
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// `{n}`, `{n,}` or `{n,m}`; Java refuses any other `{` outside a class.
    fn counted_repetition(&mut self) -> Result<(), String> {
        let rest = &self.chars[self.next..];
        let Some(close) = rest.iter().position(|&c| c == '}') else {
            return Err("illegal repetition: '{' without a matching '}'".to_string());
        };
        let inner: String = rest[..close].iter().collect();
        let valid = match inner.split_once(',') {
            Some((min, max)) => is_count(min) && (max.is_empty() || is_count(max)),
            None => is_count(&inner),
        };
        if !valid {
            return Err(format!("illegal repetition '{{{inner}}}'"));
        }
        self.next += close + 1;
        self.out.push('{');
        self.out.push_str(&inner);
        self.out.push('}');
        self.after_quantifier()
    }

    fn open_group(&mut self) -> Result<(), String> {
        if self.peek() != Some('?') {
            self.groups.push(self.verbose);
            self.out.push('(');
            return Ok(());
        }
        match self.peek_at(1) {
            Some(':') => {
                self.next += 2;
                self.groups.push(self.verbose);
                self.out.push_str("(?:");
                Ok(())
            }
            Some('=' | '!') => Err("look-ahead groups are not supported".to_string()),
            Some('>') => Err("atomic groups are not supported".to_string()),
            Some('<') if matches!(self.peek_at(2), Some('=' | '!')) => {
                Err("look-behind groups are not supported".to_string())
            }
            Some('<') => {
                // A named group; `regex` takes the same `(?<name>...)` form.
                self.next += 2;
                self.groups.push(self.verbose);
                self.out.push_str("(?<");
                Ok(())
            }
            _ => self.flags(),
        }
    }

    /// `(?flags)` or `(?flags:...)`, positioned on the `?`.
    fn flags(&mut self) -> Result<(), String> {
        self.next += 1;
        let mut on = String::new();
        let mut off = String::new();
        let mut negate = false;
        loop {
            let Some(c) = self.bump() else {
                return Err("unclosed group '('".to_string());
            };
            match c {
                '-' if !negate => negate = true,
                // Same meaning in both dialects.
                'i' | 'm' | 's' | 'x' => {
                    if negate {
                        off.push(c)
                    } else {
                        on.push(c)
                    }
                }
                // UNIX_LINES and UNICODE_CASE have no counterpart (and `regex` folds case by Unicode already);
                // Java's `U` asks for Unicode classes while `regex`'s `U` swaps greediness, so it must not pass.
                'd' | 'u' | 'U' => {}
                ')' | ':' => {
                    let mut flags = on.clone();
                    if !off.is_empty() {
                        flags.push('-');
                        flags.push_str(&off);
                    }
                    let verbose_after = if off.contains('x') { false } else { self.verbose || on.contains('x') };
                    if c == ':' {
                        self.groups.push(self.verbose);
                        self.out.push_str(&format!("(?{flags}:"));
                    } else if !flags.is_empty() {
                        self.out.push_str(&format!("(?{flags})"));
                    }
                    self.verbose = verbose_after;
                    return Ok(());
                }
                other => return Err(format!("unknown group construct or flag '{other}' after '(?'")),
            }
        }
    }

    fn escape(&mut self) -> Result<(), String> {
        let Some(c) = self.bump() else {
            return Err("the pattern ends with a lone backslash".to_string());
        };
        match c {
            'd' | 'D' => self.class(DIGIT, c == 'D'),
            'w' | 'W' => self.class(WORD, c == 'W'),
            's' | 'S' => self.class(SPACE, c == 'S'),
            'h' | 'H' => self.class(HORIZONTAL_SPACE, c == 'H'),
            'v' | 'V' => self.class(VERTICAL_SPACE, c == 'V'),
            'R' if self.in_class() => return Err(r"\R cannot be used in a character class".to_string()),
            'R' => self.out.push_str(&format!(r"(?:\r\n|[{VERTICAL_SPACE}])")),
            'e' => self.literal('\u{1B}'),
            'a' => self.literal('\u{07}'),
            'c' => {
                let Some(x) = self.bump() else {
                    return Err(r"\c must be followed by a character".to_string());
                };
                let control = char::from_u32(u32::from(x) ^ 0x40).ok_or(r"invalid control character after \c")?;
                self.literal(control);
            }
            '0' => {
                // `\0n`, `\0nn` or `\0mnn` with m <= 3: the longest run of octal digits that stays within a byte.
                let mut value: u32 = 0;
                let mut digits = 0;
                while digits < 3 {
                    let Some(d) = self.peek().and_then(|c| c.to_digit(8)) else {
                        break;
                    };
                    if value * 8 + d > 0o377 {
                        break;
                    }
                    value = value * 8 + d;
                    digits += 1;
                    self.next += 1;
                }
                if digits == 0 {
                    return Err(r"illegal octal escape: \0 must be followed by octal digits".to_string());
                }
                self.literal(char::from_u32(value).ok_or("invalid octal escape")?);
            }
            '1'..='9' | 'k' => return Err("back-references are not supported".to_string()),
            'G' => return Err(r"\G is not supported".to_string()),
            // `\Z` allows a final line terminator before the end; matching the whole value leaves it nothing to
            // skip over.
            'Z' => self.out.push_str(r"\z"),
            'Q' => {
                // Everything up to `\E` (or the end) is literal.
                while let Some(q) = self.bump() {
                    if q == '\\' && self.peek() == Some('E') {
                        self.next += 1;
                        break;
                    }
                    self.literal(q);
                }
            }
            'p' | 'P' => self.property(c == 'P')?,
            // The rest of Java's letter escapes (`\t`, `\n`, `\x41`, `\u0041`, `\b`, `\A`, `\z`, ...) are spelled the
            // same in `regex`; one it lacks fails to compile with its own message.
            c if c.is_ascii_alphanumeric() => {
                self.out.push('\\');
                self.out.push(c);
            }
            c => self.literal(c),
        }
        Ok(())
    }

    /// `\p{Name}`, `\pL` and their negations.
    fn property(&mut self, negated: bool) -> Result<(), String> {
        let name: String = match self.bump() {
            Some('{') => {
                let rest = &self.chars[self.next..];
                let Some(close) = rest.iter().position(|&c| c == '}') else {
                    return Err(r"unclosed \p{...} property".to_string());
                };
                let name = rest[..close].iter().collect();
                self.next += close + 1;
                name
            }
            Some(letter) => letter.to_string(),
            None => return Err(r"\p must name a property".to_string()),
        };
        // Java's POSIX classes are ASCII-only; `regex` would read `\p{Lower}` as the Unicode property.
        let posix = match name.as_str() {
            "Lower" => Some("lower"),
            "Upper" => Some("upper"),
            "ASCII" => Some("ascii"),
            "Alpha" => Some("alpha"),
            "Digit" => Some("digit"),
            "Alnum" => Some("alnum"),
            "Punct" => Some("punct"),
            "Graph" => Some("graph"),
            "Print" => Some("print"),
            "Blank" => Some("blank"),
            "Cntrl" => Some("cntrl"),
            "XDigit" => Some("xdigit"),
            "Space" => Some("space"),
            _ => None,
        };
        if let Some(posix) = posix {
            self.class(&format!("[:{posix}:]"), negated);
            return Ok(());
        }
        if name.starts_with("In") && name.len() > 2 {
            return Err(format!("Unicode blocks such as '{name}' are not supported"));
        }
        let unicode = match name.as_str() {
            "javaLowerCase" => "Lowercase",
            "javaUpperCase" => "Uppercase",
            "javaWhitespace" => "White_Space",
            "javaAlphabetic" => "Alphabetic",
            // `IsLatin`, `IsAlphabetic`, `IsLu`: Java's prefix for scripts, binary properties and categories.
            other => other.strip_prefix("Is").filter(|s| !s.is_empty()).unwrap_or(other),
        };
        self.out.push_str(&format!(r"\{}{{{unicode}}}", if negated { 'P' } else { 'p' }));
        Ok(())
    }
}

fn is_count(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(pattern: &str) -> Regex {
        compile(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    fn refused(pattern: &str) -> String {
        match compile(pattern) {
            Ok(r) => panic!("{pattern} compiled to {r:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn query_regex_matches_whole_value() {
        assert!(re("g2.*").is_match("g2.2xlarge"));
        assert!(!re("g2").is_match("g2.2xlarge"));
        assert!(!re("2xlarge").is_match("g2.2xlarge"));
        // Java finds the alternative that covers the whole value, not merely the leftmost one.
        assert!(re("a|ab").is_match("ab"));
        assert!(re("").is_match(""));
        assert!(!re("").is_match("x"));
    }

    #[test]
    fn query_regex_table() {
        // (pattern, value, matches)
        let table: &[(&str, &str, bool)] = &[
            (r"t2\.(micro|small)", "t2.small", true),
            (r"t2\.(micro|small)", "t2xsmall", false),
            (r"\d+", "123", true),
            (r"\d+", "\u{661}\u{662}", false),
            (r"\w+", "abc_9", true),
            (r"\w+", "é", false),
            (r"a\sb", "a b", true),
            (r"\S+", "a b", false),
            (r"[\d-]+", "1-2", true),
            (r"\p{Lower}+", "abc", true),
            (r"\p{Lower}+", "é", false),
            (r"\P{Digit}", "x", true),
            (r"[\p{Upper}\d]+", "A1", true),
            (r"\p{L}+", "é", true),
            (r"\p{IsLatin}+", "abc", true),
            (r"\Qa.b\E", "a.b", true),
            (r"\Qa.b\E", "axb", false),
            (r"\Qa.b", "a.b", true),
            (r"(?i)T2.*", "t2.small", true),
            (r"(?iu)T2", "t2", true),
            (r"(?x) t2 \. small # instance type", "t2.small", true),
            ("(?x:a # comment\n b)c", "abc", true),
            ("(?x:a b) c", "ab c", true),
            (r"\<a\>", "<a>", true),
            (r"a\-b\@c", "a-b@c", true),
            (r"[a-c&&[^b]]+", "ac", true),
            (r"[a-c&&[^b]]+", "b", false),
            (r"[[:alpha:]]", ":", true),
            (r"[[:alpha:]]", "b", false),
            (r"[a~]", "~", true),
            (r"[*+?(){}]+", "*+?(){}", true),
            (r"a{2}", "aa", true),
            (r"a{2,}", "aaa", true),
            (r"a{1,2}?", "a", true),
            (r"x}", "x}", true),
            (r"x]", "x]", true),
            (r"\e\cA\011", "\u{1B}\u{01}\t", true),
            (r"\x41\u0042", "AB", true),
            (r"a\R", "a\r\n", true),
            (r"a\Z", "a", true),
            (r"(?<zone>us-east-1[a-f])", "us-east-1d", true),
            (r"\ba\b", "a", true),
            (r"a.+?c", "abbc", true),
        ];
        for &(pattern, value, expected) in table {
            assert_eq!(re(pattern).is_match(value), expected, "{pattern} against {value:?}");
        }
    }

    #[test]
    fn query_regex_refuses_what_regex_cannot_do() {
        assert!(refused("a*+").contains("possessive"));
        assert!(refused("a{2}+").contains("possessive"));
        assert!(refused("(?=a)a").contains("look-ahead"));
        assert!(refused("(?<!a)b").contains("look-behind"));
        assert!(refused("(?>a)").contains("atomic"));
        assert!(refused(r"(a)\1").contains("back-references"));
        assert!(refused(r"\G").contains(r"\G"));
        assert!(refused("(a").contains("unclosed group"));
        assert!(refused("a)").contains("unmatched"));
        assert!(refused("[a").contains("unclosed character class"));
        assert!(refused("x{").contains("repetition"));
        assert!(refused("x{a}").contains("repetition"));
        assert!(refused("a\\").contains("backslash"));
        assert!(refused(r"\p{InGreek}").contains("blocks"));
        assert!(refused("(?q)").contains("flag"));
        // Refused by `regex` itself, reported on one line.
        let message = refused("*a");
        assert!(!message.contains('\n'), "{message}");
        assert!(!refused("a{1000}{1000}{1000}").is_empty());
    }
}
