//! `partnerdesk admin import`: organizations and users from CSV, beside the running server. A dry run keeps
//! nothing; a run applies the good rows and names the bad ones by line; the same files again change nothing (not
//! even an audit entry); a changed cell is an update; an unknown column is refused before anything is read.

use reqwest::StatusCode;

use crate::db_test;
use crate::helpers::TestApp;

fn import(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_partnerdesk"))
        .args(["admin", "import"])
        .args(args)
        .envs(app.vars.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "error")
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

db_test!(csv_import_is_idempotent, |app: TestApp| async move {
    let admin = app.admin().await;
    let dir = std::env::temp_dir().join(crate::helpers::unique("import"));
    std::fs::create_dir_all(&dir).unwrap();
    let orgs = dir.join("orgs.csv");
    let users = dir.join("users.csv");
    std::fs::write(
        &orgs,
        "external_id,name,domain_names,tags,alliance_partner,notes\n\
         CRM-1,Acme Integrations,acme.example,gold connector,true,Key partner since 2024\n\
         CRM-2,Globex Connectors,globex.example;globex.io,silver,no,\n\
         CRM-3,,,,,\n",
    )
    .unwrap();
    std::fs::write(
        &users,
        "external_id,email,name,role,organization_external_id\n\
         U-1,pat@acme.example,Pat Lee,end-user,CRM-1\n\
         U-2,gil@globex.example,Gil Moss,end-user,CRM-2\n\
         U-3,not-an-address,Nobody,end-user,CRM-1\n\
         U-4,zed@initech.example,Zed,end-user,CRM-404\n",
    )
    .unwrap();
    let (o, u) = (orgs.to_str().unwrap(), users.to_str().unwrap());
    let (orgs_before, audit_before) = (app.count("organizations").await, app.count("audit_log").await);

    // A dry run says what it would do and keeps nothing.
    let (ok, out) = import(&app, &["--organizations", o, "--users", u, "--dry-run"]);
    assert!(!ok, "bad rows fail the run: {out}");
    assert!(
        out.contains("line 2: create organization \"Acme Integrations\""),
        "{out}"
    );
    assert!(out.contains("line 4: name: name cannot be blank"), "{out}");
    assert!(
        out.contains("2 created, 0 updated, 0 unchanged, 1 failed (would be applied)"),
        "{out}"
    );
    assert!(out.contains("nothing was kept"), "{out}");
    assert_eq!(app.count("organizations").await, orgs_before);
    assert_eq!(app.count("audit_log").await, audit_before);

    // The run applies the good rows and names the bad ones.
    let (ok, out) = import(&app, &["--organizations", o, "--users", u]);
    assert!(!ok, "{out}");
    assert!(out.contains("line 4:"), "{out}");
    assert!(
        out.contains("line 5: organization_external_id: no organization has the external id \"CRM-404\""),
        "{out}"
    );
    assert!(
        out.contains("2 created, 0 updated, 0 unchanged, 2 failed (were applied)"),
        "{out}"
    );
    let (s, v) = app
        .get("/api/v2/organizations/search.json?external_id=CRM-1", &admin)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let acme = &v["organizations"][0];
    assert_eq!(acme["name"], "Acme Integrations", "{v}");
    assert_eq!(acme["tags"], serde_json::json!(["gold", "connector"]), "{v}");
    assert_eq!(acme["domain_names"], serde_json::json!(["acme.example"]), "{v}");
    let (_, v) = app.get("/api/v2/users/search.json?external_id=U-1", &admin).await;
    assert_eq!(v["users"][0]["organization_id"], acme["id"], "{v}");
    assert_eq!(v["users"][0]["email"], "pat@acme.example", "{v}");

    // The same files again: nothing changes, not even the audit log.
    let audit_after = app.count("audit_log").await;
    let (_, out) = import(&app, &["--organizations", o, "--users", u]);
    assert!(out.contains("0 created, 0 updated, 2 unchanged, 1 failed"), "{out}");
    assert!(out.contains("0 created, 0 updated, 2 unchanged, 2 failed"), "{out}");
    assert_eq!(app.count("audit_log").await, audit_after);

    // A changed cell is an update, said as before and after; a renamed organization is still found by its id.
    std::fs::write(&orgs, "external_id,name,tags\nCRM-1,Acme Integrations Inc,platinum\n").unwrap();
    let (ok, out) = import(&app, &["--organizations", o]);
    assert!(ok, "{out}");
    assert!(
        out.contains("name: \"Acme Integrations\" → \"Acme Integrations Inc\""),
        "{out}"
    );
    assert!(out.contains("tags: \"gold connector\" → \"platinum\""), "{out}");
    assert!(out.contains("0 created, 1 updated, 0 unchanged, 0 failed"), "{out}");

    // Field values by `organization_fields.KEY` columns: set, re-run unchanged, changed, refused when bad.
    let body = serde_json::json!({"organization_field": {"key": "support_level", "type": "dropdown", "title": "Support level",
        "custom_field_options": [{"name": "Gold", "value": "gold"}, {"name": "Silver", "value": "silver"}]}});
    let (s, v) = app.post("/api/v2/organization_fields.json", &admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let level = |cell: &str| format!("external_id,organization_fields.support_level\nCRM-1,{cell}\n");
    std::fs::write(&orgs, level("gold")).unwrap();
    let (ok, out) = import(&app, &["--organizations", o]);
    assert!(
        ok && out.contains("organization_fields.support_level:  → \"gold\""),
        "{out}"
    );
    let (ok, out) = import(&app, &["--organizations", o]);
    assert!(ok && out.contains("0 created, 0 updated, 1 unchanged"), "{out}");
    std::fs::write(&orgs, level("platinum")).unwrap();
    let (ok, out) = import(&app, &["--organizations", o]);
    assert!(
        !ok && out.contains("line 2: organization_fields.support_level"),
        "{out}"
    );
    let (_, v) = app
        .get("/api/v2/organizations/search.json?external_id=CRM-1", &admin)
        .await;
    assert_eq!(
        v["organizations"][0]["organization_fields"]["support_level"], "gold",
        "{v}"
    );

    // An unknown column is refused before any row is read.
    std::fs::write(&orgs, "external_id,name,colour\nCRM-9,Initech,blue\n").unwrap();
    let orgs_now = app.count("organizations").await;
    let (ok, out) = import(&app, &["--organizations", o]);
    assert!(!ok);
    assert!(out.contains("unknown column \"colour\""), "{out}");
    assert_eq!(app.count("organizations").await, orgs_now);
    std::fs::remove_dir_all(&dir).ok();
});
