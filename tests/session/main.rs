//! The session lifecycle through Rocket's local client, one behaviour per test.

#[path = "../support/mod.rs"]
mod support;

mod capacity;
mod concurrency;
mod config;
mod cookies;
mod defaults;
mod evolution;
mod failures;
mod flash;
mod helpers;
mod ids;
mod lifecycle;
mod operations;
mod store_traffic;
mod time_limit;
