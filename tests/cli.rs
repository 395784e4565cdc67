//! The command line as an operator meets it: workflow checks, and bad configuration or
//! workflow files failing at start with one clear message, never a panic.

mod common;

use common::{Backend, Options, TestEnv, run_plusflow};
use sea_orm::{ConnectionTrait, Database};

#[test]
fn workflows_check_passes_on_the_shipped_files() {
    let (code, stdout, stderr) = run_plusflow(&["workflows", "check"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ok  engine_probe v1"), "{stdout}");
}

#[test]
fn workflows_check_lists_every_mistake_with_its_file_and_fails() {
    let (code, _, stderr) = run_plusflow(&["workflows", "check", "--dir", "tests/fixtures/workflows/broken"]);
    assert_ne!(code, 0);
    let expected = [
        "order.toml: transition #3 (paying on finish_done): 'to' names unknown state 'shipped'",
        "order.toml: transition #2 (created on step_done): duplicate transition: ('created', step_done)",
        "order.toml: transition #4 (paid on cancel_requested): leaves terminal state 'paid'",
        "order.toml: state 'orphan' is unreachable from the start state 'created'",
        "order.toml: state 'created' can wait forever: it has no timer, and start enters it without scheduling an effect",
        "typo.toml: TOML parse error at line",
        "statusless.toml: state 'waiting' has no status (the public status an instance shows there)",
        "statusless.toml: state 'done': status 'done' is not a name in capitals (A-Z, _)",
    ];
    for line in expected {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
    assert!(stderr.contains("stp_done"), "{stderr}");
}

#[test]
fn workflows_check_refuses_a_status_the_kind_does_not_have() {
    let dir = "tests/fixtures/workflows/wrong_status";
    let (code, _, stderr) = run_plusflow(&["workflows", "check", "--dir", dir]);
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "workflow 'dispute' v1: state 'responded' has status 'SUCCEEDED', not one of NEEDS_RESPONSE, RESPONDING, RESPONDED, EXPIRED"
        ),
        "{stderr}"
    );
}

#[test]
fn workflows_graph_prints_mermaid() {
    let (code, stdout, _) = run_plusflow(&["workflows", "graph", "engine_probe"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("stateDiagram-v2"), "{stdout}");
}

fn start_with_config(toml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, toml).unwrap();
    let (code, _, stderr) = run_plusflow(&["--config", path.to_str().unwrap(), "migrate"]);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (code, stderr)
}

#[test]
fn an_unparsable_duration_fails_at_start_naming_the_key() {
    let (code, stderr) = start_with_config("[jobs]\nlease = \"soon\"\n");
    assert_ne!(code, 0);
    assert!(
        stderr.contains("jobs.lease: 'soon' is not a duration"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_database_scheme_fails_at_start_naming_the_key() {
    let (code, stderr) = start_with_config("[database]\nurl = \"mysql://localhost/plusflow\"\n");
    assert_ne!(code, 0);
    assert!(
        stderr.contains("database.url: unknown database scheme 'mysql'"),
        "{stderr}"
    );
}

#[test]
fn a_value_of_the_wrong_type_fails_at_start_naming_the_key() {
    let (code, stderr) = start_with_config("[server]\nport = \"eighty\"\n");
    assert_ne!(code, 0);
    assert!(stderr.contains("server.port"), "{stderr}");
}

#[test]
fn a_corrupt_workflow_file_fails_at_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("payment.toml"), "kind = \"payment\"\nversion = [").unwrap();
    let config = format!("[workflows]\ndir = \"{}\"\n", dir.path().display());
    let (code, stderr) = start_with_config(&config);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("workflows.dir:") && stderr.contains("payment.toml: TOML parse error"),
        "{stderr}"
    );
}

/// An installed binary in a folder of its own: no workflows/ or config/ beside it, the SQLite
/// file created there.
#[test]
fn the_demo_runs_from_an_empty_folder_and_prints_every_payment_outcome_in_clean_tables() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(common::plusflow_binary())
        .arg("demo")
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("PLUSFLOW_ENV")
        .output()
        .expect("run plusflow demo");
    let (code, stdout, stderr) = (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(
        dir.path().join("plusflow.db").exists(),
        "the demo keeps its database where it runs"
    );
    // Nothing but warnings interleaves with the tables on a terminal (no migration INFO lines).
    assert!(
        !stderr.contains(" INFO ") && !stderr.to_lowercase().contains("migration"),
        "the demo's log is not quiet:\n{stderr}"
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let row = |scenario: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(scenario))
            .unwrap_or_else(|| panic!("no row {scenario}:\n{stdout}"))
            .to_string()
    };
    assert!(
        row("paid, notified").contains("SUCCEEDED")
            && row("paid, notified").contains("SUCCEEDED pay=1 cancel=0")
    );
    assert!(row("paid, notice lost").contains("GCash"));
    assert!(row("declined").contains("FAILED (USER_BALANCE_NOT_ENOUGH)"));
    assert!(
        row("expired").contains("cancelling>cancelled")
            && row("expired").contains("CANCELLED pay=1 cancel=1")
    );
    assert!(row("merchant cancel").contains("CANCELLED pay=1 cancel=1"));
    let table = |header: &str| -> Vec<&str> {
        stdout
            .lines()
            .skip_while(|l| !l.starts_with(header))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect()
    };
    let refunds = table("REFUND OF");
    assert_eq!(refunds.len(), 4, "{stdout}");
    assert!(
        refunds[0].contains("5.00 USD") && refunds[1].contains("7.50 USD"),
        "partial refunds: {refunds:?}"
    );
    assert!(
        refunds[1].contains("12.50 USD / 12.50 USD") && refunds[2].contains("8.00 USD / 8.00 USD"),
        "{refunds:?}"
    );
    assert!(
        refunds[3].starts_with("paid, disputed") && refunds[3].contains("12.00 USD / 30.00 USD"),
        "the accepted escalation's refund: {refunds:?}"
    );
    assert!(
        refunds
            .iter()
            .all(|r| r.contains("SUCCEEDED") && r.ends_with("S SUCCESS")),
        "{refunds:?}"
    );
    let disputes = table("DISPUTE OF");
    assert_eq!(disputes.len(), 2, "{stdout}");
    assert!(
        disputes[0].contains("RETRIEVAL")
            && disputes[0].contains("RESPONDED")
            && disputes[0].contains("responseCode 0001"),
        "{disputes:?}"
    );
    assert!(
        disputes[1].contains("ESCALATION") && disputes[1].contains("ACCEPT_PARTIAL_REFUND 12.00 USD"),
        "{disputes:?}"
    );
    assert!(
        disputes
            .iter()
            .all(|d| d.ends_with("initiate=S SUCCESS responses=1")),
        "{disputes:?}"
    );
    assert!(row("AlipayCN, customs").contains(" Alipay "));
    let declarations = table("CUSTOMS OF");
    assert_eq!(declarations.len(), 2, "{stdout}");
    assert!(
        declarations[0].contains("120.00 CNY")
            && declarations[0].contains("ACCEPTED")
            && declarations[0].ends_with("CUSTOMS_ACCEPT_SUCCESS declare=1"),
        "{declarations:?}"
    );
    assert!(
        declarations[1].contains("80.00 CNY") && declarations[1].contains("REJECTED"),
        "{declarations:?}"
    );
    assert!(
        stdout.contains("before registration, a KR payment: refused"),
        "{stdout}"
    );
    let wallets = table("REGISTRATION");
    assert_eq!(wallets.len(), 3, "{stdout}");
    assert!(wallets.iter().all(|w| w.starts_with("COMPLETED")), "{wallets:?}");
    let approved = wallets.iter().filter(|w| w.contains(" APPROVED ")).count();
    assert_eq!(approved, 2, "{wallets:?}");
    assert!(
        wallets[1].contains("ALIPAY_HK") && wallets[1].contains("REJECTED   no website"),
        "{wallets:?}"
    );
}

/// A one-shot command (here `admin key list` and `workflows stuck`) on a database that is not
/// there (SQLite) or has no plusflow tables (PostgreSQL) is refused naming that database, and
/// creates nothing; after `migrate` it runs, saying which database it used.
async fn a_one_shot_command_refuses_a_database_plusflow_has_not_migrated(backend: Backend) {
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let config = env.config_path.to_str().unwrap();
    let database_name = match backend {
        Backend::Sqlite => "plusflow.db".to_string(),
        Backend::PostgresRedis => env.database_url.rsplit('/').next().unwrap().to_string(),
    };
    for command in [&["admin", "key", "list"][..], &["workflows", "stuck"]] {
        let args = [&["--config", config][..], command].concat();
        let (code, _, stderr) = run_plusflow(&args);
        assert_ne!(code, 0, "{command:?} ran on a database never migrated: {stderr}");
        assert!(stderr.contains(&database_name), "{stderr}");
        assert!(stderr.contains("run `plusflow migrate`"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    match backend {
        Backend::Sqlite => assert!(
            !env.dir.path().join("plusflow.db").exists(),
            "a database was created"
        ),
        Backend::PostgresRedis => {
            let db = Database::connect(env.database_url.as_str()).await.unwrap();
            let tables = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap();
            assert_eq!(tables, 0, "tables were created");
        }
    }
    let (code, _, stderr) = run_plusflow(&["--config", config, "migrate"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run_plusflow(&["--config", config, "admin", "key", "list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.starts_with("database: "), "{stderr}");
    assert!(stderr.contains(&database_name), "{stderr}");
    assert!(
        !stderr.contains("INFO"),
        "a one-shot command logged at INFO: {stderr}"
    );
    // A kind or a state no workflow has is said, not answered with an empty table.
    let stuck =
        |extra: &[&str]| run_plusflow(&[&["--config", config, "workflows", "stuck"][..], extra].concat());
    let (code, _, stderr) = stuck(&["--kind", "parcel"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no workflow kind 'parcel' (kinds: "), "{stderr}");
    let (code, _, stderr) = stuck(&["--kind", "payment", "--state", "shipped"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no state 'shipped'"), "{stderr}");
    assert!(stderr.contains("awaiting_customer"), "{stderr}");
    let (code, _, stderr) = stuck(&["--kind", "payment", "--state", "awaiting_customer"]);
    assert_eq!(code, 0, "{stderr}");
    // A webhook URL the target rules refuse outright (a private address written out) is
    // refused, saying why, and nothing is created; one whose name resolves only to private
    // addresses is created, with a warning.
    let create = |url: &'static str| {
        run_plusflow(&[
            "--config",
            config,
            "merchant",
            "create",
            "--name",
            "Inside",
            "--webhook-url",
            url,
        ])
    };
    let (code, stdout, stderr) = create("http://10.0.0.1/hooks");
    assert_ne!(code, 0, "{stdout}");
    assert!(
        stderr.contains("webhookUrl: the webhook target is not a public address"),
        "{stderr}"
    );
    let (code, stdout, stderr) = create("http://localhost:9/hooks");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"apiKey\""), "{stdout}");
    assert!(
        stderr.contains(
            "warning: webhooks to http://localhost:9/hooks will not be sent: the webhook target is not a public address"
        ),
        "{stderr}"
    );
    let public = [
        "--config",
        config,
        "merchant",
        "create",
        "--name",
        "Outside",
        "--webhook-url",
        "https://93.184.215.14/hooks",
    ];
    let (code, _, stderr) = run_plusflow(&public);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

on_each_backend!(a_one_shot_command_refuses_a_database_plusflow_has_not_migrated);
