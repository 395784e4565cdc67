//! The operators' console `GET /admin` in headless Chromium over WebDriver, at 1280 px: a
//! viewer logs in and finds no action that works; an operator searches a payment by its
//! `paymentRequestId`, lands on its page (business context, the SVG diagram with its current
//! state marked), retries it with a note and reads the note in its history, then retries every
//! parked refund in one bulk action from a filter and follows its progress. A screenshot of
//! each page is kept under the test's output folder (`target/tmp/admin_browser/`). Skips,
//! saying so, where Chromium or chromedriver is missing.

mod common;

use std::path::Path;
use std::time::Duration;

use common::app::awaiting_payment;
use common::browser::Driver;
use common::operators::*;
use common::{Backend, wait_for};

async fn log_in(driver: &Driver, session: &str, base: &str, key: &str) {
    driver.open(session, &format!("{base}/admin#/")).await;
    driver
        .execute(session, "sessionStorage.clear(); location.reload()")
        .await;
    wait_for("the login form", Duration::from_secs(20), || async {
        driver
            .execute(session, "return !document.getElementById('login').hidden")
            .await
            == serde_json::json!(true)
    })
    .await;
    driver.type_into(session, "#admin-key", key).await;
    driver.click(session, "#login-button").await;
    wait_for("the overview", Duration::from_secs(20), || async {
        driver.find(session, "#overview").await.is_some()
    })
    .await;
}

async fn shot(driver: &Driver, session: &str, name: &str) {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("admin_browser/{name}.png"));
    driver.screenshot(session, &file).await;
    assert!(std::fs::metadata(&file).unwrap().len() > 1000, "{name}");
}

/// Opens the console's page `route` and waits for its section `css`.
async fn visit(driver: &Driver, session: &str, base: &str, route: &str, css: &str) {
    driver.open(session, &format!("{base}/admin#/{route}")).await;
    wait_for(css, Duration::from_secs(20), || async {
        driver.find(session, css).await.is_some()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_search_retry_and_bulk_retry_from_the_console() {
    if !common::browser::available() {
        return;
    }
    let workflows = quickly_parking_workflows();
    let app = spawn_parking_refunds(Backend::Sqlite, &workflows)
        .await
        .expect("SQLite always runs");
    let viewer = key_with_role(&app, "vera", "viewer");
    let operator = key_with_role(&app, "dee", "operator");
    let (key, refunded, refund) = parked_refund(&app).await;
    let (payment, request_id) = awaiting_payment(&app, &key, "console-1", 599).await;

    let (driver, session) = Driver::start().await;
    driver.resize(&session, 1280, 1700).await;
    let base = app.base.as_str();

    // A viewer reads everything and can act on nothing.
    log_in(&driver, &session, base, &viewer).await;
    assert!(driver.text(&session, "#who").await.contains("vera (viewer)"));
    visit(
        &driver,
        &session,
        base,
        &format!("workflow/{refund}"),
        "#wf-state",
    )
    .await;
    for button in ["#retry", "#resume", "#force", "#ask"] {
        assert!(
            !driver.enabled(&session, button).await,
            "{button} works for a viewer"
        );
    }

    // An operator finds the payment by its paymentRequestId and opens it.
    log_in(&driver, &session, base, &operator).await;
    shot(&driver, &session, "overview").await;
    driver.type_into(&session, "#search", &request_id).await;
    driver.click(&session, "#search-form button").await;
    wait_for("the payment's page", Duration::from_secs(20), || async {
        driver.find(&session, "#wf-id").await.is_some() && driver.text(&session, "#wf-id").await == payment
    })
    .await;
    let context = driver.text(&session, "#wf-context").await;
    assert!(
        context.contains("console-1") && context.contains(&request_id),
        "{context}"
    );
    assert!(
        driver
            .find(&session, "#diagram svg g.current[data-state='awaiting_customer']")
            .await
            .is_some(),
        "the diagram marks the current state"
    );
    assert!(
        driver
            .find(&session, "#diagram svg g.visited[data-state='submitting']")
            .await
            .is_some()
    );
    assert!(
        !driver.enabled(&session, "#resume").await,
        "nothing waits for an operator"
    );

    // Without a note nothing happens; with one, the retry is in the history with it.
    driver.click(&session, "#retry").await;
    wait_for(
        "the console asking for a note",
        Duration::from_secs(10),
        || async { driver.text(&session, "#action-message").await.contains("note") },
    )
    .await;
    let note = "customer says they paid; polling again now";
    driver.type_into(&session, "#note", note).await;
    driver.click(&session, "#retry").await;
    wait_for("the note in history", Duration::from_secs(20), || async {
        driver.find(&session, "#wf-history").await.is_some()
            && driver.text(&session, "#wf-history").await.contains(note)
    })
    .await;
    assert!(driver.text(&session, "#action-message").await.contains("Done"));
    assert!(driver.text(&session, "#wf-history").await.contains("dee"));
    shot(&driver, &session, "workflow").await;

    // Every parked refund retried at once from a filter, its progress followed.
    app.let_through("refund");
    visit(&driver, &session, base, "bulk", "#bulk").await;
    driver.type_into(&session, "#bulk-kind", "refund").await;
    driver.click(&session, "#bulk-preview").await;
    wait_for("the count", Duration::from_secs(20), || async {
        driver
            .text(&session, "#bulk-count")
            .await
            .contains("1 workflows match")
    })
    .await;
    driver
        .type_into(&session, "#bulk-note", "refunds are back at Alipay+")
        .await;
    driver.click(&session, "#bulk-start").await;
    driver.accept_dialog(&session).await;
    wait_for("the bulk action to finish", Duration::from_secs(30), || async {
        driver.find(&session, "#bulk-status").await.is_some()
            && driver
                .text(&session, "#bulk-status")
                .await
                .starts_with("FINISHED: 1 done, 0 failed")
    })
    .await;
    shot(&driver, &session, "bulk").await;
    let settled = app.settled_refunds(&key, &refunded).await;
    assert_eq!(settled["refunds"][0]["status"], "SUCCEEDED", "{settled}");

    for (route, css, name) in [
        ("workflows", "#list", "stuck"),
        ("disputes", "#disputes", "disputes"),
        ("reconciliation", "#reconciliation", "reconciliation"),
        ("webhooks", "#webhooks", "webhooks"),
        ("approvals", "#approvals", "approvals"),
        ("activity", "#activity", "activity"),
    ] {
        visit(&driver, &session, base, route, css).await;
        shot(&driver, &session, name).await;
    }
    let activity = driver.text(&session, "#activity").await;
    assert!(
        activity.contains("startBulkAction") && activity.contains("retryWorkflow"),
        "{activity}"
    );
    visit(&driver, &session, base, "workflows", "#stuck-count").await;
    let count = driver.text(&session, "#stuck-count").await;
    assert!(count.contains(" match; "), "{count}");
    driver.call("DELETE", &format!("/session/{session}"), None).await;
}

/// GraphiQL is served by plusflow alone: the page names only its own assets, each is served
/// with its type, and (where Chromium runs; this machine reaches no CDN) it renders, its editor
/// and run button up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_loads_with_nothing_but_plusflow() {
    let app = common::app::spawn_app(Backend::Sqlite)
        .await
        .expect("SQLite always runs");
    let page = app
        .http
        .get(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let assets: Vec<&str> = page
        .split(['"', '\''])
        .filter(|part| part.ends_with(".js") || part.ends_with(".css"))
        .collect();
    assert_eq!(
        assets.len(),
        4,
        "React, ReactDOM, GraphiQL's script and stylesheet: {assets:?}"
    );
    for asset in assets {
        assert!(
            asset.starts_with("/graphql/assets/"),
            "{asset} is not plusflow's own"
        );
        let served = app.http.get(format!("{}{asset}", app.base)).send().await.unwrap();
        assert_eq!(served.status(), 200, "{asset}");
        let kind = served.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            kind.starts_with(if asset.ends_with(".js") {
                "text/javascript"
            } else {
                "text/css"
            }),
            "{asset}: {kind}"
        );
        assert!(served.bytes().await.unwrap().len() > 5_000, "{asset} is whole");
    }
    let missing = app
        .http
        .get(format!("{}/graphql/assets/nothing.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    if !common::browser::available() {
        return;
    }
    let (driver, session) = Driver::start().await;
    driver.open(&session, &format!("{}/graphql", app.base)).await;
    wait_for("GraphiQL to render", Duration::from_secs(20), || async {
        driver.find(&session, ".graphiql-execute-button").await.is_some()
    })
    .await;
    driver.call("DELETE", &format!("/session/{session}"), None).await;
}
