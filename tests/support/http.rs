//! A keep-alive HTTP/1.1 client over real loopback sockets, for tests that run apps on ports
//! (the soak) rather than through Rocket's local client, and for the load benchmark, which
//! includes this file. Responses are parsed with httparse; bodies are read by Content-Length.

use std::io;

use rocket::tokio::io::{AsyncReadExt, AsyncWriteExt};
use rocket::tokio::net::TcpStream;

/// The most headers a response may have.
const MAX_HEADERS: usize = 32;

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

/// A response as read, its body still in the connection's buffer.
pub struct Exchange<'a> {
    pub status: u16,
    pub body: &'a [u8],
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
        let mut cookie = CookieChange::Kept;
        let exchange = self
            .exchange(request.as_bytes(), |name, value| {
                if name.eq_ignore_ascii_case("set-cookie") {
                    let value = String::from_utf8_lossy(value);
                    cookie = session_cookie(value.trim()).unwrap_or(cookie.clone());
                }
            })
            .await?;
        let body = String::from_utf8_lossy(exchange.body).into_owned();
        Ok(Response { status: exchange.status, body, cookie })
    }

    /// Sends `request` as it is and reads the response; `on_header` sees each header's name
    /// and value as they arrived. Allocates nothing per response beyond the buffer's growth.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        mut on_header: impl FnMut(&str, &[u8]),
    ) -> io::Result<Exchange<'_>> {
        self.stream.write_all(request).await?;
        self.buffer.clear();
        let (head_len, status, body_len) = loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            let parsed = response.parse(&self.buffer).map_err(invalid)?;
            if let httparse::Status::Complete(head_len) = parsed {
                let mut body_len = 0;
                for header in response.headers.iter() {
                    if header.name.eq_ignore_ascii_case("content-length") {
                        body_len = content_length(header.value)?;
                    }
                    on_header(header.name, header.value);
                }
                break (head_len, response.code.unwrap_or_default(), body_len);
            }
            self.fill().await?;
        };
        while self.buffer.len() < head_len + body_len {
            self.fill().await?;
        }
        Ok(Exchange { status, body: &self.buffer[head_len..head_len + body_len] })
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

fn invalid(error: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

fn content_length(value: &[u8]) -> io::Result<usize> {
    let text = std::str::from_utf8(value).map_err(invalid)?;
    text.trim().parse().map_err(invalid)
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
