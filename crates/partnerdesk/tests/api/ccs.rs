//! People copied on tickets (Zendesk's CCs): who may copy whom, the API shapes (`collaborators`, `email_ccs`,
//! `collaborator_ids`; `email_cc_ids` in answers), the notices copied people get, and a ticket moved to another
//! organization dropping the old organization's people.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::Backend;
use crate::mail::{self, Inbox, eventually};

fn mails_to(mails: &Inbox, to: &str) -> Vec<String> {
    mails
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .map(|m| m.data.clone())
        .collect()
}

fn refusal(v: &Value) -> String {
    v.to_string()
}

async fn ccs(backend: Backend) {
    let Some((app, mails)) = mail::spawn_with_mail(backend, Vec::new()).await else {
        return;
    };
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let globex = app.org(&admin, "Globex Connectors", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let lee = app.user("lee@acme.example", "end-user", Some(acme)).await;
    let sue = app.user("sue@acme.example", "end-user", Some(acme)).await;
    let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
    let alex = app.user("alex@vendor.test", "agent", None).await;
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{}.json", sue.id),
            &admin,
            json!({"user": {"suspended": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // A partner files and copies a colleague, by e-mail address.
    let body = json!({"request": {"subject": "Webhook 502", "comment": {"body": "It answers 502."}, "collaborators": ["lee@acme.example"]}});
    let (s, v) = app.post("/api/v2/requests.json", &pat, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["request"]["email_cc_ids"], json!([lee.id]));
    assert_eq!(v["request"]["collaborator_ids"], json!([lee.id]));
    let id = v["request"]["id"].as_i64().unwrap();
    eventually("the copied colleague is told", || {
        mails_to(&mails, "lee@acme.example").len() == 1
    })
    .await;
    assert!(mails_to(&mails, "lee@acme.example")[0].contains("and copied you"));
    assert!(mails_to(&mails, "pat@acme.example").is_empty(), "the filer knows");

    // Whom a partner may not copy: another organization's people, staff, a suspended account, a stranger.
    let request = format!("/api/v2/requests/{id}.json");
    // Each is refused alike, repeating only what was typed: a partner learns nothing of who has an account
    // elsewhere, nor of anyone's address or status.
    let unknown = app
        .put(
            &request,
            &pat,
            json!({"request": {"email_ccs": [{"user_id": 99999999}]}}),
        )
        .await
        .1;
    let shape = |v: &Value, typed: &str| refusal(v).replace(typed, "TYPED");
    for (who, typed) in [
        (json!({"user_id": gil.id}), format!("user {}", gil.id)),
        (json!({"user_id": alex.id}), format!("user {}", alex.id)),
        (json!({"user_id": sue.id}), format!("user {}", sue.id)),
        (
            json!({"user_email": "gil@globex.example"}),
            "gil@globex.example".to_owned(),
        ),
        (
            json!({"user_email": "nobody@acme.example"}),
            "nobody@acme.example".to_owned(),
        ),
    ] {
        let (s, v) = app.put(&request, &pat, json!({"request": {"email_ccs": [who]}})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(refusal(&v).contains(&typed), "{typed}: {v}");
        assert_eq!(
            shape(&v, &typed),
            shape(&unknown, "user 99999999"),
            "the same refusal for {typed}"
        );
        for secret in [
            "gil@globex.example",
            "alex@vendor.test",
            "sue@acme.example",
            "suspended",
        ] {
            assert!(!refusal(&v).contains(secret) || typed == secret, "{secret} leaked: {v}");
        }
    }
    let (s, v) = app
        .put(
            &request,
            &pat,
            json!({"request": {"email_ccs": [{"user_id": lee.id, "action": "replace"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(refusal(&v).contains("put or delete"), "{v}");
    // Removing someone who is not copied changes nothing, whoever they are.
    for who in [json!({"user_id": gil.id}), json!({"user_email": "nobody@else.example"})] {
        let mut change = who.clone();
        change["action"] = json!("delete");
        let (s, v) = app
            .put(&request, &pat, json!({"request": {"email_ccs": [change]}}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["request"]["email_cc_ids"], json!([lee.id]));
    }
    // A list far over the limit is refused before anyone is looked up.
    let many: Vec<i64> = (1..=500).collect();
    let (s, v) = app
        .put(&request, &pat, json!({"request": {"collaborator_ids": many}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(refusal(&v).contains("at most 48"), "{v}");

    // Staff copy staff; the ticket API shows the list.
    let ticket = format!("/api/v2/tickets/{id}.json");
    let body = json!({"ticket": {"email_ccs": [{"user_email": "alex@vendor.test", "action": "put"}]}});
    let (s, v) = app.put(&ticket, &admin, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket"]["email_cc_ids"], json!([lee.id, alex.id]));
    let (s, v) = app
        .put(&ticket, &admin, json!({"ticket": {"collaborator_ids": [gil.id]}}))
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "staff may not copy another organization's people: {v}"
    );

    // A public answer, with a file, reaches the requester and everyone copied; the copied agent's link is the
    // workspace; the file is a link that needs signing in, never the file itself.
    let (s, v) = app
        .send(
            app.request(
                reqwest::Method::POST,
                "/api/v2/uploads.json?filename=proxy%20guide.txt",
                Some(&admin),
            )
            .header("content-type", "application/binary")
            .body("SECRET-FILE-CONTENT".as_bytes().to_vec()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let upload = v["upload"]["token"].as_str().unwrap().to_owned();
    let body = json!({"ticket": {"comment": {"body": "Which proxy?", "uploads": [upload]}}});
    let (s, v) = app.put(&ticket, &admin, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    eventually("the answer reaches all three", || {
        mails_to(&mails, "pat@acme.example").len() == 1
            && mails_to(&mails, "lee@acme.example").len() == 2
            && mails_to(&mails, "alex@vendor.test").len() == 1
    })
    .await;
    assert!(mails_to(&mails, "alex@vendor.test")[0].contains(&format!("/agent/tickets/{id}")));
    assert!(mails_to(&mails, "lee@acme.example")[1].contains(&format!("/portal/tickets/{id}")));
    let raw = mails_to(&mails, "pat@acme.example")[0].clone();
    let parsed = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap();
    let notice = parsed.body_text(0).unwrap().into_owned();
    assert!(notice.contains("Files (sign in to download):"), "{notice}");
    assert!(
        !notice.contains("SECRET-FILE-CONTENT"),
        "the file is linked, not attached"
    );
    let start = notice
        .find(&format!("{}/attachments/", app.base))
        .expect("a link to the file");
    let link: String = notice[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = anonymous.get(&link).send().await.unwrap();
    assert!(
        answer.status().is_client_error() || answer.status().is_redirection(),
        "{link}: {}",
        answer.status()
    );
    let signed = app
        .request(reqwest::Method::GET, &link[app.base.len()..], Some(&pat))
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed.text().await.unwrap(),
        "SECRET-FILE-CONTENT",
        "the link works for the requester: {link}"
    );

    // The copied colleague answers: the requester and the agent are told, not the colleague.
    let (s, v) = app
        .put(&request, &lee, json!({"request": {"comment": {"body": "nginx 1.24"}}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    eventually("the colleague's answer is passed on", || {
        mails_to(&mails, "pat@acme.example").len() == 2 && mails_to(&mails, "alex@vendor.test").len() == 2
    })
    .await;
    assert_eq!(mails_to(&mails, "lee@acme.example").len(), 2);

    // A partner removes their colleague, but not the agent.
    let (s, v) = app
        .put(
            &request,
            &pat,
            json!({"request": {"email_ccs": [{"user_id": lee.id, "action": "delete"}]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["request"]["email_cc_ids"], json!([alex.id]));
    let (s, v) = app
        .put(&request, &pat, json!({"request": {"collaborator_ids": []}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Moved to another organization: the old organization's people are dropped, staff stay.
    let (s, v) = app
        .put(&request, &pat, json!({"request": {"collaborators": [lee.id]}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .put(&ticket, &admin, json!({"ticket": {"requester_id": gil.id}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket"]["email_cc_ids"], json!([alex.id]));
    let (s, _) = app.get(&request, &lee).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no longer their organization's");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copied_people_sqlite() {
    ccs(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copied_people_postgres() {
    ccs(Backend::Postgres).await;
}
