//! A certificate authority of the tests' own, made with the `openssl` program: servers present
//! a certificate it signed for 127.0.0.1, which no system trusts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::exit;

/// The authority's files in a scratch directory: `ca.crt` and its key, and `server.crt` and
/// its key for 127.0.0.1.
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
        let signed = Command::new("openssl")
            .current_dir(&ca.dir)
            .args(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key"])
            .args(["-CAcreateserial", "-days", "2", "-extfile", "san", "-out", "server.crt"])
            .output()
            .expect("openssl signs the server certificate");
        assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
        ca
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

    /// The `redis-server` (or Sentinel) settings that make it serve TLS on `port` with the
    /// server certificate, without asking clients for one: directive, then value.
    pub fn redis_settings(&self, port: u16) -> Vec<(&'static str, String)> {
        let file = |name: &str| self.dir.join(name).display().to_string();
        vec![
            ("tls-port", port.to_string()),
            ("tls-cert-file", file("server.crt")),
            ("tls-key-file", file("server.key")),
            ("tls-ca-cert-file", file("ca.crt")),
            ("tls-auth-clients", "no".to_owned()),
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
