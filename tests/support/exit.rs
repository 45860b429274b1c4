//! What statics hold is never dropped: processes and directories registered here are killed
//! and removed when the test binary exits.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

static PROCESSES: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static DIRECTORIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub fn kill_at_exit(pid: u32) {
    install();
    PROCESSES.lock().unwrap().push(pid);
}

pub fn remove_at_exit(dir: &Path) {
    install();
    DIRECTORIES.lock().unwrap().push(dir.to_owned());
}

/// The process ended on its own terms; nothing to kill at exit.
pub fn forget(pid: u32) {
    PROCESSES.lock().unwrap().retain(|&p| p != pid);
}

fn install() {
    static HOOK: Once = Once::new();
    // SAFETY: `at_exit` is a plain `extern "C" fn` that lives as long as the process.
    HOOK.call_once(|| unsafe {
        libc::atexit(at_exit);
    });
}

extern "C" fn at_exit() {
    if let Ok(pids) = PROCESSES.lock() {
        for &pid in pids.iter() {
            // SAFETY: signalling a child process this binary started.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
    if let Ok(dirs) = DIRECTORIES.lock() {
        for dir in dirs.iter() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
