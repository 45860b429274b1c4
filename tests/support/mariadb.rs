//! A private MariaDB server for tests: a data directory made by `mariadb-install-db` in a
//! temporary directory, `mariadbd` on a free loopback port, never the machine's own server.
//! The app connects as `app`, who owns the database `app` and nothing more, so that a
//! read-only server refuses it as it would refuse a real application.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::exit;
use super::process::{is_root, run};
use super::redis::free_port;
use super::tls::TestCa;

pub struct MariadbServer {
    pub port: u16,
    dir: PathBuf,
    server: Mutex<Option<Child>>,
    /// `mariadbd` options beyond the ones every server gets, kept for a restart.
    extra: Vec<String>,
}

impl MariadbServer {
    /// A fresh server, started and answering, with the database and user `app`.
    pub fn start() -> MariadbServer {
        MariadbServer::start_with(|_| Vec::new())
    }

    /// A fresh server that takes TLS with the server certificate `ca` signed, from `app`
    /// alone over TLS and, with `ask_clients`, only with a certificate `ca` signed.
    pub fn start_tls(ca: &TestCa, ask_clients: bool) -> MariadbServer {
        let server = MariadbServer::start_with(|dir| {
            let files = ca.server_files_in(dir, "mysql");
            vec![
                format!("--ssl-cert={}", files.certificate),
                format!("--ssl-key={}", files.key),
                format!("--ssl-ca={}", files.authority),
            ]
        });
        let require = if ask_clients { "X509" } else { "SSL" };
        server.admin(&format!("ALTER USER app@'127.0.0.1' REQUIRE {require};"));
        server
    }

    /// A fresh server whose `mariadbd` also gets the options `extra` makes in its directory.
    fn start_with(extra: impl FnOnce(&Path) -> Vec<String>) -> MariadbServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("rts-mariadb-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        exit::remove_at_exit(&dir);
        let extra = extra(&dir);
        let server = MariadbServer { port, dir, server: Mutex::new(None), extra };
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", server.data().display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(server.tmpdir());
        if is_root() {
            install.arg("--user=mysql");
        }
        run(&mut install);
        server.launch();
        server.admin(
            "CREATE DATABASE app; CREATE USER app@'127.0.0.1'; \
             GRANT ALL ON app.* TO app@'127.0.0.1';",
        );
        server
    }

    pub fn url(&self) -> String {
        format!("mysql://app@127.0.0.1:{}/app", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Temporary tables in the server's own directory: in the shared `/tmp`, a server that
    /// starts removes the temporary files of another one bootstrapping beside it, which then
    /// fails (`Unknown table 'mysql.tmp_proxies_priv'`).
    fn tmpdir(&self) -> String {
        format!("--tmpdir={}", self.data().display())
    }

    /// Starts the server on its port and waits until it answers.
    pub fn launch(&self) {
        // Debian puts the server in /usr/sbin, which a user's PATH may lack.
        let mut command = Command::new("/usr/sbin/mariadbd");
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.data().display()))
            .arg(format!("--port={}", self.port))
            // In the data directory, which the server's user owns.
            .arg(format!("--socket={}", self.data().join("socket").display()))
            .arg(format!("--pid-file={}", self.data().join("pid").display()))
            .args(["--bind-address=127.0.0.1", "--skip-log-bin"])
            .arg(self.tmpdir())
            // A commit reaches the OS at once, so it survives the kill of a crash test.
            .arg("--innodb-flush-log-at-trx-commit=2")
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            command.arg("--user=mysql");
        }
        let child = command.spawn().expect("mariadbd is installed (scripts/test installs it)");
        exit::kill_at_exit(child.id());
        *self.server.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.answers() {
            assert!(Instant::now() < deadline, "the private MariaDB did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers(&self) -> bool {
        self.client("SELECT 1").status().is_ok_and(|status| status.success())
    }

    /// Runs `sql` as root.
    pub fn admin(&self, sql: &str) {
        run(&mut self.client(sql));
    }

    fn client(&self, sql: &str) -> Command {
        let mut command = Command::new("mariadb");
        command
            .args(["--no-defaults", "-h", "127.0.0.1", "-u", "root", "-e", sql])
            .arg(format!("-P{}", self.port))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// The server's process, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.lock().unwrap().as_ref().map(Child::id)
    }

    /// Kills the server at once, as a crash would.
    pub fn stop(&self) {
        if let Some(mut child) = self.server.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
            exit::forget(child.id());
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers. Returns once
    /// every thread of the server has stopped: `kill` returns before they do, and a request
    /// sent in between could still be answered.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
        let pid = self.server.lock().unwrap().as_ref().expect("the server runs").id();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !every_thread_stopped(pid) {
            assert!(Instant::now() < deadline, "the private MariaDB did not stop");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: i32) {
        let pid = self.server.lock().unwrap().as_ref().expect("the server runs").id();
        // SAFETY: signalling this test's own server process.
        unsafe {
            libc::kill(pid as libc::pid_t, signal);
        }
    }
}

/// Whether every thread of the process `pid` is stopped (state `T` in /proc).
fn every_thread_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    tasks.flatten().all(|task| {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // The state is the first field after the parenthesised name.
        stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next()) == Some("T")
    })
}

impl Drop for MariadbServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One server for the tests that only need a database, started on first use.
pub fn shared_mariadb() -> &'static MariadbServer {
    static SERVER: OnceLock<MariadbServer> = OnceLock::new();
    SERVER.get_or_init(MariadbServer::start)
}
