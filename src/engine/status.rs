//! `verso status`: what a build would do, per family, without writing
//! anything; `--explain PATH` says why one target is stale.

use super::explain::Explainer;
use super::{check, Check, Engine, Options, Prepare};
use crate::config::Config;
use crate::error::Result;
use crate::progress::Progress;
use crate::site::Family;
use std::collections::{BTreeMap, HashSet};
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
    reasons: BTreeMap<String, String>,
}

/// Which targets get a full explanation.
#[derive(Debug, Clone, Copy)]
pub enum Explain<'a> {
    None,
    /// One path, relative to the output folder.
    One(&'a str),
    Stale,
}

pub fn status(config: Config, progress: &Progress, explain: Explain) -> Result<Status> {
    let engine = Engine::new(config, &Options::default(), progress, true)?;
    let prepared = match engine.prepare(&AtomicBool::new(false))? {
        Prepare::Changed(prepared) => prepared,
        Prepare::Unchanged(_) => unreachable!("status never takes the no-op shortcut"),
    };
    let site = prepared.site(&engine.memo.code);
    let explainer = Explainer::new(&engine, &site);
    let records = &prepared.records;
    let targets = site.plan();
    let out = &engine.config.output;
    let mut families: BTreeMap<&'static str, Counts> = Family::ALL
        .iter()
        .map(|f| (f.name(), Counts::default()))
        .collect();
    let mut reasons = BTreeMap::new();
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
                    Ok(_) if r.key == *t.key.as_bytes() => {
                        "stale: its file was changed outside verso".to_string()
                    }
                    Ok(_)
                        if matches!(explain, Explain::Stale)
                            || matches!(explain, Explain::One(p) if p == t.path) =>
                    {
                        format!("stale: {} <- {}", t.path, explainer.target(t))
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

    /// Why `path` would be rebuilt; `None` when it is not a target.
    pub fn explain(&self, path: &str) -> Option<&str> {
        self.reasons.get(path).map(String::as_str)
    }

    /// Each target a build would write or remove, and why, by path.
    pub fn all_stale(&self) -> impl Iterator<Item = (&String, &String)> {
        self.reasons
            .iter()
            .filter(|(_, r)| !r.starts_with("up to date"))
    }
}
