//! The benchmark's `/session/read` and `/session/write` routes, with the same payload, on
//! another Rocket session crate: `peers <flex|store> <memory|redis|postgres|sqlite> <port>
//! [url]`. `flex` is rocket_flex_session 0.2.0 (every backend), `store` is
//! rocket-session-store 0.2.1 (memory and Redis), each with its default options. On
//! PostgreSQL and SQLite, flex also serves `/large/write`, the large session.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rocket::figment::Figment;
use rocket::{get, routes, Build, Rocket};
use serde::{Deserialize, Serialize};

/// The benchmark's payload: about 100 bytes.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Profile {
    name: String,
    visits: u64,
    tags: Vec<String>,
}

fn fresh_profile() -> Profile {
    Profile {
        name: "Ada Lovelace".into(),
        visits: 0,
        tags: vec!["analytical".into(), "engine".into(), "notes".into()],
    }
}

/// The large session: 100 values of 1 KB, as the benchmark's own app keeps.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Large(BTreeMap<String, String>);

const LARGE_FIELDS: usize = 100;
const LARGE_FIELD_BYTES: usize = 1024;

fn shown(profile: Option<&Profile>) -> String {
    profile.map(|p| format!("{} {}", p.name, p.visits)).unwrap_or_default()
}

mod flex {
    use rocket_flex_session::storage::redis::{
        RedisFormat, RedisFredStorage, RedisValue, SessionRedis,
    };
    use rocket_flex_session::storage::sqlx::{SessionSqlx, SqlxPostgresStorage, SqlxSqliteStorage};
    use rocket_flex_session::storage::SessionStorage;
    use rocket_flex_session::{RocketFlexSession, Session, SessionIdentifier};

    use super::*;

    impl SessionIdentifier for Profile {
        type Id = String;

        fn identifier(&self) -> Option<String> {
            None
        }
    }

    impl SessionIdentifier for Large {
        type Id = String;

        fn identifier(&self) -> Option<String> {
            None
        }
    }

    impl SessionRedis for Profile {
        const REDIS_FORMAT: RedisFormat = RedisFormat::String;
        type Error = serde_json::Error;

        fn into_redis(self) -> Result<RedisValue, Self::Error> {
            Ok(RedisValue::String(serde_json::to_string(&self)?))
        }

        fn from_redis(value: RedisValue) -> Result<Self, Self::Error> {
            let text = value.into_string().unwrap_or_default();
            serde_json::from_str(&text)
        }
    }

    /// One JSON text per session, as with Redis.
    macro_rules! stored_as_json_in {
        ($data:ty: $($database:ty),*) => {$(
            impl SessionSqlx<$database> for $data {
                type Error = serde_json::Error;
                type Data = String;

                fn into_sql(self) -> Result<String, Self::Error> {
                    serde_json::to_string(&self)
                }

                fn from_sql(value: String) -> Result<Self, Self::Error> {
                    serde_json::from_str(&value)
                }
            }
        )*};
    }
    stored_as_json_in!(Profile: sqlx::Postgres, sqlx::Sqlite);
    stored_as_json_in!(Large: sqlx::Postgres, sqlx::Sqlite);

    /// The table its docs ask for; it creates none itself.
    const TABLE: &str = "CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, \
                         data TEXT NOT NULL, user_id TEXT, expires {expires} NOT NULL)";

    /// The large session in a table and under a cookie of its own.
    const LARGE_TABLE: &str = "flex_large";

    #[get("/session/read")]
    fn read(session: Session<'_, Profile>) -> String {
        session.tap(shown)
    }

    #[get("/session/write")]
    fn write(mut session: Session<'_, Profile>) -> String {
        session.tap_mut(|data| {
            let profile = data.get_or_insert_with(fresh_profile);
            profile.visits += 1;
            profile.visits.to_string()
        })
    }

    /// Every request changes one 1 KB value of a 100-value session, round robin; flex writes
    /// the whole session.
    #[get("/large/write")]
    fn large_write(mut session: Session<'_, Large>) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        session.tap_mut(|data| {
            let large = data.get_or_insert_with(|| {
                let value = "x".repeat(LARGE_FIELD_BYTES);
                Large((0..LARGE_FIELDS).map(|field| (format!("f{field}"), value.clone())).collect())
            });
            let request = NEXT.fetch_add(1, Ordering::Relaxed);
            // A value no earlier request wrote, as in the benchmark's own app.
            let mut value = format!("{request:08}");
            value.push_str(&"y".repeat(LARGE_FIELD_BYTES - value.len()));
            large.0.insert(format!("f{}", request % LARGE_FIELDS), value);
            large.0.len().to_string()
        })
    }

    /// `table` as flex's docs ask for it, with `expires` of the database's type.
    fn table_ddl(table: &str, expires: &str) -> String {
        TABLE.replace("{table}", table).replace("{expires}", expires)
    }

    /// The profile's fairing on the table `flex_sessions`, and the large session's on its own
    /// table under the cookie `large`; `storage` builds a store on a table.
    fn sql_fairings<S>(
        storage: impl Fn(&str) -> S,
    ) -> (RocketFlexSession<Profile>, Option<RocketFlexSession<Large>>)
    where
        S: SessionStorage<Profile> + SessionStorage<Large> + 'static,
    {
        let profile =
            RocketFlexSession::<Profile>::builder().storage(storage("flex_sessions")).build();
        let large = RocketFlexSession::<Large>::builder()
            .storage(storage(LARGE_TABLE))
            .with_options(|options| options.cookie_name = "large".into())
            .build();
        (profile, Some(large))
    }

    pub async fn rocket(figment: Figment, backend: &str, url: Option<&str>) -> Rocket<Build> {
        let (fairing, large) = match (backend, url) {
            ("postgres", Some(url)) => {
                let pool = sqlx::PgPool::connect(url).await.expect("PostgreSQL answers");
                for table in ["flex_sessions", LARGE_TABLE] {
                    let ddl = table_ddl(table, "TIMESTAMPTZ");
                    sqlx::query(&ddl).execute(&pool).await.expect("the table");
                }
                sql_fairings(|table| {
                    SqlxPostgresStorage::builder().pool(pool.clone()).table_name(table).build()
                })
            }
            ("sqlite", Some(url)) => {
                use sqlx::sqlite::SqliteConnectOptions;
                let options: SqliteConnectOptions = url.parse().expect("an SQLite URL");
                let options = options
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
                let pool = sqlx::SqlitePool::connect_with(options).await.expect("the file opens");
                for table in ["flex_sessions", LARGE_TABLE] {
                    let ddl = table_ddl(table, "TEXT");
                    sqlx::query(&ddl).execute(&pool).await.expect("the table");
                }
                sql_fairings(|table| {
                    SqlxSqliteStorage::builder().pool(pool.clone()).table_name(table).build()
                })
            }
            (_, None) => (RocketFlexSession::<Profile>::default(), None),
            (_, Some(url)) => {
                use fred::prelude::{Builder, ClientLike, Config};
                let config = Config::from_url(url).expect("a Redis URL");
                let pool = Builder::from_config(config).build_pool(4).expect("a Redis pool");
                pool.init().await.expect("Redis answers");
                let storage = RedisFredStorage::builder().pool(pool).build();
                (RocketFlexSession::<Profile>::builder().storage(storage).build(), None)
            }
        };
        let rocket = rocket::custom(figment).attach(fairing).mount("/", routes![read, write]);
        match large {
            Some(large) => rocket.attach(large).mount("/", routes![large_write]),
            None => rocket,
        }
    }
}

mod store {
    use rocket::http::private::cookie::CookieBuilder;
    use rocket_session_store::{memory::MemoryStore, redis::RedisStore, Session, SessionStore};

    use super::*;

    #[get("/session/read")]
    async fn read(session: Session<'_, Profile>) -> String {
        shown(session.get().await.ok().flatten().as_ref())
    }

    #[get("/session/write")]
    async fn write(session: Session<'_, Profile>) -> String {
        let mut profile = session.get().await.ok().flatten().unwrap_or_else(fresh_profile);
        profile.visits += 1;
        let visits = profile.visits.to_string();
        session.set(profile).await.expect("the store saves");
        visits
    }

    pub fn rocket(figment: Figment, redis: Option<&str>) -> Rocket<Build> {
        let store: Box<dyn rocket_session_store::Store<Value = Profile>> = match redis {
            None => Box::new(MemoryStore::<Profile>::default()),
            Some(url) => Box::new(RedisStore::new(redis::Client::open(url).expect("a Redis URL"))),
        };
        let sessions = SessionStore {
            store,
            name: "token".into(),
            duration: Duration::from_secs(31 * 24 * 3600),
            cookie_builder: CookieBuilder::new("", "").path("/"),
        };
        rocket::custom(figment).attach(sessions.fairing()).mount("/", routes![read, write])
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [krate, backend, port, rest @ ..] = &args[..] else {
        panic!("usage: peers <flex|store> <memory|redis|postgres|sqlite> <port> [url]");
    };
    let url = match backend.as_str() {
        "memory" => None,
        _ => Some(rest.first().expect("a URL after the port").clone()),
    };
    let figment = Figment::from(rocket::Config::release_default())
        .merge(("port", port.parse::<u16>().expect("a port")))
        .merge(("address", "127.0.0.1"))
        .merge(("log_level", "off"))
        .merge(("secret_key", "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"));
    // One worker, as the benchmark gives each of its own apps.
    let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let rocket = match krate.as_str() {
            "flex" => flex::rocket(figment, backend, url.as_deref()).await,
            "store" => store::rocket(figment, url.as_deref()),
            other => panic!("unknown crate {other}: flex or store"),
        };
        let _ = rocket.launch().await;
    });
}
