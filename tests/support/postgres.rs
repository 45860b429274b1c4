//! A private PostgreSQL cluster for tests: initdb in a temporary directory, `postgres` on a
//! free loopback port, never the machine's own server. initdb and postgres refuse to run as
//! root, so as root they run as the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::exit;
use super::process::{is_root, run};
use super::redis::free_port;
use super::tls::TestCa;

pub struct PostgresServer {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

impl PostgresServer {
    /// A fresh cluster, started and answering.
    pub fn start() -> PostgresServer {
        PostgresServer::start_with("")
    }

    /// A fresh cluster, started with extra `postgres` options (see [`Self::launch_with`]).
    pub fn start_with(extra: &str) -> PostgresServer {
        let server = PostgresServer::initialized();
        server.launch_with(extra);
        server
    }

    /// A fresh cluster that takes TCP connections over TLS alone, with the server certificate
    /// `ca` signed; with `ask_clients`, only from a client presenting a certificate `ca`
    /// signed.
    pub fn start_tls(ca: &TestCa, ask_clients: bool) -> PostgresServer {
        let server = PostgresServer::initialized();
        let files = ca.server_files_in(&server.dir, "postgres");
        let client = if ask_clients { " clientcert=verify-ca" } else { "" };
        let rules = format!("local all all trust\nhostssl all all 127.0.0.1/32 trust{client}\n");
        std::fs::write(server.data().join("pg_hba.conf"), rules).unwrap();
        server.launch_with(&format!(
            "-c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c ssl_ca_file={}",
            files.certificate, files.key, files.authority,
        ));
        server
    }

    /// A fresh cluster's files, made by initdb; not started.
    fn initialized() -> PostgresServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("rts-postgres-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        exit::remove_at_exit(&dir);
        let server = PostgresServer { port, dir, bin: bin_dir() };
        if is_root() {
            run(Command::new("chown").arg("postgres:postgres").arg(&server.dir));
        }
        run(server
            .as_owner("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "-D"])
            .arg(server.data()));
        server
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Starts the server on its port and waits until it accepts queries. `pg_ctl` detaches
    /// it, so no parent (as root, `runuser`) stops along with it when it is paused.
    pub fn launch(&self) {
        self.launch_with("");
    }

    /// Starts the server with extra `postgres` options, such as `-c name=value`.
    pub fn launch_with(&self, extra: &str) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c fsync=off -k {} {extra}",
            self.port,
            self.dir.display()
        );
        run(self
            .as_owner("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-o", &options, "-w", "start"]));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.answers() {
            assert!(Instant::now() < deadline, "the private PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(pid) = self.postmaster() {
            exit::kill_at_exit(pid);
        }
    }

    fn answers(&self) -> bool {
        let port = self.port.to_string();
        Command::new(self.bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port])
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Runs `sql` as the superuser, each statement on its own (so that statements that
    /// refuse a transaction, such as `CREATE TABLESPACE`, can be among them).
    pub fn admin(&self, statements: &[&str]) {
        let mut psql = Command::new(self.bin.join("psql"));
        psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres"])
            .arg(format!("-p{}", self.port))
            .stdout(Stdio::null());
        for sql in statements {
            psql.args(["-c", sql]);
        }
        run(&mut psql);
    }

    /// Stops the server at once, as a crash would.
    pub fn stop(&self) {
        let stopped = self
            .as_owner("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        assert!(stopped.is_ok_and(|s| s.success()), "pg_ctl stop");
    }

    /// Freezes every process of the cluster (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// The cluster's processes: the postmaster and its children; none when it is stopped.
    pub fn processes(&self) -> Vec<u32> {
        let postmaster = self.postmaster();
        postmaster.map_or_else(Vec::new, |p| std::iter::once(p).chain(children_of(p)).collect())
    }

    fn signal(&self, signal: i32) {
        let processes = self.processes();
        assert!(!processes.is_empty(), "the server runs");
        for pid in processes {
            // SAFETY: signalling a process of this test's own cluster.
            unsafe {
                libc::kill(pid as libc::pid_t, signal);
            }
        }
    }

    fn postmaster(&self) -> Option<u32> {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid")).ok()?;
        pid_file.lines().next()?.trim().parse().ok()
    }

    fn as_owner(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if self.postmaster().is_some() {
            let _ = self
                .as_owner("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One cluster for the tests that only need a database, started on first use.
pub fn shared_postgres() -> &'static PostgresServer {
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    SERVER.get_or_init(PostgresServer::start)
}

/// The newest installed PostgreSQL's programs.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort_by_key(|bin| version_of(bin));
    found.pop().expect("PostgreSQL is installed (scripts/test installs it)")
}

fn version_of(bin: &Path) -> u32 {
    let version = bin.parent().and_then(Path::file_name).and_then(|name| name.to_str());
    version.and_then(|name| name.parse().ok()).unwrap_or(0)
}

/// Every process whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The parent is the second field after the parenthesised command name.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            after.split_whitespace().nth(1).and_then(|ppid| ppid.parse().ok()) == Some(parent)
        })
        .collect()
}
