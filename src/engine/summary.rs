//! A build's summary: counts per family (written, up to date, removed), the
//! rules the engine computed and reused, each stage's seconds; printed, and
//! written by `--summary-json` and `--changes`.

use super::memo::RuleCounts;
use crate::error::{Doing, IoContext, Result};
use crate::progress::Progress;
use crate::site::PerFamily;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FamilyCounts {
    pub written: usize,
    pub up_to_date: usize,
    pub removed: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub families: Families,
    /// Pages rendered (written, or rendered and found identical on disk).
    pub rendered: usize,
    pub interrupted: bool,
    /// Targets an interrupted build did not reach.
    pub left: usize,
    /// Targets written or removed, by why (`stale::Staleness::kind`).
    pub why: BTreeMap<&'static str, usize>,
    /// Per rule: instances computed and reused (the engine's event log).
    pub rules: BTreeMap<&'static str, RuleCounts>,
    pub stages: Vec<StageTime>,
    pub seconds: f64,
    /// Texts the model embedded (`[model]`; the rest came from its cache).
    pub embedded: usize,
    /// Bytes read from and written to the remote cache.
    pub remote_read_bytes: u64,
    pub remote_written_bytes: u64,
    /// Output paths written and removed (what `--changes` lists).
    #[serde(skip)]
    pub written_paths: Vec<String>,
    #[serde(skip)]
    pub removed_paths: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageTime {
    pub stage: &'static str,
    pub seconds: f64,
}

impl Summary {
    pub fn new(
        families: Families,
        rendered: usize,
        interrupted: bool,
        left: usize,
        rules: BTreeMap<&'static str, RuleCounts>,
        progress: &Progress,
    ) -> Summary {
        let stages = progress
            .stage_seconds
            .lock()
            .unwrap()
            .iter()
            .map(|&(stage, seconds)| StageTime { stage, seconds })
            .collect();
        Summary {
            families,
            rendered,
            interrupted,
            left,
            why: BTreeMap::new(),
            rules,
            stages,
            seconds: progress.started.elapsed().as_secs_f64(),
            embedded: 0,
            remote_read_bytes: 0,
            remote_written_bytes: 0,
            written_paths: Vec::new(),
            removed_paths: Vec::new(),
        }
    }

    pub fn written(&self) -> usize {
        self.families.values().map(|f| f.written).sum()
    }
    pub fn up_to_date(&self) -> usize {
        self.families.values().map(|f| f.up_to_date).sum()
    }
    pub fn removed(&self) -> usize {
        self.families.values().map(|f| f.removed).sum()
    }
}

/// Where the reports go.
pub struct Reports<'a> {
    pub summary_json: Option<&'a PathBuf>,
    pub changes: Option<&'a PathBuf>,
}

/// `--changes` (paths written and removed) and `--summary-json`.
pub fn write_reports(
    options: &Reports,
    summary: &Summary,
    written: &[String],
    removed: &[String],
) -> Result<()> {
    if let Some(path) = &options.changes {
        let mut text = String::new();
        for p in written {
            text.push_str(&format!("+{p}\n"));
        }
        for p in removed {
            text.push_str(&format!("-{p}\n"));
        }
        std::fs::write(path, text).at(Doing::WritingReport, path)?;
    }
    if let Some(path) = &options.summary_json {
        let json = serde_json::to_string_pretty(summary).expect("summaries serialise");
        std::fs::write(path, json + "\n").at(Doing::WritingReport, path)?;
    }
    Ok(())
}

/// Per family, the counts of a summary.
pub type Families = PerFamily<FamilyCounts>;

/// The summary as printed at the end of a build.
pub fn summary_text(summary: &Summary) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "  {:<14} {:>8} {:>11} {:>8}\n",
        "family", "written", "up to date", "removed"
    ));
    for (family, c) in summary.families.iter() {
        if c.written + c.up_to_date + c.removed > 0 {
            text.push_str(&format!(
                "  {:<14} {:>8} {:>11} {:>8}\n",
                family.name(),
                c.written,
                c.up_to_date,
                c.removed
            ));
        }
    }
    text.push_str(&format!(
        "  {:<14} {:>8} {:>11} {:>8}\n",
        "total",
        summary.written(),
        summary.up_to_date(),
        summary.removed()
    ));
    if summary.interrupted {
        text.push_str(&format!(
            "interrupted after {:.1} s: {} page(s) written, {} left; rerun to resume\n",
            summary.seconds,
            summary.written(),
            summary.left
        ));
    } else {
        text.push_str(&format!(
            "built in {:.2} s: {} written, {} up to date, {} removed\n",
            summary.seconds,
            summary.written(),
            summary.up_to_date(),
            summary.removed()
        ));
    }
    text
}
