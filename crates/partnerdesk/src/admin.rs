//! `partnerdesk admin ...`: provisioning from the server's machine. The same operations as the API
//! (`partnerdesk_app::accounts`), run as the operator and audited as `cli`.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use partnerdesk_app::AppError;
use partnerdesk_app::account_mail::AccountMail;
use partnerdesk_app::accounts::{self, NewAccount, Provisioner};
use partnerdesk_app::directory;
use partnerdesk_app::org_changes::{self, OrgInput};
use partnerdesk_core::Invalid;
use partnerdesk_core::policy::Actor;
use partnerdesk_db::organizations::{self};
use partnerdesk_db::{AuditActor, Db, DbError, groups, users};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organization.
    CreateOrg(CreateOrgArgs),
    /// Create an account (active when a password is given on stdin with --password-stdin, else invited).
    CreateUser(CreateUserArgs),
    /// Print a single-use, expiring link with which the user sets a password (creating the account first
    /// when --name and --role are given and it does not exist).
    InviteUser(InviteUserArgs),
    /// Issue an API token for a user; it is printed once and stored hashed.
    ApiToken(ApiTokenArgs),
    /// Seal every stored secret again under the current secret key (after rotating PARTNERDESK_SECRET_KEY, with
    /// the old key in PARTNERDESK_SECRET_KEY_PREVIOUS until this has run).
    ResealSecrets,
    /// Bind the database to this data directory's local file store, in place of the one it was bound to (after
    /// moving the files to a new data directory on purpose). Instances with another local store are refused.
    RebindLocalStore,
    /// Print the key escalation webhooks are signed with, for the receiver to verify `X-Partnerdesk-Signature`
    /// (PARTNERDESK_ESCALATION_WEBHOOK_SECRET when set, else the one derived from the secret key).
    WebhookSecret,
    /// Create an agent group.
    CreateGroup(CreateGroupArgs),
    /// Create a ticket form that routes to a group.
    CreateForm(CreateFormArgs),
    /// Create or update organizations and users from CSV files with a header row, matched by external_id, then by
    /// name (organizations) or e-mail (users). Running the same files again changes nothing.
    Import(ImportArgs),
    /// Write the search index again from the tickets, users and organizations. It is kept in step by every write;
    /// this is for recovery (a restored backup, rows written around the program).
    Reindex,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Organizations: columns external_id, name, domain_names, tags, notes, details, alliance_partner (lists
    /// separated by spaces, commas or semicolons; an empty cell keeps the value), and organization_fields.KEY.
    /// Imported before the users.
    #[arg(long)]
    pub organizations: Option<std::path::PathBuf>,
    /// Users: columns external_id, email, name, role, organization (its name) or organization_external_id,
    /// time_zone, suspended, and user_fields.KEY. Accounts are created without a password: invite them with
    /// `invite-user`.
    #[arg(long)]
    pub users: Option<std::path::PathBuf>,
    /// Print what would change, and keep nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CreateOrgArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "")]
    pub notes: String,
    #[arg(long, default_value = "")]
    pub details: String,
    /// Mark it as an alliance (technology) partner: its tickets go to the partner queue.
    #[arg(long)]
    pub alliance_partner: bool,
    /// E-mail of the staff account manager who sponsors it.
    #[arg(long)]
    pub account_manager: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateUserArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    #[arg(long, value_parser = ["end-user", "agent", "admin"])]
    pub role: String,
    /// Organization name.
    #[arg(long)]
    pub org: Option<String>,
    #[arg(long)]
    pub account_manager: bool,
    #[arg(long)]
    pub support_manager: bool,
    /// Read the password from standard input (one line).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct InviteUserArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, value_parser = ["end-user", "agent", "admin"])]
    pub role: Option<String>,
    #[arg(long)]
    pub org: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApiTokenArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long, default_value = "")]
    pub description: String,
}

#[derive(Debug, Args)]
pub struct CreateGroupArgs {
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct CreateFormArgs {
    #[arg(long)]
    pub name: String,
    /// Group name the form routes to.
    #[arg(long)]
    pub group: Option<String>,
    #[arg(long, default_value = "everyone", value_parser = ["everyone", "partners", "staff"])]
    pub audience: String,
    #[arg(long, value_parser = ["low", "normal", "high", "urgent"])]
    pub priority: Option<String>,
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    #[arg(long)]
    pub default: bool,
    #[arg(long, default_value_t = 0)]
    pub position: i64,
}

/// Turns a service error into a message for the terminal.
fn explain(e: AppError) -> anyhow::Error {
    match e {
        AppError::Invalid(Invalid(errors)) => anyhow!(
            "{}",
            errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ")
        ),
        AppError::Internal(detail) => anyhow!("{detail}"),
        other => anyhow!("{}", other.message()),
    }
}

async fn org_id(db: &Db, name: Option<&str>) -> Result<Option<i64>> {
    let Some(name) = name else { return Ok(None) };
    match organizations::by_name(&mut db.conn(), name).await {
        Ok(o) => Ok(Some(o.id.0)),
        Err(DbError::NotFound) => {
            bail!("no organization named '{name}' (create it with `partnerdesk admin create-org --name ...`)")
        }
        Err(e) => Err(e.into()),
    }
}

async fn user_by_email(db: &Db, email: &str) -> Result<users::User> {
    match users::by_email(&mut db.conn(), email).await {
        Ok(u) => Ok(u),
        Err(DbError::NotFound) => {
            bail!("no account for {email} (create it with `partnerdesk admin create-user ...`)")
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn run(config: &Config, db: &Db, cmd: AdminCommand) -> Result<()> {
    let cli = AuditActor::cli();
    let cli = &cli;
    match cmd {
        AdminCommand::CreateOrg(a) => create_org(db, cli, a).await,
        AdminCommand::CreateUser(a) => create_user(db, cli, a).await,
        AdminCommand::InviteUser(a) => invite_user(db, cli, config, a).await,
        AdminCommand::ApiToken(a) => api_token(db, cli, a).await,
        AdminCommand::ResealSecrets => reseal_secrets(db, cli, config).await,
        AdminCommand::RebindLocalStore => rebind_local_store(db, config).await,
        AdminCommand::WebhookSecret => {
            println!("{}", crate::app::webhook_secret(config, &crate::app::sealer(config)?));
            Ok(())
        }
        AdminCommand::CreateGroup(a) => create_group(db, cli, a).await,
        AdminCommand::CreateForm(a) => create_form(db, cli, a).await,
        AdminCommand::Import(a) => import(db, a).await,
        AdminCommand::Reindex => {
            let started = std::time::Instant::now();
            let n = partnerdesk_app::search::reindex(db).await?;
            println!("indexed {n} tickets in {:.1} s", started.elapsed().as_secs_f64());
            Ok(())
        }
    }
}

async fn create_org(db: &Db, cli: &AuditActor, a: CreateOrgArgs) -> Result<()> {
    let CreateOrgArgs {
        name,
        notes,
        details,
        alliance_partner,
        account_manager,
    } = a;
    let account_manager_id = match account_manager {
        Some(email) => {
            let u = user_by_email(db, &email).await?;
            if !u.is_account_manager {
                bail!("{email} is not an account manager (create it with --account-manager)");
            }
            Some(u.id)
        }
        None => None,
    };
    let input = OrgInput {
        name: Some(name),
        notes: Some(notes),
        details: Some(details),
        alliance_partner: Some(alliance_partner),
        account_manager_id: Some(account_manager_id.map(|u| u.0)),
        ..OrgInput::default()
    };
    let org = org_changes::create(db, &Actor::operator(), cli, input)
        .await
        .map_err(explain)?;
    println!("created organization {} '{}'", org.id, org.name);
    Ok(())
}

async fn create_user(db: &Db, cli: &AuditActor, a: CreateUserArgs) -> Result<()> {
    let CreateUserArgs {
        email,
        name,
        role,
        org,
        account_manager,
        support_manager,
        password_stdin,
    } = a;
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        None
    };
    let input = NewAccount {
        email,
        name,
        role: Some(role),
        organization_id: org_id(db, org.as_deref()).await?,
        is_account_manager: account_manager,
        is_support_manager: support_manager,
        password,
        external_id: None,
    };
    let user = accounts::create_account(db, Provisioner::Operator, cli, input)
        .await
        .map_err(explain)?;
    println!(
        "created user {} <{}> role={} status={}",
        user.id, user.email, user.role, user.status
    );
    Ok(())
}

async fn invite_user(db: &Db, cli: &AuditActor, config: &Config, a: InviteUserArgs) -> Result<()> {
    let InviteUserArgs { email, name, role, org } = a;
    let user = match (users::by_email(&mut db.conn(), &email).await, name) {
        (Ok(u), _) => u,
        (Err(DbError::NotFound), Some(name)) => {
            let input = NewAccount {
                email,
                name,
                role,
                organization_id: org_id(db, org.as_deref()).await?,
                ..NewAccount::default()
            };
            accounts::create_account(db, Provisioner::Operator, cli, input)
                .await
                .map_err(explain)?
        }
        (Err(DbError::NotFound), None) => {
            bail!("no account for {email}: give --name (and --role, --org) to create it")
        }
        (Err(e), _) => return Err(e.into()),
    };
    let sealer = crate::app::sealer(config)?;
    let mail = AccountMail {
        public_url: &config.public_url,
        mail_from: &config.mail_from,
        sealer: &sealer,
        wake: None,
    };
    let inv = accounts::invite(
        db,
        Provisioner::Operator,
        cli,
        &user,
        &mail,
        config.invitation_ttl_hours,
    )
    .await
    .map_err(explain)?;
    println!("{}", inv.url);
    eprintln!(
        "single-use link for {} (also e-mailed to them); expires {}",
        user.email,
        inv.expires_at.to_rfc3339()
    );
    Ok(())
}

async fn api_token(db: &Db, cli: &AuditActor, a: ApiTokenArgs) -> Result<()> {
    let ApiTokenArgs { email, description } = a;
    let user = user_by_email(db, &email).await?;
    let token = accounts::issue_api_token(db, Provisioner::Operator, cli, &user, &description)
        .await
        .map_err(explain)?;
    println!("{token}");
    eprintln!(
        "API token for {} (shown once; use Basic '{}/token:TOKEN' or 'Bearer TOKEN')",
        user.email, user.email
    );
    Ok(())
}

async fn reseal_secrets(db: &Db, cli: &AuditActor, config: &Config) -> Result<()> {
    let sealer = crate::app::sealer(config)?;
    let mut n = 0;
    for c in partnerdesk_db::buckets::all(&mut db.conn()).await? {
        if c.key_id == sealer.key_id() {
            continue;
        }
        let secret = sealer
            .open(&c.secret_sealed)
            .map_err(|e| anyhow!("organization {}: {e}", c.organization_id))?;
        let sealed = sealer.seal(&secret).map_err(|e| anyhow!("{e}"))?;
        let mut tx = db.begin().await?;
        partnerdesk_db::buckets::reseal(&mut tx, &c, &sealed, sealer.key_id(), cli).await?;
        tx.commit().await?;
        n += 1;
    }
    println!("resealed {n} secret(s) under key {}", sealer.key_id());
    Ok(())
}

async fn rebind_local_store(db: &Db, config: &Config) -> Result<()> {
    if config.blob_s3.is_some() {
        anyhow::bail!(
            "files are kept in S3-compatible storage (PARTNERDESK_BLOB_BUCKET); there is no local store to bind"
        );
    }
    let files = config.data_dir.join("files");
    partnerdesk_app::uploads::local_store::rebind(db, &files)
        .await
        .map_err(explain)?;
    println!("the database's files are now those in {}", files.display());
    Ok(())
}

async fn create_group(db: &Db, cli: &AuditActor, a: CreateGroupArgs) -> Result<()> {
    let CreateGroupArgs { name } = a;
    let input = directory::GroupInput {
        name: Some(name),
        description: None,
    };
    let g = directory::create_group(db, &Actor::operator(), cli, input)
        .await
        .map_err(explain)?;
    println!("created group {} '{}'", g.id, g.name);
    Ok(())
}

async fn create_form(db: &Db, cli: &AuditActor, a: CreateFormArgs) -> Result<()> {
    let CreateFormArgs {
        name,
        group,
        audience,
        priority,
        tags: form_tags,
        default,
        position,
    } = a;
    let group_id = match group {
        Some(g) => Some(
            groups::by_name(&mut db.conn(), &g)
                .await
                .map_err(|e| match e {
                    DbError::NotFound => anyhow!("no group named '{g}'"),
                    e => e.into(),
                })?
                .id,
        ),
        None => None,
    };
    let input = directory::FormInput {
        name: Some(name),
        position: Some(position),
        default: Some(default),
        audience: Some(audience),
        group_id: group_id.map(|g| Some(g.0)),
        priority: priority.map(Some),
        tags: Some(form_tags),
        ..directory::FormInput::default()
    };
    let form = directory::create_form(db, &Actor::operator(), cli, input)
        .await
        .map_err(explain)?;
    println!("created ticket form {} '{}'", form.id, form.name);
    Ok(())
}

async fn import(db: &Db, a: ImportArgs) -> Result<()> {
    use partnerdesk_app::import::{self, Records};
    if a.organizations.is_none() && a.users.is_none() {
        bail!("name a file: --organizations FILE and/or --users FILE");
    }
    let mut failed = 0;
    for (records, path) in [(Records::Organizations, a.organizations), (Records::Users, a.users)] {
        let Some(path) = path else { continue };
        let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let shown = path.display().to_string();
        let outcome = import::import(db, records, std::io::BufReader::new(file), a.dry_run, |line| {
            println!("{shown}: {line}");
        })
        .await
        .with_context(|| shown.clone())?;
        let verb = if a.dry_run { "would be" } else { "were" };
        println!(
            "{shown}: {} created, {} updated, {} unchanged, {} failed ({verb} applied)",
            outcome.created, outcome.updated, outcome.unchanged, outcome.failed
        );
        failed += outcome.failed;
    }
    if failed > 0 {
        let others = if a.dry_run {
            "nothing was kept"
        } else {
            "the other rows were applied"
        };
        bail!("{failed} rows failed (see above); {others}");
    }
    Ok(())
}
