//! The filesystem store: the conformance suite, its files, its failure modes, its sweep and
//! its bound.

#[path = "../support/mod.rs"]
mod support;

mod app;
mod conformance;
mod failures;
mod files;
mod sweep;

use std::path::{Path, PathBuf};

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
