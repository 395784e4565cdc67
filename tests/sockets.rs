//! The subscription socket attacked over a real WebSocket (issue 29, items 1 and 3): it runs
//! subscriptions only; a key revoked through the command line in another process loses its open
//! sockets (merchant and operator alike); a socket without a known key, or silent past
//! `server.socket_init_timeout`, is closed; a frame over `server.max_request_bytes` closes it
//! unanswered; sockets per key and per address and subscriptions per socket are capped.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::app::*;
use common::operators::operator_key;
use common::subscriptions::{Received, Socket};
use common::{Backend, wait_for};

on_each_backend!(a_revoked_key_loses_its_open_socket_which_runs_subscriptions_only);

const PAYMENT_UPDATED: &str = "subscription($id: ID!) { paymentUpdated(id: $id) { id status } }";

fn socket_url(app: &App) -> String {
    app.base.replace("http://", "ws://") + "/graphql/ws"
}

/// A socket whose `connection_init` with `key` was acknowledged.
async fn acknowledged(app: &App, key: &str) -> Socket {
    let mut socket = Socket::connect(&socket_url(app)).await.unwrap();
    assert_eq!(
        socket.init(Some(key)).await,
        Received::Message(json!({ "type": "connection_ack" }))
    );
    socket
}

/// The error code of the answer to operation `id` (its `next` or `error` message).
async fn refusal_code(socket: &mut Socket, id: &str) -> Value {
    loop {
        let message = socket.message().await;
        if message["id"] != id {
            continue;
        }
        let errors = match message["type"].as_str() {
            Some("error") => message["payload"].clone(),
            _ => message["payload"]["errors"].clone(),
        };
        assert!(errors.is_array(), "{message}");
        return errors[0]["extensions"]["code"].clone();
    }
}

/// Waits for the socket to be closed, with its code.
async fn closed_code(socket: &mut Socket) -> u16 {
    loop {
        if let Received::Closed { code, .. } = socket.receive(Duration::from_secs(30)).await {
            return code;
        }
    }
}

async fn a_revoked_key_loses_its_open_socket_which_runs_subscriptions_only(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (merchant, first_key) = app.merchant("Socket owner");
    let second = app.another_key(&merchant, "socket");
    let key = second["apiKey"].as_str().unwrap().to_string();
    let operator = operator_key(&app, "night-shift");
    let (payment, _) = awaiting_payment(&app, &first_key, "ws-1", 599).await;

    let mut merchant_socket = acknowledged(&app, &key).await;
    merchant_socket
        .subscribe("1", PAYMENT_UPDATED, json!({ "id": payment }))
        .await;
    let first = merchant_socket.message().await;
    assert_eq!(
        first["payload"]["data"]["paymentUpdated"]["status"], "AWAITING_CUSTOMER",
        "{first}"
    );

    // Queries and mutations go over HTTP, never on the socket.
    let before = app.payment_count().await;
    let create = "mutation { createPayment(idempotencyKey: \"ws-create\", input: { merchantOrderId: \"ws-2\", orderDescription: \"x\", \
         amount: { currency: \"USD\", value: \"100\" }, terminalType: WEB, redirectUrl: \"https://shop.example/r\" }) { id } }";
    merchant_socket.subscribe("2", create, json!({})).await;
    assert_eq!(
        refusal_code(&mut merchant_socket, "2").await,
        "OPERATION_NOT_ALLOWED"
    );
    merchant_socket
        .subscribe("3", "{ payments(first: 5) { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(
        refusal_code(&mut merchant_socket, "3").await,
        "OPERATION_NOT_ALLOWED"
    );
    assert_eq!(app.payment_count().await, before, "nothing was created");

    let mut operator_socket = acknowledged(&app, &operator).await;
    let force = format!(
        "mutation {{ forceTransition(id: \"{payment}\", event: \"expired\", note: \"from a socket\") {{ id }} }}"
    );
    operator_socket.subscribe("1", &force, json!({})).await;
    assert_eq!(
        refusal_code(&mut operator_socket, "1").await,
        "OPERATION_NOT_ALLOWED"
    );
    operator_socket
        .subscribe("2", PAYMENT_UPDATED, json!({ "id": payment }))
        .await;
    let watched = loop {
        let message = operator_socket.message().await;
        if message["id"] == "2" {
            break message;
        }
    };
    assert_eq!(
        watched["payload"]["data"]["paymentUpdated"]["id"],
        payment.as_str(),
        "{watched}"
    );

    // Revoked by another process: both sockets are closed (4403), the operator's uncached.
    app.plusflow(&[
        "merchant",
        "key",
        "revoke",
        "--merchant",
        &merchant,
        "--key",
        second["id"].as_str().unwrap(),
    ]);
    app.plusflow(&["admin", "key", "revoke", "--name", "night-shift"]);
    assert_eq!(closed_code(&mut operator_socket).await, 4403);
    assert_eq!(closed_code(&mut merchant_socket).await, 4403);

    // A revoked key opens no new socket either.
    let mut again = Socket::connect(&socket_url(&app)).await.unwrap();
    match again.init(Some(&key)).await {
        Received::Closed { reason, .. } => assert!(reason.starts_with("UNAUTHENTICATED"), "{reason}"),
        other => panic!("a revoked key was acknowledged: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_is_bounded_in_time_size_and_number() {
    let setup = Setup {
        server: "socket_init_timeout = \"1s\"\nmax_request_bytes = 65536\nmax_sockets_per_key = 2\n\
                 max_sockets_per_address = 4\nmax_subscriptions_per_socket = 3",
        ..Setup::default()
    };
    let app = spawn_app_with(Backend::Sqlite, setup).await.unwrap();
    let (_, key) = app.merchant("Bounded sockets");
    let (payment, _) = awaiting_payment(&app, &key, "bounded", 599).await;
    let url = socket_url(&app);

    // Silent past the init timeout: closed 4408.
    let mut silent = Socket::connect(&url).await.unwrap();
    assert_eq!(closed_code(&mut silent).await, 4408);
    // No key, or a key nobody has: closed at connection_init.
    for key in [None, Some("pk_nobody_has_this_key")] {
        let mut socket = Socket::connect(&url).await.unwrap();
        match socket.init(key).await {
            Received::Closed { code, reason } => {
                assert_eq!(code, 1002);
                assert!(reason.starts_with("UNAUTHENTICATED"), "{reason}");
            }
            other => panic!("{key:?} was acknowledged: {other:?}"),
        }
    }

    // A message over max_request_bytes closes the socket unanswered.
    let mut flooding = acknowledged(&app, &key).await;
    let fields = "id ".repeat(30_000);
    flooding
        .send_text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": format!("subscription {{ paymentUpdated(id: \"{payment}\") {{ {fields} }} }}") } })
                .to_string(),
        )
        .await;
    assert!(matches!(
        flooding.receive(Duration::from_secs(30)).await,
        Received::Closed { .. }
    ));

    // Three subscriptions a socket; a fourth is refused.
    let mut busy = acknowledged(&app, &key).await;
    for id in ["1", "2", "3"] {
        busy.subscribe(id, PAYMENT_UPDATED, json!({ "id": payment }))
            .await;
    }
    busy.subscribe("4", PAYMENT_UPDATED, json!({ "id": payment }))
        .await;
    assert_eq!(refusal_code(&mut busy, "4").await, "RATE_LIMITED");

    // Two sockets a key (busy is one); a third with the key is closed at connection_init.
    let _second = acknowledged(&app, &key).await;
    let mut third = Socket::connect(&url).await.unwrap();
    match third.init(Some(&key)).await {
        Received::Closed { reason, .. } => assert!(reason.starts_with("RATE_LIMITED"), "{reason}"),
        other => panic!("a third socket for the key: {other:?}"),
    }
    // Four sockets an address: two held, two more open; the fifth upgrade is refused (429).
    wait_for("the refused sockets to be gone", Duration::from_secs(10), || async {
        let mut held = Vec::new();
        for _ in 0..2 {
            match Socket::connect(&url).await {
                Ok(socket) => held.push(socket),
                Err(_) => return false,
            }
        }
        let fifth = Socket::connect(&url).await;
        matches!(fifth, Err(tokio_tungstenite::tungstenite::Error::Http(ref answer)) if answer.status() == 429)
    })
    .await;
}
