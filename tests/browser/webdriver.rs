//! Just enough of the W3C WebDriver protocol to drive headless Chromium through chromedriver:
//! plain HTTP/1.1 over a loopback socket, one request per connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running chromedriver, stopped on drop.
pub struct Driver {
    port: u16,
    process: Child,
}

impl Driver {
    pub fn start(port: u16) -> Driver {
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { port, process };
        let deadline = Instant::now() + Duration::from_secs(20);
        while driver.call("GET", "/status", None).get("value").and_then(|v| v.get("ready"))
            != Some(&json!(true))
        {
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return Value::Null;
        };
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("a request to chromedriver");
        serde_json::from_slice(&read_body(&mut stream)).unwrap_or(Value::Null)
    }
}

/// The body of one HTTP response: chromedriver keeps the connection open, so the body ends
/// where its `Content-Length` says, not at end of stream.
fn read_body(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    let header_end = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return Vec::new(),
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    };
    let headers = String::from_utf8_lossy(&received[..header_end]).to_ascii_lowercase();
    let length: usize = headers
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while received.len() < header_end + length {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    }
    received[header_end..].to_vec()
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// One browser (its own profile, so its own cookies), closed on drop.
pub struct Browser<'d> {
    driver: &'d Driver,
    session: String,
    _profile: tempfile::TempDir,
}

impl<'d> Browser<'d> {
    pub fn open(driver: &'d Driver) -> Browser<'d> {
        let profile = tempfile::tempdir().unwrap();
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
            "--window-size=1000,700",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
        }}});
        let reply = driver.call("POST", "/session", Some(capabilities));
        let session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {reply}"))
            .to_owned();
        Browser { driver, session, _profile: profile }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let reply = self.driver.call(method, &format!("/session/{}{path}", self.session), body);
        if let Some(error) = reply["value"].get("error") {
            panic!("WebDriver {method} {path} failed: {error}: {}", reply["value"]["message"]);
        }
        reply["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    pub fn refresh(&self) {
        self.call("POST", "/refresh", Some(json!({})));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap_or_default().to_owned()
    }

    fn element(&self, css: &str) -> String {
        let found =
            self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("an element id")
            .to_owned()
    }

    pub fn click(&self, css: &str) {
        let element = self.element(css);
        self.call("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    /// Clicks, then waits until the navigation the click starts has landed on a URL ending
    /// with `url_suffix` and the new page has loaded: a click does not wait for a form's
    /// response. The old page is marked before the click, so a click that leads back to the
    /// same URL is not mistaken for one whose navigation has not begun.
    pub fn click_to(&self, css: &str, url_suffix: &str) {
        self.script("window.__left_behind = true;");
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url();
            let landed = self.script(
                "return window.__left_behind === undefined && document.readyState === 'complete';",
            );
            if landed == json!(true) && url.ends_with(url_suffix) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css} did not lead to *{url_suffix}: at {url}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.call("POST", &format!("/element/{element}/value"), Some(json!({"text": text})));
    }

    pub fn text(&self, css: &str) -> String {
        let element = self.element(css);
        self.call("GET", &format!("/element/{element}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn script(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    /// The cookie named `name` as the browser holds it (with its `httpOnly` flag).
    pub fn cookie(&self, name: &str) -> Option<Value> {
        let cookies = self.call("GET", "/cookie", None);
        cookies.as_array()?.iter().find(|c| c["name"] == name).cloned()
    }

    pub fn screenshot(&self, path: &Path) {
        let png = self.call("GET", "/screenshot", None);
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        self.driver.call("DELETE", &format!("/session/{}", self.session), None);
    }
}
