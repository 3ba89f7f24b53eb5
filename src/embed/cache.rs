//! The cache of vectors: every vector a model made, under a hash of (model
//! identity, exact text), in one append-only file of checksummed records
//! (`vectors` in the cache folder). Appending keeps a batch's vectors the
//! moment it finishes; a record torn by SIGKILL fails its checksum and is
//! cut off at the next open, so at most the batches in flight are lost.
//!
//! Record: key (32 bytes), length n (u32 LE), n × f32 LE, and the first 8
//! bytes of the BLAKE3 hash of everything before it.
//!
//! Beside it, `vectors.used` says when each vector was last among a
//! build's texts. Vectors of texts no longer in the collection are kept
//! (an undone edit costs no model work), as many as there are current
//! texts, the most recently used first: when there are more than twice
//! that many, the file is written again without the oldest. So the file
//! holds at most three times the current texts' vectors, whatever the
//! number of edits. `verso cache --max-size` removes old vectors sooner.

use crate::engine::atomic::write_durably;
use crate::engine::cache_dir::CacheEntry;
use crate::error::{Doing, Error, IoContext, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Vectors of earlier texts kept at least, however small the collection.
const KEPT_AT_LEAST: usize = 256;

pub struct VectorCache {
    path: PathBuf,
    vectors: HashMap<[u8; 32], Vec<f32>>,
    uses: Uses,
    /// `None` for `status`, which keeps new vectors in memory only.
    file: Option<BufWriter<File>>,
}

/// When each vector was last used (seconds since 1970), and the keys of
/// each group of texts (poems, the cloud's words, colours) as the group
/// was last embedded: those are the current vectors. Without this record
/// (a cache of an earlier verso, or a damaged record) every vector counts
/// as current.
#[derive(Default, Serialize, Deserialize)]
struct Uses {
    groups: BTreeMap<String, Vec<[u8; 32]>>,
    last: HashMap<[u8; 32], u64>,
    #[serde(skip)]
    current: HashSet<[u8; 32]>,
}

/// What the cache of vectors holds, for `verso cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holding {
    pub current: usize,
    pub current_bytes: u64,
    pub earlier: usize,
    pub earlier_bytes: u64,
    /// When the least recently used earlier vector was last used.
    pub oldest_use: Option<u64>,
}

/// Now, as the record of uses counts time: seconds since 1970.
pub fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn record_size(vector: &[f32]) -> u64 {
    44 + 4 * vector.len() as u64
}

fn record(key: &[u8; 32], vector: &[f32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(record_size(vector) as usize);
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

impl Uses {
    /// Postcard, then the first 8 bytes of its BLAKE3 hash.
    fn read(path: &Path) -> Uses {
        let Ok(bytes) = std::fs::read(path) else {
            return Uses::default();
        };
        let Some((body, check)) = bytes.split_last_chunk::<8>() else {
            return Uses::default();
        };
        if blake3::hash(body).as_bytes()[..8] != check[..] {
            return Uses::default();
        }
        let mut uses: Uses = postcard::from_bytes(body).unwrap_or_default();
        uses.gather();
        uses
    }

    fn bytes(&self) -> Vec<u8> {
        let mut bytes = postcard::to_stdvec(self).expect("uses serialise");
        let check = blake3::hash(&bytes);
        bytes.extend_from_slice(&check.as_bytes()[..8]);
        bytes
    }

    /// Gather the groups' keys into the current set.
    fn gather(&mut self) {
        self.current = self.groups.values().flatten().copied().collect();
    }

    fn is_current(&self, key: &[u8; 32]) -> bool {
        self.groups.is_empty() || self.current.contains(key)
    }

    fn last_use(&self, key: &[u8; 32]) -> u64 {
        self.last.get(key).copied().unwrap_or(0)
    }
}

impl VectorCache {
    /// Open the cache in `dir`; `writable` appends to it (and cuts off a
    /// torn end), otherwise new vectors stay in memory.
    pub fn open(dir: &Path, writable: bool) -> Result<VectorCache> {
        let path = CacheEntry::Vectors.path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(Doing::UsingVectorCache, &path, e)),
        };
        let (vectors, intact) = parse(&bytes);
        let mut cache = VectorCache {
            uses: Uses::read(&CacheEntry::VectorUses.path(dir)),
            path,
            vectors,
            file: None,
        };
        if writable {
            std::fs::create_dir_all(dir).at(Doing::UsingVectorCache, dir)?;
            cache.append(Some(intact as u64))?;
        }
        Ok(cache)
    }

    /// Open the file for appending, first cutting it to `intact` bytes.
    fn append(&mut self, intact: Option<u64>) -> Result<()> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .at(Doing::UsingVectorCache, &self.path)?;
        if let Some(intact) = intact {
            if file
                .metadata()
                .at(Doing::UsingVectorCache, &self.path)?
                .len()
                > intact
            {
                file.set_len(intact)
                    .at(Doing::UsingVectorCache, &self.path)?;
            }
        }
        self.file = Some(BufWriter::new(file));
        Ok(())
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
            file.write_all(&record(&key, &vector))
                .at(Doing::UsingVectorCache, &self.path)?;
        }
        self.vectors.insert(key, vector);
        Ok(())
    }

    /// Write what was kept to the file; `durable` also waits for the disk.
    pub fn flush(&mut self, durable: bool) -> Result<()> {
        if let Some(file) = &mut self.file {
            file.flush().at(Doing::UsingVectorCache, &self.path)?;
            if durable {
                file.get_ref()
                    .sync_data()
                    .at(Doing::UsingVectorCache, &self.path)?;
            }
        }
        Ok(())
    }

    /// After a group of texts all have vectors: `keys` are the group's
    /// current ones, used `now`. Writes when each vector was last used,
    /// and drops the least recently used earlier vectors when they are
    /// more than twice as many as the cache keeps (see the module's header).
    pub fn settle(&mut self, group: &str, keys: Vec<[u8; 32]>, now: u64) -> Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        for key in &keys {
            self.uses.last.insert(*key, now);
        }
        self.uses.groups.insert(group.to_string(), keys);
        self.uses.gather();
        let kept = self.uses.current.len().max(KEPT_AT_LEAST);
        let earlier = self.earlier_by_age();
        if earlier.len() > 2 * kept {
            let dropped = earlier.len() - kept;
            self.rewrite(&earlier[..dropped])?;
        } else {
            self.write_uses()?;
        }
        Ok(())
    }

    /// The vectors of texts not among the last build's, least recently
    /// used first.
    fn earlier_by_age(&self) -> Vec<[u8; 32]> {
        let mut earlier: Vec<[u8; 32]> = (self.vectors.keys())
            .filter(|k| !self.uses.is_current(k))
            .copied()
            .collect();
        earlier.sort_by_key(|k| (self.uses.last_use(k), *k));
        earlier
    }

    /// What the cache holds: current and earlier texts' vectors.
    pub fn holding(&self) -> Holding {
        let mut holding = Holding::default();
        for (key, vector) in &self.vectors {
            if self.uses.is_current(key) {
                holding.current += 1;
                holding.current_bytes += record_size(vector);
            } else {
                holding.earlier += 1;
                holding.earlier_bytes += record_size(vector);
                let used = self.uses.last_use(key);
                holding.oldest_use = Some(holding.oldest_use.map_or(used, |o| o.min(used)));
            }
        }
        holding
    }

    /// Drop earlier texts' vectors, least recently used first, until the
    /// file is at most `bytes` long or only current ones are left; the
    /// number dropped and the bytes freed.
    pub fn prune_to(&mut self, bytes: u64) -> Result<(usize, u64)> {
        let holding = self.holding();
        let mut size = holding.current_bytes + holding.earlier_bytes;
        let earlier = self.earlier_by_age();
        let mut dropped = 0;
        while size > bytes && dropped < earlier.len() {
            size -= record_size(&self.vectors[&earlier[dropped]]);
            dropped += 1;
        }
        if dropped > 0 {
            self.rewrite(&earlier[..dropped])?;
        }
        Ok((
            dropped,
            holding.current_bytes + holding.earlier_bytes - size,
        ))
    }

    /// Write the file again without `dropped`, the oldest records first,
    /// then the record of uses.
    fn rewrite(&mut self, dropped: &[[u8; 32]]) -> Result<()> {
        self.flush(false)?;
        for key in dropped {
            self.vectors.remove(key);
            self.uses.last.remove(key);
        }
        let mut keys: Vec<&[u8; 32]> = self.vectors.keys().collect();
        keys.sort_by_key(|k| (self.uses.last_use(k), **k));
        let mut bytes = Vec::new();
        for key in keys {
            bytes.extend(record(key, &self.vectors[key]));
        }
        write_durably(&self.path, &bytes, Doing::UsingVectorCache)?;
        self.append(None)?;
        self.write_uses()
    }

    fn write_uses(&mut self) -> Result<()> {
        let vectors = &self.vectors;
        self.uses.last.retain(|k, _| vectors.contains_key(k));
        let path = self.path.with_file_name(CacheEntry::VectorUses.name());
        // The vectors are hours of model work: each file is on disk before
        // it takes the old one's place.
        write_durably(&path, &self.uses.bytes(), Doing::UsingVectorCache)
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
        let path = CacheEntry::Vectors.path(dir.path());
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
        let path = CacheEntry::Vectors.path(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[37] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(VectorCache::open(dir.path(), false).unwrap().is_empty());
    }

    fn key(n: usize) -> [u8; 32] {
        *blake3::hash(&n.to_le_bytes()).as_bytes()
    }

    #[test]
    fn earlier_texts_vectors_are_bounded_and_the_least_recently_used_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = VectorCache::open(dir.path(), true).unwrap();
        // Ten current texts; each edit replaces the oldest, which stays
        // behind as an earlier text's vector.
        let mut current: HashSet<[u8; 32]> = (0..10).map(key).collect();
        for k in &current {
            cache.put(*k, vec![1.0]).unwrap();
        }
        let settle = |cache: &mut VectorCache, current: &HashSet<[u8; 32]>, now: u64| {
            let keys = current.iter().copied().collect();
            cache.settle("poems", keys, now).unwrap();
        };
        settle(&mut cache, &current, 1000);
        let edit = |cache: &mut VectorCache, current: &mut HashSet<[u8; 32]>, e: usize| {
            current.remove(&key(e));
            cache.put(key(10 + e), vec![1.0]).unwrap();
            current.insert(key(10 + e));
            settle(cache, current, 1001 + e as u64);
        };
        for e in 0..2 * KEPT_AT_LEAST {
            edit(&mut cache, &mut current, e);
        }
        let holding = cache.holding();
        assert_eq!((holding.current, holding.earlier), (10, 2 * KEPT_AT_LEAST));
        assert_eq!(holding.oldest_use, Some(1000));
        // One more edit is one too many: down to the kept number, the
        // least recently used gone.
        edit(&mut cache, &mut current, 2 * KEPT_AT_LEAST);
        assert_eq!(cache.holding().earlier, KEPT_AT_LEAST);
        assert!(cache.get(&key(0)).is_none(), "the first text's vector went");
        assert!(
            cache.get(&key(2 * KEPT_AT_LEAST)).is_some(),
            "a recent one stayed"
        );
        let size = std::fs::metadata(CacheEntry::Vectors.path(dir.path()))
            .unwrap()
            .len();
        assert_eq!(size, 48 * (10 + KEPT_AT_LEAST as u64));
        drop(cache);

        // Read again: the same vectors, and which are current.
        let mut cache = VectorCache::open(dir.path(), true).unwrap();
        assert_eq!(cache.holding().current, 10);
        assert_eq!(cache.holding().earlier, KEPT_AT_LEAST);
        for k in &current {
            assert_eq!(cache.get(k), Some(&[1.0][..]));
        }
        // Pruning to a size: earlier vectors only, oldest first.
        let oldest = key(KEPT_AT_LEAST + 1);
        assert!(cache.get(&oldest).is_some());
        assert_eq!(
            cache.prune_to(48 * 15).unwrap(),
            (KEPT_AT_LEAST - 5, 48 * (KEPT_AT_LEAST as u64 - 5))
        );
        assert!(cache.get(&oldest).is_none());
        assert_eq!(cache.prune_to(0).unwrap(), (5, 48 * 5));
        assert_eq!(
            cache.holding().current,
            10,
            "current vectors are never pruned"
        );
        drop(cache);
        assert_eq!(VectorCache::open(dir.path(), false).unwrap().len(), 10);
    }

    #[test]
    fn without_a_record_of_uses_every_vector_is_current() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = VectorCache::open(dir.path(), true).unwrap();
        cache.put([1; 32], vec![1.0]).unwrap();
        cache.put([2; 32], vec![1.0]).unwrap();
        cache.settle("poems", vec![[1; 32]], 10).unwrap();
        assert_eq!(cache.holding().earlier, 1);
        // Another group's vectors are current too.
        cache.settle("words", vec![[2; 32]], 11).unwrap();
        assert_eq!(cache.holding().earlier, 0);
        cache.settle("words", vec![], 12).unwrap();
        assert_eq!(cache.holding().earlier, 1);
        drop(cache);
        std::fs::write(CacheEntry::VectorUses.path(dir.path()), b"damaged").unwrap();
        let mut cache = VectorCache::open(dir.path(), true).unwrap();
        assert_eq!(cache.holding().current, 2);
        assert_eq!(cache.prune_to(0).unwrap(), (0, 0));
    }
}
