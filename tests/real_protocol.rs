//! What the real Alipay+ sends and expects, as its official SDK and API pages show it (issue 28),
//! over real HTTP on SQLite and on PostgreSQL + Redis: a payment result keeps the wallet by its
//! pspId (the brand name is display text), the customer, the payment time, the settlement amount
//! and quote in the settlement currency and the customs amount, shown on `Payment`; a payment
//! settled by a notification shaped like the real one can be declared to customs.

mod common;

use serde_json::{Value, json};

use chrono::Utc;
use plusflow::store::entity::{instance, payment_result};
use plusflow_migrations::{Migrator, MigratorTrait};
use sea_orm::{ActiveModelTrait, Database, EntityTrait};

use common::app::*;
use common::{Backend, Options, TestEnv};

on_each_backend!(
    a_payment_shows_what_alipayplus_stated_of_its_result_by_notification_and_by_inquiry,
    a_payment_settled_by_a_notification_shaped_like_the_real_one_can_be_declared_to_customs,
    payments_that_succeeded_before_results_were_kept_keep_their_wallet_and_customs_amount,
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
    };
    let paid = payment(
        "succeeded",
        json!({ "paidAt": now.to_rfc3339(), "alipayPaymentId": "2026A", "walletBrandName": "ALIPAY_CN",
                "customsDeclarationAmount": { "currency": "CNY", "value": 7000 } }),
    );
    let waiting = payment("awaiting_customer", json!({ "checkoutUrl": "https://x.example" }));
    for row in [&paid, &waiting] {
        instance::ActiveModel::from(row.clone())
            .insert(&db)
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
