//! The container topology of config/container/compose.yaml, as processes (no container engine
//! runs on this machine kind): PostgreSQL, Redis, Alipay+'s simulator as its own server, two
//! `serve --role api` processes and one `serve --role worker`. Payments created through either
//! API are paid by the worker's effects, notified to the API whose notify URL they carry, and
//! read as SUCCEEDED through the other API.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::app::shared_simulator;
use common::{Backend, Options, TestEnv, free_port, poll_until};

async fn gql(api: &str, key: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{api}/graphql"))
        .bearer_auth(key)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_api_processes_and_a_worker_take_payments_together() {
    let Some(env) = TestEnv::new(Backend::PostgresRedis, Options::default()).await else {
        return;
    };
    let simulator = shared_simulator(&env, |config| {
        config.auto_complete_after = Duration::from_millis(100);
    })
    .await;
    let config_path = env.config_path.to_str().unwrap().to_string();
    let (code, _, stderr) = common::run_plusflow(&["--config", &config_path, "migrate"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = common::run_plusflow(&[
        "--config",
        &config_path,
        "merchant",
        "create",
        "--name",
        "Topology",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let created: Value = serde_json::from_str(stdout.trim()).unwrap();
    let key = created["apiKey"].as_str().unwrap().to_string();

    let first_port = free_port();
    let second_port = loop {
        let port = free_port();
        if port != first_port {
            break port;
        }
    };
    let first = env.spawn_at("api", first_port);
    let second = env.spawn_at("api", second_port);
    let _worker = env.spawn("worker");
    let apis = [
        first.api.clone().expect("an API process serves the API"),
        second.api.clone().expect("an API process serves the API"),
    ];

    let create = "mutation($input: CreatePaymentInput!, $key: String!) { createPayment(input: $input, idempotencyKey: $key) { id } }";
    let mut payments = Vec::new();
    for n in 0..6 {
        let api = &apis[n % 2];
        let input = json!({ "merchantOrderId": format!("topology-{n}"), "orderDescription": "topology",
            "amount": { "currency": "USD", "value": "1000" }, "terminalType": "WEB", "redirectUrl": "https://shop.example/r" });
        let answer = gql(
            api,
            &key,
            create,
            json!({ "input": input, "key": format!("t-{n}") }),
        )
        .await;
        let id = answer["data"]["createPayment"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"))
            .to_string();
        payments.push((n, id));
    }
    for (n, id) in &payments {
        // Read through the API that did not take it.
        let api = &apis[(n + 1) % 2];
        poll_until(
            &format!("payment {n} succeeded"),
            Duration::from_secs(60),
            || async {
                let read = gql(
                    api,
                    &key,
                    "query($id: ID!) { payment(id: $id) { status } }",
                    json!({ "id": id }),
                )
                .await;
                (read["data"]["payment"]["status"] == "SUCCEEDED").then_some(())
            },
        )
        .await;
    }
    assert_eq!(simulator.ledger().payments.len(), 6, "each paid once at Alipay+");
}
