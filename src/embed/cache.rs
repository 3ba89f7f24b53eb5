//! The cache of vectors: every vector a model made, under a hash of (model
//! identity, exact text), in one append-only file of checksummed records
//! (`vectors` in the cache folder). Appending keeps a batch's vectors the
//! moment it finishes; a record torn by SIGKILL fails its checksum and is
//! cut off at the next open, so at most the batches in flight are lost.
//!
//! Record: key (32 bytes), length n (u32 LE), n × f32 LE, and the first 8
//! bytes of the BLAKE3 hash of everything before it.

use crate::error::{Error, IoContext, Result};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub const FILE: &str = "vectors";

pub struct VectorCache {
    path: PathBuf,
    vectors: HashMap<[u8; 32], Vec<f32>>,
    /// `None` for `status`, which keeps new vectors in memory only.
    file: Option<BufWriter<File>>,
}

fn record(key: &[u8; 32], vector: &[f32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(44 + vector.len() * 4);
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(&(vector.len() as u32).to_le_bytes());
    for x in vector {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let check = blake3::hash(&bytes);
    bytes.extend_from_slice(&check.as_bytes()[..8]);
    bytes
}

/// The records of `bytes` up to the first torn or damaged one, and where
/// the intact part ends.
fn parse(bytes: &[u8]) -> (HashMap<[u8; 32], Vec<f32>>, usize) {
    let mut vectors = HashMap::new();
    let mut at = 0;
    while bytes.len() >= at + 36 {
        let n = u32::from_le_bytes(bytes[at + 32..at + 36].try_into().expect("4 bytes")) as usize;
        let end = at + 36 + n * 4;
        if bytes.len() < end + 8
            || blake3::hash(&bytes[at..end]).as_bytes()[..8] != bytes[end..end + 8]
        {
            break;
        }
        let key: [u8; 32] = bytes[at..at + 32].try_into().expect("32 bytes");
        let vector = bytes[at + 36..end]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        vectors.insert(key, vector);
        at = end + 8;
    }
    (vectors, at)
}

impl VectorCache {
    /// Open the cache in `dir`; `writable` appends to it (and cuts off a
    /// torn end), otherwise new vectors stay in memory.
    pub fn open(dir: &Path, writable: bool) -> Result<VectorCache> {
        let path = dir.join(FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let (vectors, intact) = parse(&bytes);
        let file = match writable {
            false => None,
            true => {
                std::fs::create_dir_all(dir).at(dir)?;
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .at(&path)?;
                if intact < bytes.len() {
                    file.set_len(intact as u64).at(&path)?;
                }
                Some(BufWriter::new(file))
            }
        };
        Ok(VectorCache {
            path,
            vectors,
            file,
        })
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<&[f32]> {
        self.vectors.get(key).map(Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// Keep a vector (written out at the next `flush`).
    pub fn put(&mut self, key: [u8; 32], vector: Vec<f32>) -> Result<()> {
        if let Some(file) = &mut self.file {
            file.write_all(&record(&key, &vector)).at(&self.path)?;
        }
        self.vectors.insert(key, vector);
        Ok(())
    }

    /// Write what was kept to the file; `durable` also waits for the disk.
    pub fn flush(&mut self, durable: bool) -> Result<()> {
        if let Some(file) = &mut self.file {
            file.flush().at(&self.path)?;
            if durable {
                file.get_ref().sync_data().at(&self.path)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_record_is_cut_off_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = VectorCache::open(dir.path(), true).unwrap();
        cache.put([1; 32], vec![0.5, -1.0]).unwrap();
        cache.put([2; 32], vec![0.25; 3]).unwrap();
        cache.flush(true).unwrap();
        drop(cache);
        let path = dir.path().join(FILE);
        let full = std::fs::read(&path).unwrap();
        // SIGKILL in the middle of the second record.
        std::fs::write(&path, &full[..full.len() - 5]).unwrap();
        let mut cache = VectorCache::open(dir.path(), true).unwrap();
        assert_eq!(cache.get(&[1; 32]), Some(&[0.5, -1.0][..]));
        assert_eq!(cache.get(&[2; 32]), None);
        cache.put([3; 32], vec![2.0]).unwrap();
        cache.flush(true).unwrap();
        let cache = VectorCache::open(dir.path(), false).unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&[3; 32]), Some(&[2.0][..]));
    }

    #[test]
    fn a_damaged_record_ends_what_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = VectorCache::open(dir.path(), true).unwrap();
        cache.put([1; 32], vec![1.0]).unwrap();
        cache.flush(false).unwrap();
        drop(cache);
        let path = dir.path().join(FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[37] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(VectorCache::open(dir.path(), false).unwrap().is_empty());
    }
}
