//! A single-node log broker (Kafka-like): partitions of offset-addressed
//! records, committed offsets per group, and an fsync policy. The in-memory
//! state of one incarnation is rebuilt from disk at start, so what a crash
//! loses is decided by what was synced, not by the model.
//!
//! The replicated cluster (leaders, ISR, elections) grows from this in the
//! "Log-based broker model" work; here `brokers = 1`.

use crate::storage::{encode_record, LogFile, OffsetsFile, Stored};
use crate::wire::{read_frame, write_frame, Fetched, Request, Response, BROKER_PORT};
use harness::history::{Inventory, PartitionGauge, PartitionInventory, Sample};
use harness::model::{Control, Recorder};
use harness::scenario::{Fsync, Scenario};
use harness::EventKind;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::{Rc, Weak};
use std::time::Duration;
use turmoil::net::{TcpListener, TcpStream};

/// One partition's log in memory; `records[i]` has offset `log_start + i`.
struct Partition {
    log_start: u64,
    records: Vec<Stored>,
    file: LogFile,
}

impl Partition {
    fn log_end(&self) -> u64 {
        self.log_start + self.records.len() as u64
    }
}

/// The state of one broker incarnation.
pub struct BrokerState {
    partitions: Vec<Partition>,
    /// Committed offset per partition for the scenario's one consumer group.
    committed: Vec<Option<u64>>,
    /// Generation of the last commit applied per partition; older ones are
    /// stale retries and are ignored. Not durable: a restarted broker has no
    /// connection that could still deliver a stale commit.
    generations: Vec<u64>,
    group: String,
    offsets: OffsetsFile,
}

impl BrokerState {
    fn recover(scenario: &Scenario) -> io::Result<BrokerState> {
        let n = scenario.topology.partitions;
        let mut partitions = Vec::with_capacity(n as usize);
        for p in 0..n {
            let (file, records) = LogFile::recover(p)?;
            partitions.push(Partition {
                log_start: 0,
                records,
                file,
            });
        }
        let (offsets, committed) = OffsetsFile::recover(n)?;
        Ok(BrokerState {
            partitions,
            generations: vec![0; committed.len()],
            committed,
            group: scenario.consumer.group.clone(),
            offsets,
        })
    }

    fn sync_all(&mut self) -> io::Result<()> {
        for p in &mut self.partitions {
            p.file.0.sync()?;
        }
        self.offsets.0.sync()
    }

    /// Committed offset, or the log start when the group never committed.
    fn committed(&self, partition: usize) -> u64 {
        self.committed[partition].unwrap_or(self.partitions[partition].log_start)
    }

    pub fn sample(&self, at_us: u64) -> Sample {
        let partitions = self
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let committed = self.committed(i).clamp(p.log_start, p.log_end());
                let lag = p.log_end() - committed;
                let lag_age_us = if lag > 0 {
                    let oldest = &p.records[(committed - p.log_start) as usize];
                    at_us.saturating_sub(oldest.append_us)
                } else {
                    0
                };
                PartitionGauge {
                    partition: i as u32,
                    depth: p.records.len() as u64,
                    lag_messages: lag,
                    lag_age_us,
                }
            })
            .collect();
        Sample {
            at_us,
            broker_up: true,
            partitions,
        }
    }

    pub fn inventory(&self) -> Inventory {
        let mut held = Vec::new();
        let mut partitions = Vec::new();
        for (i, p) in self.partitions.iter().enumerate() {
            let committed = self.committed(i);
            let from = committed.clamp(p.log_start, p.log_end());
            held.extend(
                p.records[(from - p.log_start) as usize..]
                    .iter()
                    .map(|r| r.id),
            );
            partitions.push(PartitionInventory {
                partition: i as u32,
                log_start: p.log_start,
                log_end: p.log_end(),
                committed,
            });
        }
        held.sort();
        held.dedup();
        Inventory { partitions, held }
    }
}

/// Where the driver's probes find the live incarnation; a `Weak` so that a
/// crashed incarnation (its runtime dropped) reads as down, not frozen.
pub type BrokerSlot = Rc<RefCell<Weak<RefCell<BrokerState>>>>;

pub struct Broker {
    pub scenario: Rc<Scenario>,
    pub recorder: Recorder,
    pub control: Rc<Control>,
    pub seed: u64,
    pub slot: BrokerSlot,
}

impl Broker {
    /// The broker's software; turmoil calls it again on every restart.
    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let state = Rc::new(RefCell::new(BrokerState::recover(&self.scenario)?));
        *self.slot.borrow_mut() = Rc::downgrade(&state);
        let rng = Rc::new(RefCell::new(ChaCha8Rng::seed_from_u64(
            self.seed ^ incarnation.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        )));

        let flush_every = match self.scenario.broker.fsync {
            Fsync::PerBatch => None,
            Fsync::Interval(d) => Some(d),
            Fsync::Never => Some(self.scenario.broker.writeback),
        };
        if let Some(period) = flush_every {
            let state = state.clone();
            let control = self.control.clone();
            tokio::task::spawn_local(async move {
                let mut tick = tokio::time::interval(period);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    control.gate().await;
                    if let Err(e) = state.borrow_mut().sync_all() {
                        panic!("broker-0: periodic sync failed: {e}");
                    }
                }
            });
        }

        let listener = TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), BROKER_PORT)).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            let conn = Conn {
                broker: self.clone(),
                state: state.clone(),
                rng: rng.clone(),
            };
            tokio::task::spawn_local(conn.serve(stream));
        }
    }
}

/// One client connection to the broker.
struct Conn {
    broker: Rc<Broker>,
    state: Rc<RefCell<BrokerState>>,
    rng: Rc<RefCell<ChaCha8Rng>>,
}

impl Conn {
    async fn serve(self, mut stream: TcpStream) {
        // A read error means the peer went away or timed out: drop the connection.
        while let Ok(req) = read_frame::<Request>(&mut stream).await {
            self.broker.control.gate().await;
            let resp = match self.handle(req).await {
                Ok(r) => r,
                Err(e) => panic!("broker-0: disk error: {e}"),
            };
            if write_frame(&mut stream, &resp).await.is_err() {
                return;
            }
        }
    }

    async fn handle(&self, req: Request) -> io::Result<Response> {
        let per_batch = self.broker.scenario.broker.fsync == Fsync::PerBatch;
        match req {
            Request::Produce { records } => {
                self.disk_delay().await;
                let now = now_us();
                let mut st = self.state.borrow_mut();
                let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); st.partitions.len()];
                for r in &records {
                    let p = &mut st.partitions[r.partition as usize];
                    let stored = Stored {
                        offset: p.log_end(),
                        id: r.id,
                        key: r.key,
                        append_us: now,
                    };
                    encode_record(&stored, &mut bufs[r.partition as usize]);
                    p.records.push(stored);
                    self.broker.recorder.record(
                        r.id,
                        r.key,
                        EventKind::Append {
                            partition: r.partition,
                            offset: stored.offset,
                        },
                    );
                }
                for (p, buf) in st.partitions.iter_mut().zip(&bufs) {
                    p.file.0.append(buf);
                    if per_batch {
                        p.file.0.sync()?;
                    }
                }
                Ok(Response::Produced)
            }
            Request::Fetch {
                partition,
                offset,
                max,
            } => {
                let st = self.state.borrow();
                let p = &st.partitions[partition as usize];
                if offset > p.log_end() {
                    return Ok(Response::OutOfRange {
                        log_end: p.log_end(),
                    });
                }
                let from = offset.max(p.log_start);
                let i = (from - p.log_start) as usize;
                let j = (i + max as usize).min(p.records.len());
                let records = p.records[i..j]
                    .iter()
                    .map(|r| Fetched {
                        offset: r.offset,
                        id: r.id,
                        key: r.key,
                    })
                    .collect();
                Ok(Response::Records {
                    records,
                    log_end: p.log_end(),
                })
            }
            Request::Commit {
                group,
                partition,
                offset,
                generation,
            } => {
                self.disk_delay().await;
                let mut st = self.state.borrow_mut();
                let p = partition as usize;
                if group == st.group && generation > st.generations[p] {
                    st.generations[p] = generation;
                    st.committed[partition as usize] = Some(offset);
                    st.offsets.append(partition, offset);
                    if per_batch {
                        st.offsets.0.sync()?;
                    }
                }
                Ok(Response::Committed)
            }
            Request::OffsetFetch { group, partitions } => {
                let st = self.state.borrow();
                let offsets = partitions
                    .iter()
                    .map(|&p| {
                        if group == st.group {
                            st.committed[p as usize]
                        } else {
                            None
                        }
                    })
                    .collect();
                Ok(Response::Offsets { offsets })
            }
            Request::Apply { .. } => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the broker got a store request",
            )),
        }
    }

    /// Extra disk latency inside a `slow_storage` window.
    async fn disk_delay(&self) {
        let d = self
            .broker
            .control
            .storage_delay(&mut *self.rng.borrow_mut());
        if d > Duration::ZERO {
            tokio::time::sleep(d).await;
        }
    }
}

fn now_us() -> u64 {
    turmoil::sim_elapsed().unwrap_or_default().as_micros() as u64
}
