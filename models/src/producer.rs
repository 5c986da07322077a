//! A producer: generates its share of the load schedule, buffers it (bounded),
//! and publishes batches with one request in flight, retrying with backoff.
//! A message's fate as the producer knows it is recorded: `ack` (confirmed),
//! `reject` (refused: its buffer was full), or `timeout` (no answer after every
//! retry: indeterminate — the broker may well have appended it).

use crate::link::{Link, Route};
use crate::schedule::{key_of, Schedule};
use crate::wire::{Record, Request, Response, BROKER_PORT};
use harness::model::{Control, Recorder};
use harness::scenario::{Host, Role, Scenario};
use harness::{EventKind, MsgId, Reason};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::rc::Rc;

pub struct Producer {
    pub index: u32,
    pub scenario: Rc<Scenario>,
    pub schedule: Rc<Schedule>,
    pub recorder: Recorder,
    pub control: Rc<Control>,
    pub seed: u64,
}

impl Producer {
    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let sc = &self.scenario;
        let w = &sc.workload;
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ incarnation.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let broker = Host::new(Role::Broker, 0).to_string();
        let mut link = Link::new(broker, BROKER_PORT, Route::new(), w.request_timeout);
        let mut buffer: VecDeque<Record> = VecDeque::new();
        // A restarted producer resumes at the schedule's present: messages
        // due while it was down were never created.
        let mut next_seq = self.schedule.due_for(self.index, turmoil::elapsed());

        loop {
            self.control.gate().await;
            let now = turmoil::elapsed();
            let due = self.schedule.due_for(self.index, now);
            for seq in next_seq..due {
                let id = MsgId::new(self.index, seq);
                let key = key_of(self.seed, seq, w.keys);
                if buffer.len() >= w.buffer_max as usize {
                    let reason = Reason::ProducerBufferFull;
                    self.recorder.record(id, key, EventKind::Reject { reason });
                    continue;
                }
                let partition = key % sc.topology.partitions;
                buffer.push_back(Record { id, key, partition });
            }
            next_seq = next_seq.max(due);

            if buffer.is_empty() {
                if now >= sc.duration {
                    return Ok(());
                }
                tokio::time::sleep(w.linger).await;
                continue;
            }

            let n = buffer.len().min(w.batch_max as usize);
            let records: Vec<Record> = buffer.drain(..n).collect();
            let req = Request::Produce {
                records: records.clone(),
            };
            let mut acked = false;
            for attempt in 1..=w.retries + 1 {
                for r in &records {
                    self.recorder
                        .record(r.id, r.key, EventKind::Send { attempt });
                }
                if let Ok(Response::Produced) = link.call(&mut rng, &req).await {
                    acked = true;
                    break;
                }
                self.control.gate().await;
            }
            let kind = if acked {
                EventKind::Ack
            } else {
                EventKind::Timeout
            };
            for r in &records {
                self.recorder.record(r.id, r.key, kind);
            }
            tokio::time::sleep(w.linger).await;
        }
    }
}
