//! `verso status`: what a build would do, per family, without writing
//! anything; `--explain PATH` says why one target is stale.

use super::store::Store;
use super::{check, prepare, Check, Options, Prepared};
use crate::config::Config;
use crate::error::Result;
use crate::progress::Progress;
use crate::site::entry::Digests;
use crate::site::paths::code;
use crate::site::{Family, Site, Target};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicBool;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub up_to_date: usize,
    pub stale: usize,
    pub new: usize,
    pub remove: usize,
}

pub struct Status {
    pub families: BTreeMap<&'static str, Counts>,
    /// Per planned or recorded path: why it would be rebuilt or removed.
    reasons: HashMap<String, String>,
}

pub fn status(config: Config, progress: &Progress, explain: Option<&str>) -> Result<Status> {
    let prepared = prepare(
        config,
        &Options::default(),
        progress,
        false,
        &AtomicBool::new(false),
    )?;
    let site = prepared.site();
    let Prepared {
        config,
        store,
        records,
        ..
    } = &prepared;
    let store = store.as_ref();
    let targets = site.plan();
    let out = &config.output;
    let explain = explain.map(|p| p.trim_start_matches("./"));
    let mut families: BTreeMap<&'static str, Counts> = Family::ALL
        .iter()
        .map(|f| (f.name(), Counts::default()))
        .collect();
    let mut reasons = HashMap::new();
    for t in &targets {
        let counts = families.get_mut(t.family.name()).unwrap();
        let reason = match records.get(&t.path) {
            None => {
                counts.new += 1;
                "new: it has never been built with this cache".to_string()
            }
            Some(_) if !matches!(check(t, records, out), Check::Stale) => {
                counts.up_to_date += 1;
                "up to date: its key and its file match the cache".to_string()
            }
            Some(r) => {
                counts.stale += 1;
                match std::fs::metadata(out.join(&t.path)) {
                    Err(_) => "stale: its file is missing from the output folder".to_string(),
                    Ok(m) if m.len() != r.size => {
                        format!(
                            "stale: its file was changed outside verso ({} bytes, {} recorded)",
                            m.len(),
                            r.size
                        )
                    }
                    Ok(_) if explain == Some(t.path.as_str()) => {
                        format!("stale: {}", why(store, &site, t))
                    }
                    Ok(_) => "stale: an input of its key changed".to_string(),
                }
            }
        };
        reasons.insert(t.path.clone(), reason);
    }
    let planned: HashSet<&str> = targets.iter().map(|t| t.path.as_str()).collect();
    for path in super::sweep::would_remove(&planned, records) {
        families
            .get_mut(Family::of_path(path).name())
            .unwrap()
            .remove += 1;
        reasons.insert(
            path.to_string(),
            "to remove: it is no longer part of the site".to_string(),
        );
    }
    Ok(Status { families, reasons })
}

/// Which part of a stale page's key changed, from the anatomy recorded when
/// it was last written and the entries' digests of the last build.
fn why(store: Option<&Store>, site: &Site, target: &Target) -> String {
    let Some(old) = store.and_then(|s| s.anatomy(&target.path)) else {
        return "an input of its key changed".into();
    };
    let new = &site.anatomy(target);
    if target.family == Family::Media {
        return "the source file's bytes changed".into();
    }
    if old.fingerprint != new.fingerprint {
        return "the generator changed: a template it uses, or verso's version".into();
    }
    let mut reasons = Vec::new();
    if old.poems != new.poems {
        let at = old
            .poems
            .iter()
            .zip(&new.poems)
            .position(|(a, b)| a != b)
            .unwrap_or(old.poems.len().min(new.poems.len()));
        reasons.push(match (old.poems.get(at), new.poems.get(at)) {
            (Some(a), Some(b)) => format!(
                "the poems it shows changed: poem {} now stands where poem {} was",
                code(*b),
                code(*a)
            ),
            (None, Some(b)) => format!("the poems it shows changed: poem {} was added", code(*b)),
            (Some(a), None) => format!(
                "the poems it shows changed: poem {} is no longer shown",
                code(*a)
            ),
            (None, None) => "the poems it shows changed".into(),
        });
    }
    if old.header != new.header {
        reasons.push("its page values changed (page count, ranks, header text or links)".into());
    }
    let current: HashMap<u32, Digests> = site.entry_digests().into_iter().collect();
    let mut changed = Vec::new();
    let mut seen = HashSet::new();
    for index in new.poems.iter().filter(|i| seen.insert(**i)) {
        let before = store.and_then(|s| s.entry_digests(*index));
        let (Some(before), Some(now)) = (before, current.get(index)) else {
            continue;
        };
        let fields: Vec<&str> = now
            .iter()
            .zip(&before)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.0.as_str())
            .collect();
        if !fields.is_empty() {
            changed.push(format!(
                "entry of poem {} changed: {}",
                code(*index),
                fields.join(", ")
            ));
        }
    }
    let more = changed.len().saturating_sub(3);
    changed.truncate(3);
    if more > 0 {
        changed.push(format!("and {more} more entries"));
    }
    reasons.extend(changed);
    if reasons.is_empty() {
        reasons.push("an entry it shows renders differently".into());
    }
    reasons.join("; ")
}

impl Status {
    pub fn table(&self) -> String {
        let mut text = format!(
            "  {:<14} {:>10} {:>7} {:>7} {:>9}\n",
            "family", "up to date", "stale", "new", "to remove"
        );
        for (name, c) in &self.families {
            text.push_str(&format!(
                "  {name:<14} {:>10} {:>7} {:>7} {:>9}\n",
                c.up_to_date, c.stale, c.new, c.remove
            ));
        }
        text
    }

    pub fn explain(&self, path: &str) -> String {
        let path = path.trim_start_matches("./");
        match self.reasons.get(path) {
            Some(reason) => format!("{path}: {reason}"),
            None => format!("{path}: not a target of this site"),
        }
    }
}
