//! The sled store, the only code that knows sled. Trees: `targets` (output
//! path → key, size, output hash, time last seen intact), `values` (a
//! derived value's hash → its postcard bytes; values of 64 KB and more are
//! files in the `values` folder instead), `traces` (a page's path or an
//! entry's instance → its trace), `meta` (format and verso version), and
//! one `deploy TARGET` tree per deploy target (path → what the host
//! confirmed holding; a build never reads or writes them). A
//! build sets aside a store that cannot be opened, is corrupt, or is of
//! another format or version, and starts a clean one; a store in use by
//! another build is refused. `status` and `check` read a copy, so they
//! never create, rewrite or move a store.

use super::atomic;
use super::cache_dir::{self, CacheEntry};
use super::rule::Trace;
use crate::error::{Doing, Error, IoContext, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Bumped whenever a record's or a derived value's layout changes.
pub const FORMAT: u32 = 3;

/// What the store knows of one output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub key: [u8; 32],
    pub size: u64,
    pub hash: [u8; 32],
    /// The file's modification time when verso last saw it intact, in
    /// nanoseconds (a stat cache; see `files`).
    pub seen: u64,
}

pub struct Store {
    dir: PathBuf,
    db: sled::Db,
    targets: sled::Tree,
    values: sled::Tree,
    traces: sled::Tree,
    _lock: Option<CacheLock>,
    /// A read-only copy, removed when the store is dropped.
    _copy: Option<tempfile::TempDir>,
}

/// The result of opening: the store, its records, and a warning when an
/// unusable store was set aside.
pub struct Opened {
    pub store: Store,
    pub records: HashMap<String, Record>,
    pub warning: Option<String>,
}

fn store_error(dir: &Path, message: impl std::fmt::Display) -> Error {
    Error::Store {
        path: dir.to_path_buf(),
        message: message.to_string(),
    }
}

/// A sled failure; its I/O errors stay I/O errors (a full disk is said so).
/// sled passes some on with the OS error's debug text as their message
/// (`Os { code: 28, … }`): those are said by their kind instead.
fn sled_error(dir: &Path, e: sled::Error) -> Error {
    match e {
        sled::Error::Io(io) => Error::Io {
            path: dir.to_path_buf(),
            doing: Doing::UsingCache,
            source: match (io.raw_os_error(), io.kind()) {
                (Some(_), _) => io,
                (None, kind @ std::io::ErrorKind::StorageFull) => {
                    std::io::Error::new(kind, "no space left on the device")
                }
                (None, kind) => std::io::Error::from(kind),
            },
        },
        other => store_error(dir, other),
    }
}

impl Store {
    /// Open (or create) the store in a locked cache folder.
    pub fn open(lock: CacheLock) -> Result<Opened> {
        let dir = lock.dir.clone();
        let db_path = CacheEntry::Store.path(&dir);
        let mut warning = None;
        let opened = match Self::try_open(&db_path, true) {
            Ok(opened) => Some(opened),
            Err(reason) => {
                let aside = cache_dir::set_aside_path(&dir);
                if db_path.exists() {
                    std::fs::rename(&db_path, &aside).at(Doing::UsingCache, &db_path)?;
                }
                let _ = std::fs::remove_file(CacheEntry::Memo.path(&dir));
                warning = Some(format!(
                    "warning: the cache {} was unusable ({reason}); it was moved to {} and the build starts clean",
                    db_path.display(),
                    aside.display()
                ));
                None
            }
        };
        let (db, records) = match opened {
            Some(ok) => ok,
            None => Self::try_open(&db_path, true).map_err(|e| store_error(&db_path, e))?,
        };
        Ok(Opened {
            store: Self::with_trees(dir, db, Some(lock), None)?,
            records,
            warning,
        })
    }

    /// Read the store of a cache folder without changing it: a copy is
    /// opened (sled writes on opening). `None` when there is no store; an
    /// unusable one is an error that names it, and stays where it is.
    pub fn open_read_only(dir: &Path) -> Result<Option<(Store, HashMap<String, Record>)>> {
        let db_path = CacheEntry::Store.path(dir);
        if !db_path.is_dir() {
            return Ok(None);
        }
        let _lock = CacheLock::acquire(dir, false)?;
        let copy = tempfile::tempdir().map_err(|e| Error::io(Doing::UsingCache, dir, e))?;
        copy_dir(&db_path, &CacheEntry::Store.path(copy.path())).at(Doing::UsingCache, &db_path)?;
        let (db, records) =
            Self::try_open(&CacheEntry::Store.path(copy.path()), false).map_err(|reason| {
                store_error(
                    &db_path,
                    format!("{reason}; it was left as it is (the next `verso build` sets it aside and starts clean)"),
                )
            })?;
        let store = Self::with_trees(dir.to_path_buf(), db, None, Some(copy))?;
        Ok(Some((store, records)))
    }

    fn with_trees(
        dir: PathBuf,
        db: sled::Db,
        lock: Option<CacheLock>,
        copy: Option<tempfile::TempDir>,
    ) -> Result<Store> {
        let open_tree = |name: &str| db.open_tree(name).map_err(|e| sled_error(&dir, e));
        Ok(Store {
            targets: open_tree("targets")?,
            values: open_tree("values")?,
            traces: open_tree("traces")?,
            dir,
            db,
            _lock: lock,
            _copy: copy,
        })
    }

    /// Open sled, check the format and read every record; any failure (or a
    /// panic inside sled on damaged files) is a reason to set the store aside.
    fn try_open(
        path: &Path,
        writable: bool,
    ) -> std::result::Result<(sled::Db, HashMap<String, Record>), String> {
        let path = path.to_path_buf();
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let result = catch_unwind(AssertUnwindSafe(|| -> std::result::Result<_, String> {
            let db = sled::Config::new()
                .path(&path)
                .cache_capacity(64 << 20)
                .mode(sled::Mode::HighThroughput)
                .open()
                .map_err(|e| e.to_string())?;
            let meta = db.open_tree("meta").map_err(|e| e.to_string())?;
            let format = FORMAT.to_le_bytes();
            match meta.get("format").map_err(|e| e.to_string())? {
                Some(v) if v.as_ref() == format => {}
                Some(v) => {
                    return Err(format!(
                        "format {:?}, this verso reads format {FORMAT}",
                        v.as_ref()
                    ))
                }
                None if db.tree_names().len() > 2 => return Err("no format version".into()),
                None if !writable => return Err("not a verso store".into()),
                None => {
                    meta.insert("format", &format).map_err(|e| e.to_string())?;
                }
            }
            // A cache from another version of verso is set aside too: its
            // values may be laid out otherwise under the same format. (Stores of this format written before the version was recorded
            // are this version's.)
            let version = env!("CARGO_PKG_VERSION");
            match meta.get("version").map_err(|e| e.to_string())? {
                Some(v) if v.as_ref() == version.as_bytes() => {}
                Some(v) => {
                    return Err(format!(
                        "written by verso {}, this is verso {version}",
                        String::from_utf8_lossy(&v)
                    ))
                }
                None if !writable => return Err("no verso version".into()),
                None => {
                    meta.insert("version", version).map_err(|e| e.to_string())?;
                }
            }
            let targets = db.open_tree("targets").map_err(|e| e.to_string())?;
            let records = read_records(&targets)?;
            // Derived values are not scanned here: reading one that is
            // damaged yields `None` and the value is computed again.
            Ok((db, records))
        }));
        std::panic::set_hook(previous_hook);
        match result {
            Ok(r) => r,
            Err(_) => Err("the store's files are damaged".into()),
        }
    }

    /// Every target's record, as the store holds them now.
    pub fn records(&self) -> Result<HashMap<String, Record>> {
        read_records(&self.targets).map_err(|e| store_error(&self.dir, e))
    }

    /// Record a target whose file is in place, with the trace of its key.
    pub fn record(&self, path: &str, record: &Record, trace: &Trace) -> Result<()> {
        self.refresh(path, record)?;
        self.put_trace(path, trace)
    }

    /// Write a target's record alone (its trace unchanged), as for a file
    /// found intact under a new time.
    pub fn refresh(&self, path: &str, record: &Record) -> Result<()> {
        let record = postcard::to_stdvec(record).expect("records serialise");
        self.targets
            .insert(path.as_bytes(), record)
            .map_err(|e| sled_error(&self.dir, e))?;
        Ok(())
    }

    pub fn forget(&self, path: &str) -> Result<()> {
        self.targets
            .remove(path.as_bytes())
            .map_err(|e| sled_error(&self.dir, e))?;
        self.traces
            .remove(path.as_bytes())
            .map_err(|e| sled_error(&self.dir, e))?;
        Ok(())
    }

    /// The trace of a page (by path) or an entry (by instance).
    pub fn trace(&self, instance: &str) -> Option<Trace> {
        let bytes = self.traces.get(instance.as_bytes()).ok()??;
        postcard::from_bytes(&bytes).ok()
    }

    /// Write a trace unless the store holds it already.
    pub fn put_trace(&self, instance: &str, trace: &Trace) -> Result<()> {
        let err = |e: sled::Error| sled_error(&self.dir, e);
        let bytes = postcard::to_stdvec(trace).expect("traces serialise");
        if self
            .traces
            .get(instance.as_bytes())
            .map_err(err)?
            .as_deref()
            != Some(&bytes)
        {
            self.traces
                .insert(instance.as_bytes(), bytes)
                .map_err(err)?;
        }
        Ok(())
    }

    pub fn forget_trace(&self, instance: &str) -> Result<()> {
        self.traces
            .remove(instance.as_bytes())
            .map_err(|e| sled_error(&self.dir, e))?;
        Ok(())
    }

    /// A stored value; `None` when absent or unreadable.
    pub fn value<T: DeserializeOwned>(&self, hash: &blake3::Hash) -> Option<T> {
        let in_sled = catch_unwind(AssertUnwindSafe(|| self.values.get(hash.as_bytes())))
            .ok()?
            .ok()?;
        let bytes = match in_sled {
            Some(bytes) => bytes.to_vec(),
            None => std::fs::read(self.value_file(hash.as_bytes())).ok()?,
        };
        // A damaged value is computed again.
        (blake3::hash(&bytes) == *hash)
            .then(|| postcard::from_bytes(&bytes).ok())
            .flatten()
    }

    pub fn has_value(&self, hash: &blake3::Hash) -> bool {
        self.values.contains_key(hash.as_bytes()).unwrap_or(false)
            || self.value_file(hash.as_bytes()).is_file()
    }

    /// Where a large value lives.
    fn value_file(&self, hash: &[u8; 32]) -> PathBuf {
        CacheEntry::Values
            .path(&self.dir)
            .join(blake3::Hash::from(*hash).to_hex().as_str())
    }

    /// Store values' bytes under their hashes: large ones in files of their
    /// own, the rest in one sled batch (inserted one by one, about 200 word
    /// values took 0.1 s). A value's file is written whole or not at all,
    /// and one that is lost or damaged is computed again, so it is not
    /// synced. Values are named by their content: writing one again
    /// changes nothing.
    pub fn put_values(&self, values: &[([u8; 32], Vec<u8>)]) -> Result<()> {
        let err = |e: sled::Error| sled_error(&self.dir, e);
        let mut batch = sled::Batch::default();
        for (hash, bytes) in values {
            if bytes.len() >= FILE_VALUE_BYTES {
                let file = self.value_file(hash);
                if !file.is_file() {
                    std::fs::create_dir_all(CacheEntry::Values.path(&self.dir))
                        .at(Doing::UsingCache, &self.dir)?;
                    atomic::write_atomically(&file, bytes, Doing::UsingCache)?;
                }
            } else {
                batch.insert(&hash[..], &bytes[..]);
            }
        }
        self.values.apply_batch(batch).map_err(err)
    }

    /// Drop the values not in `used` (those of old inputs).
    pub fn retain_values(&self, used: &HashSet<[u8; 32]>) -> Result<()> {
        let err = |e: sled::Error| sled_error(&self.dir, e);
        for key in self.values.iter().keys() {
            let key = key.map_err(err)?;
            if !<[u8; 32]>::try_from(key.as_ref()).is_ok_and(|k| used.contains(&k)) {
                self.values.remove(key).map_err(err)?;
            }
        }
        let folder = CacheEntry::Values.path(&self.dir);
        let used: HashSet<String> = used
            .iter()
            .map(|h| blake3::Hash::from(*h).to_hex().to_string())
            .collect();
        // Also the temporary files of a build that was killed while writing.
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            if !used.contains(entry.file_name().to_string_lossy().as_ref()) {
                let path = entry.path();
                std::fs::remove_file(&path).at(Doing::UsingCache, &path)?;
            }
        }
        Ok(())
    }

    /// The deploy records of one target (see `crate::deploy::records`).
    pub fn deployed<T: DeserializeOwned>(&self, target: &str) -> Result<HashMap<String, T>> {
        let err = |e: sled::Error| sled_error(&self.dir, e);
        let tree = self.deploy_tree(target)?;
        let mut records = HashMap::new();
        for entry in tree.iter() {
            let (path, bytes) = entry.map_err(err)?;
            // A record that does not decode is a file to send again.
            if let Ok(record) = postcard::from_bytes(&bytes) {
                records.insert(String::from_utf8_lossy(&path).into_owned(), record);
            }
        }
        Ok(records)
    }

    pub fn put_deployed<T: Serialize>(&self, target: &str, path: &str, record: &T) -> Result<()> {
        let bytes = postcard::to_stdvec(record).expect("a deploy record serialises");
        self.deploy_tree(target)?
            .insert(path.as_bytes(), bytes)
            .map_err(|e| sled_error(&self.dir, e))?;
        Ok(())
    }

    pub fn forget_deployed(&self, target: &str, path: &str) -> Result<()> {
        self.deploy_tree(target)?
            .remove(path.as_bytes())
            .map_err(|e| sled_error(&self.dir, e))?;
        Ok(())
    }

    /// What the last deploy to `target` that left the host equal to the
    /// site recorded of it (see `crate::deploy::records::Synced`).
    pub fn deploy_synced<T: DeserializeOwned>(&self, target: &str) -> Option<T> {
        let tree = self.db.open_tree(SYNCED).ok()?;
        postcard::from_bytes(&tree.get(target.as_bytes()).ok()??).ok()
    }

    /// Record (or, with `None`, forget) what a deploy to `target` left.
    pub fn put_deploy_synced<T: Serialize>(&self, target: &str, synced: Option<&T>) -> Result<()> {
        let err = |e: sled::Error| sled_error(&self.dir, e);
        let tree = self.db.open_tree(SYNCED).map_err(err)?;
        match synced {
            Some(s) => {
                let bytes = postcard::to_stdvec(s).expect("a deploy mark serialises");
                tree.insert(target.as_bytes(), bytes).map_err(err)?;
            }
            None => {
                tree.remove(target.as_bytes()).map_err(err)?;
            }
        }
        Ok(())
    }

    fn deploy_tree(&self, target: &str) -> Result<sled::Tree> {
        self.db
            .open_tree(format!("deploy {target}"))
            .map_err(|e| sled_error(&self.dir, e))
    }

    pub fn flush(&self) -> Result<()> {
        self.db.flush().map_err(|e| sled_error(&self.dir, e))?;
        Ok(())
    }
}

/// The records of the `targets` tree; a damaged one is an error.
fn read_records(targets: &sled::Tree) -> std::result::Result<HashMap<String, Record>, String> {
    let mut records = HashMap::with_capacity(targets.len());
    for item in targets.iter() {
        let (k, v) = item.map_err(|e| e.to_string())?;
        let path =
            String::from_utf8(k.to_vec()).map_err(|_| "a damaged target path".to_string())?;
        let record: Record =
            postcard::from_bytes(&v).map_err(|_| "a damaged target record".to_string())?;
        records.insert(path, record);
    }
    Ok(records)
}

/// The exclusive lock on a cache folder, held for a whole build: a second
/// build on the same cache stops before reading anything.
pub struct CacheLock {
    dir: PathBuf,
    _file: File,
}

impl CacheLock {
    /// Lock `dir`, creating it when `create` is set; `None` when it does not
    /// exist and may not be created.
    pub fn acquire(dir: &Path, create: bool) -> Result<Option<CacheLock>> {
        Self::take(dir, CacheEntry::Lock, create)
    }

    /// The deploy's own lock, held for a whole deploy (its build included):
    /// a second deploy on the same cache stops before building.
    pub fn acquire_for_deploy(dir: &Path) -> Result<CacheLock> {
        Ok(Self::take(dir, CacheEntry::DeployLock, true)?.expect("a created folder exists"))
    }

    fn take(dir: &Path, entry: CacheEntry, create: bool) -> Result<Option<CacheLock>> {
        if !dir.exists() {
            if !create {
                return Ok(None);
            }
            std::fs::create_dir_all(dir).at(Doing::UsingCache, dir)?;
        }
        let path = entry.path(dir);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .at(Doing::UsingCache, &path)?;
        // A lock this process has just released can stay held for a moment:
        // a child being spawned by another thread holds a copy of the lock
        // file's descriptor until its exec closes it. So a held lock is
        // tried again for a short while before a second build is told.
        let patience = std::time::Instant::now() + LOCK_PATIENCE;
        let mut locked = file.try_lock();
        while matches!(locked, Err(std::fs::TryLockError::WouldBlock))
            && std::time::Instant::now() < patience
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
            locked = file.try_lock();
        }
        match locked {
            Ok(()) => Ok(Some(CacheLock {
                dir: dir.to_path_buf(),
                _file: file,
            })),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked {
                path: dir.to_path_buf(),
                by: if entry == CacheEntry::DeployLock {
                    "deploy"
                } else {
                    "build"
                },
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(Doing::UsingCache, &path, e)),
        }
    }
}

/// How long a held cache lock is tried again before a build stops at it.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);
/// The tree of what each target's last complete deploy left.
const SYNCED: &str = "deploy synced";
/// From this size on, a value lives in a file of its own: sled writes a
/// large value slowly, and the first lookup after it stalls (together about
/// 0.2 s an append for the 24 MB vectors and the 19 MB neighbours).
const FILE_VALUE_BYTES: usize = 1 << 16;
/// Copy a folder of plain files (a sled database).
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_released_a_moment_later_is_taken_and_one_kept_is_said() {
        let dir = tempfile::tempdir().unwrap();
        let held = CacheLock::acquire(dir.path(), true).unwrap().unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            drop(held);
        });
        let taken = CacheLock::acquire(dir.path(), false).unwrap().unwrap();
        release.join().unwrap();
        assert!(matches!(
            CacheLock::acquire(dir.path(), false),
            Err(Error::Locked { by: "build", .. })
        ));
        drop(taken);
    }

    #[test]
    fn large_values_live_in_files_checked_and_pruned_like_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let lock = CacheLock::acquire(dir.path(), true).unwrap().unwrap();
        let store = Store::open(lock).unwrap().store;
        let small = postcard::to_stdvec(&vec![1u32; 10]).unwrap();
        let large = postcard::to_stdvec(&vec![7u32; 100_000]).unwrap();
        let (hs, hl) = (blake3::hash(&small), blake3::hash(&large));
        let values = [(*hs.as_bytes(), small), (*hl.as_bytes(), large)];
        store.put_values(&values).unwrap();
        // Twice: a value named by its content is written once.
        store.put_values(&values).unwrap();
        assert!(store.value_file(hl.as_bytes()).is_file());
        assert!(!store.value_file(hs.as_bytes()).exists());
        assert_eq!(store.value::<Vec<u32>>(&hl), Some(vec![7; 100_000]));
        assert_eq!(store.value::<Vec<u32>>(&hs), Some(vec![1; 10]));
        assert!(store.has_value(&hl) && store.has_value(&hs));

        // A damaged file is never used.
        std::fs::write(store.value_file(hl.as_bytes()), b"damaged").unwrap();
        assert_eq!(store.value::<Vec<u32>>(&hl), None);

        // Pruning removes unused files, and stray temporary ones.
        std::fs::write(CacheEntry::Values.path(dir.path()).join(".stray.tmp"), b"").unwrap();
        store
            .retain_values(&HashSet::from([*hs.as_bytes()]))
            .unwrap();
        assert!(!store.has_value(&hl) && store.has_value(&hs));
        assert_eq!(
            std::fs::read_dir(CacheEntry::Values.path(dir.path()))
                .unwrap()
                .count(),
            0
        );
        store.retain_values(&HashSet::new()).unwrap();
        assert!(!store.has_value(&hs));
    }
}
