//! Private Redis servers and clusters for tests: each on free loopback ports, never the
//! machine's own Redis, stopped when dropped (and killed at exit if a static holds them).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use super::exit;

const HOST: &str = "127.0.0.1";

/// One `redis-server` process that the test owns.
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// A fresh server on a free port, with no persistence.
    pub fn start() -> RedisServer {
        RedisServer::start_with(free_port(), &[])
    }

    /// A server on `port` with extra `redis-server` arguments.
    pub fn start_with(port: u16, extra: &[&str]) -> RedisServer {
        let dir = std::env::temp_dir().join(format!("rts-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut server = RedisServer {
            port,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://{HOST}:{}", self.port)
    }

    fn spawn(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", HOST])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().unwrap_or_else(|error| {
            panic!(
                "cannot start redis-server ({error}); install it with `apt-get install -y redis-server` \
                 or run `scripts/test`, which installs it"
            )
        });
        exit::kill_at_exit(child.id());
        exit::remove_at_exit(&self.dir);
        self.child = Some(child);
        wait_until(|| ping(self.port), "redis-server to answer PING");
    }

    /// Kills the server at once, as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            exit::forget(child.id());
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing answers.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Thaws a paused server (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = self.child.as_ref().expect("the server runs").id();
        // SAFETY: signalling a child process this test started.
        unsafe {
            libc::kill(pid as libc::pid_t, signal);
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub async fn connection(&self) -> MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("the test server accepts connections")
    }

    /// Calls per command since the last reset, from `INFO commandstats`.
    pub async fn command_counts(&self) -> BTreeMap<String, u64> {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut self.connection().await)
            .await
            .unwrap();
        info.lines()
            .filter_map(|line| {
                let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
                Some((name.to_owned(), calls.parse().ok()?))
            })
            .collect()
    }

    pub async fn reset_stats(&self) {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut self.connection().await)
            .await
            .unwrap();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of `masters` masters, each with `replicas` replicas.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start(masters: usize, replicas: usize) -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..masters * (1 + replicas))
            .map(|_| {
                RedisServer::start_with(
                    free_cluster_port(),
                    &["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"],
                )
            })
            .collect();
        let addresses: Vec<String> = nodes.iter().map(|n| format!("{HOST}:{}", n.port)).collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = RedisCluster { nodes };
        for node in &cluster.nodes {
            wait_until(|| cluster_ok(node.port), "the cluster to report cluster_state:ok");
        }
        cluster
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}

/// One cluster shared by every test of a binary; killed when the binary exits.
pub fn shared_cluster() -> &'static RedisCluster {
    static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| RedisCluster::start(3, 0))
}

/// One server shared by every test of a binary; killed when the binary exits.
pub fn shared_server() -> &'static RedisServer {
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    SERVER.get_or_init(RedisServer::start)
}

pub fn free_port() -> u16 {
    TcpListener::bind((HOST, 0)).unwrap().local_addr().unwrap().port()
}

/// A free port whose cluster-bus twin (port + 10000) is free too.
fn free_cluster_port() -> u16 {
    loop {
        let port = free_port();
        if let Some(bus) = port.checked_add(10_000) {
            if TcpListener::bind((HOST, bus)).is_ok() {
                return port;
            }
        }
    }
}

fn ask(port: u16, command: &str) -> Option<String> {
    let mut stream = TcpStream::connect((HOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    stream.write_all(command.as_bytes()).ok()?;
    let mut buffer = [0u8; 4096];
    let read = stream.read(&mut buffer).ok()?;
    Some(String::from_utf8_lossy(&buffer[..read]).into_owned())
}

fn ping(port: u16) -> bool {
    ask(port, "PING\r\n").is_some_and(|reply| reply.starts_with("+PONG"))
}

fn cluster_ok(port: u16) -> bool {
    ask(port, "CLUSTER INFO\r\n").is_some_and(|reply| reply.contains("cluster_state:ok"))
}

fn wait_until(mut ready: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
