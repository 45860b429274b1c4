//! The app under soak: one session struct whose fields the simulated users write, served by
//! real Rocket instances on loopback ports, each in its own thread and runtime.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rocket::{get, routes, Shutdown};
use rocket_typed_session::{Session, SessionFairing};

use crate::support::figment;
use crate::support::redis::free_port;

/// A user's two tabs write `tab0` and `tab1` (disjoint fields); both bump `counter`.
#[derive(Session, Default, Debug)]
#[session(namespace = "soak")]
pub struct Soak {
    pub tab0: u64,
    pub tab1: u64,
    pub counter: u64,
    pub user: Option<String>,
}

/// `tab0 tab1 counter user`, `-` for no user.
#[get("/read")]
fn read(soak: Session<Soak>) -> String {
    let user = soak.user.as_deref().unwrap_or("-");
    format!("{} {} {} {user}", soak.tab0, soak.tab1, soak.counter)
}

#[get("/write/<tab>/<value>")]
fn write(mut soak: Session<Soak>, tab: u8, value: u64) -> &'static str {
    match tab {
        0 => soak.tab0 = value,
        _ => soak.tab1 = value,
    }
    "ok"
}

/// Read, add one, write back: racing tabs may each write the same next value.
#[get("/count")]
fn count(mut soak: Session<Soak>) -> String {
    soak.counter += 1;
    soak.counter.to_string()
}

#[get("/login/<user>")]
fn login(mut soak: Session<Soak>, user: &str) -> &'static str {
    soak.regenerate();
    soak.user = Some(user.to_owned());
    "ok"
}

#[get("/logout")]
fn logout(mut soak: Session<Soak>) -> &'static str {
    soak.destroy();
    "ok"
}

/// One app instance on its own port, thread and runtime; shut down when dropped.
pub struct Instance {
    pub port: u16,
    shutdown: Shutdown,
    thread: Option<JoinHandle<()>>,
}

impl Instance {
    /// An instance on the store `keys` configure.
    pub fn launch(keys: &[(&str, &str)]) -> Instance {
        Instance::launch_with(SessionFairing::new(), keys)
    }

    pub fn launch_with(fairing: SessionFairing, keys: &[(&str, &str)]) -> Instance {
        let port = free_port();
        let figment = figment(keys).merge(("port", port)).merge(("shutdown.grace", 0));
        let rocket = rocket::custom(figment.merge(("shutdown.mercy", 0)))
            .attach(fairing)
            .mount("/", routes![read, write, count, login, logout]);
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            rocket::execute(async move {
                let rocket = rocket.ignite().await.expect("the soak app ignites");
                sender.send(rocket.shutdown()).expect("the test waits for the handle");
                let _ = rocket.launch().await;
            })
        });
        let shutdown = receiver.recv().expect("the soak app starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the soak app never listened on {port}");
            std::thread::sleep(Duration::from_millis(10));
        }
        Instance { port, shutdown, thread: Some(thread) }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
