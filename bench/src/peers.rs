//! Other Rocket session crates under the same load: `bench/peers` is built on first use (it
//! is not a workspace member, so fred and redis 0.29 stay out of the workspace) and each app
//! runs as a child process.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Backend;

/// The crates `bench/peers` serves, by the name it takes on its command line.
#[derive(Clone, Copy, PartialEq)]
pub enum Peer {
    /// rocket_flex_session 0.2.0 (Redis through fred, PostgreSQL and SQLite through sqlx).
    Flex,
    /// rocket-session-store 0.2.1 (Redis through redis 0.29).
    Store,
}

impl Peer {
    pub fn arg(self) -> &'static str {
        match self {
            Peer::Flex => "flex",
            Peer::Store => "store",
        }
    }
}

/// Builds `bench/peers` in release mode and returns its binary.
pub fn build() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let target = root.join("target/peers");
    eprintln!("building bench/peers (the first build compiles the peer crates)...");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(root.join("bench/peers/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "bench/peers did not build");
    target.join("release/rocket_typed_session_bench_peers")
}

/// A peer's app on `port`, killed when dropped.
pub struct PeerApp {
    pub port: u16,
    child: Child,
}

impl PeerApp {
    pub fn start(
        binary: &PathBuf,
        peer: Peer,
        port: u16,
        backend: Backend,
        url: Option<&str>,
    ) -> PeerApp {
        let mut command = Command::new(binary);
        command.arg(peer.arg()).arg(backend.arg());
        command.arg(port.to_string()).args(url);
        let child = command.stdout(Stdio::null()).spawn().expect("the peer app starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the {} app never listened", peer.arg());
            std::thread::sleep(Duration::from_millis(20));
        }
        PeerApp { port, child }
    }
}

impl PeerApp {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PeerApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
