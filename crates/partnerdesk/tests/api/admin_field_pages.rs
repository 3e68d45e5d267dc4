//! The admin pages for custom fields, driven over HTTP as a browser without JavaScript drives them: an admin
//! defines, edits, deactivates and deletes a field; every refusal shows the page again with the service's message
//! and what was typed; agents and end-users reach neither these pages nor the form pages (admin_form_pages.rs).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};
use crate::pages::{Browser, PASSWORD};

/// The text of a page with askama's escapes undone, to look for messages holding quotes.
pub fn text(html: &str) -> String {
    html.replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

pub async fn signed_in(app: &TestApp, who: &Creds) -> Browser {
    let mut b = Browser::new(app);
    let (s, _, body) = b.sign_in(&who.email, PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    b
}

async fn api_field(app: &TestApp, admin: &Creds, id: i64) -> Value {
    let (s, v) = app.get(&format!("/api/v2/ticket_fields/{id}.json"), admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["ticket_field"].clone()
}

pub async fn api_create(app: &TestApp, admin: &Creds, path: &str, body: Value) -> i64 {
    let (s, v) = app.post(path, admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, obj) = v.as_object().unwrap().iter().next().unwrap();
    obj["id"].as_i64().unwrap()
}

db_test!(admins_define_fields_on_the_pages, |app: TestApp| async move {
    let admin = app.admin().await;
    let mut b = signed_in(&app, &admin).await;
    let (s, _, html) = b.get("/admin/fields").await;
    assert_eq!(s, StatusCode::OK);
    for kind in [
        "text",
        "textarea",
        "checkbox",
        "date",
        "integer",
        "decimal",
        "regexp",
        "tagger",
        "multiselect",
    ] {
        assert!(
            html.contains(&format!("<option value=\"{kind}\"")),
            "type {kind} offered"
        );
    }
    let csrf = b.csrf("/admin/fields").await;

    // A drop-down with two options.
    let (s, location, body) = b
        .post(
            "/admin/fields",
            &[
                ("csrf", &csrf),
                ("type", "tagger"),
                ("title", "Integration"),
                ("description", "Which connector"),
                ("visible_in_portal", "1"),
                ("editable_in_portal", "1"),
                ("required_in_portal", "1"),
                ("active", "1"),
                ("position", "2"),
                (
                    "options",
                    "Acme Connector=acme_connector\r\nGlobex Bridge = globex_bridge\r\n\r\n",
                ),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let id: i64 = location
        .strip_prefix("/admin/fields/")
        .and_then(|r| r.split('?').next())
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("{location}"));
    let f = api_field(&app, &admin, id).await;
    assert_eq!(
        (
            &f["type"],
            &f["title"],
            &f["position"],
            &f["required"],
            &f["required_in_portal"]
        ),
        (
            &json!("tagger"),
            &json!("Integration"),
            &json!(2),
            &json!(false),
            &json!(true)
        ),
        "{f}"
    );
    let acme_id = f["custom_field_options"][0]["id"].clone();
    assert_eq!(f["custom_field_options"][1]["value"], json!("globex_bridge"), "{f}");
    let (s, _, html) = b.get(&location).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Field created"), "{html}");
    assert!(html.contains("Acme Connector=acme_connector\nGlobex Bridge=globex_bridge"));
    let (_, _, html) = b.get("/admin/fields").await;
    assert!(html.contains(&format!("<a href=\"/admin/fields/{id}\">Integration</a>")));

    // Edited: renamed, an option renamed (it keeps its id), one removed and one added.
    let page = format!("/admin/fields/{id}");
    let (s, location, body) = b
        .post(
            &page,
            &[
                ("csrf", &csrf),
                ("title", "Integration used"),
                ("title_in_portal", "Your integration"),
                ("visible_in_portal", "1"),
                ("editable_in_portal", "1"),
                ("required", "1"),
                ("active", "1"),
                ("position", "1"),
                ("options", "Acme Connector v2=acme_connector\nInitech Sync=initech_sync"),
            ],
        )
        .await;
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, format!("{page}?saved=1").as_str()),
        "{body}"
    );
    let f = api_field(&app, &admin, id).await;
    assert_eq!(
        (
            &f["title"],
            &f["title_in_portal"],
            &f["required"],
            &f["required_in_portal"]
        ),
        (
            &json!("Integration used"),
            &json!("Your integration"),
            &json!(true),
            &json!(false)
        ),
        "{f}"
    );
    let options: Vec<(Value, Value)> = f["custom_field_options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].clone(), o["value"].clone()))
        .collect();
    assert_eq!(
        options,
        vec![
            (json!("Acme Connector v2"), json!("acme_connector")),
            (json!("Initech Sync"), json!("initech_sync"))
        ]
    );
    assert_eq!(f["custom_field_options"][0]["id"], acme_id, "the option keeps its id");

    // Refusals show the page again with the service's message and everything typed.
    let fields_before = app.count("ticket_fields").await;
    let (s, _, html) = b
        .post(
            "/admin/fields",
            &[
                ("csrf", &csrf),
                ("type", "regexp"),
                ("title", "Product version"),
                ("description", "As in Help > About"),
                ("visible_in_portal", "1"),
                ("position", "7"),
                ("regexp_for_validation", "(\\d+"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let page_text = text(&html);
    assert!(
        page_text.contains("regexp_for_validation is not a valid pattern"),
        "{page_text}"
    );
    assert!(page_text.contains("value=\"Product version\""), "the title is kept");
    assert!(
        page_text.contains("value=\"As in Help > About\""),
        "the description is kept"
    );
    assert!(page_text.contains("value=\"(\\d+\""), "the pattern is kept");
    assert!(
        page_text.contains("<option value=\"regexp\" selected>"),
        "the type is kept"
    );
    assert!(page_text.contains("name=\"visible_in_portal\" value=\"1\" checked"));
    assert!(
        !page_text.contains("name=\"editable_in_portal\" value=\"1\" checked"),
        "unticked stays unticked"
    );
    for (options, message) in [
        ("", "a drop-down or multi-select field needs options"),
        ("\n  \n", "a drop-down or multi-select field needs options"),
        (
            "Acme=x\nGlobex=globex\nAlso acme=X",
            "Options, line 3: the option value 'x' is given twice",
        ),
        ("=acme", "Options, line 1: custom_field_options[0].name cannot be blank"),
    ] {
        let (s, _, html) = b
            .post(
                "/admin/fields",
                &[
                    ("csrf", &csrf),
                    ("type", "multiselect"),
                    ("title", "Platforms"),
                    ("options", options),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{options:?}: {html}");
        let page_text = text(&html);
        assert!(page_text.contains(message), "{options:?}: {page_text}");
        assert!(
            page_text.contains(&format!(">{options}</textarea>")),
            "the options are kept"
        );
    }
    let (s, _, html) = b
        .post(&page, &[("csrf", &csrf), ("title", "Kept title"), ("options", "")])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("a drop-down or multi-select field needs options"));
    assert!(html.contains("value=\"Kept title\""));
    let (s, _, html) = b
        .post(
            &page,
            &[
                ("csrf", &csrf),
                ("title", "Integration used"),
                ("position", "first"),
                ("options", "A=a"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text(&html).contains("position must be a whole number, not 'first'"),
        "{html}"
    );
    assert_eq!(app.count("ticket_fields").await, fields_before, "nothing written");
    assert_eq!(api_field(&app, &admin, id).await["title"], json!("Integration used"));

    // A checkbox with its tag.
    let (s, location, body) = b
        .post(
            "/admin/fields",
            &[
                ("csrf", &csrf),
                ("type", "checkbox"),
                ("title", "Call me back"),
                ("tag", "Needs Callback"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let checkbox: i64 = location[14..].split('?').next().unwrap().parse().unwrap();
    assert_eq!(api_field(&app, &admin, checkbox).await["tag"], json!("needs_callback"));

    // Deactivated, then deleted (once the deletion is confirmed).
    let (s, location, _) = b
        .post(&format!("{page}/active"), &[("csrf", &csrf), ("active", "false")])
        .await;
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, format!("{page}?saved=deactivated").as_str())
    );
    assert_eq!(api_field(&app, &admin, id).await["active"], json!(false));
    let (_, _, html) = b.get(&page).await;
    assert!(html.contains("Activate field"));
    let (s, _, html) = b.post(&format!("{page}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Tick the box to confirm"), "{html}");
    assert_eq!(api_field(&app, &admin, id).await["id"], json!(id));
    let (s, location, _) = b
        .post(&format!("{page}/delete"), &[("csrf", &csrf), ("confirm", "1")])
        .await;
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, format!("/admin/fields?deleted={id}").as_str())
    );
    assert_eq!(
        app.get(&format!("/api/v2/ticket_fields/{id}.json"), &admin).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(b.get(&page).await.0, StatusCode::NOT_FOUND);
});

db_test!(only_admins_reach_the_field_and_form_pages, |app: TestApp| async move {
    let admin = app.admin().await;
    let org = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(org)).await;
    let agent = app.user("ann@vendor.example", "agent", None).await;
    let field = api_create(
        &app,
        &admin,
        "/api/v2/ticket_fields.json",
        json!({"ticket_field": {"type": "text", "title": "Version"}}),
    )
    .await;
    let form = api_create(
        &app,
        &admin,
        "/api/v2/ticket_forms.json",
        json!({"ticket_form": {"name": "Integrations"}}),
    )
    .await;
    let before = (app.count("ticket_fields").await, app.count("audit_log").await);
    for who in [&agent, &pat] {
        let mut b = signed_in(&app, who).await;
        for page in [
            "/admin/fields".to_owned(),
            format!("/admin/fields/{field}"),
            format!("/admin/forms/{form}"),
        ] {
            let (s, _, body) = b.get(&page).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{} {page}: {body}", who.email);
        }
        // With a valid token of their own session, every change is refused all the same.
        let home = if who.email == agent.email { "/agent" } else { "/portal" };
        let csrf = b.csrf(home).await;
        for (page, form) in [
            (
                "/admin/fields".to_owned(),
                vec![("csrf", csrf.as_str()), ("type", "text"), ("title", "Sneaky")],
            ),
            (
                format!("/admin/fields/{field}"),
                vec![("csrf", csrf.as_str()), ("title", "Sneaky")],
            ),
            (
                format!("/admin/fields/{field}/active"),
                vec![("csrf", csrf.as_str()), ("active", "false")],
            ),
            (
                format!("/admin/fields/{field}/delete"),
                vec![("csrf", csrf.as_str()), ("confirm", "1")],
            ),
            (
                format!("/admin/forms/{form}"),
                vec![("csrf", csrf.as_str()), ("name", "Sneaky")],
            ),
            (
                format!("/admin/forms/{form}/active"),
                vec![("csrf", csrf.as_str()), ("active", "false")],
            ),
            (
                format!("/admin/forms/{form}/delete"),
                vec![("csrf", csrf.as_str()), ("confirm", "1")],
            ),
        ] {
            let (s, _, body) = b.post(&page, &form).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{} {page}: {body}", who.email);
        }
    }
    // An admin's change without the form's token is refused too.
    let mut b = signed_in(&app, &admin).await;
    let (s, _, _) = b
        .post("/admin/fields", &[("type", "text"), ("title", "No token")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = b.post(&format!("/admin/forms/{form}"), &[("name", "No token")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        (app.count("ticket_fields").await, app.count("audit_log").await),
        before,
        "nothing written"
    );
    let (_, v) = app.get(&format!("/api/v2/ticket_forms/{form}.json"), &admin).await;
    assert_eq!(
        (&v["ticket_form"]["name"], &v["ticket_form"]["active"]),
        (&json!("Integrations"), &json!(true))
    );
});
