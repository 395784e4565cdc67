//! The `plusflow` command line and the composition root: loads the configuration, connects the
//! store, registers effect handlers, and starts the API, the relay and the workers as the
//! command asks.

mod admin_activity;
pub mod alipayplus;
mod archive;
mod bench;
mod bench_command;
mod bench_console;
mod bench_events;
mod bench_lifecycle;
mod bench_payments;
mod bench_reconcile;
mod bench_scratch;
mod bench_stuck;
mod compose;
mod demo;
mod demo_kinds;
mod demo_scenarios;
mod merchant_webhooks;
mod reconcile;
mod retention;
mod simulator;
mod workflows;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, redact};
use crate::{api, telemetry};
pub use compose::{Role, Running, boot, boot_on_database_clock, start};

#[derive(Debug, Parser)]
#[command(
    name = "plusflow",
    version,
    about = "The Alipay+ Cashier Payment gateway of an Acquiring Service Provider",
    after_help = "The database is `database.url` of the configuration: config/default.toml's \
        sqlite://plusflow.db in the current folder unless a file given with --config, \
        config/$PLUSFLOW_ENV.toml or PLUSFLOW__DATABASE__URL says otherwise. Only `migrate`, \
        `serve` and `demo` create or migrate it; every other command says which one it uses."
)]
pub struct Cli {
    /// One more configuration file, over config/default.toml and config/$PLUSFLOW_ENV.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// API, workers and outbox relay in one process (or one role of them).
    Serve {
        /// Which part of plusflow this process runs.
        #[arg(long, value_enum, default_value_t = Role::All)]
        role: Role,
        /// Run with alipayplus.mode = "simulator" on a postgres:// database (refused without:
        /// such a database is production's unless said otherwise).
        #[arg(long)]
        allow_simulator: bool,
    },
    /// Apply the database migrations.
    Migrate,
    /// Validate or render the workflow definitions.
    #[command(subcommand)]
    Workflows(workflows::WorkflowsCommand),
    /// Manage merchants.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Operators' keys.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// The Alipay+ simulator as its own server.
    Simulator(Box<simulator::SimulatorArgs>),
    /// Run the built-in end-to-end demonstration on the configured (embedded) defaults.
    Demo(demo::DemoArgs),
    /// Benchmarks on the configured backend.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// The archive: verify a folder, restore an object.
    #[command(subcommand)]
    Archive(archive::ArchiveCommand),
    /// Data lifecycle: remove what `[retention]` keeps no longer, archive what is due.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// One CSV file per merchant of a business day's statement (gross, refunds, dispute refunds,
    /// fees, net per currency, from the ledger), in a folder.
    Statements {
        /// The business day (clearing day, UTC+8), YYYYMMDD.
        #[arg(long)]
        date: String,
        /// The folder the files are written to (made if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Reconcile Alipay+'s report files in a folder against our records.
    Reconcile {
        /// The folder of one day's files (named YYYYMMDD, or say the date).
        #[arg(long)]
        dir: PathBuf,
        /// The clearing day (UTC+8) the files report, YYYYMMDD.
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Create a merchant; prints one JSON line with its id and API key (shown only this once).
    Create {
        /// The merchant's name, for operators (at most 256 characters).
        #[arg(long)]
        name: String,
        /// Where payment status webhooks go.
        #[arg(long)]
        webhook_url: Option<String>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Sets the acquirer's fee on the merchant's payments from now on (booked by the ledger when
    /// each succeeds); prints one JSON line.
    Fee {
        /// The merchant's id.
        #[arg(long)]
        merchant: uuid::Uuid,
        /// Hundredths of a percent of each payment (250 = 2.5%), 0 to 10000.
        #[arg(long)]
        basis_points: u32,
    },
    /// A merchant's API keys: several may be live, each revocable.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The merchant's webhook endpoints and its recent failed deliveries (a table, or JSON
    /// lines with --json). Merchants manage endpoints through GraphQL (createWebhookEndpoint...).
    Webhooks(merchant_webhooks::WebhooksArgs),
    /// Registers the merchant with Alipay+ and its wallets (a running `serve` sends it and
    /// follows the wallets' answers); prints one JSON line with the registration's id.
    Register(RegisterArgs),
}

/// What Alipay+ is told about the merchant on every payment (`app::merchant_profile`); legal
/// name, display name, MCC and region are required to take payments in `alipayplus` mode.
#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// The registered company name.
    #[arg(long)]
    legal_name: Option<String>,
    /// What customers see.
    #[arg(long)]
    display_name: Option<String>,
    /// Merchant category code, four digits (5812: restaurants).
    #[arg(long)]
    mcc: Option<String>,
    /// ISO 3166 two capital letters.
    #[arg(long)]
    region: Option<String>,
    /// Street address.
    #[arg(long)]
    address1: Option<String>,
    /// City of the address.
    #[arg(long)]
    city: Option<String>,
    /// Postal code of the address.
    #[arg(long)]
    zip_code: Option<String>,
    /// The merchant's website (https://...).
    #[arg(long)]
    website: Option<String>,
}

impl From<ProfileArgs> for crate::app::merchant_profile::MerchantProfile {
    fn from(args: ProfileArgs) -> Self {
        Self {
            legal_name: args.legal_name,
            display_name: args.display_name,
            mcc: args.mcc,
            region: args.region,
            address1: args.address1,
            city: args.city,
            zip_code: args.zip_code,
            website: args.website,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct RegisterArgs {
    /// The merchant's id.
    merchant: uuid::Uuid,
    /// CASHIER_PAYMENT, AGREEMENT_PAYMENT, IN_STORE_PAYMENT.
    #[arg(long, num_args = 1.., required = true)]
    product_codes: Vec<String>,
    /// What customers see (required for CASHIER_PAYMENT and AGREEMENT_PAYMENT).
    #[arg(long)]
    display_name: Option<String>,
    /// Four digits.
    #[arg(long)]
    mcc: Option<String>,
    /// A website the wallets review (repeatable).
    #[arg(long)]
    website: Vec<String>,
    /// ISO 3166 two letters.
    #[arg(long)]
    region: Option<String>,
    /// The registered company name.
    #[arg(long)]
    legal_name: Option<String>,
    /// The company's registration number.
    #[arg(long)]
    registration_no: Option<String>,
    /// Makes a repeated command the same registration (by default one of its own).
    #[arg(long)]
    idempotency_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Operators' keys: create, revoke, list.
    #[command(subcommand)]
    Key(AdminKeyCommand),
    /// The operators' activity log, newest first: who did what, on which objects, with which note.
    Activity(admin_activity::ActivityArgs),
}

#[derive(Debug, Subcommand)]
pub enum AdminKeyCommand {
    /// A key for operator NAME with ROLE; prints `{"name": ..., "role": ..., "apiKey": ...}`
    /// (shown only this once). History names the operator's actions `admin:NAME`; a name is
    /// never given twice.
    Create {
        /// The operator's name.
        #[arg(long)]
        name: String,
        /// What the key may do: viewer (reads), operator (works workflows: retry, resume,
        /// disputes, cancels), finance (reconciliation and settlement), admin (all, and keys,
        /// merchants, forced ends).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["viewer", "operator", "finance", "admin"]))]
        role: String,
    },
    /// Revokes operator NAME's key (refused at once everywhere).
    Revoke {
        /// The operator's name.
        #[arg(long)]
        name: String,
    },
    /// Every operator key, one JSON line each (names and dates; never the key).
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// One more API key; prints `{"id": ..., "apiKey": ...}` (the key is shown only this once).
    Create {
        /// The merchant's id.
        #[arg(long)]
        merchant: uuid::Uuid,
        /// What the key is for (shown in `key list`).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revokes a key: refused by every process within seconds.
    Revoke {
        /// The merchant's id.
        #[arg(long)]
        merchant: uuid::Uuid,
        /// The key's id (from `key create` or `key list`).
        #[arg(long)]
        key: uuid::Uuid,
    },
    /// The merchant's keys, one JSON line each (ids, labels, dates; never the key).
    List {
        /// The merchant's id.
        #[arg(long)]
        merchant: uuid::Uuid,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Workflows(command) if !matches!(command, workflows::WorkflowsCommand::Stuck(_)) => {
            Ok(workflows::run(&command))
        }
        Command::Schema => {
            print!("{}", api::graphql::sdl());
            Ok(ExitCode::SUCCESS)
        }
        Command::Archive(archive::ArchiveCommand::Verify { dir }) => Ok(archive::verify(&dir)),
        Command::Simulator(args) => {
            let _logs = telemetry::init(crate::config::LogFormat::Pretty, "info", None);
            simulator::run(*args).await
        }
        command => run_configured(cli.config, command).await,
    }
}

async fn run_configured(config_file: Option<PathBuf>, command: Command) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_file.as_deref())?;
    // The demo's output is its tables: only warnings and errors interleave with them (RUST_LOG
    // still overrides). So are the one-shot commands': their answer is what they print.
    let level = match command {
        Command::Serve { .. } | Command::Bench(_) => config.log_level.as_str(),
        _ => "warn",
    };
    let telemetry = telemetry::init(config.log_format, level, config.otlp_endpoint.as_ref());
    if !matches!(command, Command::Demo(_) | Command::Migrate) {
        eprintln!("database: {}", redact(&config.database_url));
    }
    let ran = run_command(config, command).await;
    telemetry.shutdown();
    ran
}

async fn run_command(config: Config, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve {
            role,
            allow_simulator,
        } => compose::serve(config, role, allow_simulator).await,
        Command::Migrate => {
            compose::migrated(&config).await?;
            println!("migrations applied to {}", redact(&config.database_url));
            Ok(ExitCode::SUCCESS)
        }
        Command::Merchant(command) => merchant_command(&config, command).await,
        Command::Admin(AdminCommand::Key(command)) => admin_key_command(&config, command).await,
        Command::Admin(AdminCommand::Activity(args)) => {
            admin_activity::run(&compose::open_existing(&config).await?, args).await
        }
        Command::Workflows(workflows::WorkflowsCommand::Stuck(args)) => {
            workflows::stuck(&compose::open_existing(&config).await?, &args).await
        }
        Command::Demo(args) => demo::run(config, args).await,
        Command::Bench(command) => bench::run(config, command).await,
        Command::Reconcile { dir, date } => reconcile::run(&config, dir, date).await,
        Command::Retention(command) => retention::run(&config, command).await,
        Command::Statements { date, out } => {
            let engine = compose::open_existing(&config).await?;
            let written = crate::app::statements::write_day(&engine, &date, &out).await?;
            let files: Vec<String> = written.iter().map(|path| path.display().to_string()).collect();
            println!("{}", serde_json::json!({ "date": date, "files": files }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Archive(archive::ArchiveCommand::Restore { id }) => archive::restore(&config, id).await,
        Command::Workflows(_)
        | Command::Simulator(_)
        | Command::Schema
        | Command::Archive(archive::ArchiveCommand::Verify { .. }) => {
            unreachable!("run without the service configuration")
        }
    }
}

async fn merchant_command(config: &Config, command: MerchantCommand) -> anyhow::Result<ExitCode> {
    use crate::app::merchants;
    let engine = compose::open_existing(config).await?;
    let line = match command {
        MerchantCommand::Create {
            name,
            webhook_url,
            profile,
        } => {
            if let Some(url) = &webhook_url {
                warn_if_webhooks_refused(url, config.webhooks.allow_private_targets).await;
            }
            let created =
                merchants::create_merchant(&engine, &name, webhook_url.as_deref(), profile.into()).await?;
            let endpoint = created.webhook_endpoint.as_ref();
            serde_json::json!({
                "id": created.id, "apiKey": created.api_key,
                "webhookEndpointId": endpoint.map(|created| created.endpoint.id),
                "webhookSecret": endpoint.map(|created| &created.secret),
            })
        }
        MerchantCommand::Fee {
            merchant,
            basis_points,
        } => {
            merchants::set_fee_rate(&engine, merchant, basis_points).await?;
            serde_json::json!({ "id": merchant, "feeBasisPoints": basis_points })
        }
        MerchantCommand::Key(KeyCommand::Create { merchant, label }) => {
            let created = merchants::create_api_key(&engine, merchant, &label).await?;
            serde_json::json!({ "id": created.id, "apiKey": created.api_key })
        }
        MerchantCommand::Key(KeyCommand::Revoke { merchant, key }) => {
            merchants::revoke_api_key(&engine, merchant, key).await?;
            serde_json::json!({ "id": key, "revoked": true })
        }
        MerchantCommand::Key(KeyCommand::List { merchant }) => {
            for key in merchants::api_keys(&engine, merchant).await? {
                let line = serde_json::json!({ "id": key.id, "label": key.label, "createdAt": key.created_at, "revokedAt": key.revoked_at });
                println!("{line}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        MerchantCommand::Register(args) => {
            use crate::kinds::registration::use_cases::{self as registrations, NewRegistration, NewWebsite};
            let input = NewRegistration {
                product_codes: args.product_codes,
                merchant_display_name: args.display_name,
                merchant_mcc: args.mcc,
                logo_url: None,
                websites: args
                    .website
                    .into_iter()
                    .map(|url| NewWebsite {
                        url,
                        name: None,
                        website_type: Some("WEB".into()),
                    })
                    .collect(),
                region: args.region,
                city: None,
                address: None,
                legal_name: args.legal_name,
                registration_type: args
                    .registration_no
                    .as_ref()
                    .map(|_| "ENTERPRISE_REGISTRATION_NO".to_string()),
                registration_no: args.registration_no,
                business_type: None,
            };
            let key = args
                .idempotency_key
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let principal = crate::app::auth::Principal::Admin;
            let view = registrations::register(&engine, &principal, "admin:cli", args.merchant, input, &key)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            serde_json::json!({
                "id": view.registration.id,
                "registrationRequestId": view.registration.registration_request_id,
                "status": view.status(&engine),
            })
        }
        MerchantCommand::Webhooks(args) => return merchant_webhooks::run(&engine, &args).await,
    };
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

/// Says on stderr when the webhook target rules (`webhooks::http`) will refuse every
/// delivery to `url` although it may be created: a name that resolves only to private
/// addresses now, while `webhooks.allow_private_targets` is off.
async fn warn_if_webhooks_refused(url: &str, allow_private_targets: bool) {
    let Ok(parsed) = url::Url::parse(url) else {
        return; // create_merchant refuses it, saying why.
    };
    if allow_private_targets || crate::webhooks::http::check_target(&parsed, false).is_err() {
        return; // Allowed, or refused outright by create_merchant, saying why.
    }
    let refusal = match (parsed.host_str(), parsed.port_or_known_default()) {
        (Some(host), Some(port)) => match tokio::net::lookup_host((host, port)).await {
            Ok(addresses) => {
                let addresses: Vec<_> = addresses.collect();
                (!addresses.is_empty()
                    && addresses
                        .iter()
                        .all(|a| !crate::webhooks::http::is_public(a.ip())))
                .then_some(crate::webhooks::http::TARGET_NOT_ALLOWED)
            }
            Err(_) => None,
        },
        _ => None,
    };
    if let Some(why) = refusal {
        eprintln!(
            "warning: webhooks to {url} will not be sent: {why} (webhooks.allow_private_targets is \
             {allow_private_targets})"
        );
    }
}

async fn admin_key_command(config: &Config, command: AdminKeyCommand) -> anyhow::Result<ExitCode> {
    use crate::app::console;
    let engine = compose::open_existing(config).await?;
    match command {
        AdminKeyCommand::Create { name, role } => {
            let role: crate::app::roles::AdminRole = role.parse()?;
            let key = console::create_admin_key(&engine, &name, role).await?;
            let by = console::Operator::command_line();
            let note = format!("role {role}");
            crate::app::activity::record(
                &engine,
                &by,
                "admin key create",
                None,
                std::slice::from_ref(&name),
                &note,
            )
            .await?;
            println!(
                "{}",
                serde_json::json!({ "name": name, "role": role.to_string(), "apiKey": key })
            );
        }
        AdminKeyCommand::Revoke { name } => {
            console::revoke_admin_key(&engine, &name).await?;
            let by = console::Operator::command_line();
            crate::app::activity::record(
                &engine,
                &by,
                "admin key revoke",
                None,
                std::slice::from_ref(&name),
                "revoked",
            )
            .await?;
            println!("{}", serde_json::json!({ "name": name, "revoked": true }));
        }
        AdminKeyCommand::List => {
            for key in console::admin_keys(&engine).await? {
                let line = serde_json::json!({ "name": key.name, "role": key.role, "createdAt": key.created_at, "revokedAt": key.revoked_at });
                println!("{line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command and every flag, however deep, has a line in `--help`.
    #[test]
    fn every_command_and_flag_says_what_it_is_for() {
        fn undocumented(command: &clap::Command, path: &str, found: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            if command.get_about().is_none() {
                found.push(path.clone());
            }
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() {
                    found.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
                undocumented(sub, &path, found);
            }
        }
        let mut found = Vec::new();
        undocumented(&super::Cli::command(), "", &mut found);
        assert!(found.is_empty(), "no help line: {found:#?}");
    }
}
