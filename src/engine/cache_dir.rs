//! The cache folder's layout: every file and folder verso keeps there,
//! each named once. `verso clean` and `verso cache` tell verso's entries
//! from a user's by these names (a cache folder may be the collection's
//! own folder), and the modules that own an entry find it here.

use super::atomic;
use crate::error::{Doing, IoContext, Result};
use std::path::{Path, PathBuf};

/// Declares the entries once: the enum, its list and each name.
macro_rules! cache_entries {
    ($($(#[$doc:meta])* $entry:ident = $name:literal,)*) => {
        /// One of verso's entries in a cache folder.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum CacheEntry {
            $($(#[$doc])* $entry,)*
        }

        impl CacheEntry {
            pub const ALL: &'static [CacheEntry] = &[$(CacheEntry::$entry),*];

            pub fn name(self) -> &'static str {
                match self {
                    $(CacheEntry::$entry => $name,)*
                }
            }
        }
    };
}

cache_entries! {
    /// The sled database: records, traces, small values and the deploy
    /// records (`store.rs`).
    Store = "store",
    /// Values too large for sled to keep well, a file each (`store.rs`).
    Values = "values",
    /// Traces and input hashes, read before the store may be opened
    /// (`memo.rs`).
    Memo = "memo",
    /// The lock that keeps a second build off the cache.
    Lock = "lock",
    /// The lock held for a whole deploy, its build included.
    DeployLock = "deploy-lock",
    /// Marks a build that has started writing and not finished its sweep:
    /// the next build looks for stray temporary files only when it is there.
    Unfinished = "unfinished",
    /// Every vector a model made (`embed/cache.rs`).
    Vectors = "vectors",
    /// When each vector was last among a build's texts (`embed/cache.rs`).
    VectorUses = "vectors.used",
    /// The memo file of earlier verso versions.
    OldMemo = "validated",
}

impl CacheEntry {
    /// Its path in the cache folder `dir`.
    pub fn path(self, dir: &Path) -> PathBuf {
        dir.join(self.name())
    }
}

/// Is this name in a cache folder one of verso's: an entry, a temporary
/// of one, or a store set aside?
pub fn is_cache_file(name: &str) -> bool {
    let name = atomic::temporary_of(name).unwrap_or(name);
    CacheEntry::ALL.iter().any(|e| e.name() == name) || is_set_aside(name)
}

/// Is this name a store set aside as unusable?
pub fn is_set_aside(name: &str) -> bool {
    name.strip_prefix(CacheEntry::Store.name())
        .is_some_and(|rest| rest.starts_with(".unusable-"))
}

/// Where an unusable store is moved: `store` → `store.unusable-N`, the
/// first N not taken.
pub fn set_aside_path(dir: &Path) -> PathBuf {
    (1..)
        .map(|n| dir.join(format!("{}.unusable-{n}", CacheEntry::Store.name())))
        .find(|p| !p.exists())
        .expect("a free name")
}

/// Does a cache folder hold a store?
pub fn has_store(dir: &Path) -> bool {
    CacheEntry::Store.path(dir).exists()
}

/// Remove the cache's own files, and the folder when nothing else is left
/// in it: a cache folder set to the collection's folder must not take the
/// collection with it.
pub fn remove_cache(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.at(Doing::UsingCache, dir)?;
        let path = entry.path();
        if !is_cache_file(&entry.file_name().to_string_lossy()) {
            continue;
        }
        if entry.file_type().at(Doing::UsingCache, &path)?.is_dir() {
            std::fs::remove_dir_all(&path).at(Doing::UsingCache, &path)?;
        } else {
            std::fs::remove_file(&path).at(Doing::UsingCache, &path)?;
        }
    }
    let _ = std::fs::remove_dir(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verso_knows_its_own_entries_and_nothing_else() {
        for entry in CacheEntry::ALL {
            assert!(is_cache_file(entry.name()), "{entry:?}");
            assert!(is_cache_file(&format!(
                ".{}{}",
                entry.name(),
                atomic::TEMP_SUFFIX
            )));
        }
        assert!(is_cache_file("store.unusable-3"));
        for theirs in [
            "poems.json",
            "verso.toml",
            "storey",
            ".memo.tmp",
            "values.txt",
        ] {
            assert!(!is_cache_file(theirs), "{theirs}");
        }
    }

    #[test]
    fn a_store_is_set_aside_under_the_first_free_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            set_aside_path(dir.path()),
            dir.path().join("store.unusable-1")
        );
        std::fs::create_dir(dir.path().join("store.unusable-1")).unwrap();
        assert_eq!(
            set_aside_path(dir.path()),
            dir.path().join("store.unusable-2")
        );
    }
}
