//! Splits a query into terms: `-`, `keyword` with its comparison, and a bare or quoted value.

use super::{Cmp, QueryError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Bare(String),
    Quoted(String),
}

impl Value {
    pub(super) fn into_string(self) -> String {
        match self {
            Value::Bare(s) | Value::Quoted(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    /// The character (from 1) where the term starts, its `-` included.
    pub position: usize,
    pub negated: bool,
    /// The keyword (lower-cased), its comparison and where its value starts.
    pub keyword: Option<(String, Cmp, usize)>,
    pub value: Value,
    /// The character (from 0) just after the term.
    pub end: usize,
}

/// A word that is a keyword: a letter or `_`, then letters, digits and `_`.
fn keyword_len(chars: &[char]) -> usize {
    match chars.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == '_' => chars
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
            .count(),
        _ => 0,
    }
}

/// The comparison at the start of `chars` and its length.
fn comparison(chars: &[char]) -> Option<(Cmp, usize)> {
    match (chars.first(), chars.get(1)) {
        (Some(':'), _) => Some((Cmp::Eq, 1)),
        (Some('<'), Some('=')) => Some((Cmp::Le, 2)),
        (Some('>'), Some('=')) => Some((Cmp::Ge, 2)),
        (Some('<'), _) => Some((Cmp::Lt, 1)),
        (Some('>'), _) => Some((Cmp::Gt, 1)),
        _ => None,
    }
}

/// Reads a quoted string starting at `chars[start]` (a `"`): its text and the index after the closing quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), QueryError> {
    let close = chars[start + 1..]
        .iter()
        .position(|c| *c == '"')
        .ok_or_else(|| QueryError::at(start + 1, "closing '\"' expected for this quote"))?;
    let end = start + 1 + close;
    let next = end + 1;
    if chars.get(next).is_some_and(|c| !c.is_whitespace()) {
        return Err(QueryError::at(next + 1, "a space expected after the closing '\"'"));
    }
    Ok((chars[start + 1..end].iter().collect(), next))
}

fn bare(chars: &[char], start: usize) -> (String, usize) {
    let end = chars[start..]
        .iter()
        .position(|c| c.is_whitespace())
        .map_or(chars.len(), |n| start + n);
    (chars[start..end].iter().collect(), end)
}

pub(super) fn tokens(input: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let position = i + 1;
        let negated = chars[i] == '-';
        if negated {
            i += 1;
            if chars.get(i).is_none_or(|c| c.is_whitespace()) {
                return Err(QueryError::at(position, "a word or a keyword expected after '-'"));
            }
        }
        if chars[i] == '"' {
            let (text, next) = quoted(&chars, i)?;
            out.push(Token {
                position,
                negated,
                keyword: None,
                value: Value::Quoted(text),
                end: next,
            });
            i = next;
            continue;
        }
        let name_len = keyword_len(&chars[i..]);
        let after_name = i + name_len;
        // `http://...` is a word, not the keyword `http`.
        let url = chars.get(after_name) == Some(&':') && chars.get(after_name + 1) == Some(&'/');
        match comparison(&chars[after_name..]).filter(|_| name_len > 0 && !url) {
            Some((cmp, len)) => {
                let name: String = chars[i..after_name].iter().collect::<String>().to_lowercase();
                let value_start = after_name + len;
                let (value, next) = match chars.get(value_start) {
                    Some('"') => {
                        let (text, next) = quoted(&chars, value_start)?;
                        (Value::Quoted(text), next)
                    }
                    Some(c) if !c.is_whitespace() => {
                        let (text, next) = bare(&chars, value_start);
                        (Value::Bare(text), next)
                    }
                    _ => {
                        return Err(QueryError::at(
                            value_start + 1,
                            format!(
                                "a value expected after '{name}{}'",
                                chars[after_name..value_start].iter().collect::<String>()
                            ),
                        ));
                    }
                };
                if value.clone().into_string().trim().is_empty() {
                    return Err(QueryError::at(
                        value_start + 1,
                        format!("a value expected for '{name}'"),
                    ));
                }
                out.push(Token {
                    position,
                    negated,
                    keyword: Some((name, cmp, value_start + 1)),
                    value,
                    end: next,
                });
                i = next;
            }
            None => {
                let (text, next) = bare(&chars, i);
                out.push(Token {
                    position,
                    negated,
                    keyword: None,
                    value: Value::Bare(text),
                    end: next,
                });
                i = next;
            }
        }
    }
    Ok(out)
}
