//! The receiving side of a signed Alipay+ call, used by our webhook routes (Alipay+ calls us)
//! and by the simulator (we call it). A request is verified (client id, signature over the
//! exact bytes received) and parsed BEFORE the caller may store anything; every answer,
//! error or not, is an Alipay+ `result` signed with our key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::signing::{
    SignatureHeader, SigningKey, VerifyError, VerifyingKeys, content_to_sign, timestamp_to_the_second,
};
use super::wire::{ResultInfo, ResultResponse, ResultStatus};
use crate::clock::SharedClock;

/// Largest body accepted on a signed route; Alipay+ messages are a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// At most this many distinct answers keep their signature for reuse within a second.
const SIGNED_PER_SECOND: usize = 64;

/// One side of a signed conversation: who may call us, their keys, and our key.
#[derive(Clone)]
pub struct Endpoint {
    /// The `Client-Id` every request must carry.
    pub client_id: String,
    pub caller_keys: VerifyingKeys,
    pub signing_key: SigningKey,
    pub clock: SharedClock,
    /// The answers signed in the current second, by content, and their `Signature` headers.
    /// The same answer in the same second (every acknowledgement of a notification, every
    /// refusal of one kind) has the same content, and PKCS#1 v1.5 signatures are deterministic:
    /// it gets the very signature signing again would give, without the RSA work. Emptied when
    /// the second changes; at most [`SIGNED_PER_SECOND`] kept.
    signed_this_second: Arc<Mutex<SignedThisSecond>>,
    request_time_window: Option<Duration>,
    /// The path prefix of our public URL (`/plusflow` of `https://acqp.example/plusflow`), or "".
    path_prefix: String,
}

/// A signed HTTP answer: status, headers, body.
pub type SignedAnswer = (StatusCode, HeaderMap, Vec<u8>);

/// Why a request was refused, as an Alipay+ result code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Verifies a signed answer to `POST path`: its `Client-Id` must be `client_id`, and its
/// `Signature` must cover `Response-Time` and the exact bytes received.
pub fn verify_answer(
    keys: &VerifyingKeys,
    path: &str,
    client_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(answer_client), Some(time), Some(signature)) =
        (header("client-id"), header("response-time"), header("signature"))
    else {
        return Err("the answer is not signed (Client-Id, Response-Time or Signature missing)".into());
    };
    if answer_client != client_id {
        return Err(format!("the answer names client id '{answer_client}'"));
    }
    let content = content_to_sign("POST", path, answer_client, time, body);
    signature
        .parse::<SignatureHeader>()
        .and_then(|signature| keys.verify(&signature, &content))
        .map_err(|e| format!("the answer's signature is not valid: {e}"))
}

/// Verifies again a call journaled with its bytes and headers (`store::inbound::AsReceived`):
/// the signature over `POST signed_path`, `Client-Id`, `Request-Time` and the raw body, with
/// `keys`. The `Request-Time` window is not applied: the call is judged as it was received.
pub fn verify_recorded(
    keys: &VerifyingKeys,
    signed_path: &str,
    signature_headers: &serde_json::Value,
    raw_body: &[u8],
) -> Result<(), String> {
    let header = |name: &str| {
        signature_headers
            .get(name)
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("no {name} recorded"))
    };
    let content = content_to_sign(
        "POST",
        signed_path,
        header("client-id")?,
        header("request-time")?,
        raw_body,
    );
    header("signature")?
        .parse::<SignatureHeader>()
        .and_then(|signature| keys.verify(&signature, &content))
        .map_err(|e| format!("the recorded signature is not valid: {e}"))
}

impl Endpoint {
    pub fn new(
        client_id: String,
        caller_keys: VerifyingKeys,
        signing_key: SigningKey,
        clock: SharedClock,
    ) -> Self {
        Self {
            client_id,
            caller_keys,
            signing_key,
            clock,
            signed_this_second: Arc::default(),
            request_time_window: None,
            path_prefix: String::new(),
        }
    }

    /// Our routes are reached under `public_url`'s path (a reverse proxy strips it before
    /// forwarding): Alipay+ signs the path it called, so requests are verified and answers signed
    /// over prefix + route. UNCONFIRMED (ALIPAYPLUS.md 1.4: which URI Alipay+ signs inbound);
    /// the conservative reading is the one the caller can know, the URL we gave it.
    pub fn with_public_path(mut self, public_url: &url::Url) -> Self {
        self.path_prefix = public_url.path().trim_end_matches('/').to_string();
        self
    }

    /// The URI a caller signed for a request that reached route `path`.
    pub fn signed_path(&self, path: &str) -> String {
        format!("{}{path}", self.path_prefix)
    }

    /// Refuses requests whose `Request-Time` is further than `window` from our clock: a signed
    /// request captured and replayed later is refused (the signature covers Request-Time). Our
    /// inbound routes set it from `alipayplus.request_time_window`; the simulator runs on a
    /// scaled clock and does not.
    pub fn with_request_time_window(mut self, window: Duration) -> Self {
        self.request_time_window = Some(window);
        self
    }

    /// Verifies a request to `path` and parses its body. Until the signature is verified, a
    /// refusal's message is fixed per kind: nothing the caller sent is echoed, and each kind of
    /// refusal signs the same bytes (one RSA signature per kind per second, see
    /// [`Endpoint::signed`]), so an unauthenticated caller cannot make us sign at will.
    pub fn verify<T: DeserializeOwned>(
        &self,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<T, Refusal> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        // Alipay+ posts JSON; any other declared body is refused before anything is read.
        let json = header("content-type").is_some_and(|value| {
            let media_type = value.split(';').next().unwrap_or_default().trim();
            media_type.eq_ignore_ascii_case("application/json")
        });
        if !json {
            return Err(Refusal::new(
                "PARAM_ILLEGAL",
                "Content-Type must be application/json",
            ));
        }
        let client_id =
            header("client-id").ok_or_else(|| Refusal::new("INVALID_CLIENT", "Client-Id header missing"))?;
        if client_id != self.client_id {
            return Err(Refusal::new("INVALID_CLIENT", "unknown client id"));
        }
        let time = header("request-time")
            .ok_or_else(|| Refusal::new("PARAM_ILLEGAL", "Request-Time header missing"))?;
        let sent_at = chrono::DateTime::parse_from_rfc3339(time).map_err(|_| {
            Refusal::new(
                "PARAM_ILLEGAL",
                "Request-Time is not an ISO 8601 time with offset",
            )
        })?;
        if let Some(window) = self.request_time_window {
            let drift = (self.clock.now() - sent_at.with_timezone(&chrono::Utc)).abs();
            if drift.to_std().unwrap_or(Duration::MAX) > window {
                return Err(Refusal::new(
                    "INVALID_SIGNATURE",
                    "Request-Time is outside the accepted window",
                ));
            }
        }
        let signature = header("signature")
            .ok_or_else(|| Refusal::new("INVALID_SIGNATURE", "Signature header missing"))?
            .parse::<SignatureHeader>()
            .map_err(|_| Refusal::new("INVALID_SIGNATURE", "Signature header malformed"))?;
        let content = content_to_sign("POST", &self.signed_path(path), client_id, time, body);
        self.caller_keys
            .verify(&signature, &content)
            .map_err(|e| match e {
                VerifyError::UnknownKey(_) => Refusal::new("KEY_NOT_FOUND", "unknown keyVersion"),
                VerifyError::Algorithm(_) => Refusal::new("INVALID_SIGNATURE", "unsupported algorithm"),
                _ => Refusal::new("INVALID_SIGNATURE", "the signature does not match the request"),
            })?;
        serde_json::from_slice(body)
            .map_err(|e| Refusal::new("PARAM_ILLEGAL", format!("malformed body: {e}")))
    }

    /// A refusal for a body over [`MAX_BODY_BYTES`].
    pub fn too_large() -> Refusal {
        Refusal::new(
            "PARAM_ILLEGAL",
            format!("body larger than {MAX_BODY_BYTES} bytes"),
        )
    }

    /// Answers a request to `path` with `body`, signed.
    pub fn answer<B: Serialize>(&self, path: &str, body: &B) -> SignedAnswer {
        let bytes = serde_json::to_vec(body).expect("wire types serialise");
        self.signed(path, StatusCode::OK, bytes)
    }

    /// Answers with a failed Alipay+ result (HTTP 200, as Alipay+ does).
    pub fn refuse(&self, path: &str, refusal: &Refusal) -> SignedAnswer {
        self.answer(
            path,
            &ResultResponse {
                result: ResultInfo::new(ResultStatus::F, refusal.code, &refusal.message),
            },
        )
    }

    /// Signs `bytes` as the answer to `path` and adds the three response headers.
    /// `Response-Time` is to the second, as in Alipay+'s own examples.
    pub fn signed(&self, path: &str, status: StatusCode, bytes: Vec<u8>) -> SignedAnswer {
        let time = timestamp_to_the_second(self.clock.now());
        let content = content_to_sign("POST", &self.signed_path(path), &self.client_id, &time, &bytes);
        let signature = self.signature_of(&time, content);
        let mut headers = HeaderMap::new();
        let value = |text: &str| HeaderValue::from_str(text).expect("header-safe text");
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        headers.insert("client-id", value(&self.client_id));
        headers.insert("response-time", value(&time));
        headers.insert("signature", value(&signature));
        (status, headers, bytes)
    }

    fn signature_of(&self, time: &str, content: Vec<u8>) -> String {
        let signed = || {
            self.signed_this_second
                .lock()
                .expect("never poisoned: nothing panics under it")
        };
        {
            let mut signed = signed();
            if signed.second != time {
                signed.second = time.to_string();
                signed.signatures.clear();
            }
            if let Some(signature) = signed.signatures.get(&content) {
                return signature.clone();
            }
        }
        let signature = self.signing_key.signature_header(&content);
        let mut signed = signed();
        if signed.second == time && signed.signatures.len() < SIGNED_PER_SECOND {
            signed.signatures.insert(content, signature.clone());
        }
        signature
    }
}

/// The answers signed in one second (see [`Endpoint`]).
#[derive(Default)]
struct SignedThisSecond {
    /// The `Response-Time` they carry.
    second: String,
    /// Their `Signature` headers, by signed content.
    signatures: HashMap<Vec<u8>, String>,
}
