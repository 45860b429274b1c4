//! Private Redis servers and clusters for tests: each on free loopback ports, never the
//! machine's own Redis, stopped when dropped (and killed at exit if a static holds them).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use super::exit;
use super::tls::TestCa;

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
        let mut server = RedisServer {
            port,
            dir: scratch_dir("redis", port),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        server.spawn();
        server
    }

    /// A replica of `primary` on a free port, in sync before this returns.
    pub fn replica_of(primary: &RedisServer) -> RedisServer {
        let port = primary.port.to_string();
        let replica = RedisServer::start_with(free_port(), &["--replicaof", HOST, &port]);
        wait_until(
            || {
                ask(primary.port, "INFO replication\r\n")
                    .is_some_and(|r| r.contains("state=online"))
            },
            "the replica to be in sync",
        );
        // Online is not yet acknowledging: wait until a write comes back acknowledged.
        let mut connection = redis::Client::open(primary.url()).unwrap().get_connection().unwrap();
        wait_until(
            || {
                let (_, acknowledged): ((), u32) = redis::pipe()
                    .cmd("SET")
                    .arg("replica-check")
                    .arg(1)
                    .cmd("WAIT")
                    .arg(1)
                    .arg(200)
                    .query(&mut connection)
                    .unwrap();
                acknowledged == 1
            },
            "the replica to acknowledge a write",
        );
        replica
    }

    pub fn url(&self) -> String {
        format!("redis://{HOST}:{}", self.port)
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let mut arguments: Vec<OsString> =
            ["--port", &port, "--bind", HOST, "--save", "", "--appendonly", "no", "--dir"]
                .map(OsString::from)
                .into();
        arguments.push(self.dir.clone().into());
        arguments.extend(self.extra.iter().map(OsString::from));
        self.spawn_with(&arguments);
    }

    /// Starts `redis-server` with `arguments` and waits until it answers.
    fn spawn_with(&mut self, arguments: &[impl AsRef<OsStr>]) {
        let mut command = Command::new("redis-server");
        command.args(arguments).stdout(Stdio::null()).stderr(Stdio::null());
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

/// How many sessions (keys under the default prefix `session:`) the server behind
/// `connection` holds, in its current database.
pub async fn stored_sessions(connection: &mut MultiplexedConnection) -> usize {
    let keys: Vec<String> =
        redis::cmd("KEYS").arg("session:*").query_async(connection).await.unwrap();
    keys.len()
}

/// A Redis Cluster of `masters` masters, each with `replicas` replicas.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start(masters: usize, replicas: usize) -> RedisCluster {
        RedisCluster::start_with(masters, replicas, Vec::new)
    }

    /// A cluster of `masters` masters without replicas whose nodes take TLS too, on the ports
    /// returned, and speak it to each other; the tests' own checks use the plain ports.
    pub fn start_tls(ca: &TestCa, masters: usize, ask_clients: bool) -> (RedisCluster, Vec<u16>) {
        let mut tls_ports = Vec::new();
        let cluster = RedisCluster::start_with(masters, 0, || {
            let port = free_port();
            tls_ports.push(port);
            let mut settings = ca.redis_settings(port, ask_clients);
            settings.push(("tls-cluster", "yes".to_owned()));
            arguments_of(settings)
        });
        (cluster, tls_ports)
    }

    /// A cluster whose each node also gets the arguments `extra` returns for it.
    fn start_with(
        masters: usize,
        replicas: usize,
        mut extra: impl FnMut() -> Vec<String>,
    ) -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..masters * (1 + replicas))
            .map(|_| {
                let mut arguments: Vec<String> =
                    ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"]
                        .map(String::from)
                        .into();
                arguments.extend(extra());
                let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
                RedisServer::start_with(free_cluster_port(), &arguments)
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
        cluster.wait_healthy();
        for node in &cluster.nodes {
            wait_until(|| replication_settled(node.port, replicas), "every replica to be in sync");
        }
        cluster
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The index of the live master that serves `key`'s slot, as a live node sees it.
    pub fn master_of(&self, key: &str) -> usize {
        self.find_master_of(key).expect("a live master serves every slot")
    }

    /// Like `master_of`, but `None` while no live master serves the slot (mid-failover).
    pub fn find_master_of(&self, key: &str) -> Option<usize> {
        let slot = self.ask_any(&format!("CLUSTER KEYSLOT {key}\r\n"));
        let slot: u16 = slot.trim().trim_start_matches(':').parse().expect("a slot number");
        let nodes = self.ask_any("CLUSTER NODES\r\n");
        let port = nodes
            .lines()
            .map(NodeLine::parse)
            .find(|node| node.is_live_master() && node.serves(slot))?
            .port;
        Some(self.index_of(port))
    }

    /// The index of a replica of the master at `master`.
    pub fn replica_of(&self, master: usize) -> usize {
        let port = self.nodes[master].port;
        let mut found = None;
        // Gossip may not have told the asked node about the replica yet: ask until it has.
        wait_until(
            || {
                let lines: Vec<NodeLine> =
                    self.ask_any("CLUSTER NODES\r\n").lines().map(NodeLine::parse).collect();
                let Some(id) = lines.iter().find(|n| n.port == port).map(|n| &n.id) else {
                    return false;
                };
                found = lines
                    .iter()
                    .find(|n| n.master_id == *id && !n.flags.contains("fail"))
                    .map(|n| n.port);
                found.is_some()
            },
            "the master to have a live replica",
        );
        self.index_of(found.expect("found above"))
    }

    /// Promotes the replica at `replica` by hand (`CLUSTER FAILOVER`), as an operator would.
    pub fn promote(&self, replica: usize) {
        ask_ok(self.nodes[replica].port, "CLUSTER FAILOVER\r\n");
    }

    /// Lets masters serve their slots while another master's are uncovered
    /// (`cluster-require-full-coverage no`); by default the whole cluster refuses queries
    /// from a master's failure report until a replica takes its slots over.
    pub fn allow_partial_coverage(&self) {
        for node in &self.nodes {
            ask_ok(node.port, "CONFIG SET cluster-require-full-coverage no\r\n");
        }
    }

    /// Starts a stopped node again, empty but with its cluster identity: it rejoins as a
    /// replica of whichever node took over its slots. Returns once it is in sync.
    pub fn restart(&mut self, node: usize) {
        self.nodes[node].restart();
        let port = self.nodes[node].port;
        wait_until(|| replication_settled(port, 0), "the restarted node to be in sync");
        self.wait_healthy();
    }

    /// Waits until every live node reports the cluster healthy again.
    pub fn wait_healthy(&self) {
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            wait_until(|| cluster_ok(node.port), "the cluster to report cluster_state:ok");
        }
    }

    fn index_of(&self, port: u16) -> usize {
        self.nodes.iter().position(|n| n.port == port).expect("a node of this cluster")
    }

    fn ask_any(&self, command: &str) -> String {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .find_map(|n| ask(n.port, command))
            .expect("a live node answers")
    }
}

/// One line of `CLUSTER NODES`: `id ip:port@bus flags master-id ping pong epoch link slots...`.
struct NodeLine {
    id: String,
    port: u16,
    flags: String,
    master_id: String,
    slots: Vec<(u16, u16)>,
}

impl NodeLine {
    fn parse(line: &str) -> NodeLine {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let address = fields.get(1).copied().unwrap_or_default();
        let port = address.split(['@', ',']).next().unwrap_or_default().rsplit(':').next();
        let slots = fields
            .iter()
            .skip(8)
            .filter(|range| !range.starts_with('['))
            .filter_map(|range| {
                let (start, end) = range.split_once('-').unwrap_or((range, range));
                Some((start.parse().ok()?, end.parse().ok()?))
            })
            .collect();
        NodeLine {
            id: fields.first().copied().unwrap_or_default().to_owned(),
            port: port.and_then(|p| p.parse().ok()).unwrap_or_default(),
            flags: fields.get(2).copied().unwrap_or_default().to_owned(),
            master_id: fields.get(3).copied().unwrap_or_default().to_owned(),
            slots,
        }
    }

    fn is_live_master(&self) -> bool {
        self.flags.contains("master") && !self.flags.contains("fail")
    }

    fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(start, end)| (start..=end).contains(&slot))
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

/// A directory of this test process for the server of `kind` on `port`.
fn scratch_dir(kind: &str, port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rts-{kind}-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
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

/// Sends `command` and fails the test unless the node answers `+OK`.
fn ask_ok(port: u16, command: &str) {
    let reply = ask(port, command);
    assert!(reply.as_deref().is_some_and(|r| r.starts_with("+OK")), "{command:?}: {reply:?}");
}

/// A replica whose link to its master is up, or a master with `replicas` replicas online.
fn replication_settled(port: u16, replicas: usize) -> bool {
    ask(port, "INFO replication\r\n").is_some_and(|info| {
        let synced_replica = info.contains("role:slave") && info.contains("master_link_status:up");
        let master = info.contains("role:master")
            && info.contains(&format!("connected_slaves:{replicas}"))
            && info.matches("state=online").count() == replicas;
        synced_replica || master
    })
}

/// Whether the server answers: `PONG`, or a refusal until the client logs in.
fn ping(port: u16) -> bool {
    ask(port, "PING\r\n")
        .is_some_and(|reply| reply.starts_with("+PONG") || reply.starts_with("-NOAUTH"))
}

fn cluster_ok(port: u16) -> bool {
    ask(port, "CLUSTER INFO\r\n").is_some_and(|reply| reply.contains("cluster_state:ok"))
}

/// Polls `ready` until it holds; fails the test after 20 seconds, naming `what`.
pub fn wait_until(mut ready: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The master set every Sentinel deployment of the tests monitors.
pub const SENTINEL_MASTER: &str = "rts";

/// A master, one replica and one Sentinel watching them, each on free loopback ports.
pub struct RedisSentinel {
    pub master: RedisServer,
    pub replica: RedisServer,
    sentinel: RedisServer,
}

impl RedisSentinel {
    pub fn start() -> RedisSentinel {
        let master = RedisServer::start();
        let replica = RedisServer::replica_of(&master);
        let sentinel = sentinel_watching(master.port, "");
        let deployment = RedisSentinel { master, replica, sentinel };
        wait_until(|| deployment.knows_replica(), "the Sentinel to discover the replica");
        deployment
    }

    pub fn urls(&self) -> Vec<String> {
        vec![self.sentinel.url()]
    }

    /// Promotes the replica through the Sentinel and waits until it is the master the
    /// Sentinel names and accepts writes.
    pub fn fail_over(&self) {
        // Until the Sentinel has heard from the replica it has none it deems fit to promote.
        wait_until(
            || {
                ask(self.sentinel.port, &format!("SENTINEL FAILOVER {SENTINEL_MASTER}\r\n"))
                    .is_some_and(|reply| reply.starts_with("+OK"))
            },
            "the Sentinel to start a failover",
        );
        let promoted = self.replica.port.to_string();
        wait_until(
            || {
                let named = ask(
                    self.sentinel.port,
                    &format!("SENTINEL GET-MASTER-ADDR-BY-NAME {SENTINEL_MASTER}\r\n"),
                );
                named.is_some_and(|r| r.contains(&promoted))
                    && ask(self.replica.port, "INFO replication\r\n")
                        .is_some_and(|r| r.contains("role:master"))
            },
            "the replica to be promoted",
        );
    }

    fn knows_replica(&self) -> bool {
        let replicas = ask(self.sentinel.port, &format!("SENTINEL REPLICAS {SENTINEL_MASTER}\r\n"));
        replicas.is_some_and(|r| r.contains(&self.replica.port.to_string()))
    }
}

/// A Sentinel watching the master on `master_port` as the set [`SENTINEL_MASTER`], with
/// `settings` (lines of its configuration) besides.
fn sentinel_watching(master_port: u16, settings: &str) -> RedisServer {
    let port = free_port();
    let dir = scratch_dir("sentinel", port);
    // Sentinel rewrites its configuration file, so each gets its own.
    let config = dir.join("sentinel.conf");
    let monitor = format!(
        "port {port}\nbind {HOST}\ndir {dir}\n\
         sentinel monitor {SENTINEL_MASTER} {HOST} {master_port} 1\n\
         sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n\
         sentinel failover-timeout {SENTINEL_MASTER} 5000\n{settings}",
        dir = dir.display(),
    );
    std::fs::write(&config, monitor).expect("the Sentinel configuration");
    let mut sentinel = RedisServer { port, dir, extra: Vec::new(), child: None };
    sentinel.spawn_with(&[config.to_str().unwrap(), "--sentinel"]);
    sentinel
}

/// A master that takes a password, and one Sentinel that watches it (no replica).
pub struct GuardedSentinel {
    pub master: RedisServer,
    sentinel: RedisServer,
}

impl GuardedSentinel {
    pub fn start(password: &str) -> GuardedSentinel {
        let master = RedisServer::start_with(free_port(), &["--requirepass", password]);
        let auth = format!("sentinel auth-pass {SENTINEL_MASTER} {password}\n");
        let sentinel = sentinel_watching(master.port, &auth);
        GuardedSentinel { master, sentinel }
    }

    pub fn urls(&self) -> Vec<String> {
        vec![self.sentinel.url()]
    }
}

/// A server that takes TLS on `tls_port`, with a certificate a [`TestCa`] signed, and plain
/// TCP on its own port for the tests' checks.
pub struct TlsRedis {
    pub server: RedisServer,
    pub tls_port: u16,
}

impl TlsRedis {
    /// A server that takes TLS alone, and with `ask_clients` only from a client presenting a
    /// certificate `ca` signed.
    pub fn start(ca: &TestCa, ask_clients: bool) -> TlsRedis {
        let tls_port = free_port();
        let arguments = arguments_of(ca.redis_settings(tls_port, ask_clients));
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        TlsRedis { server: RedisServer::start_with(free_port(), &arguments), tls_port }
    }

    pub fn url(&self) -> String {
        format!("rediss://{HOST}:{}", self.tls_port)
    }
}

/// `redis-server` arguments that give each directive its value.
fn arguments_of(settings: Vec<(&'static str, String)>) -> Vec<String> {
    settings.into_iter().flat_map(|(directive, value)| [format!("--{directive}"), value]).collect()
}

/// A master and a Sentinel watching it that take TLS, the Sentinel speaking TLS to the master
/// too (no replica); with `ask_clients`, both ask each client for a certificate.
pub struct TlsSentinel {
    pub master: TlsRedis,
    sentinel: RedisServer,
    sentinel_tls_port: u16,
}

impl TlsSentinel {
    pub fn start(ca: &TestCa, ask_clients: bool) -> TlsSentinel {
        let master = TlsRedis::start(ca, ask_clients);
        let sentinel_tls_port = free_port();
        let mut settings: String = ca
            .redis_settings(sentinel_tls_port, ask_clients)
            .into_iter()
            .map(|(directive, value)| format!("{directive} {value}\n"))
            .collect();
        settings.push_str("tls-replication yes\n");
        let sentinel = sentinel_watching(master.tls_port, &settings);
        TlsSentinel { master, sentinel, sentinel_tls_port }
    }

    pub fn urls(&self) -> Vec<String> {
        vec![format!("rediss://{HOST}:{}", self.sentinel_tls_port)]
    }
}

/// One Sentinel deployment shared by every test of a binary; killed when the binary exits.
pub fn shared_sentinel() -> &'static RedisSentinel {
    static SENTINEL: OnceLock<RedisSentinel> = OnceLock::new();
    SENTINEL.get_or_init(RedisSentinel::start)
}
