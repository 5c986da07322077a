//! A producer: generates its share of the load schedule into per-partition
//! buffers (bounded in total) and publishes batches to each partition's
//! leader, one batch in flight per partition so order per key holds.
//! A sender per broker sends every ready batch of the partitions that
//! broker leads in one request; a failed batch is retried unchanged with a
//! backoff, wherever its partition's leader is by then.
//!
//! A message's fate as the producer knows it is recorded: `ack`
//! (confirmed), `reject` (refused: its buffer was full, or every attempt was
//! refused explicitly, so it was never appended), or `timeout` (retries
//! exhausted and some attempt went unanswered: indeterminate — the broker
//! may well have appended it).
//!
//! Lag policies reach the producer through the broker: under
//! `circuit_breaker` a refused batch (`Overloaded`) is rejected at once,
//! reason `breaker_open` (the producer is told, nothing is retried); under
//! `backpressure` a held-back batch (`Throttled`) waits and is sent again,
//! as often as it takes, so the buffer fills and new messages are refused
//! locally.
//!
//! The idempotent producer numbers each partition's records; the leader
//! drops a re-sent batch it already has. Its producer id is per
//! incarnation, so (as in Kafka without transactions) a restarted producer
//! is a new producer.

use crate::common::link::{Link, Route};
use crate::common::metadata::Metadata;
use crate::common::schedule::Schedule;
use crate::common::wire::{Batch, BatchResult, Record, Request, Response};
use harness::model::{HostEnv, Recorder};
use harness::scenario::{Acks, Host, Role};
use harness::{EventKind, MsgId, Reason};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// Pause before a failed batch is re-sent (Kafka's `retry.backoff.ms`).
const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Pause before a batch the broker held back (`backpressure`) is sent again.
const THROTTLE_BACKOFF: Duration = Duration::from_millis(50);

/// A batch created from a partition's buffer, until it is settled.
struct Pending {
    batch: Batch,
    /// When its oldest record was created (for `delivery_timeout`).
    created: Duration,
    attempts: u32,
    /// Attempts the broker held back: they do not count against `retries`.
    throttled: u32,
    retry_at: Duration,
    /// Some attempt got no answer: the batch may have been appended.
    maybe_appended: bool,
    in_flight: bool,
}

#[derive(Default)]
struct Partition {
    /// Records not yet in a batch, with the time each was created.
    buffer: VecDeque<(Record, Duration)>,
    pending: Option<Pending>,
    next_seq: u32,
}

pub struct State {
    partitions: Vec<Partition>,
    /// Messages buffered or pending, for `buffer_max`.
    held: usize,
    /// Told (all waiting senders) when records are buffered.
    buffered: Rc<Notify>,
}

impl State {
    /// Every id this producer still holds: buffered, or in a batch not yet
    /// settled.
    pub fn held_ids(&self) -> impl Iterator<Item = MsgId> + '_ {
        self.partitions.iter().flat_map(|p| {
            let pending = p.pending.iter().flat_map(|b| &b.batch.records);
            pending.chain(p.buffer.iter().map(|(r, _)| r)).map(|r| r.id)
        })
    }
}

/// Where the model finds a producer's live incarnation (empty while it is
/// down: what it held then is gone).
pub type ProducerSlot = Rc<RefCell<Weak<RefCell<State>>>>;

pub struct Producer {
    pub env: HostEnv,
    pub schedule: Rc<Schedule>,
    pub slot: ProducerSlot,
    /// The hosts it publishes to: the brokers, or a buffer's.
    pub target: Role,
    /// Set for a relay's publisher: it publishes what the relay forwards
    /// (not the schedule's messages), never gives up on one, and reports
    /// each confirmation.
    pub forwarding: Option<Rc<Forwarding>>,
}

/// A relay's way out into the next stage: the records it handed its
/// publisher that the next stage has not yet confirmed.
pub struct Forwarding {
    pub outstanding: RefCell<std::collections::BTreeSet<MsgId>>,
    /// The relay's own stage, where a confirmed record is a `forward`.
    pub recorder: Recorder,
}

impl Forwarding {
    fn confirmed(&self, at_us: u64, records: &[Record]) {
        let mut out = self.outstanding.borrow_mut();
        for r in records {
            if out.remove(&r.id) {
                self.recorder
                    .record_at(at_us, r.id, r.key, EventKind::Forward);
            }
        }
    }
}

impl Producer {
    /// Starts publishing: the metadata refresher and a sender per broker,
    /// over a fresh state (what an incarnation holds). Returns the state,
    /// where records to publish go.
    pub fn start(self: &Rc<Self>, incarnation: u64, root: &mut ChaCha8Rng) -> Rc<RefCell<State>> {
        let sc = self.env.scenario.clone();
        let w = &sc.workload;
        let pid = if w.idempotent && self.forwarding.is_none() {
            ((self.env.index() as u64 + 1) << 32) | (incarnation & 0xffff_ffff)
        } else {
            0
        };
        let state = Rc::new(RefCell::new(State {
            partitions: (0..sc.topology.partitions)
                .map(|_| Partition::default())
                .collect(),
            held: 0,
            buffered: Rc::new(Notify::new()),
        }));
        *self.slot.borrow_mut() = Rc::downgrade(&state);
        let meta = Metadata::new(sc.topology.partitions);
        let routes: Rc<Vec<Rc<Route>>> =
            Rc::new((0..sc.topology.brokers).map(|_| Route::new()).collect());
        let refresh = meta.clone().refresher(
            sc.clone(),
            self.target,
            self.env.control.clone(),
            routes.clone(),
            w.request_timeout,
            ChaCha8Rng::seed_from_u64(root.next_u64()),
        );
        tokio::task::spawn_local(refresh);
        for b in 0..sc.topology.brokers {
            let rng = ChaCha8Rng::seed_from_u64(root.next_u64());
            let host = Host::new(self.target, b);
            let link = Link::new(host, routes[b as usize].clone(), w.request_timeout);
            let sender = self
                .clone()
                .sender(b, link, state.clone(), meta.clone(), pid, rng);
            tokio::task::spawn_local(sender);
        }
        state
    }

    /// Hands a relay's record to this publisher (it waits for the next
    /// stage's confirmation in [`Forwarding::outstanding`]).
    pub fn forward(state: &RefCell<State>, record: Record, now: Duration) {
        let mut st = state.borrow_mut();
        st.partitions[record.partition as usize]
            .buffer
            .push_back((record, now));
        st.held += 1;
        st.buffered.notify_waiters();
    }

    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let sc = self.env.scenario.clone();
        let w = &sc.workload;
        let mut root = self.env.rng(incarnation);
        let state = self.start(incarnation, &mut root);

        // A restarted producer resumes at the schedule's present: messages
        // due while it was down were never created.
        let mut next_seq = self.schedule.due_for(self.env.index(), turmoil::elapsed());
        loop {
            self.env.control.gate().await;
            let now = turmoil::elapsed();
            let due = self.schedule.due_for(self.env.index(), now);
            self.env.recorder.created(self.env.index(), next_seq..due);
            {
                let mut st = state.borrow_mut();
                for seq in next_seq..due {
                    let id = MsgId::new(self.env.index(), seq);
                    let key = self.schedule.keys.key_of(self.env.seed, seq);
                    if st.held >= w.buffer_max as usize {
                        let reason = Reason::ProducerBufferFull;
                        self.env
                            .recorder
                            .record(id, key, EventKind::Reject { reason });
                        continue;
                    }
                    let partition = key % sc.topology.partitions;
                    let record = Record { id, key, partition };
                    st.partitions[partition as usize]
                        .buffer
                        .push_back((record, now));
                    st.held += 1;
                }
            }
            if due > next_seq {
                state.borrow().buffered.notify_waiters();
            }
            next_seq = next_seq.max(due);
            if let Some(limit) = w.delivery_timeout {
                self.expire(&mut state.borrow_mut(), now, limit);
            }
            let held = state.borrow().held;
            if now >= sc.duration && held == 0 {
                return Ok(());
            }
            // Messages due within a linger are created together; when the
            // next is further off, wake when it falls due. What is held
            // keeps the linger pace (its delivery timeout, the end).
            let next = self.schedule.due_at(self.env.index(), next_seq);
            let wait = match next {
                Some(at) if held == 0 => (at.saturating_sub(now)).max(w.linger),
                None if held == 0 => sc.duration.saturating_sub(now).max(w.linger),
                _ => w.linger,
            };
            turmoil::time::sleep(wait).await;
        }
    }

    /// `delivery_timeout`: abandons what has waited too long since it was
    /// created, buffered or in a batch between attempts (a batch in flight
    /// waits for its answer, as Kafka's does), recording `timeout`: the
    /// caller is told it failed, whether or not an attempt went out.
    fn expire(&self, st: &mut State, now: Duration, limit: Duration) {
        let mut gone = 0;
        let at = Recorder::now_us();
        for part in &mut st.partitions {
            if let Some(p) = &part.pending {
                if !p.in_flight && p.created + limit <= now {
                    for r in &p.batch.records {
                        self.env
                            .recorder
                            .record_at(at, r.id, r.key, EventKind::Timeout);
                    }
                    gone += p.batch.records.len();
                    part.pending = None;
                }
            }
            while let Some((r, created)) = part.buffer.front() {
                if *created + limit > now {
                    break;
                }
                self.env
                    .recorder
                    .record_at(at, r.id, r.key, EventKind::Timeout);
                part.buffer.pop_front();
                gone += 1;
            }
        }
        st.held -= gone;
    }

    /// Sends the ready batches of the partitions `broker` leads, forever.
    async fn sender(
        self: Rc<Self>,
        broker: u32,
        mut link: Link,
        state: Rc<RefCell<State>>,
        meta: Rc<Metadata>,
        pid: u64,
        mut rng: ChaCha8Rng,
    ) {
        let sc = self.env.scenario.clone();
        let w = &sc.workload;
        let buffered = state.borrow().buffered.clone();
        loop {
            self.env.control.gate().await;
            // Listening before looking, so nothing told in between is lost.
            let mut more = std::pin::pin!(buffered.notified());
            more.as_mut().enable();
            let mut moved = std::pin::pin!(meta.changed.notified());
            moved.as_mut().enable();
            let batches = self.ready_batches(broker, &state, &meta, pid);
            if batches.is_empty() {
                // Nothing to send until records are buffered (then gather
                // for a linger, as Kafka's `linger.ms`), leadership moves
                // here, or a pending batch's backoff ends.
                let wake = async {
                    tokio::select! {
                        biased;
                        _ = &mut more => true,
                        _ = &mut moved => false,
                    }
                };
                let gather = match self.next_retry(broker, &state, &meta) {
                    Some(at) => {
                        let left = at.saturating_sub(turmoil::elapsed());
                        turmoil::time::timeout(left, wake).await.unwrap_or(false)
                    }
                    None => wake.await,
                };
                if gather {
                    turmoil::time::sleep(w.linger).await;
                }
                continue;
            }
            let n = batches.len();
            let req = Request::Produce { batches };
            let results: Vec<Option<BatchResult>> = if sc.broker.acks == Acks::None {
                let sent = link.send(&mut rng, &req).await.is_ok();
                vec![sent.then_some(BatchResult::Ok); n]
            } else {
                match link.call(&mut rng, &req).await {
                    Ok(Response::Produced { results }) if results.len() == n => {
                        results.into_iter().map(Some).collect()
                    }
                    _ => vec![None; n],
                }
            };
            // The request owned the batches while it was sent (no copy).
            let Request::Produce { batches } = req else {
                unreachable!("built above")
            };
            self.settle(&batches, &results, &state, &meta);
            turmoil::time::sleep(w.linger).await;
        }
    }

    /// When the first pending batch for a partition `broker` leads may be
    /// retried (its backoff ends), if one waits.
    fn next_retry(&self, broker: u32, state: &RefCell<State>, meta: &Metadata) -> Option<Duration> {
        let st = state.borrow();
        (st.partitions.iter().enumerate())
            .filter(|(p, _)| meta.leader(*p as u32) == Some(broker))
            .filter_map(|(_, part)| part.pending.as_ref())
            .filter(|pending| !pending.in_flight)
            .map(|pending| pending.retry_at)
            .min()
    }

    /// Batches ready to go to `broker`: each partition it leads with no
    /// batch in flight re-sends its pending batch (once its backoff is
    /// over) or makes a new one from its buffer. Records `send` for each.
    fn ready_batches(
        &self,
        broker: u32,
        state: &RefCell<State>,
        meta: &Metadata,
        pid: u64,
    ) -> Vec<Batch> {
        let now = turmoil::elapsed();
        let batch_max = self.env.scenario.workload.batch_max as usize;
        let mut st = state.borrow_mut();
        let mut out = Vec::new();
        for (p, part) in st.partitions.iter_mut().enumerate() {
            if meta.leader(p as u32) != Some(broker) {
                continue;
            }
            if part.pending.is_none() && !part.buffer.is_empty() {
                let n = part.buffer.len().min(batch_max);
                let created = part.buffer[0].1;
                let records: Vec<Record> = part.buffer.drain(..n).map(|(r, _)| r).collect();
                let first_seq = part.next_seq;
                part.next_seq = part.next_seq.wrapping_add(n as u32);
                part.pending = Some(Pending {
                    batch: Batch {
                        partition: p as u32,
                        records,
                        pid,
                        first_seq,
                    },
                    created,
                    attempts: 0,
                    throttled: 0,
                    retry_at: Duration::ZERO,
                    maybe_appended: false,
                    in_flight: false,
                });
            }
            let Some(pending) = part.pending.as_mut() else {
                continue;
            };
            if pending.in_flight || pending.retry_at > now {
                continue;
            }
            pending.in_flight = true;
            pending.attempts += 1;
            let attempt = pending.attempts;
            let at = Recorder::now_us();
            for r in &pending.batch.records {
                self.env
                    .recorder
                    .record_at(at, r.id, r.key, EventKind::Send { attempt });
            }
            out.push(pending.batch.clone());
        }
        out
    }

    /// Records each batch's outcome, or schedules its retry.
    fn settle(
        &self,
        batches: &[Batch],
        results: &[Option<BatchResult>],
        state: &RefCell<State>,
        meta: &Metadata,
    ) {
        let retries = self.env.scenario.workload.retries;
        // A relay never gives up: what it cannot forward stays in its
        // buffer stage, uncommitted, until the next stage takes it.
        let persistent = self.forwarding.is_some();
        let now = turmoil::elapsed();
        let mut st = state.borrow_mut();
        for (b, result) in batches.iter().zip(results) {
            let part = &mut st.partitions[b.partition as usize];
            let pending = part.pending.as_mut().expect("a sent batch is pending");
            pending.in_flight = false;
            let kind = match result {
                Some(BatchResult::Ok) => EventKind::Ack,
                Some(BatchResult::Overloaded | BatchResult::QueueFull) if persistent => {
                    pending.retry_at = now + RETRY_BACKOFF;
                    continue;
                }
                // A refusal is definite only if no earlier attempt may have
                // been appended; else it is retried like any indeterminate
                // outcome (and ends as `timeout`).
                Some(BatchResult::Overloaded) if !pending.maybe_appended => EventKind::Reject {
                    reason: Reason::BreakerOpen,
                },
                Some(BatchResult::QueueFull) if !pending.maybe_appended => EventKind::Reject {
                    reason: Reason::Overflow,
                },
                Some(BatchResult::Throttled) => {
                    pending.throttled += 1;
                    pending.retry_at = now + THROTTLE_BACKOFF;
                    continue;
                }
                failure => {
                    let indeterminate = matches!(
                        failure,
                        None | Some(
                            BatchResult::LeadershipLost | BatchResult::NotEnoughReplicasAfterAppend
                        )
                    );
                    if indeterminate {
                        pending.maybe_appended = true;
                    }
                    if !matches!(
                        failure,
                        Some(
                            BatchResult::NotEnoughReplicas
                                | BatchResult::Overloaded
                                | BatchResult::QueueFull
                        )
                    ) {
                        meta.mark_stale();
                    }
                    if persistent || pending.attempts - pending.throttled <= retries {
                        pending.retry_at = now + RETRY_BACKOFF;
                        continue;
                    }
                    if pending.maybe_appended {
                        EventKind::Timeout
                    } else {
                        EventKind::Reject {
                            reason: Reason::BrokerRefused,
                        }
                    }
                }
            };
            let at = Recorder::now_us();
            for r in &b.records {
                self.env.recorder.record_at(at, r.id, r.key, kind);
            }
            if let (Some(f), EventKind::Ack) = (&self.forwarding, kind) {
                f.confirmed(at, &b.records);
            }
            part.pending = None;
            st.held -= b.records.len();
        }
    }
}
