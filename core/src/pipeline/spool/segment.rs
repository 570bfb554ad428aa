//! The spool's file format: append-only segment files of checksummed
//! records, one record per request body.
//!
//! A segment starts with [`MAGIC`]; each record is a 12-byte header
//! (little-endian `u32` body length, `u32` span count, `u32` CRC-32 of the
//! span count and the body) followed by the body. A crash or a full disk
//! mid-write leaves a torn last record, which the reader reports as
//! [`Read::Corrupt`] (as it does a record whose checksum does not match):
//! nothing after it in that segment can be trusted, since a bad length
//! hides where the next record starts.
//!
//! Segment names sort in the order they were created (nanoseconds since the
//! epoch, then the writer's pid and a counter), so replaying in name order
//! replays oldest first. Beside a segment being replayed, `<name>.done`
//! holds the offset of the first record the receiver has not yet accepted,
//! so a replay cut short (by a failure, or a crash) resumes there.

use std::fs::File;
use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};

pub(crate) const MAGIC: &[u8; 8] = b"AGSPOOL1";
pub(crate) const HEADER: usize = 12;
pub(crate) const EXTENSION: &str = "seg";

/// Bodies larger than this are not a record this format wrote (the largest
/// request an exporter sends is far smaller): the length field is corrupt.
const MAX_BODY: u32 = 256 << 20;

/// One record's bytes, header included.
pub(crate) fn encode(spans: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&spans.to_le_bytes());
    out.extend_from_slice(&checksum(spans, body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

fn checksum(spans: u32, body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&spans.to_le_bytes());
    h.update(body);
    h.finalize()
}

/// What the reader found at an offset.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read<'a> {
    Record {
        spans: u32,
        body: &'a [u8],
        /// Offset of the next record.
        next: usize,
    },
    /// The segment ends here.
    End,
    /// Torn or corrupt from here on; `spans` is the header's span count
    /// when the header itself was complete (it may be wrong).
    Corrupt { spans: Option<u32> },
}

/// Reads the record at `at` of a whole segment's bytes.
pub(crate) fn read(bytes: &[u8], at: usize) -> Read<'_> {
    if at == bytes.len() {
        return Read::End;
    }
    let Some(head) = bytes.get(at..at + HEADER) else {
        return Read::Corrupt { spans: None };
    };
    let word = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().expect("4 bytes"));
    let (len, spans, crc) = (word(0), word(4), word(8));
    let start = at + HEADER;
    let body = (len <= MAX_BODY)
        .then(|| bytes.get(start..start + len as usize))
        .flatten();
    match body {
        Some(body) if checksum(spans, body) == crc => Read::Record {
            spans,
            body,
            next: start + len as usize,
        },
        _ => Read::Corrupt { spans: Some(spans) },
    }
}

/// Whether `bytes` starts like a segment.
pub(crate) fn has_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The path of a new segment in `dir`: unique to this process and call,
/// sorting after every segment created before it.
pub(crate) fn new_path(dir: &Path, counter: u64) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    dir.join(format!(
        "{nanos:024}-{:010}-{counter:08}.{EXTENSION}",
        std::process::id()
    ))
}

/// The segments in `dir`, oldest first.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == EXTENSION))
        .collect();
    out.sort();
    Ok(out)
}

/// Where a replay of `segment` resumes (see the module docs).
pub(crate) fn done_path(segment: &Path) -> PathBuf {
    let mut name = segment.as_os_str().to_owned();
    name.push(".done");
    PathBuf::from(name)
}

pub(crate) fn read_done(segment: &Path) -> usize {
    std::fs::read_to_string(done_path(segment))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(MAGIC.len())
}

pub(crate) fn write_done(segment: &Path, offset: usize) -> io::Result<()> {
    std::fs::write(done_path(segment), offset.to_string())
}

/// Deletes a segment and its replay offset.
pub(crate) fn remove(segment: &Path) {
    let _ = std::fs::remove_file(segment);
    let _ = std::fs::remove_file(done_path(segment));
}

/// Reads a whole segment.
pub(crate) fn read_all(file: &mut File) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Appends `record` at `len`; on failure (disk full, file-size limit) cuts
/// the file back to `len`, so a failed write leaves no torn record behind
/// when the cut succeeds.
pub(crate) fn append(file: &mut File, len: u64, record: &[u8]) -> io::Result<()> {
    match file.write_all(record) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = file.set_len(len);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(records: &[(u32, &[u8])]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        for (spans, body) in records {
            bytes.extend(encode(*spans, body));
        }
        bytes
    }

    #[test]
    fn records_read_back_in_order_then_end() {
        let bytes = segment(&[(3, b"abc"), (1, b""), (7, b"0123456789")]);
        let mut at = MAGIC.len();
        let mut got = Vec::new();
        loop {
            match read(&bytes, at) {
                Read::Record { spans, body, next } => {
                    got.push((spans, body.to_vec()));
                    at = next;
                }
                Read::End => break,
                Read::Corrupt { .. } => panic!("corrupt at {at}"),
            }
        }
        assert_eq!(
            got,
            vec![
                (3, b"abc".to_vec()),
                (1, vec![]),
                (7, b"0123456789".to_vec())
            ]
        );
    }

    #[test]
    fn a_torn_record_and_a_flipped_bit_are_corrupt() {
        let bytes = segment(&[(3, b"abc"), (5, b"hello")]);
        let second = MAGIC.len() + HEADER + 3;
        for cut in second + 1..bytes.len() {
            let spans = (cut >= second + HEADER).then_some(5);
            assert_eq!(
                read(&bytes[..cut], second),
                Read::Corrupt { spans },
                "cut at {cut}"
            );
        }
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(read(&flipped, second), Read::Corrupt { spans: Some(5) });
        let mut bad_len = bytes.clone();
        bad_len[second..second + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read(&bad_len, second), Read::Corrupt { spans: Some(5) });
        assert!(matches!(
            read(&bytes, MAGIC.len()),
            Read::Record { spans: 3, .. }
        ));
    }

    #[test]
    fn new_segments_sort_after_older_ones() {
        let dir = Path::new("/spool");
        let a = new_path(dir, 0);
        let b = new_path(dir, 1);
        assert!(a < b, "{a:?} < {b:?}");
        assert_eq!(done_path(&a).extension().unwrap(), "done");
    }
}
