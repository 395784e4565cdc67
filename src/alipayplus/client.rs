//! The ACQP -> Alipay+ client: one method per API, each with its timeout (ALIPAYPLUS.md 1.7),
//! signed requests, verified responses, and ONE mapping of `(resultStatus, resultCode)` to an
//! [`Outcome`]. A timeout, a 5xx, a transport error or an unverifiable response is `Unknown`,
//! never a success and never a failure: the caller asks again with the same request id.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::inbound::verify_answer;
use super::signing::{SigningKey, VerifyingKeys, content_to_sign, timestamp};
use super::wire::*;
use crate::clock::SharedClock;

/// What a call to Alipay+ came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    /// `resultStatus = S`.
    Succeeded(T),
    /// `resultStatus = F`: final for this request id.
    Rejected {
        code: String,
        message: Option<String>,
        response: T,
    },
    /// We do not know what happened: ask again with the same request id.
    Unknown { reason: String, response: Option<T> },
}

/// How a `result` is to be read, by status first, then by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultClass {
    Succeeded,
    Rejected,
    Unknown,
}

/// The one mapping of `(resultStatus, resultCode)`. `REQUEST_TRAFFIC_EXCEED_LIMIT` is `F` on the
/// Alipay+ page but `U` in sibling APIs (ALIPAYPLUS.md 1.8, UNCONFIRMED): the conservative
/// reading is "back off and retry with the same ids", so it is Unknown here.
pub fn classify(result: &ResultInfo) -> ResultClass {
    match result.result_status {
        ResultStatus::S => ResultClass::Succeeded,
        ResultStatus::F if result.result_code == "REQUEST_TRAFFIC_EXCEED_LIMIT" => ResultClass::Unknown,
        ResultStatus::F => ResultClass::Rejected,
        ResultStatus::U | ResultStatus::Other => ResultClass::Unknown,
    }
}

impl<T> Outcome<T> {
    fn from_response(response: T, result: &ResultInfo) -> Self {
        match classify(result) {
            ResultClass::Succeeded => Outcome::Succeeded(response),
            ResultClass::Rejected => Outcome::Rejected {
                code: result.result_code.clone(),
                message: result.result_message.clone(),
                response,
            },
            ResultClass::Unknown => Outcome::Unknown {
                reason: format!("{:?} {}", result.result_status, result.result_code),
                response: Some(response),
            },
        }
    }

    fn unknown(reason: impl Into<String>) -> Self {
        Outcome::Unknown {
            reason: reason.into(),
            response: None,
        }
    }
}

/// A response body that carries a `result`.
pub trait HasResult {
    fn result(&self) -> &ResultInfo;
}

/// An ACQP -> Alipay+ API: its request body type, response type, path and timeout class.
pub trait Api: Serialize + Sync {
    type Response: DeserializeOwned + HasResult;
    const PATH: &'static str;
    /// pay, refund and cancelPayment wait 8 s; the rest 5 s.
    const SLOW: bool;
}

macro_rules! apis {
    ($($request:ty => $response:ty, $path:literal, $slow:literal;)*) => {
        $(impl Api for $request {
            type Response = $response;
            const PATH: &'static str = $path;
            const SLOW: bool = $slow;
        })*
    };
}

// inquiryPayment and cancelPayment share `PaymentReference`, so they are distinct wrappers.
/// The body of inquiryPayment.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Inquiry(pub PaymentReference);
/// The body of cancelPayment.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Cancel(pub PaymentReference);

apis! {
    PayRequest => PayResponse, "/aps/api/v1/payments/pay", true;
    ConsultPaymentRequest => ConsultPaymentResponse, "/aps/api/v1/payments/consultPayment", false;
    Inquiry => InquiryPaymentResponse, "/aps/api/v1/payments/inquiryPayment", false;
    Cancel => CancelPaymentResponse, "/aps/api/v1/payments/cancelPayment", true;
    RefundRequest => RefundResponse, "/aps/api/v1/payments/refund", true;
    RegistrationRequest => ResultResponse, "/aps/api/v1/merchants/registration", false;
    InquiryRegistrationStatusRequest => InquiryRegistrationStatusResponse, "/aps/api/v1/merchants/inquiryRegistrationStatus", false;
    ResponseRetrievalRequest => ResultResponse, "/aps/api/v1/disputes/responseRetrieval", false;
    ResponseEscalationRequest => ResultResponse, "/aps/api/v1/disputes/responseEscalation", false;
    DeclareRequest => DeclareResponse, "/aps/api/v1/customs/declare", false;
    InquireDeclarationRequestsRequest => InquireDeclarationRequestsResponse, "/aps/api/v1/customs/inquireDeclarationRequests", false;
}

macro_rules! has_result {
    ($($response:ty),*) => {
        $(impl HasResult for $response {
            fn result(&self) -> &ResultInfo { &self.result }
        })*
    };
}
has_result!(
    PayResponse,
    ConsultPaymentResponse,
    InquiryPaymentResponse,
    CancelPaymentResponse,
    RefundResponse,
    ResultResponse,
    InquiryRegistrationStatusResponse,
    DeclareResponse,
    InquireDeclarationRequestsResponse
);

pub use crate::config::Timeouts;

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            slow: Duration::from_secs(8),
            normal: Duration::from_secs(5),
        }
    }
}

/// Who we are to Alipay+, and how we recognise it.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub gateway: url::Url,
    pub client_id: String,
    pub signing_key: SigningKey,
    pub alipayplus_keys: VerifyingKeys,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    credentials: Arc<Credentials>,
    timeouts: Timeouts,
    clock: SharedClock,
}

impl Client {
    /// The longest any call may stay in flight: after this, a request sent earlier can no
    /// longer reach Alipay+.
    /// The gateway it calls (in simulator mode, the simulator, whose control routes sit beside
    /// its API).
    pub fn gateway(&self) -> &url::Url {
        &self.credentials.gateway
    }

    pub fn longest_call(&self) -> Duration {
        self.timeouts.slow.max(self.timeouts.normal)
    }

    pub fn new(credentials: Credentials, timeouts: Timeouts, clock: SharedClock) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().build()?;
        Ok(Self {
            http,
            credentials: Arc::new(credentials),
            timeouts,
            clock,
        })
    }

    pub async fn pay(&self, request: &PayRequest) -> Outcome<PayResponse> {
        self.call(request).await
    }

    pub async fn consult_payment(&self, request: &ConsultPaymentRequest) -> Outcome<ConsultPaymentResponse> {
        self.call(request).await
    }

    pub async fn inquiry_payment(&self, reference: PaymentReference) -> Outcome<InquiryPaymentResponse> {
        self.call(&Inquiry(reference)).await
    }

    pub async fn cancel_payment(&self, reference: PaymentReference) -> Outcome<CancelPaymentResponse> {
        self.call(&Cancel(reference)).await
    }

    pub async fn refund(&self, request: &RefundRequest) -> Outcome<RefundResponse> {
        self.call(request).await
    }

    pub async fn registration(&self, request: &RegistrationRequest) -> Outcome<ResultResponse> {
        self.call(request).await
    }

    pub async fn inquiry_registration_status(
        &self,
        request: &InquiryRegistrationStatusRequest,
    ) -> Outcome<InquiryRegistrationStatusResponse> {
        self.call(request).await
    }

    pub async fn response_retrieval(&self, request: &ResponseRetrievalRequest) -> Outcome<ResultResponse> {
        self.call(request).await
    }

    pub async fn response_escalation(&self, request: &ResponseEscalationRequest) -> Outcome<ResultResponse> {
        self.call(request).await
    }

    pub async fn declare(&self, request: &DeclareRequest) -> Outcome<DeclareResponse> {
        self.call(request).await
    }

    pub async fn inquire_declaration_requests(
        &self,
        request: &InquireDeclarationRequestsRequest,
    ) -> Outcome<InquireDeclarationRequestsResponse> {
        self.call(request).await
    }

    /// Signs and sends one request, then verifies and classifies the answer (counted in the
    /// metrics by API and result status, with its latency).
    pub async fn call<R: Api>(&self, request: &R) -> Outcome<R::Response> {
        let started = std::time::Instant::now();
        let api = R::PATH.rsplit('/').next().unwrap_or(R::PATH);
        let span = tracing::info_span!("alipayplus call", api);
        let outcome = tracing::Instrument::instrument(self.send(request), span).await;
        let status = match &outcome {
            Outcome::Succeeded(_) => "S",
            Outcome::Rejected { .. } => "F",
            Outcome::Unknown { .. } => "U",
        };
        crate::metrics::alipayplus_call(api, status, started.elapsed());
        outcome
    }

    async fn send<R: Api>(&self, request: &R) -> Outcome<R::Response> {
        let credentials = &self.credentials;
        let body = match serde_json::to_vec(request) {
            Ok(body) => body,
            Err(e) => return Outcome::unknown(format!("cannot encode the request: {e}")),
        };
        let time = timestamp(self.clock.now());
        // The signature covers the whole path sent, the gateway's prefix included.
        let url = super::url_under(&credentials.gateway, R::PATH);
        let content = content_to_sign("POST", url.path(), &credentials.client_id, &time, &body);
        let timeout = if R::SLOW {
            self.timeouts.slow
        } else {
            self.timeouts.normal
        };
        let sent = self
            .http
            .post(url.clone())
            .timeout(timeout)
            .header("Content-Type", "application/json; charset=UTF-8")
            .header("Client-Id", &credentials.client_id)
            .header("Request-Time", &time)
            .header("Signature", credentials.signing_key.signature_header(&content))
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Outcome::unknown(format!("no answer within {timeout:?}")),
            Err(e) => return Outcome::unknown(format!("transport error: {e}")),
        };
        let status = response.status();
        if !status.is_success() {
            return Outcome::unknown(format!("HTTP {}", status.as_u16()));
        }
        let headers = response.headers().clone();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) if e.is_timeout() => return Outcome::unknown(format!("no answer within {timeout:?}")),
            Err(e) => return Outcome::unknown(format!("transport error reading the answer: {e}")),
        };
        let keys = &credentials.alipayplus_keys;
        if let Err(reason) = verify_answer(keys, url.path(), &credentials.client_id, &headers, &bytes) {
            return Outcome::unknown(reason);
        }
        match serde_json::from_slice::<R::Response>(&bytes) {
            Ok(parsed) => {
                let result = parsed.result().clone();
                Outcome::from_response(parsed, &result)
            }
            Err(e) => Outcome::unknown(format!("unreadable answer: {e}")),
        }
    }
}
