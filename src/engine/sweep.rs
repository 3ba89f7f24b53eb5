//! The sweep: recorded targets that the plan no longer has lose their file and
//! their record; stray temporary files from an interrupted build are removed.
//! Files verso never recorded are never touched.

use super::atomic::TEMP_SUFFIX;
use super::store::{Record, Store};
use crate::corpus::is_contained;
use crate::error::{Doing, IoContext, Result};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Remove orphaned targets; returns their paths, sorted.
pub fn orphans(
    out: &Path,
    planned: &HashSet<&str>,
    records: &HashMap<String, Record>,
    store: &Store,
) -> Result<Vec<String>> {
    let mut removed: Vec<String> = Vec::new();
    for path in records.keys() {
        if planned.contains(path.as_str()) {
            continue;
        }
        // A damaged or hostile record must not reach outside the output folder.
        if is_contained(path) {
            let file = out.join(path);
            match std::fs::symlink_metadata(&file) {
                Ok(m) if m.is_file() => {
                    std::fs::remove_file(&file).at(Doing::RemovingPages, &file)?
                }
                _ => {}
            }
        }
        store.forget(path)?;
        removed.push(path.clone());
    }
    removed.sort();
    Ok(removed)
}

/// Paths that would be removed, without removing them.
pub fn would_remove<'a>(
    planned: &HashSet<&str>,
    records: &'a HashMap<String, Record>,
) -> Vec<&'a str> {
    records
        .keys()
        .map(String::as_str)
        .filter(|p| !planned.contains(p))
        .collect()
}

/// Remove `.NAME.verso-tmp` files anywhere under the output folder.
pub fn temporaries(dir: &Path) -> Result<usize> {
    let mut count = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(_) => return Ok(0),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            count += temporaries(&path)?;
        } else if kind.is_file() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(TEMP_SUFFIX) {
                std::fs::remove_file(&path).at(Doing::RemovingPages, &path)?;
                count += 1;
            }
        }
    }
    Ok(count)
}
