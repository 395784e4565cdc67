//! `plusflow simulator`: the Alipay+ simulator as its own server. Every flag can also be set by
//! environment (`PLUSFLOW__SIMULATOR__<FLAG>`, e.g. `PLUSFLOW__SIMULATOR__SEED=7`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rsa::pkcs8::EncodePublicKey;

use crate::alipayplus::signing::{SigningKey, VerifyingKeys};
use crate::clock::SystemClock;
use crate::simulator::{AutoComplete, Chaos, Simulator, SimulatorConfig};

fn duration(text: &str) -> Result<Duration, String> {
    crate::workflow::parse_duration(text)
}

fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("'{text}' is not a probability between 0 and 1")),
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum SimulatorCommand {
    /// Writes the three clearing files of a clearing day from a running simulator's ledger.
    Reports(ReportsArgs),
    /// Writes the settlement file of each agreement for a settlement date (a business day),
    /// covering the clearing days named.
    Settlement(SettlementArgs),
}

#[derive(Debug, clap::Args)]
pub struct SettlementArgs {
    /// The running simulator, e.g. http://127.0.0.1:9090.
    #[arg(long)]
    from: String,
    /// The settlement date, YYYYMMDD.
    #[arg(long)]
    date: String,
    /// A clearing day (UTC+8, YYYYMMDD) the settlement covers (repeatable: a Monday's covers
    /// Friday, Saturday and Sunday).
    #[arg(long, required = true)]
    covers: Vec<String>,
    /// The folder the files are written to (created if missing).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ReportsArgs {
    /// The running simulator, e.g. http://127.0.0.1:9090.
    #[arg(long)]
    from: String,
    /// The clearing day (UTC+8), YYYYMMDD.
    #[arg(long)]
    date: String,
    /// The folder the files are written to (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Puts one discrepancy of this kind into the files (repeatable; for tests).
    #[arg(long, value_enum)]
    inject: Vec<crate::simulator::reports::Injection>,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimulatorArgs {
    #[command(subcommand)]
    command: Option<SimulatorCommand>,
    /// Listen port (0 = pick one; the address is printed).
    #[arg(long, env = "PLUSFLOW__SIMULATOR__PORT", default_value_t = 9090)]
    port: u16,
    /// Listen address.
    #[arg(long, env = "PLUSFLOW__SIMULATOR__HOST", default_value = "127.0.0.1")]
    host: String,
    /// The client id of the ACQP it serves.
    #[arg(
        long,
        env = "PLUSFLOW__SIMULATOR__CLIENT_ID",
        default_value = "PLUSFLOW_DEV_CLIENT"
    )]
    client_id: String,
    /// Required to serve: the ACQP's public key (PEM), which requests are verified with.
    #[arg(long, env = "PLUSFLOW__SIMULATOR__ACQP_PUBLIC_KEY")]
    acqp_public_key: Option<PathBuf>,
    /// The simulator's private key (PEM); generated if absent, its public half printed.
    #[arg(long, env = "PLUSFLOW__SIMULATOR__PRIVATE_KEY")]
    private_key: Option<PathBuf>,
    /// keyVersion of the simulator's key (plusflow's `alipayplus.alipayplus_key_version`).
    #[arg(long, env = "PLUSFLOW__SIMULATOR__KEY_VERSION", default_value = "1")]
    key_version: String,
    /// keyVersion of the ACQP's key (plusflow's `alipayplus.key_version`).
    #[arg(long, env = "PLUSFLOW__SIMULATOR__ACQP_KEY_VERSION", default_value = "1")]
    acqp_key_version: String,
    /// What the customer does at checkout, unattended.
    #[arg(long, value_enum, env = "PLUSFLOW__SIMULATOR__AUTO_COMPLETE", default_value_t = AutoComplete::None)]
    auto_complete: AutoComplete,
    /// How long the unattended customer takes.
    #[arg(long, value_parser = duration, env = "PLUSFLOW__SIMULATOR__AUTO_COMPLETE_AFTER", default_value = "1s")]
    auto_complete_after: Duration,
    /// The share of calls answered U (unknown), 0 to 1.
    #[arg(long, value_parser = probability, env = "PLUSFLOW__SIMULATOR__FAULT_UNKNOWN_RATE", default_value = "0")]
    fault_unknown_rate: f64,
    /// The share of calls left unanswered until the caller times out, 0 to 1.
    #[arg(long, value_parser = probability, env = "PLUSFLOW__SIMULATOR__FAULT_TIMEOUT_RATE", default_value = "0")]
    fault_timeout_rate: f64,
    /// The share of calls answered HTTP 5xx, 0 to 1.
    #[arg(long, value_parser = probability, env = "PLUSFLOW__SIMULATOR__FAULT_HTTP5XX_RATE", default_value = "0")]
    fault_http5xx_rate: f64,
    /// The share of notifications sent twice, 0 to 1.
    #[arg(long, value_parser = probability, env = "PLUSFLOW__SIMULATOR__NOTIFY_DUPLICATE_RATE", default_value = "0")]
    notify_duplicate_rate: f64,
    /// The share of notifications never sent, 0 to 1.
    #[arg(long, value_parser = probability, env = "PLUSFLOW__SIMULATOR__NOTIFY_DROP_RATE", default_value = "0")]
    notify_drop_rate: f64,
    /// How long each notification waits before it is sent (late notifications).
    #[arg(long, value_parser = duration, env = "PLUSFLOW__SIMULATOR__NOTIFY_DELAY", default_value = "0s")]
    notify_delay: Duration,
    /// Multiplies the notification retry schedule (0.001: a day of retries in ~90 s).
    #[arg(long, env = "PLUSFLOW__SIMULATOR__TIME_SCALE", default_value_t = 1.0)]
    time_scale: f64,
    /// The seed of the chaos: the same seed, the same faults.
    #[arg(long, env = "PLUSFLOW__SIMULATOR__SEED", default_value_t = 1)]
    seed: u64,
    /// The share of customs declarations the simulated customs authority rejects.
    #[arg(long, value_parser = probability, env = "PLUSFLOW__SIMULATOR__CUSTOMS_REJECT_RATE", default_value = "0")]
    customs_reject_rate: f64,
    /// The share of registrations each reviewing wallet (AlipayHK, GCash) rejects.
    #[arg(long, value_parser = probability, env = "PLUSFLOW__SIMULATOR__REGISTRATION_REJECT_RATE", default_value = "0")]
    registration_reject_rate: f64,
    /// How long a timeout fault hangs.
    #[arg(long, value_parser = duration, env = "PLUSFLOW__SIMULATOR__HANG", default_value = "10s")]
    hang: Duration,
}

pub async fn run(args: SimulatorArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(SimulatorCommand::Reports(reports)) => return write_reports(reports).await,
        Some(SimulatorCommand::Settlement(settlement)) => return write_settlement(settlement).await,
        None => {}
    }
    let acqp_public_key = args
        .acqp_public_key
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("--acqp-public-key is required to serve"))?;
    let acqp_keys = VerifyingKeys::single(VerifyingKeys::read_pem(acqp_public_key)?, &args.acqp_key_version);
    let (signing_key, generated) = match &args.private_key {
        Some(path) => (SigningKey::from_pem_file(path, &args.key_version)?, false),
        None => (SigningKey::generate(&args.key_version), true),
    };
    let public_key_pem = signing_key.public_key().to_public_key_pem(Default::default())?;
    let mut config = SimulatorConfig::new(&args.client_id, acqp_keys, signing_key);
    config.auto_complete = args.auto_complete;
    config.auto_complete_after = args.auto_complete_after;
    config.chaos = Chaos {
        unknown_rate: args.fault_unknown_rate,
        timeout_rate: args.fault_timeout_rate,
        http5xx_rate: args.fault_http5xx_rate,
        notify_duplicate_rate: args.notify_duplicate_rate,
        notify_drop_rate: args.notify_drop_rate,
    };
    config.notify_delay = args.notify_delay;
    config.time_scale = args.time_scale;
    config.customs_reject_rate = args.customs_reject_rate;
    config.registration_reject_rate = args.registration_reject_rate;
    config.seed = args.seed;
    config.hang = args.hang;
    let simulator = Simulator::new(config, Arc::new(SystemClock));
    let (address, task) = simulator.serve(&args.host, args.port).await?;
    let mut ready = serde_json::json!({ "ready": true, "simulator": format!("http://{address}") });
    if generated {
        // Configure plusflow's alipayplus.public_key_file with this.
        ready["publicKeyPem"] = serde_json::Value::String(public_key_pem);
    }
    println!("{ready}");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = task => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The ledger of the simulator at `from`.
async fn ledger(from: &str) -> anyhow::Result<crate::simulator::reports::LedgerFacts> {
    Ok(
        reqwest::get(format!("{}/simulator/ledger", from.trim_end_matches('/')))
            .await?
            .error_for_status()?
            .json()
            .await?,
    )
}

/// Prints the JSON line of files written for `date`.
fn print_written(date: &str, written: &[PathBuf]) {
    let files: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .collect();
    println!("{}", serde_json::json!({ "date": date, "files": files }));
}

/// `plusflow simulator reports`: the clearing files of a day.
async fn write_reports(args: ReportsArgs) -> anyhow::Result<ExitCode> {
    let ledger = ledger(&args.from).await?;
    std::fs::create_dir_all(&args.out)?;
    let written = crate::simulator::reports::write(&ledger, &args.date, &args.out, &args.inject)?;
    print_written(&args.date, &written);
    Ok(ExitCode::SUCCESS)
}

/// `plusflow simulator settlement`: the settlement files of a date.
async fn write_settlement(args: SettlementArgs) -> anyhow::Result<ExitCode> {
    let ledger = ledger(&args.from).await?;
    std::fs::create_dir_all(&args.out)?;
    let written = crate::simulator::reports::write_settlement(&ledger, &args.date, &args.covers, &args.out)?;
    print_written(&args.date, &written);
    Ok(ExitCode::SUCCESS)
}
