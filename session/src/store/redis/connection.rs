//! Keeping connections: where they come from, which are kept, and running a round trip
//! within the timeout with one retry on a fresh connection.

use std::sync::atomic::Ordering;
use std::sync::Mutex;

use deadpool_redis::cluster;
use deadpool_redis::redis::aio::{ConnectionLike, MultiplexedConnection};
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::sentinel::SentinelClient;
use deadpool_redis::redis::{self, AsyncConnectionConfig, Client, FromRedisValue, RedisFuture};

use super::errors::{
    classify, is_broken_connection, is_read_only, pool_error, unavailable, NotReplicated, STORE,
};
use super::round_trip::{Call, RoundTrip, Wait};
use super::RedisStore;
use crate::store::limit::timed_out;
use crate::store::lock::lock;
use crate::store::Error;

/// Where connections come from.
pub(super) enum Source {
    /// A server a URL names; its connections are made here, the certificates of
    /// `RedisOptions::tls` included, which a pool built from a URL would not take.
    Server(Client, AsyncConnectionConfig),
    /// A cluster URLs name, likewise.
    ClusterNodes(cluster::ClusterClient),
    /// A pool the application built.
    Single(deadpool_redis::Pool),
    /// A cluster pool the application built.
    Cluster(cluster::Pool),
    /// The master the Sentinels name, asked again whenever a connection is made. The
    /// client asks through `&mut`; a connection is made rarely, so they queue for it.
    Sentinel(tokio::sync::Mutex<SentinelClient>, AsyncConnectionConfig),
}

/// A kept connection: multiplexed, so many requests share it at once.
#[derive(Clone)]
pub(super) enum Connection {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl RedisStore {
    /// Runs `round_trip` within the timeout. A kept connection found broken (the server
    /// restarted, say) is replaced and the round trip tried once more on a fresh one; the
    /// operations are conditional, so a second try never does twice what the first did.
    pub(super) async fn run<T: FromRedisValue>(&self, round_trip: &RoundTrip) -> Result<T, Error> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let attempts = async {
            let (mut connection, kept) = self.connection(slot).await?;
            match round_trip.send(&mut connection).await {
                // A master demoted by a failover refuses writes; a fresh connection may reach
                // the new one. Nothing was written, so trying again is safe.
                Err(error) if kept && (is_broken_connection(&error) || is_read_only(&error)) => {
                    self.forget_connections();
                    let (mut connection, _) = self.connection(slot).await?;
                    round_trip.send(&mut connection).await.map_err(classify)
                }
                result => result.map_err(classify),
            }
        };
        let result = match tokio::time::timeout(self.timeout, attempts).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(STORE, self.timeout)),
        };
        // A single server that stopped answering is reconnected from scratch. A cluster
        // connection is kept: it reaches every node, follows failovers by itself, and
        // rebuilding it would wait on the one node that is down.
        if matches!(result, Err(Error::Unavailable { .. })) && !self.is_cluster() {
            self.forget_connections();
        }
        result
    }

    /// Runs a write; with `wait_replicas` set, `WAIT` follows it in the same pipeline and a
    /// write fewer replicas acknowledged in time fails as unavailable.
    pub(super) async fn write<T: FromRedisValue>(&self, write: Call) -> Result<T, Error> {
        if self.wait_replicas == 0 {
            return self.run(&RoundTrip::One(write)).await;
        }
        let wait = Wait { replicas: self.wait_replicas, within: self.timeout / 2 };
        let (value, acknowledged): (T, u32) = self.run(&RoundTrip::Replicated(write, wait)).await?;
        if acknowledged < wait.replicas {
            return Err(unavailable(NotReplicated { acknowledged, wait }));
        }
        Ok(value)
    }

    /// Drops every kept connection: what broke one usually broke all.
    fn forget_connections(&self) {
        for slot in &self.slots {
            *lock(slot) = None;
        }
    }

    /// A connection for `slot`, and whether it was kept from earlier use.
    async fn connection(
        &self,
        slot: &Mutex<Option<Connection>>,
    ) -> Result<(Connection, bool), Error> {
        if let Some(connection) = lock(slot).clone() {
            return Ok((connection, true));
        }
        // Boxed: the clients' and pools' connecting futures take kilobytes, which inline would
        // size every operation's future, copied on each request for a path a kept connection
        // skips.
        let connection = Box::pin(self.checkout()).await?;
        *lock(slot) = Some(connection.clone());
        Ok((connection, false))
    }

    /// A new connection, made by the client or taken out of the application's pool for good:
    /// a multiplexed connection is shared, not checked out per use.
    async fn checkout(&self) -> Result<Connection, Error> {
        Ok(match &self.source {
            Source::Server(client, config) => Connection::Single(
                client
                    .get_multiplexed_async_connection_with_config(config)
                    .await
                    .map_err(classify)?,
            ),
            Source::ClusterNodes(client) => {
                Connection::Cluster(client.get_async_connection().await.map_err(classify)?)
            }
            Source::Single(pool) => Connection::Single(deadpool_redis::Connection::take(
                pool.get().await.map_err(pool_error)?,
            )),
            Source::Cluster(pool) => Connection::Cluster(cluster::Connection::take(
                pool.get().await.map_err(pool_error)?,
            )),
            Source::Sentinel(client, config) => Connection::Single(
                client
                    .lock()
                    .await
                    .get_async_connection_with_config(config)
                    .await
                    .map_err(classify)?,
            ),
        })
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, redis::Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(cmd, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}
