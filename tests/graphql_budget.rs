//! What one caller's GraphQL costs (issue 29, item 5), over real HTTP: a page's fields count once
//! per row it may hold, so many aliased pages are refused before anything runs; a merchant's page
//! holds at most 50 rows; and a merchant that has spent its complexity budget for the minute is
//! refused `RATE_LIMITED` (with `retryAfterSeconds`) while another merchant is served as before.

mod common;

use serde_json::{Value, json};

use common::Backend;
use common::app::*;

const PAGE: &str = "payments(first: 50) { edges { node { id status amount { value currency } } } }";

fn code(answer: &Value) -> &Value {
    &answer["errors"][0]["extensions"]["code"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_reads_are_bounded_per_request_and_per_merchant() {
    let setup = Setup {
        server: "complexity_per_minute = 5000",
        ..Setup::default()
    };
    let app = spawn_app_with(Backend::Sqlite, setup).await.unwrap();
    let (_, heavy) = app.merchant("Heavy reader");
    let (_, light) = app.merchant("Light reader");
    app.paid_payment(&heavy, "heavy-1", "1000").await;
    app.paid_payment(&light, "light-1", "1000").await;

    // Twelve aliased pages with histories and diagrams: refused whole, nothing read.
    let aliased: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "p{i}: payments(first: 50) {{ edges {{ node {{ id status workflow {{ history {{ event actor at }} diagram }} }} }} }}"
            )
        })
        .collect();
    let refused = app
        .gql(Some(&heavy), &format!("{{ {} }}", aliased.join(" ")), json!({}))
        .await;
    assert_eq!(code(&refused), "QUERY_TOO_COMPLEX", "{refused}");
    assert!(refused["data"].is_null(), "{refused}");
    let too_long = app
        .gql(
            Some(&heavy),
            "{ payments(first: 51) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&too_long), "VALIDATION", "{too_long}");

    // Pages of 50 cost about 300 each: the minute's 5,000 is spent within 17 of them.
    let mut served = 0;
    let limited = loop {
        let answer = app.gql(Some(&heavy), &format!("{{ {PAGE} }}"), json!({})).await;
        if code(&answer) == "RATE_LIMITED" {
            break answer;
        }
        assert!(answer["errors"].is_null(), "{answer}");
        served += 1;
        assert!(served <= 17, "the budget never ran out");
    };
    assert!(served >= 10, "refused after {served} pages");
    let retry_after = limited["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{limited}");
    assert!(limited["data"].is_null(), "{limited}");

    // Another merchant is served as before.
    let other = app.gql(Some(&light), &format!("{{ {PAGE} }}"), json!({})).await;
    assert!(other["errors"].is_null(), "{other}");
    assert_eq!(other["data"]["payments"]["edges"].as_array().unwrap().len(), 1);
}
