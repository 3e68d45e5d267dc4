//! The piece of a ticket's text that shows why it was found: around the first word of the query in what the
//! searcher may read (for a partner: never an internal note), for the result pages to highlight.

use partnerdesk_core::policy::Actor;
use partnerdesk_core::search::{Filter, Query};
use partnerdesk_db::Db;
use partnerdesk_db::search;
use partnerdesk_db::tickets::Ticket;

use crate::error::AppError;

/// Characters shown before and after the word found.
const BEFORE: usize = 60;
const AFTER: usize = 140;
/// Comments read for a page of results, and the characters of each, to find the snippets in.
const COMMENTS_PER_PAGE: i64 = 500;
const COMMENT_CHARS: i64 = 4_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub before: String,
    pub hit: String,
    pub after: String,
}

/// The words of the query's positive free text, lower-cased.
pub fn words(query: &Query) -> Vec<String> {
    query
        .clauses
        .iter()
        .filter(|c| !c.negated)
        .filter_map(|c| match &c.filter {
            Filter::Text(_, t) => Some(t.as_str().to_lowercase()),
            _ => None,
        })
        .collect()
}

/// Where `word` starts a word of `lower` (a prefix match, as search matches words).
fn find_word(lower: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = lower[from..].find(word).map(|i| i + from) {
        let starts_word = lower[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        if starts_word {
            return Some(at);
        }
        from = at + word.len().max(1);
        if from >= lower.len() {
            break;
        }
    }
    None
}

/// The snippet of `text` around the earliest of `words`, if any is in it.
pub fn snippet(text: &str, words: &[String]) -> Option<Snippet> {
    // Lower-casing may change byte lengths; search a per-character lower-cased copy that keeps them aligned.
    let lower: String = text
        .chars()
        .map(|c| {
            let l = c.to_lowercase().next().unwrap_or(c);
            if l.len_utf8() == c.len_utf8() { l } else { c }
        })
        .collect();
    let (at, len) = words
        .iter()
        .filter(|w| !w.is_empty())
        .filter_map(|w| find_word(&lower, w).map(|at| (at, w.len())))
        .min()?;
    let end = at + len;
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(BEFORE.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    let stop = text[end..]
        .char_indices()
        .nth(AFTER)
        .map_or(text.len(), |(i, _)| end + i);
    let ellipsis = |cut: bool| if cut { "…" } else { "" };
    Some(Snippet {
        before: format!("{}{}", ellipsis(start > 0), text[start..at].replace('\n', " ")),
        hit: text[at..end].to_owned(),
        after: format!("{}{}", text[end..stop].replace('\n', " "), ellipsis(stop < text.len())),
    })
}

/// A snippet for each ticket, from its description and the comments `actor` may read: one query for the page,
/// each comment's first few thousand characters.
pub async fn for_tickets(
    db: &Db,
    actor: &Actor,
    query: &Query,
    found: &[Ticket],
) -> Result<Vec<Option<Snippet>>, AppError> {
    let words = words(query);
    if words.is_empty() {
        return Ok(vec![None; found.len()]);
    }
    let ids: Vec<_> = found.iter().map(|t| t.id).collect();
    let texts = search::comment_texts(
        &mut db.conn(),
        &ids,
        actor.sees_internal_comments(),
        COMMENT_CHARS,
        COMMENTS_PER_PAGE,
    )
    .await?;
    Ok(found
        .iter()
        .map(|t| {
            snippet(&t.description, &words).or_else(|| {
                texts
                    .iter()
                    .filter(|(id, _)| *id == t.id)
                    .find_map(|(_, body)| snippet(body, &words))
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_word_at_a_word_start() {
        let words = vec!["gate".to_owned(), "hook".to_owned()];
        let s = snippet("The webhook hits the Gateway.", &words).expect("found");
        assert_eq!(
            (s.before.as_str(), s.hit.as_str(), s.after.as_str()),
            ("The webhook hits the ", "Gate", "way.")
        );
        assert_eq!(snippet("Nothing here", &words), None);
        let long = format!("{} needle {}", "a ".repeat(200), "b ".repeat(200));
        let s = snippet(&long, &["needle".to_owned()]).expect("found");
        assert!(s.before.starts_with('…') && s.after.ends_with('…'));
        assert_eq!(s.hit, "needle");
        // Characters whose lower case is longer (İ) keep the text's positions.
        let s = snippet("İstanbul office: outage", &["outage".to_owned()]).expect("found");
        assert_eq!(s.hit, "outage");
    }
}
