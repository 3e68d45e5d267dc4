//! OpenAPI links: from the answer that creates a record to the operations on that record. They tell a client (and
//! a stateful test) where the id of a new record goes. Only what a create really makes is linked: a new organization
//! has no bucket connection and no escalation link until one is saved, so nothing leads there from it.

use serde_json::{Map, Value, json};

/// Producer method and path, its status, the target's operation id, and the target's parameters as runtime
/// expressions.
type Link = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const USER: &[(&str, &str)] = &[("id", "$response.body#/user/id")];
const ORGANIZATION: &[(&str, &str)] = &[("id", "$response.body#/organization/id")];
const TICKET: &[(&str, &str)] = &[("id", "$response.body#/ticket/id")];
const REQUEST: &[(&str, &str)] = &[("id", "$response.body#/request/id")];
const ESCALATION: &[(&str, &str)] = &[("id", "$response.body#/escalation/id")];
const ORG_FIELD: &[(&str, &str)] = &[("id", "$response.body#/organization_field/id")];
const USER_FIELD: &[(&str, &str)] = &[("id", "$response.body#/user_field/id")];
const SAME_ORGANIZATION: &[(&str, &str)] = &[("id", "$request.path.id")];

const LINKS: &[Link] = &[
    ("post", "/api/v2/users", "201", "users_show", USER),
    ("post", "/api/v2/users", "201", "users_update", USER),
    ("post", "/api/v2/users", "201", "users_invite", USER),
    ("post", "/api/v2/users", "201", "users_issue_token", USER),
    (
        "post",
        "/api/v2/organizations",
        "201",
        "organizations_show",
        ORGANIZATION,
    ),
    (
        "post",
        "/api/v2/organizations",
        "201",
        "organizations_update",
        ORGANIZATION,
    ),
    (
        "post",
        "/api/v2/organizations",
        "201",
        "organizations_users",
        ORGANIZATION,
    ),
    (
        "post",
        "/api/v2/organizations",
        "201",
        "organizations_delete",
        ORGANIZATION,
    ),
    (
        "post",
        "/api/v2/groups",
        "201",
        "groups_show",
        &[("id", "$response.body#/group/id")],
    ),
    (
        "post",
        "/api/v2/ticket_forms",
        "201",
        "ticket_forms_show",
        &[("id", "$response.body#/ticket_form/id")],
    ),
    (
        "post",
        "/api/v2/organization_fields",
        "201",
        "organization_fields_show",
        ORG_FIELD,
    ),
    (
        "post",
        "/api/v2/organization_fields",
        "201",
        "organization_fields_update",
        ORG_FIELD,
    ),
    (
        "post",
        "/api/v2/organization_fields",
        "201",
        "organization_fields_delete",
        ORG_FIELD,
    ),
    ("post", "/api/v2/user_fields", "201", "user_fields_show", USER_FIELD),
    ("post", "/api/v2/user_fields", "201", "user_fields_update", USER_FIELD),
    ("post", "/api/v2/user_fields", "201", "user_fields_delete", USER_FIELD),
    ("post", "/api/v2/tickets", "201", "tickets_show", TICKET),
    ("post", "/api/v2/tickets", "201", "tickets_update", TICKET),
    ("post", "/api/v2/tickets", "201", "tickets_comments", TICKET),
    ("post", "/api/v2/tickets", "201", "requests_show", TICKET),
    ("post", "/api/v2/tickets", "201", "buckets_attach", TICKET),
    ("post", "/api/v2/requests", "201", "requests_show", REQUEST),
    ("post", "/api/v2/requests", "201", "requests_update", REQUEST),
    ("post", "/api/v2/requests", "201", "requests_comments", REQUEST),
    ("post", "/api/v2/requests", "201", "tickets_show", REQUEST),
    (
        "post",
        "/api/v2/uploads",
        "201",
        "attachments_show",
        &[("id", "$response.body#/upload/attachment/id")],
    ),
    (
        "post",
        "/api/v2/uploads",
        "201",
        "attachments_delete",
        &[("token", "$response.body#/upload/token")],
    ),
    ("post", "/api/v2/escalations", "201", "escalations_show", ESCALATION),
    (
        "post",
        "/api/v2/escalations",
        "201",
        "escalations_acknowledge",
        ESCALATION,
    ),
    ("post", "/api/v2/escalations", "201", "escalations_resolve", ESCALATION),
    (
        "post",
        "/api/v2/organizations/{id}/escalation_link",
        "201",
        "escalations_get_link",
        SAME_ORGANIZATION,
    ),
    (
        "put",
        "/api/v2/organizations/{id}/bucket",
        "200",
        "buckets_show",
        SAME_ORGANIZATION,
    ),
    (
        "put",
        "/api/v2/organizations/{id}/bucket",
        "200",
        "buckets_test",
        SAME_ORGANIZATION,
    ),
    (
        "put",
        "/api/v2/organizations/{id}/bucket",
        "200",
        "buckets_objects",
        SAME_ORGANIZATION,
    ),
    (
        "put",
        "/api/v2/organizations/{id}/bucket",
        "200",
        "buckets_delete",
        SAME_ORGANIZATION,
    ),
];

/// Writes `LINKS` into the responses of `doc` (whose operation ids are final).
pub fn add_links(doc: &mut Value) {
    for (method, path, status, target, parameters) in LINKS {
        let Some(response) = doc
            .get_mut("paths")
            .and_then(|p| p.get_mut(*path))
            .and_then(|p| p.get_mut(*method))
            .and_then(|o| o.get_mut("responses"))
            .and_then(|r| r.get_mut(*status))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let parameters: Map<String, Value> = parameters
            .iter()
            .map(|(name, expression)| ((*name).to_owned(), json!(expression)))
            .collect();
        let links = response.entry("links").or_insert_with(|| Value::Object(Map::new()));
        if let Some(links) = links.as_object_mut() {
            links.insert(
                (*target).to_owned(),
                json!({"operationId": target, "parameters": parameters}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every link starts from a documented answer and names a documented operation and its parameters.
    #[test]
    fn links_name_real_operations_and_parameters() {
        let doc: Value = serde_json::from_str(&crate::api::openapi_json()).unwrap_or_default();
        let mut operations: Vec<(String, Vec<String>)> = Vec::new();
        for item in doc["paths"].as_object().into_iter().flat_map(|p| p.values()) {
            for op in item.as_object().into_iter().flat_map(|o| o.values()) {
                let params = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect();
                operations.push((op["operationId"].as_str().unwrap_or_default().to_owned(), params));
            }
        }
        let mut ids: Vec<&String> = operations.iter().map(|(id, _)| id).collect();
        ids.sort();
        let count = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids are unique");
        for (method, path, status, target, parameters) in LINKS {
            assert!(
                doc["paths"][*path][*method]["responses"][*status]["links"][*target].is_object(),
                "{method} {path} {status} -> {target}"
            );
            let (_, names) = operations
                .iter()
                .find(|(id, _)| id == target)
                .unwrap_or_else(|| panic!("no operation {target}"));
            for (name, _) in *parameters {
                assert!(names.iter().any(|n| n == name), "{target} has no parameter {name}");
            }
        }
    }
}
