//! The tracing subscriber: pretty output for people, JSON lines for log shippers (`RUST_LOG`
//! overrides the configured level; logs go to stderr, so command output on stdout stays
//! machine-readable), and, with `telemetry.otlp_endpoint`, spans exported as OpenTelemetry
//! traces over OTLP/HTTP (protobuf) to `<endpoint>/v1/traces`.
//!
//! A trace crosses the outbox: a row written in a span (an instance, an outbox row, a webhook
//! delivery) keeps that span's W3C `traceparent` ([`current_traceparent`]); the relay, the
//! effect, a later Alipay+ notification about the instance and the webhook each open their
//! span as its child ([`continue_trace`]). So one payment is one trace, from createPayment
//! through its effects, Alipay+'s calls and notification, to the merchant's webhook.

use std::sync::OnceLock;

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider,
};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// The exporter's provider, while traces are exported (flushed by [`Telemetry::shutdown`]).
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// This process's telemetry; [`Telemetry::shutdown`] sends the spans not yet exported.
pub struct Telemetry;

impl Telemetry {
    /// Exports what is left (waits for the exporter, a few seconds at most).
    pub fn shutdown(self) {
        if let Some(provider) = PROVIDER.get()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("telemetry: the last spans were not exported: {e}");
        }
    }
}

/// Installs the subscriber: logs at `level` in `format`, and spans to `otlp_endpoint` (the
/// collector's base URL) when given.
pub fn init(format: LogFormat, level: &str, otlp_endpoint: Option<&url::Url>) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Pretty => logs.boxed(),
        LogFormat::Json => logs.json().boxed(),
    }
    .with_filter(filter);
    let traces = otlp_endpoint.and_then(|endpoint| match exporter(endpoint) {
        Ok(provider) => {
            let tracer = provider.tracer("plusflow");
            let _ = PROVIDER.set(provider);
            // plusflow's own spans (info and above), whatever the log level.
            let spans = EnvFilter::new("plusflow=info");
            Some(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(spans),
            )
        }
        Err(e) => {
            eprintln!("telemetry: traces are not exported: {e}");
            None
        }
    });
    let _ = tracing_subscriber::registry().with(logs).with(traces).try_init();
    Telemetry
}

fn exporter(endpoint: &url::Url) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    // As OTEL_EXPORTER_OTLP_ENDPOINT: the base URL, with the signal's path appended.
    let traces_url = format!("{}/v1/traces", endpoint.as_str().trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url)
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("plusflow")
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Exports the spans ended so far now, rather than at the exporter's next round.
pub fn flush() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.force_flush();
    }
}

/// Whether spans are exported (so a traceparent is worth reading or storing).
pub fn exporting() -> bool {
    PROVIDER.get().is_some()
}

/// The W3C traceparent of the current span, when traces are exported.
pub fn current_traceparent() -> Option<String> {
    if !exporting() {
        return None;
    }
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            span_context.trace_id(),
            span_context.span_id(),
            span_context.trace_flags().to_u8()
        )
    })
}

/// Makes `span` (not yet entered) a child of the span a stored `traceparent` names: its work
/// joins that trace. Nothing without one, or when traces are not exported.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(parent) = traceparent.filter(|_| exporting()).and_then(parse_traceparent) else {
        return;
    };
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
}

/// `00-<trace id>-<span id>-<flags>`.
fn parse_traceparent(traceparent: &str) -> Option<SpanContext> {
    let mut parts = traceparent.split('-');
    let (Some("00"), Some(trace), Some(span), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let context = SpanContext::new(
        TraceId::from_hex(trace).ok()?,
        SpanId::from_hex(span).ok()?,
        TraceFlags::new(u8::from_str_radix(flags, 16).ok()?),
        true,
        TraceState::default(),
    );
    context.is_valid().then_some(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_names_a_remote_parent_or_nothing() {
        let parsed = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(parsed.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parsed.span_id().to_string(), "00f067aa0ba902b7");
        assert!(parsed.is_sampled() && parsed.is_remote());
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-xyz-00f067aa0ba902b7-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }
}
