//! Customs declarations, as Alipay+ and the Chinese customs authority run them (ALIPAYPLUS.md
//! 6): `declare` checks Alipay+'s rules (a succeeded AlipayCN payment of the ledger, CNY, the
//! payment's declarations together within its customsDeclarationAmount; idempotent by
//! customsDeclarationRequestId: the same id again is the same answer and adds nothing), and the
//! authority decides each declaration on its own time: WAITING_FOR_PROCESSING, IN_PROCESS after
//! [`PROCESSING_AFTER`], then accepted or rejected after [`DECIDED_AFTER`], both scaled by
//! `time_scale`. It rejects a declaration whose buyer's ID card number fails its check digit
//! (GB 11643), and any other at `customs_reject_rate`. `inquireDeclarationRequests` answers up to 10
//! ids; every call is in the ledger with the ids it asked about. A test has customs decide one
//! at once, either way (`POST /simulator/customs/{customsDeclarationRequestId}/decide`).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Json, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::alipayplus::inbound::Refusal;
use crate::alipayplus::wire::*;
use crate::kinds::payment::simulator::Payments;
use crate::simulator::core::{Call, PartBooks, Simulator, SimulatorPart};

/// When customs starts on a declaration, and when it decides, at time scale 1.
pub const PROCESSING_AFTER: Duration = Duration::from_secs(20);
pub const DECIDED_AFTER: Duration = Duration::from_secs(60);
/// A status plusflow does not know, answered for the declarations picked at
/// `customs_unknown_status_rate` once customs has had them past [`DECIDED_AFTER`].
pub const UNKNOWN_STATUS: &str = "CUSTOMS_HOLD";

/// A declaration Alipay+ took, and what customs makes of it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimDeclaration {
    pub payment_request_id: String,
    pub amount: Amount,
    pub customs_code: String,
    pub is_split: bool,
    pub reference_order_id: Option<String>,
    /// declare calls with this id (the same id again counts again, adds nothing).
    pub declare_calls: u32,
    /// Of those, the ones that changed it (Alipay+'s update).
    pub updates: u32,
    #[serde(skip)]
    pub declared_at: DateTime<Utc>,
    /// Decided when declared: whether customs will reject it.
    pub rejected: bool,
    /// Decided when declared: whether its status stays one plusflow does not know.
    pub unknown_status: bool,
    /// Decided by a test before customs' own time (`rejected` says how).
    pub decided_early: bool,
    /// Its status when last inquired.
    pub status: String,
}

/// One inquireDeclarationRequests call.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryCall {
    pub ids: Vec<String>,
}

/// The customs side of the ledger.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomsBooks {
    /// By customsDeclarationRequestId.
    pub declarations: BTreeMap<String, SimDeclaration>,
    pub inquiries: Vec<InquiryCall>,
}

/// Alipay+'s customs declarations, as a simulator part.
#[derive(Default)]
pub struct CustomsDeclarations {
    /// The declarations taken and every inquiry.
    pub books: PartBooks<CustomsBooks>,
}

impl SimulatorPart for CustomsDeclarations {
    fn apis(&self) -> &'static [&'static str] {
        &["declare", "inquireDeclarationRequests"]
    }

    fn answer(
        &self,
        simulator: &Simulator,
        api: &str,
        call: &Call<'_>,
    ) -> Result<serde_json::Value, Refusal> {
        let answer = if api == "declare" {
            serde_json::to_value(declare(simulator, call.request()?))
        } else {
            serde_json::to_value(inquire(simulator, call.request()?))
        };
        Ok(answer.expect("wire types serialise"))
    }

    fn routes(&self) -> Router<Simulator> {
        Router::new().route(
            "/simulator/customs/{customs_declaration_request_id}/decide",
            post(decide_route),
        )
    }
}

/// `POST /simulator/customs/{customsDeclarationRequestId}/decide` `{"accept": bool}`: customs
/// decides the declaration now (refused for one it does not have, or has decided).
async fn decide_route(
    State(simulator): State<Simulator>,
    Path(id): Path<String>,
    Json(request): Json<DecideRequest>,
) -> Response {
    let now = simulator.now();
    let mut books = simulator.part::<CustomsDeclarations>().books.lock();
    let Some(declaration) = books.declarations.get(&id).cloned() else {
        let error = json!({ "error": format!("customs has no declaration {id}") });
        return (StatusCode::NOT_FOUND, Json(error)).into_response();
    };
    let (status, _, _) = decision(&simulator, &declaration, now);
    if matches!(status, DeclarationStatus::ACCEPTED | DeclarationStatus::REJECTED) {
        let error = json!({ "error": "customs has decided this declaration" });
        return (StatusCode::CONFLICT, Json(error)).into_response();
    }
    let entry = books.declarations.get_mut(&id).expect("read above");
    entry.decided_early = true;
    entry.rejected = !request.accept;
    Json(json!({ "decided": id, "accepted": request.accept })).into_response()
}

#[derive(Debug, Deserialize)]
struct DecideRequest {
    accept: bool,
}

fn refused(code: &str, message: &str) -> DeclareResponse {
    only_result(ResultInfo::new(ResultStatus::F, code, message))
}

/// What customs says of `declaration` at `now`: its status, result code and description. As in
/// Alipay+'s own sample, a declaration not decided yet already carries code `2` with a
/// `success_...` description: only the status says whether customs decided.
fn decision(
    simulator: &Simulator,
    declaration: &SimDeclaration,
    now: DateTime<Utc>,
) -> (&'static str, &'static str, &'static str) {
    let scale = simulator.config().time_scale;
    let elapsed = (now - declaration.declared_at).to_std().unwrap_or_default();
    let early = declaration.decided_early;
    if !early && elapsed < PROCESSING_AFTER.mul_f64(scale) {
        (DeclarationStatus::WAITING, "2", "success_waiting_for_processing")
    } else if !early && elapsed < DECIDED_AFTER.mul_f64(scale) {
        (DeclarationStatus::IN_PROCESS, "2", "success_in_process")
    } else if !early && declaration.unknown_status {
        (UNKNOWN_STATUS, "2", "success_held")
    } else if declaration.rejected {
        (
            DeclarationStatus::REJECTED,
            "CUSTOMS_INFO_MISMATCH",
            "the declared information does not match",
        )
    } else {
        (DeclarationStatus::ACCEPTED, "0000", "accepted")
    }
}

/// declare.
fn declare(simulator: &Simulator, request: DeclareRequest) -> DeclareResponse {
    let now = simulator.now();
    let mut books = simulator.part::<CustomsDeclarations>().books.lock();
    if let Some(earlier) = books
        .declarations
        .get(&request.customs_declaration_request_id)
        .cloned()
    {
        return update(simulator, &mut books, earlier, &request, now);
    }
    let payments = simulator.part::<Payments>();
    let Some(declarable) = payments.customs_declaration_amount(&request.payment_request_id) else {
        return refused("ORDER_NOT_EXIST", "no such payment");
    };
    let Some(declarable) = declarable else {
        return refused("ORDER_STATUS_INVALID", "only a paid AlipayCN payment is declared");
    };
    if request.declaration_amount.currency != "CNY" {
        return refused("PARAM_ILLEGAL", "declarationAmount must be in CNY");
    }
    let declared: i64 = books
        .declarations
        .values()
        .filter(|d| d.payment_request_id == request.payment_request_id)
        .map(|d| d.amount.value)
        .sum();
    if declared + request.declaration_amount.value > declarable.value {
        return refused(
            "DECLARATION_AMOUNT_EXCEED",
            "the declarations exceed the customsDeclarationAmount",
        );
    }
    books.declarations.insert(
        request.customs_declaration_request_id.clone(),
        SimDeclaration {
            payment_request_id: request.payment_request_id.clone(),
            amount: request.declaration_amount.clone(),
            customs_code: request.customs.customs_code.clone(),
            is_split: request.is_split.unwrap_or(false),
            reference_order_id: request.reference_order_id.clone(),
            declare_calls: 1,
            updates: 0,
            declared_at: now,
            rejected: customs_rejects(simulator, &request),
            unknown_status: simulator.chance(simulator.config().customs_unknown_status_rate),
            decided_early: false,
            status: DeclarationStatus::WAITING.into(),
        },
    );
    accepted(&request)
}

/// Whether a buyer certificate passes the identity check: an ID card by its check digit, a
/// passport when its number is 5 to 20 letters and digits.
fn identity_checks(certificate: &Certificate) -> bool {
    match certificate.certificate_type.as_str() {
        "ID_CARD" => id_card_number_is_valid(&certificate.certificate_no),
        "PASSPORT" => {
            (5..=20).contains(&certificate.certificate_no.len())
                && certificate
                    .certificate_no
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric())
        }
        _ => false,
    }
}

/// A Chinese resident ID card number: 17 digits and the ISO 7064 MOD 11-2 check character.
fn id_card_number_is_valid(number: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let bytes = number.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    bytes[17].to_ascii_uppercase() == CHECK[(sum % 11) as usize]
}

/// Whether customs will reject a new declaration: a buyer ID card number with a wrong check
/// digit, and any other at `customs_reject_rate`.
fn customs_rejects(simulator: &Simulator, request: &DeclareRequest) -> bool {
    let identity_mismatch = request
        .buyer_certificate
        .as_ref()
        .is_some_and(|certificate| !identity_checks(certificate));
    identity_mismatch || simulator.chance(simulator.config().customs_reject_rate)
}

/// declare with an id taken before: the same declaration again is the same answer; a changed one
/// is an update, under the sibling Alipay customs API's rules (UNCONFIRMED for Alipay+): at
/// least 5 minutes after the declaration, before customs decided, never for more.
fn update(
    simulator: &Simulator,
    books: &mut CustomsBooks,
    earlier: SimDeclaration,
    request: &DeclareRequest,
    now: DateTime<Utc>,
) -> DeclareResponse {
    let id = &request.customs_declaration_request_id;
    let unchanged = earlier.amount == request.declaration_amount
        && earlier.customs_code == request.customs.customs_code
        && earlier.reference_order_id == request.reference_order_id;
    let decided = !matches!(
        decision(simulator, &earlier, now).0,
        DeclarationStatus::WAITING | DeclarationStatus::IN_PROCESS
    );
    let refusal = if unchanged {
        None
    } else if now - earlier.declared_at < chrono::Duration::minutes(5) {
        Some("an update must come at least 5 minutes after the declaration")
    } else if decided {
        Some("customs has decided this declaration")
    } else if request.declaration_amount.value > earlier.amount.value {
        Some("an update may not declare more")
    } else {
        None
    };
    if let Some(why) = refusal {
        return refused("CONTEXT_INCONSISTENT", why);
    }
    if let Some(entry) = books.declarations.get_mut(id) {
        entry.declare_calls += 1;
        if !unchanged {
            entry.updates += 1;
            entry.amount = request.declaration_amount.clone();
            entry.customs_code = request.customs.customs_code.clone();
            entry.reference_order_id = request.reference_order_id.clone();
        }
    }
    accepted(request)
}

fn accepted(request: &DeclareRequest) -> DeclareResponse {
    DeclareResponse {
        result: ResultInfo::success(),
        psp_declaration_request_id: Some(format!("PSP{}", request.customs_declaration_request_id)),
        psp_payment_id: None,
        psp_customs_code: Some(request.customs.customs_code.clone()),
        psp_order_amount: Some(request.declaration_amount.clone()),
        clearing_channel: Some("CUP".into()),
        clearing_transaction_id: None,
        identity_check_result: request.buyer_certificate.as_ref().map(|certificate| {
            if identity_checks(certificate) {
                "CHECK_PASSED".into()
            } else {
                "CHECK_NOT_PASSED".into()
            }
        }),
    }
}

/// inquireDeclarationRequests.
fn inquire(
    simulator: &Simulator,
    request: InquireDeclarationRequestsRequest,
) -> InquireDeclarationRequestsResponse {
    if request.declaration_request_ids.is_empty() || request.declaration_request_ids.len() > 10 {
        return only_result(ResultInfo::new(
            ResultStatus::F,
            "PARAM_ILLEGAL",
            "1 to 10 declarationRequestIds",
        ));
    }
    let now = simulator.now();
    let mut books = simulator.part::<CustomsDeclarations>().books.lock();
    books.inquiries.push(InquiryCall {
        ids: request.declaration_request_ids.clone(),
    });
    let mut records = Vec::new();
    let mut not_found = Vec::new();
    for id in &request.declaration_request_ids {
        let Some(declaration) = books.declarations.get(id).cloned() else {
            not_found.push(id.clone());
            continue;
        };
        let (status, code, description) = decision(simulator, &declaration, now);
        if let Some(entry) = books.declarations.get_mut(id) {
            entry.status = status.into();
        }
        records.push(DeclarationRecord {
            customs_declaration_request_id: Some(id.clone()),
            psp_declaration_request_id: Some(format!("PSP{id}")),
            psp_payment_id: None,
            customs: Some(Customs {
                customs_code: declaration.customs_code.clone(),
                region: "CN".into(),
            }),
            merchant_customs_info: None,
            declaration_amount: Some(declaration.amount.clone()),
            is_split: Some(declaration.is_split),
            reference_order_id: declaration.reference_order_id.clone(),
            declaration_request_status: Some(status.into()),
            modified_time: Some(crate::alipayplus::signing::timestamp(now)),
            customs_result_description: Some(description.into()),
            customs_result_code: Some(code.into()),
            customs_result_returned_time: None,
        });
    }
    InquireDeclarationRequestsResponse {
        result: ResultInfo::success(),
        declaration_requests_not_found: Some(not_found),
        declaration_records: Some(records),
    }
}
