//! `verso status`: what a build would do, per family, without writing
//! anything; `--explain PATH` says why one target is stale.

use super::{prepare, up_to_date, Options, Prepared};
use crate::config::Config;
use crate::error::Result;
use crate::progress::Progress;
use crate::site::{Family, Site};
use std::collections::{BTreeMap, HashMap, HashSet};

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

pub fn status(config: Config, progress: &Progress) -> Result<Status> {
    let Prepared {
        config,
        corpus,
        renderer,
        records,
        neighbours,
        word_data_colours,
        words,
        layout,
        ..
    } = prepare(config, &Options::default(), progress, false)?;
    let site = Site::new(
        &corpus,
        &renderer,
        &neighbours,
        &word_data_colours,
        &words,
        layout,
        config.media.clone(),
    );
    let targets = site.plan()?;
    let out = &config.output;
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
            Some(_) if up_to_date(t, &records, out) => {
                counts.up_to_date += 1;
                "up to date: its key and its file match the cache".to_string()
            }
            Some(r) => {
                counts.stale += 1;
                match std::fs::metadata(out.join(&t.path)) {
                    Err(_) => "stale: its file is missing from the output folder".to_string(),
                    Ok(m) if m.len() != r.size => {
                        format!("stale: its file was changed outside verso ({} bytes, {} recorded)", m.len(), r.size)
                    }
                    Ok(_) => "stale: an input of its key changed (its poems, their entries, the templates or its page values)"
                        .to_string(),
                }
            }
        };
        reasons.insert(t.path.clone(), reason);
    }
    let planned: HashSet<&str> = targets.iter().map(|t| t.path.as_str()).collect();
    for path in super::sweep::would_remove(&planned, &records) {
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

    pub fn explain(&self, path: &str) -> String {
        let path = path.trim_start_matches("./");
        match self.reasons.get(path) {
            Some(reason) => format!("{path}: {reason}"),
            None => format!("{path}: not a target of this site"),
        }
    }

    pub fn is_clean(&self) -> bool {
        self.families
            .values()
            .all(|c| c.stale + c.new + c.remove == 0)
    }
}
