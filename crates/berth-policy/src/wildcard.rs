//! IAM's wildcard matching: `*` matches any run of characters (including none), `?` exactly one character, every
//! other character itself. Patterns are token lists rather than strings so that a literal `*` (written `${*}` in
//! a policy, or coming from a variable's value) can be told apart from the wildcard.
//!
//! Case folding is the caller's business (actions fold, resources and `StringLike` do not). The matcher is the
//! classic two-pointer walk that backtracks only to the last `*`: O(pattern x text) at worst, no recursion.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// One character, matched literally.
    Char(char),
    /// `*`: any run of characters.
    Any,
    /// `?`: exactly one character.
    One,
}

/// The tokens of a pattern in which `*` and `?` are wildcards.
pub(crate) fn compile(pattern: &str) -> Vec<Token> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Token::Any,
            '?' => Token::One,
            c => Token::Char(c),
        })
        .collect()
}

/// Whether `pattern` matches all of `text`.
pub(crate) fn matches(pattern: &[Token], text: &str) -> bool {
    // ASCII text (ARNs, names, addresses, nearly always) is matched byte by byte, without collecting its chars:
    // each byte is then one character, and no ASCII byte equals a non-ASCII pattern character.
    if text.is_ascii() {
        return matches_seq(pattern, text.as_bytes(), |c, b| c == char::from(b));
    }
    let text: Vec<char> = text.chars().collect();
    matches_chars(pattern, &text)
}

pub(crate) fn matches_chars(pattern: &[Token], text: &[char]) -> bool {
    matches_seq(pattern, text, |c, t| c == t)
}

fn matches_seq<T: Copy>(pattern: &[Token], text: &[T], same: impl Fn(char, T) -> bool) -> bool {
    let (mut p, mut t) = (0, 0);
    // The last `*` seen, and the text position it is currently assumed to stretch to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Token::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Token::One) => {
                p += 1;
                t += 1;
            }
            Some(Token::Char(c)) if same(*c, text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry from just after it.
                Some((star_p, star_t)) => {
                    star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|token| *token == Token::Any)
}

#[cfg(test)]
mod tests {
    use super::{compile, matches};

    #[test]
    fn wildcards() {
        let m = |p: &str, t: &str| matches(&compile(p), t);
        assert!(m("*", ""));
        assert!(m("*", "anything:at/all"));
        assert!(m("ecs:Describe*", "ecs:DescribeClusters"));
        assert!(!m("ecs:Describe*", "ecs:ListClusters"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b", "xxaxxbxx"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("ünï?ode*", "ünïcode✓"));
    }
}
