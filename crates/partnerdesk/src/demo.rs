//! Demo data, so that a fresh install can be tried at once: an alliance partner organization with notes, a
//! partner user, an agent who is also the partner's account manager, an admin, and the partner and general forms.

use anyhow::{Result, anyhow};
use partnerdesk_app::accounts::{self, NewAccount, Provisioner};
use partnerdesk_core::tickets::{Audience, Priority};
use partnerdesk_db::forms::{self, FormFields};
use partnerdesk_db::organizations::{self, OrgFields};
use partnerdesk_db::users::User;
use partnerdesk_db::{AuditActor, Db, groups, users};

pub const DEMO_PASSWORD: &str = "partnerdesk-demo";

/// Seeds the demo data unless the database already has users; prints how to sign in as each person.
pub async fn seed(db: &Db, config: &crate::config::Config) -> Result<()> {
    let public_url = config.public_url.as_str();
    let existing = users::count(&mut db.conn(), &users::UserFilter::default()).await?;
    if existing > 0 {
        println!("demo: the database already has {existing} users; not seeding");
        return Ok(());
    }
    let cli = AuditActor::cli();
    let mut tx = db.begin().await?;
    let partner_queue = groups::create(&mut tx, "Partner Queue", "Alliance partner tickets", &cli).await?;
    let general = groups::create(&mut tx, "General Support", "Everything else", &cli).await?;
    let form = |name: &str, audience, group, priority, tags: &[&str], default, position| FormFields {
        name: name.into(),
        display_name: name.into(),
        position,
        active: true,
        is_default: default,
        audience,
        group_id: Some(group),
        priority: Some(priority),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    };
    forms::create(
        &mut tx,
        &form(
            "Alliance Partner",
            Audience::Partners,
            partner_queue.id,
            Priority::High,
            &["alliance_partner"],
            false,
            0,
        ),
        &cli,
    )
    .await?;
    forms::create(
        &mut tx,
        &form(
            "General Support",
            Audience::Everyone,
            general.id,
            Priority::Normal,
            &[],
            true,
            1,
        ),
        &cli,
    )
    .await?;
    tx.commit().await?;

    let person = |email: &str, name: &str, role: &str, org: Option<i64>, am: bool| NewAccount {
        email: email.into(),
        name: name.into(),
        role: Some(role.into()),
        organization_id: org,
        is_account_manager: am,
        is_support_manager: role != "end-user",
        password: Some(DEMO_PASSWORD.into()),
    };
    let create = |n: NewAccount| async {
        accounts::create_account(db, Provisioner::Operator, &cli, n)
            .await
            .map_err(|e| anyhow!("{e}"))
    };
    let admin = create(person("admin@vendor.example", "Avery Admin", "admin", None, false)).await?;
    let agent = create(person("agent@vendor.example", "Alex Agent", "agent", None, true)).await?;
    let mut tx = db.begin().await?;
    let org = organizations::create(
        &mut tx,
        &OrgFields {
            name: "Acme Integrations".into(),
            notes: "Strategic alliance partner. Always check their integration version first; escalate data-loss reports to the support manager on call.".into(),
            details: "Integration: Acme Connector 4.x. Contract: Premier (24x7).".into(),
            domain_names: vec!["acme.example".into()],
            tags: vec!["premier".into()],
            alliance_partner: true,
            account_manager_id: Some(agent.id),
        },
        &cli,
    )
    .await?;
    tx.commit().await?;
    let partner = create(person(
        "pat@acme.example",
        "Pat Partner",
        "end-user",
        Some(org.id.0),
        false,
    ))
    .await?;
    // The agent is on call, the admin is the fallback; Acme gets its escalation link.
    let mut tx = db.begin().await?;
    let starts = (partnerdesk_db::now() - chrono::TimeDelta::days(1))
        .format("%Y-%m-%dT09:00")
        .to_string();
    let schedule = partnerdesk_db::escalations::ScheduleRow {
        members: vec![agent.id],
        starts_local: starts,
        time_zone: "UTC".into(),
        period_days: 7,
        fallback_user_id: Some(admin.id),
        ack_timeout_minutes: 30,
    };
    partnerdesk_db::escalations::save_schedule(&mut tx, &schedule, &cli).await?;
    tx.commit().await?;

    println!("demo data created. Sign in at {public_url} (password '{DEMO_PASSWORD}' for everyone):");
    let sealer = crate::app::sealer(config)?;
    let token = partnerdesk_core::credentials::new_token().map_err(|e| anyhow!("{e}"))?;
    let sealed = sealer.seal(&token).map_err(|e| anyhow!("{e}"))?;
    let mut tx = db.begin().await?;
    partnerdesk_db::escalations::set_link(
        &mut tx,
        org.id,
        &partnerdesk_core::credentials::token_digest(&token),
        &sealed,
        &cli,
    )
    .await?;
    tx.commit().await?;
    println!("  Acme's escalation link: {public_url}/escalate/{token}");
    for (who, u) in [
        ("admin", &admin),
        ("agent and Acme's account manager", &agent),
        ("partner at Acme Integrations", &partner),
    ] {
        print_person(db, who, u, public_url).await?;
    }
    Ok(())
}

async fn print_person(db: &Db, who: &str, u: &User, public_url: &str) -> Result<()> {
    let token = accounts::issue_api_token(db, Provisioner::Operator, &AuditActor::cli(), u, "demo")
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "  {who:<34} {:<22} curl -u '{}/token:{token}' {public_url}/api/v2/users/me.json",
        u.email, u.email
    );
    Ok(())
}
