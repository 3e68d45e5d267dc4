//! What the definitions of ticket, organization and user fields have in common, checked once for the three kinds:
//! the title and other texts, and the parts that depend on the type (a regexp field's pattern, a checkbox's tag, a
//! drop-down's options). Each kind's service adds what only it has (the key, the portal settings).

use partnerdesk_core::custom_fields::{self, FieldType};
use partnerdesk_core::{Invalid, tags, validation};
use serde::Deserialize;

pub const MAX_TITLE: usize = 255;
pub const MAX_DESCRIPTION: usize = 4096;
pub const MAX_OPTIONS: usize = 1000;
/// The longest regexp pattern.
pub const MAX_PATTERN: usize = 1000;

/// An option as sent: `{"name": "Acme Connector", "value": "acme_connector"}` (the value is its tag).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct OptionInput {
    /// An existing option's id (ignored: options are matched by value).
    pub id: Option<i64>,
    #[schema(max_length = 255)]
    pub name: String,
    /// The option's tag; lower-case, no spaces (spaces become `_`).
    #[schema(max_length = 255)]
    pub value: String,
}

/// One tag, normalised as ticket tags are (lower-case, `_` for spaces): not blank, at most `MAX_TITLE` characters.
pub fn one_tag(errors: &mut Invalid, field: &str, raw: &str) -> String {
    let t = tags::normalize([raw]).pop().unwrap_or_default();
    if t.is_empty() {
        errors.push(field, "BlankValue", format!("{field} cannot be blank"));
    } else if t.chars().count() > MAX_TITLE {
        errors.push(
            field,
            "TooLong",
            format!("{field} is too long (maximum is {MAX_TITLE} characters)"),
        );
    }
    t
}

/// The title: as given (not blank), else as it was; a new field needs one.
pub fn title(errors: &mut Invalid, given: Option<&str>, old: Option<&str>) -> String {
    match (given, old) {
        (None, Some(o)) => o.to_owned(),
        (given, _) => validation::required_text(errors, "title", given.unwrap_or_default(), MAX_TITLE),
    }
}

/// A text that may be blank (a description): as given, else as it was; trimmed, at most `max` characters.
pub fn text(errors: &mut Invalid, name: &str, given: Option<&str>, old: Option<&str>, max: usize) -> String {
    let v = given.or(old).unwrap_or_default();
    if v.chars().count() > max {
        errors.push(
            name,
            "TooLong",
            format!("{name} is too long (maximum is {max} characters)"),
        );
    }
    v.trim().to_owned()
}

/// The parts of a definition that depend on its type, as sent: `None` for what was left out (it stays).
#[derive(Debug, Clone, Copy, Default)]
pub struct TypeInput<'a> {
    pub regexp_for_validation: Option<&'a str>,
    pub tag: Option<&'a str>,
    pub options: Option<&'a [OptionInput]>,
}

/// What a service's input holds: its `regexp_for_validation`, `tag` and `custom_field_options`.
impl<'a> From<(&'a Option<String>, &'a Option<String>, &'a Option<Vec<OptionInput>>)> for TypeInput<'a> {
    fn from((regexp, tag, options): (&'a Option<String>, &'a Option<String>, &'a Option<Vec<OptionInput>>)) -> Self {
        TypeInput {
            regexp_for_validation: regexp.as_deref(),
            tag: tag.as_deref(),
            options: options.as_deref(),
        }
    }
}

/// The same parts as stored or as checked: `(name, value)` options in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeParts {
    pub regexp_for_validation: Option<String>,
    pub tag: Option<String>,
    pub options: Vec<(String, String)>,
}

/// What a stored definition holds: its `regexp_for_validation`, `tag` and options.
impl From<(&Option<String>, &Option<String>, &Vec<(String, String)>)> for TypeParts {
    fn from((regexp, tag, options): (&Option<String>, &Option<String>, &Vec<(String, String)>)) -> Self {
        TypeParts {
            regexp_for_validation: regexp.clone(),
            tag: tag.clone(),
            options: options.clone(),
        }
    }
}

/// Checks what `given` makes of `old` (a stored field's parts, none for a new field) for a field of type `kind`
/// (`None` when the type itself was refused: the parts are then checked as far as they can be). A pattern is kept
/// for regexp fields only and must compile; a tag for checkboxes only; options are required of drop-downs and
/// multi-selects and refused for every other type.
pub fn type_parts(
    errors: &mut Invalid,
    kind: Option<FieldType>,
    given: TypeInput<'_>,
    old: Option<&TypeParts>,
) -> TypeParts {
    let regexp_for_validation = if kind == Some(FieldType::Regexp) {
        let pattern = given
            .regexp_for_validation
            .map(str::to_owned)
            .or_else(|| old.and_then(|o| o.regexp_for_validation.clone()))
            .filter(|p| !p.trim().is_empty());
        match &pattern {
            None => errors.push(
                "regexp_for_validation",
                "BlankValue",
                "a regexp field needs regexp_for_validation",
            ),
            Some(p) if p.chars().count() > MAX_PATTERN => errors.push(
                "regexp_for_validation",
                "TooLong",
                format!("regexp_for_validation is too long (maximum is {MAX_PATTERN} characters)"),
            ),
            Some(p) => {
                if let Err(why) = custom_fields::compile_pattern(p) {
                    errors.push("regexp_for_validation", "InvalidValue", why);
                }
            }
        }
        pattern
    } else {
        None
    };
    let tag = match (given.tag, kind) {
        (Some(t), Some(FieldType::Checkbox)) if !t.trim().is_empty() => Some(one_tag(errors, "tag", t)),
        (Some(_), _) => None,
        (None, _) => old.and_then(|o| o.tag.clone()),
    };
    let options = match given.options {
        Some(list) => options(errors, list),
        None => old.map(|o| o.options.clone()).unwrap_or_default(),
    };
    let takes_options = matches!(kind, Some(FieldType::Tagger | FieldType::Multiselect));
    if takes_options && options.is_empty() {
        errors.push(
            "custom_field_options",
            "BlankValue",
            "a drop-down or multi-select field needs options",
        );
    }
    if !takes_options && kind.is_some() && !options.is_empty() {
        errors.push(
            "custom_field_options",
            "InvalidValue",
            "only drop-down and multi-select fields have options",
        );
    }
    TypeParts {
        regexp_for_validation,
        tag,
        options,
    }
}

/// Options as sent: each named, its value a tag given once; at most `MAX_OPTIONS`.
fn options(errors: &mut Invalid, list: &[OptionInput]) -> Vec<(String, String)> {
    if list.len() > MAX_OPTIONS {
        errors.push(
            "custom_field_options",
            "TooLong",
            format!("at most {MAX_OPTIONS} options"),
        );
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, o) in list.iter().enumerate() {
        let name = validation::required_text(errors, &format!("custom_field_options[{i}].name"), &o.name, MAX_TITLE);
        // The admin pages edit options as `Name=value` lines: a line break in a name, or an `=` in a value, would
        // read back as other options when the field is saved again (and a removed option loses its stored values).
        if name.contains(['\n', '\r']) {
            errors.push(
                &format!("custom_field_options[{i}].name"),
                "InvalidValue",
                "an option's name is one line",
            );
        }
        let field = format!("custom_field_options[{i}].value");
        let value = one_tag(errors, &field, &o.value);
        if value.contains('=') {
            errors.push(&field, "InvalidValue", "an option's value cannot contain '='");
        }
        if !value.is_empty() && out.iter().any(|(_, v)| *v == value) {
            errors.push(
                &field,
                "DuplicateValue",
                format!("the option value '{value}' is given twice"),
            );
        }
        out.push((name, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(name: &str, value: &str) -> OptionInput {
        OptionInput {
            id: None,
            name: name.into(),
            value: value.into(),
        }
    }

    fn refused(errors: Invalid) -> Vec<String> {
        errors.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn the_type_decides_which_parts_are_kept() {
        let list = [option("Gold", "Gold"), option("Silver", "silver")];
        let given = TypeInput {
            regexp_for_validation: Some("\\d+"),
            tag: Some("Needs Callback"),
            options: Some(&list),
        };
        let mut errors = Invalid::default();
        let drop_down = type_parts(&mut errors, Some(FieldType::Tagger), given, None);
        assert_eq!((drop_down.regexp_for_validation, drop_down.tag), (None, None));
        assert_eq!(drop_down.options[0], ("Gold".to_owned(), "gold".to_owned()));
        assert!(errors.0.is_empty());
        let given = TypeInput { options: None, ..given };
        let checkbox = type_parts(&mut errors, Some(FieldType::Checkbox), given, None);
        assert_eq!(checkbox.tag.as_deref(), Some("needs_callback"));
        let regexp = type_parts(&mut errors, Some(FieldType::Regexp), given, None);
        assert_eq!(regexp.regexp_for_validation.as_deref(), Some("\\d+"));
        assert!(errors.0.is_empty());
        // Left out, a stored part stays.
        let kept = type_parts(
            &mut errors,
            Some(FieldType::Regexp),
            TypeInput::default(),
            Some(&regexp),
        );
        assert_eq!(kept, regexp);
    }

    #[test]
    fn bad_parts_are_named() {
        let mut errors = Invalid::default();
        type_parts(&mut errors, Some(FieldType::Multiselect), TypeInput::default(), None);
        assert_eq!(refused(errors), ["custom_field_options"]);
        let mut errors = Invalid::default();
        let list = [
            option("A", "a"),
            option("", "b"),
            option("Also a", "A"),
            option("C", " "),
            option("D\nE", "d"),
            option("F", "sla=gold"),
        ];
        let given = TypeInput {
            options: Some(&list),
            ..TypeInput::default()
        };
        type_parts(&mut errors, Some(FieldType::Tagger), given, None);
        assert_eq!(
            refused(errors),
            [
                "custom_field_options[1].name",
                "custom_field_options[2].value",
                "custom_field_options[3].value",
                "custom_field_options[4].name",
                "custom_field_options[5].value"
            ]
        );
        let mut errors = Invalid::default();
        let fine = [option("A", "a")];
        let given = TypeInput {
            options: Some(&fine),
            ..TypeInput::default()
        };
        type_parts(&mut errors, Some(FieldType::Text), given, None);
        assert_eq!(
            refused(errors),
            ["custom_field_options"],
            "only drop-downs and multi-selects have options"
        );
        let mut errors = Invalid::default();
        let pattern = TypeInput {
            regexp_for_validation: Some("(\\d+"),
            ..TypeInput::default()
        };
        type_parts(&mut errors, Some(FieldType::Regexp), pattern, None);
        assert_eq!(refused(errors), ["regexp_for_validation"]);
    }
}
