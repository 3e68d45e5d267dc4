//! Control characters in the document. The server refuses a control character (but tab, line feed and carriage
//! return) in every text it reads: path segments and query parameters (before routing), and every string of a JSON
//! body, object keys and unknown fields included (`crate::extract`). The document says so on every request-side
//! schema: each free string gets a pattern without them, each object says so of its keys, and an object's other
//! fields (ignored, but read) may hold any JSON without them.

use serde_json::{Map, Value, json};

use partnerdesk_app::input::schema::plain_text_pattern;

/// The component that describes any JSON value without control characters in its strings and keys.
pub const ANY_TEXT: &str = "JsonWithoutControlCharacters";

/// Applies the rule to every request body and parameter of `doc` (an OpenAPI document as JSON), and to the component
/// schemas they use, and adds the `ANY_TEXT` component.
pub fn refuse_control_characters(doc: &mut Value) {
    let mut components: Vec<String> = Vec::new();
    for_each_request_schema(doc, |media_type, schema| {
        if media_type == Some("multipart/form-data") {
            form_rule(schema);
        } else {
            rule(schema, false, &mut components);
        }
    });
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else {
        return;
    };
    let mut done: Vec<String> = Vec::new();
    while let Some(name) = components.pop() {
        if done.contains(&name) {
            continue;
        }
        if let Some(schema) = schemas.get_mut(&name) {
            rule(schema, false, &mut components);
        }
        done.push(name);
    }
    let text = plain_text_pattern();
    let any = json!({"$ref": format!("#/components/schemas/{ANY_TEXT}")});
    schemas.insert(
        ANY_TEXT.to_owned(),
        json!({
            "description": "Any JSON value whose strings and keys hold no control character (but tab, line feed and \
                carriage return).",
            "anyOf": [
                {"type": "string", "pattern": text},
                {"type": ["number", "boolean", "null"]},
                {"type": "array", "items": any},
                {"type": "object", "propertyNames": {"pattern": text}, "additionalProperties": any},
            ],
        }),
    );
}

/// A parameter is absent or has a value; a raw body is absent or has bytes. Neither is ever `null`, which the derive
/// writes for every optional one: it is taken out of their schemas.
pub fn no_null_parameters(doc: &mut Value) {
    for_each_request_schema(doc, |media_type, schema| {
        if media_type != Some("application/json") {
            without_null(schema);
        }
    });
}

/// Calls `f` on the schema of every parameter (with `None`) and of every request body (with its media type) of
/// every operation in `doc`.
fn for_each_request_schema(doc: &mut Value, mut f: impl FnMut(Option<&str>, &mut Value)) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        for parameter in operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(schema) = parameter.get_mut("schema") {
                f(None, schema);
            }
        }
        let contents = operation
            .get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(Value::as_object_mut);
        for (media_type, content) in contents.into_iter().flat_map(|c| c.iter_mut()) {
            if let Some(schema) = content.get_mut("schema") {
                f(Some(media_type.as_str()), schema);
            }
        }
    }
}

/// `schema` without its `null` alternative: `"type": [T, "null"]` becomes `T`, `oneOf: [S, {"type": "null"}]` becomes `S`.
fn without_null(schema: &mut Value) {
    let null = json!({"type": "null"});
    if let Some(alternatives) = schema.get("oneOf").and_then(Value::as_array)
        && alternatives.len() == 2
        && alternatives.contains(&null)
        && let Some(other) = alternatives.iter().find(|a| **a != null).cloned()
    {
        *schema = other;
    }
    if let Some(Value::Array(kinds)) = schema.get_mut("type") {
        kinds.retain(|k| k != "null");
        if kinds.len() == 1 {
            let only = kinds[0].clone();
            schema["type"] = only;
        }
    }
}

/// A multipart form: part names are header values, which may not hold a C0 control character (but tab) or DEL; the
/// parts other than the file are read (a malformed one refuses the upload) and ignored, whatever they hold.
fn form_rule(schema: &mut Value) {
    if let Some(s) = schema.as_object_mut() {
        s.entry("propertyNames")
            .or_insert_with(|| json!({"pattern": r"^[^\u0000-\u0008\u000A-\u001F\u007F]*$"}));
    }
}

fn types(schema: &Map<String, Value>) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Applies the rule to `schema`. Inside `allOf`/`anyOf`/`oneOf`, an object is one view of a value that others
/// describe too: its keys and other fields are left to the schema that lists them all.
fn rule(schema: &mut Value, in_combination: bool, components: &mut Vec<String>) {
    let Some(s) = schema.as_object_mut() else { return };
    if let Some(Value::String(r)) = s.get("$ref") {
        if let Some(name) = r.strip_prefix("#/components/schemas/") {
            components.push(name.to_owned());
        }
        return;
    }
    let kinds = types(s);
    let free_text = kinds.contains(&"string")
        && !s.contains_key("pattern")
        && !s.contains_key("enum")
        && !s.contains_key("format")
        && !s.contains_key("const");
    let object = kinds.contains(&"object") || s.contains_key("properties");
    if free_text {
        s.insert("pattern".into(), plain_text_pattern().into());
    }
    if object && !in_combination {
        s.entry("propertyNames")
            .or_insert_with(|| json!({"pattern": plain_text_pattern()}));
        s.entry("additionalProperties")
            .or_insert_with(|| json!({"$ref": format!("#/components/schemas/{ANY_TEXT}")}));
    }
    for key in ["properties", "patternProperties"] {
        if let Some(props) = s.get_mut(key).and_then(Value::as_object_mut) {
            for p in props.values_mut() {
                rule(p, false, components);
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = s.get_mut(key) {
            rule(inner, false, components);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = s.get_mut(key).and_then(Value::as_array_mut) {
            for inner in list {
                rule(inner, true, components);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_keys_and_other_fields_say_no_control_characters() {
        let mut doc = json!({
            "paths": {"/x": {"post": {
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/In"}}}},
            }}},
            "components": {"schemas": {
                "In": {"type": "object", "properties": {
                    "name": {"type": ["string", "null"]},
                    "kind": {"type": "string", "enum": ["a"]},
                    "at": {"type": "string", "format": "date-time"},
                }},
                "Out": {"type": "object", "properties": {"name": {"type": "string"}}},
            }},
        });
        refuse_control_characters(&mut doc);
        let text = plain_text_pattern();
        assert_eq!(
            doc["paths"]["/x"]["post"]["parameters"][0]["schema"]["pattern"],
            json!(text)
        );
        let input = &doc["components"]["schemas"]["In"];
        assert_eq!(input["properties"]["name"]["pattern"], json!(text));
        assert!(input["properties"]["kind"].get("pattern").is_none());
        assert!(input["properties"]["at"].get("pattern").is_none());
        assert_eq!(input["propertyNames"]["pattern"], json!(text));
        assert!(input["additionalProperties"]["$ref"].is_string());
        // Answers are left as they are.
        assert!(
            doc["components"]["schemas"]["Out"]["properties"]["name"]
                .get("pattern")
                .is_none()
        );
        assert!(doc["components"]["schemas"][ANY_TEXT].is_object());
    }
}
