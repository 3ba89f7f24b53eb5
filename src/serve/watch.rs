//! Watching the inputs: notify events on every input file and folder of the
//! configuration, filtered to those inputs (never the output folder or the
//! cache), and debounced into one rebuild per burst of saves.
//!
//! Each input's parent folder is watched without recursion (an editor that
//! saves by renaming a new file over the old one is seen there, and so is
//! a file that does not exist yet); the templates and media folders are
//! watched whole.

use crate::config::Config;
use crate::error::{Error, Result};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A burst of saves ends when no event came for this long.
const QUIET: Duration = Duration::from_millis(150);
/// A steady stream of saves still gets a build this often.
const LONGEST_WAIT: Duration = Duration::from_secs(2);
/// How often a wait looks at the Ctrl-C flag.
const POLL: Duration = Duration::from_millis(100);

pub struct Watch {
    watcher: RecommendedWatcher,
    events: Receiver<notify::Result<notify::Event>>,
    /// Folders under watch, and whether with their subfolders.
    watched: BTreeSet<(PathBuf, bool)>,
    /// Input files and folders: an event at or under one of them counts.
    inputs: Vec<PathBuf>,
    /// Where verso writes: events there never count.
    ignored: Vec<PathBuf>,
}

impl Watch {
    pub fn new() -> Result<Watch> {
        let (send, events) = channel();
        let watcher = notify::recommended_watcher(send)
            .map_err(|e| Error::Failed(format!("cannot watch the inputs: {e}")))?;
        Ok(Watch {
            watcher,
            events,
            watched: BTreeSet::new(),
            inputs: Vec::new(),
            ignored: Vec::new(),
        })
    }

    /// Watch the inputs `config` names (called after every good load, since
    /// an edited verso.toml may name other files).
    pub fn follow(&mut self, config: &Config) {
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let raw = &config.raw;
        let mut inputs = vec![config.file.clone(), config.poems.clone()];
        for name in [&raw.embeddings, &raw.word_embeddings, &raw.color_embeddings] {
            if !name.is_empty() {
                inputs.push(config.root.join(name));
            }
        }
        inputs.push(config.media.clone());
        inputs.extend(config.templates.clone());
        self.inputs = inputs.iter().map(|p| absolute(p)).collect();
        self.ignored = vec![absolute(&config.output), absolute(&config.cache)];
        let mut wanted = BTreeSet::new();
        for input in &self.inputs {
            if let Some(parent) = input.parent() {
                wanted.insert((parent.to_path_buf(), false));
            }
            if input.is_dir() {
                wanted.insert((input.clone(), true));
            }
        }
        for gone in self.watched.difference(&wanted) {
            let _ = self.watcher.unwatch(&gone.0);
        }
        for (dir, recursive) in wanted.difference(&self.watched) {
            let mode = match recursive {
                true => RecursiveMode::Recursive,
                false => RecursiveMode::NonRecursive,
            };
            // A folder that does not exist yet is seen through its parent.
            let _ = self.watcher.watch(dir, mode);
        }
        self.watched = wanted;
    }

    fn counts(&self, path: &Path) -> bool {
        !self.ignored.iter().any(|i| path.starts_with(i))
            && self.inputs.iter().any(|i| path.starts_with(i))
    }

    /// The first input that changed, once a burst of changes has settled;
    /// `None` once `cancel` is set.
    pub fn wait(&self, cancel: &AtomicBool) -> Option<PathBuf> {
        let mut first: Option<PathBuf> = None;
        let mut started = Instant::now();
        let mut last = Instant::now();
        loop {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            let timeout = match first {
                None => POLL,
                Some(_) if last.elapsed() >= QUIET || started.elapsed() >= LONGEST_WAIT => {
                    return first;
                }
                Some(_) => QUIET.saturating_sub(last.elapsed()).min(POLL),
            };
            match self.events.recv_timeout(timeout) {
                Ok(Ok(event)) if !matches!(event.kind, EventKind::Access(_)) => {
                    if let Some(path) = event.paths.into_iter().find(|p| self.counts(p)) {
                        if first.is_none() {
                            first = Some(path);
                            started = Instant::now();
                        }
                        last = Instant::now();
                    }
                }
                Ok(Ok(_)) | Err(RecvTimeoutError::Timeout) => {}
                Ok(Err(e)) => eprintln!("warning: watching the inputs: {e}"),
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}
