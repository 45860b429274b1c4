//! The faults a soak run injects into the cluster, one after another with quiet gaps.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::support::redis::{wait_until, RedisCluster};

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// A replica falls behind (paused), then its master is killed: the replica takes over
    /// with what it had, and the old master restarts as a replica. The worst case for
    /// asynchronous replication, and what `session_redis_wait_replicas` is for.
    KillMaster,
    /// A master frozen (SIGSTOP) for longer than the timeout, shorter than the node timeout.
    PauseMaster(Duration),
    /// A replica promoted by hand (`CLUSTER FAILOVER`).
    PromoteReplica,
}

impl Fault {
    pub fn describe(&self) -> String {
        match self {
            Fault::KillMaster => "replica behind, master killed, failover, restart".into(),
            Fault::PauseMaster(pause) => format!("master paused {:.1} s", pause.as_secs_f64()),
            Fault::PromoteReplica => "replica promoted by hand".into(),
        }
    }
}

/// Kills a master, pauses another, promotes a replica of the third; returns when each began.
pub fn inject(
    cluster: &mut RedisCluster,
    gap: Duration,
    timeout: Duration,
) -> Vec<(Fault, Instant)> {
    let mut events = Vec::new();
    let masters = distinct_masters(cluster);
    sleep(gap);

    events.push((Fault::KillMaster, Instant::now()));
    let victim = masters[0].1;
    let heir = cluster.replica_of(victim);
    cluster.nodes[heir].pause();
    sleep(timeout * 2);
    cluster.nodes[victim].stop();
    cluster.nodes[heir].resume();
    let taken_over = || cluster.find_master_of(&masters[0].0).is_some_and(|m| m != victim);
    wait_until(taken_over, "a replica to take over the killed master's slots");
    cluster.restart(victim);
    sleep(gap);

    let pause = timeout * 3;
    events.push((Fault::PauseMaster(pause), Instant::now()));
    cluster.nodes[masters[1].1].pause();
    sleep(pause);
    cluster.nodes[masters[1].1].resume();
    sleep(gap);

    events.push((Fault::PromoteReplica, Instant::now()));
    let replica = cluster.replica_of(masters[2].1);
    cluster.promote(replica);
    let promoted = || cluster.find_master_of(&masters[2].0) == Some(replica);
    wait_until(promoted, "the replica to be promoted");
    cluster.wait_healthy();
    sleep(gap);
    events
}

/// A key on each of the three masters, with that master's index.
fn distinct_masters(cluster: &RedisCluster) -> Vec<(String, usize)> {
    let mut found: Vec<(String, usize)> = Vec::new();
    for key in (0..).map(|i| format!("probe{i}")) {
        let master = cluster.master_of(&key);
        if found.iter().all(|(_, m)| *m != master) {
            found.push((key, master));
        }
        if found.len() == 3 {
            return found;
        }
    }
    unreachable!("the key space is endless")
}
