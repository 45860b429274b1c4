//! The security rules of SECURITY.md, one test each (or more).

#[path = "../support/mod.rs"]
mod support;

mod caching;
mod devices;
mod ids;
mod revocation;
mod signing;
mod timeouts;
