//! A ticket form's admin page, driven over HTTP as a browser without JavaScript drives it: fields attached in an
//! order, conditions for end-users and agents, routing by a field's value (which then routes a partner's ticket);
//! refusals come back as sent with the service's messages; a form tickets were filed through is not deleted.

use reqwest::StatusCode;
use serde_json::json;

use crate::admin_field_pages::{api_create, signed_in, text};
use crate::db_test;
use crate::helpers::{Creds, TestApp};
use crate::pages::Browser;

/// A form page's settings as sent, before its fields, conditions and routes.
fn form_settings<'a>(csrf: &str, name: &str) -> Vec<(&'a str, String)> {
    vec![
        ("csrf", csrf.to_owned()),
        ("name", name.to_owned()),
        ("audience", "everyone".to_owned()),
        ("tags", "integrations".to_owned()),
        ("position", "3".to_owned()),
        ("active", "1".to_owned()),
    ]
}

async fn post_pairs(b: &mut Browser, path: &str, pairs: &[(&str, String)]) -> (StatusCode, String, String) {
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &refs).await
}

db_test!(admins_edit_a_form_on_its_page, |app: TestApp| async move {
    let admin = app.admin().await;
    let org = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(org)).await;
    let fields = "/api/v2/ticket_fields.json";
    let integration = api_create(&app, &admin, fields, json!({"ticket_field": {"type": "tagger", "title": "Integration",
        "visible_in_portal": true, "editable_in_portal": true,
        "custom_field_options": [{"name": "Acme Connector", "value": "acme_connector"}, {"name": "Other", "value": "other"}]}})).await;
    let version = api_create(
        &app,
        &admin,
        fields,
        json!({"ticket_field": {"type": "text", "title": "Version",
        "visible_in_portal": true, "editable_in_portal": true}}),
    )
    .await;
    let callback = api_create(
        &app,
        &admin,
        fields,
        json!({"ticket_field": {"type": "checkbox", "title": "Call me back"}}),
    )
    .await;
    let queue = api_create(
        &app,
        &admin,
        "/api/v2/groups.json",
        json!({"group": {"name": "Partner Queue"}}),
    )
    .await;
    let form = api_create(
        &app,
        &admin,
        "/api/v2/ticket_forms.json",
        json!({"ticket_form": {"name": "Integrations"}}),
    )
    .await;
    let page = format!("/admin/forms/{form}");
    let api_form = move |app: TestApp, admin: Creds| async move {
        let (s, v) = app.get(&format!("/api/v2/ticket_forms/{form}.json"), &admin).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["ticket_form"].clone()
    };

    let mut b = signed_in(&app, &admin).await;
    let (s, _, html) = b.get("/admin/forms").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&format!("<a href=\"{page}\">Integrations</a>")));
    let (s, _, html) = b.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    let acme = format!("{integration}:\"acme_connector\"");
    assert!(
        text(&html).contains(&format!(
            "<option value=\"{acme}\">Integration is Acme Connector</option>"
        )),
        "{html}"
    );
    let csrf = b.csrf(&page).await;
    let (on_i, on_v, on_c) = (
        format!("on_{integration}"),
        format!("on_{version}"),
        format!("on_{callback}"),
    );
    let (order_i, order_v) = (format!("order_{integration}"), format!("order_{version}"));
    let (queue_id, version_id, callback_id) = (queue.to_string(), version.to_string(), callback.to_string());
    let ticked = format!("{callback}:true");
    let base = |name: &str| form_settings(&csrf, name);

    // Two fields in an order, a condition, an empty row, and routing by the integration.
    let mut form_pairs = base("Integrations");
    form_pairs.extend([
        (on_v.as_str(), "1".to_owned()),
        (order_v.as_str(), "2".to_owned()),
        (on_i.as_str(), "1".to_owned()),
        (order_i.as_str(), "1".to_owned()),
        ("eu_0_when", acme.clone()),
        ("eu_0_child", version_id.clone()),
        ("eu_0_required", "1".to_owned()),
        ("eu_1_when", String::new()),
        ("eu_1_child", String::new()),
        ("ag_0_when", String::new()),
        ("ag_0_child", String::new()),
        ("rt_0_when", acme.clone()),
        ("rt_0_group", queue_id.clone()),
        ("rt_1_when", String::new()),
        ("rt_1_group", String::new()),
    ]);
    let (s, location, body) = post_pairs(&mut b, &page, &form_pairs).await;
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, format!("{page}?saved=1").as_str()),
        "{body}"
    );
    let f = api_form(app.clone(), admin.clone()).await;
    assert_eq!(f["ticket_field_ids"], json!([integration, version]), "{f}");
    assert_eq!(
        f["end_user_conditions"],
        json!([{"parent_field_id": integration, "value": "acme_connector", "child_fields": [{"id": version, "is_required": true}]}])
    );
    assert_eq!(f["agent_conditions"], json!([]));
    assert_eq!(
        f["field_routing"],
        json!({"field_id": integration, "routes": [{"value": "acme_connector", "group_id": queue}]})
    );
    assert_eq!(
        (&f["position"], &f["tags"]),
        (&json!(3), &json!(["integrations"])),
        "{f}"
    );
    // The page shows what was saved.
    let (_, _, html) = b.get(&location).await;
    let shown = text(&html);
    assert!(shown.contains(&format!("name=\"{order_i}\" value=\"1\"")), "{shown}");
    assert!(shown.contains(&format!("name=\"{on_v}\" value=\"1\" checked")));
    assert!(shown.contains(&format!(
        "<option value=\"{acme}\" selected>Integration is Acme Connector</option>"
    )));
    assert!(shown.contains(&format!("<option value=\"{queue}\" selected>Partner Queue</option>")));
    assert!(shown.contains("name=\"eu_0_required\" id=\"eu_0_required\" value=\"1\" checked"));

    // Reordered, and the agents' condition on a ticked box (the box put on the form first).
    let mut reordered = base("Integrations");
    reordered.extend([
        (on_v.as_str(), "1".to_owned()),
        (order_v.as_str(), "1".to_owned()),
        (on_i.as_str(), "1".to_owned()),
        (order_i.as_str(), "5".to_owned()),
        (on_c.as_str(), "1".to_owned()),
        ("eu_0_when", acme.clone()),
        ("eu_0_child", version_id.clone()),
        ("eu_0_required", "1".to_owned()),
        ("ag_0_when", ticked.clone()),
        ("ag_0_child", version_id.clone()),
        ("rt_0_when", acme.clone()),
        ("rt_0_group", queue_id.clone()),
    ]);
    let (s, _, body) = post_pairs(&mut b, &page, &reordered).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let f = api_form(app.clone(), admin.clone()).await;
    assert_eq!(f["ticket_field_ids"], json!([version, integration, callback]), "{f}");
    assert_eq!(
        f["agent_conditions"],
        json!([{"parent_field_id": callback, "value": true, "child_fields": [{"id": version, "is_required": false}]}])
    );

    // Refused: a condition's child not on the form, an order that is no number, half a route. The page comes back
    // as sent, with the messages; nothing changes.
    let mut bad = base("Integrations renamed");
    bad.extend([
        (on_i.as_str(), "1".to_owned()),
        (order_i.as_str(), "1".to_owned()),
        ("eu_0_when", acme.clone()),
        ("eu_0_child", callback_id.clone()),
    ]);
    let (s, _, html) = post_pairs(&mut b, &page, &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let shown = text(&html);
    assert!(
        shown.contains(&format!(
            "End-user conditions: child field {callback} must be another field of the form"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("value=\"Integrations renamed\""),
        "the name typed is kept"
    );
    assert!(shown.contains(&format!(
        "<option value=\"{callback}\" selected>Call me back (#{callback})</option>"
    )));
    assert!(
        !shown.contains(&format!("name=\"{on_v}\" value=\"1\" checked")),
        "unticked stays unticked"
    );
    let mut bad = base("Integrations");
    bad.extend([
        (on_i.as_str(), "1".to_owned()),
        (order_i.as_str(), "first".to_owned()),
        ("rt_0_when", acme.clone()),
        ("rt_0_group", String::new()),
    ]);
    let (s, _, html) = post_pairs(&mut b, &page, &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let shown = text(&html);
    assert!(
        shown.contains("The order of 'Integration' must be a whole number, not 'first'"),
        "{shown}"
    );
    assert!(
        shown.contains("Route 1: choose both a field value and a group"),
        "{shown}"
    );
    assert!(shown.contains(&format!("name=\"{order_i}\" value=\"first\"")));
    let f = api_form(app.clone(), admin.clone()).await;
    assert_eq!(
        (&f["name"], &f["ticket_field_ids"]),
        (&json!("Integrations"), &json!([version, integration, callback]))
    );

    // The page's routing routes: a partner's Acme ticket goes to the partner queue.
    let (s, v) = app.post("/api/v2/requests.json", &pat, json!({"request": {"subject": "Sync", "comment": {"body": "x"},
        "ticket_form_id": form, "custom_fields": [{"id": integration, "value": "acme_connector"}, {"id": version, "value": "4.2"}]}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ticket = v["request"]["id"].as_i64().unwrap();
    let (_, v) = app.get(&format!("/api/v2/tickets/{ticket}.json"), &admin).await;
    assert_eq!(v["ticket"]["group_id"], json!(queue), "{v}");

    // Tickets were filed through it: deleting is refused with the reason, deactivating works.
    let (s, _, html) = b
        .post(&format!("{page}/delete"), &[("csrf", &csrf), ("confirm", "1")])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let shown = text(&html);
    assert!(
        shown.contains(&format!(
            "tickets were filed through form {form} ('Integrations'): deactivate it instead"
        )),
        "{shown}"
    );
    assert_eq!(api_form(app.clone(), admin.clone()).await["id"], json!(form));
    let (s, location, _) = b
        .post(&format!("{page}/active"), &[("csrf", &csrf), ("active", "false")])
        .await;
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, format!("{page}?saved=deactivated").as_str())
    );
    let f = api_form(app.clone(), admin.clone()).await;
    assert_eq!(
        (&f["active"], &f["ticket_field_ids"]),
        (&json!(false), &json!([version, integration, callback]))
    );

    // A form nobody filed through is deleted.
    let unused = api_create(
        &app,
        &admin,
        "/api/v2/ticket_forms.json",
        json!({"ticket_form": {"name": "Unused"}}),
    )
    .await;
    let (s, location, _) = b
        .post(
            &format!("/admin/forms/{unused}/delete"),
            &[("csrf", &csrf), ("confirm", "1")],
        )
        .await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/admin/forms"));
    assert_eq!(
        app.get(&format!("/api/v2/ticket_forms/{unused}.json"), &admin).await.0,
        StatusCode::NOT_FOUND
    );
});

db_test!(a_forms_group_and_priority_can_be_cleared, |app: TestApp| async move {
    let admin = app.admin().await;
    let queue = api_create(
        &app,
        &admin,
        "/api/v2/groups.json",
        json!({"group": {"name": "Partner Queue"}}),
    )
    .await;
    let form = api_create(
        &app,
        &admin,
        "/api/v2/ticket_forms.json",
        json!({"ticket_form": {"name": "Partner", "group_id": queue, "priority": "high"}}),
    )
    .await;
    let path = format!("/api/v2/ticket_forms/{form}.json");
    let routing = |v: &serde_json::Value| {
        (
            v["ticket_form"]["group_id"].clone(),
            v["ticket_form"]["priority"].clone(),
        )
    };

    // Left out: as it was. `null`: cleared, each on its own.
    let (s, v) = app
        .put(&path, &admin, json!({"ticket_form": {"name": "Partners"}}))
        .await;
    assert_eq!((s, routing(&v)), (StatusCode::OK, (json!(queue), json!("high"))), "{v}");
    let (s, v) = app.put(&path, &admin, json!({"ticket_form": {"group_id": null}})).await;
    assert_eq!((s, routing(&v)), (StatusCode::OK, (json!(null), json!("high"))), "{v}");
    let (s, v) = app.put(&path, &admin, json!({"ticket_form": {"priority": null}})).await;
    assert_eq!((s, routing(&v)), (StatusCode::OK, (json!(null), json!(null))), "{v}");
    assert_eq!(routing(&app.get(&path, &admin).await.1), (json!(null), json!(null)));
    // Set again; a bad priority is still refused, naming the field.
    let (s, v) = app
        .put(
            &path,
            &admin,
            json!({"ticket_form": {"group_id": queue, "priority": "urgent"}}),
        )
        .await;
    assert_eq!(
        (s, routing(&v)),
        (StatusCode::OK, (json!(queue), json!("urgent"))),
        "{v}"
    );
    let (s, v) = app
        .put(&path, &admin, json!({"ticket_form": {"priority": "sky-high"}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["details"]["priority"].is_array(), "{v}");

    // The page offers the empty choice even while both are set, and choosing it clears them.
    let page = format!("/admin/forms/{form}");
    let mut b = signed_in(&app, &admin).await;
    let (s, _, html) = b.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    let shown = text(&html);
    assert!(
        shown.contains(&format!("<option value=\"{queue}\" selected>Partner Queue</option>")),
        "{shown}"
    );
    assert!(
        shown.contains("<option value=\"urgent\" selected>urgent</option>"),
        "{shown}"
    );
    for select in ["group_id", "priority"] {
        let opening = format!("<select id=\"{select}\" name=\"{select}\"><option value=\"\">—</option>");
        assert!(shown.contains(&opening), "{select}: {shown}");
    }
    let csrf = b.csrf(&page).await;
    let mut pairs = form_settings(&csrf, "Partners");
    pairs.extend([("group_id", String::new()), ("priority", String::new())]);
    let (s, _, body) = post_pairs(&mut b, &page, &pairs).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(routing(&app.get(&path, &admin).await.1), (json!(null), json!(null)));
    let (_, _, html) = b.get(&page).await;
    assert!(text(&html).contains("<option value=\"\" selected>—</option>"), "{html}");
    // And choosing them sets them again.
    let mut pairs = form_settings(&csrf, "Partners");
    pairs.extend([("group_id", queue.to_string()), ("priority", "low".to_owned())]);
    let (s, _, body) = post_pairs(&mut b, &page, &pairs).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(routing(&app.get(&path, &admin).await.1), (json!(queue), json!("low")));
});
