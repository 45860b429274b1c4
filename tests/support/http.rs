//! A keep-alive HTTP/1.1 client over real loopback sockets, for tests that run apps on ports
//! (the soak) rather than through Rocket's local client. GET only; bodies by Content-Length.

use std::io;

use rocket::tokio::io::{AsyncReadExt, AsyncWriteExt};
use rocket::tokio::net::TcpStream;

/// What a response did to the session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieChange {
    Kept,
    Set(String),
    Removed,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
    pub cookie: CookieChange,
}

/// One keep-alive connection.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    pub async fn open(port: u16) -> io::Result<Connection> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Connection { stream, buffer: Vec::with_capacity(4096) })
    }

    /// Sends `GET path` with the `session` cookie, if any, and reads the whole response.
    pub async fn get(&mut self, path: &str, session: Option<&str>) -> io::Result<Response> {
        let cookie = session.map(|id| format!("Cookie: session={id}\r\n")).unwrap_or_default();
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n{cookie}\r\n");
        self.stream.write_all(request.as_bytes()).await?;
        self.buffer.clear();
        let head_end = loop {
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buffer[..head_end]).into_owned();
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, format!("no status line in {head:?}"))
        })?;
        let mut length = 0;
        let mut cookie = CookieChange::Kept;
        for line in head.lines() {
            let Some((name, value)) = line.split_once(':') else { continue };
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("set-cookie") {
                cookie = session_cookie(value.trim()).unwrap_or(cookie);
            }
        }
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        let body = String::from_utf8_lossy(&self.buffer[head_end..head_end + length]).into_owned();
        Ok(Response { status, body, cookie })
    }

    async fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk).await? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                self.buffer.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }
}

/// The change a `Set-Cookie` value makes to the `session` cookie; `None` for other cookies.
fn session_cookie(set_cookie: &str) -> Option<CookieChange> {
    let mut parts = set_cookie.split(';').map(str::trim);
    let value = parts.next()?.strip_prefix("session=")?;
    let expired = parts.any(|attribute| attribute.eq_ignore_ascii_case("Max-Age=0"));
    Some(match value.is_empty() || expired {
        true => CookieChange::Removed,
        false => CookieChange::Set(value.to_owned()),
    })
}
