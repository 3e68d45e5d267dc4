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
    /// Upload large files to a ticket (resumable: run it again after an interruption).
    Upload {
        /// The partnerdesk address, e.g. https://support.example.com
        #[arg(long)]
        url: String,
        /// Your API token.
        #[arg(long, env = "PARTNERDESK_TOKEN")]
        token: String,
        /// The ticket the files belong to.
        #[arg(long)]
        ticket: i64,
        /// Size of each request, in MiB.
        #[arg(long, default_value_t = 64)]
        chunk_mib: u64,
        /// Where unfinished uploads are remembered.
        #[arg(long)]
        state_file: Option<PathBuf>,
        /// No progress bar (one line per file).
        #[arg(long)]
        quiet: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Read one e-mail on stdin (a Postfix/Exim pipe transport) into a ticket or comment; exits 0 when handled,
    /// 65 for a bad or oversized message, 67 for an address that is not ours, 75 to be tried again later.
    MailIngest {
        /// The address the mail server delivered to (`${recipient}` in Postfix); checked against
        /// PARTNERDESK_MAIL_REPLY_ADDRESS.
        #[arg(long)]
        recipient: Option<String>,
    },
    /// Provisioning and set-up commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // The upload client runs on a partner's machine: it needs no server configuration.
    if let Command::Upload {
        url,
        token,
        ticket,
        chunk_mib,
        state_file,
        quiet,
        files,
    } = cli.command
    {
        let state_file = state_file.unwrap_or_else(partnerdesk::upload::default_state_file);
        return partnerdesk::upload::run(partnerdesk::upload::UploadArgs {
            url,
            token,
            ticket,
            files,
            chunk_mib,
            state_file,
            quiet,
        })
        .await;
    }
    let mut config = Config::load(cli.config.as_deref())?;
    telemetry::init(config.log_format);
    match cli.command {
        Command::Serve { listen, demo } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            if demo {
                let db = app::open_db(&config).await?;
                partnerdesk::demo::seed(&db, &config).await?;
                db.close().await;
            }
            app::start(&config).await?.wait().await
        }
        Command::Demo => {
            let db = app::open_db(&config).await?;
            let result = partnerdesk::demo::seed(&db, &config).await;
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
        Command::Upload { .. } | Command::MailIngest { .. } => Ok(()),
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
    let cli = Cli::parse();
    // Mail servers read the exit status (sysexits), so this one answers with its own codes.
    if let Command::MailIngest { recipient } = &cli.command {
        return partnerdesk::mail_ingest::main(cli.config.as_deref(), recipient.as_deref()).await;
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
