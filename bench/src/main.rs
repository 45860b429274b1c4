//! Load benchmarks: `cargo run --release -p rocket_typed_session_bench -- [--quick]
//! [--backend memory|redis|postgres|sqlite|mysql|sql|all] [--only TEXT] [--rounds N] [--save]`. `--save` writes
//! BENCHMARKS.md and docs/benchmarks.svg at the workspace root.
//!
//! `-- --instructions [--backend …] [--rounds N]` counts instructions per request under callgrind
//! instead (see `instructions.rs`); `-- --serve memory|redis|postgres|sqlite|mysql PORT [URL]
//! [--no-rolling]` is how that mode runs our app alone in a process.

mod app;
mod chart;
mod counting;
mod cpu;
// The tests' HTTP/1.1 client: one parser for both.
#[allow(dead_code)]
#[path = "../../tests/support/http.rs"]
mod http;
mod instructions;
mod load;
mod peers;
mod redis;
mod report;
mod stores;
mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rocket::figment::Figment;
use rocket_typed_session::store::{
    MemoryStore, MysqlStore, PostgresStore, RedisOptions, RedisStore, SessionStore, SqlOptions,
    SqliteStore,
};
use rocket_typed_session::testing::ObservedStore;
use rocket_typed_session::SessionFairing;

use counting::Counters;
use peers::{Peer, PeerApp};
use report::Row;
use stores::Stores;

/// A fixed key for the private-cookie scenario: 32 bytes in hex. Only ever a benchmark's.
const SECRET_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Memory,
    Redis,
    Postgres,
    Sqlite,
    Mysql,
}

impl Backend {
    const ALL: [Backend; 5] =
        [Backend::Memory, Backend::Redis, Backend::Postgres, Backend::Sqlite, Backend::Mysql];

    fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Redis => "Redis",
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
            Backend::Mysql => "MySQL",
        }
    }

    /// The peers that have a store for this backend: rocket-session-store has none in SQL,
    /// and neither has one for MySQL.
    fn peers(self) -> &'static [Peer] {
        match self {
            Backend::Memory | Backend::Redis => &[Peer::Flex, Peer::Store],
            Backend::Postgres | Backend::Sqlite => &[Peer::Flex],
            Backend::Mysql => &[],
        }
    }

    /// The name the peers' app and `--serve` take it by.
    fn arg(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Redis => "redis",
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
        }
    }
}

/// The baseline's route with a session cookie sent along and never read.
const COOKIE_ONLY: &str = "no session, a session cookie sent";
/// The large-session scenarios' name after the store's.
const LARGE: &str = "100 x 1 KB, one field changed";

/// Whose sessions a scenario measures.
#[derive(Clone, Copy, PartialEq)]
enum Subject {
    /// No session store in play (the baseline, private cookies).
    Nobody,
    Ours,
    Peer(Peer),
}

impl Subject {
    fn name(self) -> &'static str {
        match self {
            Subject::Nobody => "",
            Subject::Ours => "ours",
            Subject::Peer(Peer::Flex) => "rocket_flex_session 0.2.0",
            Subject::Peer(Peer::Store) => "rocket-session-store 0.2.1",
        }
    }
}

struct Scenario {
    name: String,
    /// `session_refresh_each_request` for our app (its default is on).
    rolling: bool,
    setup: Option<&'static str>,
    path: String,
    subject: Subject,
    backend: Backend,
}

/// The baseline and private cookies, then for each store ours and each peer reading and
/// writing the same payload, and ours with a large session.
fn scenarios() -> Vec<Scenario> {
    let plain = |name: &str, setup, path: &str| Scenario {
        name: name.to_owned(),
        rolling: true,
        setup,
        path: path.to_owned(),
        subject: Subject::Nobody,
        backend: Backend::Memory,
    };
    let mut list = vec![
        plain("no session (baseline)", None, "/baseline/read"),
        // The floor under every session scenario: the same route, the cookie sent along.
        plain(COOKIE_ONLY, Some("/session/write"), "/baseline/read"),
        plain("private cookie, read", Some("/cookie/write"), "/cookie/read"),
        plain("private cookie, write", Some("/cookie/write"), "/cookie/write"),
    ];
    for backend in Backend::ALL {
        let peers = backend.peers().iter().map(|peer| Subject::Peer(*peer));
        for subject in std::iter::once(Subject::Ours).chain(peers) {
            for op in ["read", "write"] {
                list.push(Scenario {
                    name: format!("{} on {}, {op}", subject.name(), backend.name()),
                    rolling: true,
                    setup: Some("/session/write"),
                    path: format!("/session/{op}"),
                    subject,
                    backend,
                });
            }
        }
        if matches!(backend, Backend::Redis | Backend::Postgres | Backend::Sqlite) {
            // Like for like with rocket_flex_session, which refreshes nothing on a read.
            for op in ["read", "write"] {
                list.push(Scenario {
                    name: format!("ours on {}, {op}, no rolling refresh", backend.name()),
                    rolling: false,
                    setup: Some("/session/write"),
                    path: format!("/session/{op}"),
                    subject: Subject::Ours,
                    backend,
                });
            }
        }
        if backend != Backend::Redis {
            // rocket_flex_session's large session too where it is the target to beat.
            let sql = matches!(backend, Backend::Postgres | Backend::Sqlite);
            let peers = backend.peers().iter().filter(|_| sql).map(|peer| Subject::Peer(*peer));
            for subject in std::iter::once(Subject::Ours).chain(peers) {
                list.push(Scenario {
                    name: format!("{} on {}, {LARGE}", subject.name(), backend.name()),
                    rolling: true,
                    setup: Some("/large/write"),
                    path: "/large/write".into(),
                    subject,
                    backend,
                });
            }
        }
    }
    list
}

struct Settings {
    /// `--only TEXT`: just the two baselines and the scenarios whose name contains TEXT.
    only: Option<String>,
    quick: bool,
    /// `--rounds N`: how many times the whole list runs; each scenario reports its median
    /// round. Three by default, one with `--quick`.
    rounds: usize,
    /// `--rounds N` with `--instructions`: how many processes count each case; each reports
    /// the one with the median count. Three by default: a process's count moves by up to 4%.
    processes: usize,
    backends: Vec<Backend>,
    save: bool,
}

fn settings() -> Settings {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let backends = match value("--backend").map_or("all", String::as_str) {
        "memory" => vec![Backend::Memory],
        "redis" => vec![Backend::Redis],
        "postgres" => vec![Backend::Postgres],
        "sqlite" => vec![Backend::Sqlite],
        "mysql" => vec![Backend::Mysql],
        "sql" => vec![Backend::Postgres, Backend::Sqlite, Backend::Mysql],
        "all" => Backend::ALL.to_vec(),
        other => panic!(
            "--backend takes memory, redis, postgres, sqlite, mysql, sql or all, not {other}"
        ),
    };
    let quick = args.iter().any(|a| a == "--quick");
    let given = value("--rounds")
        .map(|n| n.parse().ok().filter(|n| *n > 0).expect("--rounds takes a positive number"));
    Settings {
        only: value("--only").cloned(),
        quick,
        rounds: given.unwrap_or(if quick { 1 } else { 3 }),
        processes: given.unwrap_or(3),
        backends,
        save: args.iter().any(|a| a == "--save"),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

/// Serves the app on its own thread and runtime until the returned handle is dropped.
struct Server {
    port: u16,
    shutdown: rocket::Shutdown,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(store: Arc<dyn SessionStore>, rolling: bool) -> Server {
        Server::start_on(free_port(), store, rolling)
    }

    fn start_on(port: u16, store: Arc<dyn SessionStore>, rolling: bool) -> Server {
        let figment = Figment::from(rocket::Config::release_default())
            .merge(("port", port))
            .merge(("address", "127.0.0.1"))
            .merge(("log_level", "off"))
            .merge(("secret_key", SECRET_KEY))
            // The load generator sends cookies over plain HTTP whatever their attributes.
            .merge(("session_cookie_secure", true))
            // The large-session scenario keeps 100 KB in one session.
            .merge(("session_max_size", 4 * app::LARGE_FIELDS * app::LARGE_FIELD_BYTES))
            .merge(("session_refresh_each_request", rolling));
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name(cpu::APP_THREAD.into()).spawn(move || {
            let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name(cpu::APP_THREAD)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let fairing = SessionFairing::with_store(store);
                let rocket = app::rocket(figment, fairing).ignite().await.expect("the app ignites");
                sender.send(rocket.shutdown()).unwrap();
                let _ = rocket.launch().await;
            });
        });
        let thread = thread.expect("the app's thread starts");
        let shutdown = receiver.recv().unwrap();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { port, shutdown, thread: Some(thread) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What every scenario of a run shares.
struct Run {
    users: usize,
    warmup: Duration,
    duration: Duration,
    stores: Stores,
    peers: Option<PathBuf>,
    client: rocket::tokio::runtime::Runtime,
}

/// The app a scenario drives, ours in this process or a peer's in a child process; dropping
/// it stops it.
enum AppUnderTest {
    Ours(Server),
    Peer(PeerApp),
}

impl AppUnderTest {
    fn port(&self) -> u16 {
        match self {
            AppUnderTest::Ours(server) => server.port,
            AppUnderTest::Peer(peer) => peer.port,
        }
    }

    /// The CPU time the app has used so far.
    fn cpu(&self) -> Duration {
        match self {
            AppUnderTest::Ours(_) => cpu::app_threads(),
            AppUnderTest::Peer(peer) => cpu::process(peer.pid()),
        }
    }
}

impl Run {
    fn start(&self, scenario: &Scenario, counters: &Arc<Counters>) -> AppUnderTest {
        let url = self.stores.url(scenario.backend);
        if let Subject::Peer(peer) = scenario.subject {
            let binary = self.peers.as_ref().expect("bench/peers is built");
            let app = PeerApp::start(binary, peer, free_port(), scenario.backend, url.as_deref());
            return AppUnderTest::Peer(app);
        }
        // The SQL stores' lazy connections belong to a runtime.
        let inner = {
            let _runtime = self.client.enter();
            store_for(scenario.backend, url.as_deref())
        };
        let store = Arc::new(ObservedStore::new(inner, counters.clone()));
        AppUnderTest::Ours(Server::start(store, scenario.rolling))
    }

    fn measure(&self, scenario: &Scenario) -> Row {
        let counters = Arc::new(Counters::default());
        let app = self.start(scenario, &counters);
        let port = app.port();
        let redis = self.stores.redis.as_ref().filter(|_| scenario.backend == Backend::Redis);
        // Sampled at both ends of the window, so that connections opened during the priming
        // count and none has closed yet.
        let server_cpu = || cpu::processes(&self.stores.server_processes(scenario.backend));
        let (measured, app_cpu, server_cpu) = self.client.block_on(async {
            // Prime and warm up, then count only the measured window.
            let run = load::run(
                port,
                self.users,
                scenario.setup,
                &scenario.path,
                self.warmup,
                self.duration,
            );
            let reset = async {
                rocket::tokio::time::sleep(self.warmup).await;
                counters.take();
                if let Some(server) = redis {
                    server.reset_stats();
                }
                (app.cpu(), server_cpu())
            };
            let (measured, (app_before, server_before)) = rocket::tokio::join!(run, reset);
            (measured, app.cpu() - app_before, server_cpu().saturating_sub(server_before))
        });
        drop(app);
        let (calls, bytes) = counters.take();
        let per_request = |n: u64| n as f64 / measured.requests.max(1) as f64;
        let cpu_us = |cpu: Duration| cpu.as_secs_f64() * 1e6 / measured.requests.max(1) as f64;
        let ours = scenario.subject == Subject::Ours;
        let networked = !self.stores.server_processes(scenario.backend).is_empty();
        Row {
            scenario: scenario.name.clone(),
            rps: measured.rps(),
            p50_ms: measured.percentile(0.50),
            p99_ms: measured.percentile(0.99),
            errors: measured.errors,
            app_cpu_us: cpu_us(app_cpu),
            server_cpu_us: (networked && scenario.subject != Subject::Nobody)
                .then(|| cpu_us(server_cpu)),
            store_calls: ours.then(|| per_request(calls)),
            bytes_written: ours.then(|| per_request(bytes)),
            redis_commands: redis.map(|server| per_request(server.traffic().0)),
            vs_baseline: 1.0,
            cpu_vs_baseline: 1.0,
        }
    }
}

/// Our store on `backend` at `url`, as a user would open it.
fn store_for(backend: Backend, url: Option<&str>) -> Arc<dyn SessionStore> {
    let url = || url.expect("a URL for the store");
    match backend {
        Backend::Memory => Arc::new(MemoryStore::default()),
        Backend::Redis => Arc::new(RedisStore::open(url(), RedisOptions::default()).unwrap()),
        Backend::Postgres => Arc::new(PostgresStore::open(url(), SqlOptions::default()).unwrap()),
        Backend::Sqlite => Arc::new(SqliteStore::open(url(), SqlOptions::default()).unwrap()),
        Backend::Mysql => Arc::new(MysqlStore::open(url(), SqlOptions::default()).unwrap()),
    }
}

/// `--serve memory|redis|postgres|sqlite|mysql PORT [URL] [--no-rolling]`: our app alone, on the
/// plain store, until the process is killed.
fn serve(args: &[String]) -> ! {
    let [backend, port, rest @ ..] = args else {
        panic!("usage: --serve memory|redis|postgres|sqlite|mysql PORT [URL] [--no-rolling]");
    };
    let port = port.parse().expect("a port");
    let backend =
        Backend::ALL.into_iter().find(|known| known.arg() == backend).unwrap_or_else(|| {
            panic!("--serve takes memory, redis, postgres, sqlite or mysql, not {backend}")
        });
    let url = rest.first().filter(|arg| !arg.starts_with("--")).map(String::as_str);
    // sqlx's SQLite pool spawns its upkeep where it is opened: a runtime that lives as long.
    // Only there, so that the other rows count no idle worker of it.
    let upkeep = (backend == Backend::Sqlite).then(|| {
        rocket::tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    });
    let store = {
        let _context = upkeep.as_ref().map(|runtime| runtime.enter());
        store_for(backend, url)
    };
    let rolling = !rest.iter().any(|a| a == "--no-rolling");
    let _server = Server::start_on(port, store, rolling);
    loop {
        std::thread::park();
    }
}

/// `--instructions [--only TEXT] [--rounds N] [--keep DIR]`: the instruction counts of every
/// case (or of the baseline and the cases whose name holds TEXT), as a table, each case's
/// median over `--rounds` processes (three by default).
fn count_instructions(settings: &Settings, keep: Option<PathBuf>) {
    let backends = &settings.backends;
    let cases: Vec<_> = instructions::cases(backends)
        .into_iter()
        .enumerate()
        .filter(|(i, case)| {
            *i == 0 || settings.only.as_ref().is_none_or(|t| case.name.contains(t.as_str()))
        })
        .map(|(_, case)| case)
        .collect();
    let peers = peers::build();
    let stores = Stores::start(backends);
    let client =
        rocket::tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut rows = Vec::new();
    for case in &cases {
        let url = stores.url(case.backend);
        let runs = (0..settings.processes).map(|_| {
            instructions::count(case, Some(&peers), url.as_deref(), keep.as_deref(), &client)
        });
        let counts = instructions::median(runs.collect());
        eprintln!("{}: {:.0} instructions per request", case.name, counts.per_request);
        rows.push((case.name.clone(), counts));
    }
    let report = instructions::report(&rows);
    println!("{report}");
    if settings.save {
        let markdown = instructions::markdown(&report, &this_command(), settings.processes);
        save("docs/instructions.md", &markdown);
        let values: Vec<(String, f64)> =
            rows.iter().map(|(name, counts)| (name.clone(), counts.per_request)).collect();
        let title = "instructions per request (lower is better)";
        save("docs/instructions.svg", &chart::grouped(title, &values));
    }
}

/// The command line this run was started with, as a reader would repeat it.
fn this_command() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo run --release -p rocket_typed_session_bench -- {}", args.join(" "))
}

/// Writes `contents` to `path` under the workspace root.
fn save(path: &str, contents: &str) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    std::fs::write(format!("{root}/{path}"), contents).unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--serve") {
        serve(&args[at + 1..]);
    }
    let settings = settings();
    if args.iter().any(|a| a == "--instructions") {
        let keep = args.iter().position(|a| a == "--keep").map(|i| PathBuf::from(&args[i + 1]));
        count_instructions(&settings, keep);
        return;
    }
    let scenarios: Vec<Scenario> = scenarios()
        .into_iter()
        .filter(|s| s.subject == Subject::Nobody || settings.backends.contains(&s.backend))
        .filter(|s| {
            let wanted = |text: &String| s.name.contains(text.as_str());
            s.path.starts_with("/baseline") || settings.only.as_ref().is_none_or(wanted)
        })
        .collect();
    let (users, warmup, duration) = if settings.quick {
        (16, Duration::from_millis(500), Duration::from_secs(2))
    } else {
        (32, Duration::from_secs(2), Duration::from_secs(6))
    };
    let run = Run {
        users,
        warmup,
        duration,
        stores: Stores::start(&settings.backends),
        peers: scenarios.iter().any(|s| matches!(s.subject, Subject::Peer(_))).then(peers::build),
        client: rocket::tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap(),
    };
    // Rounds of the whole list, rather than one long measurement per scenario: a stretch in
    // which the shared machine is busy then slows one round of every scenario, not a few
    // scenarios of the only round.
    let mut rounds: Vec<Vec<Row>> = scenarios.iter().map(|_| Vec::new()).collect();
    for round in 1..=settings.rounds {
        for (scenario, measured) in scenarios.iter().zip(&mut rounds) {
            let row = run.measure(scenario);
            eprintln!("round {round}/{}: {}: {:.0} req/s", settings.rounds, row.scenario, row.rps);
            measured.push(row);
        }
    }
    let rows = report::summarize(&rounds);
    let targets = report::targets(&rows, &rounds);
    let table = report::table(&rows);
    println!("{table}\n{targets}");
    if settings.save {
        save("BENCHMARKS.md", &report::markdown(&rows, settings.rounds, &this_command(), &targets));
        save("docs/benchmarks.svg", &report::svg(&rows));
    }
}
