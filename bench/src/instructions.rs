//! Instructions per request, counted by callgrind rather than timed: each app runs alone in
//! a process under `valgrind --tool=callgrind`; one keep-alive connection primes and warms
//! it, `callgrind_control` zeroes the counters, N more requests go out, and a dump gives
//! their instructions. Counts repeat to within a fraction of a percent from run to run,
//! where req/s on this shared machine swing by a third.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::peers::Peer;
use crate::{free_port, Backend, Subject};

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
        let mut apps = vec![
            ("ours", App::Ours { rolling: true }),
            ("ours, no rolling refresh", App::Ours { rolling: false }),
        ];
        apps.extend(
            backend.peers().iter().map(|&peer| (Subject::Peer(peer).name(), App::Peer(peer))),
        );
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
    fn start(case: &Case, peers: Option<&Path>, url: Option<&str>, dir: &Path) -> Counted {
        let port = free_port();
        let slug: String = case.name.chars().filter(char::is_ascii_alphanumeric).collect();
        let out = dir.join(format!("callgrind.{slug}"));
        let mut command = Command::new("valgrind");
        command.arg("--tool=callgrind").arg(format!("--callgrind-out-file={}", out.display()));
        let backend = case.backend.arg();
        match case.app {
            App::Ours { rolling } => {
                command.arg(std::env::current_exe().expect("the bench's own binary"));
                command.args(["--serve", backend, &port.to_string()]).args(url);
                if !rolling {
                    command.arg("--no-rolling");
                }
            }
            App::Peer(peer) => {
                command.arg(peers.expect("bench/peers is built"));
                command.args([peer.arg(), backend, &port.to_string()]).args(url);
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

    /// The dump of the counted requests.
    fn dump(&self) -> PathBuf {
        PathBuf::from(format!("{}.1", self.out.display()))
    }

    /// The instructions of the counted requests: what the dump after them holds.
    fn dumped_instructions(&self) -> u64 {
        let text = std::fs::read_to_string(self.dump()).expect("callgrind wrote its dump");
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

/// What one case counted: instructions per request, and for our app where they went.
pub struct Counts {
    pub per_request: f64,
    pub stages: Vec<(&'static str, u64)>,
}

/// The functions whose inclusive costs split a request of our app into stages, in the order
/// `stages` takes them: the first line of `callgrind_annotate`'s list naming each counts. A
/// store's call is matched whatever the store, in two parts: the method, which builds the
/// future (a Redis store writes its command there), and the future, polled apart from it; or
/// in one, a load answered at once (`load_now`).
const STAGE_FUNCTIONS: [&str; 14] = [
    "guard::Session<T> as rocket::request::from_request::FromRequest>::from_request::{{closure}}",
    "rocket_typed_session::id::KeyedId::of ",
    " as rocket_typed_session::store::SessionStore>::load_now [",
    " as rocket_typed_session::store::SessionStore>::load [",
    " as rocket_typed_session::store::SessionStore>::load::{{closure}} [",
    "state::RequestState::decode ",
    "state::RequestState::commit",
    "SessionFairing as rocket::fairing::Fairing>::on_response::{{closure}}",
    "state::RequestState::plan ",
    " as rocket_typed_session::store::SessionStore>::update [",
    " as rocket_typed_session::store::SessionStore>::update::{{closure}} [",
    " as rocket_typed_session::store::SessionStore>::create [",
    " as rocket_typed_session::store::SessionStore>::create::{{closure}} [",
    "rocket_typed_session::cookie::set ",
];

/// Splits a dump of our app into the stages of a request, per request.
fn stages(dump: &Path) -> Vec<(&'static str, u64)> {
    let output = Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--threshold=100"])
        .arg(dump)
        .output()
        .expect("callgrind_annotate runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let cost = |pattern: &str| -> u64 {
        let line = text.lines().find(|line| line.contains(pattern));
        let figure = line.and_then(|line| line.split_whitespace().next()).unwrap_or("0");
        figure.replace(',', "").parse::<u64>().unwrap_or(0) / COUNTED as u64
    };
    let [guard, digest, answered, load, loading, decode, commit, response, plan, update, updating, create, creating, cookie] =
        STAGE_FUNCTIONS.map(cost);
    let load = answered + load + loading;
    let save = update + updating + create + creating;
    vec![
        ("guard: cookie read, id parse, request state", guard - digest - load - decode),
        ("guard: id digest and storage key (BLAKE3; SHA-256 before)", digest),
        ("guard: store load", load),
        ("guard: decode", decode),
        ("handler: encode into the record", commit),
        ("response: plan (diff, size, cookie rule)", plan),
        ("response: store save", save),
        ("response: Set-Cookie", cookie),
        ("response: the rest (cookie value, headers, Vary)", response - plan - save - cookie),
    ]
}

/// Instructions per request of `case`, its store at `url`, over [`COUNTED`] requests after
/// [`WARMUP`]. With `keep`, the callgrind files stay there for `callgrind_annotate
/// --inclusive=yes`.
pub fn count(
    case: &Case,
    peers: Option<&Path>,
    url: Option<&str>,
    keep: Option<&Path>,
    client: &rocket::tokio::runtime::Runtime,
) -> Counts {
    let dir = keep.map_or_else(scratch_dir, Path::to_path_buf);
    // Without it, callgrind cannot write its file and the app never listens, which is all
    // the bench could tell.
    std::fs::create_dir_all(&dir).expect("the directory for the callgrind files");
    let app = Counted::start(case, peers, url, &dir);
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
    let stages = match case.app {
        App::Ours { .. } if case.path.starts_with("/session") => stages(&app.dump()),
        _ => Vec::new(),
    };
    drop(app);
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Counts { per_request: instructions as f64 / COUNTED as f64, stages }
}

/// Of counts of one case in several processes, the one with the median count: a process's
/// count moves with its hash seeds and malloc's state, a peer's by up to 4%.
pub fn median(mut runs: Vec<Counts>) -> Counts {
    runs.sort_by(|a, b| a.per_request.total_cmp(&b.per_request));
    runs.swap_remove(runs.len() / 2)
}

fn scratch_dir() -> PathBuf {
    let name = format!("rts-callgrind-{}-{}", std::process::id(), free_port());
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The table: instructions per request, and above the no-session route; then, for each of
/// our cases, where its instructions went.
pub fn report(rows: &[(String, Counts)]) -> String {
    let baseline = rows.first().map_or(0.0, |(_, counts)| counts.per_request);
    let mut out = String::from(
        "| scenario | instructions per request | above the no-session route |\n|---|---:|---:|\n",
    );
    for (name, counts) in rows {
        let n = counts.per_request;
        out.push_str(&format!("| {name} | {n:.0} | {:+.0} |\n", n - baseline));
    }
    let split: Vec<&(String, Counts)> = rows.iter().filter(|(_, c)| !c.stages.is_empty()).collect();
    if let Some((_, first)) = split.first() {
        out.push_str("\nWhere ours goes (callgrind's inclusive costs, per request):\n\n| stage |");
        for (name, _) in &split {
            out.push_str(&format!(" {name} |"));
        }
        out.push_str(&format!("\n|---|{}\n", "---:|".repeat(split.len())));
        for (i, (stage, _)) in first.stages.iter().enumerate() {
            out.push_str(&format!("| {stage} |"));
            for (_, counts) in &split {
                out.push_str(&format!(" {} |", counts.stages[i].1));
            }
            out.push('\n');
        }
    }
    out
}

/// docs/instructions.md: the report, with how it was made.
pub fn markdown(report: &str, command: &str, processes: usize) -> String {
    let each = match processes {
        1 => "Each count is one process's".to_owned(),
        n => format!("Each count is the median of {n} processes'"),
    };
    format!(
        "# Instructions per request\n\nCounted by callgrind with\n\n```sh\n{command}\n```\n\n\
         Each app runs alone in a process under `valgrind --tool=callgrind` (release build, one \
         runtime worker). One keep-alive connection primes it with `/session/write`, sends \
         {WARMUP} warm-up requests of the scenario's route, then `callgrind_control` zeroes the \
         counters, {COUNTED} more requests go out, and a dump gives their instructions. Every \
         app serves the same ~100-byte payload; the baseline is our app's route without a \
         session. {each}: one process's count moves with its hash seeds and malloc's state, \
         by up to 2% (the baseline counted 68,242 to 69,669 in six runs of one day, a peer's \
         memory read 72,583 to 75,500 in three), where req/s here swing by a third; compare \
         rows of one run, and prefer the median of several processes (`--rounds N`).\n\n\
         ![instructions per request by scenario](instructions.svg)\n\n{report}"
    )
}
