//! The bench's own `redis-server` on a free loopback port, and its counters.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    child: Child,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let port = TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install -y redis-server)");
        let server = RedisServer { port, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.ask("PING").starts_with("+PONG") {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The server's process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn ask(&self, command: &str) -> String {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let _ = stream.write_all(format!("{command}\r\n").as_bytes());
        let mut reply = Vec::new();
        let mut chunk = [0u8; 65536];
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        while let Ok(n) = stream.read(&mut chunk) {
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&chunk[..n]);
            if n < chunk.len() {
                break;
            }
        }
        String::from_utf8_lossy(&reply).into_owned()
    }

    pub fn reset_stats(&self) {
        self.ask("CONFIG RESETSTAT");
    }

    /// Commands executed since the last reset, as `INFO commandstats` counts them (commands a
    /// Lua script runs included), and bytes received from clients.
    pub fn traffic(&self) -> (u64, u64) {
        let commands = self.ask("INFO commandstats");
        let executed: u64 = commands
            .lines()
            .filter_map(|line| line.strip_prefix("cmdstat_"))
            .filter(|line| !line.starts_with("info") && !line.starts_with("config"))
            .filter_map(|line| {
                let (_, stats) = line.split_once(':')?;
                stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?.parse::<u64>().ok()
            })
            .sum();
        let stats = self.ask("INFO stats");
        let bytes = stats
            .lines()
            .find_map(|line| line.strip_prefix("total_net_input_bytes:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        (executed, bytes)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
