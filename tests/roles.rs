//! Operators' roles over real HTTP, on SQLite and on PostgreSQL + Redis: every operator field
//! and mutation asked with a viewer's, an operator's, a finance's and an admin's key (keys made
//! by the real command line), refused with FORBIDDEN naming the role it needs exactly where the
//! key's role falls short (and a merchant's own acts refused to every operator key); and the
//! keys made before roles can still do everything.

mod common;

use serde_json::{Value, json};

use common::app::*;
use common::operators::key_with_role;
use common::{Backend, Options, TestEnv};

on_each_backend!(
    each_role_is_refused_exactly_where_it_falls_short,
    keys_made_before_roles_are_admins,
);

const ROLES: [&str; 4] = ["viewer", "operator", "finance", "admin"];

/// Whether a key with `role` may do what needs `needed` (`merchant`: a merchant's own act, no
/// operator's).
fn allows(role: &str, needed: &str) -> bool {
    needed != "merchant" && (role == needed || role == "admin" || needed == "viewer")
}

async fn each_role_is_refused_exactly_where_it_falls_short(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (merchant, _) = app.merchant("Watched");
    let nobody = uuid::Uuid::now_v7().to_string();
    // (what, the request, the role it needs). Ids name nothing: an allowed request is then
    // answered NOT_FOUND, VALIDATION or an empty answer, never FORBIDDEN.
    let table: Vec<(&str, &str, Value, &str)> = vec![
        (
            "workflows",
            "{ workflows(first: 1) { edges { node { id } } } }",
            json!({}),
            "viewer",
        ),
        (
            "workflow",
            "query($id: ID!) { workflow(id: $id) { id } }",
            json!({ "id": nobody }),
            "viewer",
        ),
        (
            "workflowDefinitions",
            "{ workflowDefinitions { kind } }",
            json!({}),
            "viewer",
        ),
        (
            "reconciliationRuns",
            "{ reconciliationRuns(first: 1) { edges { node { id } } } }",
            json!({}),
            "viewer",
        ),
        (
            "reconciliationRun",
            "query($id: ID!) { reconciliationRun(id: $id) { id } }",
            json!({ "id": "1" }),
            "viewer",
        ),
        (
            "reconciliationCases",
            "{ reconciliationCases(first: 1) { edges { node { id } } } }",
            json!({}),
            "viewer",
        ),
        (
            "assignCase",
            "mutation($id: ID!) { assignCase(id: $id, owner: \"nobody\", note: \"mine\") { id } }",
            json!({ "id": nobody }),
            "finance",
        ),
        (
            "resolveCase",
            "mutation($id: ID!) { resolveCase(id: $id, note: \"fixed\") { id } }",
            json!({ "id": nobody }),
            "finance",
        ),
        (
            "writeOffCase",
            "mutation($id: ID!) { writeOffCase(id: $id, note: \"accepted\") { id } }",
            json!({ "id": nobody }),
            "finance",
        ),
        (
            "events",
            "query($m: ID) { events(merchantId: $m, first: 1) { edges { node { id } } } }",
            json!({ "m": merchant }),
            "viewer",
        ),
        (
            "webhookEndpoints",
            "query($m: ID) { webhookEndpoints(merchantId: $m) { id } }",
            json!({ "m": merchant }),
            "viewer",
        ),
        (
            "webhookDeliveries",
            "query($m: ID) { webhookDeliveries(merchantId: $m) { edges { node { id } } } }",
            json!({ "m": merchant }),
            "viewer",
        ),
        (
            "askAlipayPlus",
            "query($id: ID!) { askAlipayPlus(id: $id) { outcome } }",
            json!({ "id": nobody }),
            "operator",
        ),
        (
            "retryWorkflow",
            "mutation($id: ID!) { retryWorkflow(id: $id, note: \"n\") { id } }",
            json!({ "id": nobody }),
            "operator",
        ),
        (
            "resumeWorkflow",
            "mutation($id: ID!) { resumeWorkflow(id: $id, note: \"n\") { id } }",
            json!({ "id": nobody }),
            "operator",
        ),
        (
            "cancelPayment",
            "mutation($id: ID!) { cancelPayment(id: $id, note: \"n\") { id } }",
            json!({ "id": nobody }),
            "operator",
        ),
        (
            "createRefund",
            "mutation($id: ID!) { createRefund(input: { paymentId: $id, amount: { currency: \"USD\", value: \"1\" } }, idempotencyKey: \"k\") { id } }",
            json!({ "id": nobody }),
            "merchant",
        ),
        (
            "respondToRetrieval",
            "mutation($id: ID!) { respondToRetrieval(input: { disputeId: $id, responseCode: NO_DOCUMENTS }, idempotencyKey: \"k\") { id } }",
            json!({ "id": nobody }),
            "operator",
        ),
        (
            "sendTestWebhook",
            "mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }",
            json!({ "id": nobody }),
            "operator",
        ),
        (
            "redeliverEvent",
            "mutation($id: ID!) { redeliverEvent(eventId: $id, endpointId: $id) { id } }",
            json!({ "id": nobody }),
            "operator",
        ),
        (
            "redeliverFailed",
            "mutation($id: ID!) { redeliverFailed(endpointId: $id, since: \"2026-01-01T00:00:00Z\") }",
            json!({ "id": nobody }),
            "operator",
        ),
        (
            "simulatePaymentOutcome",
            "mutation($id: ID!) { simulatePaymentOutcome(paymentId: $id, outcome: \"SUCCESS\") { id } }",
            json!({ "id": nobody }),
            "operator",
        ),
        (
            "forceTransition",
            "mutation($id: ID!) { forceTransition(id: $id, event: \"expired\", note: \"n\") { id } }",
            json!({ "id": nobody }),
            "admin",
        ),
        (
            "updateMerchantProfile",
            "mutation($id: ID!) { updateMerchantProfile(merchantId: $id, input: { mcc: \"5812\" }) { id } }",
            json!({ "id": nobody }),
            "admin",
        ),
        (
            "registerMerchant",
            "mutation($id: ID!) { registerMerchant(merchantId: $id, input: { productCodes: [\"CASHIER_PAYMENT\"] }, idempotencyKey: \"k\") { id } }",
            json!({ "id": nobody }),
            "admin",
        ),
        (
            "createWebhookEndpoint",
            "mutation($m: ID) { createWebhookEndpoint(merchantId: $m, input: { url: \"https://shop.example/hooks\" }) { secret } }",
            json!({ "m": nobody }),
            "admin",
        ),
        (
            "updateWebhookEndpoint",
            "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) { id } }",
            json!({ "id": nobody }),
            "admin",
        ),
        (
            "deleteWebhookEndpoint",
            "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
            json!({ "id": nobody }),
            "admin",
        ),
        (
            "rotateWebhookEndpointSecret",
            "mutation($id: ID!) { rotateWebhookEndpointSecret(id: $id) { secret } }",
            json!({ "id": nobody }),
            "admin",
        ),
        (
            "search",
            "query($t: String!) { search(text: $t) { id } }",
            json!({ "t": nobody }),
            "viewer",
        ),
        ("overview", "{ overview { outboxPending } }", json!({}), "viewer"),
        (
            "currentOperator",
            "{ currentOperator { name role } }",
            json!({}),
            "viewer",
        ),
        (
            "disputeQueue",
            "{ disputeQueue(first: 1) { edges { node { respondBy } } } }",
            json!({}),
            "viewer",
        ),
        (
            "bulkPreview",
            "{ bulkPreview(filter: { kind: \"refund\", needsAttention: true }) }",
            json!({}),
            "viewer",
        ),
        (
            "bulkAction",
            "query($id: ID!) { bulkAction(id: $id) { id } }",
            json!({ "id": nobody }),
            "viewer",
        ),
        (
            "forceRequests",
            "{ forceRequests(first: 1) { edges { node { id } } } }",
            json!({}),
            "viewer",
        ),
        (
            "operatorActivity",
            "{ operatorActivity(first: 1) { edges { node { action } } } }",
            json!({}),
            "viewer",
        ),
        (
            "startBulkAction",
            "mutation { startBulkAction(filter: { kind: \"no-such-kind\" }, action: \"RETRY\", note: \"n\") { id } }",
            json!({}),
            "operator",
        ),
        (
            "approveForce",
            "mutation($id: ID!) { approveForce(forceRequestId: $id, note: \"n\") { id } }",
            json!({ "id": nobody }),
            "admin",
        ),
        (
            "archivedObject",
            "query($id: ID!) { archivedObject(id: $id) { kind } }",
            json!({ "id": nobody }),
            "viewer",
        ),
        (
            "placeLegalHold",
            "mutation($id: ID!) { placeLegalHold(id: $id, note: \"n\") { id } }",
            json!({ "id": nobody }),
            "operator",
        ),
        (
            "releaseLegalHold",
            "mutation($id: ID!) { releaseLegalHold(id: $id, note: \"n\") { id } }",
            json!({ "id": nobody }),
            "operator",
        ),
    ];
    for role in ROLES {
        let key = key_with_role(&app, &format!("{role}-1"), role);
        for (what, request, variables, needed) in &table {
            let answer = app.gql(Some(&key), request, variables.clone()).await;
            let code = &answer["errors"][0]["extensions"]["code"];
            assert_ne!(
                code, "GRAPHQL_VALIDATION_FAILED",
                "the table asks {what} wrongly: {answer}"
            );
            if allows(role, needed) {
                assert_ne!(code, "FORBIDDEN", "{role} may {what}: {answer}");
            } else {
                assert_eq!(code, "FORBIDDEN", "{role} may not {what}: {answer}");
                if *needed == "merchant" {
                    continue;
                }
                assert_eq!(
                    answer["errors"][0]["extensions"]["role"],
                    needed.to_uppercase(),
                    "{what}: {answer}"
                );
                let message = answer["errors"][0]["message"].as_str().unwrap();
                assert!(message.contains(needed) && message.contains(role), "{message}");
            }
        }
    }
}

/// Migration m0022: an operator key made before roles keeps doing everything (it is `admin`).
async fn keys_made_before_roles_are_admins(backend: Backend) {
    use plusflow_migrations::{Migrator, MigratorTrait};
    use sea_orm::sea_query::{Alias, Query};
    use sea_orm::{ConnectionTrait, Database, EntityTrait};
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let db = Database::connect(&env.database_url).await.unwrap();
    Migrator::up(&db, Some(21)).await.unwrap();
    let insert = Query::insert()
        .into_table(Alias::new("admin_keys"))
        .columns(["id", "name", "key_hash", "created_at"].map(Alias::new))
        .values_panic([
            uuid::Uuid::now_v7().into(),
            "old-hand".into(),
            "hash".into(),
            chrono::Utc::now().into(),
        ])
        .to_owned();
    db.execute(&insert).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let keys = plusflow::store::entity::admin_key::Entity::find()
        .all(&db)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0].name.as_str(), keys[0].role.as_str()),
        ("old-hand", "admin")
    );
}
