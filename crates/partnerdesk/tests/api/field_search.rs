//! Searching organizations and users by their fields' values (`support_level:gold`, `type:user partner_role:x`), as
//! Zendesk's search does with a field's key: case-insensitive values, the other kind's keys finding nothing in a
//! search of both, unknown keys refused, and end-users matching only the fields they are shown.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};
use crate::org_user_fields::define;

/// `(result_type, id)` of each result of `query`, or the refusal's status and message.
async fn found(app: &TestApp, who: &Creds, query: &str) -> Result<Vec<(String, i64)>, (StatusCode, String)> {
    let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let (s, v) = app.get(&format!("/api/v2/search.json?query={q}"), who).await;
    if s != StatusCode::OK {
        return Err((s, v.to_string()));
    }
    Ok(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["result_type"].as_str().unwrap().to_owned(), r["id"].as_i64().unwrap()))
        .collect())
}

fn orgs(ids: &[i64]) -> Vec<(String, i64)> {
    ids.iter().map(|i| ("organization".to_owned(), *i)).collect()
}

fn users(ids: &[i64]) -> Vec<(String, i64)> {
    ids.iter().map(|i| ("user".to_owned(), *i)).collect()
}

async fn set(app: &TestApp, admin: &Creds, path: String, body: Value) {
    let (s, v) = app.put(&path, admin, body).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
}

db_test!(
    organizations_and_users_are_found_by_their_fields,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let ann = app.user("ann@vendor.example", "agent", None).await;
        let acme = app.org(&admin, "Acme", true).await;
        let globex = app.org(&admin, "Globex", true).await;
        let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
        let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
        let gold = json!([{"name": "Gold", "value": "gold"}, {"name": "Silver", "value": "silver"}]);
        define(
            &app,
            &admin,
            "organization",
            json!({"key": "support_level", "type": "dropdown",
        "title": "Support level", "visible_to_end_users": true, "custom_field_options": gold}),
        )
        .await;
        define(
            &app,
            &admin,
            "organization",
            json!({"key": "crm_tier", "type": "text", "title": "CRM tier"}),
        )
        .await;
        define(
            &app,
            &admin,
            "user",
            json!({"key": "partner_role", "type": "text", "title": "Partner role"}),
        )
        .await;
        define(
            &app,
            &admin,
            "user",
            json!({"key": "certified", "type": "checkbox", "title": "Certified",
        "visible_to_end_users": true}),
        )
        .await;
        let org_fields = |fields: Value| json!({"organization": {"organization_fields": fields}});
        set(
            &app,
            &admin,
            format!("/api/v2/organizations/{acme}.json"),
            org_fields(json!({"support_level": "gold", "crm_tier": "Strategic"})),
        )
        .await;
        set(
            &app,
            &admin,
            format!("/api/v2/organizations/{globex}.json"),
            org_fields(json!({"support_level": "silver"})),
        )
        .await;
        let user_fields = |fields: Value| json!({"user": {"user_fields": fields}});
        set(
            &app,
            &admin,
            format!("/api/v2/users/{}.json", pat.id),
            user_fields(json!({"partner_role": "Architect", "certified": true})),
        )
        .await;
        set(
            &app,
            &admin,
            format!("/api/v2/users/{}.json", gil.id),
            user_fields(json!({"partner_role": "Developer"})),
        )
        .await;

        // Staff: by any field, values in any case; several fields must all hold.
        assert_eq!(
            found(&app, &ann, "type:organization support_level:gold").await,
            Ok(orgs(&[acme]))
        );
        assert_eq!(
            found(&app, &ann, "type:organization crm_tier:STRATEGIC").await,
            Ok(orgs(&[acme]))
        );
        assert_eq!(
            found(&app, &ann, "type:organization support_level:silver crm_tier:strategic").await,
            Ok(orgs(&[]))
        );
        assert_eq!(
            found(&app, &ann, "type:user partner_role:developer").await,
            Ok(users(&[gil.id]))
        );
        assert_eq!(
            found(&app, &ann, "type:user certified:true").await,
            Ok(users(&[pat.id]))
        );
        // Without a type: an organization field finds organizations, and users find nothing by it.
        assert_eq!(found(&app, &ann, "support_level:silver").await, Ok(orgs(&[globex])));
        assert_eq!(found(&app, &ann, "partner_role:architect").await, Ok(users(&[pat.id])));
        let (s, v) = app
            .get("/api/v2/search/count.json?query=support_level%3Agold", &ann)
            .await;
        assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(1)), "{v}");

        // Refused, saying where: a key of no field, another kind's key when only that kind is asked for, tickets.
        for (query, at) in [
            ("acme colour:red", "colour"),
            ("type:user support_level:gold", "support_level"),
            ("type:ticket partner_role:architect", "partner_role"),
            // Ticket filters leave no type to search; the unknown key is still named, not an empty result.
            ("status:open colour:red", "colour"),
        ] {
            let (s, message) = found(&app, &ann, query).await.expect_err(query);
            assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {message}");
            assert!(
                message.contains(&format!("unknown keyword '{at}'")),
                "{query}: {message}"
            );
            assert!(message.contains("(at character"), "{query}: {message}");
        }

        // An end-user: their own organization and themselves, by the fields they are shown only (a hidden field's
        // value is not theirs to probe, so it finds nothing rather than saying whether it holds).
        assert_eq!(
            found(&app, &pat, "type:organization support_level:gold").await,
            Ok(orgs(&[acme]))
        );
        assert_eq!(
            found(&app, &pat, "type:organization support_level:silver").await,
            Ok(orgs(&[]))
        );
        assert_eq!(
            found(&app, &pat, "type:organization crm_tier:strategic").await,
            Ok(orgs(&[]))
        );
        assert_eq!(
            found(&app, &pat, "type:user certified:true").await,
            Ok(users(&[pat.id]))
        );
        assert_eq!(
            found(&app, &pat, "type:user partner_role:architect").await,
            Ok(users(&[]))
        );
    }
);

db_test!(case_is_ignored_beyond_ascii, |app: TestApp| async move {
    let admin = app.admin().await;
    let ann = app.user("ann@vendor.example", "agent", None).await;
    let acme = app.org(&admin, "Acme", true).await;
    let elodie = app.user("elodie@acme.example", "end-user", Some(acme)).await;
    set(
        &app,
        &admin,
        format!("/api/v2/users/{}.json", elodie.id),
        json!({"user": {"name": "Élodie Müller"}}),
    )
    .await;
    define(
        &app,
        &admin,
        "organization",
        json!({"key": "tier", "type": "text", "title": "Tier"}),
    )
    .await;
    set(
        &app,
        &admin,
        format!("/api/v2/organizations/{acme}.json"),
        json!({"organization": {"organization_fields": {"tier": "Stratégique"}}}),
    )
    .await;
    // A field value, a requester's name, and the user search, each typed in another case than stored.
    assert_eq!(
        found(&app, &ann, "type:organization tier:STRATÉGIQUE").await,
        Ok(orgs(&[acme]))
    );
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            &elodie,
            json!({"ticket": {"subject": "Bonjour", "comment": {"body": "x"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ticket = v["ticket"]["id"].as_i64().unwrap();
    assert_eq!(
        found(&app, &ann, r#"type:ticket requester:"ÉLODIE MÜLLER""#).await,
        Ok(vec![("ticket".to_owned(), ticket)])
    );
    let (s, v) = app.get("/api/v2/users/search.json?query=%C3%89LODIE", &ann).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ids: Vec<i64> = v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![elodie.id], "{v}");
});
