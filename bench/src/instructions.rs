//! Instructions per request, counted by callgrind rather than timed: each app runs alone in
//! a process under `valgrind --tool=callgrind`; one keep-alive connection primes and warms
//! it, `callgrind_control` zeroes the counters, N more requests go out, and a dump gives
//! their instructions. Counts repeat to within a fraction of a percent from run to run,
//! where req/s on this shared machine swing by a third.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::peers::Peer;
use crate::{free_port, Backend};

/// Requests sent before the counters are zeroed, and then counted.
const WARMUP: usize = 200;
const COUNTED: usize = 1000;

/// Whose app a row counts.
#[derive(Clone, Copy)]
pub enum App {
    /// Ours, through `--serve` on this binary.
    Ours {
        rolling: bool,
    },
    Peer(Peer),
}

/// One row: an app, a store, and the route counted after `/session/write` primed it.
pub struct Case {
    pub name: String,
    pub app: App,
    pub backend: Backend,
    pub path: &'static str,
}

/// The rows of the table: the no-session route, then ours and each peer reading and writing
/// on each store.
pub fn cases(backends: &[Backend]) -> Vec<Case> {
    let mut cases = vec![Case {
        name: "no session (baseline)".into(),
        app: App::Ours { rolling: true },
        backend: Backend::Memory,
        path: "/baseline/read",
    }];
    for &backend in backends {
        let apps = [
            ("ours", App::Ours { rolling: true }),
            ("ours, no rolling refresh", App::Ours { rolling: false }),
            ("rocket_flex_session 0.2.0", App::Peer(Peer::Flex)),
            ("rocket-session-store 0.2.1", App::Peer(Peer::Store)),
        ];
        for (name, app) in apps {
            for (op, path) in [("read", "/session/read"), ("write", "/session/write")] {
                let name = format!("{name} on {}, {op}", backend.name());
                cases.push(Case { name, app, backend, path });
            }
        }
    }
    cases
}

/// An app under callgrind, killed when dropped.
struct Counted {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Counted {
    fn start(case: &Case, peers: Option<&Path>, redis: Option<&str>, dir: &Path) -> Counted {
        let port = free_port();
        let slug: String = case.name.chars().filter(char::is_ascii_alphanumeric).collect();
        let out = dir.join(format!("callgrind.{slug}"));
        let mut command = Command::new("valgrind");
        command.arg("--tool=callgrind").arg(format!("--callgrind-out-file={}", out.display()));
        let backend = if redis.is_some() { "redis" } else { "memory" };
        match case.app {
            App::Ours { rolling } => {
                command.arg(std::env::current_exe().expect("the bench's own binary"));
                command.args(["--serve", backend, &port.to_string()]).args(redis);
                if !rolling {
                    command.arg("--no-rolling");
                }
            }
            App::Peer(peer) => {
                command.arg(peers.expect("bench/peers is built"));
                command.args([peer.arg(), backend, &port.to_string()]).args(redis);
            }
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("valgrind runs (apt-get install -y valgrind)");
        // Under valgrind a launch takes seconds.
        let deadline = Instant::now() + Duration::from_secs(180);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{} never listened under valgrind", case.name);
            std::thread::sleep(Duration::from_millis(100));
        }
        Counted { child, port, out }
    }

    fn control(&self, flag: &str) {
        let status = Command::new("callgrind_control")
            .arg(flag)
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .status()
            .expect("callgrind_control runs");
        assert!(status.success(), "callgrind_control {flag} failed");
    }

    /// The instructions of the counted requests: what the dump after them holds.
    fn dumped_instructions(&self) -> u64 {
        let dump = PathBuf::from(format!("{}.1", self.out.display()));
        let text = std::fs::read_to_string(&dump).expect("callgrind wrote its dump");
        text.lines()
            .find_map(|line| line.strip_prefix("summary:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("a callgrind dump has a summary line")
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Instructions per request of `case`, over [`COUNTED`] requests after [`WARMUP`]. With
/// `keep`, the callgrind files stay there for `callgrind_annotate --inclusive=yes`.
pub fn count(
    case: &Case,
    peers: Option<&Path>,
    redis: Option<&str>,
    keep: Option<&Path>,
    client: &rocket::tokio::runtime::Runtime,
) -> f64 {
    let dir = keep.map_or_else(scratch_dir, Path::to_path_buf);
    let app = Counted::start(case, peers, redis, &dir);
    client.block_on(async {
        let mut user = crate::load::User::connect(app.port).await;
        assert!(user.get("/session/write").await, "{}: the priming request failed", case.name);
        for _ in 0..WARMUP {
            assert!(user.get(case.path).await, "{}: a warm-up request failed", case.name);
        }
        app.control("-z");
        for _ in 0..COUNTED {
            assert!(user.get(case.path).await, "{}: a counted request failed", case.name);
        }
        app.control("-d");
    });
    let instructions = app.dumped_instructions();
    drop(app);
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    instructions as f64 / COUNTED as f64
}

fn scratch_dir() -> PathBuf {
    let name = format!("rts-callgrind-{}-{}", std::process::id(), free_port());
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The table: instructions per request, and above the no-session route.
pub fn table(rows: &[(String, f64)]) -> String {
    let baseline = rows.first().map_or(0.0, |(_, n)| *n);
    let mut out = String::from(
        "| scenario | instructions per request | above the no-session route |\n|---|---:|---:|\n",
    );
    for (name, n) in rows {
        out.push_str(&format!("| {name} | {n:.0} | {:+.0} |\n", n - baseline));
    }
    out
}
