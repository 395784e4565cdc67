//! Report files fetched from Alipay+'s SFTP, on SQLite and on PostgreSQL + Redis, against a real
//! OpenSSH server started here (Debian's `openssh-server`: `sshd` on a loopback port, its own
//! host key, a chrooted SFTP-only user signing in with a key): a day's files put on the server
//! are fetched into the drop folder and reconciled on schedule, byte for byte the files
//! themselves (reconciling the server's copy is the same run), and a server showing another host
//! key is refused. A server that cannot be reached
//! is tried again each scan and counted in `/metrics`, and the drop folder keeps working.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use plusflow::alipayplus::sftp::{Local, fetch};
use plusflow::config::SftpConfig;
use serde_json::{Value, json};

use common::app::*;
use common::{Backend, poll_until, wait_for};

on_each_backend!(
    a_days_files_fetched_over_sftp_reconcile_like_the_same_files_dropped_in_the_folder,
    an_unreachable_sftp_server_is_tried_again_each_scan_and_counted_never_a_crash,
);

/// The SFTP-only user sshd chroots (made here if missing).
const SFTP_USER: &str = "plusflow-sftp";

fn run(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A key pair made by `ssh-keygen` at `path` (and `path.pub`).
fn key_pair(path: &Path) {
    assert!(
        run(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "", "-f", path.to_str().unwrap()]
        ),
        "ssh-keygen"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `sshd` serving SFTP only, its user chrooted in `root`.
struct SftpServer {
    sshd: Child,
    base: PathBuf,
    root: PathBuf,
    port: u16,
}

impl SftpServer {
    /// Started, or `None` (saying why) where it cannot run: sshd chroots, so it needs root.
    fn start() -> Option<Self> {
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            println!("skipped: the SFTP server test runs sshd with a chroot, which needs root");
            return None;
        }
        if !Path::new("/usr/sbin/sshd").exists() {
            println!("skipped: install openssh-server (sshd) to run the SFTP test");
            return None;
        }
        if !run("id", &["-u", SFTP_USER]) {
            // Another test may be making it at the same time: it is there after either.
            run(
                "useradd",
                &[
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SFTP_USER,
                ],
            );
            assert!(run("id", &["-u", SFTP_USER]), "useradd {SFTP_USER}");
        }
        // Not locked (a locked account may not sign in even with a key), no password.
        assert!(run("usermod", &["-p", "*", SFTP_USER]));
        std::fs::create_dir_all("/run/sshd").unwrap();
        // Every folder above a chroot is root's and writable by root only (not /tmp).
        let base = PathBuf::from("/srv/plusflow-sftp-test").join(uuid::Uuid::now_v7().simple().to_string());
        let root = base.join("root");
        std::fs::create_dir_all(&root).unwrap();
        key_pair(&base.join("host_key"));
        key_pair(&base.join("client_key"));
        std::fs::copy(base.join("client_key.pub"), base.join("authorized_keys")).unwrap();
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {base}/host_key\nPidFile {base}/sshd.pid\n\
             AuthorizedKeysFile {base}/authorized_keys\nStrictModes no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nAllowUsers {SFTP_USER}\n\
             Subsystem sftp internal-sftp\nChrootDirectory {root}\nForceCommand internal-sftp\n",
            base = base.display(),
            root = root.display(),
        );
        std::fs::write(base.join("sshd_config"), config).unwrap();
        let log = std::fs::File::create(base.join("sshd.log")).unwrap();
        let sshd = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(base.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sshd");
        Some(Self {
            sshd,
            base,
            root,
            port,
        })
    }

    async fn listening(&self) {
        let port = self.port;
        wait_for("sshd to listen", Duration::from_secs(20), || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
        })
        .await;
    }

    /// Settings fetching from this server into `drop`, scanning every 200 ms.
    fn config(&self, drop: &Path) -> String {
        sftp_config(drop, self.port, &self.base)
    }
}

impl Drop for SftpServer {
    fn drop(&mut self) {
        self.sshd.kill().ok();
        self.sshd.wait().ok();
        std::fs::remove_dir_all(&self.base).ok();
    }
}

fn sftp_config(drop: &Path, port: u16, keys: &Path) -> String {
    format!(
        "[reconciliation]\ndrop_dir = \"{}\"\nscan_interval = \"200ms\"\n\
         [reconciliation.sftp]\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"{SFTP_USER}\"\n\
         key_file = \"{keys}/client_key\"\nhost_key_file = \"{keys}/host_key.pub\"\n\
         clearing_dir = \"/settlements/clearing\"\nsettlement_dir = \"/settlements/settlement\"\n",
        drop.display(),
        keys = keys.display(),
    )
}

fn setup_with(config: String) -> Setup {
    Setup {
        extra_config: Box::leak(config.into_boxed_str()),
        ..Setup::default()
    }
}

/// The newest run once it is RECONCILED.
async fn reconciled_run(app: &App) -> Value {
    poll_until("the files to be reconciled", Duration::from_secs(60), || async {
        let runs = app
            .gql(
                Some(ADMIN_KEY),
                "{ reconciliationRuns { edges { node { id reportDate status rowsRead discrepancyCount } } } }",
                json!({}),
            )
            .await;
        let node = runs["data"]["reconciliationRuns"]["edges"][0]["node"].clone();
        (node["status"] == "RECONCILED").then_some(node)
    })
    .await
}

/// The date Alipay+ generates `day`'s clearing files on (its folder's name): the day after.
fn generated_on(day: &str) -> String {
    (chrono::NaiveDate::parse_from_str(day, "%Y%m%d").unwrap() + chrono::Duration::days(1))
        .format("%Y%m%d")
        .to_string()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

async fn a_days_files_fetched_over_sftp_reconcile_like_the_same_files_dropped_in_the_folder(
    backend: Backend,
) {
    let Some(server) = SftpServer::start() else {
        return;
    };
    server.listening().await;
    let drop = tempfile::tempdir().unwrap();
    let Some(app) = spawn_app_with(backend, setup_with(server.config(drop.path()))).await else {
        return;
    };
    let day = clearing_day_now().await;
    let (_, key) = app.merchant("Fetched Coffee");
    app.paid_payment(&key, "sftp-0", "1250").await;
    app.paid_payment(&key, "sftp-1", "800").await;
    // Alipay+ puts the day's files on its server, in the folder of the day it generated them.
    let generated = generated_on(&day);
    let remote = server.root.join("settlements/clearing").join(&generated);
    let staging = server.root.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::create_dir_all(server.root.join("settlements/clearing")).unwrap();
    app.simulator_reports(&staging, &day, &[]).await;
    std::fs::rename(&staging, &remote).unwrap();

    let run = reconciled_run(&app).await;
    assert_eq!(run["reportDate"], day);
    assert_eq!(run["rowsRead"], 2);
    assert_eq!(run["discrepancyCount"], 0);
    let fetched = drop.path().join(&generated);
    assert_eq!(names_in(&fetched), names_in(&remote), "every file fetched");
    // The server's own copy, dropped in a folder, is the same files: the same run.
    let same = app.reconcile(&remote, &day).await;
    assert_eq!(same["again"], true, "{same}");
    assert_eq!(same["run_id"], run["id"]);

    // A server showing another host key than the configured one is refused: nothing fetched.
    let impostor = SftpConfig {
        host: "127.0.0.1".into(),
        port: server.port,
        user: SFTP_USER.into(),
        key_file: server.base.join("client_key"),
        host_key_file: server.base.join("client_key.pub"),
        clearing_dir: "/settlements/clearing".into(),
        settlement_dir: "/settlements/settlement".into(),
    };
    let elsewhere = tempfile::tempdir().unwrap();
    let local = Local {
        clearing: elsewhere.path(),
        settlement: elsewhere.path(),
    };
    let refused = fetch(&impostor, local, "20000101", 1 << 30).await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(names_in(elsewhere.path()).is_empty());
}

async fn an_unreachable_sftp_server_is_tried_again_each_scan_and_counted_never_a_crash(backend: Backend) {
    if !Path::new("/usr/bin/ssh-keygen").exists() {
        println!("skipped: install openssh-client (ssh-keygen) to run the SFTP test");
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    key_pair(&keys.path().join("host_key"));
    key_pair(&keys.path().join("client_key"));
    let drop = tempfile::tempdir().unwrap();
    // Nothing listens there.
    let config = sftp_config(drop.path(), free_port(), keys.path());
    let Some(app) = spawn_app_with(backend, setup_with(config)).await else {
        return;
    };
    let failures = || async {
        let text = app
            .http
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|line| line.starts_with("plusflow_report_fetch_failures_total"))
            .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    wait_for("two failed fetches", Duration::from_secs(30), || async {
        failures().await >= 2.0
    })
    .await;
    // Still scanning: files put in the drop folder by hand are reconciled.
    let day = clearing_day_now().await;
    let (_, key) = app.merchant("Hand-delivered Tea");
    app.paid_payment(&key, "by-hand", "900").await;
    let staging = tempfile::tempdir().unwrap();
    app.simulator_reports(staging.path(), &day, &[]).await;
    std::fs::rename(staging.path(), drop.path().join(generated_on(&day))).unwrap();
    let run = reconciled_run(&app).await;
    assert_eq!(run["rowsRead"], 1);
}
