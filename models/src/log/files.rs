//! A log broker's files: one append-only log per partition (fixed-size
//! records with a CRC) and offsets logs (committed consumer offsets on the
//! controller, log starts on a broker), over [`crate::common::disk`].

use crate::common::disk::{crc, u32_at, u64_at, AppendFile};
use crate::common::wire::Stored;
use harness::MsgId;
use std::io;

/// A log record on disk: offset 8 | id 8 | key 4 | append time 8 |
/// leader epoch 4 | producer id 8 | producer sequence 4 | crc 4.
pub const LOG_RECORD: usize = 48;
/// An offsets record: partition 4 | offset 8 | crc 4.
const OFFSET_RECORD: usize = 16;

pub fn encode_record(r: &Stored, out: &mut Vec<u8>) {
    // Laid out in a fixed array, then appended once.
    let mut b = [0u8; LOG_RECORD];
    b[0..8].copy_from_slice(&r.offset.to_le_bytes());
    b[8..12].copy_from_slice(&r.id.producer.to_le_bytes());
    b[12..16].copy_from_slice(&r.id.seq.to_le_bytes());
    b[16..20].copy_from_slice(&r.key.to_le_bytes());
    b[20..28].copy_from_slice(&r.append_us.to_le_bytes());
    b[28..32].copy_from_slice(&r.epoch.to_le_bytes());
    b[32..40].copy_from_slice(&r.pid.to_le_bytes());
    b[40..44].copy_from_slice(&r.pseq.to_le_bytes());
    let c = crc(&b[..44]);
    b[44..48].copy_from_slice(&c.to_le_bytes());
    out.extend_from_slice(&b);
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
        LogFile(AppendFile::detached())
    }

    /// Records in the file, page cache included.
    pub fn records(&self) -> u64 {
        self.0.len() / LOG_RECORD as u64
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
