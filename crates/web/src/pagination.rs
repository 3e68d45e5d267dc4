//! Zendesk's two pagination styles. Offset: `page`, `per_page` → `next_page`, `previous_page`, `count`.
//! Cursor: `page[size]`, `page[after]` → `meta.has_more`, `meta.after_cursor`, `links.next` (null on the last
//! page, which clients such as node-zendesk rely on).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use partnerdesk_db::Window;
use serde::Serialize;
use serde_json::{Map, Value, json};

use partnerdesk_app::AppError;

use crate::error::ApiError;

pub const MAX_PAGE_SIZE: i64 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    Offset { page: i64, per_page: i64 },
    Cursor { size: i64, after: Option<i64> },
}

/// The query string of a list request: the page request and every other parameter (kept for links).
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub page: PageRequest,
    pub params: Vec<(String, String)>,
    /// `page[after]` as sent, for lists whose cursors come from elsewhere (a partner's bucket).
    pub opaque_after: Option<String>,
}

impl ListQuery {
    /// Parses a raw query string; parameters may come in any order, with brackets encoded or not.
    pub fn parse(raw: Option<&str>) -> Result<ListQuery, ApiError> {
        ListQuery::parse_with(raw, false, MAX_PAGE_SIZE, false)
    }

    /// Cursor pages only, of up to `max` records (an export): `page[size]` and `page[after]` are optional.
    pub fn parse_cursor(raw: Option<&str>, max: i64) -> Result<ListQuery, ApiError> {
        ListQuery::parse_with(raw, false, max, true)
    }

    /// Like `parse`, but `page[after]` is kept as given rather than read as one of this server's id cursors.
    pub fn parse_opaque(raw: Option<&str>) -> Result<ListQuery, ApiError> {
        // Bucket listings page like S3 itself, up to 1,000 keys.
        ListQuery::parse_with(raw, true, 1000, false)
    }

    fn parse_with(raw: Option<&str>, opaque: bool, max_cursor: i64, cursor_only: bool) -> Result<ListQuery, ApiError> {
        let pairs: Vec<(String, String)> = match raw {
            Some(q) => query_pairs(q)?,
            None => Vec::new(),
        };
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let positive = |name: &str, v: &str| -> Result<i64, ApiError> {
            match v.parse::<i64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(AppError::BadRequest(format!("{name} must be a positive integer, not '{v}'")).into()),
            }
        };
        // Every pagination parameter sent is checked, also those the other style ignores.
        let page_number = get("page").map(|v| positive("page", v)).transpose()?;
        let per_page = get("per_page").map(|v| positive("per_page", v)).transpose()?;
        let cursor = cursor_only || get("page[size]").is_some() || get("page[after]").is_some();
        let page = if cursor {
            let size = get("page[size]")
                .map(|v| positive("page[size]", v))
                .transpose()?
                .unwrap_or(MAX_PAGE_SIZE);
            let after = if opaque {
                None
            } else {
                get("page[after]").map(decode_cursor).transpose()?
            };
            PageRequest::Cursor {
                size: size.min(max_cursor),
                after,
            }
        } else {
            PageRequest::Offset {
                page: page_number.unwrap_or(1),
                per_page: per_page.unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE),
            }
        };
        let opaque_after = if opaque {
            match get("page[after]") {
                Some("") => {
                    return Err(AppError::BadRequest("page[after] is not a cursor this server issued".into()).into());
                }
                other => other.map(str::to_owned),
            }
        } else {
            None
        };
        let params = pairs
            .into_iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "page" | "per_page" | "page[size]" | "page[after]" | "page[before]"
                )
            })
            .collect();
        Ok(ListQuery {
            page,
            params,
            opaque_after,
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn window(&self) -> Window {
        match self.page {
            PageRequest::Offset { page, per_page } => Window {
                after_id: None,
                offset: (page - 1).saturating_mul(per_page),
                limit: per_page,
                desc: false,
            },
            PageRequest::Cursor { size, after } => Window {
                after_id: after,
                offset: 0,
                limit: size,
                desc: false,
            },
        }
    }

    pub fn is_offset(&self) -> bool {
        matches!(self.page, PageRequest::Offset { .. })
    }

    /// The list answer: `{key: items, ...pagination}`. `last_id` is the id of the last item (for cursors);
    /// `count` is required for offset pagination. `base` is the absolute URL of the list without query.
    pub fn envelope<T: Serialize>(
        &self,
        key: &str,
        items: &[T],
        last_id: Option<i64>,
        has_more: bool,
        count: Option<i64>,
        base: &str,
    ) -> Value {
        let mut out = Map::new();
        out.insert(key.to_owned(), json!(items));
        let link = |extra: Vec<(String, String)>| -> String {
            let all: Vec<(String, String)> = self.params.iter().cloned().chain(extra).collect();
            let q: Vec<String> = all
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            format!("{base}?{}", q.join("&"))
        };
        match self.page {
            PageRequest::Offset { page, per_page } => {
                let pp = ("per_page".to_owned(), per_page.to_string());
                let next = has_more.then(|| link(vec![("page".into(), (page + 1).to_string()), pp.clone()]));
                let prev = (page > 1).then(|| link(vec![("page".into(), (page - 1).to_string()), pp]));
                out.insert("next_page".into(), json!(next));
                out.insert("previous_page".into(), json!(prev));
                out.insert("count".into(), json!(count.unwrap_or(items.len() as i64)));
            }
            PageRequest::Cursor { size, after } => {
                let after_cursor = last_id.map(encode_cursor);
                let before_cursor = after.map(encode_cursor);
                let next = match (&after_cursor, has_more) {
                    (Some(c), true) => Some(link(vec![
                        ("page[size]".into(), size.to_string()),
                        ("page[after]".into(), c.clone()),
                    ])),
                    _ => None,
                };
                out.insert(
                    "meta".into(),
                    json!({"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor}),
                );
                out.insert("links".into(), json!({"next": next, "prev": Value::Null}));
            }
        }
        Value::Object(out)
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn query_pairs(q: &str) -> Result<Vec<(String, String)>, ApiError> {
    Ok(form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

fn decode_cursor(c: &str) -> Result<i64, AppError> {
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("id:").and_then(|n| n.parse::<i64>().ok()))
        .ok_or_else(|| AppError::BadRequest(format!("page[after] '{c}' is not a cursor this server issued")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_styles() -> Result<(), ApiError> {
        let q = ListQuery::parse(Some("per_page=2&status=open&page=3"))?;
        assert_eq!(q.page, PageRequest::Offset { page: 3, per_page: 2 });
        assert_eq!(
            q.window(),
            Window {
                after_id: None,
                offset: 4,
                limit: 2,
                desc: false,
            }
        );
        assert_eq!(q.get("status"), Some("open"));
        let c = ListQuery::parse(Some(&format!("page%5Bafter%5D={}&page[size]=500", encode_cursor(7))))?;
        assert_eq!(
            c.page,
            PageRequest::Cursor {
                size: 100,
                after: Some(7)
            }
        );
        assert!(ListQuery::parse(Some("page=0")).is_err());
        // A parameter of the other style is checked all the same.
        assert!(ListQuery::parse(Some("page[size]=2&per_page=-1")).is_err());
        assert!(ListQuery::parse(Some("page[size]=2&page=x")).is_err());
        assert!(ListQuery::parse(Some("page[after]=zz")).is_err());
        assert!(ListQuery::parse(Some("page[after]=")).is_err());
        assert!(ListQuery::parse_opaque(Some("page[after]=")).is_err());
        Ok(())
    }

    #[test]
    fn last_cursor_page_has_null_next() -> Result<(), ApiError> {
        let q = ListQuery::parse(Some("page[size]=2"))?;
        let v = q.envelope("things", &[1, 2], Some(2), false, None, "http://x/api/v2/things");
        assert_eq!(v["links"]["next"], Value::Null);
        assert_eq!(v["meta"]["has_more"], json!(false));
        let v = q.envelope("things", &[1, 2], Some(2), true, None, "http://x/api/v2/things");
        assert!(
            v["links"]["next"]
                .as_str()
                .is_some_and(|s| s.contains("page%5Bafter%5D="))
        );
        Ok(())
    }
}
