//! What the real Alipay+ sends and expects, as its official SDK and API pages show it (issue 28),
//! over real HTTP on SQLite and on PostgreSQL + Redis: a payment result keeps the wallet by its
//! pspId (the brand name is display text), the customer, the payment time, the settlement amount
//! and quote in the settlement currency and the customs amount, shown on `Payment`; a payment
//! settled by a notification shaped like the real one can be declared to customs.

mod common;

use serde_json::{Value, json};

use std::sync::Arc;

use chrono::Utc;
use plusflow::app::auth::Principal;
use plusflow::app::errors::AppError;
use plusflow::app::merchant_profile::MerchantProfile;
use plusflow::app::merchants::create_merchant;
use plusflow::clock::SystemClock;
use plusflow::kinds::payment::use_cases::{NewPayment, buyer_reference, create_payment};
use plusflow::store::entity::{instance, payment_result};
use plusflow_migrations::{Migrator, MigratorTrait};
use sea_orm::{Database, EntityTrait};

use common::app::*;
use common::{Backend, Options, TestEnv};

on_each_backend!(
    a_payment_shows_what_alipayplus_stated_of_its_result_by_notification_and_by_inquiry,
    a_payment_settled_by_a_notification_shaped_like_the_real_one_can_be_declared_to_customs,
    payments_that_succeeded_before_results_were_kept_keep_their_wallet_and_customs_amount,
    a_pay_tells_alipayplus_the_merchant_profile_and_a_digest_of_the_buyer,
    at_the_real_alipayplus_a_merchant_without_its_profile_takes_no_payment,
    a_wallet_added_by_configuration_is_known_by_its_psp_id,
);

const RESULT: &str = "status walletBrandName wallet { brandName name pspId } pspId customerId paymentTime \
    settlementAmount { currency value } settlementQuote { id currencyPair rate startTime expiryTime } \
    customsDeclarationAmount { currency value } declarableAmount { currency value }";

async fn result_of(app: &App, key: &str, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ payment(id: $id) {{ {RESULT} }} }}");
    let answer = app.gql(Some(key), &query, json!({ "id": id })).await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["payment"].clone()
}

async fn a_payment_shows_what_alipayplus_stated_of_its_result_by_notification_and_by_inquiry(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let mut in_won = input("settled-in-won", "1000");
    in_won["settlementCurrency"] = json!("KRW");
    let (notified, _) = app
        .paid_with(
            &key,
            "settled-in-won",
            in_won.clone(),
            json!({ "outcome": "SUCCESS", "wallet": "KAKAOPAY" }),
        )
        .await;
    in_won["merchantOrderId"] = json!("polled");
    let (polled, _) = app
        .paid_with(
            &key,
            "polled",
            in_won,
            json!({ "outcome": "SUCCESS", "wallet": "GCASH", "notify": false }),
        )
        .await;
    let (same_currency, _) = app.paid_payment(&key, "in-dollars", "1000").await;

    for (id, brand, name, psp_id) in [
        (&notified, "Kakao Pay", "KAKAOPAY", "1022172000000000001"),
        (&polled, "GCash", "GCASH", "1022170000000000000"),
    ] {
        let payment = result_of(&app, &key, id).await;
        assert_eq!(payment["status"], "SUCCEEDED", "{payment:#}");
        assert_eq!(payment["walletBrandName"], brand, "{payment:#}");
        assert_eq!(
            payment["wallet"],
            json!({ "brandName": brand, "name": name, "pspId": psp_id })
        );
        assert_eq!(payment["pspId"], psp_id);
        assert!(payment["customerId"].as_str().unwrap().starts_with("CUSTOMER_"));
        assert!(payment["paymentTime"].is_string(), "{payment:#}");
        // 10.00 USD at the simulator's 1,350 KRW a dollar.
        assert_eq!(
            payment["settlementAmount"],
            json!({ "currency": "KRW", "value": "13500" })
        );
        let quote = &payment["settlementQuote"];
        assert_eq!(quote["currencyPair"], "USD/KRW");
        assert_eq!(quote["rate"], "1350.000000");
        assert!(quote["startTime"].is_string() && quote["expiryTime"].is_string());
        assert_eq!(payment["customsDeclarationAmount"], Value::Null);
        assert_eq!(payment["declarableAmount"], Value::Null);
    }
    let plain = result_of(&app, &key, &same_currency).await;
    assert_eq!(
        plain["settlementAmount"],
        Value::Null,
        "settled in its own currency"
    );
    assert_eq!(plain["settlementQuote"], Value::Null);

    let (unpaid, _) = awaiting_payment(&app, &key, "unpaid", 599).await;
    let unpaid = result_of(&app, &key, &unpaid).await;
    assert_eq!(
        (&unpaid["wallet"], &unpaid["pspId"]),
        (&Value::Null, &Value::Null)
    );
}

/// A notifyPayment as the real Alipay+ sends it for a payment of 10.00 USD paid with the wallet
/// `psp_id`, whose brand it names `brand`.
fn real_notification(request_id: &str, brand: &str, psp_id: &str) -> Value {
    json!({
        "paymentResult": { "resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success" },
        "paymentRequestId": request_id, "paymentId": "20261206194010800100188820200000001",
        "acquirerId": "1022188000000000001", "pspId": psp_id, "walletBrandName": brand,
        "customerId": "2088102000000000", "paymentTime": "2026-12-06T20:00:01+08:00",
        "paymentAmount": { "currency": "USD", "value": "1000" },
        "customsDeclarationAmount": { "currency": "CNY", "value": "7000" },
    })
}

async fn a_payment_settled_by_a_notification_shaped_like_the_real_one_can_be_declared_to_customs(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Tea shop");
    let (alipay, request_id) = awaiting_payment(&app, &key, "alipay-cn", 599).await;
    let answer = send_signed_notification(
        &app,
        real_notification(&request_id, "Alipay", "1022088000000000001"),
    )
    .await;
    assert_eq!(answer["result"]["resultStatus"], "S", "{answer}");
    let payment = result_of(&app, &key, &alipay).await;
    assert_eq!(payment["status"], "SUCCEEDED");
    assert_eq!(
        payment["wallet"],
        json!({ "brandName": "Alipay", "name": "ALIPAY_CN", "pspId": "1022088000000000001" })
    );
    assert_eq!(payment["customerId"], "2088102000000000");
    assert_eq!(payment["paymentTime"], "2026-12-06T12:00:01+00:00");
    let customs_amount = json!({ "currency": "CNY", "value": "7000" });
    assert_eq!(payment["customsDeclarationAmount"], customs_amount);
    assert_eq!(payment["declarableAmount"], customs_amount);
    let declared = app
        .gql(
            Some(&key),
            "mutation($input: DeclareCustomsInput!) { declareCustoms(input: $input, idempotencyKey: \"d-1\") { status amount { value } } }",
            json!({ "input": {
                "paymentId": alipay, "customsCode": "HANGZHOU", "merchantCustomsCode": "MC-0042",
                "merchantCustomsName": "Tea Trading", "amount": customs_amount, "split": false,
            } }),
        )
        .await;
    assert!(declared["errors"].is_null(), "{declared}");
    assert_eq!(declared["data"]["declareCustoms"]["amount"]["value"], "7000");

    // The brand name alone does not make a wallet AlipayCN: the pspId decides.
    let (other, request_id) = awaiting_payment(&app, &key, "named-alipay", 599).await;
    let answer = send_signed_notification(
        &app,
        real_notification(&request_id, "Alipay", "1022170000000000000"),
    )
    .await;
    assert_eq!(answer["result"]["resultStatus"], "S", "{answer}");
    let payment = result_of(&app, &key, &other).await;
    assert_eq!(payment["status"], "SUCCEEDED");
    assert_eq!(payment["wallet"]["name"], "GCASH");
    assert_eq!(payment["declarableAmount"], Value::Null, "{payment:#}");

    // A wallet not in the table is accepted and shown as unknown.
    let (unknown, request_id) = awaiting_payment(&app, &key, "new-wallet", 599).await;
    let answer = send_signed_notification(
        &app,
        real_notification(&request_id, "New Wallet", "2099000000000001"),
    )
    .await;
    assert_eq!(answer["result"]["resultStatus"], "S", "{answer}");
    let payment = result_of(&app, &key, &unknown).await;
    assert_eq!(payment["status"], "SUCCEEDED");
    assert_eq!(
        payment["wallet"],
        json!({ "brandName": "New Wallet", "name": null, "pspId": "2099000000000001" })
    );
}

/// Migration m0014 moves what the workflow data of succeeded payments held into their result rows.
async fn payments_that_succeeded_before_results_were_kept_keep_their_wallet_and_customs_amount(
    backend: Backend,
) {
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let db = Database::connect(&env.database_url).await.unwrap();
    Migrator::up(&db, Some(13)).await.unwrap();
    let now = Utc::now();
    let payment = |state: &str, data: Value| instance::Model {
        id: uuid::Uuid::now_v7(),
        kind: "payment".into(),
        definition_version: 1,
        state: state.into(),
        terminal: state != "awaiting_customer",
        version: 3,
        needs_attention: false,
        last_error: None,
        data,
        created_at: now,
        updated_at: now,
        state_since: Some(now),
        trace_context: None,
    };
    let paid = payment(
        "succeeded",
        json!({ "paidAt": now.to_rfc3339(), "alipayPaymentId": "2026A", "walletBrandName": "ALIPAY_CN",
                "customsDeclarationAmount": { "currency": "CNY", "value": 7000 } }),
    );
    let waiting = payment("awaiting_customer", json!({ "checkoutUrl": "https://x.example" }));
    for row in [&paid, &waiting] {
        // Written as m0013 knew the table: no column added since.
        let mut written = instance::ActiveModel::from(row.clone());
        written.trace_context = sea_orm::ActiveValue::NotSet;
        instance::Entity::insert(written)
            .exec_without_returning(&db)
            .await
            .unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let results = payment_result::Entity::find().all(&db).await.unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    let result = &results[0];
    assert_eq!(result.payment_id, paid.id);
    assert_eq!(result.alipay_payment_id.as_deref(), Some("2026A"));
    assert_eq!(result.wallet_brand_name.as_deref(), Some("ALIPAY_CN"));
    assert_eq!(
        (result.customs_currency.as_deref(), result.customs_value),
        (Some("CNY"), Some(7000))
    );
    let wallet = plusflow::alipayplus::wallets::Wallets::default()
        .identify(result.psp_id.as_deref(), result.wallet_brand_name.as_deref())
        .unwrap();
    assert!(wallet.is_alipay_cn(), "still declarable: {wallet:?}");
}

/// A merchant created with its profile by the real command line, and one an operator completes:
/// the simulator (which refuses a pay without them, as Alipay+ does) receives the profile and
/// the buyer's digest, never the merchant's own customer id.
async fn a_pay_tells_alipayplus_the_merchant_profile_and_a_digest_of_the_buyer(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let created = app.create_merchant(&[
        "--name",
        "Kimchi House",
        "--legal-name",
        "Kimchi House Co., Ltd.",
        "--display-name",
        "Kimchi House",
        "--mcc",
        "5812",
        "--region",
        "KR",
        "--city",
        "Seoul",
        "--website",
        "https://kimchi.example",
    ]);
    let (merchant_id, key) = (
        created["id"].as_str().unwrap(),
        created["apiKey"].as_str().unwrap(),
    );
    let mut payment = input("kimchi-1", "1000");
    payment["buyerReference"] = json!("customer-7");
    let answer = app.create(key, "kimchi-1", payment).await;
    assert!(answer["errors"].is_null(), "{answer}");
    let request_id = answer["data"]["createPayment"]["paymentRequestId"]
        .as_str()
        .unwrap();
    let id = answer["data"]["createPayment"]["id"].as_str().unwrap();
    app.wait_status(key, id, "AWAITING_CUSTOMER").await;
    let placed = app.ledger().await["payments"][request_id].clone();
    assert_eq!(
        placed["merchant"],
        json!({ "referenceMerchantId": merchant_id.replace('-', ""), "merchantName": "Kimchi House Co., Ltd.",
                "merchantDisplayName": "Kimchi House", "merchantMCC": "5812",
                "merchantAddress": { "region": "KR", "city": "Seoul" } })
    );
    let digest = buyer_reference(merchant_id.parse().unwrap(), "customer-7");
    assert_eq!(placed["buyer"], json!({ "referenceBuyerId": digest }));
    assert_eq!(digest.len(), 64);

    // An operator completes another merchant's profile; a merchant key may not.
    let (other_id, other_key) = app.merchant("Bare");
    let mutation = "mutation($id: ID!, $input: MerchantProfileInput!) { updateMerchantProfile(merchantId: $id, input: $input) { legalName region missingForPayments } }";
    let profile = json!({ "legalName": "Bare Ltd", "displayName": "Bare", "mcc": "5999", "region": "HK" });
    let forbidden = app
        .gql(
            Some(&other_key),
            mutation,
            json!({ "id": other_id, "input": profile }),
        )
        .await;
    assert_eq!(
        forbidden["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{forbidden}"
    );
    let bad = json!({ "legalName": "Bare Ltd", "mcc": "59" });
    let refused = app
        .gql(Some(ADMIN_KEY), mutation, json!({ "id": other_id, "input": bad }))
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["field"], "mcc", "{refused}");
    let updated = app
        .gql(
            Some(ADMIN_KEY),
            mutation,
            json!({ "id": other_id, "input": profile }),
        )
        .await;
    assert_eq!(
        updated["data"]["updateMerchantProfile"],
        json!({ "legalName": "Bare Ltd", "region": "HK", "missingForPayments": [] }),
        "{updated}"
    );
    let (paid, request_id) = app.paid_payment(&other_key, "bare-1", "500").await;
    assert!(!paid.is_empty());
    let placed = app.ledger().await["payments"][&request_id].clone();
    assert_eq!(placed["merchant"]["merchantAddress"]["region"], "HK", "{placed}");
    assert_eq!(placed["buyer"], Value::Null, "no buyer reference given");
}

/// In `alipayplus` mode a merchant lacking legal name, display name, MCC or region is refused
/// MERCHANT_PROFILE_INCOMPLETE, naming what is missing, and nothing is stored.
async fn at_the_real_alipayplus_a_merchant_without_its_profile_takes_no_payment(backend: Backend) {
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let mut engine = plusflow::cli::boot(&env.config(), Arc::new(SystemClock))
        .await
        .unwrap();
    engine.real_alipayplus = true;
    let partial = MerchantProfile {
        legal_name: Some("Half Done Ltd".into()),
        mcc: Some("5812".into()),
        ..Default::default()
    };
    let created = create_merchant(&engine, "Half done", None, partial)
        .await
        .unwrap();
    let merchant = plusflow::store::merchants::merchant(&engine.db, created.id)
        .await
        .unwrap()
        .unwrap();
    let new_payment = || NewPayment {
        merchant_order_id: "order-1".into(),
        order_description: "Tea".into(),
        currency: "USD".into(),
        amount: "1000".into(),
        terminal_type: "WEB".into(),
        os_type: None,
        redirect_url: "https://shop.example/back".into(),
        user_region: None,
        settlement_currency: None,
        expires_in_seconds: None,
        buyer_reference: None,
        metadata: vec![],
    };
    let principal = Principal::Merchant(Box::new(merchant.clone()));
    let refused = create_payment(&engine, &principal, new_payment(), "k-1").await;
    assert_eq!(
        refused.unwrap_err(),
        AppError::MerchantProfileIncomplete(vec!["displayName", "region"])
    );
    assert_eq!(
        plusflow::store::count_instances(&engine.db, "payment")
            .await
            .unwrap()
            .total,
        0,
        "nothing stored"
    );
    let complete = MerchantProfile {
        display_name: Some("Half Done".into()),
        region: Some("SG".into()),
        ..MerchantProfile::of(&merchant)
    };
    let merchant =
        plusflow::app::merchants::update_profile(&engine, &Principal::Admin, merchant.id, complete)
            .await
            .unwrap();
    let principal = Principal::Merchant(Box::new(merchant));
    // At the real Alipay+ a customer returns to https only (issue 29, item 10).
    let insecure = NewPayment {
        redirect_url: "http://shop.example/back".into(),
        ..new_payment()
    };
    let refused = create_payment(&engine, &principal, insecure, "k-0").await;
    assert!(
        matches!(&refused, Err(AppError::Validation { field, .. }) if field == "redirectUrl"),
        "{refused:?}"
    );
    let accepted = create_payment(&engine, &principal, new_payment(), "k-1").await;
    assert!(accepted.is_ok(), "{accepted:?}");
}

/// `[[wallets]]` in the configuration adds to (or replaces in) the built-in table.
async fn a_wallet_added_by_configuration_is_known_by_its_psp_id(backend: Backend) {
    let setup = Setup {
        extra_config: "[[wallets]]\nbrand = \"Octo Pay\"\nname = \"OCTOPAY\"\npsp_id = \"2099000000000001\"\n",
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (_, key) = app.merchant("Octo shop");
    let (id, request_id) = awaiting_payment(&app, &key, "octo", 599).await;
    let answer = send_signed_notification(
        &app,
        real_notification(&request_id, "OctoPay", "2099000000000001"),
    )
    .await;
    assert_eq!(answer["result"]["resultStatus"], "S", "{answer}");
    let payment = result_of(&app, &key, &id).await;
    assert_eq!(
        payment["wallet"],
        json!({ "brandName": "Octo Pay", "name": "OCTOPAY", "pspId": "2099000000000001" })
    );
    assert_eq!(payment["walletBrandName"], "OctoPay", "as Alipay+ stated it");
}
