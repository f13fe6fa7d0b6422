//! Splits an expression into tokens.
//!
//! The lexer does not know where it is in the grammar: word operators (`and`, `equals`, `not_in`, ...) come out as
//! plain words and the parser reads them by position, so an attribute value spelled `and` still works as an argument.
//! Only the symbolic forms are recognised here.

use super::QueryError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// `!` in front of an expression.
    Bang,
    AndAnd,
    OrOr,
    /// A symbolic comparison operator: `==`, `!=`, `>`, `>=`, `<`, `<=`, `=~`, `!~`, `!exists`, `!in`.
    Op(SymbolicOp),
    /// A bare word: a subject, a word operator or connective, or an unquoted literal.
    Word(String),
    /// The text between quotes.
    Quoted(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SymbolicOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Match,
    NotMatch,
    NotExists,
    NotIn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: Kind,
    /// 0-based character offset of the token's first character.
    pub pos: usize,
    /// The token as written, for error messages.
    pub text: String,
}

/// Operators and connectives spelled with two symbols. They end a bare word, so `runningTasksCount>=2` lexes as
/// three tokens.
const TWO_CHAR: [(&str, Kind); 8] = [
    ("==", Kind::Op(SymbolicOp::Eq)),
    ("!=", Kind::Op(SymbolicOp::Ne)),
    ("=~", Kind::Op(SymbolicOp::Match)),
    ("!~", Kind::Op(SymbolicOp::NotMatch)),
    (">=", Kind::Op(SymbolicOp::Ge)),
    ("<=", Kind::Op(SymbolicOp::Le)),
    ("&&", Kind::AndAnd),
    ("||", Kind::OrOr),
];

pub(super) fn tokenize(input: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let kind = match c {
            '(' => {
                i += 1;
                Kind::LParen
            }
            ')' => {
                i += 1;
                Kind::RParen
            }
            '[' => {
                i += 1;
                Kind::LBracket
            }
            ']' => {
                i += 1;
                Kind::RBracket
            }
            ',' => {
                i += 1;
                Kind::Comma
            }
            '\'' | '"' => {
                let Some(len) = chars[i + 1..].iter().position(|&q| q == c) else {
                    return Err(QueryError::UnterminatedQuote { position: start });
                };
                let text: String = chars[i + 1..i + 1 + len].iter().collect();
                i += len + 2;
                Kind::Quoted(text)
            }
            _ => match symbol_at(&chars, i) {
                Some((kind, len)) => {
                    i += len;
                    kind
                }
                None => {
                    while i < chars.len() && !ends_word(&chars, i) {
                        i += 1;
                    }
                    Kind::Word(chars[start..i].iter().collect())
                }
            },
        };
        tokens.push(Token { kind, pos: start, text: chars[start..i].iter().collect() });
    }
    Ok(tokens)
}

/// The symbolic token starting at `i`, with its length in characters.
fn symbol_at(chars: &[char], i: usize) -> Option<(Kind, usize)> {
    if let Some(kind) = two_char_at(chars, i) {
        return Some((kind, 2));
    }
    match chars[i] {
        '>' => Some((Kind::Op(SymbolicOp::Gt), 1)),
        '<' => Some((Kind::Op(SymbolicOp::Lt), 1)),
        '!' => {
            // `!exists` and `!in` are operators only as whole words: `!instance...` is a negation of whatever
            // `instance...` turns out to be.
            for (word, op, len) in [("exists", SymbolicOp::NotExists, 7), ("in", SymbolicOp::NotIn, 3)] {
                if word_at(chars, i + 1, word) {
                    return Some((Kind::Op(op), len));
                }
            }
            Some((Kind::Bang, 1))
        }
        _ => None,
    }
}

fn two_char_at(chars: &[char], i: usize) -> Option<Kind> {
    let pair = chars.get(i..i + 2)?;
    TWO_CHAR.iter().find(|(s, _)| s.chars().eq(pair.iter().copied())).map(|(_, kind)| kind.clone())
}

/// Whether `word` (case-insensitively) is at `i` and is followed by something that ends a word.
fn word_at(chars: &[char], i: usize, word: &str) -> bool {
    let n = word.chars().count();
    let Some(slice) = chars.get(i..i + n) else {
        return false;
    };
    slice.iter().zip(word.chars()).all(|(a, b)| a.eq_ignore_ascii_case(&b))
        && (i + n == chars.len() || ends_word(chars, i + n))
}

/// Whether the character at `i` ends a bare word. Quotes do not: they start a quoted literal only at the start of a
/// token, so `it's` is one word.
fn ends_word(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | ',' | '>' | '<') || two_char_at(chars, i).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<Kind> {
        tokenize(input).unwrap_or_else(|e| panic!("{input}: {e}")).into_iter().map(|t| t.kind).collect()
    }

    fn word(s: &str) -> Kind {
        Kind::Word(s.to_string())
    }

    #[test]
    fn query_lexer_splits_words_and_symbols() {
        assert_eq!(
            kinds("task:group == service:production"),
            [word("task:group"), Kind::Op(SymbolicOp::Eq), word("service:production")]
        );
        assert_eq!(kinds("runningTasksCount>=2"), [word("runningTasksCount"), Kind::Op(SymbolicOp::Ge), word("2")]);
        assert_eq!(
            kinds("registeredAt<2018-06-18T22:28:28+00:00"),
            [word("registeredAt"), Kind::Op(SymbolicOp::Lt), word("2018-06-18T22:28:28+00:00")]
        );
        assert_eq!(kinds("a||b&&c"), [word("a"), Kind::OrOr, word("b"), Kind::AndAnd, word("c")]);
    }

    #[test]
    fn query_lexer_bang_forms() {
        assert_eq!(kinds("!exists"), [Kind::Op(SymbolicOp::NotExists)]);
        assert_eq!(kinds("!EXISTS"), [Kind::Op(SymbolicOp::NotExists)]);
        assert_eq!(kinds("!in["), [Kind::Op(SymbolicOp::NotIn), Kind::LBracket]);
        assert_eq!(kinds("!instance"), [Kind::Bang, word("instance")]);
        assert_eq!(kinds("!(x)"), [Kind::Bang, Kind::LParen, word("x"), Kind::RParen]);
        assert_eq!(kinds("!= !~"), [Kind::Op(SymbolicOp::Ne), Kind::Op(SymbolicOp::NotMatch)]);
    }

    #[test]
    fn query_lexer_quotes_and_positions() {
        let tokens = tokenize(r#"x in ['i-a', "it's"]"#).unwrap_or_else(|e| panic!("{e}"));
        let kinds: Vec<_> = tokens.iter().map(|t| t.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                word("x"),
                word("in"),
                Kind::LBracket,
                Kind::Quoted("i-a".into()),
                Kind::Comma,
                Kind::Quoted("it's".into()),
                Kind::RBracket
            ]
        );
        let positions: Vec<_> = tokens.iter().map(|t| t.pos).collect();
        assert_eq!(positions, [0, 2, 5, 6, 11, 13, 19]);
        assert_eq!(tokenize("x == 'open"), Err(QueryError::UnterminatedQuote { position: 5 }));
    }

    #[test]
    fn query_lexer_counts_characters_not_bytes() {
        let tokens = tokenize("é == ü").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tokens.iter().map(|t| t.pos).collect::<Vec<_>>(), [0, 2, 5]);
    }
}
