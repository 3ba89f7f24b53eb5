//! The sled store, the only code that knows sled. Trees: `targets` (output
//! path → key, size, output hash, time last seen intact), `values` (a
//! derived value's hash → its postcard bytes), `traces` (a page's path or
//! an entry's instance → its trace), `meta` (format and verso version). A
//! build sets aside a store that cannot be opened, is corrupt, or is of
//! another format or version, and starts a clean one; a store in use by
//! another build is refused. `status` and `check` read a copy, so they
//! never create, rewrite or move a store.

use super::rule::Trace;
use crate::error::{Error, IoContext, Result};
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
fn sled_error(dir: &Path, e: sled::Error) -> Error {
    match e {
        sled::Error::Io(io) => Error::io(dir, io),
        other => store_error(dir, other),
    }
}

impl Store {
    /// Open (or create) the store in a locked cache folder.
    pub fn open(lock: CacheLock) -> Result<Opened> {
        let dir = lock.dir.clone();
        let db_path = dir.join(STORE);
        let mut warning = None;
        let opened = match Self::try_open(&db_path, true) {
            Ok(opened) => Some(opened),
            Err(reason) => {
                let aside = set_aside(&db_path).at(&db_path)?;
                let _ = std::fs::remove_file(dir.join(super::memo::MEMO_FILE));
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
        let db_path = dir.join(STORE);
        if !db_path.is_dir() {
            return Ok(None);
        }
        let _lock = CacheLock::acquire(dir, false)?;
        let copy = tempfile::tempdir().map_err(|e| Error::io(dir, e))?;
        copy_dir(&db_path, &copy.path().join(STORE)).at(&db_path)?;
        let (db, records) =
            Self::try_open(&copy.path().join(STORE), false).map_err(|reason| {
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
            // SPEC: a cache from another version of verso is set aside too.
            // (Stores of this format written before the version was recorded
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
            let mut records = HashMap::with_capacity(targets.len());
            for item in targets.iter() {
                let (k, v) = item.map_err(|e| e.to_string())?;
                let path = String::from_utf8(k.to_vec())
                    .map_err(|_| "a damaged target path".to_string())?;
                let record: Record =
                    postcard::from_bytes(&v).map_err(|_| "a damaged target record".to_string())?;
                records.insert(path, record);
            }
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
        let bytes = catch_unwind(AssertUnwindSafe(|| self.values.get(hash.as_bytes())))
            .ok()?
            .ok()??;
        // A damaged value is computed again.
        (blake3::hash(&bytes) == *hash)
            .then(|| postcard::from_bytes(&bytes).ok())
            .flatten()
    }

    pub fn has_value(&self, hash: &blake3::Hash) -> bool {
        self.values.contains_key(hash.as_bytes()).unwrap_or(false)
    }

    /// Store a value's bytes under their hash.
    pub fn put_value(&self, hash: &[u8; 32], bytes: &[u8]) -> Result<()> {
        let err = |e: sled::Error| sled_error(&self.dir, e);
        if !self.values.contains_key(hash).map_err(err)? {
            self.values.insert(hash, bytes).map_err(err)?;
        }
        Ok(())
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
        Ok(())
    }

    pub fn flush(&self) -> Result<()> {
        self.db.flush().map_err(|e| sled_error(&self.dir, e))?;
        Ok(())
    }
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
        if !dir.exists() {
            if !create {
                return Ok(None);
            }
            std::fs::create_dir_all(dir).at(dir)?;
        }
        let path = dir.join(LOCK);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .at(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(CacheLock {
                dir: dir.to_path_buf(),
                _file: file,
            })),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked {
                path: dir.to_path_buf(),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

/// The lock file that keeps a second build off the cache.
const LOCK: &str = "lock";
/// The sled database's folder.
const STORE: &str = "store";
/// Marks a build that has started writing and not finished its sweep: the
/// next build looks for stray temporary files only when it is there.
pub const UNFINISHED: &str = "unfinished";
/// The memo file of earlier verso versions.
const OLD_MEMO: &str = "validated";

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

/// Move an unusable store out of the way: `store` → `store.unusable-N`.
fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let mut n = 1;
    loop {
        let aside = path.with_file_name(format!("{STORE}.unusable-{n}"));
        if !aside.exists() {
            if path.exists() {
                std::fs::rename(path, &aside)?;
            }
            return Ok(aside);
        }
        n += 1;
    }
}

/// Remove the cache's own files, and the folder when nothing else is left
/// in it: a cache folder set to the collection's folder must not take the
/// collection with it.
pub fn remove_cache(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name == STORE || name.starts_with(&format!("{STORE}.unusable-")) {
            std::fs::remove_dir_all(&path).at(&path)?;
        } else if [
            LOCK,
            super::memo::MEMO_FILE,
            OLD_MEMO,
            UNFINISHED,
            crate::embed::cache::FILE,
        ]
        .contains(&name.as_ref())
        {
            std::fs::remove_file(&path).at(&path)?;
        }
    }
    let _ = std::fs::remove_dir(dir);
    Ok(())
}

/// Does a cache folder hold a store?
pub fn exists(dir: &Path) -> bool {
    dir.join(STORE).exists()
}
