//! Slow and idle clients against the real accept loop (issue 29, item 4): a request whose headers
//! or body trickle in, and a kept-alive connection left idle, are cut off after their timeouts;
//! past `server.max_connections`, a connection waits until one of those ends before it is served.

mod common;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::Backend;
use common::app::*;

const LIMITS: &str = "max_connections = 3\nheader_read_timeout = \"2s\"\nbody_read_timeout = \"2s\"";

async fn connect(app: &App) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Everything the server sends until it closes the connection (within a minute).
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

/// Whether the server has already closed `stream` (nothing more to read).
async fn already_closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_millis(200), stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_and_connections_are_capped() {
    let setup = Setup {
        server: LIMITS,
        ..Setup::default()
    };
    let app = spawn_app_with(Backend::Sqlite, setup).await.unwrap();

    // Headers that never end: the connection is closed.
    let mut slow_headers = connect(&app).await;
    slow_headers
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: plusflow\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut slow_headers).await;
    assert!(!answered.contains("200 OK"), "{answered}");

    // A body that never arrives in full: 408, and the connection closed.
    let mut slow_body = connect(&app).await;
    slow_body
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: plusflow\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\":",
        )
        .await
        .unwrap();
    let answered = until_closed(&mut slow_body).await;
    assert!(answered.starts_with("HTTP/1.1 408"), "{answered}");

    // Answered, then left idle: closed.
    let mut idle = connect(&app).await;
    idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: plusflow\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut idle).await;
    assert!(answered.starts_with("HTTP/1.1 200 OK"), "{answered}");

    // Three silent connections hold every slot: a fourth is served only once they were cut off.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(connect(&app).await);
    }
    let mut fourth = connect(&app).await;
    fourth
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: plusflow\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut fourth).await;
    assert!(answered.starts_with("HTTP/1.1 200 OK"), "{answered}");
    for stream in &mut silent {
        assert!(already_closed(stream).await, "served while every slot was held");
    }
}
