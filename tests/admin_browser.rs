//! The operators' page `GET /admin` in headless Chromium over WebDriver: log in with an admin
//! key, find the parked refund in the stuck list, retry it with a note, see it succeed and the
//! note in its history. A screenshot of the result is kept under the test's output folder
//! (`target/tmp/admin_browser/`). Skips, saying so, where Chromium or chromedriver is missing.

mod common;

use std::path::Path;
use std::time::Duration;

use common::browser::Driver;
use common::operators::*;
use common::{Backend, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_retries_a_parked_refund_from_the_admin_page() {
    if !common::browser::available() {
        return;
    }
    let workflows = quickly_parking_workflows();
    let app = spawn_parking_refunds(Backend::Sqlite, &workflows)
        .await
        .expect("SQLite always runs");
    let key = operator_key(&app, "dee");
    let (_, _, refund) = parked_refund(&app).await;

    let (driver, session) = Driver::start().await;
    driver.resize(&session, 1280, 1700).await;
    driver.open(&session, &format!("{}/admin", app.base)).await;
    driver.type_into(&session, "#admin-key", &key).await;
    driver.click(&session, "#login-button").await;
    let link = format!("a.workflow-link[data-id='{refund}']");
    wait_for(
        "the parked refund in the stuck list",
        Duration::from_secs(20),
        || async { driver.find(&session, &link).await.is_some() },
    )
    .await;
    driver.click(&session, &link).await;
    wait_for("the refund's page", Duration::from_secs(20), || async {
        driver.find(&session, "#wf-state").await.is_some()
            && driver.text(&session, "#wf-state").await == "submitting"
    })
    .await;
    assert!(
        driver
            .text(&session, "#wf-attention")
            .await
            .contains("failed 2 times")
    );
    assert!(
        driver
            .text(&session, "#wf-effects")
            .await
            .contains("submit_refund")
    );
    assert!(
        driver
            .text(&session, "#diagram")
            .await
            .contains("class submitting current")
    );

    // Without a note the page refuses to act.
    driver.click(&session, "#retry").await;
    assert!(driver.text(&session, "#message").await.contains("note"));

    app.let_through("refund");
    let note = "Alipay+ refunds were down; retried after their all-clear";
    driver.type_into(&session, "#note", note).await;
    driver.click(&session, "#retry").await;
    wait_for(
        "the refund to succeed on the page",
        Duration::from_secs(30),
        || async { driver.text(&session, "#wf-state").await == "succeeded" },
    )
    .await;
    let history = driver.text(&session, "#wf-history").await;
    assert!(history.contains(note), "{history}");
    assert!(
        history.contains("admin:dee") && history.contains("operator_retry"),
        "{history}"
    );
    driver
        .call(
            "POST",
            &format!("/session/{session}/execute/sync"),
            Some(serde_json::json!({ "script": "document.getElementById('workflow').scrollIntoView()", "args": [] })),
        )
        .await;
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("admin_browser/refund-retried.png");
    driver.screenshot(&session, &screenshot).await;
    println!("screenshot: {}", screenshot.display());
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 1000);
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
