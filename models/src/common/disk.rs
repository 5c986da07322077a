//! Files on turmoil's simulated disk, as every broker family keeps them:
//! append-only, with a page cache of their own until `sync`; a crash (power
//! loss) discards what was never synced, which is exactly what the fsync
//! policies are about. Each family's record formats live with the family
//! (`log/files.rs`, `queue/journal.rs`); this module knows bytes only.
//!
//! The page cache is this module's own buffer, handed to turmoil's fs as one
//! write followed by an fsync: turmoil keeps unsynced writes in a list it
//! scans on every write, so thousands of unsynced appends (`fsync = "never"`)
//! made a 90 s scenario take 250 s of wall time instead of 1.3 s. Power loss
//! loses the buffer exactly as it would lose dirty pages.
//!
//! Records are fixed-size or framed with a CRC, so recovery can find a torn
//! or corrupt tail, truncate the file there, and go on.

use std::io;
use std::os::unix::fs::FileExt;
use turmoil::fs::shim::std::fs::{self, File, OpenOptions};

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
    pub(crate) fn open(path: &str) -> io::Result<(AppendFile, Vec<u8>)> {
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

    /// Appends what `encode` adds to the page cache, encoded in place (no
    /// buffer of the caller's per record).
    pub fn append_with(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        encode(&mut self.dirty);
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

    /// Bytes in the file, page cache included.
    pub fn len(&self) -> u64 {
        self.synced_len + self.dirty.len() as u64
    }

    /// A file with no disk behind it, for unit tests of in-memory logic.
    #[cfg(test)]
    pub fn detached() -> AppendFile {
        AppendFile {
            path: "(detached)".to_string(),
            file: None,
            synced_len: 0,
            dirty: Vec::new(),
        }
    }
}

pub(crate) fn ctx(e: io::Error, what: &str, path: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {path}: {e}"))
}

pub(crate) fn crc(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
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
