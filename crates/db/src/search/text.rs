//! Text terms in each backend's own language: an FTS5 match expression, or a `tsquery`.
//!
//! The words are never spliced into SQL: an FTS5 expression and each `tsquery` operand travel as bound values,
//! and inside them every word is a quoted string (FTS5 `"..."`, tsquery `'...'`) with its quotes escaped, so a
//! word can hold any character and still mean only itself.

use partnerdesk_core::search::{Text, TextField};

use super::TextTerm;
use crate::conn::{Arg, Backend};

/// FTS5 columns a term may match in: partners never match `internal_text`.
fn fts5_columns(internal: bool, field: TextField) -> Option<&'static str> {
    match field {
        TextField::Subject => Some("{subject}"),
        TextField::Description => Some("{description}"),
        TextField::Any if internal => None,
        TextField::Any => Some("{subject description public_text}"),
    }
}

/// A word or phrase as an FTS5 string: quoted, a word also as a prefix.
fn fts5_text(text: &Text) -> String {
    let quoted = format!("\"{}\"", text.as_str().replace('"', "\"\""));
    match text {
        Text::Word(_) => format!("{quoted}*"),
        Text::Phrase(_) => quoted,
    }
}

fn fts5_term(internal: bool, term: &TextTerm) -> String {
    let text = fts5_text(&term.text);
    match fts5_columns(internal, term.field) {
        Some(cols) => format!("({cols} : {text})"),
        None => format!("({text})"),
    }
}

/// The FTS5 expression of the terms (at least one positive): `(a) AND (b) NOT ((c) OR (d))`.
pub(super) fn fts5_expression(internal: bool, terms: &[TextTerm]) -> String {
    fts5_combined(terms, |t| fts5_term(internal, t))
}

/// The FTS5 expression of terms over the columns `columns` (`None`: every column), for users and organizations.
pub(super) fn fts5_expression_in(columns: Option<&str>, terms: &[TextTerm]) -> String {
    fts5_combined(terms, |t| {
        let text = fts5_text(&t.text);
        match columns {
            Some(cols) => format!("({cols} : {text})"),
            None => format!("({text})"),
        }
    })
}

fn fts5_combined(terms: &[TextTerm], term: impl Fn(&TextTerm) -> String) -> String {
    let positive: Vec<String> = terms.iter().filter(|t| !t.negated).map(&term).collect();
    let negative: Vec<String> = terms.iter().filter(|t| t.negated).map(&term).collect();
    let mut expr = format!("({})", positive.join(" AND "));
    if !negative.is_empty() {
        expr.push_str(&format!(" NOT ({})", negative.join(" OR ")));
    }
    expr
}

/// The tsquery weights a term may match: A subject, B description, C public comments, D internal notes.
fn weights(internal: bool, field: TextField) -> &'static str {
    match field {
        TextField::Subject => "A",
        TextField::Description => "B",
        TextField::Any if internal => "",
        TextField::Any => "ABC",
    }
}

/// One operand of `to_tsquery`: the words quoted, prefix-matched when a word, limited to `weights`.
fn tsquery_operand(internal: bool, term: &TextTerm) -> String {
    let quoted = format!("'{}'", term.text.as_str().replace('\\', "\\\\").replace('\'', "''"));
    let prefix = matches!(term.text, Text::Word(_));
    let w = weights(internal, term.field);
    match (prefix, w.is_empty()) {
        (true, _) => format!("{quoted}:*{w}"),
        (false, false) => format!("{quoted}:{w}"),
        (false, true) => quoted,
    }
}

/// The SQL of the terms' `tsquery`: `(to_tsquery(?) && !!to_tsquery(?))`, operands pushed to `args`.
pub(super) fn tsquery_sql(internal: bool, terms: &[TextTerm], args: &mut Vec<Arg>) -> String {
    let parts: Vec<String> = terms
        .iter()
        .map(|t| {
            args.push(Arg::Text(tsquery_operand(internal, t)));
            let not = if t.negated { "!!" } else { "" };
            format!("{not}to_tsquery('partnerdesk', ?)")
        })
        .collect();
    format!("({})", parts.join(" && "))
}

/// A subquery of the ids of tickets whose text matches all of `terms` (all positive).
pub(super) fn matching_ids(backend: Backend, internal: bool, terms: &[TextTerm], args: &mut Vec<Arg>) -> String {
    match backend {
        Backend::Sqlite => {
            args.push(Arg::Text(fts5_expression(internal, terms)));
            "SELECT rowid FROM ticket_text WHERE ticket_text MATCH ?".into()
        }
        Backend::Postgres => {
            let query = tsquery_sql(internal, terms, args);
            format!("SELECT ticket_id FROM ticket_search WHERE doc @@ {query}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(field: TextField, text: Text, negated: bool) -> TextTerm {
        TextTerm { field, text, negated }
    }

    #[test]
    fn fts5_quotes_every_word_and_keeps_partners_out_of_internal_notes() {
        let terms = [
            term(TextField::Any, Text::Word("we\"b".into()), false),
            term(TextField::Subject, Text::Phrase("bad gateway".into()), false),
            term(TextField::Any, Text::Word("secret".into()), true),
        ];
        assert_eq!(
            fts5_expression(false, &terms),
            "(({subject description public_text} : \"we\"\"b\"*) AND ({subject} : \"bad gateway\")) \
             NOT (({subject description public_text} : \"secret\"*))"
        );
        assert_eq!(fts5_expression(true, &terms[..1]), "((\"we\"\"b\"*))");
    }

    #[test]
    fn tsquery_operands_are_quoted_and_weighted() {
        let mut args = Vec::new();
        let terms = [
            term(TextField::Any, Text::Word("o'brien\\".into()), false),
            term(TextField::Any, Text::Phrase("bad gateway".into()), true),
        ];
        assert_eq!(
            tsquery_sql(false, &terms, &mut args),
            "(to_tsquery('partnerdesk', ?) && !!to_tsquery('partnerdesk', ?))"
        );
        assert_eq!(
            args,
            vec![
                Arg::Text("'o''brien\\\\':*ABC".into()),
                Arg::Text("'bad gateway':ABC".into())
            ]
        );
        assert_eq!(tsquery_operand(true, &terms[1]), "'bad gateway'");
    }
}
