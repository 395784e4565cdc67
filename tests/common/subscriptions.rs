//! GraphQL subscriptions over the graphql-transport-ws protocol: a [`Socket`] driven frame by
//! frame (as an attacker or a careless client would), and a [`Subscription`] as a merchant's app
//! opens it: authenticated in `connection_init`, one subscription per socket, each `next`
//! payload read in order with a deadline.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What a socket received next.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    Message(Value),
    /// A close frame (1006 when the connection ended without one).
    Closed {
        code: u16,
        reason: String,
    },
}

pub struct Socket {
    inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    /// Opens `url` (`ws://.../graphql/ws`) with graphql-transport-ws; the upgrade's refusal
    /// (such as HTTP 429) as an error.
    pub async fn connect(url: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        let (inner, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Socket { inner })
    }

    pub async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    /// Sends `text` as one frame; a socket the server already closed is not an error here.
    pub async fn send_text(&mut self, text: String) {
        let _ = self.inner.send(Message::Text(text.into())).await;
    }

    /// `connection_init` with `key` (none: an empty payload); what came back.
    pub async fn init(&mut self, key: Option<&str>) -> Received {
        let payload = key.map_or(
            json!({}),
            |key| json!({ "Authorization": format!("Bearer {key}") }),
        );
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        self.receive(Duration::from_secs(30)).await
    }

    /// Subscribes as `id` to `query`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(
            json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }),
        )
        .await;
    }

    /// The next protocol message or the close, within `within` (panics past it).
    pub async fn receive(&mut self, within: Duration) -> Received {
        loop {
            let next = tokio::time::timeout(within, self.inner.next())
                .await
                .expect("a message or a close within the deadline");
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Received::Message(serde_json::from_str(&text).unwrap());
                }
                Some(Ok(Message::Close(frame))) => {
                    return Received::Closed {
                        code: frame.as_ref().map_or(1005, |f| u16::from(f.code)),
                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    };
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => {
                    return Received::Closed {
                        code: 1006,
                        reason: String::new(),
                    };
                }
            }
        }
    }

    /// The next protocol message; panics on a close.
    pub async fn message(&mut self) -> Value {
        match self.receive(Duration::from_secs(60)).await {
            Received::Message(message) => message,
            closed => panic!("the socket closed: {closed:?}"),
        }
    }
}

pub struct Subscription {
    socket: Socket,
}

impl Subscription {
    /// Subscribes with `query` and `variables` at `url` (`ws://.../graphql/ws`) as `key`.
    pub async fn open(url: &str, key: &str, query: &str, variables: Value) -> Subscription {
        let mut socket = Socket::connect(url).await.unwrap();
        let mut answer = socket.init(Some(key)).await;
        while answer != Received::Message(json!({ "type": "connection_ack" })) {
            assert!(matches!(answer, Received::Message(_)), "{answer:?}");
            answer = socket.receive(Duration::from_secs(60)).await;
        }
        socket.subscribe("1", query, variables).await;
        Subscription { socket }
    }

    /// The `data` of the next update; panics on a subscription error.
    pub async fn next(&mut self) -> Value {
        loop {
            let message = self.socket.message().await;
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
