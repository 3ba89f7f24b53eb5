//! The executor: rayon over the stale targets. A worker renders a page into
//! its buffer, and — unless the bytes equal what is already on disk — writes a
//! temporary file beside the target and renames it into place; only then is
//! the target recorded. Workers stop taking pages once `cancel` is set.

use super::atomic;
use super::files::{self, FileState};
use super::store::{Record, Store};
use crate::error::{Doing, IoContext, Result};
use crate::progress::Progress;
use crate::site::{Family, PerFamily, Site, Target};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Outcome {
    /// Per family: files written.
    pub written: PerFamily<usize>,
    /// Per family: pages rendered whose bytes matched the file already there.
    pub unchanged: PerFamily<usize>,
    /// Output paths written, sorted.
    pub changes: Vec<String>,
}

impl Outcome {
    /// Add another run's outcome to this one.
    pub fn add(&mut self, other: Outcome) {
        for f in Family::ALL {
            self.written[f] += other.written[f];
            self.unchanged[f] += other.unchanged[f];
        }
        self.changes.extend(other.changes);
        self.changes.sort();
    }
}

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
            let (meta, old) = atomic::write_new(&path, buf, Doing::WritingSite)?;
            let seen = files::modified(&meta);
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
    if same_bytes {
        o.unchanged[target.family] += 1;
    } else {
        o.written[target.family] += 1;
        o.changes.push(target.path.clone());
    }
    Ok(())
}
