//! The filesystem store: the conformance suite, its files, its failure modes, its sweep and
//! its bound.

#[path = "../support/mod.rs"]
mod support;

mod app;
mod conformance;
mod failures;
mod files;
mod sweep;

use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The session files of `dir` (names of 64 hex digits).
fn session_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap().len() == 64)
        .collect();
    files.sort();
    files
}

/// The only session file of a directory replaced by a FIFO: whoever opens it waits, as on
/// a disk that stalls (a hung network mount), until the disk answers with the file's bytes.
struct StalledFile {
    path: PathBuf,
    answered: Arc<AtomicBool>,
}

impl StalledFile {
    /// Stalls the file; the disk answers the first reader `answer_after` from now.
    fn in_dir(dir: &Path, answer_after: Duration) -> StalledFile {
        let [path] = <[PathBuf; 1]>::try_from(session_files(dir)).expect("one session file");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let made = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(made.success(), "mkfifo failed");
        let (fifo, answered) = (path.clone(), Arc::new(AtomicBool::new(false)));
        let answering = answered.clone();
        // Opening a FIFO to write waits for a reader: this thread is the disk's answer. The
        // test may be over by then and its directory gone, with no one left to answer.
        std::thread::spawn(move || {
            std::thread::sleep(answer_after);
            if let Ok(mut answer) = std::fs::OpenOptions::new().write(true).open(fifo) {
                answering.store(answer.write_all(&bytes).is_ok(), Ordering::SeqCst);
            }
        });
        StalledFile { path, answered }
    }

    /// Whether the disk has answered the reader that waited on the file.
    fn has_answered(&self) -> bool {
        self.answered.load(Ordering::SeqCst)
    }

    /// Whether the FIFO is still in place: nothing was written over it.
    fn is_in_place(&self) -> bool {
        std::fs::symlink_metadata(&self.path).is_ok_and(|meta| meta.file_type().is_fifo())
    }
}
