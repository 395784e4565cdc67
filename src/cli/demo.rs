//! `plusflow demo`: everything in one process on the embedded defaults (SQLite file, in-process
//! queue, built-in Alipay+ simulator with generated keys). A demo merchant runs payments
//! through every outcome (paid and notified; paid with the notification lost, found by
//! polling; declined; expired and cancelled; cancelled by the merchant; paid and then disputed),
//! refunds part and then the rest of one payment and all of another, has Alipay+ raise a
//! retrieval (answered) and an escalation (accepted in part, refunded) on the disputed one, and
//! declares an AlipayCN payment to customs in two split parts (one accepted, one rejected), and
//! prints what plusflow and the simulator's ledger each recorded. Payments in the demo's market
//! (KR) require a registered merchant: its first payment is refused, then an operator registers
//! it (two wallets approve, AlipayHK rejects it for want of a website) and the rest go through.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Role, boot, check_mode, start};
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::customs_declarations::{self as customs, DeclarationView, NewDeclaration};
use crate::app::disputes::{self, DisputeView, EscalationDecision, Response};
use crate::app::payments::{self, NewPayment, PaymentView};
use crate::app::refunds::{self, NewRefund, RefundView};
use crate::app::registrations::{self, NewRegistration, RegistrationView};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::domain::format_money;
use crate::store::{self, payments as rows};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Leave the server running afterwards, with the demo merchant's API key.
    #[arg(long)]
    pub keep_running: bool,
    /// Run on a postgres:// database (refused without: see `serve --allow-simulator`).
    #[arg(long)]
    pub allow_simulator: bool,
}

/// What the demo's customer does at the checkout.
#[derive(Clone, Copy)]
enum Customer {
    Pays,
    PaysWithAlipayCn,
    PaysButTheNotificationIsLost,
    Declines,
    WalksAway,
    WaitsForTheMerchantToCancel,
}

struct Scenario {
    name: &'static str,
    customer: Customer,
    currency: &'static str,
    amount: &'static str,
    expires_in: i32,
}

const SCENARIOS: [Scenario; 7] = [
    Scenario {
        name: "paid, notified",
        customer: Customer::Pays,
        currency: "USD",
        amount: "1250",
        expires_in: 599,
    },
    Scenario {
        name: "paid, notice lost",
        customer: Customer::PaysButTheNotificationIsLost,
        currency: "USD",
        amount: "800",
        expires_in: 599,
    },
    Scenario {
        name: "declined",
        customer: Customer::Declines,
        currency: "USD",
        amount: "99900",
        expires_in: 599,
    },
    Scenario {
        name: "expired",
        customer: Customer::WalksAway,
        currency: "USD",
        amount: "500",
        expires_in: 5,
    },
    Scenario {
        name: "merchant cancel",
        customer: Customer::WaitsForTheMerchantToCancel,
        currency: "USD",
        amount: "4200",
        expires_in: 599,
    },
    Scenario {
        name: "paid, disputed",
        customer: Customer::Pays,
        currency: "USD",
        amount: "3000",
        expires_in: 599,
    },
    Scenario {
        name: "AlipayCN, customs",
        customer: Customer::PaysWithAlipayCn,
        currency: "CNY",
        amount: "20000",
        expires_in: 599,
    },
];

/// The payment of SCENARIOS declared to customs.
const DECLARED: usize = 6;

/// The payment of SCENARIOS Alipay+ raises disputes on.
const DISPUTED: usize = 5;

pub async fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<ExitCode> {
    if !args.keep_running {
        config.port = 0;
    }
    // Customs takes a minute to decide at Alipay+'s pace; the demo's simulator runs 20x faster
    // (its notification schedule too).
    config.alipayplus.simulator_time_scale = 0.05;
    config.registration.required_regions = vec!["KR".into()];
    let engine = boot(&config, Arc::new(SystemClock)).await?;
    check_mode(&config, &engine, args.allow_simulator).await?;
    let running = start(&config, engine.clone(), Role::All).await?;
    let base = format!("http://{}", running.api_address.expect("demo serves the API"));
    let simulator = running.simulator.map(|a| format!("http://{a}"));
    let Some(simulator) = simulator else {
        anyhow::bail!("the demo needs the built-in simulator: leave alipayplus.gateway_url empty");
    };
    println!(
        "plusflow demo: API {base}, Alipay+ simulator {simulator}, database {}",
        crate::config::redact(&config.database_url)
    );

    let created = crate::app::merchants::create_merchant(
        &engine,
        "Demo Coffee",
        None,
        crate::app::merchant_profile::MerchantProfile {
            legal_name: Some("Demo Coffee Pte. Ltd.".into()),
            display_name: Some("Demo Coffee".into()),
            mcc: Some("5814".into()),
            region: Some("SG".into()),
            city: Some("Singapore".into()),
            ..Default::default()
        },
    )
    .await?;
    let merchant = rows::merchant(&engine.db, created.id)
        .await?
        .expect("just created");
    let principal = Principal::Merchant(Box::new(merchant));
    let new_payment = |n: usize, scenario: &Scenario| NewPayment {
        merchant_order_id: format!("demo-{}-{n}", Uuid::now_v7().simple()),
        order_description: format!("Demo order: {}", scenario.name),
        currency: scenario.currency.into(),
        amount: scenario.amount.into(),
        terminal_type: "WEB".into(),
        os_type: None,
        redirect_url: format!("{base}/health/live"),
        user_region: Some("KR".into()),
        settlement_currency: None,
        expires_in_seconds: Some(scenario.expires_in),
        buyer_reference: Some(format!("customer-{n}")),
    };
    let unregistered = payments::create_payment(
        &engine,
        &principal,
        new_payment(0, &SCENARIOS[0]),
        &Uuid::now_v7().to_string(),
    )
    .await;
    let registration = register_merchant(&engine, created.id).await;
    let mut ids = Vec::new();
    for (n, scenario) in SCENARIOS.iter().enumerate() {
        let input = new_payment(n, scenario);
        let view = payments::create_payment(&engine, &principal, input, &Uuid::now_v7().to_string()).await?;
        ids.push(view.payment.id);
    }

    let http = reqwest::Client::new();
    for (scenario, id) in SCENARIOS.iter().zip(&ids) {
        let view = wait(&engine, &principal, *id, |v| v.status.to_string() != "PENDING").await?;
        let complete = |body: Value| {
            let url = format!(
                "{simulator}/simulator/payments/{}/complete",
                view.payment.payment_request_id
            );
            http.post(url).json(&body).send()
        };
        match scenario.customer {
            Customer::Pays => drop(complete(json!({ "outcome": "SUCCESS", "wallet": "KAKAOPAY" })).await?),
            Customer::PaysWithAlipayCn => {
                drop(complete(json!({ "outcome": "SUCCESS", "wallet": "ALIPAY_CN" })).await?)
            }
            Customer::PaysButTheNotificationIsLost => {
                drop(complete(json!({ "outcome": "SUCCESS", "wallet": "GCASH", "notify": false })).await?)
            }
            Customer::Declines => {
                drop(complete(json!({ "outcome": "FAIL", "resultCode": "USER_BALANCE_NOT_ENOUGH" })).await?)
            }
            Customer::WalksAway => {}
            Customer::WaitsForTheMerchantToCancel => {
                drop(payments::cancel_payment(&engine, &principal, *id, None).await?)
            }
        }
    }
    let mut settled = true;
    for id in &ids {
        settled &= wait(&engine, &principal, *id, |v| {
            v.instance.terminal || v.instance.needs_attention
        })
        .await
        .is_ok();
    }
    // Refunds: two partial ones that add up to the whole of the first payment, and a full
    // refund of the second.
    let mut refunds = Vec::new();
    for (payment, amount) in [(ids[0], "500"), (ids[0], "750"), (ids[1], "800")] {
        let refund = NewRefund {
            payment_id: payment,
            currency: "USD".into(),
            amount: amount.into(),
            reason: Some("demo".into()),
        };
        refunds.push(refunds::create_refund(&engine, &principal, refund, &Uuid::now_v7().to_string()).await?);
    }
    for refund in &refunds {
        settled &= wait_refund(&engine, &principal, refund.refund.id).await.is_ok();
    }
    let disputed = payments::get_payment(&engine, &principal, ids[DISPUTED]).await?;
    let disputes = match dispute_and_answer(&engine, &principal, &http, &simulator, &disputed).await {
        Ok(disputes) => disputes,
        Err(e) => {
            eprintln!("disputes: {e:#}");
            settled = false;
            vec![]
        }
    };
    let declared = payments::get_payment(&engine, &principal, ids[DECLARED]).await?;
    let declarations = match declare_in_two_parts(&engine, &principal, &declared).await {
        Ok(declarations) => declarations,
        Err(e) => {
            eprintln!("customs: {e:#}");
            settled = false;
            vec![]
        }
    };
    let ledger: Value = http
        .get(format!("{simulator}/simulator/ledger"))
        .send()
        .await?
        .json()
        .await?;
    let registered = match &registration {
        Ok(view) => view.status() == "COMPLETED",
        Err(e) => {
            eprintln!("registration: {e:#}");
            false
        }
    };
    settled &= registered && unregistered.is_err();
    print_registration(unregistered.err(), registration.ok().as_ref(), &ledger);
    print_table(&engine, &principal, &ids, &ledger).await?;
    let dispute_refunds: Vec<Uuid> = disputes.iter().filter_map(|d| d.dispute.refund_id).collect();
    for id in &dispute_refunds {
        refunds.push(refunds::get_refund(&engine, &principal, *id).await?);
    }
    print_refunds(&engine, &principal, &refunds, &ledger).await?;
    print_disputes(&engine, &principal, &disputes, &ledger).await?;
    print_declarations(&declared, &declarations, &ledger);

    if args.keep_running {
        println!(
            "\nGraphiQL: {base}/graphql   demo merchant API key: {}",
            created.api_key
        );
        println!(
            "Authorization header for GraphiQL: {{\"Authorization\": \"Bearer {}\"}}",
            created.api_key
        );
        println!("Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
    }
    running.stop().await;
    if !settled {
        eprintln!("some payments did not settle within 90 s");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Polls `probe` until it gives something (at most 90 s).
async fn within_90s<T, Fut>(what: String, mut probe: impl FnMut() -> Fut) -> anyhow::Result<T>
where
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        anyhow::ensure!(Instant::now() < deadline, "{what} did not get there in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The payment once `done` holds.
async fn wait(
    engine: &Engine,
    principal: &Principal,
    id: Uuid,
    done: impl Fn(&PaymentView) -> bool,
) -> anyhow::Result<PaymentView> {
    within_90s(format!("payment {id}"), || async {
        let view = payments::get_payment(engine, principal, id).await?;
        Ok(done(&view).then_some(view))
    })
    .await
}

/// Has the simulator raise a retrieval and an escalation on `payment`; answers the retrieval
/// with the receipt and accepts the escalation in part (40%); waits until both are answered and
/// the refund is final: the two disputes, as they ended.
async fn dispute_and_answer(
    engine: &Engine,
    principal: &Principal,
    http: &reqwest::Client,
    simulator: &str,
    payment: &PaymentView,
) -> anyhow::Result<Vec<DisputeView>> {
    let currency = &payment.payment.currency;
    let raise_url = format!(
        "{simulator}/simulator/payments/{}/disputes",
        payment.payment.payment_request_id
    );
    for body in [
        json!({ "kind": "RETRIEVAL" }),
        json!({ "kind": "ESCALATION", "amount": { "currency": currency, "value": payment.payment.amount.to_string() } }),
    ] {
        http.post(&raise_url)
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
    }
    let opened = wait_disputes(engine, payment.payment.id, |d| d.len() == 2).await?;
    for dispute in &opened {
        let response = if dispute.dispute.kind == crate::store::entity::dispute::RETRIEVAL {
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
    answered.sort_by_key(|d| d.dispute.kind != crate::store::entity::dispute::RETRIEVAL);
    Ok(answered)
}

/// An operator registers the demo merchant for cashier payments, without a website (AlipayHK
/// rejects it, AlipayCN and GCash approve); the registration once every wallet answered.
async fn register_merchant(engine: &Engine, merchant_id: Uuid) -> anyhow::Result<RegistrationView> {
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

fn print_registration(
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
            registration.status(),
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
async fn declare_in_two_parts(
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

fn print_declarations(payment: &PaymentView, declarations: &[DeclarationView], ledger: &Value) {
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
            declaration.status(),
            declaration.customs_result_code().unwrap_or_else(|| "-".into()),
            entry["status"].as_str().unwrap_or("?"),
            entry["declareCalls"].as_u64().unwrap_or(0),
        );
    }
}

/// The payment's disputes once `done` holds.
async fn wait_disputes(
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

async fn print_disputes(
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
            dispute.status(),
            row.respond_by.format("%Y-%m-%d %H:%M UTC").to_string(),
            answer,
            entry["initiateAnswer"].as_str().unwrap_or("?"),
            entry["responses"].as_array().map_or(0, Vec::len),
        );
    }
    Ok(())
}

/// The refund once it is final.
async fn wait_refund(engine: &Engine, principal: &Principal, id: Uuid) -> anyhow::Result<RefundView> {
    within_90s(format!("refund {id}"), || async {
        let view = refunds::get_refund(engine, principal, id).await?;
        Ok((view.instance.terminal || view.instance.needs_attention).then_some(view))
    })
    .await
}

/// The name of the scenario `payment` was made for.
fn scenario_of(payment: &PaymentView) -> &'static str {
    SCENARIOS
        .iter()
        .find(|s| payment.payment.order_description.ends_with(s.name))
        .map_or("?", |s| s.name)
}

async fn print_refunds(
    engine: &Engine,
    principal: &Principal,
    created: &[RefundView],
    ledger: &Value,
) -> anyhow::Result<()> {
    println!(
        "\n{:<18} {:<11} {:<10} {:<26} ALIPAY+ LEDGER",
        "REFUND OF", "AMOUNT", "STATUS", "PAYMENT REFUNDED / PAID"
    );
    for refund in created {
        let refund = refunds::get_refund(engine, principal, refund.refund.id).await?;
        let payment = payments::get_payment(engine, principal, refund.refund.payment_id).await?;
        let (refunded, _) =
            refunds::refund_totals(&payment, &refunds::refunds_of(engine, payment.payment.id).await?);
        let scenario = scenario_of(&payment);
        let entry = &ledger["refunds"][&refund.refund.refund_request_id];
        let currency = &payment.payment.currency;
        println!(
            "{:<18} {:<11} {:<10} {:<26} {} {}",
            scenario,
            format_money(currency, refund.refund.amount),
            refund.status.to_string(),
            format!(
                "{} / {}",
                format_money(currency, refunded),
                format_money(currency, payment.payment.amount)
            ),
            entry["resultStatus"].as_str().unwrap_or("?"),
            entry["resultCode"].as_str().unwrap_or("?"),
        );
    }
    Ok(())
}

async fn print_table(
    engine: &Engine,
    principal: &Principal,
    ids: &[Uuid],
    ledger: &Value,
) -> anyhow::Result<()> {
    println!(
        "\n{:<18} {:<11} {:<33} {:<50} {:<12} ALIPAY+ LEDGER",
        "SCENARIO", "AMOUNT", "STATUS", "WORKFLOW PATH", "WALLET"
    );
    for (scenario, id) in SCENARIOS.iter().zip(ids) {
        let view = payments::get_payment(engine, principal, *id).await?;
        let history = store::history(&engine.db, *id).await?;
        let path: Vec<&str> = history
            .iter()
            .filter(|h| h.outcome == "TRANSITIONED")
            .filter_map(|h| h.to_state.as_deref())
            .collect();
        let entry = &ledger["payments"][&view.payment.payment_request_id];
        let books = format!(
            "{} pay={} cancel={}",
            entry["status"].as_str().unwrap_or("?"),
            entry["payCalls"].as_u64().unwrap_or(0),
            entry["cancelCount"].as_u64().unwrap_or(0)
        );
        let status = match view.failure_code() {
            Some(code) if view.status.to_string() == "FAILED" => format!("FAILED ({code})"),
            _ => view.status.to_string(),
        };
        let wallet = crate::app::payment_results::stated_result(engine, *id)
            .await?
            .and_then(|result| crate::app::payment_results::wallet_of(engine, &result))
            .map_or_else(|| "-".to_string(), |wallet| wallet.brand);
        println!(
            "{:<18} {:<11} {:<33} {:<50} {:<12} {}",
            scenario.name,
            format_money(&view.payment.currency, view.payment.amount),
            status,
            path.join(">"),
            wallet,
            books,
        );
    }
    Ok(())
}
