//! `status --explain`: why a target is stale, by following traces from the
//! page through the rule instances whose values it used down to the input
//! that changed (a file, a configuration key, a template, code), e.g.
//! `similar/0005-01.html <- poems shown <- neighbours <- vectors <-
//! embeddings.json (vector of poem 0012 changed)`. It compares what each
//! instance's trace held at the last build with what it holds now, field by
//! field, with the same fields the engine keys on.

use super::rule::{Part, Trace};
use super::Engine;
use crate::site::paths::code;
use crate::site::{entry, Site, Target};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// How many changed entries one explanation names.
const ENTRIES_NAMED: usize = 3;

/// The fields of `new` that differ from `old` (or that `old` lacks), and
/// those of `old` that `new` lacks.
fn changed_fields<'t>(
    old: &'t Trace,
    new: &'t Trace,
) -> Vec<&'t (String, [u8; 8], Option<String>)> {
    let before: HashMap<&str, &[u8; 8]> = old.fields.iter().map(|f| (f.0.as_str(), &f.1)).collect();
    let now: HashMap<&str, ()> = new.fields.iter().map(|f| (f.0.as_str(), ())).collect();
    new.fields
        .iter()
        .filter(|f| before.get(f.0.as_str()) != Some(&&f.1))
        .chain(
            old.fields
                .iter()
                .filter(|f| !now.contains_key(f.0.as_str())),
        )
        .collect()
}

/// The parts (poems) in both traces whose digests differ, and those only
/// the new one has.
fn changed_parts(old: &Trace, new: &Trace) -> (Vec<u32>, Vec<u32>) {
    let before: HashMap<&Part, u32> = old.parts.iter().map(|(p, d)| (p, *d)).collect();
    let (mut changed, mut added) = (Vec::new(), Vec::new());
    for (Part::Poem(i), digest) in &new.parts {
        match before.get(&Part::Poem(*i)) {
            Some(d) if d == digest => {}
            Some(_) => changed.push(*i),
            None => added.push(*i),
        }
    }
    changed.dedup();
    added.dedup();
    (changed, added)
}

/// The poems named by a list of poem indices, shortened.
fn poems(indices: &[u32]) -> String {
    let named: Vec<String> = indices
        .iter()
        .take(ENTRIES_NAMED)
        .map(|i| code(*i))
        .collect();
    let more = indices.len().saturating_sub(ENTRIES_NAMED);
    match more {
        0 => named.join(", "),
        _ => format!("{} and {more} more", named.join(", ")),
    }
}

pub struct Explainer<'a> {
    pub engine: &'a Engine<'a>,
    pub site: &'a Site<'a>,
    /// Instances already followed down: named, not followed again.
    seen: RefCell<HashSet<String>>,
}

/// At most `ENTRIES_NAMED` reasons, and how many more there were.
fn listed(mut reasons: Vec<String>) -> String {
    let more = reasons.len().saturating_sub(ENTRIES_NAMED);
    reasons.truncate(ENTRIES_NAMED);
    if more > 0 {
        reasons.push(format!("and {more} more"));
    }
    reasons.join(", ")
}

impl<'a> Explainer<'a> {
    pub fn new(engine: &'a Engine<'a>, site: &'a Site<'a>) -> Explainer<'a> {
        Explainer {
            engine,
            site,
            seen: Default::default(),
        }
    }

    /// Why `target` is stale: its changed fields, each followed down.
    pub fn target(&self, target: &Target) -> String {
        self.seen.borrow_mut().clear();
        let Some(old) = self.engine.memo.store().and_then(|s| s.trace(&target.path)) else {
            return "an input of its key changed (no trace of its last build)".into();
        };
        let new = self.site.trace(target);
        let mut reasons = Vec::new();
        for field in changed_fields(&old, &new) {
            let (name, _, from) = field;
            reasons.extend(match (name.as_str(), from) {
                ("entries", _) => self.entries(&old, &new),
                (_, Some(instance)) => Some(self.via(name, instance, 0)),
                (_, None) => Some(self.leaf(name)),
            });
        }
        match reasons.is_empty() {
            true => "the file on disk differs from its record".into(),
            false => reasons.join("; "),
        }
    }

    fn leaf(&self, name: &str) -> String {
        match name {
            "code" => "verso's code for it changed".into(),
            _ => format!("{name} changed"),
        }
    }

    /// Which entries a page shows differently, and why each changed; `None`
    /// when the poems it shows changed but none of their entries did.
    fn entries(&self, old: &Trace, new: &Trace) -> Option<String> {
        let (changed, _) = changed_parts(old, new);
        let mut reasons: Vec<String> = changed
            .iter()
            .take(ENTRIES_NAMED)
            .map(|&index| self.entry(index))
            .collect();
        if changed.len() > ENTRIES_NAMED {
            reasons.push(format!(
                "and {} more entries",
                changed.len() - ENTRIES_NAMED
            ));
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    fn entry(&self, index: u32) -> String {
        let instance = entry::instance(index);
        let instance = instance.name();
        let old = self.engine.memo.store().and_then(|s| s.trace(instance));
        let row = self
            .site
            .corpus
            .poems
            .binary_search_by_key(&index, |p| p.index);
        let (Some(old), Ok(row)) = (old, row) else {
            return format!("{instance} (new)");
        };
        let fp = self.site.entry_fingerprint(row);
        let key = fp.key();
        let new = fp.trace(key, key);
        let fields: Vec<String> = changed_fields(&old, &new)
            .into_iter()
            .map(|(name, _, from)| match from {
                Some(instance) => self.via(name, instance, 1),
                None => self.leaf(name),
            })
            .collect();
        match fields.is_empty() {
            true => format!("{instance} (changed since this page was written)"),
            false => format!("{instance} <- {}", listed(fields)),
        }
    }

    /// A field that is another instance's value, followed into it.
    fn via(&self, field: &str, instance: &str, depth: usize) -> String {
        match self.instance(instance, depth) {
            None => self.leaf(field),
            Some(why) if field == instance => why,
            Some(why) => format!("{field} <- {why}"),
        }
    }

    /// Why a derived rule instance's value changed, followed down; `None`
    /// when it did not.
    fn instance(&self, instance: &str, depth: usize) -> Option<String> {
        let memo = &self.engine.memo;
        let (Some(old), Some(new)) = (memo.stored_trace(instance), memo.trace(instance)) else {
            return Some(format!("{instance} (new)"));
        };
        if old.key == new.key || depth > 8 {
            return None;
        }
        if !self.seen.borrow_mut().insert(instance.to_string()) {
            return Some(instance.to_string());
        }
        let mut fields: Vec<String> = changed_fields(old, &new)
            .into_iter()
            .map(|(name, _, from)| match from {
                Some(from) => self.via(name, from, depth + 1),
                None => self.leaf(name),
            })
            .collect();
        // Which parts of the value changed (a vector per poem), said once.
        let (changed, added) = changed_parts(old, &new);
        let mut parts = Vec::new();
        if !changed.is_empty() {
            parts.push(format!("vector of poem {} changed", poems(&changed)));
        }
        if !added.is_empty() {
            parts.push(format!("vector of poem {} new", poems(&added)));
        }
        if let (Some(last), false) = (fields.last_mut(), parts.is_empty()) {
            let name = last.strip_suffix(" changed").unwrap_or(last).to_string();
            *last = format!("{name} ({})", parts.join(", "));
        }
        Some(format!("{instance} <- {}", listed(fields)))
    }
}
