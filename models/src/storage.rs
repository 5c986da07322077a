//! The broker's files on turmoil's simulated disk: one append-only log per
//! partition and one offsets log for committed consumer offsets. Appends sit
//! in a page cache until `sync`; a crash (power loss) discards what was never
//! synced, which is exactly what the fsync policies are about.
//!
//! The page cache is this module's own buffer, handed to turmoil's fs as one
//! write followed by an fsync: turmoil keeps unsynced writes in a list it
//! scans on every write, so thousands of unsynced appends (`fsync = "never"`)
//! made a 90 s scenario take 250 s of wall time instead of 1.3 s. Power loss
//! loses the buffer exactly as it would lose dirty pages.
//!
//! Records are fixed-size with a CRC, so recovery can find a torn or corrupt
//! tail, truncate the file there, and go on.

use crate::queue::{QMsg, QueueOp};
use harness::MsgId;
use std::io;
use std::os::unix::fs::FileExt;
use turmoil::fs::shim::std::fs::{self, File, OpenOptions};

/// A log record on disk: offset 8 | id 8 | key 4 | append time 8 |
/// leader epoch 4 | producer id 8 | producer sequence 4 | crc 4.
pub const LOG_RECORD: usize = 48;
/// An offsets record: partition 4 | offset 8 | crc 4.
const OFFSET_RECORD: usize = 16;

/// A record as a broker holds it in memory, and as a follower copies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    pub offset: u64,
    pub id: MsgId,
    pub key: u32,
    pub append_us: u64,
    /// Leader epoch under which the record was first appended; how replicas
    /// find where their logs diverge after a leader change.
    pub epoch: u32,
    /// Idempotent producer id (0 = a plain producer) and its per-partition
    /// sequence number: what a new leader rebuilds de-duplication from.
    pub pid: u64,
    pub pseq: u32,
}

/// An append-only file with the length already written, so an append needs
/// no metadata lookup.
pub struct AppendFile {
    path: String,
    /// None only for a detached file in unit tests (no simulation running).
    file: Option<File>,
    /// Bytes on disk (synced).
    synced_len: u64,
    /// Appended bytes not yet synced: the page cache.
    dirty: Vec<u8>,
}

impl AppendFile {
    /// Opens (creating durably if needed) and returns the file with its bytes.
    fn open(path: &str) -> io::Result<(AppendFile, Vec<u8>)> {
        let existed = fs::exists(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(path)
            .map_err(|e| ctx(e, "open", path))?;
        if !existed {
            // A new file's directory entry survives a crash only once its
            // parent directory is synced.
            file.sync_all().map_err(|e| ctx(e, "sync", path))?;
            fs::sync_dir("/").map_err(|e| ctx(e, "sync dir of", path))?;
        }
        let bytes = fs::read(path).map_err(|e| ctx(e, "read", path))?;
        let len = bytes.len() as u64;
        Ok((
            AppendFile {
                path: path.to_string(),
                file: Some(file),
                synced_len: len,
                dirty: Vec::new(),
            },
            bytes,
        ))
    }

    /// Cuts the file to `len` bytes (page cache included) and makes the cut
    /// durable: a torn tail at recovery, or a follower's divergent suffix.
    pub fn truncate(&mut self, len: u64) -> io::Result<()> {
        let cached_end = self.synced_len + self.dirty.len() as u64;
        if len >= cached_end {
            return Ok(());
        }
        if len >= self.synced_len {
            self.dirty.truncate((len - self.synced_len) as usize);
            return Ok(());
        }
        self.dirty.clear();
        if let Some(file) = &self.file {
            file.set_len(len)
                .map_err(|e| ctx(e, "truncate", &self.path))?;
            file.sync_all().map_err(|e| ctx(e, "sync", &self.path))?;
        }
        self.synced_len = len;
        Ok(())
    }

    /// Appends to the page cache: not durable until [`AppendFile::sync`].
    pub fn append(&mut self, bytes: &[u8]) {
        self.dirty.extend_from_slice(bytes);
    }

    /// Writes the page cache out and fsyncs, if anything is dirty.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.dirty.is_empty() {
            return Ok(());
        }
        if let Some(file) = &self.file {
            file.write_all_at(&self.dirty, self.synced_len)
                .map_err(|e| ctx(e, "write", &self.path))?;
            file.sync_all().map_err(|e| ctx(e, "sync", &self.path))?;
        }
        self.synced_len += self.dirty.len() as u64;
        self.dirty.clear();
        Ok(())
    }
}

fn ctx(e: io::Error, what: &str, path: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {path}: {e}"))
}

fn crc(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

pub fn encode_record(r: &Stored, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&r.offset.to_le_bytes());
    out.extend_from_slice(&r.id.producer.to_le_bytes());
    out.extend_from_slice(&r.id.seq.to_le_bytes());
    out.extend_from_slice(&r.key.to_le_bytes());
    out.extend_from_slice(&r.append_us.to_le_bytes());
    out.extend_from_slice(&r.epoch.to_le_bytes());
    out.extend_from_slice(&r.pid.to_le_bytes());
    out.extend_from_slice(&r.pseq.to_le_bytes());
    let c = crc(&out[start..]);
    out.extend_from_slice(&c.to_le_bytes());
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes the longest valid prefix: records with good CRCs and increasing
/// offsets (a follower that restarted from its leader's log start leaves a
/// gap). Returns the records and the byte length they cover.
pub fn decode_log(bytes: &[u8]) -> (Vec<Stored>, u64) {
    let mut out = Vec::with_capacity(bytes.len() / LOG_RECORD);
    for chunk in bytes.chunks_exact(LOG_RECORD) {
        if crc(&chunk[..44]) != u32_at(chunk, 44) {
            break;
        }
        let r = Stored {
            offset: u64_at(chunk, 0),
            id: MsgId::new(u32_at(chunk, 8), u32_at(chunk, 12)),
            key: u32_at(chunk, 16),
            append_us: u64_at(chunk, 20),
            epoch: u32_at(chunk, 28),
            pid: u64_at(chunk, 32),
            pseq: u32_at(chunk, 40),
        };
        if out.last().is_some_and(|p: &Stored| r.offset <= p.offset) {
            break;
        }
        out.push(r);
    }
    let valid = (out.len() * LOG_RECORD) as u64;
    (out, valid)
}

/// A partition's log file.
pub struct LogFile(pub AppendFile);

impl LogFile {
    /// Opens the partition's log and recovers its valid records.
    pub fn recover(partition: u32) -> io::Result<(LogFile, Vec<Stored>)> {
        let (mut f, bytes) = AppendFile::open(&format!("/partition-{partition}.log"))?;
        let (records, valid) = decode_log(&bytes);
        f.truncate(valid)?;
        Ok((LogFile(f), records))
    }

    /// Keeps the first `records` records of the file, dropping the rest.
    pub fn keep(&mut self, records: u64) -> io::Result<()> {
        self.0.truncate(records * LOG_RECORD as u64)
    }

    /// A file with no disk behind it, for unit tests of in-memory logic.
    #[cfg(test)]
    pub fn detached() -> LogFile {
        LogFile(AppendFile {
            path: "(detached)".to_string(),
            file: None,
            synced_len: 0,
            dirty: Vec::new(),
        })
    }

    /// Records in the file, page cache included.
    pub fn records(&self) -> u64 {
        (self.0.synced_len + self.0.dirty.len() as u64) / LOG_RECORD as u64
    }
}

/// A log of (partition, offset) pairs where the last record per partition
/// wins: committed offsets on the controller, log starts on a broker.
pub struct OffsetsFile(pub AppendFile);

impl OffsetsFile {
    pub fn recover(path: &str, partitions: u32) -> io::Result<(OffsetsFile, Vec<Option<u64>>)> {
        let (mut f, bytes) = AppendFile::open(path)?;
        let mut committed = vec![None; partitions as usize];
        let mut valid = 0u64;
        for chunk in bytes.chunks_exact(OFFSET_RECORD) {
            if crc(&chunk[..12]) != u32_at(chunk, 12) {
                break;
            }
            let p = u32_at(chunk, 0) as usize;
            if p >= committed.len() {
                break;
            }
            committed[p] = Some(u64_at(chunk, 4));
            valid += OFFSET_RECORD as u64;
        }
        f.truncate(valid)?;
        Ok((OffsetsFile(f), committed))
    }

    pub fn append(&mut self, partition: u32, offset: u64) {
        let mut b = Vec::with_capacity(OFFSET_RECORD);
        b.extend_from_slice(&partition.to_le_bytes());
        b.extend_from_slice(&offset.to_le_bytes());
        let c = crc(&b);
        b.extend_from_slice(&c.to_le_bytes());
        self.0.append(&b);
    }
}

/// A queue node's journal: one fixed-size record per [`QueueOp`]
/// (tag 1 | queue 4 | seq 8 | id 8 | key 4 | append time 8 | crc 4),
/// replayed at recovery up to the first torn or corrupt record.
pub struct JournalFile(pub AppendFile);

const JOURNAL_RECORD: usize = 37;

impl JournalFile {
    pub fn recover(path: &str) -> io::Result<(JournalFile, Vec<QueueOp>)> {
        let (mut f, bytes) = AppendFile::open(path)?;
        let mut ops = Vec::new();
        let mut valid = 0u64;
        for c in bytes.chunks_exact(JOURNAL_RECORD) {
            if crc(&c[..33]) != u32_at(c, 33) {
                break;
            }
            let (queue, seq) = (u32_at(c, 1), u64_at(c, 5));
            let id = u64_at(c, 13);
            let msg = QMsg {
                seq,
                id: MsgId::new((id >> 32) as u32, id as u32),
                key: u32_at(c, 21),
                append_us: u64_at(c, 25),
            };
            ops.push(match c[0] {
                0 => QueueOp::Add { queue, msg },
                1 => QueueOp::Remove { queue, seq },
                2 => QueueOp::ToDlq { queue, seq },
                3 => QueueOp::FromDlq { queue, seq },
                4 => QueueOp::Epoch {
                    epoch: seq,
                    ops: id,
                },
                _ => break,
            });
            valid += JOURNAL_RECORD as u64;
        }
        f.truncate(valid)?;
        Ok((JournalFile(f), ops))
    }

    /// Appends to the page cache (durable at the next sync).
    pub fn append(&mut self, op: &QueueOp) {
        let (tag, queue, msg) = match *op {
            QueueOp::Add { queue, msg } => (0u8, queue, msg),
            QueueOp::Remove { queue, seq } => (1, queue, blank(seq)),
            QueueOp::ToDlq { queue, seq } => (2, queue, blank(seq)),
            QueueOp::FromDlq { queue, seq } => (3, queue, blank(seq)),
            QueueOp::Epoch { epoch, ops } => {
                let mut m = blank(epoch);
                m.id = MsgId::new((ops >> 32) as u32, ops as u32);
                (4, 0, m)
            }
        };
        let mut b = Vec::with_capacity(JOURNAL_RECORD);
        b.push(tag);
        b.extend_from_slice(&queue.to_le_bytes());
        b.extend_from_slice(&msg.seq.to_le_bytes());
        let id = ((msg.id.producer as u64) << 32) | msg.id.seq as u64;
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&msg.key.to_le_bytes());
        b.extend_from_slice(&msg.append_us.to_le_bytes());
        let c = crc(&b);
        b.extend_from_slice(&c.to_le_bytes());
        self.0.append(&b);
    }

    /// Empties the journal durably (before it is rewritten from a snapshot).
    pub fn clear(&mut self) -> io::Result<()> {
        self.0.truncate(0)
    }
}

fn blank(seq: u64) -> QMsg {
    QMsg {
        seq,
        id: MsgId::new(0, 0),
        key: 0,
        append_us: 0,
    }
}

/// Snapshots of a small state (the controller's partition table): each a
/// frame `len 4 | crc 4 | bytes`; recovery keeps the last whole one.
pub struct StateFile(AppendFile);

impl StateFile {
    pub fn recover(path: &str) -> io::Result<(StateFile, Option<Vec<u8>>)> {
        let (mut f, bytes) = AppendFile::open(path)?;
        let (mut at, mut last) = (0usize, None);
        while bytes.len() >= at + 8 {
            let len = u32_at(&bytes, at) as usize;
            let end = at + 8 + len;
            if end > bytes.len() || crc(&bytes[at + 8..end]) != u32_at(&bytes, at + 4) {
                break;
            }
            last = Some(bytes[at + 8..end].to_vec());
            at = end;
        }
        f.truncate(at as u64)?;
        Ok((StateFile(f), last))
    }

    /// Appends a snapshot and syncs it.
    pub fn save(&mut self, snapshot: &[u8]) -> io::Result<()> {
        let mut b = Vec::with_capacity(8 + snapshot.len());
        b.extend_from_slice(&(snapshot.len() as u32).to_le_bytes());
        b.extend_from_slice(&crc(snapshot).to_le_bytes());
        b.extend_from_slice(snapshot);
        self.0.append(&b);
        self.0.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(offset: u64) -> Stored {
        Stored {
            offset,
            id: MsgId::new(1, offset as u32 + 10),
            key: 7,
            append_us: 1000 * offset,
            epoch: offset as u32 / 2,
            pid: 3 << 32,
            pseq: offset as u32,
        }
    }

    #[test]
    fn decode_round_trips() {
        let mut b = Vec::new();
        for o in 0..5 {
            encode_record(&rec(o), &mut b);
        }
        let (rs, valid) = decode_log(&b);
        assert_eq!(rs, (0..5).map(rec).collect::<Vec<_>>());
        assert_eq!(valid, 5 * LOG_RECORD as u64);
    }

    #[test]
    fn torn_or_corrupt_tail_is_cut() {
        let mut b = Vec::new();
        for o in 0..4 {
            encode_record(&rec(o), &mut b);
        }
        // A torn last record: only part of it reached the disk.
        let torn = &b[..3 * LOG_RECORD + 10];
        let (rs, valid) = decode_log(torn);
        assert_eq!(rs.len(), 3);
        assert_eq!(valid, 3 * LOG_RECORD as u64);
        // A flipped byte in record 2 ends the valid prefix there.
        let mut corrupt = b.clone();
        corrupt[2 * LOG_RECORD + 5] ^= 0xff;
        assert_eq!(decode_log(&corrupt).0.len(), 2);
    }
}
