//! A certificate authority of the tests' own, made with the `openssl` program: servers present
//! a certificate it signed for 127.0.0.1, which no system trusts, and clients one it signed
//! for them.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::exit;
use super::process::{is_root, run};

/// The authority's files in a scratch directory: `ca.crt` and its key, `server.crt` and its
/// key for 127.0.0.1, and `client.crt` and its key.
pub struct TestCa {
    dir: PathBuf,
}

impl TestCa {
    /// A new authority and server certificate, removed when the test binary exits.
    pub fn create() -> TestCa {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rts-tls-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        exit::remove_at_exit(&dir);
        let ca = TestCa { dir };
        ca.openssl(&["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=rts test ca"], "ca");
        ca.openssl(&["req", "-nodes", "-subj", "/CN=127.0.0.1"], "server");
        std::fs::write(ca.dir.join("san"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        ca.sign("server", &["-extfile", "san"]);
        ca.openssl(&["req", "-nodes", "-subj", "/CN=rts test client"], "client");
        // An extension makes it an X.509 v3 certificate: rustls takes no older version.
        std::fs::write(ca.dir.join("client-usage"), "extendedKeyUsage=clientAuth\n").unwrap();
        ca.sign("client", &["-extfile", "client-usage"]);
        ca
    }

    /// Signs the request `{name}.csr` into `{name}.crt`, with `extra` arguments.
    fn sign(&self, name: &str, extra: &[&str]) {
        let signed = Command::new("openssl")
            .current_dir(&self.dir)
            .args(["x509", "-req", "-in", &format!("{name}.csr"), "-CA", "ca.crt"])
            .args(["-CAkey", "ca.key", "-CAcreateserial", "-days", "2"])
            .args(extra)
            .args(["-out", &format!("{name}.crt")])
            .output()
            .expect("openssl signs a certificate");
        assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
    }

    /// The authority whose files another process made in `dir`.
    pub fn at(dir: PathBuf) -> TestCa {
        TestCa { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The authority's certificate, PEM.
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The server certificate, its key and the authority's certificate, copied into `dir` for
    /// a database server that runs as `owner` (when the tests run as root) and refuses a key
    /// others can read.
    pub fn server_files_in(&self, dir: &Path, owner: &str) -> ServerFiles {
        let copy = |name: &str, mode: u32| {
            let copy = dir.join(name);
            std::fs::copy(self.dir.join(name), &copy).expect("a copy of the certificate");
            std::fs::set_permissions(&copy, Permissions::from_mode(mode)).unwrap();
            if is_root() {
                run(Command::new("chown").arg(format!("{owner}:{owner}")).arg(&copy));
            }
            copy.display().to_string()
        };
        ServerFiles {
            certificate: copy("server.crt", 0o644),
            key: copy("server.key", 0o600),
            authority: copy("ca.crt", 0o644),
        }
    }

    /// The settings that have the store trust the authority (`session_redis_tls_ca_file`)
    /// and, with `client`, present the client certificate: key, then value.
    pub fn store_settings(&self, client: bool) -> Vec<(&'static str, String)> {
        let file = |name: &str| self.dir.join(name).display().to_string();
        let mut settings = vec![("session_redis_tls_ca_file", file("ca.crt"))];
        if client {
            settings.push(("session_redis_tls_cert_file", file("client.crt")));
            settings.push(("session_redis_tls_key_file", file("client.key")));
        }
        settings
    }

    /// The `redis-server` (or Sentinel) settings that make it serve TLS on `port` with the
    /// server certificate, asking each client for a certificate the authority signed when
    /// `ask_clients` is set: directive, then value.
    pub fn redis_settings(&self, port: u16, ask_clients: bool) -> Vec<(&'static str, String)> {
        let file = |name: &str| self.dir.join(name).display().to_string();
        let ask = if ask_clients { "yes" } else { "no" };
        vec![
            ("tls-port", port.to_string()),
            ("tls-cert-file", file("server.crt")),
            ("tls-key-file", file("server.key")),
            ("tls-ca-cert-file", file("ca.crt")),
            ("tls-auth-clients", ask.to_owned()),
        ]
    }

    /// A P-256 key `{name}.key` and, with `-x509`, a self-signed `{name}.crt`, else a
    /// request `{name}.csr`.
    fn openssl(&self, arguments: &[&str], name: &str) {
        let out = if arguments.contains(&"-x509") { "crt" } else { "csr" };
        let made = Command::new("openssl")
            .current_dir(&self.dir)
            .args(arguments)
            .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
            .args(["-keyout", &format!("{name}.key"), "-out", &format!("{name}.{out}")])
            .output()
            .unwrap_or_else(|error| {
                panic!("cannot run openssl ({error}); install it or run `scripts/test`")
            });
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    }
}

/// Where [`TestCa::server_files_in`] put a server's files.
pub struct ServerFiles {
    pub certificate: String,
    pub key: String,
    pub authority: String,
}
