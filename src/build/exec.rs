//! The executor: rayon over the stale targets. A worker renders a page into
//! its buffer, and — unless the bytes equal what is already on disk — writes a
//! temporary file beside the target and renames it into place; only then is
//! the target recorded. Workers stop taking pages once `cancel` is set.

use super::store::{Record, Store};
use crate::error::{Error, IoContext, Result};
use crate::progress::Progress;
use crate::site::{Site, Target};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
}

pub fn execute(job: &Job, stale: &[&Target]) -> Result<Outcome> {
    let Job {
        site,
        records,
        store,
        out,
        progress,
        cancel,
        checkpoint,
    } = *job;
    let folders: BTreeSet<&str> = stale
        .iter()
        .filter_map(|t| t.path.rsplit_once('/').map(|(dir, _)| dir))
        .collect();
    std::fs::create_dir_all(out).at(out)?;
    for folder in folders {
        let dir = out.join(folder);
        std::fs::create_dir_all(&dir).at(&dir)?;
    }
    let outcome = Mutex::new(Outcome::default());
    let finished = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let result = stale.par_iter().try_for_each_init(
        || Vec::with_capacity(1 << 20),
        |buf: &mut Vec<u8>, target| -> Result<()> {
            if cancel.load(Ordering::Relaxed) || failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            build_one(site, target, records, store, out, buf, &outcome).inspect_err(|_| {
                failed.store(true, Ordering::Relaxed);
            })?;
            progress.done(target.family, target.poem);
            if (finished.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(checkpoint) {
                store.flush()?;
            }
            Ok(())
        },
    );
    store.flush()?;
    result?;
    let mut outcome = outcome.into_inner().unwrap();
    outcome.changes.sort();
    Ok(outcome)
}

fn build_one(
    site: &Site,
    target: &Target,
    records: &HashMap<String, Record>,
    store: &Store,
    out: &Path,
    buf: &mut Vec<u8>,
    outcome: &Mutex<Outcome>,
) -> Result<()> {
    let anatomy = site.render(target, buf)?;
    let hash = *blake3::hash(buf).as_bytes();
    let record = Record {
        key: *target.key.as_bytes(),
        size: buf.len() as u64,
        hash,
    };
    let path = out.join(&target.path);
    let same_bytes = records
        .get(&target.path)
        .is_some_and(|r| r.hash == hash && r.size == record.size)
        && std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == record.size);
    if !same_bytes {
        write_atomically(&path, buf)?;
    }
    store.record(&target.path, &record, &anatomy)?;
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

/// Write `bytes` to a temporary file beside `path` and rename it over `path`,
/// so that `path` is always either the old file or the whole new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("page");
    let temp = path.with_file_name(format!(".{name}{TEMP_SUFFIX}"));
    let written = std::fs::File::create(&temp).and_then(|mut f| f.write_all(bytes));
    if let Err(e) = written.and_then(|_| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::io(path, e));
    }
    Ok(())
}
