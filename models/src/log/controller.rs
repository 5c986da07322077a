//! The controller: the cluster's coordination service, standing for
//! ZooKeeper (Kafka 0.8, the version Jepsen tested in 2013) or the KRaft
//! quorum. It is one host, `controller-0`, never elected: it is assumed to
//! be a correctly replicated quorum, so it "fails over" by restarting from
//! its own disk (partition table and committed offsets are synced before it
//! answers). It holds
//!
//! - broker liveness: a broker that misses heartbeats for the session
//!   timeout, or comes back as a new incarnation, is failed;
//! - partition leadership: leader, epoch and in-sync set per partition;
//!   a failed leader is replaced by the first live in-sync replica in
//!   replica order, or — only with `unclean_leader_election` — by any live
//!   replica; otherwise the partition is offline until an in-sync replica
//!   returns;
//! - the consumer group (`group.rs`) and its committed offsets (Kafka 0.8
//!   kept both in ZooKeeper).
//!
//! Brokers learn the table from their heartbeat answers; a broker cut off
//! from the controller keeps acting on what it last heard — the behaviour
//! behind Jepsen's 2013 finding.

use crate::common::disk::StateFile;
use crate::common::wire::{
    read_frame, write_frame, MemberId, PartitionState, Request, Response, CONTROLLER_PORT,
};
use crate::log::files::OffsetsFile;
use crate::log::group::Group;
use harness::model::HostEnv;
use harness::scenario::Scenario;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::{Rc, Weak};
use std::time::Duration;
use turmoil::net::{TcpListener, TcpStream};

/// Replicas of `partition`, preferred leader first.
pub fn replicas(partition: u32, brokers: u32, replication: u32) -> Vec<u32> {
    (0..replication)
        .map(|i| (partition + i) % brokers)
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Liveness {
    alive: bool,
    /// None until the first heartbeat of this controller incarnation.
    incarnation: Option<u64>,
    last_heartbeat: Duration,
}

/// The controller's durable state: the partition table and the last
/// incarnation heard from each broker.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    pub partitions: Vec<PartitionState>,
    pub incarnations: Vec<Option<u64>>,
    /// Brokers already failed stay failed until they heartbeat again.
    pub alive: Vec<bool>,
}

/// Broker liveness and the partition table: pure, so elections are
/// unit-tested without a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub partitions: Vec<PartitionState>,
    brokers: Vec<Liveness>,
    unclean: bool,
}

impl Cluster {
    /// A fresh cluster: preferred leaders, every replica in sync, epoch 1.
    pub fn new(partitions: u32, brokers: u32, replication: u32, unclean: bool) -> Cluster {
        let partitions = (0..partitions)
            .map(|p| {
                let replicas = replicas(p, brokers, replication);
                let mut isr = replicas.clone();
                isr.sort();
                PartitionState {
                    leader: Some(replicas[0]),
                    epoch: 1,
                    isr,
                    isr_version: 1,
                    replicas,
                }
            })
            .collect();
        let table = Table {
            partitions,
            incarnations: vec![None; brokers as usize],
            alive: vec![true; brokers as usize],
        };
        Cluster::with_table(table, unclean, Duration::ZERO)
    }

    /// A controller (re)starting from a saved table: every broker it had
    /// alive presumed still alive, with a full session of grace, in the
    /// incarnation it last had (so one that restarted meanwhile is noticed).
    pub fn with_table(table: Table, unclean: bool, now: Duration) -> Cluster {
        let brokers = (table.incarnations.iter().zip(&table.alive))
            .map(|(&incarnation, &alive)| Liveness {
                alive,
                incarnation,
                last_heartbeat: now,
            })
            .collect();
        Cluster {
            partitions: table.partitions,
            brokers,
            unclean,
        }
    }

    /// What the controller keeps on disk.
    pub fn table(&self) -> Table {
        Table {
            partitions: self.partitions.clone(),
            incarnations: self.brokers.iter().map(|b| b.incarnation).collect(),
            alive: self.brokers.iter().map(|b| b.alive).collect(),
        }
    }

    /// A heartbeat from `broker`. A new incarnation of a broker the
    /// controller thought alive restarted without being noticed: it is
    /// failed first (it may have lost unsynced data), then revived.
    /// Returns whether the table changed.
    /// Offline partitions are retried at every heartbeat (a revival after a
    /// controller restart is not always seen as one).
    pub fn heartbeat(&mut self, broker: u32, incarnation: u64, now: Duration) -> bool {
        let b = self.brokers[broker as usize];
        let mut changed = b.incarnation != Some(incarnation) || !b.alive;
        if b.alive && b.incarnation.is_some_and(|i| i != incarnation) {
            self.fail(broker);
        }
        self.brokers[broker as usize] = Liveness {
            alive: true,
            incarnation: Some(incarnation),
            last_heartbeat: now,
        };
        if self.partitions.iter().any(|p| p.leader.is_none()) {
            changed |= self.elect_offline();
        }
        changed
    }

    /// Fails brokers silent for longer than `timeout`.
    pub fn expire(&mut self, now: Duration, timeout: Duration) -> bool {
        let mut changed = false;
        for b in 0..self.brokers.len() as u32 {
            let l = self.brokers[b as usize];
            if l.alive && now.saturating_sub(l.last_heartbeat) > timeout {
                changed |= self.fail(b);
            }
        }
        changed
    }

    /// Marks `broker` dead: it leaves every in-sync set where it is a
    /// follower, and its partitions get new leaders where one is eligible.
    /// Always a change of the durable table (liveness is part of it).
    fn fail(&mut self, broker: u32) -> bool {
        self.brokers[broker as usize].alive = false;
        for p in 0..self.partitions.len() {
            let st = &mut self.partitions[p];
            if st.leader == Some(broker) {
                self.elect(p);
            } else if st.isr.contains(&broker) && st.isr.len() > 1 {
                st.isr.retain(|&r| r != broker);
                st.isr_version += 1;
            }
        }
        true
    }

    fn elect_offline(&mut self) -> bool {
        let mut changed = false;
        for p in 0..self.partitions.len() {
            if self.partitions[p].leader.is_none() {
                changed |= self.elect(p);
            }
        }
        changed
    }

    /// Picks a leader for partition `p` among live replicas; returns whether
    /// the leader changed. The in-sync set keeps its last members when no
    /// one is eligible, so only they can bring the partition back cleanly.
    fn elect(&mut self, p: usize) -> bool {
        let alive: Vec<bool> = self.brokers.iter().map(|b| b.alive).collect();
        let st = &mut self.partitions[p];
        let clean = st
            .replicas
            .iter()
            .copied()
            .find(|&r| alive[r as usize] && st.isr.contains(&r));
        let unclean = || st.replicas.iter().copied().find(|&r| alive[r as usize]);
        let (leader, isr) = match clean {
            Some(l) => {
                let isr: Vec<u32> = st
                    .isr
                    .iter()
                    .copied()
                    .filter(|&r| alive[r as usize])
                    .collect();
                (Some(l), isr)
            }
            None => match unclean().filter(|_| self.unclean) {
                Some(l) => (Some(l), vec![l]),
                None => (None, st.isr.clone()),
            },
        };
        if leader == st.leader && isr == st.isr {
            return false;
        }
        if leader != st.leader || leader.is_none() {
            st.epoch += 1;
        }
        if isr != st.isr {
            st.isr_version += 1;
        }
        st.leader = leader;
        st.isr = isr;
        true
    }

    /// A leader asks to change its partition's in-sync set. Accepted only
    /// from the current leader in the current epoch; brokers the controller
    /// thinks dead are not added. Returns whether the set changed.
    pub fn alter_isr(&mut self, partition: u32, leader: u32, epoch: u32, isr: &[u32]) -> bool {
        let alive: Vec<bool> = self.brokers.iter().map(|b| b.alive).collect();
        let Some(st) = self.partitions.get_mut(partition as usize) else {
            return false;
        };
        if st.leader != Some(leader) || st.epoch != epoch || !isr.contains(&leader) {
            return false;
        }
        let mut new: Vec<u32> = isr
            .iter()
            .copied()
            .filter(|&r| st.replicas.contains(&r) && (alive[r as usize] || st.isr.contains(&r)))
            .collect();
        new.sort();
        new.dedup();
        if new == st.isr {
            return false;
        }
        st.isr = new;
        st.isr_version += 1;
        true
    }
}

/// One controller incarnation's state.
pub struct ControllerState {
    pub cluster: Cluster,
    pub group: Group,
    pub group_name: String,
    /// Committed offset per partition.
    pub committed: Vec<Option<u64>>,
    /// (member, seq) of the last commit applied per partition.
    last_commit: Vec<Option<(MemberId, u64)>>,
    offsets: OffsetsFile,
    table: StateFile,
}

impl ControllerState {
    fn recover(sc: &Scenario, incarnation: u64, now: Duration) -> io::Result<ControllerState> {
        let t = &sc.topology;
        let (table, saved) = StateFile::recover("/partitions.state")?;
        let unclean = sc.broker.unclean_leader_election;
        let cluster = match saved.and_then(|b| postcard::from_bytes::<Table>(&b).ok()) {
            Some(table) => Cluster::with_table(table, unclean, now),
            None => Cluster::new(t.partitions, t.brokers, t.replication, unclean),
        };
        let (offsets, committed) = OffsetsFile::recover("/offsets.log", t.partitions)?;
        let c = &sc.consumer;
        let mut st = ControllerState {
            cluster,
            group: Group::new(
                t.partitions,
                c.assignment,
                c.session_timeout,
                incarnation << 32,
            ),
            group_name: c.group.clone(),
            last_commit: vec![None; committed.len()],
            committed,
            offsets,
            table,
        };
        st.save_table()?;
        Ok(st)
    }

    fn save_table(&mut self) -> io::Result<()> {
        let bytes = postcard::to_allocvec(&self.cluster.table()).map_err(io::Error::other)?;
        self.table.save(&bytes)
    }
}

/// Where the model's probes find the live incarnation.
pub type ControllerSlot = Rc<RefCell<Weak<RefCell<ControllerState>>>>;

pub struct Controller {
    pub env: HostEnv,
    pub slot: ControllerSlot,
}

impl Controller {
    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let now = turmoil::elapsed();
        let state = Rc::new(RefCell::new(ControllerState::recover(
            &self.env.scenario,
            incarnation,
            now,
        )?));
        *self.slot.borrow_mut() = Rc::downgrade(&state);
        self.record_group(&mut state.borrow_mut());
        let rng = Rc::new(RefCell::new(self.env.rng(incarnation)));

        // Session expiry, checked a few times per shortest session.
        let period = (self.env.scenario.broker.session_timeout / 4)
            .min(self.env.scenario.consumer.session_timeout / 4)
            .clamp(Duration::from_millis(1), Duration::from_millis(100));
        {
            let (state, this) = (state.clone(), self.clone());
            tokio::task::spawn_local(async move {
                loop {
                    turmoil::time::sleep(period).await;
                    this.env.control.gate().await;
                    let now = turmoil::elapsed();
                    let mut st = state.borrow_mut();
                    let timeout = this.env.scenario.broker.session_timeout;
                    if st.cluster.expire(now, timeout) {
                        st.save_table()
                            .expect("controller-0: saving the partition table");
                    }
                    st.group.expire(now);
                    this.record_group(&mut st);
                }
            });
        }

        let listener =
            TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), CONTROLLER_PORT)).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            let (this, state, rng) = (self.clone(), state.clone(), rng.clone());
            tokio::task::spawn_local(async move { this.serve(stream, state, rng).await });
        }
    }

    /// Puts the group's changes in the History.
    fn record_group(&self, st: &mut ControllerState) {
        for change in st.group.take_changes() {
            self.env.recorder.record_group(change);
        }
    }

    async fn serve(
        &self,
        mut stream: TcpStream,
        state: Rc<RefCell<ControllerState>>,
        rng: Rc<RefCell<ChaCha8Rng>>,
    ) {
        while let Ok(req) = read_frame::<Request, _>(&mut stream).await {
            self.env.control.gate().await;
            let resp = match self.handle(req, &state, &rng).await {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(e) => panic!("controller-0: disk error: {e}"),
            };
            if write_frame(&mut stream, &resp).await.is_err() {
                return;
            }
        }
    }

    async fn handle(
        &self,
        req: Request,
        state: &RefCell<ControllerState>,
        rng: &RefCell<ChaCha8Rng>,
    ) -> io::Result<Option<Response>> {
        let now = turmoil::elapsed();
        Ok(Some(match req {
            Request::BrokerHeartbeat {
                broker,
                incarnation,
            } => {
                let mut st = state.borrow_mut();
                if broker >= self.env.scenario.topology.brokers {
                    return Ok(None);
                }
                if st.cluster.heartbeat(broker, incarnation, now) {
                    st.save_table()?;
                }
                Response::Cluster {
                    partitions: st.cluster.partitions.clone(),
                    committed: st.committed.clone(),
                }
            }
            Request::AlterIsr {
                partition,
                leader,
                epoch,
                isr,
            } => {
                let mut st = state.borrow_mut();
                let changed = st.cluster.alter_isr(partition, leader, epoch, &isr);
                if changed {
                    st.save_table()?;
                }
                match st.cluster.partitions.get(partition as usize) {
                    Some(s) => Response::Partition {
                        state: s.clone(),
                        changed,
                    },
                    None => return Ok(None),
                }
            }
            Request::GroupHeartbeat {
                group,
                member,
                running,
            } => {
                let mut st = state.borrow_mut();
                if group != st.group_name {
                    return Ok(None);
                }
                let (generation, partitions, settled) = st.group.heartbeat(member, &running, now);
                self.record_group(&mut st);
                Response::Group {
                    generation,
                    partitions,
                    settled,
                }
            }
            Request::Commit {
                group,
                member,
                partition,
                offset,
                seq,
            } => {
                let delay = self
                    .env
                    .control
                    .storage_delay(Duration::ZERO, &mut *rng.borrow_mut());
                if delay > Duration::ZERO {
                    turmoil::time::sleep(delay).await;
                }
                let mut st = state.borrow_mut();
                let p = partition as usize;
                // A retried commit that was already applied is accepted
                // again; one older than the last applied changes nothing.
                let accepted = group == st.group_name
                    && p < st.committed.len()
                    && st.group.owns(member, partition);
                let newer = match st.last_commit.get(p).copied().flatten() {
                    Some((m, last)) => m != member || seq > last,
                    None => true,
                };
                if accepted && newer {
                    st.last_commit[p] = Some((member, seq));
                    st.committed[p] = Some(offset);
                    st.offsets.append(partition, offset);
                    st.offsets.0.sync()?;
                }
                Response::Committed { accepted }
            }
            Request::OffsetFetch { group, partitions } => {
                let st = state.borrow();
                let offsets = partitions
                    .iter()
                    .map(|&p| {
                        if group == st.group_name {
                            st.committed.get(p as usize).copied().flatten()
                        } else {
                            None
                        }
                    })
                    .collect();
                Response::Offsets { offsets }
            }
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn leader(c: &Cluster, p: usize) -> (Option<u32>, u32, Vec<u32>) {
        let s = &c.partitions[p];
        (s.leader, s.epoch, s.isr.clone())
    }

    #[test]
    fn replicas_rotate_over_brokers() {
        assert_eq!(replicas(0, 3, 3), vec![0, 1, 2]);
        assert_eq!(replicas(2, 3, 2), vec![2, 0]);
        assert_eq!(replicas(5, 1, 1), vec![0]);
    }

    #[test]
    fn a_failed_leader_is_replaced_by_the_next_in_sync_replica() {
        let mut c = Cluster::new(1, 3, 3, false);
        for b in 0..3 {
            c.heartbeat(b, 0, S(0));
        }
        c.heartbeat(1, 0, S(5));
        c.heartbeat(2, 0, S(5));
        assert!(c.expire(S(7), S(6)));
        assert_eq!(leader(&c, 0), (Some(1), 2, vec![1, 2]));
    }

    #[test]
    fn clean_election_waits_for_an_in_sync_replica() {
        // The ISR shrank to the leader; the leader dies. Without unclean
        // election the partition is offline until broker 0 returns.
        let mut c = Cluster::new(1, 3, 3, false);
        assert!(c.alter_isr(0, 0, 1, &[0]));
        c.heartbeat(1, 0, S(10));
        c.heartbeat(2, 0, S(10));
        c.expire(S(10), S(6));
        assert_eq!(leader(&c, 0), (None, 2, vec![0]));
        // Broker 1 is alive but out of sync: still offline.
        c.heartbeat(1, 0, S(11));
        assert_eq!(c.partitions[0].leader, None);
        // Broker 0 comes back: it leads again with everything it had.
        c.heartbeat(0, 1, S(12));
        assert_eq!(leader(&c, 0), (Some(0), 3, vec![0]));
    }

    #[test]
    fn unclean_election_picks_an_out_of_sync_replica() {
        let mut c = Cluster::new(1, 3, 3, true);
        assert!(c.alter_isr(0, 0, 1, &[0]));
        c.heartbeat(1, 0, S(10));
        c.heartbeat(2, 0, S(10));
        c.expire(S(10), S(6));
        assert_eq!(leader(&c, 0), (Some(1), 2, vec![1]));
    }

    #[test]
    fn a_dead_follower_leaves_the_isr_and_alter_isr_is_fenced() {
        let mut c = Cluster::new(1, 3, 3, false);
        c.heartbeat(0, 0, S(10));
        c.heartbeat(1, 0, S(10));
        c.expire(S(10), S(6));
        assert_eq!(leader(&c, 0), (Some(0), 1, vec![0, 1]));
        // A stale epoch or a non-leader cannot change the ISR.
        assert!(!c.alter_isr(0, 0, 0, &[0]));
        assert!(!c.alter_isr(0, 1, 1, &[1]));
        // The dead broker cannot be added back until it heartbeats.
        assert!(!c.alter_isr(0, 0, 1, &[0, 1, 2]));
        c.heartbeat(2, 0, S(11));
        assert!(c.alter_isr(0, 0, 1, &[0, 1, 2]));
    }

    #[test]
    fn a_restarted_controller_still_elects_for_offline_partitions() {
        // ISR {0}, broker 0 fails: offline. The controller restarts from
        // its table (every broker presumed alive); broker 0 returns as a
        // new incarnation and must lead again.
        let mut c = Cluster::new(1, 2, 2, false);
        c.heartbeat(0, 0, S(0));
        c.heartbeat(1, 0, S(0));
        assert!(c.alter_isr(0, 0, 1, &[0]));
        c.heartbeat(1, 0, S(10));
        c.expire(S(10), S(6));
        assert_eq!(c.partitions[0].leader, None);
        let mut again = Cluster::with_table(c.table(), false, S(11));
        again.heartbeat(1, 0, S(11));
        assert_eq!(again.partitions[0].leader, None, "1 is not in sync");
        assert!(again.heartbeat(0, 1, S(12)));
        assert_eq!(leader(&again, 0), (Some(0), 3, vec![0]));
    }

    #[test]
    fn isr_changes_bump_the_isr_version() {
        let mut c = Cluster::new(1, 3, 3, false);
        let v = c.partitions[0].isr_version;
        assert!(c.alter_isr(0, 0, 1, &[0, 1]));
        assert_eq!(c.partitions[0].isr_version, v + 1);
        assert!(!c.alter_isr(0, 0, 1, &[0, 1]));
        assert_eq!(c.partitions[0].isr_version, v + 1);
    }

    #[test]
    fn a_broker_restarted_within_its_session_is_failed_and_revived() {
        // Single broker: it leads again, under a new epoch.
        let mut c = Cluster::new(2, 1, 1, false);
        c.heartbeat(0, 0, S(1));
        assert!(c.heartbeat(0, 1, S(2)));
        assert_eq!(leader(&c, 0), (Some(0), 3, vec![0]));
        // Replicated: the restarted leader gives way to a follower.
        let mut c = Cluster::new(1, 2, 2, false);
        c.heartbeat(0, 0, S(1));
        c.heartbeat(1, 0, S(1));
        assert!(c.heartbeat(0, 1, S(2)));
        assert_eq!(leader(&c, 0), (Some(1), 2, vec![1]));
    }
}
