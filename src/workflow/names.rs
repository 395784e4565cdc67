//! The vocabulary workflow files may use. A name in `workflows/*.toml` that is not a variant
//! here is rejected by serde with the file, line and column, so a typo never reaches runtime.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr};

/// Something that happened to an instance: an effect's outcome, a timer, a request.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EventName {
    /// `engine_probe`: the first probe call answered.
    StepDone,
    /// `engine_probe`: the rest timer ran out.
    Rested,
    /// `engine_probe`: the second probe call answered.
    FinishDone,
    /// Someone asked the instance to stop.
    CancelRequested,
    /// `payment`: Alipay+ accepted `pay` (S, or U with a checkout URL).
    PayAccepted,
    /// `payment`: Alipay+ refused `pay` (F).
    PayRejected,
    /// `payment`: notifyPayment said S.
    NotifiedSuccess,
    /// `payment`: notifyPayment said F.
    NotifiedFailure,
    /// `payment`: inquiryPayment found the payment paid.
    InquirySuccess,
    /// `payment`: inquiryPayment found the payment failed or closed.
    InquiryFailure,
    /// `payment`: no final result by the expiry time.
    Expired,
    /// `payment`: cancelPayment answered S.
    CancelSucceeded,
    /// `payment`: the cancel could not be done, and inquiryPayment found the payment paid.
    ConfirmedSuccess,
    /// `payment`: the cancel could not be done, and inquiryPayment found it failed or closed.
    ConfirmedFailure,
    /// `refund`: Alipay+ answered S.
    RefundSucceeded,
    /// `refund`: Alipay+ answered F.
    RefundFailed,
    /// `dispute`: 80% of the response window has passed (its `remindAt`).
    DeadlineNear,
    /// `dispute`: the response window closed (its `respondBy`) without a response.
    DeadlinePassed,
    /// `dispute`: the merchant answered; the response is in the dispute's row.
    DisputeResponded,
    /// `dispute`: Alipay+ accepted the response (S).
    ResponseAccepted,
    /// `dispute`: Alipay+ refused the response (F).
    ResponseRefused,
    /// `customs_declaration`: Alipay+ took the declaration (declare answered S).
    DeclarationSubmitted,
    /// `customs_declaration`: Alipay+ refused the declaration (declare answered F).
    DeclarationRefused,
    /// `customs_declaration`: customs is processing it (IN_PROCESS).
    CustomsProcessing,
    /// `customs_declaration`: customs accepted it (CUSTOMS_ACCEPT_SUCCESS).
    CustomsAccepted,
    /// `customs_declaration`: customs rejected it (a customsResultCode with another status).
    CustomsRejected,
    /// `customs_declaration`: the merchant changed it (declare again, same request id).
    Redeclared,
    /// `registration`: Alipay+ took the registration (S); the wallets answer later.
    RegistrationAccepted,
    /// `registration`: Alipay+ refused the registration (F).
    RegistrationRefused,
    /// `registration`: time to ask inquiryRegistrationStatus (its `nextInquiryAt`).
    InquiryDue,
    /// `registration`: inquiryRegistrationStatus said nothing new; ask again later.
    InquiryAnswered,
    /// `registration`: a wallet decided (a notification or an inquiry), not every one yet.
    WalletsAnswered,
    /// `registration`: the wallets' answers changed, and none has decided yet.
    WalletsListed,
    /// `registration`: every wallet answered and at least one approved.
    RegistrationCompleted,
    /// `registration`: every wallet answered and none approved (or Alipay+ cancelled it).
    RegistrationRejected,
}

/// Work a transition schedules, executed by a background job after the transaction commits.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EffectName {
    /// `engine_probe`: call the probe URL, answer with `step_done`.
    ProbeStep,
    /// `engine_probe`: call the probe URL again, answer with `finish_done`.
    ProbeFinish,
    /// `payment`: call Alipay+ `pay` (same paymentRequestId on every retry).
    SubmitPay,
    /// `payment`: inquiryPayment, again and again further apart, until a final result or expiry.
    PollPayment,
    /// `payment`: cancelPayment until it succeeds.
    CancelPayment,
    /// Tell the merchant's webhook URL about the new status (HMAC-signed).
    NotifyMerchant,
    /// `refund`: call Alipay+ `refund` (same refundRequestId on every retry).
    SubmitRefund,
    /// `dispute`: send responseRetrieval / responseEscalation (the same request on every retry).
    SendDisputeResponse,
    /// `customs_declaration`: call declare (same customsDeclarationRequestId on every retry).
    SubmitDeclaration,
    /// `customs_declaration`: ask inquireDeclarationRequests, batched with the other
    /// declarations due, until customs decides.
    InquireDeclaration,
    /// `registration`: call registration (same registrationRequestId on every retry).
    SubmitRegistration,
    /// `registration`: ask inquiryRegistrationStatus once (the timer asks again).
    InquireRegistration,
}

impl EffectName {
    /// Whether the effect asks Alipay+ to change something (money, a record): while one may be
    /// in flight, an operator cannot force its instance to an end (see `store::force`).
    /// Inquiries, the merchant's webhook and the probe change nothing at Alipay+.
    pub fn changes_alipayplus(self) -> bool {
        match self {
            EffectName::SubmitPay
            | EffectName::CancelPayment
            | EffectName::SubmitRefund
            | EffectName::SendDisputeResponse
            | EffectName::SubmitDeclaration
            | EffectName::SubmitRegistration => true,
            EffectName::ProbeStep
            | EffectName::ProbeFinish
            | EffectName::PollPayment
            | EffectName::NotifyMerchant
            | EffectName::InquireDeclaration
            | EffectName::InquireRegistration => false,
        }
    }
}

/// What Alipay+ said of an object when an operator asked it (askAlipayPlus), reduced to what
/// a forced outcome is checked against (a state's `force_needs_answer`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Display, EnumString, IntoStaticStr,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum AlipayPlusVerdict {
    /// Done at Alipay+ (paid, refunded).
    Success,
    /// Finally failed or closed at Alipay+.
    Fail,
    /// Alipay+ has it and has not decided (a payment the customer may still pay).
    Processing,
    /// Alipay+ has no such object (a payment it never created, a refund not among its
    /// transactions).
    Absent,
    /// No usable answer (the call failed or timed out).
    Unknown,
}
