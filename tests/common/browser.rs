//! A headless Chromium driven over WebDriver (chromedriver), for the pages plusflow and its
//! simulator serve. Tests skip, saying so, where Chromium or chromedriver is not installed.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::wait_for;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Driver {
    process: Child,
    base: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Driver {
    pub async fn start() -> (Driver, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            process,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _profile: tempfile::tempdir().unwrap(),
        };
        wait_for("chromedriver to listen", Duration::from_secs(20), || async {
            driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
                .is_ok()
        })
        .await;
        let profile = driver._profile.path().display().to_string();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={profile}"));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": { "binary": CHROMIUM, "args": args } } } });
        let session = driver.call("POST", "/session", Some(capabilities)).await;
        let id = session["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_string();
        (driver, id)
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "POST" => self.http.post(url).json(&body.unwrap_or(json!({}))),
            "DELETE" => self.http.delete(url),
            _ => self.http.get(url),
        };
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    pub async fn find(&self, session: &str, css: &str) -> Option<String> {
        let found = self
            .call(
                "POST",
                &format!("/session/{session}/element"),
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found[ELEMENT].as_str().map(str::to_string)
    }

    /// The element `css` finds, which must exist.
    async fn element(&self, session: &str, css: &str) -> String {
        self.find(session, css)
            .await
            .unwrap_or_else(|| panic!("no element {css}"))
    }

    pub async fn text(&self, session: &str, css: &str) -> String {
        let element = self.element(session, css).await;
        self.call("GET", &format!("/session/{session}/element/{element}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn click(&self, session: &str, css: &str) {
        let element = self.element(session, css).await;
        self.call(
            "POST",
            &format!("/session/{session}/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Opens `url` in the session.
    pub async fn open(&self, session: &str, url: &str) {
        self.call(
            "POST",
            &format!("/session/{session}/url"),
            Some(json!({ "url": url })),
        )
        .await;
    }

    /// Types `text` into the element `css`.
    pub async fn type_into(&self, session: &str, css: &str, text: &str) {
        let element = self.element(session, css).await;
        self.call(
            "POST",
            &format!("/session/{session}/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Whether the element `css` (which must exist) can be used (a disabled button cannot).
    pub async fn enabled(&self, session: &str, css: &str) -> bool {
        let element = self.element(session, css).await;
        self.call(
            "GET",
            &format!("/session/{session}/element/{element}/enabled"),
            None,
        )
        .await
        .as_bool()
        .unwrap_or(false)
    }

    /// Accepts the page's `confirm` dialog.
    pub async fn accept_dialog(&self, session: &str) {
        self.call(
            "POST",
            &format!("/session/{session}/alert/accept"),
            Some(json!({})),
        )
        .await;
    }

    /// Runs `script` in the page.
    pub async fn execute(&self, session: &str, script: &str) -> Value {
        self.call(
            "POST",
            &format!("/session/{session}/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Sets the window's size in CSS pixels.
    pub async fn resize(&self, session: &str, width: u32, height: u32) {
        self.call(
            "POST",
            &format!("/session/{session}/window/rect"),
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Saves a PNG of the page to `file`.
    pub async fn screenshot(&self, session: &str, file: &Path) {
        use base64::Engine as _;
        let png = self
            .call("GET", &format!("/session/{session}/screenshot"), None)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a screenshot"))
            .expect("base64");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
}

/// Whether this machine can run the browser tests (prints why not).
pub fn available() -> bool {
    let ready = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !ready {
        println!("skipped: install Debian's chromium and chromium-driver to run the pages in a browser");
    }
    ready
}
