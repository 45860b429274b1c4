//! Where an SQL store gets its connections: the application's sqlx pool, or the store's
//! own. sqlx's pool pings every connection as it comes back, one more round trip for each
//! operation on a server, and spawns a task to take each connection back, which on SQLite
//! costs more than a read; the store's own pool takes a connection back only from an
//! operation that finished (one that failed or was cut off midway may hold an open
//! transaction or half a reply, so it is closed), and pings one only when it may be dead.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{ConnectOptions, Connection, Database};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Suspicion;
use crate::store::lock::lock;

/// A connection idle this long is pinged before it is used.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The connections of one store.
pub(crate) enum Connections<DB: Database> {
    /// The application's pool: sqlx's settings apply.
    Shared(sqlx::Pool<DB>),
    /// The store's own, built from its URL.
    Own(Arc<Own<DB>>),
}

pub(crate) struct Own<DB: Database> {
    connect: <DB::Connection as Connection>::Options,
    idle: Mutex<Vec<(DB::Connection, Instant)>>,
    permits: Arc<Semaphore>,
    suspicion: Arc<Suspicion>,
}

impl<DB: Database> Connections<DB> {
    /// At most `size` connections to `connect`, opened as they are needed; while
    /// `suspicion` is raised, each is pinged before it is used.
    pub(crate) fn own(
        connect: <DB::Connection as Connection>::Options,
        size: u32,
        suspicion: Arc<Suspicion>,
    ) -> Self {
        let size = usize::try_from(size.max(1)).unwrap_or(1);
        Connections::Own(Arc::new(Own {
            connect,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size)),
            suspicion,
        }))
    }

    /// A connection for one operation. The caller bounds the wait.
    ///
    /// # Errors
    /// No connection could be opened.
    pub(crate) async fn acquire(&self) -> Result<Held<DB>, sqlx::Error> {
        // The futures of sqlx's checkout, connect and ping are boxed: held inline, they would
        // size every operation's future (sqlx's checkout alone is 14 KB) and be copied with
        // it on each request, for paths that an operation on a kept connection never takes.
        let checkout = match self {
            Connections::Shared(pool) => Checkout::Shared(Box::pin(pool.acquire()).await?),
            Connections::Own(own) => own.acquire().await?,
        };
        Ok(Held { checkout: Some(checkout) })
    }

    /// Runs `operation` on a connection of its own and gives the connection back only if
    /// the operation succeeded.
    ///
    /// # Errors
    /// No connection could be opened, or the operation failed.
    pub(crate) async fn run<T, F>(
        &self,
        operation: impl FnOnce(Held<DB>) -> F,
    ) -> Result<T, sqlx::Error>
    where
        F: std::future::Future<Output = (Held<DB>, Result<T, sqlx::Error>)>,
    {
        let (held, result) = operation(self.acquire().await?).await;
        if result.is_ok() {
            held.finish();
        }
        result
    }

    /// The options the connections are opened with.
    pub(crate) fn connect_options(&self) -> <DB::Connection as Connection>::Options {
        match self {
            Connections::Shared(pool) => (*pool.connect_options()).clone(),
            Connections::Own(own) => own.connect.clone(),
        }
    }
}

impl<DB: Database> Own<DB> {
    async fn acquire(self: &Arc<Self>) -> Result<Checkout<DB>, sqlx::Error> {
        let permit =
            self.permits.clone().acquire_owned().await.map_err(|_| sqlx::Error::PoolClosed)?;
        while let Some((mut connection, since)) = self.take_idle() {
            let suspect = self.suspicion.raised() || since.elapsed() >= PING_AFTER_IDLE;
            if !suspect || Box::pin(connection.ping()).await.is_ok() {
                return Ok(Checkout::Own { connection, pool: self.clone(), _permit: permit });
            }
        }
        let connection = Box::pin(self.connect.connect()).await?;
        Ok(Checkout::Own { connection, pool: self.clone(), _permit: permit })
    }

    /// The connection returned last, whose server-side caches are the warmest.
    fn take_idle(&self) -> Option<(DB::Connection, Instant)> {
        lock(&self.idle).pop()
    }
}

enum Checkout<DB: Database> {
    Shared(PoolConnection<DB>),
    Own { connection: DB::Connection, pool: Arc<Own<DB>>, _permit: OwnedSemaphorePermit },
}

/// A connection out of its pool. Dropped without [`Held::finish`], it is closed.
pub(crate) struct Held<DB: Database> {
    /// Present until the checkout ends.
    checkout: Option<Checkout<DB>>,
}

impl<DB: Database> Held<DB> {
    /// Gives the connection back for the next operation.
    pub(crate) fn finish(mut self) {
        if let Some(Checkout::Own { connection, pool, _permit }) = self.checkout.take() {
            lock(&pool.idle).push((connection, Instant::now()));
        }
    }
}

impl<DB: Database> Drop for Held<DB> {
    fn drop(&mut self) {
        if let Some(Checkout::Shared(connection)) = self.checkout.as_mut() {
            connection.close_on_drop();
        }
    }
}

impl<DB: Database> Deref for Held<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self.checkout.as_ref().expect("present until the checkout ends") {
            Checkout::Shared(connection) => connection,
            Checkout::Own { connection, .. } => connection,
        }
    }
}

impl<DB: Database> DerefMut for Held<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self.checkout.as_mut().expect("present until the checkout ends") {
            Checkout::Shared(connection) => connection,
            Checkout::Own { connection, .. } => connection,
        }
    }
}

/// Runs `$body`, an expression using the connection `$c`, on a connection of `$connections`
/// that goes back to them only if the body succeeded.
macro_rules! on_connection {
    // Boxed: sqlx's query futures and a checked-out connection take kilobytes, which every
    // future around them (the store call's, the time limit's) would otherwise hold and copy
    // each time it moves; one allocation is far cheaper.
    ($connections:expr, |$c:ident| $body:expr) => {
        Box::pin($connections.run(|mut held| async move {
            let $c = &mut *held;
            let result = $body.await;
            (held, result)
        }))
    };
}
pub(crate) use on_connection;

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use sqlx::postgres::PgConnectOptions;
    use sqlx::Postgres;

    use super::*;

    /// The future every operation on these connections is built into and copied with: the
    /// checkout's rare paths (sqlx's pool, a connect, a ping) must not size it.
    #[test]
    fn an_operation_carries_no_kilobytes_of_the_checkout_s_rare_paths() {
        let connections = Connections::<Postgres>::own(PgConnectOptions::new(), 1, Arc::default());
        let operation = connections.run(|held| async move { (held, Ok(())) });
        let size = std::mem::size_of_val(&operation);
        assert!(size < 1024, "an operation's future takes {size} bytes");
    }
}
