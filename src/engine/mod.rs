//! The incremental engine. A build is eight stages (the README's `build`
//! under *Commands*), each a short step below; every artefact it derives is
//! a rule instance (`rule.rs` has the table of rules and their fields)
//! memoised by one memo (`memo.rs`).
//!
//! | stage | step | rules (`rules.rs`, `site/`) |
//! | --- | --- | --- |
//! | 1 load and validate | `load` | templates, `corpus`, `root` (the no-op shortcut) |
//! | 2 embeddings | `embeddings` | `vectors`, `word embeddings`, `colour embeddings` |
//! | 3 rankings and chains | `neighbours` | `neighbours`, `map layout` |
//! | 4 colours and word cloud | `words` | `vocabulary`, `cloud`, `word vector`, `colours`, `word page`, `timeline` |
//! | 5 plan | `plan` | `entry`, `page` (keys compared with the records) |
//! | 6 write pages | `write` | the executor (`exec.rs`) |
//! | 7 sweep | `finish` | orphans (`sweep.rs`), pruning, the memo file |
//! | 8 summary | `summary.rs` | |
//!
//! Every check of the input happens in stages 1–2, before the output folder
//! or the store is written. `status` runs stages 1–5 on a copy of the store.

pub mod atomic;
pub mod cache_dir;
pub mod exec;
pub mod explain;
pub mod files;
pub mod gc;
pub mod inputs;
pub mod memo;
pub mod remote;
pub mod rule;
pub mod rules;
pub mod stale;
pub mod status;
pub mod store;
pub mod summary;
pub mod sweep;

use crate::config::Config;
use crate::corpus::Corpus;
use crate::derive::map::MapLayout;
use crate::derive::timeline::{self, Timeline};
use crate::derive::Neighbours;
use crate::embed::Embedder;
use crate::error::{Doing, Error, IoContext, Result};
use crate::progress::Progress;
use crate::render::Renderer;
use crate::site::{entry, Family, Layout, MediaFiles, Site, Target};
use cache_dir::CacheEntry;
use inputs::Inputs;
use memo::{Completed, Memo, MemoFile};
use rayon::prelude::*;
use remote::Remote;
use rule::{Code, Fingerprint, Instance, Rule};
use rules::{Context, WordData};
use stale::Staleness;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use store::{CacheLock, Record, Store};
pub use summary::{summary_text, Summary};
use summary::{write_reports, Families, Reports};

#[derive(Debug, Clone)]
pub struct Options {
    /// Ignore the cache: recompute and rewrite everything.
    pub force: bool,
    pub summary_json: Option<PathBuf>,
    pub changes: Option<PathBuf>,
    /// The rules' code identities (the compiled ones, but in tests).
    pub code: Code,
    /// Write the stale pages here, not into the output folder: the records
    /// stand for a deployed site that is not on disk.
    pub delta: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            force: false,
            summary_json: None,
            changes: None,
            code: Code::compiled().clone(),
            delta: None,
        }
    }
}

/// One build's (or status's) state between its steps.
pub struct Engine<'p> {
    pub config: Config,
    pub memo: Memo,
    pub inputs: Inputs,
    pub progress: &'p Progress,
    force: bool,
    /// `--delta`: where pages go; the records stand for the site.
    delta: Option<PathBuf>,
    /// `status`: the store is a read-only copy, and no trace is written.
    read_only: bool,
    /// `[model]`: what makes the vectors.
    embedder: Option<Embedder>,
    /// The previous build stopped before its sweep (stray temporaries possible).
    unfinished: bool,
    /// The memo file was damaged (said once, by the progress display).
    pub memo_warning: Option<String>,
}

/// Where a build stands with its cache folder: a value each step takes and
/// gives back (`Engine::new` locks, `hold` creates, `open_store` opens), so
/// that their order is the code's own shape.
pub enum Cache {
    /// `status`: a read-only copy of the store, opened once validation is
    /// over.
    ReadOnly,
    /// The folder does not exist yet: created and locked when first needed.
    Absent,
    /// Locked (a second build stops at the lock); the store is not open.
    Locked(CacheLock),
    /// The store is open (the memo holds it), with the records it held.
    Open(HashMap<String, Record>),
}

/// The no-op check's answer.
enum Shortcut {
    /// Nothing changed: every record, all up to date.
    Unchanged(HashMap<String, Record>),
    /// The build goes on, with the cache as the check left it.
    Build(Cache),
}

/// Everything pages are made from (stages 1–4).
pub struct Prepared {
    pub corpus: Arc<Corpus>,
    pub renderer: Renderer,
    pub neighbours: Arc<Neighbours>,
    pub map: MapLayout,
    pub words: WordData,
    pub timeline: Arc<Timeline>,
    pub layout: Layout,
    pub media: MediaFiles,
    pub records: HashMap<String, Record>,
}

impl Prepared {
    /// The site these inputs make.
    pub fn site<'a>(&'a self, code: &'a Code) -> Site<'a> {
        Site::new(
            &self.corpus,
            &self.renderer,
            &self.neighbours,
            &self.map,
            &self.words.colours.of_poems,
            &self.words.words,
            &self.timeline,
            self.layout.clone(),
            &self.media,
            code,
        )
    }
}

impl<'p> Engine<'p> {
    /// Take the cache (a second build stops here) and read the memo file.
    pub fn new(
        config: Config,
        options: &Options,
        progress: &'p Progress,
        read_only: bool,
    ) -> Result<(Engine<'p>, Cache)> {
        let cache = match read_only {
            true => Cache::ReadOnly,
            false => match CacheLock::acquire(&config.cache, false)? {
                Some(lock) => Cache::Locked(lock),
                None => Cache::Absent,
            },
        };
        let (stored, memo_warning) = match options.force {
            false => MemoFile::read(&config.cache),
            true => (MemoFile::default(), None),
        };
        let inputs = Inputs::new(stored.files.clone());
        let mut embedder = Embedder::new(&config, &|p| inputs.hash(p), !read_only)?;
        let memo = Memo::new(options.code.clone(), stored, options.force);
        if let Some(remote) = open_remote(&config, read_only, progress) {
            if let Some(embedder) = &mut embedder {
                embedder.set_remote(Arc::clone(&remote));
            }
            memo.set_remote(remote);
        }
        if let Some(warning) = &memo_warning {
            progress.warn(warning);
        }
        let engine = Engine {
            memo_warning,
            embedder,
            unfinished: CacheEntry::Unfinished.path(&config.cache).exists(),
            memo,
            inputs,
            progress,
            force: options.force,
            delta: options.delta.clone(),
            read_only,
            config,
        };
        Ok((engine, cache))
    }

    fn context<'a>(&'a self, cancel: &'a AtomicBool) -> Context<'a> {
        Context {
            memo: &self.memo,
            config: &self.config,
            inputs: &self.inputs,
            progress: self.progress,
            embedder: self.embedder.as_ref(),
            cancel,
        }
    }

    /// The cache folder, created and locked: a model's vectors are kept
    /// there from stage 2 on.
    fn hold(&self, cache: Cache) -> Result<Cache> {
        Ok(match cache {
            Cache::Absent => Cache::Locked(self.create_cache()?),
            held => held,
        })
    }

    fn create_cache(&self) -> Result<CacheLock> {
        Ok(CacheLock::acquire(&self.config.cache, true)?.expect("a created folder exists"))
    }

    /// Texts the model embedded in this process (0 without `[model]`).
    pub fn embedded(&self) -> usize {
        self.embedder.as_ref().map_or(0, Embedder::embedded)
    }

    /// The root's fingerprint: every rule's code, the configuration, the
    /// templates and every input file read (`files`, by name within the
    /// collection).
    fn root(&self, renderer: &Renderer, files: &BTreeMap<String, blake3::Hash>) -> Fingerprint {
        let mut fp = self.memo.fingerprint(Instance::only(Rule::Root));
        for rule in Rule::ALL {
            fp = fp.input(format!("code of {}", rule.name()), self.memo.code.of(rule));
        }
        // Where the site is deployed shapes no page.
        let raw = crate::config::RawConfig {
            deploy: Default::default(),
            ..self.config.raw.clone()
        };
        fp = fp
            .settings("verso.toml", &raw)
            .setting("embeddings file present", &self.config.embeddings.is_some());
        for (name, hash) in renderer.template_hashes() {
            fp = fp.input(format!("template {name}"), *hash);
        }
        for (name, hash) in files {
            fp = fp.input(format!("file {name}"), *hash);
        }
        fp
    }

    /// The input files this build read, by name within the collection: a
    /// copy of the collection (a fresh clone with its cache restored) must
    /// check its own files.
    fn files_read(&self) -> BTreeMap<String, blake3::Hash> {
        self.inputs
            .read()
            .into_iter()
            .map(|(path, hash)| (rules::file_name(&self.config, Path::new(&path)), hash))
            .collect()
    }

    /// The no-op shortcut: the root's key equals the last completed build's
    /// (its files re-hashed through the stat cache) and every recorded file
    /// is in place. Then the records, with the store open.
    fn unchanged(&self, renderer: &Renderer, cache: Cache) -> Result<Shortcut> {
        let Some(completed) = &self.memo.stored.completed else {
            return Ok(Shortcut::Build(cache));
        };
        let lock = match cache {
            Cache::Locked(lock) if !self.force && !self.unfinished => lock,
            other => return Ok(Shortcut::Build(other)),
        };
        let mut files = BTreeMap::new();
        for name in &completed.files {
            match self.inputs.hash(&self.config.root.join(name)) {
                Ok(hash) => files.insert(name.clone(), hash),
                Err(_) => return Ok(Shortcut::Build(Cache::Locked(lock))),
            };
        }
        if *self.root(renderer, &files).key().as_bytes() != completed.key {
            return Ok(Shortcut::Build(Cache::Locked(lock)));
        }
        let records = self.open_store(Cache::Locked(lock))?;
        let intact = records.len() == completed.targets
            && (self.delta.is_some()
                || records.par_iter().all(|(path, r)| {
                    matches!(
                        files::state(&self.config.output.join(path), r),
                        files::FileState::Intact(_)
                    )
                }));
        Ok(match intact {
            true => Shortcut::Unchanged(records),
            // The store is open: the build goes on with these records.
            false => Shortcut::Build(Cache::Open(records)),
        })
    }

    /// Stages 1–4, or the records when nothing changed since the last
    /// completed build.
    pub fn prepare(&self, cache: Cache, cancel: &AtomicBool) -> Result<Prepare> {
        let progress = self.progress;
        progress.stage(1, "load and validate");
        let built_in = crate::site::built_in_templates();
        let renderer = Renderer::new(self.config.templates.as_deref(), &built_in)?;
        let mut cache = match self.unchanged(&renderer, cache)? {
            Shortcut::Unchanged(records) => return Ok(Prepare::Unchanged(records)),
            Shortcut::Build(cache) => cache,
        };
        let cx = self.context(cancel);
        let corpus = rules::corpus(&cx)?.get(&self.memo)?;
        progress.note(&format!("{} poems", corpus.poems.len()));
        let media = MediaFiles::new(self.config.media.clone(), &corpus, |p| self.inputs.hash(p))?;

        progress.stage(2, "embeddings");
        if self.embedder.is_some() {
            cache = self.hold(cache)?;
        }
        let vectors = rules::vectors(&cx, &corpus)?;
        let word_embeddings = rules::companion(
            &cx,
            Rule::WordEmbeddings,
            &self.config.word_embeddings,
            &vectors,
        )?;
        let colour_embeddings = rules::companion(
            &cx,
            Rule::ColourEmbeddings,
            &self.config.color_embeddings,
            &vectors,
        )?;
        // Validation is over: from here on the cache may be created and written.
        let records = self.open_store(cache)?;
        self.stop_if_cancelled(cancel)?;

        progress.stage(3, "rankings and chains");
        let mut pages_per_poem = self.config.pages_per_poem;
        if self.config.storage_limit_gb > 0.0 {
            pages_per_poem = rules::pages_for_storage(&self.config, &corpus, &renderer)?;
            progress.note(&format!(
                "storage limit {} GB: {pages_per_poem} page(s) per poem",
                self.config.storage_limit_gb
            ));
        }
        let list_len = pages_per_poem * self.config.poems_per_page;
        // Which poems the corpus-wide choices are made over (chains, the
        // map's layout, colours).
        let settled = timeline::settled(&corpus, self.config.timeline_end);
        let neighbours =
            rules::neighbours(&cx, &corpus, &vectors, &settled, list_len)?.get(&self.memo)?;
        let map = rules::map_layout(&cx, &vectors, &settled, &neighbours)?;
        self.stop_if_cancelled(cancel)?;

        progress.stage(4, "colours and word cloud");
        let words = rules::word_data(
            &cx,
            &corpus,
            &settled,
            &vectors,
            word_embeddings.as_ref(),
            colour_embeddings.as_ref(),
        )?;
        progress.note(&format!("{} words in the cloud", words.words.len()));
        let timeline = rules::timeline(&cx, &corpus)?.get(&self.memo)?;
        Ok(Prepare::Changed(Box::new(Prepared {
            corpus,
            renderer,
            neighbours,
            map,
            words,
            timeline,
            layout: Layout {
                poems_per_page: self.config.poems_per_page,
                pages_per_poem,
                chronological_per_page: self.config.chronological_per_page,
                seed: self.config.seed,
                title: self.config.title.clone(),
                base_url: self.config.base_url.clone(),
                feed_poems: self.config.feed_poems,
            },
            media,
            records,
        })))
    }

    /// Open the store (a copy for `status`) and hand it to the memo; the
    /// records, none under `--force`.
    fn open_store(&self, cache: Cache) -> Result<HashMap<String, Record>> {
        let lock = match cache {
            Cache::Open(records) => return Ok(records),
            Cache::ReadOnly => {
                return Ok(match Store::open_read_only(&self.config.cache)? {
                    Some((store, records)) => {
                        self.memo.attach(store, false)?;
                        records
                    }
                    None => HashMap::new(),
                })
            }
            Cache::Absent => self.create_cache()?,
            Cache::Locked(lock) => lock,
        };
        let opened = Store::open(lock)?;
        if let Some(w) = &opened.warning {
            self.progress.warn(w);
        }
        self.memo.attach(opened.store, opened.warning.is_some())?;
        Ok(if self.force {
            HashMap::new()
        } else {
            opened.records
        })
    }

    fn store(&self) -> &Store {
        self.memo
            .store()
            .expect("the store is open after validation")
    }

    /// Ctrl-C between stages: keep what was derived, stop.
    fn stop_if_cancelled(&self, cancel: &AtomicBool) -> Result<()> {
        if cancel.load(Ordering::Relaxed) {
            self.save(None, None)?;
            return Err(Error::Interrupted);
        }
        Ok(())
    }

    /// Where pages are written: the output folder, or the `--delta` folder.
    fn out(&self) -> &Path {
        self.delta.as_deref().unwrap_or(&self.config.output)
    }

    /// Flush the store, then write the memo file (so every trace it keeps
    /// has its value in the store).
    fn save(
        &self,
        completed: Option<Completed>,
        entries: Option<Vec<(u32, [u8; 8])>>,
    ) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        if let Some(store) = self.memo.store() {
            store.flush()?;
        }
        if let Some(remote) = self.memo.remote() {
            self.memo.publish();
            remote.finish();
            for warning in remote.take_warnings() {
                self.progress.warn(&warning);
            }
        }
        self.memo
            .file_after(completed, self.inputs.seen(), entries)
            .write(&self.config.cache)
    }
}

/// The remote cache of the configuration, for a build (`status` reads
/// only the local cache); one that cannot be set up is said once.
fn open_remote(config: &Config, read_only: bool, progress: &Progress) -> Option<Arc<Remote>> {
    let url = config.remote_cache.as_ref().filter(|_| !read_only)?;
    match Remote::open(url) {
        Ok(remote) => Some(Arc::new(remote)),
        Err(e) => {
            progress.warn(&format!(
                "warning: the remote cache {} cannot be used ({e}); the build goes on with the local cache",
                remote::shown(url)
            ));
            None
        }
    }
}

/// What stages 1–4 found.
pub enum Prepare {
    Changed(Box<Prepared>),
    /// No input changed: the records, all up to date.
    Unchanged(HashMap<String, Record>),
}

/// Where a target stands against its record and its file.
pub(crate) enum Check {
    Stale,
    UpToDate,
    /// Up to date, found by hashing a file whose time moved: record this.
    Refreshed(Record),
}

/// A target is up to date when its key matches the record and its file
/// holds the recorded bytes.
pub(crate) fn check(target: &Target, records: &HashMap<String, Record>, out: &Path) -> Check {
    match records.get(&target.path) {
        Some(r) if r.key == *target.key.as_bytes() => {
            match files::state(&out.join(&target.path), r) {
                files::FileState::Differs => Check::Stale,
                files::FileState::Intact(_) => Check::UpToDate,
                files::FileState::Rehashed(seen) => Check::Refreshed(Record { seen, ..r.clone() }),
            }
        }
        _ => Check::Stale,
    }
}

/// `verso embed`: every poem's vector from the model, in poems.json order
/// (the cache of vectors supplies what it has).
pub fn embed_poems(
    config: Config,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<(Arc<Corpus>, crate::vectors::Matrix)> {
    let (engine, cache) = Engine::new(config, &Options::default(), progress, false)?;
    let Some(embedder) = &engine.embedder else {
        return Err(Error::Usage(format!(
            "{} has no [model] section: `verso embed` needs a model (see the README)",
            engine.config.file.display()
        )));
    };
    progress.stage(1, "load and validate");
    let cx = engine.context(cancel);
    let corpus = rules::corpus(&cx)?.get(&engine.memo)?;
    progress.stage(2, "embeddings");
    let _held = engine.hold(cache)?;
    let vectors = embedder.embed("poems", &rules::poem_text_list(&corpus), progress, cancel)?;
    progress.end_stage();
    Ok((corpus, vectors))
}

/// Run a whole build.
pub fn build(
    config: Config,
    options: &Options,
    progress: &Arc<Progress>,
    cancel: &AtomicBool,
) -> Result<Summary> {
    let (engine, cache) = Engine::new(config, options, progress, false)?;
    run_build(&engine, cache, options, progress, cancel).map(|(summary, _)| summary)
}

/// What a build hands over to whoever goes on with the site (`deploy`):
/// the store it opened, still locked, and every target's record.
pub struct Handover {
    pub store: Store,
    pub records: HashMap<String, Record>,
}

/// Run a whole build, and hand over its store and records: opening the
/// store again costs more than a build with nothing to do.
pub fn build_keeping_store(
    config: Config,
    options: &Options,
    progress: &Arc<Progress>,
    cancel: &AtomicBool,
) -> Result<(Summary, Option<Handover>)> {
    let (engine, cache) = Engine::new(config, options, progress, false)?;
    let (summary, unchanged) = run_build(&engine, cache, options, progress, cancel)?;
    let Some(store) = engine.memo.into_store() else {
        return Ok((summary, None));
    };
    let records = match unchanged {
        Some(records) => records,
        None => store.records()?,
    };
    Ok((summary, Some(Handover { store, records })))
}

/// A build's summary, and the records when nothing had changed (then they
/// are all of them).
fn run_build(
    engine: &Engine,
    cache: Cache,
    options: &Options,
    progress: &Arc<Progress>,
    cancel: &AtomicBool,
) -> Result<(Summary, Option<HashMap<String, Record>>)> {
    let reports = Reports {
        summary_json: options.summary_json.as_ref(),
        changes: options.changes.as_ref(),
    };
    let prepared = match engine.prepare(cache, cancel)? {
        Prepare::Changed(prepared) => prepared,
        Prepare::Unchanged(records) => {
            let summary = unchanged_summary(&records, engine, progress);
            write_reports(&reports, &summary, &[], &[])?;
            return Ok((summary, Some(records)));
        }
    };
    engine.stop_if_cancelled(cancel)?;
    let site = prepared.site(&engine.memo.code);
    let plan = plan(engine, &site, &prepared.records)?;
    engine.stop_if_cancelled(cancel)?;
    let outcome = write(
        engine,
        &site,
        &plan,
        &prepared,
        options.force,
        progress,
        cancel,
    );
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = engine.save(None, None);
            return Err(e);
        }
    };
    let interrupted = cancel.load(Ordering::Relaxed);
    let removed = match interrupted {
        true => {
            engine.save(None, None)?;
            Vec::new()
        }
        false => finish(engine, &site, &plan, &prepared)?,
    };
    progress.stage(8, "summary");
    progress.end_stage();
    let mut families = plan.families;
    let rendered: usize = outcome
        .written
        .values()
        .chain(outcome.unchanged.values())
        .sum();
    for f in Family::ALL {
        families[f].written = outcome.written[f];
        families[f].up_to_date += outcome.unchanged[f];
    }
    for path in &removed {
        families[Family::of_path(path)].removed += 1;
    }
    let mut summary = Summary::new(
        families,
        rendered,
        interrupted,
        plan.stale.len() - rendered,
        rule_events(&engine.memo),
        progress,
    );
    summary.embedded = engine.embedded();
    summary.why = plan.why;
    if !removed.is_empty() {
        summary.why.insert(Staleness::Orphan.kind(), removed.len());
    }
    if let Some(remote) = engine.memo.remote() {
        summary.remote_read_bytes = remote.read_bytes.load(Ordering::Relaxed);
        summary.remote_written_bytes = remote.written_bytes.load(Ordering::Relaxed);
    }
    write_reports(&reports, &summary, &outcome.changes, &removed)?;
    summary.written_paths = outcome.changes;
    summary.removed_paths = removed;
    Ok((summary, None))
}

/// The engine's event log, by rule name.
fn rule_events(memo: &Memo) -> BTreeMap<&'static str, memo::RuleCounts> {
    memo.events()
        .into_iter()
        .map(|(rule, counts)| (rule.name(), counts))
        .collect()
}

/// Stage 5's result: every target, the stale ones, and the counts so far.
struct Plan {
    targets: Vec<Target>,
    /// Indices into `targets`.
    stale: Vec<usize>,
    families: Families,
    /// Stale targets by why (`Staleness::kind`).
    why: BTreeMap<&'static str, usize>,
}

/// Stage 5: key every target and compare it with its record.
fn plan(engine: &Engine, site: &Site, records: &HashMap<String, Record>) -> Result<Plan> {
    engine.progress.stage(5, "plan");
    let targets = site.plan();
    let out = &engine.config.output;
    let checks: Vec<Check> = targets
        .par_iter()
        .map(|t| match (&engine.delta, records.get(&t.path)) {
            // The site is not on disk: a matching key is all there is.
            (Some(_), Some(r)) if r.key == *t.key.as_bytes() => Check::UpToDate,
            (Some(_), _) => Check::Stale,
            (None, _) => check(t, records, out),
        })
        .collect();
    let mut stale = Vec::new();
    let mut families = Families::default();
    let mut why = BTreeMap::new();
    for (i, (target, check)) in targets.iter().zip(checks).enumerate() {
        match check {
            Check::Stale => {
                stale.push(i);
                engine.progress.add_to_total(target.family, 1);
                let staleness = match (&engine.delta, records.get(&target.path)) {
                    (Some(_), None) => Staleness::New,
                    (Some(_), Some(_)) => Staleness::InputsChanged { explained: None },
                    (None, record) => {
                        Staleness::why_stale(&target.key, record, &out.join(&target.path))
                    }
                };
                *why.entry(staleness.kind()).or_insert(0) += 1;
            }
            Check::UpToDate => families[target.family].up_to_date += 1,
            Check::Refreshed(record) => {
                engine.store().refresh(&target.path, &record)?;
                families[target.family].up_to_date += 1;
            }
        }
    }
    engine.progress.note(&format!(
        "{} targets, {} to build",
        targets.len(),
        stale.len()
    ));
    Ok(Plan {
        targets,
        stale,
        families,
        why,
    })
}

/// Stage 6: render and write the stale targets.
fn write(
    engine: &Engine,
    site: &Site,
    plan: &Plan,
    prepared: &Prepared,
    force: bool,
    progress: &Arc<Progress>,
    cancel: &AtomicBool,
) -> Result<exec::Outcome> {
    progress.stage(6, "write pages");
    let stale: Vec<&Target> = plan.stale.iter().map(|&i| &plan.targets[i]).collect();
    let marker = CacheEntry::Unfinished.path(&engine.config.cache);
    if !stale.is_empty() {
        std::fs::write(&marker, b"").at(Doing::UsingCache, &marker)?;
    }
    let _drawer = (!stale.is_empty()).then(|| {
        let labels: Vec<String> = prepared
            .corpus
            .poems
            .iter()
            .map(|p| p.first_words(24))
            .collect();
        progress.draw(Arc::new(labels))
    });
    let job = exec::Job {
        site,
        records: &prepared.records,
        store: engine.store(),
        out: engine.out(),
        progress,
        cancel,
        checkpoint: engine.config.checkpoint_interval,
        rewrite: force,
        trust_records: engine.delta.is_some(),
    };
    // The menu, explore.html and the chronological pages first: an
    // interrupted first build still leaves a site to navigate.
    let (first, rest): (Vec<&Target>, Vec<&Target>) = stale
        .into_iter()
        .partition(|t| matches!(t.family, Family::Menu | Family::Chronological));
    let mut outcome = exec::execute(&job, &first)?;
    if !cancel.load(Ordering::Relaxed) {
        outcome.add(exec::execute(&job, &rest)?);
    }
    Ok(outcome)
}

/// Stage 7: remove orphans, keep the entries' traces, prune what this build
/// did not ask for, and save the root of this completed build.
fn finish(engine: &Engine, site: &Site, plan: &Plan, prepared: &Prepared) -> Result<Vec<String>> {
    engine.progress.stage(7, "sweep");
    let store = engine.store();
    let out = engine.out();
    let planned: HashSet<&str> = plan.targets.iter().map(|t| t.path.as_str()).collect();
    let removed = sweep::orphans(out, &planned, &prepared.records, store)?;
    if engine.unfinished {
        sweep::temporaries(out)?;
    }
    let entries = entry_traces(engine, site, &prepared.corpus)?;
    engine.memo.prune()?;
    let files = engine.files_read();
    let root = engine.root(&prepared.renderer, &files);
    let completed = Completed {
        key: *engine.memo.record(&root).as_bytes(),
        targets: plan.targets.len(),
        files: files.into_keys().collect(),
    };
    engine.save(Some(completed), Some(entries))?;
    let marker = CacheEntry::Unfinished.path(&engine.config.cache);
    if marker.exists() {
        std::fs::remove_file(&marker).at(Doing::UsingCache, &marker)?;
    }
    Ok(removed)
}

/// Write the traces of the entries whose key moved since the store's
/// traces were written, drop those of deleted poems; the keys now held.
fn entry_traces(engine: &Engine, site: &Site, corpus: &Corpus) -> Result<Vec<(u32, [u8; 8])>> {
    let store = engine.store();
    let before: HashMap<u32, [u8; 8]> = engine.memo.stored_entries().iter().copied().collect();
    let now: Vec<(u32, [u8; 8])> = corpus
        .poems
        .iter()
        .enumerate()
        .map(|(row, p)| (p.index, rule::short(site.entry_fingerprint_key(row))))
        .collect();
    now.par_iter()
        .enumerate()
        .filter(|(_, (index, key))| before.get(index) != Some(key))
        .try_for_each(|(row, _)| {
            let fp = site.entry_fingerprint(row);
            let key = fp.key();
            store.put_trace(&fp.instance, &fp.trace(key, key))
        })?;
    let current: HashSet<u32> = now.iter().map(|(i, _)| *i).collect();
    for index in before.keys().filter(|i| !current.contains(i)) {
        store.forget_trace(entry::instance(*index).name())?;
    }
    Ok(now)
}

/// The summary of a build whose inputs did not change: every recorded
/// target is up to date.
fn unchanged_summary(
    records: &HashMap<String, Record>,
    engine: &Engine,
    progress: &Progress,
) -> Summary {
    progress.note("no input changed since the last build");
    let mut families = Families::default();
    for path in records.keys() {
        families[Family::of_path(path)].up_to_date += 1;
    }
    progress.stage(8, "summary");
    progress.end_stage();
    Summary::new(families, 0, false, 0, rule_events(&engine.memo), progress)
}
