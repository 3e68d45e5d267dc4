//! Custom ticket fields: admins define them (typed, with options), staff and partners set values on tickets and
//! requests within what each may set, every bad value is a 422 naming the field with nothing written, drop-downs
//! keep their tags on the ticket, required fields are asked for, and values are searchable.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};

async fn field(app: &TestApp, admin: &Creds, body: Value) -> i64 {
    let (s, v) = app
        .post("/api/v2/ticket_fields.json", admin, json!({ "ticket_field": body }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["ticket_field"]["id"].as_i64().unwrap()
}

fn value_of(ticket: &Value, id: i64) -> Value {
    ticket["custom_fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .map(|f| f["value"].clone())
        .unwrap_or(Value::Null)
}

db_test!(fields_are_defined_by_admins, |app: TestApp| async move {
    let admin = app.admin().await;
    let ann = app.user("ann@vendor.example", "agent", None).await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let integration = field(&app, &admin, json!({"type": "tagger", "title": "Integration", "visible_in_portal": true,
        "editable_in_portal": true, "custom_field_options": [{"name": "Acme Connector", "value": "Acme Connector"}, {"name": "Globex Bridge", "value": "globex_bridge"}]})).await;

    let (s, v) = app
        .get(&format!("/api/v2/ticket_fields/{integration}.json"), &ann)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let f = &v["ticket_field"];
    assert_eq!(
        (f["type"].as_str(), f["title"].as_str()),
        (Some("tagger"), Some("Integration"))
    );
    let values: Vec<&str> = f["custom_field_options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        vec!["acme_connector", "globex_bridge"],
        "option values are tags"
    );
    let (s, v) = app.get("/api/v2/ticket_fields.json", &ann).await;
    assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(1)), "{v}");
    // Partners do not list fields; agents do not define them.
    assert_eq!(
        app.get("/api/v2/ticket_fields.json", &pat).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, _) = app
        .post(
            "/api/v2/ticket_fields.json",
            &ann,
            json!({"ticket_field": {"type": "text", "title": "X"}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Bad definitions: a 422 naming what is wrong.
    for (body, field_name) in [
        (json!({"title": "No type"}), "type"),
        (json!({"type": "colour", "title": "X"}), "type"),
        (json!({"type": "text"}), "title"),
        (json!({"type": "tagger", "title": "No options"}), "custom_field_options"),
        (
            json!({"type": "text", "title": "X", "custom_field_options": [{"name": "a", "value": "a"}]}),
            "custom_field_options",
        ),
        (
            json!({"type": "tagger", "title": "Twice", "custom_field_options": [{"name": "a", "value": "x"}, {"name": "b", "value": "X"}]}),
            "custom_field_options[1].value",
        ),
        (
            json!({"type": "regexp", "title": "No pattern"}),
            "regexp_for_validation",
        ),
        (
            json!({"type": "regexp", "title": "Broken", "regexp_for_validation": "("}),
            "regexp_for_validation",
        ),
    ] {
        let (s, v) = app
            .post("/api/v2/ticket_fields.json", &admin, json!({"ticket_field": body}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(v["details"][field_name].is_array(), "{body}: {v}");
    }
    let (s, v) = app
        .put(
            &format!("/api/v2/ticket_fields/{integration}.json"),
            &admin,
            json!({"ticket_field": {"type": "text"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the type cannot change: {v}");

    // Options: added, renamed by value, removed.
    let path = format!("/api/v2/ticket_fields/{integration}/options.json");
    let (s, v) = app
        .post(
            &path,
            &admin,
            json!({"custom_field_option": {"name": "Initech Sync", "value": "initech_sync"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let initech = v["custom_field_option"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &path,
            &admin,
            json!({"custom_field_option": {"name": "Initech Sync 2", "value": "initech_sync"}}),
        )
        .await;
    assert_eq!(
        (s, v["custom_field_option"]["name"].as_str()),
        (StatusCode::OK, Some("Initech Sync 2")),
        "{v}"
    );
    let (s, v) = app.get(&path, &ann).await;
    assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(3)), "{v}");
    let one = format!("/api/v2/ticket_fields/{integration}/options/{initech}.json");
    let (s, _) = app.send(app.request(reqwest::Method::DELETE, &one, Some(&admin))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&one, &ann).await.0, StatusCode::NOT_FOUND);
    let (s, _) = app
        .send(app.request(
            reqwest::Method::DELETE,
            &format!("/api/v2/ticket_fields/{integration}.json"),
            Some(&admin),
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v2/ticket_fields/{integration}.json"), &ann)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
});

db_test!(values_on_tickets_and_requests, |app: TestApp| async move {
    let admin = app.admin().await;
    let ann = app.user("ann@vendor.example", "agent", None).await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let portal = json!({"visible_in_portal": true, "editable_in_portal": true});
    let with = |mut base: Value, extra: &Value| {
        base.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        base
    };
    let integration = field(&app, &admin, with(json!({"type": "tagger", "title": "Integration", "required_in_portal": true,
        "custom_field_options": [{"name": "Acme Connector", "value": "acme_connector"}, {"name": "Globex Bridge", "value": "globex_bridge"}]}), &portal)).await;
    let version = field(
        &app,
        &admin,
        with(
            json!({"type": "regexp", "title": "Version", "regexp_for_validation": "\\d+\\.\\d+(\\.\\d+)?"}),
            &portal,
        ),
    )
    .await;
    let seats = field(&app, &admin, json!({"type": "integer", "title": "Seats"})).await;
    let due = field(&app, &admin, json!({"type": "date", "title": "Go-live"})).await;
    let callback = field(
        &app,
        &admin,
        json!({"type": "checkbox", "title": "Call back", "tag": "needs_callback"}),
    )
    .await;
    let envs = field(
        &app,
        &admin,
        json!({"type": "multiselect", "title": "Environments", "required": true,
        "custom_field_options": [{"name": "Production", "value": "prod"}, {"name": "Staging", "value": "staging"}]}),
    )
    .await;
    let cost = field(&app, &admin, json!({"type": "decimal", "title": "Cost"})).await;

    // Staff set any field; values come back typed; options and the checkbox keep their tags.
    let (s, v) = app.post("/api/v2/tickets.json", &ann, json!({"ticket": {"subject": "Sync", "comment": {"body": "Stalls."}, "requester_id": pat.id,
        "custom_fields": [{"id": integration, "value": "acme_connector"}, {"id": version, "value": "4.2"}, {"id": seats, "value": 250},
            {"id": due, "value": "2027-01-15"}, {"id": callback, "value": true}, {"id": envs, "value": ["prod", "staging"]}, {"id": cost, "value": "12.50"}]}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t = &v["ticket"];
    let id = t["id"].as_i64().unwrap();
    assert_eq!(value_of(t, integration), json!("acme_connector"));
    assert_eq!(value_of(t, seats), json!("250"));
    assert_eq!(value_of(t, callback), json!(true));
    assert_eq!(value_of(t, envs), json!(["prod", "staging"]));
    assert_eq!(t["fields"], t["custom_fields"]);
    let tags: Vec<&str> = t["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    for tag in ["acme_connector", "needs_callback", "prod", "staging"] {
        assert!(tags.contains(&tag), "{tag} in {tags:?}");
    }
    // A new choice replaces the old tag; a cleared box takes its tag off.
    let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), &ann, json!({"ticket": {"fields": [{"id": integration, "value": "globex_bridge"}, {"id": callback, "value": false}]}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let tags: Vec<&str> = v["ticket"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(
        tags.contains(&"globex_bridge") && !tags.contains(&"acme_connector") && !tags.contains(&"needs_callback"),
        "{tags:?}"
    );
    assert_eq!(
        value_of(&v["ticket"], callback),
        Value::Null,
        "an unchecked box has no value"
    );

    // Bad values of every type: 422 naming the value, and nothing written.
    let before = app.get(&format!("/api/v2/tickets/{id}.json"), &ann).await.1;
    for (fid, bad) in [
        (integration, json!("initech")),
        (version, json!("v4")),
        (seats, json!("many")),
        (due, json!("2027-02-30")),
        (callback, json!("perhaps")),
        (envs, json!("prod")),
        (cost, json!("12,50")),
        (999_999, json!("x")),
    ] {
        let body = json!({"ticket": {"subject": "Changed?", "custom_fields": [{"id": seats, "value": 7}, {"id": fid, "value": bad}]}});
        let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), &ann, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{fid} {bad}: {v}");
        assert!(v["details"]["custom_fields[1]"].is_array(), "{v}");
    }
    assert_eq!(
        app.get(&format!("/api/v2/tickets/{id}.json"), &ann).await.1,
        before,
        "nothing half-written"
    );

    // Solving asks for the fields required of agents.
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            &ann,
            json!({"ticket": {"subject": "Other", "comment": {"body": "x"}, "requester_id": pat.id}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let other = v["ticket"]["id"].as_i64().unwrap();
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{other}.json"),
            &ann,
            json!({"ticket": {"status": "solved"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("Environments"), "{v}");
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{other}.json"),
            &ann,
            json!({"ticket": {"status": "solved", "custom_fields": [{"id": envs, "value": ["prod"]}]}}),
        )
        .await;
    assert_eq!(
        (s, v["ticket"]["status"].as_str()),
        (StatusCode::OK, Some("solved")),
        "{v}"
    );

    // Partners: the portal's fields only, the required ones asked for when filing.
    let (s, v) = app
        .post(
            "/api/v2/requests.json",
            &pat,
            json!({"request": {"subject": "Mine", "comment": {"body": "x"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("Integration"), "{v}");
    let (s, v) = app
        .post(
            "/api/v2/requests.json",
            &pat,
            json!({"request": {"subject": "Mine", "comment": {"body": "x"},
        "custom_fields": [{"id": integration, "value": "acme_connector"}, {"id": seats, "value": 3}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a field partners cannot set: {v}");
    assert!(v.to_string().contains("cannot be set by end-users"), "{v}");
    let (s, v) = app
        .post(
            "/api/v2/requests.json",
            &pat,
            json!({"request": {"subject": "Mine", "comment": {"body": "x"},
        "custom_fields": [{"id": integration, "value": "acme_connector"}, {"id": version, "value": "5.0.1"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mine = v["request"]["id"].as_i64().unwrap();
    assert_eq!(value_of(&v["request"], version), json!("5.0.1"));
    // A partner sees the portal's fields of the first ticket, not the staff-only ones.
    let (s, v) = app.get(&format!("/api/v2/tickets/{id}.json"), &pat).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(value_of(&v["ticket"], integration), json!("globex_bridge"));
    assert_eq!(
        value_of(&v["ticket"], seats),
        Value::Null,
        "a staff-only field is not shown"
    );

    // Search by value; partners only by the fields they are shown.
    let search = |who: Creds, q: String| {
        let app = app.clone();
        async move {
            let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
            let (s, v) = app.get(&format!("/api/v2/search.json?query={q}"), &who).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        search(ann.clone(), format!("custom_field_{integration}:acme_connector")).await,
        vec![mine]
    );
    assert_eq!(
        search(ann.clone(), format!("custom_field_{seats}:7")).await,
        Vec::<i64>::new()
    );
    assert_eq!(search(ann.clone(), format!("custom_field_{seats}:250")).await, vec![id]);
    assert_eq!(
        search(pat.clone(), format!("custom_field_{seats}:250")).await,
        Vec::<i64>::new(),
        "not a partner's field"
    );
    assert_eq!(
        search(pat.clone(), format!("custom_field_{version}:5.0.1")).await,
        vec![mine]
    );

    // The incremental export carries the values, as every other read of a ticket does (once past its horizon).
    let margin = partnerdesk_db::exports::CLOCK_MARGIN.to_std().unwrap();
    tokio::time::sleep(margin + std::time::Duration::from_millis(300)).await;
    let (s, v) = app
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0", &admin)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let exported = |ticket: i64| {
        v["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == json!(ticket))
            .cloned()
            .unwrap_or_else(|| panic!("ticket {ticket} is not in the export: {v}"))
    };
    assert_eq!(value_of(&exported(id), seats), json!("250"));
    assert_eq!(value_of(&exported(mine), version), json!("5.0.1"));
});

db_test!(forms_own_fields_and_conditions, |app: TestApp| async move {
    let admin = app.admin().await;
    let ann = app.user("ann@vendor.example", "agent", None).await;
    let acme = app.org(&admin, "Acme Integrations", false).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let integration = field(&app, &admin, json!({"type": "tagger", "title": "Integration", "visible_in_portal": true, "editable_in_portal": true,
        "custom_field_options": [{"name": "Acme Connector", "value": "acme_connector"}, {"name": "Globex Bridge", "value": "globex_bridge"}]})).await;
    let version = field(
        &app,
        &admin,
        json!({"type": "text", "title": "Connector version", "visible_in_portal": true, "editable_in_portal": true}),
    )
    .await;
    let seats = field(&app, &admin, json!({"type": "integer", "title": "Seats"})).await;

    let (s, v) = app.post("/api/v2/ticket_forms.json", &admin, json!({"ticket_form": {"name": "Integrations", "ticket_field_ids": [integration, version],
        "end_user_conditions": [{"parent_field_id": integration, "value": "acme_connector", "child_fields": [{"id": version, "is_required": true}]}]}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let form = v["ticket_form"]["id"].as_i64().unwrap();
    assert_eq!(v["ticket_form"]["ticket_field_ids"], json!([integration, version]));
    assert_eq!(
        v["ticket_form"]["end_user_conditions"][0]["child_fields"][0]["id"],
        json!(version)
    );

    // The condition: the version is asked for only when the Acme Connector is chosen.
    let file = |fields: Value| {
        let (app, pat) = (app.clone(), pat.clone());
        async move {
            app.post("/api/v2/requests.json", &pat, json!({"request": {"subject": "Sync", "comment": {"body": "x"}, "ticket_form_id": form, "custom_fields": fields}})).await
        }
    };
    let (s, v) = file(json!([{"id": integration, "value": "globex_bridge"}])).await;
    assert_eq!(s, StatusCode::CREATED, "not asked for: {v}");
    let (s, v) = file(json!([{"id": integration, "value": "acme_connector"}])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("Connector version"), "{v}");
    let (s, v) = file(json!([{"id": integration, "value": "acme_connector"}, {"id": version, "value": "4.2"}])).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ticket = v["request"]["id"].as_i64().unwrap();
    // Routing by a field: the Acme Connector goes to the partner queue.
    let (s, v) = app
        .post(
            "/api/v2/groups.json",
            &admin,
            json!({"group": {"name": "Partner Queue"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let queue = v["group"]["id"].as_i64().unwrap();
    let form_path = format!("/api/v2/ticket_forms/{form}.json");
    for bad in [
        json!({"field_id": integration, "routes": [{"value": "initech", "group_id": queue}]}),
        json!({"field_id": integration, "routes": [{"value": "acme_connector", "group_id": 999_999}]}),
        json!({"field_id": 999_999, "routes": []}),
    ] {
        let (s, v) = app
            .put(&form_path, &admin, json!({"ticket_form": {"field_routing": bad}}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert!(v["details"]["field_routing"].is_array(), "{v}");
    }
    let routing = json!({"field_id": integration, "routes": [{"value": "acme_connector", "group_id": queue}]});
    let (s, v) = app
        .put(&form_path, &admin, json!({"ticket_form": {"field_routing": routing}}))
        .await;
    assert_eq!(
        (s, &v["ticket_form"]["field_routing"]),
        (StatusCode::OK, &routing),
        "{v}"
    );
    assert!(
        app.get(&form_path, &pat).await.1["ticket_form"]["field_routing"].is_null(),
        "staff only"
    );
    let (_, v) = file(json!([{"id": integration, "value": "acme_connector"}, {"id": version, "value": "4.2"}])).await;
    let routed = v["request"]["id"].as_i64().unwrap();
    let (_, v) = app.get(&format!("/api/v2/tickets/{routed}.json"), &ann).await;
    assert_eq!(v["ticket"]["group_id"].as_i64(), Some(queue), "{v}");
    assert!(
        v["ticket"]["routing"]["rule"]
            .as_str()
            .unwrap()
            .contains("Integration: Acme Connector routes it"),
        "{v}"
    );
    let (_, v) = file(json!([{"id": integration, "value": "globex_bridge"}])).await;
    let (_, v) = app
        .get(&format!("/api/v2/tickets/{}.json", v["request"]["id"]), &ann)
        .await;
    assert_ne!(
        v["ticket"]["group_id"].as_i64(),
        Some(queue),
        "no route for this value: {v}"
    );

    // A field the form does not show.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{ticket}.json"),
            &ann,
            json!({"ticket": {"custom_fields": [{"id": seats, "value": 3}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("not on this ticket's form"), "{v}");

    // Forms are edited: order, deactivation; bad references are refused.
    let path = format!("/api/v2/ticket_forms/{form}.json");
    let (s, v) = app.put(&path, &admin, json!({"ticket_form": {"ticket_field_ids": [version, integration, seats], "display_name": "Integration issues"}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["ticket_form"]["ticket_field_ids"],
        json!([version, integration, seats])
    );
    assert_eq!(
        (
            v["ticket_form"]["name"].as_str(),
            v["ticket_form"]["display_name"].as_str()
        ),
        (Some("Integrations"), Some("Integration issues"))
    );
    assert_eq!(
        v["ticket_form"]["end_user_conditions"].as_array().map(Vec::len),
        Some(1),
        "conditions stay when not sent"
    );
    for (body, field_name) in [
        (
            json!({"ticket_field_ids": [integration, version, 999_999]}),
            "ticket_field_ids",
        ),
        (
            json!({"ticket_field_ids": [integration, version, integration]}),
            "ticket_field_ids",
        ),
        (json!({"ticket_field_ids": [integration]}), "end_user_conditions[0]"),
        (
            json!({"agent_conditions": [{"parent_field_id": seats, "value": "1", "child_fields": [{"id": seats}]}]}),
            "agent_conditions[0]",
        ),
    ] {
        let (s, v) = app.put(&path, &admin, json!({"ticket_form": body})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(v["details"][field_name].is_array(), "{body}: {v}");
    }
    let (s, _) = app.put(&path, &ann, json!({"ticket_form": {"active": false}})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app.put(&path, &admin, json!({"ticket_form": {"active": false}})).await;
    assert_eq!(
        (s, v["ticket_form"]["active"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{v}"
    );

    // A form tickets were filed through is not deleted; an unused one is.
    let (s, v) = app
        .send(app.request(reqwest::Method::DELETE, &path, Some(&admin)))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("deactivate it instead"), "{v}");
    let (s, v) = app
        .post(
            "/api/v2/ticket_forms.json",
            &admin,
            json!({"ticket_form": {"name": "Unused"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let unused = format!("/api/v2/ticket_forms/{}.json", v["ticket_form"]["id"]);
    let (s, _) = app
        .send(app.request(reqwest::Method::DELETE, &unused, Some(&admin)))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&unused, &admin).await.0, StatusCode::NOT_FOUND);

    // A deleted field leaves no condition or routing behind in the forms that named it, so they can be saved.
    let delete = |id: i64| {
        let app = app.clone();
        let admin = admin.clone();
        async move {
            let path = format!("/api/v2/ticket_fields/{id}.json");
            app.send(app.request(reqwest::Method::DELETE, &path, Some(&admin)))
                .await
                .0
        }
    };
    let before = app.get(&form_path, &admin).await.1["ticket_form"]["ticket_field_ids"].clone();
    assert!(
        before.as_array().is_some_and(|ids| ids.contains(&json!(integration))),
        "{before}"
    );
    assert_eq!(delete(version).await, StatusCode::NO_CONTENT);
    let v = app.get(&form_path, &admin).await.1;
    let kept: Vec<Value> = before
        .as_array()
        .into_iter()
        .flatten()
        .filter(|id| **id != json!(version))
        .cloned()
        .collect();
    assert_eq!(v["ticket_form"]["ticket_field_ids"], json!(kept), "{v}");
    assert_eq!(v["ticket_form"]["end_user_conditions"], json!([]), "{v}");
    assert_eq!(v["ticket_form"]["field_routing"]["field_id"], json!(integration), "{v}");
    assert_eq!(delete(integration).await, StatusCode::NO_CONTENT);
    let (s, v) = app
        .put(
            &form_path,
            &admin,
            json!({"ticket_form": {"name": "Integrations, renamed"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["ticket_form"]["field_routing"].is_null(), "{v}");
});
