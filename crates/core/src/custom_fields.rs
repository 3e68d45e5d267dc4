//! Custom fields as Zendesk has them: typed values on tickets (and, later, organizations and users), checked
//! against the field's type, options and pattern, and the tags that drop-down, multi-select and checkbox fields
//! keep on the ticket as their value changes.

use serde_json::Value;

use crate::accounts::string_enum;

string_enum!(
    /// Zendesk's field types.
    FieldType {
        Text = "text",
        Textarea = "textarea",
        Checkbox = "checkbox",
        Date = "date",
        Integer = "integer",
        Decimal = "decimal",
        Regexp = "regexp",
        /// A drop-down: one of the options, whose `value` is also a tag on the ticket.
        Tagger = "tagger",
        /// Several of the options, each a tag.
        Multiselect = "multiselect",
    }
);

/// The longest value of a one-line field, and of a `textarea`.
pub const MAX_TEXT: usize = 1024;
pub const MAX_TEXTAREA: usize = 65_536;

/// An option of a drop-down or multi-select field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOption {
    pub name: String,
    /// The tag the option stands for (Zendesk's `value`).
    pub value: String,
}

/// What a value is checked against.
#[derive(Debug, Clone)]
pub struct FieldRule {
    pub kind: FieldType,
    pub options: Vec<FieldOption>,
    /// `regexp` fields: the pattern a value must match whole.
    pub pattern: Option<regex::Regex>,
    /// `checkbox` fields: the tag a checked box adds.
    pub tag: Option<String>,
}

/// Compiles a field's validation pattern, anchored (a value matches whole), with a bounded size so that an
/// admin's pattern cannot make every later check expensive (the regex crate's matching is linear in the input).
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("regexp_for_validation is not a valid pattern: {e}"))
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn option_value(rule: &FieldRule, v: &Value) -> Result<String, String> {
    let given = text_of(v).ok_or("must be one of the field's option values")?;
    rule.options
        .iter()
        .find(|o| o.value == given)
        .map(|o| o.value.clone())
        .ok_or_else(|| {
            let values: Vec<&str> = rule.options.iter().map(|o| o.value.as_str()).collect();
            format!("'{given}' is not an option: one of {}", values.join(", "))
        })
}

/// Checks `value` for a field with `rule`: the values to store (none clears the field; several for a
/// multi-select), or what is wrong with it.
pub fn check(rule: &FieldRule, value: &Value) -> Result<Vec<String>, String> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let one = |s: String| Ok(if s.is_empty() { Vec::new() } else { vec![s] });
    match rule.kind {
        FieldType::Text | FieldType::Textarea | FieldType::Regexp => {
            let s = text_of(value).ok_or("must be text")?;
            let s = s.trim().to_owned();
            let max = if rule.kind == FieldType::Textarea {
                MAX_TEXTAREA
            } else {
                MAX_TEXT
            };
            if s.chars().count() > max {
                return Err(format!("is too long (maximum is {max} characters)"));
            }
            if rule.kind != FieldType::Textarea && s.contains('\n') {
                return Err("must be one line".into());
            }
            if let Some(p) = &rule.pattern
                && !s.is_empty()
                && !p.is_match(&s)
            {
                return Err("does not match the field's pattern".into());
            }
            one(s)
        }
        FieldType::Checkbox => match value {
            Value::Bool(true) => Ok(vec!["true".into()]),
            Value::Bool(false) => Ok(Vec::new()),
            Value::String(s) if s == "true" || s == "1" => Ok(vec!["true".into()]),
            Value::String(s) if s == "false" || s == "0" || s.is_empty() => Ok(Vec::new()),
            _ => Err("must be true or false".into()),
        },
        FieldType::Date => {
            let s = text_of(value).ok_or("must be a date, YYYY-MM-DD")?;
            if s.is_empty() {
                return Ok(Vec::new());
            }
            // Zendesk also accepts a full time and keeps its day.
            let day = s.get(..10).unwrap_or(&s);
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map(|d| vec![d.format("%Y-%m-%d").to_string()])
                .map_err(|_| format!("must be a date, YYYY-MM-DD, not '{s}'"))
        }
        FieldType::Integer => {
            let s = text_of(value).ok_or("must be a whole number")?;
            if s.is_empty() {
                return Ok(Vec::new());
            }
            s.trim()
                .parse::<i64>()
                .map(|n| vec![n.to_string()])
                .map_err(|_| format!("must be a whole number, not '{s}'"))
        }
        FieldType::Decimal => {
            let s = text_of(value).ok_or("must be a number")?;
            if s.is_empty() {
                return Ok(Vec::new());
            }
            let t = s.trim();
            let plain = !t.is_empty()
                && t.len() <= 40
                && t.trim_start_matches('-')
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.')
                && t.matches('.').count() <= 1
                && t.chars().any(|c| c.is_ascii_digit());
            if plain {
                one(t.to_owned())
            } else {
                Err(format!("must be a number, not '{s}'"))
            }
        }
        FieldType::Tagger => {
            if value.as_str() == Some("") {
                return Ok(Vec::new());
            }
            option_value(rule, value).map(|v| vec![v])
        }
        FieldType::Multiselect => {
            let items = value.as_array().ok_or("must be a list of option values")?;
            let mut out: Vec<String> = Vec::new();
            for item in items {
                let v = option_value(rule, item)?;
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(out)
        }
    }
}

/// The value as the API shows it: text, a boolean, a number, or a list.
pub fn shown(rule_kind: FieldType, stored: &[String]) -> Value {
    match rule_kind {
        FieldType::Checkbox => Value::Bool(!stored.is_empty()),
        FieldType::Multiselect => Value::Array(stored.iter().cloned().map(Value::String).collect()),
        _ => stored.first().cloned().map_or(Value::Null, Value::String),
    }
}

/// The tags a field's value stands for: the chosen options' values, a checked box's tag.
pub fn tags_of(rule: &FieldRule, stored: &[String]) -> Vec<String> {
    match rule.kind {
        FieldType::Tagger | FieldType::Multiselect => stored.to_vec(),
        FieldType::Checkbox if !stored.is_empty() => rule.tag.clone().into_iter().collect(),
        _ => Vec::new(),
    }
}

/// Every tag a field may stand for (all its options, its checkbox tag): those it takes off when its value changes.
pub fn all_tags(rule: &FieldRule) -> Vec<String> {
    match rule.kind {
        FieldType::Tagger | FieldType::Multiselect => rule.options.iter().map(|o| o.value.clone()).collect(),
        FieldType::Checkbox => rule.tag.clone().into_iter().collect(),
        _ => Vec::new(),
    }
}

/// A field shown only when another field has a value (Zendesk's ticket form conditions).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChildField {
    pub id: i64,
    /// Required while shown.
    #[serde(default)]
    pub is_required: bool,
}

/// `{"parent_field_id": 7, "value": "acme_connector", "child_fields": [{"id": 9, "is_required": true}]}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldCondition {
    pub parent_field_id: i64,
    /// The parent's value, as the API shows it (an option's value, `true` for a checked box).
    pub value: Value,
    pub child_fields: Vec<ChildField>,
}

/// A form's routing by a field's value: a ticket whose field holds a route's value goes to the route's group
/// (e.g. Integration: Acme Connector → Partner Queue).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldRouting {
    pub field_id: i64,
    pub routes: Vec<FieldRoute>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldRoute {
    /// The field's stored value (an option's value; `true` for a checked box).
    pub value: String,
    pub group_id: i64,
}

impl FieldRouting {
    /// The group the values send a ticket to: the first route whose value the field holds.
    pub fn group_for(&self, values: &[String]) -> Option<&FieldRoute> {
        self.routes.iter().find(|r| values.contains(&r.value))
    }
}

/// What conditions make of a form's fields, given the values: the fields hidden (children of conditions none of
/// which holds) and the fields required by a condition that holds.
pub fn conditions_apply(conditions: &[FieldCondition], shown_value: impl Fn(i64) -> Value) -> (Vec<i64>, Vec<i64>) {
    let mut children: Vec<i64> = Vec::new();
    let mut shown: Vec<i64> = Vec::new();
    let mut required: Vec<i64> = Vec::new();
    for c in conditions {
        let holds = shown_value(c.parent_field_id) == c.value;
        for child in &c.child_fields {
            children.push(child.id);
            if holds {
                shown.push(child.id);
                if child.is_required {
                    required.push(child.id);
                }
            }
        }
    }
    let hidden = children.into_iter().filter(|id| !shown.contains(id)).collect();
    (hidden, required)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(kind: FieldType) -> FieldRule {
        FieldRule {
            kind,
            options: vec![
                FieldOption {
                    name: "Acme Connector".into(),
                    value: "acme_connector".into(),
                },
                FieldOption {
                    name: "Globex Bridge".into(),
                    value: "globex_bridge".into(),
                },
            ],
            pattern: None,
            tag: Some("needs_callback".into()),
        }
    }

    #[test]
    fn values_by_type() {
        let ok = |k: FieldType, v: Value| check(&rule(k), &v).expect("valid");
        let bad = |k: FieldType, v: Value| check(&rule(k), &v).expect_err("invalid");
        assert_eq!(ok(FieldType::Text, json!("  4.2.1 ")), vec!["4.2.1"]);
        assert!(bad(FieldType::Text, json!("a\nb")).contains("one line"));
        assert_eq!(ok(FieldType::Textarea, json!("a\nb")), vec!["a\nb"]);
        assert!(bad(FieldType::Text, json!({})).contains("text"));
        assert_eq!(ok(FieldType::Checkbox, json!(true)), vec!["true"]);
        assert_eq!(ok(FieldType::Checkbox, json!(false)), Vec::<String>::new());
        assert!(bad(FieldType::Checkbox, json!("maybe")).contains("true or false"));
        assert_eq!(ok(FieldType::Date, json!("2026-12-31")), vec!["2026-12-31"]);
        assert_eq!(ok(FieldType::Date, json!("2026-12-31T10:00:00Z")), vec!["2026-12-31"]);
        assert!(bad(FieldType::Date, json!("2026-02-30")).contains("YYYY-MM-DD"));
        assert_eq!(ok(FieldType::Integer, json!(42)), vec!["42"]);
        assert_eq!(ok(FieldType::Integer, json!("-7")), vec!["-7"]);
        assert!(bad(FieldType::Integer, json!(4.5)).contains("whole number"));
        assert_eq!(ok(FieldType::Decimal, json!(4.5)), vec!["4.5"]);
        assert!(bad(FieldType::Decimal, json!("4,5")).contains("number"));
        assert_eq!(ok(FieldType::Tagger, json!("acme_connector")), vec!["acme_connector"]);
        assert!(bad(FieldType::Tagger, json!("initech")).contains("not an option"));
        assert_eq!(
            ok(
                FieldType::Multiselect,
                json!(["globex_bridge", "acme_connector", "globex_bridge"])
            ),
            vec!["globex_bridge", "acme_connector"]
        );
        assert!(bad(FieldType::Multiselect, json!("acme_connector")).contains("list"));
        assert_eq!(ok(FieldType::Tagger, Value::Null), Vec::<String>::new());
    }

    #[test]
    fn patterns_match_whole_values() {
        let mut r = rule(FieldType::Regexp);
        r.pattern = Some(compile_pattern(r"\d+\.\d+").expect("valid"));
        assert_eq!(check(&r, &json!("4.2")).expect("valid"), vec!["4.2"]);
        assert!(check(&r, &json!("v4.2")).is_err(), "anchored");
        assert!(compile_pattern("(").is_err());
    }

    #[test]
    fn conditions_show_and_require_children() {
        let conditions = vec![FieldCondition {
            parent_field_id: 1,
            value: json!("acme_connector"),
            child_fields: vec![
                ChildField {
                    id: 2,
                    is_required: true,
                },
                ChildField {
                    id: 3,
                    is_required: false,
                },
            ],
        }];
        let (hidden, required) = conditions_apply(&conditions, |_| json!("globex_bridge"));
        assert_eq!((hidden, required), (vec![2, 3], vec![]));
        let (hidden, required) = conditions_apply(&conditions, |_| json!("acme_connector"));
        assert_eq!((hidden, required), (vec![], vec![2]));
    }

    #[test]
    fn tags_follow_the_value() {
        let r = rule(FieldType::Tagger);
        assert_eq!(tags_of(&r, &["acme_connector".into()]), vec!["acme_connector"]);
        assert_eq!(all_tags(&r), vec!["acme_connector", "globex_bridge"]);
        let c = rule(FieldType::Checkbox);
        assert_eq!(tags_of(&c, &["true".into()]), vec!["needs_callback"]);
        assert!(tags_of(&c, &[]).is_empty());
        assert_eq!(shown(FieldType::Checkbox, &[]), json!(false));
        assert_eq!(shown(FieldType::Multiselect, &["a".into()]), json!(["a"]));
        assert_eq!(shown(FieldType::Integer, &[]), Value::Null);
    }
}
