//! The apps' log, kept: installed before Rocket's logger, so every error the apps log during
//! a soak lands here and can be searched for panics.

use std::sync::Mutex;

static ERRORS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Keep;

impl log::Log for Keep {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Error
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{}: {}", record.target(), record.args());
            ERRORS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(line);
        }
    }

    fn flush(&self) {}
}

/// Keeps every error the process logs from now on. Every test of the binary calls it
/// before it launches an app: Rocket installs its own logger unless one is there.
pub fn keep_errors() {
    if log::set_boxed_logger(Box::new(Keep)).is_ok() {
        log::set_max_level(log::LevelFilter::Error);
    }
}

/// Takes the errors logged since the last call.
pub fn take_errors() -> Vec<String> {
    std::mem::take(&mut *ERRORS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}
