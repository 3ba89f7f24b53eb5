//! The executor: rayon over the stale targets. A worker renders a page into
//! its buffer, and — unless the bytes equal what is already on disk — writes a
//! temporary file beside the target and renames it into place; only then is
//! the target recorded. Workers stop taking pages once `cancel` is set.

use super::files::{self, FileState};
use super::store::{Record, Store};
use crate::error::{Doing, Error, IoContext, Result};
use crate::progress::Progress;
use crate::site::{Site, Target};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Outcome {
    /// Per family: files written.
    pub written: [usize; 6],
    /// Per family: pages rendered whose bytes matched the file already there.
    pub unchanged: [usize; 6],
    /// Output paths written, sorted.
    pub changes: Vec<String>,
}

impl Outcome {
    /// Add another run's outcome to this one.
    pub fn add(&mut self, other: Outcome) {
        for f in 0..self.written.len() {
            self.written[f] += other.written[f];
            self.unchanged[f] += other.unchanged[f];
        }
        self.changes.extend(other.changes);
        self.changes.sort();
    }
}

/// Suffix of temporary files; the sweep removes strays a kill left behind.
pub const TEMP_SUFFIX: &str = ".verso-tmp";

/// What the workers share.
pub struct Job<'a> {
    pub site: &'a Site<'a>,
    pub records: &'a HashMap<String, Record>,
    pub store: &'a Store,
    pub out: &'a Path,
    pub progress: &'a Progress,
    pub cancel: &'a AtomicBool,
    /// Pages between store flushes.
    pub checkpoint: usize,
    /// Write every page, even over a file that holds its bytes (`--force`).
    pub rewrite: bool,
    /// The output folder is not the site (`--delta`): a record's bytes are
    /// taken to be on the site, and a page with those bytes is not written.
    pub trust_records: bool,
}

pub fn execute(job: &Job, stale: &[&Target]) -> Result<Outcome> {
    let Job {
        store,
        out,
        progress,
        cancel,
        checkpoint,
        ..
    } = *job;
    let folders: BTreeSet<&str> = stale
        .iter()
        .filter_map(|t| t.path.rsplit_once('/').map(|(dir, _)| dir))
        .collect();
    std::fs::create_dir_all(out).at(Doing::WritingSite, out)?;
    for folder in folders {
        let dir = out.join(folder);
        std::fs::create_dir_all(&dir).at(Doing::WritingSite, &dir)?;
    }
    let outcome = Mutex::new(Outcome::default());
    let finished = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // Replaced pages are removed on a thread of their own, beside the
    // rendering; a kill leaves them as temporaries for the next sweep.
    let (old_pages, removals) = std::sync::mpsc::channel::<PathBuf>();
    let remover = std::thread::spawn(move || {
        for old in removals {
            let _ = std::fs::remove_file(old);
        }
    });
    let result = stale.par_iter().try_for_each_init(
        || (Vec::with_capacity(1 << 20), old_pages.clone()),
        |(buf, old_pages), target| -> Result<()> {
            if cancel.load(Ordering::Relaxed) || failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            build_one(job, target, buf, old_pages, &outcome).inspect_err(|_| {
                failed.store(true, Ordering::Relaxed);
            })?;
            progress.done(target.family, target.poem);
            if (finished.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(checkpoint) {
                store.flush()?;
            }
            Ok(())
        },
    );
    drop(old_pages);
    let _ = remover.join();
    store.flush()?;
    result?;
    let mut outcome = outcome.into_inner().unwrap();
    outcome.changes.sort();
    Ok(outcome)
}

fn build_one(
    job: &Job,
    target: &Target,
    buf: &mut Vec<u8>,
    old_pages: &Sender<PathBuf>,
    outcome: &Mutex<Outcome>,
) -> Result<()> {
    let Job {
        site,
        records,
        store,
        out,
        rewrite,
        trust_records,
        ..
    } = *job;
    let trace = site.render(target, buf)?;
    let hash = *blake3::hash(buf).as_bytes();
    let size = buf.len() as u64;
    let path = out.join(&target.path);
    // The bytes already on disk, when they are these bytes: their time.
    // Without a record (a lost or set-aside cache) a file of the same size
    // is hashed, so that unchanged pages are not rewritten.
    let state = match records.get(&target.path) {
        _ if rewrite => FileState::Differs,
        Some(r) if r.hash == hash && r.size == size && trust_records => FileState::Intact(r.seen),
        Some(r) if r.hash == hash && r.size == size => files::state(&path, r),
        Some(_) => FileState::Differs,
        None => files::holds(&path, size, &hash, 0),
    };
    let (same_bytes, seen) = match state {
        FileState::Intact(seen) | FileState::Rehashed(seen) => (true, seen),
        FileState::Differs => {
            let (seen, old) = write_new(&path, buf)?;
            if let Some(old) = old {
                let _ = old_pages.send(old);
            }
            (false, seen)
        }
    };
    let record = Record {
        key: *target.key.as_bytes(),
        size,
        hash,
        seen,
    };
    store.record(&target.path, &record, &trace)?;
    let mut o = outcome.lock().unwrap();
    let family = target.family as usize;
    if same_bytes {
        o.unchanged[family] += 1;
    } else {
        o.written[family] += 1;
        o.changes.push(target.path.clone());
    }
    Ok(())
}

/// Write `bytes` to a temporary file beside `path` and move it into place,
/// so that `path` is always either the old file or the whole new one.
/// Returns the file's modification time (see `files::modified`).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<u64> {
    let (seen, old) = write_new(path, bytes)?;
    if let Some(old) = old {
        std::fs::remove_file(&old).at(Doing::WritingSite, &old)?;
    }
    Ok(seen)
}

/// `write_atomically`, leaving the replaced file (if any) at the returned
/// path for the caller to remove.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(u64, Option<PathBuf>)> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("page");
    let temp = path.with_file_name(format!(".{name}{TEMP_SUFFIX}"));
    let written = std::fs::File::create(&temp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.metadata()
    });
    match written.and_then(|meta| replace(&temp, path).map(|old| (meta, old))) {
        Ok((meta, exchanged)) => Ok((files::modified(&meta), exchanged.then_some(temp))),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(Error::io(Doing::WritingSite, path, e))
        }
    }
}

/// Put `temp` at `path`; `true` when the old file was exchanged to `temp`.
/// Over an existing regular file, the two are exchanged atomically: a plain
/// rename over an existing file makes ext4 start writing the new one out at
/// once (`auto_da_alloc`), which made rewriting a whole site about twice as
/// slow as writing it anew. A kill before the old file is removed leaves it
/// as a temporary, which the next build's sweep removes.
fn replace(temp: &Path, path: &Path) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
        let (from, to) = (c(temp)?, c(path)?);
        // SAFETY: two valid NUL-terminated paths; renameat2 reads them only.
        let exchanged = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if exchanged == 0 {
            return Ok(true);
        }
        // A filesystem without exchanges: a plain rename.
    }
    std::fs::rename(temp, path).map(|_| false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_written_new_over_an_old_one_and_never_over_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("p.html");
        write_atomically(&page, b"first").unwrap();
        write_atomically(&page, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&page).unwrap(), b"second, longer");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");
        // A folder where a page should go stays a folder, with its files.
        let folder = dir.path().join("f.html");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("mine"), b"x").unwrap();
        assert!(write_atomically(&folder, b"page").is_err());
        assert!(folder.join("mine").is_file());
        assert!(!dir.path().join(".f.html.verso-tmp").exists());
    }
}
