//! Tags as Zendesk treats them: lower-case tokens without spaces, unique, order kept.

/// Normalises a list of tags: trims, lower-cases, turns inner whitespace into `_`, drops blanks and duplicates.
pub fn normalize<I, S>(tags: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t
            .as_ref()
            .trim()
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("_");
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Tags are stored as one space-separated string: portable across SQLite and PostgreSQL and searchable.
pub fn to_stored(tags: &[String]) -> String {
    tags.join(" ")
}

pub fn from_stored(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// Adds `extra` after `tags`, keeping order and uniqueness.
pub fn union(tags: &[String], extra: &[String]) -> Vec<String> {
    normalize(tags.iter().chain(extra.iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_dedups() {
        assert_eq!(normalize(["  Foo Bar", "foo_bar", "", "X"]), vec!["foo_bar", "x"]);
        assert_eq!(from_stored(&to_stored(&normalize(["a", "b"]))), vec!["a", "b"]);
    }
}
