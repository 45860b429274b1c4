//! The tests' private PostgreSQL cluster and MariaDB server, for the PostgreSQL and MySQL
//! rows, with the helpers they take from beside them.
#![allow(dead_code)]

#[path = "../../../tests/support/exit.rs"]
pub mod exit;
#[path = "../../../tests/support/mariadb.rs"]
pub mod mariadb;
#[path = "../../../tests/support/postgres.rs"]
pub mod postgres;
#[path = "../../../tests/support/process.rs"]
pub mod process;
#[path = "../../../tests/support/tls.rs"]
pub mod tls;

pub mod redis {
    pub(crate) use crate::free_port;
}
