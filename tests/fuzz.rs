//! Property tests over what strangers send us (issue 13 item 10): the `Signature` header parser,
//! the wire types Alipay+'s messages are read into, the inbound verification as a whole, and
//! workflow TOML loading. Each runs a bounded number of cases in `cargo test` (proptest's 256 by
//! default); a longer run is `PROPTEST_CASES=100000 cargo test --release --test fuzz`. A failing
//! case proptest finds is written to `tests/fuzz.proptest-regressions` and replayed first on
//! every later run: that file is kept in the repository.
//!
//! (cargo-fuzz needs a nightly toolchain, which this project's CI does not have; proptest runs
//! on stable in the ordinary suite.)

use std::sync::Arc;

use plusflow::alipayplus::inbound::Endpoint;
use plusflow::alipayplus::signing::{SignatureHeader, SigningKey, VerifyingKeys, content_to_sign};
use plusflow::alipayplus::wire::*;
use plusflow::clock::SystemClock;
use proptest::prelude::*;

/// One RSA key pair for every case (generating one per case would dominate the run).
fn endpoint() -> &'static (Endpoint, SigningKey) {
    static ENDPOINT: std::sync::OnceLock<(Endpoint, SigningKey)> = std::sync::OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let caller = SigningKey::generate("1");
        let ours = SigningKey::generate("1");
        let endpoint = Endpoint::new(
            "FUZZ_CLIENT".into(),
            VerifyingKeys::single(caller.public_key(), "1"),
            ours,
            Arc::new(SystemClock),
        );
        (endpoint, caller)
    })
}

const REFUSALS_BEFORE_VERIFICATION: [&str; 10] = [
    "Content-Type must be application/json",
    "Client-Id header missing",
    "unknown client id",
    "Request-Time header missing",
    "Request-Time is not an ISO 8601 time with offset",
    "Signature header missing",
    "Signature header malformed",
    "unknown keyVersion",
    "unsupported algorithm",
    "the signature does not match the request",
];

/// JSON-ish text: braces, quotes, names Alipay+ uses, numbers and junk.
fn json_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just(":".to_string()),
        Just("\"paymentRequestId\"".to_string()),
        Just("\"paymentResult\"".to_string()),
        Just("\"resultStatus\"".to_string()),
        Just("\"paymentAmount\"".to_string()),
        Just("\"value\"".to_string()),
        Just("\"currency\"".to_string()),
        Just("\"S\"".to_string()),
        Just("null".to_string()),
        "-?[0-9]{1,25}(\\.[0-9]{0,5})?(e[0-9]{1,3})?",
        "\"[^\"\\\\]{0,12}\"",
        any::<String>(),
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

/// A well-formed notifyPayment body with arbitrary amounts and strings in it.
fn notification() -> impl Strategy<Value = serde_json::Value> {
    (
        any::<String>(),
        prop_oneof![Just("S"), Just("F"), Just("U"), Just("X")],
        prop_oneof![
            any::<i64>().prop_map(|v| serde_json::json!(v)),
            any::<i64>().prop_map(|v| serde_json::json!(v.to_string())),
            any::<f64>().prop_map(|v| serde_json::json!(v)),
            any::<String>().prop_map(|v| serde_json::json!(v)),
        ],
        "[A-Z]{0,4}",
    )
        .prop_map(|(id, status, value, currency)| {
            serde_json::json!({
                "paymentRequestId": id,
                "paymentResult": { "resultCode": "SUCCESS", "resultStatus": status },
                "paymentAmount": { "currency": currency, "value": value },
                "notifyType": "PAYMENT_RESULT",
            })
        })
}

proptest! {
    #[test]
    fn the_signature_header_parser_takes_any_text(text in any::<String>()) {
        if let Ok(header) = text.parse::<SignatureHeader>() {
            // What parses prints back to a header that parses to the same.
            prop_assert_eq!(header.to_string().parse::<SignatureHeader>().ok(), Some(header.clone()));
            prop_assert!(!header.signature.is_empty());
        }
    }

    #[test]
    fn a_signature_header_round_trips_whatever_its_spacing_and_case(
        version in "[0-9A-Za-z]{1,6}",
        signature in "[A-Za-z0-9%]{1,64}",
        spaces in "[ ]{0,3}",
        upper in any::<bool>(),
    ) {
        let name = |n: &str| if upper { n.to_ascii_uppercase() } else { n.to_string() };
        let text = format!(
            "{}=RSA256,{spaces}{}={version},{spaces}{}={signature}",
            name("algorithm"), name("keyVersion"), name("signature")
        );
        let header: SignatureHeader = text.parse().unwrap();
        prop_assert_eq!(header.algorithm, "RSA256");
        prop_assert_eq!(header.key_version.as_deref(), Some(version.as_str()));
        prop_assert_eq!(header.signature, signature);
    }

    #[test]
    fn wire_types_read_any_bytes_without_panicking(text in json_like()) {
        let bytes = text.as_bytes();
        let _ = serde_json::from_slice::<NotifyPaymentRequest>(bytes);
        let _ = serde_json::from_slice::<PayResponse>(bytes);
        let _ = serde_json::from_slice::<InquiryPaymentResponse>(bytes);
        let _ = serde_json::from_slice::<RefundResponse>(bytes);
        let _ = serde_json::from_slice::<CancelPaymentResponse>(bytes);
        let _ = serde_json::from_slice::<ConsultPaymentResponse>(bytes);
        let _ = serde_json::from_slice::<InitiateRetrievalRequest>(bytes);
        let _ = serde_json::from_slice::<InitiateEscalationRequest>(bytes);
        let _ = serde_json::from_slice::<NotifyRegistrationStatusRequest>(bytes);
    }

    #[test]
    fn a_deciding_amount_is_an_exact_integer_or_the_message_is_unreadable(body in notification()) {
        let parsed = serde_json::from_value::<NotifyPaymentRequest>(body.clone());
        let value = &body["paymentAmount"]["value"];
        let exact = value.as_i64().or_else(|| value.as_str().and_then(|s| s.parse().ok()));
        match (parsed, exact) {
            (Ok(notification), Some(expected)) => {
                let amount = notification.payment_amount.expect("sent");
                prop_assert_eq!(amount.value, expected);
            }
            (Ok(notification), None) => prop_assert!(
                false,
                "{value} was read as {:?}",
                notification.payment_amount
            ),
            (Err(e), Some(expected)) => prop_assert!(false, "{expected} was refused: {e}"),
            (Err(_), None) => {}
        }
    }

    #[test]
    fn inbound_verification_refuses_any_unsigned_request_without_panicking(
        client_id in prop_oneof![Just("FUZZ_CLIENT".to_string()), any::<String>()],
        time in prop_oneof![Just("2026-12-03T10:00:00+08:00".to_string()), any::<String>()],
        signature in any::<String>(),
        body in json_like(),
    ) {
        let (endpoint, _) = endpoint();
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", http::HeaderValue::from_static("application/json"));
        for (name, value) in [("client-id", &client_id), ("request-time", &time), ("signature", &signature)] {
            if let Ok(value) = http::HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
        let verified = endpoint.verify::<NotifyPaymentRequest>("/alipayplus/notifyPayment", &headers, body.as_bytes());
        let refusal = verified.expect_err("nothing unsigned is accepted");
        // A refusal before verification is one of a fixed set: it echoes nothing sent.
        prop_assert!(REFUSALS_BEFORE_VERIFICATION.contains(&refusal.message.as_str()), "{:?}", refusal);
    }

    #[test]
    fn a_signed_body_that_is_not_a_notification_is_refused_as_malformed(body in json_like()) {
        let (endpoint, caller) = endpoint();
        let time = "2026-12-03T10:00:00+08:00";
        let path = "/alipayplus/notifyPayment";
        let content = content_to_sign("POST", path, "FUZZ_CLIENT", time, body.as_bytes());
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", http::HeaderValue::from_static("application/json"));
        headers.insert("client-id", http::HeaderValue::from_static("FUZZ_CLIENT"));
        headers.insert("request-time", http::HeaderValue::from_static(time));
        headers.insert("signature", http::HeaderValue::from_str(&caller.signature_header(&content)).unwrap());
        match endpoint.verify::<NotifyPaymentRequest>(path, &headers, body.as_bytes()) {
            Ok(_) => prop_assert!(serde_json::from_slice::<NotifyPaymentRequest>(body.as_bytes()).is_ok()),
            Err(refusal) => prop_assert_eq!(refusal.code, "PARAM_ILLEGAL"),
        }
    }
}

/// The shipped definitions, each with one line replaced or dropped.
fn mutated_definition() -> impl Strategy<Value = String> {
    let shipped: Vec<String> = [
        "workflows/payment.toml",
        "workflows/refund.toml",
        "workflows/engine_probe.toml",
    ]
    .iter()
    .map(|path| std::fs::read_to_string(path).unwrap())
    .collect();
    (
        0..shipped.len(),
        any::<prop::sample::Index>(),
        prop_oneof![
            Just(None),
            any::<String>().prop_map(Some),
            "[a-z_]{1,12} = \"[a-z_]{0,12}\"".prop_map(Some),
            "\\[\\[?[a-z_.]{1,16}\\]\\]?".prop_map(Some),
        ],
    )
        .prop_map(move |(file, line, replacement)| {
            let mut lines: Vec<&str> = shipped[file].lines().collect();
            let at = line.index(lines.len());
            match &replacement {
                Some(text) => lines[at] = text,
                None => {
                    lines.remove(at);
                }
            }
            lines.join("\n")
        })
}

proptest! {
    #[test]
    fn workflow_loading_reports_problems_and_never_panics(text in prop_oneof![any::<String>(), mutated_definition()]) {
        match plusflow::workflow::parse(std::path::Path::new("fuzzed.toml"), &text) {
            Ok(definition) => prop_assert!(!definition.states.is_empty()),
            Err(problems) => prop_assert!(!problems.is_empty()),
        }
    }
}
