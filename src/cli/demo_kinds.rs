//! The demo beyond payments and refunds: the merchant's registration, disputes raised and
//! answered, a payment declared to customs in two parts, and what each printed.

use serde_json::{Value, json};
use uuid::Uuid;

use super::demo_scenarios::{scenario_of, wait_refund, within_90s};
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::test_mode::SimulatorControls;
use crate::domain::format_money;
use crate::kinds::customs_declaration::use_cases::{self as customs, DeclarationView, NewDeclaration};
use crate::kinds::dispute::use_cases::{self as disputes, DisputeView, EscalationDecision, Response};
use crate::kinds::payment::use_cases::{self as payments, PaymentView};
use crate::kinds::registration::use_cases::{self as registrations, NewRegistration, RegistrationView};

/// Has the simulator raise a retrieval and an escalation on `payment`; answers the retrieval
/// with the receipt and accepts the escalation in part (40%); waits until both are answered and
/// the refund is final: the two disputes, as they ended.
pub(super) async fn dispute_and_answer(
    engine: &Engine,
    principal: &Principal,
    controls: &SimulatorControls,
    payment: &PaymentView,
) -> anyhow::Result<Vec<DisputeView>> {
    let currency = &payment.payment.currency;
    let raise = format!(
        "/simulator/payments/{}/disputes",
        payment.payment.payment_request_id
    );
    for body in [
        json!({ "kind": "RETRIEVAL" }),
        json!({ "kind": "ESCALATION", "amount": { "currency": currency, "value": payment.payment.amount.to_string() } }),
    ] {
        controls.post(&raise, body).await?;
    }
    let opened = wait_disputes(engine, payment.payment.id, |d| d.len() == 2).await?;
    for dispute in &opened {
        let response = if dispute.dispute.kind == crate::kinds::dispute::entity::RETRIEVAL {
            // All there, no receipt given: plusflow sends the receipt of its records.
            Response::Retrieval {
                response_code: "0001",
                note: None,
                transaction_receipt: None,
                proof_of_delivery: None,
                documents: Vec::new(),
            }
        } else {
            Response::Escalation {
                decision: EscalationDecision::AcceptPartialRefund,
                refund_amount: Some((currency.clone(), (payment.payment.amount * 2 / 5).to_string())),
                remarks: Some("one of the two items arrived damaged".into()),
            }
        };
        disputes::respond(
            engine,
            principal,
            None,
            dispute.dispute.id,
            response,
            &Uuid::now_v7().to_string(),
        )
        .await?;
    }
    let mut answered = wait_disputes(engine, payment.payment.id, |d| {
        d.iter()
            .all(|d| d.instance.terminal || d.instance.needs_attention)
    })
    .await?;
    for refund in answered.iter().filter_map(|d| d.dispute.refund_id) {
        wait_refund(engine, principal, refund).await?;
    }
    // The two arrive together, in either order; the table shows the retrieval first.
    answered.sort_by_key(|d| d.dispute.kind != crate::kinds::dispute::entity::RETRIEVAL);
    Ok(answered)
}

/// An operator registers the demo merchant for cashier payments, without a website (AlipayHK
/// rejects it, AlipayCN and GCash approve); the registration once every wallet answered.
pub(super) async fn register_merchant(
    engine: &Engine,
    merchant_id: Uuid,
) -> anyhow::Result<RegistrationView> {
    let input = NewRegistration {
        product_codes: vec!["CASHIER_PAYMENT".into()],
        merchant_display_name: Some("Demo Coffee".into()),
        merchant_mcc: Some("5814".into()),
        logo_url: None,
        websites: vec![],
        region: Some("KR".into()),
        city: Some("Seoul".into()),
        address: Some("1 Sejong-daero".into()),
        legal_name: Some("Demo Coffee Co., Ltd.".into()),
        registration_type: Some("ENTERPRISE_REGISTRATION_NO".into()),
        registration_no: Some("110-81-00042".into()),
        business_type: Some("ENTERPRISE".into()),
    };
    let operator = Principal::Admin;
    let key = Uuid::now_v7().to_string();
    let view = registrations::register(engine, &operator, "admin:demo", merchant_id, input, &key).await?;
    within_90s("the demo merchant's registration".into(), || async {
        let now = registrations::get_registration(engine, &operator, view.registration.id).await?;
        Ok(now.instance.terminal.then_some(now))
    })
    .await
}

pub(super) fn print_registration(
    engine: &Engine,
    refused: Option<crate::app::errors::AppError>,
    registration: Option<&RegistrationView>,
    ledger: &Value,
) {
    if let Some(refused) = refused {
        println!(
            "
before registration, a KR payment: refused ({refused})"
        );
    }
    let Some(registration) = registration else {
        return;
    };
    let entry = &ledger["registrations"][&registration.registration.registration_request_id];
    println!(
        "
{:<14} {:<10} {:<10} {:<48} ALIPAY+ LEDGER",
        "REGISTRATION", "WALLET", "STATUS", "REJECTION REASON"
    );
    for wallet in registration.wallets() {
        println!(
            "{:<14} {:<10} {:<10} {:<48} notified={} acknowledged={}",
            registration.status(engine),
            wallet.psp_name,
            wallet.status,
            wallet.rejection_reason.as_deref().unwrap_or("-"),
            entry["notificationsSent"].as_u64().unwrap_or(0),
            entry["notificationsAcknowledged"].as_u64().unwrap_or(0),
        );
    }
}

/// Declares `payment` to customs in two split parts (60% and 40%); the second names a buyer ID
/// card number whose check digit is wrong, so customs rejects it. Both, once customs decided.
pub(super) async fn declare_in_two_parts(
    engine: &Engine,
    principal: &Principal,
    payment: &PaymentView,
) -> anyhow::Result<Vec<DeclarationView>> {
    let amount = payment.payment.amount;
    for (sub_order, value, id_number) in [
        ("order-a", amount * 3 / 5, "110101199003071233"),
        ("order-b", amount - amount * 3 / 5, "110101199003071234"),
    ] {
        let input = NewDeclaration {
            payment_id: payment.payment.id,
            customs_code: "HANGZHOU".into(),
            merchant_customs_code: "MC-DEMO-0001".into(),
            merchant_customs_name: "Demo Coffee Trading".into(),
            currency: "CNY".into(),
            amount: value.to_string(),
            split: true,
            sub_order_id: Some(sub_order.into()),
            buyer_name: Some("Li Lei".into()),
            buyer_id_number: Some(id_number.into()),
            buyer_id_type: None,
        };
        customs::declare(engine, principal, input, &Uuid::now_v7().to_string()).await?;
    }
    within_90s(format!("the declarations of {}", payment.payment.id), || async {
        let declarations = customs::declarations_of(engine, payment.payment.id).await?;
        let decided = declarations
            .iter()
            .all(|d| d.instance.terminal || d.instance.needs_attention);
        Ok(decided.then_some(declarations))
    })
    .await
}

pub(super) fn print_declarations(
    engine: &Engine,
    payment: &PaymentView,
    declarations: &[DeclarationView],
    ledger: &Value,
) {
    println!(
        "\n{:<18} {:<10} {:<12} {:<10} {:<22} ALIPAY+ LEDGER",
        "CUSTOMS OF", "SUB-ORDER", "AMOUNT", "STATUS", "CUSTOMS RESULT"
    );
    for declaration in declarations {
        let row = &declaration.declaration;
        let entry = &ledger["declarations"][&row.customs_declaration_request_id];
        println!(
            "{:<18} {:<10} {:<12} {:<10} {:<22} {} declare={}",
            scenario_of(payment),
            row.sub_order_id.as_deref().unwrap_or("-"),
            format_money(&row.currency, row.amount),
            declaration.status(engine),
            declaration.customs_result_code().unwrap_or_else(|| "-".into()),
            entry["status"].as_str().unwrap_or("?"),
            entry["declareCalls"].as_u64().unwrap_or(0),
        );
    }
}

/// The payment's disputes once `done` holds.
pub(super) async fn wait_disputes(
    engine: &Engine,
    payment: Uuid,
    done: impl Fn(&[DisputeView]) -> bool,
) -> anyhow::Result<Vec<DisputeView>> {
    within_90s(format!("the disputes of {payment}"), || async {
        let disputes = disputes::disputes_of(engine, payment).await?;
        Ok(done(&disputes).then_some(disputes))
    })
    .await
}

pub(super) async fn print_disputes(
    engine: &Engine,
    principal: &Principal,
    disputes: &[DisputeView],
    ledger: &Value,
) -> anyhow::Result<()> {
    println!(
        "\n{:<18} {:<11} {:<11} {:<22} {:<32} ALIPAY+ LEDGER",
        "DISPUTE OF", "KIND", "STATUS", "RESPOND BY", "RESPONSE"
    );
    for dispute in disputes {
        let row = &dispute.dispute;
        let payment = payments::get_payment(engine, principal, row.payment_id).await?;
        let scenario = scenario_of(&payment);
        let response = row.response.clone().unwrap_or_default();
        let answer = match (response.get("responseCode"), response.get("refundType")) {
            (Some(code), _) => format!("responseCode {}", code.as_str().unwrap_or("?")),
            (_, Some(decision)) => match &response["refundAmount"]["value"] {
                Value::String(value) => format!(
                    "{} {}",
                    decision.as_str().unwrap_or("?"),
                    format_money(&payment.payment.currency, value.parse().unwrap_or(0))
                ),
                _ => decision.as_str().unwrap_or("?").to_string(),
            },
            _ => "-".into(),
        };
        let entry = &ledger["disputes"][&row.dispute_request_id];
        println!(
            "{:<18} {:<11} {:<11} {:<22} {:<32} initiate={} responses={}",
            scenario,
            row.kind,
            dispute.status(engine),
            row.respond_by.format("%Y-%m-%d %H:%M UTC").to_string(),
            answer,
            entry["initiateAnswer"].as_str().unwrap_or("?"),
            entry["responses"].as_array().map_or(0, Vec::len),
        );
    }
    Ok(())
}
