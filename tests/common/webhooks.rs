//! A merchant's webhook endpoint for tests: answers each delivery as the test says and keeps
//! every one (its `Plusflow-Signature` header and body).

use std::sync::{Arc, Mutex};

/// Deliveries received: (signature header, or "" without one; body).
pub type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

pub struct WebhookReceiver {
    /// `http://127.0.0.1:<port>/hooks`.
    pub url: String,
    pub received: Received,
}

impl WebhookReceiver {
    /// Answers the n-th delivery (from 1) with `answer(n)`: (HTTP status, Location header).
    pub async fn start<F>(answer: F) -> WebhookReceiver
    where
        F: Fn(usize) -> (u16, Option<String>) + Clone + Send + Sync + 'static,
    {
        let received: Received = Arc::default();
        let log = received.clone();
        let handler = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (log, answer) = (log.clone(), answer.clone());
            async move {
                let signature = headers
                    .get("plusflow-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push((signature, body.to_vec()));
                    log.len()
                };
                let (status, location) = answer(n);
                let mut response = axum::http::Response::builder().status(status);
                if let Some(location) = location {
                    response = response.header("location", location);
                }
                response.body(axum::body::Body::empty()).unwrap()
            }
        };
        let router = axum::Router::new().route("/hooks", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        WebhookReceiver { url, received }
    }

    /// Answers every delivery 200.
    pub async fn accepting() -> WebhookReceiver {
        Self::start(|_| (200, None)).await
    }

    /// How many deliveries arrived.
    pub fn hits(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// The bodies received, as JSON.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        let received = self.received.lock().unwrap();
        received
            .iter()
            .map(|(_, body)| serde_json::from_slice(body).unwrap())
            .collect()
    }
}

/// Whether a `Plusflow-Signature` header (`t=...,v1=...[,v1=...]`) signs `body` with `secret`.
pub fn signed_with(header: &str, body: &[u8], secret: &str) -> bool {
    use hmac::{Hmac, KeyInit, Mac};
    let Some(timestamp) = header.split(',').find_map(|part| part.strip_prefix("t=")) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    header
        .split(',')
        .any(|part| part.strip_prefix("v1=") == Some(expected.as_str()))
}
