//! The sled store, the only code that knows sled. Trees: `targets` (output
//! path → key, size, output hash, time last seen intact), `derived` (input
//! hash → postcard bytes), `meta` (format and verso version). A store that
//! cannot be opened, is corrupt, or is of another format or version is set
//! aside and a clean one started; a store in use by another build is refused.

use crate::error::{Error, IoContext, Result};
use crate::site::entry::Digests;
use crate::site::Anatomy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bumped whenever a record's or a derived value's layout changes.
pub const FORMAT: u32 = 2;

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
    derived: sled::Tree,
    /// Output path → the page's `Anatomy`, for `status --explain`.
    anatomy: sled::Tree,
    /// poem_index → digests of its entry's inputs as of the last build.
    entries: sled::Tree,
    /// Derived keys used by this build; the others are dropped at the end.
    used: Mutex<HashSet<Vec<u8>>>,
    _lock: CacheLock,
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
        let dir = dir.as_path();
        let db_path = dir.join(STORE);
        let mut warning = None;
        let opened = match Self::try_open(&db_path) {
            Ok(opened) => Some(opened),
            Err(reason) => {
                let aside = set_aside(&db_path).at(&db_path)?;
                let _ = std::fs::remove_file(dir.join(MEMO));
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
            None => Self::try_open(&db_path).map_err(|e| store_error(&db_path, e))?,
        };
        let open_tree = |name: &str| db.open_tree(name).map_err(|e| sled_error(&db_path, e));
        Ok(Opened {
            store: Store {
                dir: dir.to_path_buf(),
                targets: open_tree("targets")?,
                derived: open_tree("derived")?,
                anatomy: open_tree("anatomy")?,
                entries: open_tree("entries")?,
                db,
                used: Mutex::new(HashSet::new()),
                _lock: lock,
            },
            records,
            warning,
        })
    }

    /// Open sled, check the format and read every record; any failure (or a
    /// panic inside sled on damaged files) is a reason to set the store aside.
    fn try_open(path: &Path) -> std::result::Result<(sled::Db, HashMap<String, Record>), String> {
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

    /// Record a target whose file is in place, with what its key was made of.
    pub fn record(&self, path: &str, record: &Record, anatomy: &Anatomy) -> Result<()> {
        self.refresh(path, record)?;
        let anatomy = postcard::to_stdvec(anatomy).expect("anatomies serialise");
        self.anatomy
            .insert(path.as_bytes(), anatomy)
            .map_err(|e| sled_error(&self.dir, e))?;
        Ok(())
    }

    /// Write a target's record alone (its anatomy unchanged), as for a file
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
        self.anatomy
            .remove(path.as_bytes())
            .map_err(|e| sled_error(&self.dir, e))?;
        Ok(())
    }

    pub fn anatomy(&self, path: &str) -> Option<Anatomy> {
        let bytes = self.anatomy.get(path.as_bytes()).ok()??;
        postcard::from_bytes(&bytes).ok()
    }

    pub fn entry_digests(&self, index: u32) -> Option<Digests> {
        let bytes = self.entries.get(index.to_be_bytes()).ok()??;
        postcard::from_bytes(&bytes).ok()
    }

    /// Keep the entries' digests of this build; drop those of deleted poems.
    pub fn update_entries(&self, digests: &[(u32, Digests)]) -> Result<()> {
        let err = |e: sled::Error| sled_error(&self.dir, e);
        let current: HashSet<[u8; 4]> = digests.iter().map(|(i, _)| i.to_be_bytes()).collect();
        for key in self.entries.iter().keys() {
            let key = key.map_err(err)?;
            if !current.contains(key.as_ref()) {
                self.entries.remove(key).map_err(err)?;
            }
        }
        for (index, fields) in digests {
            let bytes = postcard::to_stdvec(fields).expect("digests serialise");
            if self
                .entries
                .get(index.to_be_bytes())
                .map_err(err)?
                .as_deref()
                != Some(bytes.as_slice())
            {
                self.entries
                    .insert(index.to_be_bytes(), bytes)
                    .map_err(err)?;
            }
        }
        Ok(())
    }

    /// A cached derived value; `None` when absent or unreadable.
    pub fn derived<T: DeserializeOwned>(&self, key: &blake3::Hash) -> Option<T> {
        self.used.lock().unwrap().insert(key.as_bytes().to_vec());
        let bytes = catch_unwind(AssertUnwindSafe(|| self.derived.get(key.as_bytes())))
            .ok()?
            .ok()??;
        postcard::from_bytes(&bytes).ok()
    }

    pub fn put_derived<T: Serialize>(&self, key: &blake3::Hash, value: &T) -> Result<()> {
        self.used.lock().unwrap().insert(key.as_bytes().to_vec());
        let bytes = postcard::to_stdvec(value).map_err(|e| store_error(&self.dir, e))?;
        self.derived
            .insert(key.as_bytes(), bytes)
            .map_err(|e| sled_error(&self.dir, e))?;
        Ok(())
    }

    /// Count these derived values as used by this build, unread.
    pub fn keep_derived(&self, keys: &[[u8; 32]]) {
        let mut used = self.used.lock().unwrap();
        used.extend(keys.iter().map(|k| k.to_vec()));
    }

    /// Drop derived values this build did not use (old inputs).
    pub fn prune_derived(&self) -> Result<()> {
        let used = self.used.lock().unwrap();
        for key in self.derived.iter().keys() {
            let key = key.map_err(|e| sled_error(&self.dir, e))?;
            if !used.contains(key.as_ref()) {
                self.derived
                    .remove(key)
                    .map_err(|e| sled_error(&self.dir, e))?;
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

/// The memo: what validation needs to know of inputs that passed before,
/// kept in a plain file so that it can be read without opening (and so
/// writing) the store.
pub const MEMO: &str = "validated";
/// The lock file that keeps a second build off the cache.
const LOCK: &str = "lock";
/// The sled database's folder.
const STORE: &str = "store";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Memo {
    /// Hash of the poems' vectors' inputs that passed, with their dimension and warnings.
    pub vectors: Option<([u8; 32], usize, Vec<String>)>,
    /// Hash of the word data's inputs whose companion files passed.
    pub words: Option<[u8; 32]>,
    /// Digest of every entry's digests as last stored.
    pub entries: Option<[u8; 32]>,
    /// Digest of every input of the last completed build, and how many
    /// targets it recorded: when both still hold, nothing can be stale.
    pub inputs: Option<([u8; 32], usize)>,
    /// Content hashes of input files by path, size and modification time,
    /// so unchanged inputs are not read again (keys stay content hashes).
    pub files: Vec<FileHash>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    pub path: String,
    pub len: u64,
    pub modified: (i64, u32),
    pub hash: [u8; 32],
}

/// Marks a build that has started writing and not finished its sweep: the
/// next build looks for stray temporary files only when it is there.
pub const UNFINISHED: &str = "unfinished";

impl Memo {
    pub fn read(dir: &Path) -> Memo {
        std::fs::read(dir.join(MEMO))
            .ok()
            .and_then(|b| postcard::from_bytes(&b).ok())
            .unwrap_or_default()
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let bytes = postcard::to_stdvec(self).expect("memos serialise");
        super::exec::write_atomically(&dir.join(MEMO), &bytes).map(|_| ())
    }
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
        } else if [LOCK, MEMO, UNFINISHED].contains(&name.as_ref()) {
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
