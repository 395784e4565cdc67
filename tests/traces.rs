//! Traces across the outbox, over real OTLP/HTTP: plusflow exports its spans as protobuf to an
//! OTLP receiver in this test (decoded with `opentelemetry-proto`), and one payment's spans
//! share one trace id: createPayment's GraphQL request (the root), the relay's claim, the
//! submit_pay effect with its `pay` call to Alipay+, Alipay+'s notifyPayment applied, and the
//! merchant's webhook. SQLite, then PostgreSQL + Redis, in one test: the tracing subscriber is
//! the process's.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;

use common::app::*;
use common::webhooks::WebhookReceiver;
use common::{Backend, poll_until};

/// A span as received: its name, trace, parent (empty for a root) and string attributes.
#[derive(Debug, Clone)]
struct Received {
    name: String,
    trace_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attributes: HashMap<String, String>,
}

/// An OTLP/HTTP receiver: `POST /v1/traces` with a protobuf ExportTraceServiceRequest.
async fn otlp_receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let spans: Arc<Mutex<Vec<Received>>> = Arc::default();
    let kept = spans.clone();
    let receive = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
        let kept = kept.clone();
        async move {
            assert_eq!(
                headers.get("content-type").and_then(|v| v.to_str().ok()),
                Some("application/x-protobuf")
            );
            let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf request");
            let mut kept = kept.lock().unwrap();
            for span in request
                .resource_spans
                .into_iter()
                .flat_map(|resource| resource.scope_spans)
                .flat_map(|scope| scope.spans)
            {
                let attributes = span
                    .attributes
                    .into_iter()
                    .filter_map(|attribute| match attribute.value?.value? {
                        AnyValue::StringValue(text) => Some((attribute.key, text)),
                        _ => None,
                    })
                    .collect();
                kept.push(Received {
                    name: span.name,
                    trace_id: span.trace_id,
                    parent_span_id: span.parent_span_id,
                    attributes,
                });
            }
            axum::http::StatusCode::OK
        }
    };
    let router = axum::Router::new().route("/v1/traces", axum::routing::post(receive));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, spans)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_payment_is_one_trace_from_create_payment_through_the_outbox_to_the_webhook() {
    let (base, spans) = otlp_receiver().await;
    let _telemetry = plusflow::telemetry::init(
        plusflow::config::LogFormat::Pretty,
        "warn",
        Some(&base.parse().unwrap()),
    );
    for backend in [Backend::Sqlite, Backend::PostgresRedis] {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let receiver = WebhookReceiver::accepting().await;
        let created = app.create_merchant(&["--name", "Traced", "--webhook-url", &receiver.url]);
        let key = created["apiKey"].as_str().unwrap().to_string();
        let (payment, _) = app
            .paid_payment(&key, &format!("traced-{backend:?}"), "1000")
            .await;
        poll_until("the webhook", Duration::from_secs(30), || async {
            (receiver.hits() > 0).then_some(())
        })
        .await;
        let trace = poll_until(
            "the payment's spans exported",
            Duration::from_secs(30),
            || async {
                plusflow::telemetry::flush();
                let spans = spans.lock().unwrap().clone();
                let pay = spans.iter().find(|span| {
                    span.name == "effect"
                        && span.attributes.get("effect").map(String::as_str) == Some("submit_pay")
                        && span.attributes.get("instance_id") == Some(&payment)
                })?;
                let trace: Vec<Received> = spans
                    .iter()
                    .filter(|span| span.trace_id == pay.trace_id)
                    .cloned()
                    .collect();
                let has = |name: &str, key: &str, value: &str| {
                    trace.iter().any(|span| {
                        span.name == name
                            && (key.is_empty() || span.attributes.get(key).map(String::as_str) == Some(value))
                    })
                };
                (has("graphql", "", "")
                    && has("relay", "", "")
                    && has("alipayplus call", "api", "pay")
                    && has("alipayplus notification", "api", "notifyPayment")
                    && has("webhook", "purpose", "EVENT"))
                .then_some(trace)
            },
        )
        .await;
        let roots: Vec<&Received> = trace
            .iter()
            .filter(|span| span.parent_span_id.is_empty())
            .collect();
        assert_eq!(roots.len(), 1, "{trace:#?}");
        assert_eq!(
            roots[0].name, "graphql",
            "createPayment's request starts the trace"
        );
        assert!(
            trace
                .iter()
                .all(|span| span.name != "graphql" || span.parent_span_id.is_empty()),
            "the payment's later reads are traces of their own"
        );
    }
}
