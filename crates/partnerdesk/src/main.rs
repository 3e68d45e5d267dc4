//! `partnerdesk`: the self-hosted support portal for a vendor's alliance partners.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use partnerdesk::admin::{self, AdminCommand};
use partnerdesk::config::Config;
use partnerdesk::{app, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "partnerdesk",
    version,
    about = "Self-hosted support portal for alliance partners"
)]
struct Cli {
    /// TOML configuration file; PARTNERDESK_* environment variables override it.
    #[arg(long, global = true, env = "PARTNERDESK_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve {
        /// Address to listen on (overrides PARTNERDESK_LISTEN).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Seed demo data first (when the database has no users yet) and print how to sign in.
        #[arg(long)]
        demo: bool,
    },
    /// Seed demo data (when the database has no users yet) and print how to sign in.
    Demo,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document of the REST API.
    Openapi,
    /// Provisioning and set-up commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    telemetry::init(config.log_format);
    match cli.command {
        Command::Serve { listen, demo } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            if demo {
                let db = app::open_db(&config).await?;
                partnerdesk::demo::seed(&db, &config.public_url).await?;
                db.close().await;
            }
            app::start(&config).await?.wait().await
        }
        Command::Demo => {
            let db = app::open_db(&config).await?;
            let result = partnerdesk::demo::seed(&db, &config.public_url).await;
            db.close().await;
            result
        }
        Command::Migrate => {
            app::open_db(&config).await?.close().await;
            println!("database is up to date");
            Ok(())
        }
        Command::Openapi => {
            println!("{}", partnerdesk_web::api::openapi_json());
            Ok(())
        }
        Command::Admin { command } => {
            let db = app::open_db(&config).await?;
            let result = admin::run(&config, &db, command).await;
            db.close().await;
            result
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
