//! `verso cache`: what the cache folder holds, and pruning it to a size by
//! last use, as cargo's cache GC does. What the next build reads (the
//! store, large derived values, the current texts' vectors) is never
//! pruned: removing it only moves the work to that build, and `verso
//! clean` does that. Stores set aside go first (no build reads them
//! again), then earlier texts' vectors, least recently used first.
//!
//! Derived values of earlier inputs need no pruning: every finished build
//! keeps only the values its traces name.

use super::cache_dir::{self, CacheEntry};
use super::store::CacheLock;
use crate::embed::cache::{Holding, VectorCache};
use crate::error::{Doing, IoContext, Result};
use std::path::{Path, PathBuf};

/// One part of the cache folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub what: String,
    pub bytes: u64,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The next build reads it.
    InUse,
    /// Earlier texts' vectors, the least recently used last used then
    /// (seconds since 1970; 0 when unknown).
    Earlier { oldest_use: u64 },
    /// A store set aside as unusable: never read again.
    SetAside,
}

/// The parts of a cache folder, and its whole size.
#[derive(Debug)]
pub struct Usage {
    pub parts: Vec<Part>,
    pub total: u64,
}

/// What pruning removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub stores: usize,
    pub vectors: usize,
    pub bytes: u64,
}

/// The parts of the cache in `dir`, read without changing anything.
pub fn usage(dir: &Path) -> Result<Usage> {
    let vectors = VectorCache::open(dir, false)?.holding();
    let mut parts = vec![
        Part {
            what: "store: page records, traces, derived values".into(),
            bytes: size_of(&CacheEntry::Store.path(dir))?,
            kind: Kind::InUse,
        },
        Part {
            what: "derived values of 64 KB and more".into(),
            bytes: size_of(&CacheEntry::Values.path(dir))?,
            kind: Kind::InUse,
        },
    ];
    vectors_parts(&vectors, &mut parts);
    let aside = set_aside(dir)?;
    if !aside.is_empty() {
        let mut bytes = 0;
        for path in &aside {
            bytes += size_of(path)?;
        }
        parts.push(Part {
            what: format!("stores set aside as unusable ({})", aside.len()),
            bytes,
            kind: Kind::SetAside,
        });
    }
    Ok(Usage {
        total: cache_size(dir)?,
        parts,
    })
}

fn vectors_parts(vectors: &Holding, parts: &mut Vec<Part>) {
    if vectors.current > 0 {
        parts.push(Part {
            what: format!("vectors of the current texts ({})", vectors.current),
            bytes: vectors.current_bytes,
            kind: Kind::InUse,
        });
    }
    if vectors.earlier > 0 {
        parts.push(Part {
            what: format!("vectors of earlier texts ({})", vectors.earlier),
            bytes: vectors.earlier_bytes,
            kind: Kind::Earlier {
                oldest_use: vectors.oldest_use.unwrap_or(0),
            },
        });
    }
}

/// Remove what is not in use until the cache folder is at most `limit`
/// bytes: stores set aside, then earlier texts' vectors, least recently
/// used first. Refused while a build holds the cache.
pub fn prune(dir: &Path, limit: u64) -> Result<Pruned> {
    let Some(_lock) = CacheLock::acquire(dir, false)? else {
        return Ok(Pruned::default());
    };
    let mut total = cache_size(dir)?;
    let mut pruned = Pruned::default();
    for path in set_aside(dir)? {
        if total <= limit {
            return Ok(pruned);
        }
        let bytes = size_of(&path)?;
        std::fs::remove_dir_all(&path).at(Doing::PruningCache, &path)?;
        total = total.saturating_sub(bytes);
        pruned.stores += 1;
        pruned.bytes += bytes;
    }
    if total > limit {
        let mut vectors = VectorCache::open(dir, true)?;
        let holding = vectors.holding();
        let file = holding.current_bytes + holding.earlier_bytes;
        let over = total - limit;
        let (count, bytes) = vectors.prune_to(file.saturating_sub(over))?;
        pruned.vectors += count;
        pruned.bytes += bytes;
    }
    Ok(pruned)
}

/// The stores set aside, oldest first.
fn set_aside(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    for entry in entries {
        let entry = entry.at(Doing::PruningCache, dir)?;
        if cache_dir::is_set_aside(&entry.file_name().to_string_lossy()) {
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .at(Doing::PruningCache, dir)?;
            found.push((modified, entry.path()));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, path)| path).collect())
}

/// The bytes of verso's files in a cache folder (which may be the
/// collection's own folder).
fn cache_size(dir: &Path) -> Result<u64> {
    let mut bytes = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    for entry in entries {
        let entry = entry.at(Doing::PruningCache, dir)?;
        if cache_dir::is_cache_file(&entry.file_name().to_string_lossy()) {
            bytes += size_of(&entry.path())?;
        }
    }
    Ok(bytes)
}

/// The bytes of the files at or under `path` (0 when it does not exist).
fn size_of(path: &Path) -> Result<u64> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(crate::error::Error::io(Doing::PruningCache, path, e)),
    };
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut bytes = 0;
    for entry in std::fs::read_dir(path).at(Doing::PruningCache, path)? {
        bytes += size_of(&entry.at(Doing::PruningCache, path)?.path())?;
    }
    Ok(bytes)
}
