//! One partition's log on one broker, and the leader's view of its
//! followers. The rules that decide durability live here as plain functions
//! over plain data, so they are unit-tested without a network:
//!
//! - **truncation** follows Kafka's leader-epoch protocol (KIP-101/279): every
//!   record carries the epoch of the leader that appended it; a follower sends
//!   the epoch of its last record, the leader answers with the end of its
//!   largest epoch at most that one, and the follower cuts its log there;
//! - **high watermark** = the smallest log end among the in-sync replicas,
//!   never moving backwards on one leader;
//! - **ISR**: a follower that has not caught up with the leader's log end for
//!   `replica_lag_max` leaves the in-sync set; one whose fetch position has
//!   reached the high watermark joins it again.

use crate::common::wire::Stored;
use crate::log::files::{encode_record, LogFile};
use crate::mutant::{self, Mutant};
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::time::Duration;

/// What a produce batch is to an idempotent producer's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedup {
    /// Not seen: append it.
    New,
    /// Already appended; its last record is at this offset.
    Duplicate { last_offset: u64 },
    /// Its first `skip` records are already appended (a follower elected
    /// with part of a batch it fetched); append the rest.
    Partial { skip: u32 },
}

pub struct Replica {
    /// First offset still held (retention moves it forward).
    pub log_start: u64,
    /// `records[i]` has offset `log_start + i`.
    pub records: Vec<Stored>,
    /// Offsets below it are committed (replicated to the whole ISR).
    pub hw: u64,
    file: LogFile,
    /// (epoch, first offset) in increasing order: Kafka's leader-epoch cache.
    epochs: Vec<(u32, u64)>,
    /// Per idempotent producer id: its last sequence and that record's offset.
    producers: BTreeMap<u64, (u32, u64)>,
    /// (offset, append time) of records retention deleted that the group
    /// had not committed past, oldest first: they are still lag (dropped,
    /// or being applied by a consumer that fetched them in time), and the
    /// oldest one's age is the lag's age. Memory only, like a broker's
    /// metrics: a restarted broker forgets them.
    pub deleted: VecDeque<(u64, u64)>,
}

impl Replica {
    /// The partition's replica as the disk has it; `log_start` from the
    /// broker's checkpoint (records below it were deleted by retention).
    pub fn recover(partition: u32, log_start: Option<u64>) -> io::Result<Replica> {
        let (file, stored) = LogFile::recover(partition)?;
        Ok(Replica::from_records(file, stored, log_start))
    }

    fn from_records(file: LogFile, stored: Vec<Stored>, log_start: Option<u64>) -> Replica {
        let first = stored.first().map_or(0, |r| r.offset);
        let log_start = log_start.unwrap_or(first).max(first);
        let mut r = Replica {
            log_start,
            records: Vec::new(),
            hw: 0,
            file,
            epochs: Vec::new(),
            producers: BTreeMap::new(),
            deleted: VecDeque::new(),
        };
        for s in stored.into_iter().filter(|s| s.offset >= log_start) {
            // Gaps in the file come from a reset below a later log start;
            // only the contiguous tail from `log_start` is the log.
            if s.offset != r.log_end() {
                r.records.clear();
                r.log_start = s.offset;
            }
            r.note(&s);
            r.records.push(s);
        }
        r.rebuild_indexes();
        r
    }

    pub fn log_end(&self) -> u64 {
        self.log_start + self.records.len() as u64
    }

    pub fn file(&mut self) -> &mut LogFile {
        &mut self.file
    }

    /// The epoch of the last record held (what a follower asks about).
    pub fn last_epoch(&self) -> Option<u32> {
        self.records.last().map(|r| r.epoch)
    }

    fn note(&mut self, s: &Stored) {
        if self.epochs.last().is_none_or(|e| s.epoch > e.0) {
            self.epochs.push((s.epoch, s.offset));
        }
        if s.pid != 0 {
            self.producers.insert(s.pid, (s.pseq, s.offset));
        }
    }

    fn rebuild_indexes(&mut self) {
        self.epochs.clear();
        self.producers.clear();
        let records = std::mem::take(&mut self.records);
        for s in &records {
            self.note(s);
        }
        self.records = records;
    }

    /// Appends to memory and the page cache (durable at the next sync).
    pub fn append(&mut self, s: Stored) {
        debug_assert_eq!(s.offset, self.log_end());
        self.file.0.append_with(|out| encode_record(&s, out));
        self.note(&s);
        // A long log grows by a quarter, not by doubling: at millions of
        // records a doubling reserves hundreds of MB never used (large
        // blocks grow by remapping pages, so growing often copies nothing).
        let n = self.records.len();
        if n == self.records.capacity() && n >= 1 << 16 {
            self.records.reserve_exact(n / 4);
        }
        self.records.push(s);
    }

    /// The records in `[from, from + max)` that are held.
    pub fn read(&self, from: u64, max: usize) -> &[Stored] {
        let i = (from.max(self.log_start) - self.log_start) as usize;
        let i = i.min(self.records.len());
        let j = i.saturating_add(max).min(self.records.len());
        &self.records[i..j]
    }

    /// Cuts the log at `offset` (a divergent suffix). Below the log start the
    /// log restarts empty at `offset`.
    pub fn truncate_to(&mut self, offset: u64) -> io::Result<()> {
        if offset >= self.log_end() {
            return Ok(());
        }
        if offset < self.log_start {
            return self.reset_to(offset);
        }
        let drop = self.log_end() - offset;
        let keep = self.file.records().saturating_sub(drop);
        self.file.keep(keep)?;
        self.records.truncate((offset - self.log_start) as usize);
        self.hw = self.hw.min(offset);
        self.rebuild_indexes();
        Ok(())
    }

    /// Empties the log; the next record appended has `offset` (a follower
    /// whose position fell outside its leader's log).
    pub fn reset_to(&mut self, offset: u64) -> io::Result<()> {
        self.file.keep(0)?;
        self.records.clear();
        self.log_start = offset;
        self.hw = self.hw.min(offset);
        self.rebuild_indexes();
        Ok(())
    }

    /// Forgets deleted records below `committed`: the group is past them.
    pub fn forget_deleted_below(&mut self, committed: u64) {
        while self.deleted.front().is_some_and(|&(o, _)| o < committed) {
            self.deleted.pop_front();
        }
    }

    /// The append time of the record at `offset`, held or deleted and
    /// remembered; None if neither.
    pub fn append_us_at(&self, offset: u64) -> Option<u64> {
        if offset >= self.log_start {
            return self.read(offset, 1).first().map(|s| s.append_us);
        }
        let i = self.deleted.partition_point(|&(o, _)| o < offset);
        self.deleted.get(i).map(|&(_, at)| at)
    }

    /// Deletes records below `offset` (retention) and returns them.
    pub fn delete_before(&mut self, offset: u64) -> Vec<Stored> {
        let n = (offset.clamp(self.log_start, self.log_end()) - self.log_start) as usize;
        let gone: Vec<Stored> = self.records.drain(..n).collect();
        self.log_start += n as u64;
        // Epochs that ended before the new start are gone with their records.
        let start = self.log_start;
        let next_starts: Vec<u64> = self.epochs.iter().skip(1).map(|e| e.1).collect();
        let mut i = 0;
        while i < next_starts.len() && next_starts[i] <= start {
            i += 1;
        }
        self.epochs.drain(..i);
        gone
    }

    /// The largest epoch at most `epoch` in this log and the offset where it
    /// ends (the start of the next epoch, or the log end). None when the log
    /// has no such epoch; it then "ends" at the log start.
    pub fn epoch_end(&self, epoch: u32) -> (Option<u32>, u64) {
        let i = self.epochs.partition_point(|e| e.0 <= epoch);
        if i == 0 {
            return (None, self.log_start);
        }
        let end = self.epochs.get(i).map_or(self.log_end(), |e| e.1);
        (Some(self.epochs[i - 1].0), end)
    }

    /// Where a follower must cut its log, given the leader's answer to its
    /// last epoch (KIP-279): at the leader's end of that epoch, and, if the
    /// leader's epoch is older than the follower's, also where the
    /// follower's own log leaves the leader's epoch.
    pub fn divergence_point(&self, leader_epoch: Option<u32>, leader_end: u64) -> u64 {
        let own = match leader_epoch {
            Some(e) => self.epoch_end(e).1,
            None => self.log_start,
        };
        leader_end.min(own).min(self.log_end())
    }

    /// How an idempotent producer's batch of `n` records starting at
    /// sequence `first_seq` relates to what this log holds.
    pub fn dedup(&self, pid: u64, first_seq: u32, n: u32) -> Dedup {
        if pid == 0 || n == 0 || mutant::active(Mutant::NoDedup) {
            return Dedup::New;
        }
        match self.producers.get(&pid) {
            Some(&(last_seq, last_offset)) if first_seq + n - 1 <= last_seq => {
                Dedup::Duplicate { last_offset }
            }
            Some(&(last_seq, _)) if first_seq <= last_seq => Dedup::Partial {
                skip: last_seq - first_seq + 1,
            },
            _ => Dedup::New,
        }
    }
}

/// What the leader knows of one follower in the current epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Follower {
    /// The offset of its last fetch: everything below it is on the follower.
    pub fetch_offset: u64,
    /// When it last fetched from at least the log end the leader had at its
    /// previous fetch (Kafka's `lastCaughtUpTime`).
    pub caught_up_at: Duration,
    /// The leader's log end when the previous fetch was answered.
    leo_at_last_fetch: u64,
    /// Whether it has fetched at all in this epoch (and incarnation).
    fetched: bool,
    /// The follower's incarnation at its last fetch: a restarted follower
    /// may have lost what it had, so its position starts afresh.
    incarnation: u64,
}

/// A leader's view of its partition's followers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leadership {
    pub epoch: u32,
    /// The in-sync set the leader acts on: the controller's (at
    /// `isr_version`) plus any expansion it has asked for and not yet heard
    /// back about — the "maximal ISR" of KIP-497, so the high watermark
    /// never counts on fewer replicas than the controller may.
    pub isr: Vec<u32>,
    pub isr_version: u32,
    /// The leader's log end when it took over: a follower joins the ISR only
    /// once it holds everything up to it (KAFKA-7128), so a new leader's
    /// lower high watermark cannot let a replica missing committed records in.
    pub epoch_start: u64,
    pub followers: BTreeMap<u32, Follower>,
}

impl Leadership {
    /// A new leadership: followers get a full `replica_lag_max` of grace.
    pub fn new(
        me: u32,
        epoch: u32,
        (isr, isr_version): (Vec<u32>, u32),
        epoch_start: u64,
        replicas: &[u32],
        now: Duration,
    ) -> Self {
        let followers = replicas
            .iter()
            .filter(|&&r| r != me)
            .map(|&r| {
                let f = Follower {
                    fetch_offset: 0,
                    caught_up_at: now,
                    leo_at_last_fetch: 0,
                    fetched: false,
                    incarnation: 0,
                };
                (r, f)
            })
            .collect();
        Leadership {
            epoch,
            isr,
            isr_version,
            epoch_start,
            followers,
        }
    }

    /// A follower (in `incarnation`) fetched from `offset` while the
    /// leader's log ends at `leo`.
    pub fn on_fetch(
        &mut self,
        replica: u32,
        incarnation: u64,
        offset: u64,
        leo: u64,
        now: Duration,
    ) {
        if let Some(f) = self.followers.get_mut(&replica) {
            if f.fetched && f.incarnation != incarnation {
                f.fetched = false;
            }
            f.incarnation = incarnation;
            if offset >= leo || (f.fetched && offset >= f.leo_at_last_fetch) {
                f.caught_up_at = now;
            }
            f.fetch_offset = offset;
            f.leo_at_last_fetch = leo;
            f.fetched = true;
        }
    }

    /// The smallest log end among the in-sync replicas (the leader's own is
    /// `leo`). A follower that has not fetched in this epoch holds it at 0.
    pub fn high_watermark(&self, me: u32, leo: u64) -> u64 {
        if mutant::active(Mutant::EarlyHighWatermark) {
            return leo;
        }
        self.isr
            .iter()
            .filter(|&&r| r != me)
            .map(|r| {
                self.followers
                    .get(r)
                    .filter(|f| f.fetched)
                    .map_or(0, |f| f.fetch_offset)
            })
            .fold(leo, u64::min)
    }

    /// The in-sync set the leader should ask for now: members that fell
    /// behind for longer than `lag_max` leave; followers that reached the
    /// high watermark join. Sorted; always holds the leader.
    pub fn wanted_isr(&self, me: u32, hw: u64, now: Duration, lag_max: Duration) -> Vec<u32> {
        let mut isr = vec![me];
        for (&r, f) in &self.followers {
            let member = self.isr.contains(&r);
            let keep = member && now.saturating_sub(f.caught_up_at) <= lag_max;
            let join = !member && f.fetched && f.fetch_offset >= hw.max(self.epoch_start);
            if keep || join {
                isr.push(r);
            }
        }
        isr.sort();
        isr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::MsgId;

    fn rec(offset: u64, epoch: u32) -> Stored {
        Stored {
            offset,
            id: MsgId::new(0, offset as u32),
            key: 1,
            append_us: offset,
            epoch,
            pid: 0,
            pseq: 0,
        }
    }

    /// A replica without a disk behind it (the file is never touched by
    /// the pure functions under test).
    fn replica(epochs: &[u32]) -> Replica {
        let mut r = Replica {
            log_start: 0,
            records: Vec::new(),
            hw: 0,
            file: LogFile::detached(),
            epochs: Vec::new(),
            producers: BTreeMap::new(),
            deleted: VecDeque::new(),
        };
        for (i, &e) in epochs.iter().enumerate() {
            let s = rec(i as u64, e);
            r.note(&s);
            r.records.push(s);
        }
        r
    }

    #[test]
    fn epoch_end_finds_the_largest_epoch_at_most_the_asked_one() {
        let leader = replica(&[1, 1, 2, 2, 2, 4]);
        assert_eq!(leader.epoch_end(1), (Some(1), 2));
        assert_eq!(leader.epoch_end(2), (Some(2), 5));
        assert_eq!(leader.epoch_end(3), (Some(2), 5));
        assert_eq!(leader.epoch_end(4), (Some(4), 6));
        assert_eq!(leader.epoch_end(0), (None, 0));
    }

    #[test]
    fn follower_with_a_longer_same_epoch_tail_cuts_it() {
        // The old leader appended offsets 3..6 under epoch 1 that the new
        // leader (epoch 2 from offset 3) never had: Jepsen's lost writes.
        let leader = replica(&[1, 1, 1, 2, 2]);
        let follower = replica(&[1, 1, 1, 1, 1, 1]);
        let (e, end) = leader.epoch_end(follower.last_epoch().unwrap());
        assert_eq!((e, end), (Some(1), 3));
        assert_eq!(follower.divergence_point(e, end), 3);
    }

    #[test]
    fn follower_with_an_epoch_the_leader_never_had_cuts_where_it_began() {
        // KIP-279: follower [1,1,3,3], leader [1,1,2,2,2,4]; asking about
        // epoch 3 gets epoch 2 ending at 5, but the follower's own log left
        // epoch 2 (it has none) at offset 2.
        let leader = replica(&[1, 1, 2, 2, 2, 4]);
        let follower = replica(&[1, 1, 3, 3]);
        let (e, end) = leader.epoch_end(3);
        assert_eq!((e, end), (Some(2), 5));
        assert_eq!(follower.divergence_point(e, end), 2);
    }

    #[test]
    fn a_follower_that_is_a_prefix_keeps_everything() {
        let leader = replica(&[1, 1, 2, 2]);
        let follower = replica(&[1, 1, 2]);
        let (e, end) = leader.epoch_end(2);
        assert_eq!(follower.divergence_point(e, end), 3);
    }

    #[test]
    fn a_leader_without_the_epoch_empties_the_follower() {
        let leader = replica(&[5, 5]);
        let follower = replica(&[1, 1, 1]);
        let (e, end) = leader.epoch_end(1);
        assert_eq!((e, end), (None, 0));
        assert_eq!(follower.divergence_point(e, end), 0);
    }

    #[test]
    fn dedup_recognises_a_resent_batch() {
        let mut r = replica(&[]);
        for (i, seq) in [0u32, 1, 2].into_iter().enumerate() {
            let s = Stored {
                pid: 7,
                pseq: seq,
                ..rec(i as u64, 1)
            };
            r.note(&s);
            r.records.push(s);
        }
        assert_eq!(r.dedup(7, 0, 3), Dedup::Duplicate { last_offset: 2 });
        assert_eq!(r.dedup(7, 2, 1), Dedup::Duplicate { last_offset: 2 });
        assert_eq!(r.dedup(7, 3, 2), Dedup::New);
        assert_eq!(r.dedup(7, 1, 4), Dedup::Partial { skip: 2 });
        assert_eq!(r.dedup(8, 0, 1), Dedup::New);
        assert_eq!(
            r.dedup(0, 0, 1),
            Dedup::New,
            "plain producers are never de-duplicated"
        );
    }

    #[test]
    fn high_watermark_is_the_smallest_isr_log_end() {
        let s = Duration::from_secs;
        let mut l = Leadership::new(0, 3, (vec![0, 1, 2], 0), 0, &[0, 1, 2], s(0));
        assert_eq!(l.high_watermark(0, 10), 0, "followers have not fetched yet");
        l.on_fetch(1, 0, 8, 10, s(1));
        l.on_fetch(2, 0, 6, 10, s(1));
        assert_eq!(l.high_watermark(0, 10), 6);
        // Out of the ISR, a slow follower no longer holds it back.
        l.isr = vec![0, 1];
        assert_eq!(l.high_watermark(0, 10), 8);
        // Alone in the ISR, the leader commits everything it has: the
        // configuration Jepsen's 2013 analysis broke.
        l.isr = vec![0];
        assert_eq!(l.high_watermark(0, 10), 10);
    }

    #[test]
    fn isr_shrinks_after_lag_max_and_grows_back_at_the_high_watermark() {
        let s = Duration::from_secs;
        let lag_max = s(10);
        let mut l = Leadership::new(0, 1, (vec![0, 1, 2], 0), 0, &[0, 1, 2], s(0));
        l.on_fetch(1, 0, 0, 0, s(1));
        l.on_fetch(2, 0, 0, 0, s(1));
        // Follower 1 keeps up; follower 2 stops fetching at t = 1 s.
        for t in 2..=12 {
            l.on_fetch(1, 0, t * 10 - 10, t * 10, s(t));
        }
        assert_eq!(l.wanted_isr(0, 0, s(11), lag_max), vec![0, 1, 2]);
        assert_eq!(l.wanted_isr(0, 0, s(12), lag_max), vec![0, 1]);
        l.isr = vec![0, 1];
        // It comes back behind the high watermark: not yet in sync.
        l.on_fetch(2, 0, 50, 120, s(13));
        assert_eq!(l.wanted_isr(0, 110, s(13), lag_max), vec![0, 1]);
        l.on_fetch(2, 0, 115, 120, s(14));
        assert_eq!(l.wanted_isr(0, 110, s(14), lag_max), vec![0, 1, 2]);
    }

    #[test]
    fn a_follower_joins_only_with_everything_the_previous_leader_committed() {
        // The new leader took over at log end 100; its own high watermark is
        // only 40. A follower at 60 has not got the old leader's committed
        // records up to 100: it must not join.
        let s = Duration::from_secs;
        let mut l = Leadership::new(0, 2, (vec![0], 5), 100, &[0, 1], s(0));
        l.on_fetch(1, 0, 60, 100, s(1));
        assert_eq!(l.wanted_isr(0, 40, s(1), s(10)), vec![0]);
        l.on_fetch(1, 0, 100, 100, s(2));
        assert_eq!(l.wanted_isr(0, 40, s(2), s(10)), vec![0, 1]);
    }

    #[test]
    fn a_restarted_follower_counts_as_not_fetched() {
        let s = Duration::from_secs;
        let mut l = Leadership::new(0, 1, (vec![0, 1], 0), 0, &[0, 1], s(0));
        l.on_fetch(1, 0, 50, 50, s(1));
        assert_eq!(l.high_watermark(0, 50), 50);
        // Incarnation 1 fetches from 20 (it lost its unsynced tail).
        l.on_fetch(1, 1, 20, 50, s(2));
        assert_eq!(l.high_watermark(0, 50), 20);
        assert!(l.followers[&1].fetched);
    }

    #[test]
    fn retention_trims_the_epoch_cache() {
        let mut r = replica(&[1, 1, 2, 2, 3]);
        r.delete_before(4);
        assert_eq!(r.epoch_end(1), (None, 4));
        assert_eq!(r.epoch_end(3), (Some(3), 5));
        assert_eq!(r.last_epoch(), Some(3));
    }

    #[test]
    fn a_follower_fetching_behind_a_moving_log_end_is_still_caught_up() {
        // Under steady load a follower never fetches exactly at the log end,
        // but reaching the end the leader had at its previous fetch counts.
        let s = Duration::from_millis;
        let mut l = Leadership::new(0, 1, (vec![0, 1], 0), 0, &[0, 1], s(0));
        for t in 1..100 {
            l.on_fetch(1, 0, t * 10, t * 10 + 5, s(t * 100));
        }
        assert_eq!(l.followers[&1].caught_up_at, s(9900));
    }

    #[test]
    fn retention_and_truncation_keep_offsets_contiguous() {
        let mut r = replica(&[1, 1, 1, 2, 2]);
        let gone = r.delete_before(2);
        assert_eq!(gone.len(), 2);
        assert_eq!((r.log_start, r.log_end()), (2, 5));
        assert_eq!(r.read(0, 10).first().map(|s| s.offset), Some(2));
        assert_eq!(r.epoch_end(1), (Some(1), 3));
    }
}
