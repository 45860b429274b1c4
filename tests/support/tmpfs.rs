//! A small tmpfs a test mounts for itself, to fill it or make it read-only.

use std::path::PathBuf;
use std::process::Command;

/// A small tmpfs of its own, so that a test can fill it or make it read-only; unmounted on drop.
pub struct Mount(tempfile::TempDir);

impl Mount {
    /// `None`, with the reason printed, where this user may not mount (not root).
    pub fn tmpfs(size: &str) -> Option<Mount> {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .status();
        if status.is_ok_and(|s| s.success()) {
            return Some(Mount(dir));
        }
        // A skip in CI would pass a test that checked nothing.
        assert!(std::env::var_os("CI").is_none(), "CI must run the tmpfs tests: run them as root");
        eprintln!("SKIPPED: mounting a tmpfs needs root; run the tests as root (CI does)");
        None
    }

    pub fn path(&self) -> PathBuf {
        self.0.path().to_owned()
    }

    /// Hands the mount to `user`, for a server that runs as that user.
    pub fn give_to(&self, user: &str) {
        let status =
            Command::new("chown").arg(format!("{user}:{user}")).arg(self.0.path()).status();
        assert!(status.unwrap().success());
    }

    pub fn remount(&self, option: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(self.0.path())
            .status();
        assert!(status.unwrap().success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}
