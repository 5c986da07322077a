//! The protocol between actors: length-prefixed postcard frames over turmoil
//! TCP. One request, one response, in order on a connection; a timed-out
//! connection is dropped, so a late answer can never be taken for a newer one.

use harness::MsgId;
use serde::{Deserialize, Serialize};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::TcpStream;

/// Port the broker listens on.
pub const BROKER_PORT: u16 = 9092;
/// Port a store node listens on.
pub const STORE_PORT: u16 = 7000;
/// Largest frame accepted; a bigger length prefix means a corrupt stream.
const FRAME_MAX: usize = 8 << 20;

/// A message as producers send it and the broker stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: MsgId,
    pub key: u32,
    pub partition: u32,
}

/// A record read back from a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetched {
    pub offset: u64,
    pub id: MsgId,
    pub key: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Produce {
        records: Vec<Record>,
    },
    Fetch {
        partition: u32,
        offset: u64,
        max: u32,
    },
    /// `generation` orders one partition's commits (see the consumer).
    Commit {
        group: String,
        partition: u32,
        offset: u64,
        generation: u64,
    },
    OffsetFetch {
        group: String,
        partitions: Vec<u32>,
    },
    Apply {
        id: MsgId,
        key: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Every record of the produce request is appended (and durable if the
    /// fsync policy says so).
    Produced,
    Records {
        records: Vec<Fetched>,
        log_end: u64,
    },
    /// The fetch offset is past the log end (the log lost its tail in a crash).
    OutOfRange {
        log_end: u64,
    },
    Committed,
    /// Committed offset per requested partition; None = the group never committed.
    Offsets {
        offsets: Vec<Option<u64>>,
    },
    Applied,
}

pub async fn write_frame<T: Serialize>(stream: &mut TcpStream, msg: &T) -> io::Result<()> {
    let body = postcard::to_allocvec(msg).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await
}

pub async fn read_frame<T: for<'de> Deserialize<'de>>(stream: &mut TcpStream) -> io::Result<T> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > FRAME_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the {FRAME_MAX}-byte limit"),
        ));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    postcard::from_bytes(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
