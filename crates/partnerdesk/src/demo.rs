//! Demo data, so that a fresh install can be tried at once: an alliance partner organization with notes, a
//! partner user, an agent who is also the partner's account manager, an admin, and the partner and general forms.

use anyhow::{Result, anyhow};
use partnerdesk_app::accounts::{self, NewAccount, Provisioner};
use partnerdesk_app::directory;
use partnerdesk_app::org_changes::{self, OrgInput};
use partnerdesk_core::OrgId;
use partnerdesk_core::policy::Actor;
use partnerdesk_db::groups::Group;
use partnerdesk_db::organizations::Organization;
use partnerdesk_db::users::User;
use partnerdesk_db::{AuditActor, Db, users};

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
    forms_and_queues(db, &cli).await?;
    let person = |email: &str, name: &str, role: &str, org: Option<i64>, am: bool| NewAccount {
        email: email.into(),
        name: name.into(),
        role: Some(role.into()),
        organization_id: org,
        is_account_manager: am,
        is_support_manager: role != "end-user",
        password: Some(DEMO_PASSWORD.into()),
        external_id: None,
    };
    let create = |n: NewAccount| async {
        accounts::create_account(db, Provisioner::Operator, &cli, n)
            .await
            .map_err(|e| anyhow!("{e}"))
    };
    let admin = create(person("admin@vendor.example", "Avery Admin", "admin", None, false)).await?;
    let agent = create(person("agent@vendor.example", "Alex Agent", "agent", None, true)).await?;
    let org = acme(db, &cli, &agent).await?;
    let partner = create(person(
        "pat@acme.example",
        "Pat Partner",
        "end-user",
        Some(org.id.0),
        false,
    ))
    .await?;
    on_call(db, &cli, &agent, &admin).await?;
    println!("demo data created. Sign in at {public_url} (password '{DEMO_PASSWORD}' for everyone):");
    let token = escalation_link(db, &cli, config, org.id).await?;
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

/// The partner queue with the Alliance Partner form, and general support with the default form.
async fn forms_and_queues(db: &Db, cli: &AuditActor) -> Result<()> {
    let operator = Actor::operator();
    let group = |name: &str, description: &str| directory::GroupInput {
        name: Some(name.into()),
        description: Some(description.into()),
    };
    let partner_queue = directory::create_group(db, &operator, cli, group("Partner Queue", "Alliance partner tickets"))
        .await
        .map_err(explain)?;
    let general = directory::create_group(db, &operator, cli, group("General Support", "Everything else"))
        .await
        .map_err(explain)?;
    let form = |name: &str, audience: &str, group: &Group, priority: &str, tags: &[&str], default, position| {
        directory::FormInput {
            name: Some(name.into()),
            audience: Some(audience.into()),
            group_id: Some(Some(group.id.0)),
            priority: Some(Some(priority.into())),
            tags: Some(tags.iter().map(|t| t.to_string()).collect()),
            default: Some(default),
            position: Some(position),
            ..directory::FormInput::default()
        }
    };
    let partner_form = form(
        "Alliance Partner",
        "partners",
        &partner_queue,
        "high",
        &["alliance_partner"],
        false,
        0,
    );
    directory::create_form(db, &operator, cli, partner_form)
        .await
        .map_err(explain)?;
    let general_form = form("General Support", "everyone", &general, "normal", &[], true, 1);
    directory::create_form(db, &operator, cli, general_form)
        .await
        .map_err(explain)?;
    Ok(())
}

/// The alliance partner, with notes for agents and the agent as its account manager.
async fn acme(db: &Db, cli: &AuditActor, agent: &User) -> Result<Organization> {
    let input = OrgInput {
        name: Some("Acme Integrations".into()),
        notes: Some("Strategic alliance partner. Always check their integration version first; escalate data-loss reports to the support manager on call.".into()),
        details: Some("Integration: Acme Connector 4.x. Contract: Premier (24x7).".into()),
        domain_names: Some(vec!["acme.example".into()]),
        tags: Some(vec!["premier".into()]),
        alliance_partner: Some(true),
        account_manager_id: Some(Some(agent.id.0)),
        external_id: Some(Some("crm-acme".into())),
        organization_fields: None,
    };
    org_changes::create(db, &Actor::operator(), cli, input)
        .await
        .map_err(explain)
}

/// The agent is on call, the admin is the fallback.
async fn on_call(db: &Db, cli: &AuditActor, agent: &User, admin: &User) -> Result<()> {
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
    let mut tx = db.begin().await?;
    partnerdesk_db::escalations::save_schedule(&mut tx, &schedule, cli).await?;
    tx.commit().await?;
    Ok(())
}

/// A fresh escalation link for `org`; returns its token.
async fn escalation_link(db: &Db, cli: &AuditActor, config: &crate::config::Config, org: OrgId) -> Result<String> {
    let sealer = crate::app::sealer(config)?;
    let token = partnerdesk_core::credentials::new_token().map_err(|e| anyhow!("{e}"))?;
    let sealed = sealer.seal(&token).map_err(|e| anyhow!("{e}"))?;
    let mut tx = db.begin().await?;
    partnerdesk_db::escalations::set_link(
        &mut tx,
        org,
        &partnerdesk_core::credentials::token_digest(&token),
        &sealed,
        cli,
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

fn explain(e: partnerdesk_app::AppError) -> anyhow::Error {
    anyhow!("{}", e.message())
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
