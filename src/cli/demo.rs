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

use serde_json::{Value, json};
use uuid::Uuid;

use super::compose::{Role, boot, check_mode, start};
use super::demo_kinds::{
    declare_in_two_parts, dispute_and_answer, print_declarations, print_disputes, print_registration,
    register_merchant,
};
use super::demo_scenarios::{
    Customer, DECLARED, DISPUTED, SCENARIOS, Scenario, scenario_of, wait_refund, within_90s,
};
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::test_mode::SimulatorControls;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::domain::format_money;
use crate::kinds::payment::use_cases::{self as payments, NewPayment, PaymentView};
use crate::kinds::refund::use_cases::{self as refunds, NewRefund, RefundView};
use crate::store;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Leave the server running afterwards, with the demo merchant's API key.
    #[arg(long)]
    pub keep_running: bool,
    /// Run on a postgres:// database (refused without: see `serve --allow-simulator`).
    #[arg(long)]
    pub allow_simulator: bool,
}

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
    let started = std::time::Instant::now();
    let progress = |what: &str| println!("  [{:>5.1}s] {what}", started.elapsed().as_secs_f64());

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
    let merchant = store::merchants::merchant(&engine.db, created.id)
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
        metadata: vec![crate::app::metadata::Entry {
            key: "scenario".into(),
            value: scenario.name.into(),
        }],
    };
    let unregistered = payments::create_payment(
        &engine,
        &principal,
        new_payment(0, &SCENARIOS[0]),
        &Uuid::now_v7().to_string(),
    )
    .await;
    if unregistered.is_err() {
        progress("first payment in KR refused: the merchant is not registered there yet");
    }
    let registration = register_merchant(&engine, created.id).await;
    progress(match &registration {
        Ok(_) => "merchant registered with the wallets (payments in KR go through now)",
        Err(_) => "merchant registration did not complete",
    });
    let mut ids = Vec::new();
    for (n, scenario) in SCENARIOS.iter().enumerate() {
        let input = new_payment(n, scenario);
        let view = payments::create_payment(&engine, &principal, input, &Uuid::now_v7().to_string()).await?;
        ids.push(view.payment.id);
    }

    let http = reqwest::Client::new();
    let controls = SimulatorControls::new(simulator.parse()?);
    for (scenario, id) in SCENARIOS.iter().zip(&ids) {
        let view = wait(&engine, &principal, *id, |v| v.status.to_string() != "PENDING").await?;
        let path = format!("/simulator/payments/{}/complete", view.payment.payment_request_id);
        let complete = |body: Value| controls.post(&path, body);
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
    for (scenario, id) in SCENARIOS.iter().zip(&ids) {
        let done = wait(&engine, &principal, *id, |v| {
            v.instance.terminal || v.instance.needs_attention
        })
        .await;
        match &done {
            Ok(view) => progress(&format!("payment \"{}\": {}", scenario.name, view.status)),
            Err(_) => progress(&format!("payment \"{}\": not settled within 90 s", scenario.name)),
        }
        settled &= done.is_ok();
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
            metadata: vec![],
        };
        refunds.push(refunds::create_refund(&engine, &principal, refund, &Uuid::now_v7().to_string()).await?);
    }
    let mut refunds_settled = true;
    for refund in &refunds {
        refunds_settled &= wait_refund(&engine, &principal, refund.refund.id).await.is_ok();
    }
    if refunds_settled {
        progress("refunds settled: two partial refunds make a whole one, and one full refund");
    }
    settled &= refunds_settled;
    let disputed = payments::get_payment(&engine, &principal, ids[DISPUTED]).await?;
    let disputes = match dispute_and_answer(&engine, &principal, &controls, &disputed).await {
        Ok(disputes) => {
            progress("disputes: a retrieval answered, an escalation accepted in part and refunded");
            disputes
        }
        Err(e) => {
            eprintln!("disputes: {e:#}");
            settled = false;
            vec![]
        }
    };
    let declared = payments::get_payment(&engine, &principal, ids[DECLARED]).await?;
    let declarations = match declare_in_two_parts(&engine, &principal, &declared).await {
        Ok(declarations) => {
            progress("customs: an AlipayCN payment declared in two parts, and customs decided each");
            declarations
        }
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
        Ok(view) => view.status(&engine) == "COMPLETED",
        Err(e) => {
            eprintln!("registration: {e:#}");
            false
        }
    };
    settled &= registered && unregistered.is_err();
    print_registration(&engine, unregistered.err(), registration.ok().as_ref(), &ledger);
    print_table(&engine, &principal, &ids, &ledger).await?;
    let dispute_refunds: Vec<Uuid> = disputes.iter().filter_map(|d| d.dispute.refund_id).collect();
    for id in &dispute_refunds {
        refunds.push(refunds::get_refund(&engine, &principal, *id).await?);
    }
    print_refunds(&engine, &principal, &refunds, &ledger).await?;
    print_disputes(&engine, &principal, &disputes, &ledger).await?;
    print_declarations(&engine, &declared, &declarations, &ledger);

    if args.keep_running {
        println!(
            "\nGraphiQL: {base}/graphql   demo merchant API key: {}",
            created.api_key
        );
        println!(
            "Authorization header for GraphiQL: {{\"Authorization\": \"Bearer {}\"}}",
            created.api_key
        );
        println!(
            "Operators' console: {base}/admin, with a key from `plusflow admin key create --name <you> --role admin`"
        );
        println!("Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
    } else {
        println!(
            "\nNext: `plusflow demo --keep-running` keeps all this up and prints the GraphiQL URL and \
             the demo merchant's API key; the operators' console is /admin there, with a key from \
             `plusflow admin key create --name <you> --role admin` (the demo's database: {}).",
            crate::config::redact(&config.database_url)
        );
    }
    running.stop().await;
    if !settled {
        eprintln!("some payments did not settle within 90 s");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
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
        let wallet = crate::kinds::payment::results::stated_result(engine, *id)
            .await?
            .and_then(|result| crate::kinds::payment::results::wallet_of(engine, &result))
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
