//! A queue node's journal on disk, over [`crate::common::disk`].

use crate::common::disk::{crc, u32_at, u64_at, AppendFile};
use crate::common::wire::{QMsg, QueueOp};
use harness::MsgId;
use std::io;

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
