//! A simulated user: two tabs sharing one cookie, and the model of what the user was told,
//! which the checker holds the store to.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::http::{Connection, CookieChange, Response};
use crate::tally::Tally;

/// What every user of a run shares.
pub struct World {
    pub ports: Vec<u16>,
    pub tally: Arc<Tally>,
    /// Set when the run is over: users finish what they do and check.
    pub stop: Arc<AtomicBool>,
}

impl World {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }
}

/// What the user was told about the live session, and the sessions that must stay gone.
#[derive(Default)]
struct Model {
    cookie: Option<String>,
    /// Per tab, the last value a 200 acknowledged.
    acked: [u64; 2],
    /// Per tab, the highest value sent, acknowledged or not.
    sent: [u64; 2],
    /// Per tab, the values whose write was not answered 200: each may have happened, or
    /// may still happen.
    unanswered: [Vec<u64>; 2],
    /// Counter values acknowledged requests wrote.
    counts: Vec<u64>,
    /// A `/count` answered 503: it may or may not have written.
    counter_unknown: bool,
    user: Option<String>,
    ended: Vec<String>,
    /// A login or logout of the live session is in flight: what the other tab hears about
    /// that session meanwhile may predate or follow it.
    ending: bool,
}

impl Model {
    /// Forgets the live session (after a logout, or when its fate is unknown).
    fn start_over(&mut self) {
        let ended = std::mem::take(&mut self.ended);
        *self = Model { ended, ..Model::default() };
    }

    /// The session vanished though nothing ended it: its acknowledged tab writes are lost.
    fn vanished(&mut self, tally: &Tally, how: &str) {
        let acked = self.acked.iter().filter(|&&v| v > 0).count() as u64;
        tally
            .lost(acked, format!("the session vanished ({how}) after tab writes {:?}", self.acked));
        self.start_over();
    }

    /// Holds a read of the session (`tab0 tab1 counter user`) to the model. `tabs` are the
    /// tabs whose own view must include their acknowledged writes.
    fn check(&mut self, body: &str, tabs: &[usize], final_read: bool, tally: &Tally) {
        let mut parts = body.split(' ');
        let values: Vec<u64> = parts.by_ref().take(3).filter_map(|v| v.parse().ok()).collect();
        let user = parts.next().filter(|u| *u != "-").map(str::to_owned);
        let [tab0, tab1, counter] = values[..] else {
            return tally.inconsistent(format!("unreadable session {body:?}"));
        };
        for &tab in tabs {
            let value = [tab0, tab1][tab];
            if value < self.acked[tab] && self.unanswered[tab].contains(&value) {
                tally.overtaken(format!(
                    "tab{tab} = {value} (answered 503), acknowledged {}",
                    self.acked[tab]
                ));
                self.acked[tab] = value;
            } else if value < self.acked[tab] {
                tally.lost(1, format!("tab{tab} = {value}, acknowledged {}", self.acked[tab]));
                self.acked[tab] = value;
            } else if value > self.sent[tab] {
                tally.inconsistent(format!(
                    "tab{tab} = {value}, never sent (max {})",
                    self.sent[tab]
                ));
            }
        }
        match (&user, &self.user) {
            (seen, told) if seen == told => {}
            // The login that set it was acknowledged, then lost.
            (None, Some(told)) => {
                tally.lost(1, format!("user None, told {told:?}"));
                self.user = None;
            }
            (seen, told) => tally.inconsistent(format!("user {seen:?}, told {told:?}")),
        }
        if final_read && !self.counter_unknown {
            // 0 is where every counter starts: seen after acknowledged bumps, they were lost.
            if counter == 0 && !self.counts.is_empty() {
                tally.lost(1, format!("counter 0, written {:?}", self.counts));
            } else if counter != 0 && !self.counts.contains(&counter) {
                tally.inconsistent(format!("counter {counter}, written {:?}", self.counts));
            }
        }
    }
}

/// A tiny deterministic generator (xorshift64*): runs are repeatable per seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// One tab: its own keep-alive connection to each instance, its own field.
struct Tab<'w> {
    index: usize,
    world: &'w World,
    rng: Rng,
    connections: Vec<Option<Connection>>,
    next_value: u64,
}

impl<'w> Tab<'w> {
    fn new(index: usize, world: &'w World, seed: u64) -> Tab<'w> {
        let connections = world.ports.iter().map(|_| None).collect();
        Tab { index, world, rng: Rng(seed | 1), connections, next_value: 0 }
    }

    /// Sends to a random instance; `None` (counted as unexpected) if the exchange failed.
    async fn send(&mut self, path: &str, cookie: Option<&str>) -> Option<Response> {
        let instance = self.rng.below(self.world.ports.len() as u64) as usize;
        let sent = Instant::now();
        let result = match &mut self.connections[instance] {
            Some(connection) => connection.get(path, cookie).await,
            slot => match Connection::open(self.world.ports[instance]).await {
                Ok(connection) => slot.insert(connection).get(path, cookie).await,
                Err(error) => Err(error),
            },
        };
        let status = result.as_ref().ok().map(|r| r.status);
        self.world.tally.request(status, sent, || match &result {
            Ok(response) => format!("{path}: {} {}", response.status, response.body),
            Err(error) => format!("{path}: {error}"),
        });
        if result.is_err() {
            self.connections[instance] = None;
        }
        result.ok().filter(|r| r.status == 200)
    }

    async fn write(&mut self, model: &RefCell<Model>) {
        self.next_value += 1;
        let value = self.next_value;
        let cookie = {
            let mut model = model.borrow_mut();
            model.sent[self.index] = value;
            model.cookie.clone()
        };
        let path = format!("/write/{}/{value}", self.index);
        let Some(response) = self.send(&path, cookie.as_deref()).await else {
            let mut model = model.borrow_mut();
            if model.cookie == cookie {
                model.unanswered[self.index].push(value);
            }
            return;
        };
        let mut model = model.borrow_mut();
        if model.cookie != cookie {
            return; // The other tab saw this session vanish meanwhile.
        }
        if model.ending {
            // Raced a login or logout: applied before it, or refused after it.
            return self.world.tally.uncertain();
        }
        match response.cookie {
            CookieChange::Removed => return model.vanished(&self.world.tally, "a write"),
            CookieChange::Set(id) => model.cookie = Some(id),
            CookieChange::Kept => {}
        }
        model.acked[self.index] = value;
        self.world.tally.acknowledged();
    }

    async fn read(&mut self, model: &RefCell<Model>) {
        let cookie = model.borrow().cookie.clone();
        let Some(response) = self.send("/read", cookie.as_deref()).await else { return };
        let mut model = model.borrow_mut();
        if model.cookie == cookie && !model.ending {
            model.check(&response.body, &[self.index], false, &self.world.tally);
        }
    }

    async fn count(&mut self, model: &RefCell<Model>) {
        let cookie = model.borrow().cookie.clone();
        let response = self.send("/count", cookie.as_deref()).await;
        let mut model = model.borrow_mut();
        // A login or logout raced this bump: if it landed first, a login's move carries it
        // into the session the model now follows, unacknowledged there.
        if model.cookie != cookie || model.ending {
            model.counter_unknown = true;
            return;
        }
        match response {
            Some(response) if response.cookie == CookieChange::Removed => {
                model.vanished(&self.world.tally, "a count")
            }
            Some(response) => model.counts.extend(response.body.parse::<u64>().ok()),
            None => model.counter_unknown = true,
        }
    }

    /// One to three random reads, writes of this tab's field, or counter bumps; fewer when
    /// the session ends meanwhile (a logout the other tab raced), as a tab stops using a
    /// session it was logged out of.
    async fn burst(&mut self, model: &RefCell<Model>) {
        for _ in 0..=self.rng.below(3) {
            if model.borrow().cookie.is_none() {
                return;
            }
            match self.rng.below(4) {
                0 | 1 => self.write(model).await,
                2 => self.read(model).await,
                _ => self.count(model).await,
            }
        }
    }

    async fn login(&mut self, model: &RefCell<Model>, name: &str) {
        let old = model.borrow().cookie.clone();
        model.borrow_mut().ending = true;
        let response = self.send(&format!("/login/{name}"), old.as_deref()).await;
        let mut model = model.borrow_mut();
        match response.map(|r| r.cookie) {
            Some(CookieChange::Set(new)) => {
                model.ended.extend(old);
                model.cookie = Some(new);
                model.user = Some(name.to_owned());
                model.ending = false;
                self.world.tally.acknowledged();
            }
            Some(_) => model.vanished(&self.world.tally, "a login"),
            None => {
                self.world.tally.uncertain();
                model.start_over();
            }
        }
    }

    async fn logout(&mut self, model: &RefCell<Model>) {
        let old = model.borrow().cookie.clone();
        model.borrow_mut().ending = true;
        let response = self.send("/logout", old.as_deref()).await;
        let mut model = model.borrow_mut();
        match response {
            Some(_) => {
                model.ended.extend(old);
                self.world.tally.acknowledged();
            }
            None => self.world.tally.uncertain(),
        }
        model.start_over();
    }

    /// Reads `cookie`'s session until the store answers (503s are retried for a while).
    async fn read_settled(&mut self, cookie: &str) -> Option<String> {
        let give_up = Instant::now() + Duration::from_secs(15);
        while Instant::now() < give_up {
            if let Some(response) = self.send("/read", Some(cookie)).await {
                return Some(response.body);
            }
            rocket::tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}

/// Runs user `index` until the deadline, then checks the live session and every ended one.
pub async fn run(index: usize, world: &World) {
    let model = RefCell::new(Model::default());
    let seed = 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(index as u64 + 1);
    let (mut first, mut second) = (Tab::new(0, world, seed), Tab::new(1, world, !seed));
    let name = format!("user{index}");
    while world.running() {
        if model.borrow().cookie.is_none() {
            // A session exists before tabs race, as a browser's first page load makes one.
            first.write(&model).await;
            continue;
        }
        match first.rng.below(100) {
            0..=84 => {
                rocket::tokio::join!(first.burst(&model), second.burst(&model));
            }
            // The other tab keeps writing with the cookie the login or logout ends, so a
            // store whose late write brings an ended session back shows as "resurrected".
            85..=94 => {
                rocket::tokio::join!(first.login(&model, &name), second.burst(&model));
            }
            _ => {
                rocket::tokio::join!(first.logout(&model), second.burst(&model));
            }
        }
    }
    let (live, ended) = {
        let mut model = model.borrow_mut();
        (model.cookie.clone(), std::mem::take(&mut model.ended))
    };
    if let Some(cookie) = live {
        match first.read_settled(&cookie).await {
            Some(body) => model.borrow_mut().check(&body, &[0, 1], true, &world.tally),
            None => world.tally.inconsistent("the live session never read back".into()),
        }
    }
    for cookie in ended {
        match first.read_settled(&cookie).await.as_deref() {
            Some("0 0 0 -") => {}
            Some(_) => world.tally.resurrected(),
            None => world.tally.inconsistent("an ended session never read back".into()),
        }
    }
}
