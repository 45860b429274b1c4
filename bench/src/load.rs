//! The load generator: N keep-alive connections, each a distinct user keeping its own
//! cookie, sending requests back to back until a deadline. Plain HTTP/1.1 over tokio.

use std::time::{Duration, Instant};

use crate::http::Connection;

/// What one run measured.
pub struct Measured {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Latencies in microseconds, sorted.
    pub latencies: Vec<u32>,
}

impl Measured {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        f64::from(self.latencies[index]) / 1000.0
    }
}

/// One user on one keep-alive connection.
pub struct User {
    connection: Connection,
    cookie: Option<String>,
    request: Vec<u8>,
}

impl User {
    pub async fn connect(port: u16) -> User {
        let connection = Connection::open(port).await.expect("the app accepts connections");
        User { connection, cookie: None, request: Vec::with_capacity(256) }
    }

    /// Sends a GET and reads the whole response; keeps any cookie the response set. Copies
    /// nothing for a refresh of the cookie held: the generator shares the machine with the
    /// app, so its own cost would otherwise count against responses with more headers.
    pub async fn get(&mut self, path: &str) -> bool {
        self.request.clear();
        self.request.extend_from_slice(b"GET ");
        self.request.extend_from_slice(path.as_bytes());
        self.request.extend_from_slice(b" HTTP/1.1\r\nHost: bench\r\n");
        if let Some(cookie) = &self.cookie {
            self.request.extend_from_slice(b"Cookie: ");
            self.request.extend_from_slice(cookie.as_bytes());
            self.request.extend_from_slice(b"\r\n");
        }
        self.request.extend_from_slice(b"\r\n");
        let held = self.cookie.as_deref().map(str::as_bytes);
        let mut set_cookies = Vec::new();
        let exchange = self.connection.exchange(&self.request, |name, value| {
            if name.eq_ignore_ascii_case("set-cookie") {
                let pair = value.split(|&b| b == b';').next().unwrap_or_default();
                if held != Some(pair) {
                    set_cookies.push(String::from_utf8_lossy(pair).into_owned());
                }
            }
        });
        let Ok(exchange) = exchange.await else { return false };
        let ok = exchange.status == 200;
        for pair in set_cookies {
            self.update_cookie(&pair);
        }
        ok
    }

    /// Keeps one value per cookie name, as a browser would.
    fn update_cookie(&mut self, pair: &str) {
        let Some((name, _)) = pair.split_once('=') else { return };
        let prefix = format!("{name}=");
        let mut cookies: Vec<&str> = self
            .cookie
            .as_deref()
            .map(|c| c.split("; ").filter(|p| !p.starts_with(&prefix)).collect())
            .unwrap_or_default();
        cookies.push(pair);
        self.cookie = Some(cookies.join("; "));
    }
}

/// Opens `users` connections, primes each with `setup` (to get its cookie), warms up, then
/// sends `path` from every connection for `duration`.
pub async fn run(
    port: u16,
    users: usize,
    setup: Option<&str>,
    path: &str,
    warmup: Duration,
    duration: Duration,
) -> Measured {
    let mut tasks = Vec::new();
    let start = Instant::now() + warmup;
    let end = start + duration;
    for _ in 0..users {
        let (setup, path) = (setup.map(str::to_owned), path.to_owned());
        tasks.push(rocket::tokio::spawn(async move {
            let mut user = User::connect(port).await;
            if let Some(setup) = &setup {
                user.get(setup).await;
            }
            let (mut latencies, mut requests, mut errors) = (Vec::new(), 0u64, 0u64);
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let ok = user.get(&path).await;
                if sent >= start {
                    requests += 1;
                    errors += u64::from(!ok);
                    latencies.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                }
                if !ok {
                    // A user who lost its connection comes back with its session, as a
                    // browser would: without it, its next requests would skip the store.
                    user = User::connect(port).await;
                    if let Some(setup) = &setup {
                        user.get(setup).await;
                    }
                }
            }
            (latencies, requests, errors)
        }));
    }
    let mut measured =
        Measured { requests: 0, errors: 0, elapsed: duration, latencies: Vec::new() };
    for task in tasks {
        let (latencies, requests, errors) = task.await.unwrap();
        measured.latencies.extend(latencies);
        measured.requests += requests;
        measured.errors += errors;
    }
    measured.latencies.sort_unstable();
    measured
}
