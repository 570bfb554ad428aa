//! The disk spool: what one exporter could not deliver, kept on disk and
//! replayed when the backend is back, in this process or the next one that
//! uses the same directory.
//!
//! Contract:
//! - Owned by one exporter's delivery worker; every file operation runs on
//!   that thread (never an application thread). Not shared between threads.
//! - A batch goes to the spool instead of being dropped when it failed after
//!   its retries, met an open circuit breaker, or was still undelivered at
//!   the shutdown's deadline. It is kept as the exporter's request body, in
//!   checksummed records appended to segment files (see `segment`).
//! - The segment being written is locked (`flock`) by its writer; a replay
//!   (in any process) takes the same lock on the segment it replays and
//!   skips locked ones, so no two processes send one segment. A segment is
//!   deleted once the receiver has taken all its records; the offset of the
//!   first record not yet accepted is kept beside it, so at most the record
//!   in flight at a crash is sent twice.
//! - Bounded by `max_bytes` per exporter directory: to make room, the
//!   oldest unlocked segments are deleted, their spans counted as lost.
//! - Torn or corrupt records are skipped (with the rest of their segment)
//!   and counted, never a crash. A failed write (disk full, file-size limit)
//!   is cut back and its spans counted as lost.
//! - Counts, in the exporter's counters: `spooled` (spans written here),
//!   `replayed` (spans from the spool the receiver accepted, whichever
//!   process wrote them), `lost_from_spool` (spans the spool could not keep
//!   or deliver: failed writes, evicted segments, corrupt records, records
//!   the receiver rejected) and `spool_corrupt` (corrupt records).
//!   Summed over the processes that share a directory:
//!   `spooled == replayed + lost_from_spool (but failed writes) + spans on disk`.

mod segment;

use crate::error::{ExportError, ExportErrorKind};
use crate::pipeline::stats::ExporterCounters;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// A segment is closed and a new one begun past this size, or past a
/// quarter of the cap, so that eviction frees at most about a quarter.
const SEGMENT_BYTES: u64 = 4 << 20;

/// The spool's directory for an exporter whose requests go to
/// `destination` (its protocol and endpoint): one directory per exporter
/// and destination, so a replay never sends one backend's spans to another.
pub(crate) fn directory(root: &Path, exporter: &str, destination: &str) -> PathBuf {
    // FNV-1a: stable across builds and processes, unlike std's hasher.
    let hash = destination.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let name: String = exporter
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    root.join(format!("{name}-{hash:016x}"))
}

/// How a replay pass ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Nothing left to replay (or only segments other processes hold).
    Done,
    /// Stopped after its record budget; more is waiting.
    More,
    /// The receiver failed (retryable): try again later.
    Failed(String),
    /// `may_start` said no.
    Stopped,
}

struct Current {
    file: File,
    path: PathBuf,
    len: u64,
}

pub(crate) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    counters: Arc<ExporterCounters>,
    current: Option<Current>,
    created: u64,
    /// Bytes of segments in the directory as last seen (this process's
    /// writes and deletes kept up to date; rescanned when near the cap).
    on_disk: u64,
    backlog: bool,
}

impl Spool {
    /// Opens (creating) the directory. Does not replay.
    pub(crate) fn open(
        dir: PathBuf,
        max_bytes: u64,
        counters: Arc<ExporterCounters>,
    ) -> io::Result<Spool> {
        std::fs::create_dir_all(&dir)?;
        let mut spool = Spool {
            dir,
            max_bytes,
            counters,
            current: None,
            created: 0,
            on_disk: 0,
            backlog: false,
        };
        spool.rescan();
        Ok(spool)
    }

    fn rescan(&mut self) {
        let segments = segment::list(&self.dir).unwrap_or_default();
        self.backlog = !segments.is_empty();
        self.on_disk = segments
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
    }

    /// Whether segments may be waiting for a replay.
    pub(crate) fn has_backlog(&self) -> bool {
        self.backlog
    }

    /// Keeps one request body holding `spans` spans. False (and the spans
    /// counted as lost) when it could not be written.
    pub(crate) fn write(&mut self, spans: u64, body: &[u8]) -> bool {
        let record = segment::encode(spans as u32, body);
        let need = (record.len() + segment::MAGIC.len()) as u64;
        if self.on_disk + need > self.max_bytes {
            self.rescan();
            self.make_room(need);
        }
        let kept = self.on_disk + need <= self.max_bytes && self.append(&record).is_ok();
        if kept {
            self.counters.spooled.fetch_add(spans, Relaxed);
            self.backlog = true;
        } else {
            self.counters.lost_from_spool.fetch_add(spans, Relaxed);
        }
        kept
    }

    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        let full = self
            .current
            .as_ref()
            .is_none_or(|c| c.len + record.len() as u64 > SEGMENT_BYTES.min(self.max_bytes / 4));
        if full {
            self.close();
            self.begin()?;
        }
        let Some(c) = self.current.as_mut() else {
            return Err(io::Error::other("no segment"));
        };
        match segment::append(&mut c.file, c.len, record) {
            Ok(()) => {
                c.len += record.len() as u64;
                self.on_disk += record.len() as u64;
                Ok(())
            }
            Err(e) => {
                // The next write begins a new segment (this one may be the
                // file a size limit stopped).
                self.close();
                Err(e)
            }
        }
    }

    fn begin(&mut self) -> io::Result<()> {
        let path = segment::new_path(&self.dir, self.created);
        self.created += 1;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        // A new file nobody else has opened: the lock is free.
        try_lock(&file);
        if let Err(e) = segment::append(&mut file, 0, segment::MAGIC) {
            drop(file);
            segment::remove(&path);
            return Err(e);
        }
        self.on_disk += segment::MAGIC.len() as u64;
        self.current = Some(Current {
            file,
            path,
            len: segment::MAGIC.len() as u64,
        });
        Ok(())
    }

    /// Ends the segment being written (synced to disk, unlocked), so a
    /// replay may take it. A segment holding no record is deleted.
    pub(crate) fn close(&mut self) {
        if let Some(c) = self.current.take() {
            if c.len <= segment::MAGIC.len() as u64 {
                segment::remove(&c.path);
                self.on_disk = self.on_disk.saturating_sub(c.len);
            } else {
                let _ = c.file.sync_data();
                unlock(&c.file);
            }
        }
    }

    /// Deletes the oldest segments (not being written or replayed by anyone)
    /// until `need` more bytes fit under the cap; their spans are lost.
    fn make_room(&mut self, need: u64) {
        let current = self.current.as_ref().map(|c| c.path.clone());
        for path in segment::list(&self.dir).unwrap_or_default() {
            if self.on_disk + need <= self.max_bytes {
                return;
            }
            if Some(&path) == current.as_ref() {
                continue;
            }
            let Some((file, bytes)) = take(&path) else {
                continue;
            };
            let spans = count(&bytes, segment::read_done(&path));
            self.counters.lost_from_spool.fetch_add(spans, Relaxed);
            segment::remove(&path);
            unlock(&file);
            drop(file);
            self.on_disk = self.on_disk.saturating_sub(bytes.len() as u64);
        }
        // Only the segment being written is left: begin afresh.
        if self.on_disk + need > self.max_bytes {
            if let Some(c) = self.current.take() {
                let spans = count(
                    &std::fs::read(&c.path).unwrap_or_default(),
                    segment::MAGIC.len(),
                );
                self.counters.lost_from_spool.fetch_add(spans, Relaxed);
                segment::remove(&c.path);
                self.on_disk = self.on_disk.saturating_sub(c.len);
            }
        }
    }

    /// Replays up to `budget` records, oldest first, through `send`; asks
    /// `may_start` before each. Closes the segment being written first.
    pub(crate) fn replay(
        &mut self,
        budget: usize,
        may_start: impl Fn() -> bool,
        mut send: impl FnMut(&[u8]) -> Result<(), ExportError>,
    ) -> Replay {
        self.close();
        let c = self.counters.clone();
        let mut sent = 0;
        for path in segment::list(&self.dir).unwrap_or_default() {
            let Some((file, bytes)) = take(&path) else {
                continue;
            };
            if !segment::has_magic(&bytes) {
                // Created by a process that died before its first write.
                if bytes.len() >= segment::MAGIC.len() {
                    c.spool_corrupt.fetch_add(1, Relaxed);
                }
                self.forget(&path, bytes.len(), file);
                continue;
            }
            let mut at = segment::read_done(&path);
            loop {
                match segment::read(&bytes, at) {
                    segment::Read::Record { spans, body, next } => {
                        if sent == budget {
                            return Replay::More;
                        }
                        if !may_start() {
                            return Replay::Stopped;
                        }
                        let spans = u64::from(spans);
                        match send(body) {
                            Ok(()) => c.replayed.fetch_add(spans, Relaxed),
                            Err(e) => match e.kind {
                                ExportErrorKind::Retryable { .. } => {
                                    return Replay::Failed(e.reason)
                                }
                                ExportErrorKind::PartialSuccess { rejected } => {
                                    let rejected = rejected.min(spans);
                                    c.lost_from_spool.fetch_add(rejected, Relaxed);
                                    c.replayed.fetch_add(spans - rejected, Relaxed)
                                }
                                ExportErrorKind::Rejected | ExportErrorKind::TooLarge => {
                                    c.lost_from_spool.fetch_add(spans, Relaxed)
                                }
                            },
                        };
                        sent += 1;
                        at = next;
                        let _ = segment::write_done(&path, at);
                    }
                    segment::Read::End => break,
                    segment::Read::Corrupt { spans } => {
                        c.spool_corrupt.fetch_add(1, Relaxed);
                        c.lost_from_spool
                            .fetch_add(u64::from(spans.unwrap_or(0)), Relaxed);
                        break;
                    }
                }
            }
            self.forget(&path, bytes.len(), file);
        }
        self.rescan();
        Replay::Done
    }

    /// Deletes a segment this spool holds the lock of.
    fn forget(&mut self, path: &Path, len: usize, file: File) {
        segment::remove(path);
        unlock(&file);
        drop(file);
        self.on_disk = self.on_disk.saturating_sub(len as u64);
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.close();
    }
}

/// Opens and locks a segment no one else holds, and reads it. None when it
/// is gone or locked (being written, or replayed by another process).
fn take(path: &Path) -> Option<(File, Vec<u8>)> {
    let mut file = OpenOptions::new().read(true).write(true).open(path).ok()?;
    try_lock(&file).then_some(())?;
    // Deleted between the listing and the lock by the process that held it.
    if !path.exists() {
        return None;
    }
    let bytes = segment::read_all(&mut file).ok()?;
    Some((file, bytes))
}

/// `flock(LOCK_EX | LOCK_NB)`: whether this open file now holds the lock.
/// (`File::try_lock` once the minimum Rust version reaches 1.89.)
fn try_lock(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor owned by `file` for the call's duration.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Releases the lock explicitly rather than at close: a forked child
/// sharing the descriptor would otherwise keep it held.
fn unlock(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: as in `try_lock`.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
}

/// Spans in a segment's bytes from `at`, up to any corruption.
fn count(bytes: &[u8], mut at: usize) -> u64 {
    let mut spans = 0;
    while let segment::Read::Record { spans: s, next, .. } = segment::read(bytes, at) {
        spans += u64::from(s);
        at = next;
    }
    spans
}
