//! Why a target would be written or removed, or that it would not be: one
//! enum that `status`, `status --explain` and a build's `--summary-json`
//! all render, in the spirit of cargo's `DirtyReason`.

use super::files::{self, FileState};
use super::store::Record;
use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staleness {
    /// Its key and its file match the cache.
    UpToDate,
    /// It has never been built with this cache.
    New,
    /// Its file is missing from the output folder.
    Missing,
    /// Its file was changed outside verso: its size now and as recorded,
    /// when they differ.
    EditedOutside { sizes: Option<(u64, u64)> },
    /// An input of its key changed; `status --explain` says which, by
    /// following the traces down.
    InputsChanged { explained: Option<String> },
    /// It is no longer part of the site.
    Orphan,
}

impl Staleness {
    /// Where the target keyed `key`, whose file is at `file`, stands
    /// against its record.
    pub fn of(key: &blake3::Hash, record: Option<&Record>, file: &Path) -> Staleness {
        match record {
            Some(r)
                if r.key == *key.as_bytes()
                    && !matches!(files::state(file, r), FileState::Differs) =>
            {
                Staleness::UpToDate
            }
            _ => Staleness::why_stale(key, record, file),
        }
    }

    /// Why a target already found stale is: from its record and what the
    /// output folder shows, without hashing the file again.
    pub fn why_stale(key: &blake3::Hash, record: Option<&Record>, file: &Path) -> Staleness {
        let Some(record) = record else {
            return Staleness::New;
        };
        let same_key = record.key == *key.as_bytes();
        // What the output folder shows comes first: it is what a user can
        // see and mend.
        match std::fs::metadata(file) {
            Err(_) => Staleness::Missing,
            Ok(m) if m.len() != record.size => Staleness::EditedOutside {
                sizes: Some((m.len(), record.size)),
            },
            Ok(_) if same_key => Staleness::EditedOutside { sizes: None },
            Ok(_) => Staleness::InputsChanged { explained: None },
        }
    }

    /// The short name `--summary-json` counts it under.
    pub fn kind(&self) -> &'static str {
        match self {
            Staleness::UpToDate => "up to date",
            Staleness::New => "new",
            Staleness::Missing => "missing",
            Staleness::EditedOutside { .. } => "changed outside verso",
            Staleness::InputsChanged { .. } => "inputs changed",
            Staleness::Orphan => "no longer part of the site",
        }
    }

    pub fn is_stale(&self) -> bool {
        *self != Staleness::UpToDate
    }
}

impl fmt::Display for Staleness {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Staleness::UpToDate => write!(f, "up to date: its key and its file match the cache"),
            Staleness::New => write!(f, "new: it has never been built with this cache"),
            Staleness::Missing => write!(f, "stale: its file is missing from the output folder"),
            Staleness::EditedOutside { sizes: None } => {
                write!(f, "stale: its file was changed outside verso")
            }
            Staleness::EditedOutside {
                sizes: Some((now, recorded)),
            } => write!(
                f,
                "stale: its file was changed outside verso ({now} bytes, {recorded} recorded)"
            ),
            Staleness::InputsChanged { explained: None } => {
                write!(f, "stale: an input of its key changed")
            }
            Staleness::InputsChanged {
                explained: Some(why),
            } => write!(f, "stale: {why}"),
            Staleness::Orphan => write!(f, "to remove: it is no longer part of the site"),
        }
    }
}
