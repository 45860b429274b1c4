//! A TCP relay in front of a database server that counts what a store sends: round trips
//! (a round trip begins each time a client speaks after the server last did) and bytes. It
//! can hold each reply back, as a slow link would, or hold back the requests that carry
//! given bytes, as a stalled server would take them in late.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Counts {
    round_trips: AtomicU64,
    sent: AtomicU64,
    reply_delay_ms: AtomicU64,
    /// Requests whose bytes contain the first are passed on only after the second.
    held: Mutex<Option<(Vec<u8>, Duration)>>,
}

pub struct CountingProxy {
    pub port: u16,
    counts: Arc<Counts>,
}

impl CountingProxy {
    /// Relays every connection on a free loopback port to `target` on loopback.
    pub fn start(target: u16) -> CountingProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("a free port");
        let port = listener.local_addr().unwrap().port();
        let counts = Arc::new(Counts::default());
        let shared = counts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                relay(client, server, shared.clone());
            }
        });
        CountingProxy { port, counts }
    }

    /// `url` with the server's port replaced by the proxy's.
    pub fn url_for(&self, url: &str, server_port: u16) -> String {
        url.replace(&format!(":{server_port}/"), &format!(":{}/", self.port))
    }

    pub fn reset(&self) {
        self.counts.round_trips.store(0, Ordering::SeqCst);
        self.counts.sent.store(0, Ordering::SeqCst);
    }

    /// Holds each piece of every later reply back for `delay` before passing it on.
    pub fn delay_replies(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.counts.reply_delay_ms.store(millis, Ordering::SeqCst);
    }

    /// Holds every later request whose bytes contain `marker` back for `delay` before
    /// passing it on, even if the client has hung up meanwhile.
    pub fn hold_requests_containing(&self, marker: &[u8], delay: Duration) {
        *self.counts.held.lock().unwrap() = Some((marker.to_vec(), delay));
    }

    pub fn round_trips(&self) -> u64 {
        self.counts.round_trips.load(Ordering::SeqCst)
    }

    /// Bytes the clients sent.
    pub fn sent(&self) -> u64 {
        self.counts.sent.load(Ordering::SeqCst)
    }
}

fn relay(client: TcpStream, server: TcpStream, counts: Arc<Counts>) {
    let client_spoke_last = Arc::new(AtomicBool::new(false));
    let (to_server, from_server) = (server.try_clone().unwrap(), client.try_clone().unwrap());
    let spoke = client_spoke_last.clone();
    let shared = counts.clone();
    std::thread::spawn(move || {
        pump(client, to_server, |chunk| {
            if !spoke.swap(true, Ordering::SeqCst) {
                counts.round_trips.fetch_add(1, Ordering::SeqCst);
            }
            counts.sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            let held = counts.held.lock().unwrap().clone();
            if let Some((marker, delay)) = held {
                if chunk.windows(marker.len()).any(|window| window == marker) {
                    std::thread::sleep(delay);
                }
            }
        })
    });
    std::thread::spawn(move || {
        pump(server, from_server, |_| {
            let delay = shared.reply_delay_ms.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(delay));
            client_spoke_last.store(false, Ordering::SeqCst);
        })
    });
}

/// Copies `from` to `to` until either end closes, showing `seen` each chunk first.
fn pump(mut from: TcpStream, mut to: TcpStream, seen: impl Fn(&[u8])) {
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buffer) {
        if n == 0 {
            break;
        }
        seen(&buffer[..n]);
        if to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}
