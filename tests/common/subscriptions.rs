//! A GraphQL subscription over the graphql-transport-ws protocol, as a merchant's app opens it:
//! authenticated in `connection_init`, one subscription per socket, each `next` payload read in
//! order with a deadline.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Subscription {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Subscription {
    /// Subscribes with `query` and `variables` at `url` (`ws://.../graphql/ws`) as `key`.
    pub async fn open(url: &str, key: &str, query: &str, variables: Value) -> Subscription {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut subscription = Subscription { socket };
        subscription
            .send(
                json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {key}") } }),
            )
            .await;
        loop {
            if subscription.message().await["type"] == "connection_ack" {
                break;
            }
        }
        subscription
            .send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
        subscription
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// The next protocol message (text frames only), within a minute.
    async fn message(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(60), self.socket.next())
                .await
                .expect("a message within a minute")
                .expect("the socket stays open")
                .unwrap();
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// The `data` of the next update; panics on a subscription error.
    pub async fn next(&mut self) -> Value {
        loop {
            let message = self.message().await;
            match message["type"].as_str() {
                Some("next") if message["payload"]["errors"].is_null() => {
                    return message["payload"]["data"].clone();
                }
                Some("next") => panic!("subscription error: {message}"),
                Some("error") => panic!("subscription error: {message}"),
                _ => {}
            }
        }
    }
}
