//! CPU time spent by the app under test, read from /proc: the app's own cost per request,
//! apart from the load generator that shares the machine with it.

use std::time::Duration;

/// The name of every thread that serves our apps.
pub const APP_THREAD: &str = "app-under-test";

/// Linux's clock ticks per second for /proc times (`getconf CLK_TCK`), the same on every
/// Linux architecture this runs on.
const TICKS_PER_SECOND: u64 = 100;

/// sqlx runs each SQLite connection on a thread of its own, named after this: the app's work
/// as much as its runtime's (a peer's are counted with the rest of its process).
const SQLITE_THREAD: &str = "sqlx-sqlite-worker-";

/// The CPU time of this process's threads that serve the app: those named `APP_THREAD` and
/// its SQLite connections'.
pub fn app_threads() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Duration::ZERO };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter(|stat| comm(stat).is_some_and(serves_the_app))
        .map(|stat| ticks(&stat))
        .sum()
}

/// Whether a thread named `comm` (cut to the kernel's 15 bytes) serves the app.
fn serves_the_app(comm: &str) -> bool {
    let cut = |name: &'static str| &name[..name.len().min(15)];
    comm == cut(APP_THREAD) || comm.starts_with(cut(SQLITE_THREAD))
}

/// The CPU time of the process `pid`, every thread included.
pub fn process(pid: u32) -> Duration {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(Duration::ZERO, |s| ticks(&s))
}

/// The CPU time of the processes `pids`, summed.
pub fn processes(pids: &[u32]) -> Duration {
    pids.iter().map(|&pid| process(pid)).sum()
}

/// The thread name between the parentheses (the kernel keeps 15 bytes of it).
fn comm(stat: &str) -> Option<&str> {
    Some(&stat[stat.find('(')? + 1..stat.rfind(')')?])
}

/// utime + stime, fields 14 and 15, counted after the parenthesised name.
fn ticks(stat: &str) -> Duration {
    let after_name = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
    let fields: Vec<u64> =
        after_name.split_whitespace().skip(11).take(2).filter_map(|f| f.parse().ok()).collect();
    Duration::from_millis(fields.iter().sum::<u64>() * 1000 / TICKS_PER_SECOND)
}
