//! The load generator: N keep-alive connections, each a distinct user keeping its own
//! cookie, sending requests back to back until a deadline. Plain HTTP/1.1 over tokio.

use std::time::{Duration, Instant};

use rocket::tokio::io::{AsyncReadExt, AsyncWriteExt};
use rocket::tokio::net::TcpStream;

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
struct User {
    stream: TcpStream,
    cookie: Option<String>,
    request: Vec<u8>,
    buffer: Vec<u8>,
}

impl User {
    async fn connect(port: u16) -> User {
        let stream =
            TcpStream::connect(("127.0.0.1", port)).await.expect("the app accepts connections");
        stream.set_nodelay(true).unwrap();
        User {
            stream,
            cookie: None,
            request: Vec::with_capacity(256),
            buffer: Vec::with_capacity(4096),
        }
    }

    /// Sends a GET and reads the whole response; keeps any cookie the response set. Parses
    /// without allocating per header: the generator shares the machine with the app, so its
    /// own cost would otherwise count against responses with more headers.
    async fn get(&mut self, path: &str) -> bool {
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
        if self.stream.write_all(&self.request).await.is_err() {
            return false;
        }
        self.buffer.clear();
        let mut chunk = [0u8; 8192];
        let header_end = loop {
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let ok = self.buffer.starts_with(b"HTTP/1.1 200");
        let mut length = 0;
        let mut set_cookies = Vec::new();
        for line in self.buffer[..header_end].split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(value) = header_value(line, b"content-length:") {
                length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
            } else if let Some(value) = header_value(line, b"set-cookie:") {
                let pair = value.split(|&b| b == b';').next().unwrap_or_default();
                // A refresh of the one cookie held changes nothing: skip it without copying.
                if self.cookie.as_deref().map(str::as_bytes) != Some(pair) {
                    set_cookies.push(String::from_utf8_lossy(pair).into_owned());
                }
            }
        }
        for pair in set_cookies {
            self.update_cookie(&pair);
        }
        while self.buffer.len() < header_end + length {
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
            }
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

/// The value of a header line named `name` (lowercase, with its colon), trimmed.
fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let head = line.get(..name.len())?;
    head.eq_ignore_ascii_case(name).then(|| line[name.len()..].trim_ascii())
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
            if let Some(setup) = setup {
                user.get(&setup).await;
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
                    user = User::connect(port).await;
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
