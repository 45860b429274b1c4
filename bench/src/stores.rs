//! The bench's own store servers, started for the backends a run measures, and the address
//! each scenario's app is given.

use crate::redis::RedisServer;
use crate::support::mariadb::MariadbServer;
use crate::support::postgres::PostgresServer;
use crate::{free_port, Backend};

pub struct Stores {
    pub redis: Option<RedisServer>,
    postgres: Option<PostgresServer>,
    mariadb: Option<MariadbServer>,
    /// Where each SQLite scenario gets a database file of its own.
    sqlite: tempfile::TempDir,
}

impl Stores {
    /// Starts a server for each of `backends` that needs one.
    pub fn start(backends: &[Backend]) -> Stores {
        Stores {
            redis: backends.contains(&Backend::Redis).then(RedisServer::start),
            postgres: backends.contains(&Backend::Postgres).then(PostgresServer::start),
            mariadb: backends.contains(&Backend::Mysql).then(MariadbServer::start),
            sqlite: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// The processes of `backend`'s server; none for a store in the app's own process.
    pub fn server_processes(&self, backend: Backend) -> Vec<u32> {
        match backend {
            Backend::Redis => self.redis.iter().map(RedisServer::pid).collect(),
            Backend::Postgres => self.postgres.as_ref().map_or_else(Vec::new, |pg| pg.processes()),
            Backend::Mysql => {
                self.mariadb.as_ref().and_then(MariadbServer::pid).into_iter().collect()
            }
            Backend::Memory | Backend::Sqlite => Vec::new(),
        }
    }

    /// The address of `backend`'s server, or a database file: a new file each time, so that
    /// no scenario reads what another left.
    pub fn url(&self, backend: Backend) -> Option<String> {
        match backend {
            Backend::Memory => None,
            Backend::Redis => Some(self.redis.as_ref().expect("a Redis server").url()),
            Backend::Postgres => Some(self.postgres.as_ref().expect("a PostgreSQL server").url()),
            Backend::Mysql => Some(self.mariadb.as_ref().expect("a MariaDB server").url()),
            Backend::Sqlite => {
                let file = format!("{}.db", free_port());
                Some(format!("sqlite://{}", self.sqlite.path().join(file).display()))
            }
        }
    }
}
