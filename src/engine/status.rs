//! `verso status`: what a build would do, per family, without writing
//! anything; `--explain PATH` says why one target is stale.

use super::explain::Explainer;
use super::stale::Staleness;
use super::{Engine, Options, Prepare};
use crate::config::Config;
use crate::error::Result;
use crate::progress::Progress;
use crate::site::{Family, PerFamily};
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
    pub families: PerFamily<Counts>,
    /// Per planned or recorded path: why it would be rebuilt or removed.
    reasons: BTreeMap<String, Staleness>,
    /// The memo file was damaged (and ignored).
    pub warning: Option<String>,
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
    let (engine, cache) = Engine::new(config, &Options::default(), progress, true)?;
    let prepared = match engine.prepare(cache, &AtomicBool::new(false))? {
        Prepare::Changed(prepared) => prepared,
        Prepare::Unchanged(_) => unreachable!("status never takes the no-op shortcut"),
    };
    let site = prepared.site(&engine.memo.code);
    let explainer = Explainer::new(&engine, &site);
    let records = &prepared.records;
    let targets = site.plan();
    let out = &engine.config.output;
    let mut families = PerFamily::<Counts>::default();
    let mut reasons = BTreeMap::new();
    for t in &targets {
        let counts = &mut families[t.family];
        let mut staleness = Staleness::of(&t.key, records.get(&t.path), &out.join(&t.path));
        match &mut staleness {
            Staleness::UpToDate => counts.up_to_date += 1,
            Staleness::New => counts.new += 1,
            Staleness::InputsChanged { explained }
                if matches!(explain, Explain::Stale)
                    || matches!(explain, Explain::One(p) if p == t.path) =>
            {
                counts.stale += 1;
                *explained = Some(format!("{} <- {}", t.path, explainer.target(t)));
            }
            _ => counts.stale += 1,
        }
        reasons.insert(t.path.clone(), staleness);
    }
    let planned: HashSet<&str> = targets.iter().map(|t| t.path.as_str()).collect();
    for path in super::sweep::would_remove(&planned, records) {
        families[Family::of_path(path)].remove += 1;
        reasons.insert(path.to_string(), Staleness::Orphan);
    }
    Ok(Status {
        families,
        reasons,
        warning: engine.memo_warning.clone(),
    })
}

impl Status {
    pub fn table(&self) -> String {
        let mut text = format!(
            "  {:<14} {:>10} {:>7} {:>7} {:>9}\n",
            "family", "up to date", "stale", "new", "to remove"
        );
        for (family, c) in self.families.iter() {
            text.push_str(&format!(
                "  {:<14} {:>10} {:>7} {:>7} {:>9}\n",
                family.name(),
                c.up_to_date,
                c.stale,
                c.new,
                c.remove
            ));
        }
        text
    }

    /// Why `path` would be rebuilt; `None` when it is not a target.
    pub fn explain(&self, path: &str) -> Option<&Staleness> {
        self.reasons.get(path)
    }

    /// Each target a build would write or remove, and why, by path.
    pub fn all_stale(&self) -> impl Iterator<Item = (&String, &Staleness)> {
        self.reasons.iter().filter(|(_, r)| r.is_stale())
    }
}
