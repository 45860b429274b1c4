//! Load benchmarks: `cargo run --release -p rocket_typed_session_bench -- [--quick]
//! [--backend memory|redis|all] [--save]`. `--save` writes BENCHMARKS.md and
//! docs/benchmarks.svg at the workspace root.

mod app;
mod counting;
mod load;
mod redis;
mod report;

use std::sync::Arc;
use std::time::Duration;

use rocket::figment::Figment;
use rocket_typed_session::store::{MemoryStore, RedisOptions, RedisStore, SessionStore};
use rocket_typed_session::SessionFairing;

use counting::{Counters, Counting};
use report::Row;

/// A fixed key for the private-cookie scenario: 32 bytes in hex. Only ever a benchmark's.
const SECRET_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Memory,
    Redis,
}

struct Scenario {
    name: &'static str,
    setup: Option<&'static str>,
    path: &'static str,
    /// `None`: no session store in play.
    backend: Option<Backend>,
}

const SCENARIOS: &[Scenario] = &[
    Scenario { name: "no session (baseline)", setup: None, path: "/baseline/read", backend: None },
    Scenario {
        name: "private cookie, read",
        setup: Some("/cookie/write"),
        path: "/cookie/read",
        backend: None,
    },
    Scenario {
        name: "private cookie, write",
        setup: Some("/cookie/write"),
        path: "/cookie/write",
        backend: None,
    },
    Scenario {
        name: "ours on memory, read",
        setup: Some("/session/write"),
        path: "/session/read",
        backend: Some(Backend::Memory),
    },
    Scenario {
        name: "ours on memory, write",
        setup: Some("/session/write"),
        path: "/session/write",
        backend: Some(Backend::Memory),
    },
    Scenario {
        name: "ours on memory, 100 x 1 KB, one field changed",
        setup: Some("/large/write"),
        path: "/large/write",
        backend: Some(Backend::Memory),
    },
    Scenario {
        name: "ours on Redis, read",
        setup: Some("/session/write"),
        path: "/session/read",
        backend: Some(Backend::Redis),
    },
    Scenario {
        name: "ours on Redis, write",
        setup: Some("/session/write"),
        path: "/session/write",
        backend: Some(Backend::Redis),
    },
];

struct Settings {
    quick: bool,
    backends: Vec<Backend>,
    save: bool,
}

fn settings() -> Settings {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backend = args
        .iter()
        .position(|a| a == "--backend")
        .and_then(|i| args.get(i + 1))
        .map_or("all", String::as_str);
    let backends = match backend {
        "memory" => vec![Backend::Memory],
        "redis" => vec![Backend::Redis],
        "all" => vec![Backend::Memory, Backend::Redis],
        other => panic!("--backend takes memory, redis or all, not {other}"),
    };
    Settings {
        quick: args.iter().any(|a| a == "--quick"),
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
    fn start(store: Arc<dyn SessionStore>) -> Server {
        let port = free_port();
        let figment = Figment::from(rocket::Config::release_default())
            .merge(("port", port))
            .merge(("address", "127.0.0.1"))
            .merge(("log_level", "off"))
            .merge(("secret_key", SECRET_KEY))
            // The load generator sends cookies over plain HTTP whatever their attributes.
            .merge(("session_cookie_secure", true))
            // The large-session scenario keeps 100 KB in one session.
            .merge(("session_max_size", 4 * app::LARGE_FIELDS * app::LARGE_FIELD_BYTES));
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
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

fn main() {
    let settings = settings();
    let (users, warmup, duration) = if settings.quick {
        (16, Duration::from_millis(500), Duration::from_secs(2))
    } else {
        (32, Duration::from_secs(2), Duration::from_secs(10))
    };
    let redis = settings.backends.contains(&Backend::Redis).then(redis::RedisServer::start);
    let client = rocket::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for scenario in SCENARIOS {
        if scenario.backend.is_some_and(|b| !settings.backends.contains(&b)) {
            continue;
        }
        let counters = Arc::new(Counters::default());
        let inner: Arc<dyn SessionStore> = match (scenario.backend, &redis) {
            (Some(Backend::Redis), Some(server)) => {
                Arc::new(RedisStore::open(&server.url(), RedisOptions::default()).unwrap())
            }
            _ => Arc::new(MemoryStore::default()),
        };
        let server = Server::start(Arc::new(Counting { inner, counters: counters.clone() }));
        let measured = client.block_on(async {
            // Prime and warm up, then count only the measured window.
            let run =
                load::run(server.port, users, scenario.setup, scenario.path, warmup, duration);
            let reset = async {
                rocket::tokio::time::sleep(warmup).await;
                counters.take();
                if let Some(server) = &redis {
                    server.reset_stats();
                }
            };
            let (measured, ()) = rocket::tokio::join!(run, reset);
            measured
        });
        drop(server);
        let (calls, bytes) = counters.take();
        let per_request = |n: u64| n as f64 / measured.requests.max(1) as f64;
        let ours = scenario.backend.is_some();
        let redis_commands = (scenario.backend == Some(Backend::Redis))
            .then(|| per_request(redis.as_ref().unwrap().traffic().0));
        let row = Row {
            scenario: scenario.name.to_owned(),
            rps: measured.rps(),
            p50_ms: measured.percentile(0.50),
            p99_ms: measured.percentile(0.99),
            errors: measured.errors,
            store_calls: ours.then(|| per_request(calls)),
            bytes_written: ours.then(|| per_request(bytes)),
            redis_commands,
        };
        eprintln!("{}: {:.0} req/s", row.scenario, row.rps);
        rows.push(row);
    }
    let table = report::table(&rows);
    println!("{table}\n{}", report::targets(&rows));
    if settings.save {
        let command = format!(
            "cargo run --release -p rocket_typed_session_bench -- {}",
            std::env::args().skip(1).collect::<Vec<_>>().join(" ")
        );
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        std::fs::write(
            format!("{root}/BENCHMARKS.md"),
            report::markdown(&rows, &command, &report::targets(&rows)),
        )
        .unwrap();
        std::fs::write(format!("{root}/docs/benchmarks.svg"), report::svg(&rows)).unwrap();
    }
}
