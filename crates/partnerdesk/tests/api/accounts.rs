//! Accounts are provisioned: who may create them, invitations, the three auth schemes, suspension.

use partnerdesk_db::users;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::db_test;
use crate::helpers::TestApp;

db_test!(three_auth_schemes_and_bad_credentials, |app: TestApp| async move {
    let admin = app.admin().await;
    // Basic email/token:TOKEN
    let (s, v) = app.get("/api/v2/users/me.json", &admin).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["user"]["email"], "admin@vendor.test");
    assert_eq!(v["user"]["role"], "admin");
    // Bearer TOKEN
    let rb = app
        .client
        .get(format!("{}/api/v2/users/me", app.base))
        .bearer_auth(&admin.token);
    let (s, v) = app.send(rb).await;
    assert_eq!((s, v["user"]["id"].as_i64()), (StatusCode::OK, Some(admin.id)));
    // Basic email:password
    let rb = app
        .client
        .get(format!("{}/api/v2/users/me", app.base))
        .basic_auth(&admin.email, Some("correct horse battery staple"));
    let (s, _) = app.send(rb).await;
    assert_eq!(s, StatusCode::OK);
    // Wrong password, wrong token, token of another user, unknown scheme, no credentials: 401 in Zendesk's format.
    for rb in [
        app.client
            .get(format!("{}/api/v2/users/me", app.base))
            .basic_auth(&admin.email, Some("wrong password!")),
        app.client
            .get(format!("{}/api/v2/users/me", app.base))
            .bearer_auth("0".repeat(64)),
        app.client
            .get(format!("{}/api/v2/users/me", app.base))
            .basic_auth("other@vendor.test/token", Some(&admin.token)),
        app.client
            .get(format!("{}/api/v2/users/me", app.base))
            .header("authorization", "Digest abc"),
        app.client.get(format!("{}/api/v2/users/me", app.base)),
    ] {
        let (s, v) = app.send(rb).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        assert_eq!(v["error"], "Couldn't authenticate you");
    }
});

db_test!(password_guessing_is_rate_limited, |app: TestApp| async move {
    let admin = app.admin().await;
    let url = format!("{}/api/v2/users/me", app.base);
    for _ in 0..10 {
        let (s, _) = app
            .send(app.client.get(&url).basic_auth(&admin.email, Some("not the password")))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let resp = app
        .client
        .get(&url)
        .basic_auth(&admin.email, Some("correct horse battery staple"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());
    // Tokens are not passwords: they still work.
    assert_eq!(app.get("/api/v2/users/me", &admin).await.0, StatusCode::OK);
});

db_test!(admins_and_account_managers_provision, |app: TestApp| async move {
    let admin = app.admin().await;
    let managed = app.org(&admin, "Managed Corp", true).await;
    let other = app.org(&admin, "Other Corp", true).await;
    let am = app.user_with("tam@vendor.test", "agent", None, true).await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let (s, _) = app
        .put(
            &format!("/api/v2/organizations/{managed}"),
            &admin,
            json!({"organization": {"account_manager_id": am.id}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Admin creates an invited end-user.
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            &admin,
            json!({"user": {"name": "Pat", "email": "Pat@Managed.example", "organization_id": managed}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (
            v["user"]["email"].as_str(),
            v["user"]["status"].as_str(),
            v["user"]["role"].as_str()
        ),
        (Some("pat@managed.example"), Some("invited"), Some("end-user"))
    );
    assert_eq!(v["user"]["provisioned_by_id"].as_i64(), Some(admin.id));

    // The account manager may create end-users of the organizations they manage, and nothing else.
    let (s, v) = app
        .post(
            "/api/v2/users",
            &am,
            json!({"user": {"name": "Quinn", "email": "quinn@managed.example", "organization_id": managed}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/users",
            &am,
            json!({"user": {"name": "Rae", "email": "rae@other.example", "organization_id": other}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, _) = app
        .post(
            "/api/v2/users",
            &am,
            json!({"user": {"name": "Sam", "email": "sam@vendor.test", "role": "agent"}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A plain agent and an end-user may not create accounts.
    let (s, _) = app
        .post(
            "/api/v2/users",
            &agent,
            json!({"user": {"name": "T", "email": "t@managed.example", "organization_id": managed}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let pat = app.user("pat2@managed.example", "end-user", Some(managed)).await;
    let (s, _) = app
        .post(
            "/api/v2/users",
            &pat,
            json!({"user": {"name": "U", "email": "u@managed.example"}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Duplicate and invalid input: 422 with details per field; nothing written.
    let before = app.count("users").await;
    let (s, v) = app
        .post(
            "/api/v2/users",
            &admin,
            json!({"user": {"name": "Pat again", "email": "pat@managed.example"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"], "RecordInvalid");
    assert_eq!(v["details"]["email"][0]["error"], "DuplicateValue");
    let (s, v) = app
        .post(
            "/api/v2/users",
            &admin,
            json!({"user": {"name": "", "email": "not-an-email", "role": "root"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["name", "email", "role"] {
        assert!(v["details"][field].is_array(), "{field} missing in {v}");
    }
    let (s, v) = app
        .post(
            "/api/v2/users",
            &admin,
            json!({"user": {"name": "V", "email": "v@x.example", "organization_id": 999999}}),
        )
        .await;
    assert_eq!(
        (s, v["details"]["organization_id"].is_array()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    assert_eq!(app.count("users").await, before);
});

db_test!(invitation_sets_password_once, |app: TestApp| async move {
    let admin = app.admin().await;
    let (_, v) = app
        .post(
            "/api/v2/users",
            &admin,
            json!({"user": {"name": "Ivy", "email": "ivy@partner.example"}}),
        )
        .await;
    let ivy = v["user"]["id"].as_i64().unwrap();
    let (s, v) = app
        .send(app.request(
            Method::POST,
            &format!("/api/v2/users/{ivy}/invitation.json"),
            Some(&admin),
        ))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let url = v["invitation"]["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/account/set-password?token=", app.base)),
        "{url}"
    );
    let token = url.split("token=").nth(1).unwrap().to_owned();

    let anonymous = |body| {
        app.send(
            app.client
                .post(format!("{}/api/v2/account/password", app.base))
                .json(&body),
        )
    };
    let (s, v) = anonymous(json!({"token": token, "password": "short"})).await;
    assert_eq!(
        (s, v["details"]["password"][0]["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("TooShort"))
    );
    let (s, v) = anonymous(json!({"token": token, "password": "a long enough passphrase"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["status"], "active");
    let (s, v) = anonymous(json!({"token": token, "password": "another long passphrase"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["details"]["token"][0]["description"]
            .as_str()
            .unwrap()
            .contains("already been used"),
        "{v}"
    );
    let rb = app
        .client
        .get(format!("{}/api/v2/users/me", app.base))
        .basic_auth("ivy@partner.example", Some("a long enough passphrase"));
    assert_eq!(app.send(rb).await.0, StatusCode::OK);

    // An expired link is refused.
    let user = users::get(&mut app.db.conn(), partnerdesk_core::UserId(ivy))
        .await
        .unwrap();
    let digest = partnerdesk_core::credentials::token_digest("expired-token");
    let past = partnerdesk_db::now() - chrono::Duration::hours(1);
    users::add_invitation(
        &mut app.db.conn(),
        &user,
        &digest,
        past,
        &partnerdesk_db::AuditActor::cli(),
    )
    .await
    .unwrap();
    let (s, v) = anonymous(json!({"token": "expired-token", "password": "a long enough passphrase"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["details"]["token"][0]["description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{v}"
    );
    let (s, _) = anonymous(json!({"token": "never-issued", "password": "a long enough passphrase"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
});

db_test!(suspension_takes_effect_at_once, |app: TestApp| async move {
    let admin = app.admin().await;
    let org = app.org(&admin, "Suspended Corp", true).await;
    let pat = app.user("pat@suspended.example", "end-user", Some(org)).await;
    assert_eq!(app.get("/api/v2/users/me", &pat).await.0, StatusCode::OK);
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{}.json", pat.id),
            &admin,
            json!({"user": {"suspended": true}}),
        )
        .await;
    assert_eq!((s, v["user"]["suspended"].as_bool()), (StatusCode::OK, Some(true)));
    let (s, v) = app.get("/api/v2/users/me", &pat).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(v["description"].as_str().unwrap().contains("suspended"));
    let rb = app
        .client
        .get(format!("{}/api/v2/users/me", app.base))
        .basic_auth(&pat.email, Some("correct horse battery staple"));
    assert_eq!(app.send(rb).await.0, StatusCode::UNAUTHORIZED);
    // Reactivated: works again. Both changes are in the audit log.
    app.put(
        &format!("/api/v2/users/{}", pat.id),
        &admin,
        json!({"user": {"suspended": false}}),
    )
    .await;
    assert_eq!(app.get("/api/v2/users/me", &pat).await.0, StatusCode::OK);
    let trail =
        partnerdesk_db::audit::for_entity(&mut app.db.conn(), "user", pat.id, partnerdesk_db::Window::first(50))
            .await
            .unwrap();
    let actions: Vec<&str> = trail.items.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"user.suspend") && actions.contains(&"user.reactivate"),
        "{actions:?}"
    );
});

db_test!(end_users_see_only_themselves, |app: TestApp| async move {
    let admin = app.admin().await;
    let org = app.org(&admin, "Self Corp", true).await;
    let pat = app.user("pat@self.example", "end-user", Some(org)).await;
    let (s, v) = app.get("/api/v2/users.json", &pat).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["users"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        app.get(&format!("/api/v2/users/{}", admin.id), &pat).await.0,
        StatusCode::NOT_FOUND
    );
    // They may rename themselves, not promote themselves.
    let (s, _) = app
        .put(
            &format!("/api/v2/users/{}", pat.id),
            &pat,
            json!({"user": {"name": "Pat P."}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .put(
            &format!("/api/v2/users/{}", pat.id),
            &pat,
            json!({"user": {"role": "admin"}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = app.get("/api/v2/users/me", &pat).await;
    assert_eq!(
        (v["user"]["name"].as_str(), v["user"]["role"].as_str()),
        (Some("Pat P."), Some("end-user"))
    );
});

db_test!(
    anonymous_request_is_told_to_ask_account_manager,
    |app: TestApp| async move {
        let body = json!({"request": {"subject": "Help", "comment": {"body": "Please"}, "requester": {"name": "New Person", "email": "new@unknown.example"}}});
        let (s, v) = app
            .send(
                app.client
                    .post(format!("{}/api/v2/requests.json", app.base))
                    .json(&body),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(v["error"], "AccountRequired");
        assert!(v["description"].as_str().unwrap().contains("account manager"), "{v}");
        assert_eq!(app.count("tickets").await, 0);
        assert_eq!(app.count("users").await, 0);
        // Staff naming an unknown requester get the same explanation, and no account is created on the fly.
        let admin = app.admin().await;
        let body = json!({"ticket": {"subject": "x", "comment": {"body": "y"}, "requester": {"email": "nobody@unknown.example"}}});
        let (s, v) = app.post("/api/v2/tickets", &admin, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            v["details"]["requester"][0]["description"]
                .as_str()
                .unwrap()
                .contains("account manager")
        );
    }
);
