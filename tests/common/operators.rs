//! Operators' side of the harness: workflows whose refunds park fast, operator keys from the
//! real command line, and a refund parked for an operator.

use std::path::PathBuf;
use std::time::Duration;

use super::app::{App, Setup, spawn_app_with};
use super::{Backend, wait_for};

/// The shipped workflows with the refund's `refund` effect given 2 quick attempts, so a refund
/// Alipay+ cannot be reached for parks within a second.
pub fn quickly_parking_workflows() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir("workflows").unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.ends_with("refund.toml") {
            text = text.replace(
                "[retry]\nattempts = 100\nbackoff = \"1s\"\ncap = \"1m\"",
                "[retry]\nattempts = 2\nbackoff = \"100ms\"\ncap = \"100ms\"",
            );
            assert!(
                text.contains("attempts = 2"),
                "the refund's retry section changed shape"
            );
        }
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    dir
}

/// An operator key with the `admin` role, made by the real command line.
pub fn operator_key(app: &App, name: &str) -> String {
    key_with_role(app, name, "admin")
}

/// A key for operator `name` with `role`, made by the real command line.
pub fn key_with_role(app: &App, name: &str, role: &str) -> String {
    let created = app.plusflow(&["admin", "key", "create", "--name", name, "--role", role]);
    assert_eq!(
        (&created["name"], &created["role"]),
        (&serde_json::json!(name), &serde_json::json!(role))
    );
    created["apiKey"].as_str().unwrap().to_string()
}

/// A paid payment and a refund of it that parks (the proxy refuses `refund`): (merchant key,
/// payment id, refund id).
pub async fn parked_refund(app: &App) -> (String, String, String) {
    let (_, key) = app.merchant("Parks refunds");
    let (payment, _) = app.paid_payment(&key, "to-park", "1000").await;
    let refund = app.refund(&key, "park-1", &payment, "USD", "300").await;
    let refund_id = refund["data"]["createRefund"]["id"]
        .as_str()
        .expect("a refund")
        .to_string();
    let db = &app.engine.db;
    wait_for("the refund to park", Duration::from_secs(30), || async {
        let id = refund_id.parse().unwrap();
        plusflow::store::instance(db, id).await.unwrap().needs_attention
    })
    .await;
    (key, payment, refund_id)
}

pub async fn spawn_parking_refunds(backend: Backend, workflows: &tempfile::TempDir) -> Option<App> {
    let setup = Setup {
        refused: vec!["refund"],
        workflows: Some(PathBuf::from(workflows.path())),
        ..Setup::default()
    };
    spawn_app_with(backend, setup).await
}
