//! A store written outside the crate, against the public trait alone, as a user would write
//! one (the tests' clocked store, here on the system clock), held to the exported
//! conformance suite.

use rocket_typed_session::clock::SystemClock;

use crate::support::clocked::ClockedStore;

rocket_typed_session::conformance_suite!(async { ClockedStore::on(SystemClock) });
