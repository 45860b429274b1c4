//! PostgreSQL and MariaDB stopped, paused and restarted under a running app: 503s within the
//! store timeout, routes without a session unaffected, and recovery without a restart.

use std::path::Path;
use std::time::{Duration, Instant};

use rocket::http::Status;

use rocket_typed_session::store::{MysqlStore, PostgresStore, SqlOptions};

use crate::app_with;
use crate::support::mariadb::MariadbServer;
use crate::support::postgres::PostgresServer;
use crate::support::proxy::CountingProxy;
use crate::support::{saved_late_after_a_slow_load, App};

const TIMEOUT: &str = "500ms";

/// A private database server a test can stop, pause and restart.
trait Server {
    /// The `session_type` that uses it.
    const STORE: &'static str;
    fn start() -> Self;
    fn url(&self) -> String;
    fn port(&self) -> u16;
    /// How `value`'s bytes travel in a save to this server.
    fn on_the_wire(value: &[u8]) -> Vec<u8>;
    fn stop(&self);
    fn launch(&self);
    fn pause(&self);
    fn resume(&self);
    /// Restarts it refusing writes.
    fn make_read_only(&self);
    /// The system user the server runs as, who must own a directory it writes to.
    const OWNER: &'static str;
    /// Creates the sessions table with its files in `dir`, on a disk of their own.
    fn create_table_in(&self, dir: &Path);
}

impl Server for PostgresServer {
    const STORE: &'static str = "postgres";
    fn start() -> Self {
        PostgresServer::start()
    }
    fn url(&self) -> String {
        PostgresServer::url(self)
    }
    fn port(&self) -> u16 {
        self.port
    }
    fn on_the_wire(value: &[u8]) -> Vec<u8> {
        value.to_vec()
    }
    fn stop(&self) {
        PostgresServer::stop(self)
    }
    fn launch(&self) {
        PostgresServer::launch(self)
    }
    fn pause(&self) {
        PostgresServer::pause(self)
    }
    fn resume(&self) {
        PostgresServer::resume(self)
    }
    fn make_read_only(&self) {
        self.stop();
        self.launch_with("-c default_transaction_read_only=on");
    }
    const OWNER: &'static str = "postgres";
    fn create_table_in(&self, dir: &Path) {
        self.admin(&[&format!("CREATE TABLESPACE full_disk LOCATION '{}'", dir.display())]);
        let ddl = PostgresStore::ddl("sessions");
        self.admin(&[&format!("SET default_tablespace = full_disk; {ddl}")]);
    }
}

impl Server for MariadbServer {
    const STORE: &'static str = "mysql";
    fn start() -> Self {
        MariadbServer::start()
    }
    fn url(&self) -> String {
        MariadbServer::url(self)
    }
    fn port(&self) -> u16 {
        self.port
    }
    fn on_the_wire(value: &[u8]) -> Vec<u8> {
        // Its batches carry values as hex literals.
        value.iter().flat_map(|byte| format!("{byte:02x}").into_bytes()).collect()
    }
    fn stop(&self) {
        MariadbServer::stop(self)
    }
    fn launch(&self) {
        MariadbServer::launch(self)
    }
    fn pause(&self) {
        MariadbServer::pause(self)
    }
    fn resume(&self) {
        MariadbServer::resume(self)
    }
    fn make_read_only(&self) {
        self.stop();
        self.launch();
        self.admin("SET GLOBAL read_only = ON");
    }
    const OWNER: &'static str = "mysql";
    fn create_table_in(&self, dir: &Path) {
        let ddl = MysqlStore::ddl("app.sessions");
        let placed = format!("ENGINE = InnoDB DATA DIRECTORY = '{}'", dir.display());
        self.admin(&ddl.replace("ENGINE = InnoDB", &placed));
    }
}

/// A test run on each server.
macro_rules! on_each_server {
    ($($test:ident),* $(,)?) => {
        mod postgres {
            $(#[rocket::async_test]
            async fn $test() {
                super::$test::<crate::support::postgres::PostgresServer>().await
            })*
        }
        mod mysql {
            $(#[rocket::async_test]
            async fn $test() {
                super::$test::<crate::support::mariadb::MariadbServer>().await
            })*
        }
    };
}

on_each_server!(
    when_stopped_session_routes_answer_503_and_recover_after_a_restart,
    when_paused_a_request_gives_up_near_the_timeout,
    down_at_launch_does_not_stop_the_app,
    a_read_only_database_refuses_writes_with_503_and_keeps_the_session,
    a_full_disk_refuses_saves_with_503_and_keeps_the_session,
    a_save_that_reaches_the_server_after_its_deadline_writes_nothing,
    without_rolling_expiry_a_save_that_reaches_the_server_after_its_deadline_writes_nothing,
    a_removal_that_reaches_the_server_after_its_deadline_removes_nothing,
    a_save_after_a_slow_load_is_fenced_where_the_request_s_limit_ends,
    a_regeneration_that_reaches_the_server_after_its_deadline_moves_nothing,
);

async fn when_stopped_session_routes_answer_503_and_recover_after_a_restart<S: Server>() {
    let server = S::start();
    let app = app_with(S::STORE, &server.url(), &[("session_store_timeout", TIMEOUT)]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    server.stop();
    let started = Instant::now();
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    println!("{}: stopped, a read answered {} in {:?}", S::STORE, reply.status, started.elapsed());
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert!(reply.header("Retry-After").is_some(), "{reply:?}");
    assert_eq!(app.get("/plain", Some(&cookie)).await.status, Status::Ok);
    server.launch();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "the data survived");
}

/// Sixteen writes and sixteen requests without a session at once, against a paused server:
/// every write gives up near the bound with a 503, and the others answer meanwhile.
async fn when_paused_a_request_gives_up_near_the_timeout<S: Server>() {
    let server = S::start();
    let app = app_with(S::STORE, &server.url(), &[("session_store_timeout", TIMEOUT)]).await;
    let app = std::sync::Arc::new(app);
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    server.pause();
    let mut requests = rocket::tokio::task::JoinSet::new();
    for i in 0..32 {
        let (app, cookie) = (app.clone(), cookie.clone());
        let path = if i % 2 == 0 { "/map/set/key/other" } else { "/plain" };
        requests.spawn(async move {
            let started = Instant::now();
            let reply = app.get(path, Some(&cookie)).await;
            (path, reply, started.elapsed())
        });
    }
    let mut slowest = Duration::ZERO;
    while let Some(done) = requests.join_next().await {
        let (path, reply, took) = done.expect("the request task ends");
        let expected = if path == "/plain" { Status::Ok } else { Status::ServiceUnavailable };
        assert_eq!(reply.status, expected, "{path}: {reply:?}");
        slowest = slowest.max(took);
    }
    server.resume();
    println!("{}: paused, 32 requests at once, the slowest answered in {slowest:?}", S::STORE);
    // The bound is 500 ms; the rest allows for a loaded 2-core machine.
    assert!(slowest < Duration::from_millis(1500), "took {slowest:?}");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "nothing half-written");
}

async fn down_at_launch_does_not_stop_the_app<S: Server>() {
    let server = S::start();
    let url = server.url();
    server.stop();
    let app = app_with(S::STORE, &url, &[("session_store_timeout", TIMEOUT)]).await;
    assert_eq!(app.get("/map/get/key", None).await.status, Status::Ok, "no cookie, no load");
    assert_eq!(app.get("/map/set/key/v", None).await.status, Status::ServiceUnavailable);
    server.launch();
    let cookie = app.get("/map/set/key/v", None).await.session_cookie().expect("works now");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "v");
}

async fn a_read_only_database_refuses_writes_with_503_and_keeps_the_session<S: Server>() {
    let server = S::start();
    // Without rolling expiry a read writes nothing, so it still works read-only.
    let keys = [("session_store_timeout", TIMEOUT), ("session_refresh_each_request", "false")];
    let app = app_with(S::STORE, &server.url(), &keys).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    server.make_read_only();
    // A read first, so that the write below meets a live, read-only connection.
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "reads still work");
    let reply = app.get("/map/set/key/other", Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert!(reply.header("Retry-After").is_some(), "{reply:?}");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "nothing changed");
}

/// With the only connection of the pool the store shares held elsewhere, a request waits
/// no longer than the bound.
async fn an_exhausted_pool_is_a_503_at_the_bound<DB, S>(
    url: &str,
    store_on: impl FnOnce(sqlx::Pool<DB>, SqlOptions) -> Result<S, String>,
) where
    DB: sqlx::Database,
    S: rocket_typed_session::store::SessionStore,
{
    let pool = sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(500))
        .connect(url)
        .await
        .unwrap();
    let options = SqlOptions { timeout: Duration::from_millis(500), ..Default::default() };
    let store = store_on(pool.clone(), options).unwrap();
    let app = crate::support::App::launch(crate::support::app::rocket(store, &[])).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let held = pool.acquire().await.unwrap();
    let started = Instant::now();
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    let took = started.elapsed();
    drop(held);
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
}

#[rocket::async_test]
async fn an_exhausted_postgres_pool_is_a_503_at_the_bound_not_a_queue() {
    let url = crate::support::postgres::shared_postgres().url();
    an_exhausted_pool_is_a_503_at_the_bound(&url, PostgresStore::new).await;
}

#[rocket::async_test]
async fn an_exhausted_mysql_pool_is_a_503_at_the_bound_not_a_queue() {
    let url = crate::support::mariadb::shared_mariadb().url();
    an_exhausted_pool_is_a_503_at_the_bound(&url, MysqlStore::new).await;
}

/// Writes `path` until the disk it is on has no room left.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).and_then(|()| file.sync_data()).is_ok() {}
}

/// Text the database cannot compress, so that storing it takes new pages of the table.
fn incompressible(len: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut text = String::with_capacity(len);
    for _ in 0..len {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        text.push(char::from(DIGITS[(state >> 33) as usize % DIGITS.len()]));
    }
    text
}

/// The sessions table on a full disk (a tmpfs of its own, the rest of the server on its
/// usual one): a save that needs room is a 503 and leaves the stored session as it was;
/// once there is room, saves work again with no restart.
async fn a_full_disk_refuses_saves_with_503_and_keeps_the_session<S: Server>() {
    let Some(mount) = crate::support::tmpfs::Mount::tmpfs("1m") else { return };
    mount.give_to(S::OWNER);
    let server = S::start();
    server.create_table_in(&mount.path());
    let app = app_with(S::STORE, &server.url(), &[("session_store_timeout", TIMEOUT)]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let filler = mount.path().join("filler");
    fill(&filler);
    let large = format!("/map/set/key/{}", incompressible(20_000));
    let reply = app.get(&large, Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable, "{reply:?}");
    assert!(reply.header("Retry-After").is_some(), "{reply:?}");
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "nothing changed");
    assert_eq!(app.get(&large, Some(&cookie)).await.status, Status::Ok);
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body.len(), 20_000);
}

/// A database file on a full disk (a tmpfs of its own): a save is a 503 and leaves the
/// stored session as it was; once there is room, saves work again with no restart.
#[rocket::async_test]
async fn a_full_disk_refuses_sqlite_saves_with_503_and_keeps_the_session() {
    let Some(mount) = crate::support::tmpfs::Mount::tmpfs("4m") else { return };
    let url = format!("sqlite://{}", mount.path().join("sessions.db").display());
    let app = app_with("sqlite", &url, &[("session_store_timeout", TIMEOUT)]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let filler = mount.path().join("filler");
    fill(&filler);
    let reply = app.get("/map/set/key/other", Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable, "{reply:?}");
    assert!(reply.header("Retry-After").is_some(), "{reply:?}");
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "nothing changed");
    assert_eq!(app.get("/map/set/key/other", Some(&cookie)).await.status, Status::Ok);
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "other");
}

/// A save that reaches the server only after the app gave up on it (held back by the relay,
/// as a partition or a stalled server would deliver it late) writes nothing: it must not
/// replace what the client was told is still there.
async fn a_save_that_reaches_the_server_after_its_deadline_writes_nothing<S: Server>() {
    held_save_writes_nothing::<S>(&[]).await;
}

/// The same without rolling expiry: reads move no expiry, and about one a second samples
/// the clock all the same.
async fn without_rolling_expiry_a_save_that_reaches_the_server_after_its_deadline_writes_nothing<
    S: Server,
>() {
    held_save_writes_nothing::<S>(&[("session_refresh_each_request", "false")]).await;
}

async fn held_save_writes_nothing<S: Server>(keys: &[(&str, &str)]) {
    let (_server, proxy, app, cookie) =
        app_through_a_relay_with::<S>(keys, &["/map/set/key/first"]).await;
    let late = S::on_the_wire(b"late");
    held_past_the_limit(&app, &proxy, &late, "/map/set/key/late", &cookie).await;
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "first");
}

/// The same for a save that removes a value, which takes the stores' general update.
async fn a_removal_that_reaches_the_server_after_its_deadline_removes_nothing<S: Server>() {
    let (_server, proxy, app, cookie) = app_through_a_relay::<S>(&["/map/set/doomed/kept"]).await;
    let doomed = S::on_the_wire(b"doomed");
    held_past_the_limit(&app, &proxy, &doomed, "/map/remove/doomed", &cookie).await;
    assert_eq!(app.get("/map/get/doomed", Some(&cookie)).await.body, "kept");
}

/// The same for a login's move to a new id: the session stays under the id the client
/// still holds, instead of moving to one it was never given.
async fn a_regeneration_that_reaches_the_server_after_its_deadline_moves_nothing<S: Server>() {
    let (_server, proxy, app, cookie) = app_through_a_relay::<S>(&["/map/set/key/first"]).await;
    let user = S::on_the_wire(b"latecomer");
    held_past_the_limit(&app, &proxy, &user, "/login/latecomer", &cookie).await;
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "first");
}

/// A slow load leaves the save less than the store's timeout, and its deadline with it: a
/// save that reaches the server after the request's limit, though within a timeout of its
/// own start, writes nothing.
async fn a_save_after_a_slow_load_is_fenced_where_the_request_s_limit_ends<S: Server>() {
    let (server, proxy, app, cookie) = app_through_a_relay::<S>(&["/map/set/key/first"]).await;
    let request = ("/map/set/key/late", cookie.as_str());
    let (pause, resume) = (|| server.pause(), || server.resume());
    let late = S::on_the_wire(b"late");
    saved_late_after_a_slow_load(&app, &proxy, request, &late, pause, resume).await;
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "first");
}

/// How long the relay holds a late save: 400 ms past the app's limit of 500 ms.
const HELD: Duration = Duration::from_millis(900);

/// Asks for `path`, whose save (the request that carries `marker`) the relay holds past the
/// app's limit: the reply is a 503, and this returns once the save has reached the server.
async fn held_past_the_limit(
    app: &App,
    proxy: &CountingProxy,
    marker: &[u8],
    path: &str,
    cookie: &str,
) {
    proxy.hold_requests_containing(marker, HELD);
    assert_eq!(app.get(path, Some(cookie)).await.status, Status::ServiceUnavailable, "{path}");
    rocket::tokio::time::sleep(HELD + Duration::from_millis(600)).await;
}

/// An app on a fresh server through a relay, with a session that `paths` wrote after its
/// first write. Their reads show the store the server's clock.
async fn app_through_a_relay<S: Server>(paths: &[&str]) -> (S, CountingProxy, App, String) {
    app_through_a_relay_with::<S>(&[], paths).await
}

/// The same, configured with `keys` too.
async fn app_through_a_relay_with<S: Server>(
    keys: &[(&str, &str)],
    paths: &[&str],
) -> (S, CountingProxy, App, String) {
    let server = S::start();
    let proxy = CountingProxy::start(server.port());
    let url = proxy.url_for(&server.url(), server.port());
    let mut all = vec![("session_store_timeout", TIMEOUT)];
    all.extend_from_slice(keys);
    let app = app_with(S::STORE, &url, &all).await;
    let cookie = app.get("/map/set/key/zeroth", None).await.session_cookie().unwrap();
    for path in paths {
        assert_eq!(app.get(path, Some(&cookie)).await.status, Status::Ok, "{path}");
    }
    (server, proxy, app, cookie)
}
