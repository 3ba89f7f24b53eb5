//! Whether an output file still holds the bytes its record describes. The
//! size and modification time recorded when verso last saw the file intact
//! serve as a stat cache (as git's index does); when the time has moved, the
//! file is hashed, so a page edited in place, even to the same size, is
//! found and rebuilt. Times are never part of a key.

use super::store::Record;
use std::fs::Metadata;
use std::path::Path;
use std::time::UNIX_EPOCH;

pub enum FileState {
    /// Missing, not a file, or other bytes.
    Differs,
    /// Size and time as recorded (the time).
    Intact(u64),
    /// The recorded bytes, found by hashing: the time moved (a restored CI
    /// cache, a copy). The record should take this time.
    Rehashed(u64),
}

/// The state of the file at `path` against what its record says.
pub fn state(path: &Path, record: &Record) -> FileState {
    holds(path, record.size, &record.hash, record.seen)
}

/// Does the file at `path` hold `size` bytes hashing to `hash`? `seen` is
/// the time at which it last did (0: never seen, so hash it).
pub fn holds(path: &Path, size: u64, hash: &[u8; 32], seen: u64) -> FileState {
    let Ok(meta) = std::fs::metadata(path) else {
        return FileState::Differs;
    };
    if !meta.is_file() || meta.len() != size {
        return FileState::Differs;
    }
    let time = modified(&meta);
    if time != 0 && time == seen {
        return FileState::Intact(time);
    }
    let mut hasher = blake3::Hasher::new();
    let same = hasher
        .update_mmap(path)
        .is_ok_and(|h| h.finalize().as_bytes() == hash);
    if same {
        FileState::Rehashed(time)
    } else {
        FileState::Differs
    }
}

/// Modification time in nanoseconds since the epoch; 0 when unknown.
pub fn modified(meta: &Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}
