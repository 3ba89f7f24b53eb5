//! The input-file rule: a file's content hash, reused from the memo's stat
//! cache when its size and modification time are unchanged (as git's index
//! does; times never reach a key). Every file a build hashes is recorded, so
//! the root's fingerprint is exactly the set of files this build read.

use crate::error::{Doing, Error, IoContext, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// A file's content hash as of its size and modification time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    pub path: String,
    pub len: u64,
    pub modified: (i64, u32),
    pub hash: [u8; 32],
}

/// A modification time as (seconds, nanoseconds) since the epoch.
fn stamp(modified: std::time::SystemTime) -> (i64, u32) {
    let since_epoch = modified
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (since_epoch.as_secs() as i64, since_epoch.subsec_nanos())
}

pub struct Inputs {
    known: Vec<FileHash>,
    /// The stat cache after this build.
    seen: Mutex<Vec<FileHash>>,
    /// Every file hashed, by path as given: its content hash.
    read: Mutex<BTreeMap<String, blake3::Hash>>,
}

impl Inputs {
    pub fn new(known: Vec<FileHash>) -> Inputs {
        Inputs {
            known,
            seen: Default::default(),
            read: Default::default(),
        }
    }

    /// The content hash of the file at `path`; a missing file is bad input.
    pub fn hash(&self, path: &Path) -> Result<blake3::Hash> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return crate::vectors::read_input(path)
                    .map(|_| unreachable!("a missing file cannot be read"))
            }
            Err(e) => return Err(Error::io(Doing::ReadingCollection, path, e)),
        };
        let stamp = stamp(meta.modified().at(Doing::ReadingCollection, path)?);
        let name = path.to_string_lossy().into_owned();
        let known = self
            .known
            .iter()
            .find(|k| k.path == name && k.len == meta.len() && k.modified == stamp);
        let hash = match known {
            Some(k) => {
                self.seen.lock().unwrap().push(k.clone());
                blake3::Hash::from(k.hash)
            }
            None => {
                let mut h = blake3::Hasher::new();
                h.update_mmap_rayon(path)
                    .at(Doing::ReadingCollection, path)?;
                let hash = h.finalize();
                self.remember(&name, &meta, hash);
                hash
            }
        };
        self.read.lock().unwrap().insert(name, hash);
        Ok(hash)
    }

    /// The bytes of a file read whole (`read` says what a missing file is),
    /// and their hash.
    pub fn read_file(
        &self,
        path: &Path,
        read: impl FnOnce(&Path) -> Result<Vec<u8>>,
    ) -> Result<(Vec<u8>, blake3::Hash)> {
        let bytes = read(path)?;
        let hash = blake3::hash(&bytes);
        let name = path.to_string_lossy().into_owned();
        // The stat cache lets the next no-op build skip hashing it again.
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.len() == bytes.len() as u64 {
                self.remember(&name, &meta, hash);
            }
        }
        self.read.lock().unwrap().insert(name, hash);
        Ok((bytes, hash))
    }

    /// Keep a file's hash under its size and time, unless it was modified
    /// within the last two seconds: on a coarse clock it may change again
    /// with the same stamp.
    fn remember(&self, name: &str, meta: &std::fs::Metadata, hash: blake3::Hash) {
        let Ok(modified) = meta.modified() else {
            return;
        };
        let recent = std::time::SystemTime::now()
            .duration_since(modified)
            .map_or(true, |d| d.as_secs() < 2);
        if recent {
            return;
        }
        self.seen.lock().unwrap().push(FileHash {
            path: name.to_string(),
            len: meta.len(),
            modified: stamp(modified),
            hash: *hash.as_bytes(),
        });
    }

    /// The files read so far and their hashes.
    pub fn read(&self) -> BTreeMap<String, blake3::Hash> {
        self.read.lock().unwrap().clone()
    }

    /// The stat cache to keep.
    pub fn seen(&self) -> Vec<FileHash> {
        self.seen.lock().unwrap().clone()
    }
}
