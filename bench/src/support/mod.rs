//! The tests' private PostgreSQL cluster, for the PostgreSQL rows, with the helpers it
//! takes from beside it.
#![allow(dead_code)]

#[path = "../../../tests/support/exit.rs"]
pub mod exit;
#[path = "../../../tests/support/postgres.rs"]
pub mod postgres;
#[path = "../../../tests/support/process.rs"]
pub mod process;

pub mod redis {
    pub(crate) use crate::free_port;
}
