//! The build, in SPEC's eight stages: load and validate → embeddings →
//! rankings and chains → colours and word cloud → plan → write pages → sweep
//! → summary. Every check of the input happens in stages 1–2, before the
//! output folder or the cache is written.

pub mod exec;
pub mod files;
pub mod status;
pub mod store;
pub mod sweep;
mod word_data;

use crate::config::Config;
use crate::corpus::{self, Corpus};
use crate::derive::words::WordPage;
use crate::derive::Neighbours;
use crate::error::{Error, IoContext, Result};
use crate::progress::Progress;
use crate::render::Renderer;
use crate::site::entry::{EntryView, Placement, Variant};
use crate::site::{Family, Layout, MediaFiles, Site, Target};
use crate::vectors::{self, Embeddings, Matrix};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use store::{CacheLock, FileHash, Memo, Record, Store};
use word_data::{Companions, WordData};

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Ignore the cache: recompute and rewrite everything.
    pub force: bool,
    pub summary_json: Option<PathBuf>,
    pub changes: Option<PathBuf>,
}

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
    pub stages: Vec<StageTime>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageTime {
    pub stage: &'static str,
    pub seconds: f64,
}

impl Summary {
    fn new(
        families: Families,
        rendered: usize,
        interrupted: bool,
        left: usize,
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
            stages,
            seconds: progress.started.elapsed().as_secs_f64(),
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

/// Everything derived from the inputs, before planning.
pub struct Prepared {
    /// What the memo will say once this build completes.
    pub memo: Memo,
    /// The previous build stopped before its sweep (stray temporaries possible).
    pub unfinished: bool,
    /// Digest of every input (see `Memo::inputs`).
    pub inputs: [u8; 32],
    /// Nothing changed since the last completed build: stages 3–7 are skipped.
    pub unchanged: bool,
    pub config: Config,
    pub corpus: Corpus,
    pub renderer: Renderer,
    pub store: Option<Store>,
    pub records: HashMap<String, Record>,
    pub neighbours: Neighbours,
    pub word_data_colours: Vec<u8>,
    pub words: Vec<WordPage>,
    pub layout: Layout,
    pub media: MediaFiles,
}

/// Content hashes of input files, reusing the memo's when a file's size and
/// modification time are unchanged (as git's index does).
struct FileHasher {
    known: Vec<FileHash>,
    seen: std::sync::Mutex<Vec<FileHash>>,
}

impl FileHasher {
    fn hash(&self, path: &Path) -> Result<blake3::Hash> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return vectors::read_input(path)
                    .map(|_| unreachable!("a missing file cannot be read"))
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let modified = meta.modified().at(path)?;
        let since_epoch = modified
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let stamp = (since_epoch.as_secs() as i64, since_epoch.subsec_nanos());
        let name = path.to_string_lossy().into_owned();
        let entry = |hash: [u8; 32]| FileHash {
            path: name.clone(),
            len: meta.len(),
            modified: stamp,
            hash,
        };
        if let Some(k) = self
            .known
            .iter()
            .find(|k| k.path == name && k.len == meta.len() && k.modified == stamp)
        {
            self.seen.lock().unwrap().push(k.clone());
            return Ok(blake3::Hash::from(k.hash));
        }
        let mut h = blake3::Hasher::new();
        h.update_mmap_rayon(path).at(path)?;
        let hash = h.finalize();
        // A file modified within the last two seconds may change again with
        // the same stamp on a coarse clock; it is not remembered.
        let recent = std::time::SystemTime::now()
            .duration_since(modified)
            .map_or(true, |d| d.as_secs() < 2);
        if !recent {
            self.seen.lock().unwrap().push(entry(*hash.as_bytes()));
        }
        Ok(hash)
    }
}

fn key(parts: &[&[u8]]) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize()
}

/// Stages 1–4. `persist`: create the cache and store derived data in it
/// (a build), or only read it (status). Nothing in the cache is written, and
/// the store is not even opened, until every input has passed validation.
pub fn prepare(
    config: Config,
    options: &Options,
    progress: &Progress,
    persist: bool,
    cancel: &AtomicBool,
) -> Result<Prepared> {
    // The lock comes first, so a second build stops before doing anything.
    let lock = CacheLock::acquire(&config.cache, false)?;
    let memo = match (&lock, options.force) {
        (Some(_), false) => Memo::read(&config.cache),
        _ => Memo::default(),
    };
    let unfinished = config.cache.join(store::UNFINISHED).exists();
    let files = FileHasher {
        known: memo.files.clone(),
        seen: Default::default(),
    };

    progress.stage(1, "load and validate");
    // Read once: parsed here, hashed for the inputs digest.
    let poems_bytes = corpus::read(&config.poems)?;
    let poems_hash = blake3::hash(&poems_bytes);
    let corpus = corpus::parse(&config.poems, &poems_bytes, &config.media)?;
    drop(poems_bytes);
    let renderer = Renderer::new(config.templates.as_deref())?;
    progress.note(&format!("{} poems", corpus.poems.len()));

    progress.stage(2, "embeddings");
    let indices: Vec<u8> = corpus
        .poems
        .iter()
        .flat_map(|p| p.index.to_le_bytes())
        .collect();
    let contents = key(&corpus
        .poems
        .iter()
        .map(|p| p.content.as_bytes())
        .collect::<Vec<_>>());
    let lexical = config.embeddings.is_none();
    let vectors_id = match &config.embeddings {
        Some(path) => key(&[b"model", files.hash(path)?.as_bytes(), &indices]),
        None => {
            progress.note("no embeddings file: using the built-in lexical embedder (hashed TF-IDF of the words)");
            key(&[b"lexical", contents.as_bytes(), &indices])
        }
    };
    let mut matrix: Option<Matrix> = None;
    let (dim, warnings) = match memo
        .vectors
        .clone()
        .filter(|(id, _, _)| id == vectors_id.as_bytes())
    {
        Some((_, dim, warnings)) => (dim, warnings),
        None => {
            let (m, warnings) = load_vectors(&config, &corpus)?;
            let dim = m.dim;
            matrix = Some(m);
            (dim, warnings)
        }
    };
    for w in &warnings {
        progress.warn(&format!("warning: {w}"));
    }
    let companion_file = |path: &Option<PathBuf>, name: &str| -> Result<Option<blake3::Hash>> {
        match path {
            Some(p) if lexical => {
                progress.warn(&format!(
                    "warning: {} is ignored: {name} embeddings are not mixed with the lexical embedder",
                    p.display()
                ));
                Ok(None)
            }
            Some(p) => files.hash(p).map(Some),
            None => Ok(None),
        }
    };
    let word_file = companion_file(&config.word_embeddings, "word")?;
    let colour_file = companion_file(&config.color_embeddings, "colour")?;
    let rules = format!(
        "{}|{}|{}|{}|{:?}|{:?}",
        config.max_words,
        config.min_occurrences,
        config.min_word_length,
        config.word_poems,
        config.stop_words,
        config.colour_words
    );
    let none = blake3::Hash::from([0; 32]);
    let words_key = key(&[
        b"words",
        vectors_id.as_bytes(),
        contents.as_bytes(),
        rules.as_bytes(),
        word_file.unwrap_or(none).as_bytes(),
        colour_file.unwrap_or(none).as_bytes(),
    ]);
    // Companions are parsed (and so validated) unless these very files passed before.
    let parse_companions = || -> Result<Companions> {
        let parse =
            |path: &Option<PathBuf>, file: Option<blake3::Hash>| -> Result<Option<Embeddings>> {
                match (path, file) {
                    (Some(p), Some(_)) => {
                        let e = vectors::load(p)?;
                        vectors::check_dimension(p, &e, dim)?;
                        Ok(Some(e))
                    }
                    _ => Ok(None),
                }
            };
        Ok(Companions {
            words: parse(&config.word_embeddings, word_file)?,
            colours: parse(&config.color_embeddings, colour_file)?,
        })
    };
    let mut companions = match memo.words {
        Some(k) if k == *words_key.as_bytes() => None,
        _ => Some(parse_companions()?),
    };

    // Validation is over: from here on the cache may be created and written.
    let lock = match lock {
        Some(l) => Some(l),
        None => CacheLock::acquire(&config.cache, persist)?,
    };
    let (store, records) = match lock {
        Some(lock) => {
            let opened = Store::open(lock)?;
            if let Some(w) = &opened.warning {
                progress.warn(w);
            }
            let records = if options.force {
                HashMap::new()
            } else {
                opened.records
            };
            (Some(opened.store), records)
        }
        None => (None, HashMap::new()),
    };
    let media = MediaFiles::new(config.media.clone(), &corpus, |path| files.hash(path))?;
    // Every input of the build: when it equals the last completed build's
    // and every recorded file is in place, no target can be stale.
    let inputs = {
        let mut h = blake3::Hasher::new();
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(poems_hash.as_bytes());
        h.update(vectors_id.as_bytes());
        h.update(words_key.as_bytes());
        for (name, _) in crate::render::BUILT_IN {
            h.update(renderer.template_hash(name).as_bytes());
        }
        let shape = format!(
            "{}|{}|{}|{}|{}|{:?}",
            config.poems_per_page,
            config.pages_per_poem,
            config.storage_limit_gb,
            config.chronological_per_page,
            config.seed,
            config.timeline_end
        );
        h.update(shape.as_bytes());
        for (rel, hash) in &media.hashes {
            h.update(rel.as_bytes());
            h.update(hash.as_bytes());
        }
        *h.finalize().as_bytes()
    };
    let unchanged = persist
        && !options.force
        && !unfinished
        && memo.inputs == Some((inputs, records.len()))
        && records.par_iter().all(|(path, r)| {
            matches!(
                files::state(&config.output.join(path), r),
                files::FileState::Intact(_)
            )
        });
    if unchanged {
        return Ok(Prepared {
            memo,
            unfinished,
            inputs,
            unchanged,
            layout: layout(&config, config.pages_per_poem),
            config,
            corpus,
            renderer,
            store,
            records,
            neighbours: Neighbours {
                similar: Vec::new(),
                different: Vec::new(),
            },
            word_data_colours: Vec::new(),
            words: Vec::new(),
            media,
        });
    }
    let cache = store.as_ref().filter(|_| !options.force);
    let put = |k: &blake3::Hash, value: &dyn ErasedPut| -> Result<()> {
        match (&store, persist) {
            (Some(s), true) => value.put(s, k),
            _ => Ok(()),
        }
    };
    let matrix_key = key(&[b"matrix", vectors_id.as_bytes()]);
    if let Some(m) = &matrix {
        put(&matrix_key, m)?;
    }
    // Kept even by builds that do not read it: the next edit may need it.
    if let Some(s) = &store {
        s.keep_derived(&[*matrix_key.as_bytes()]);
    }
    let get_matrix = |matrix: &mut Option<Matrix>| -> Result<Matrix> {
        if let Some(m) = matrix.take() {
            return Ok(m);
        }
        if let Some(m) = cache.and_then(|s| s.derived::<Matrix>(&matrix_key)) {
            return Ok(m);
        }
        let (m, _) = load_vectors(&config, &corpus)?;
        put(&matrix_key, &m)?;
        Ok(m)
    };

    stop_if_cancelled(cancel, store.as_ref())?;
    progress.stage(3, "rankings and chains");
    let mut pages_per_poem = config.pages_per_poem;
    if config.storage_limit_gb > 0.0 {
        pages_per_poem = pages_for_storage(&config, &corpus, &renderer)?;
        progress.note(&format!(
            "storage limit {} GB: {pages_per_poem} page(s) per poem",
            config.storage_limit_gb
        ));
    }
    let list_len = pages_per_poem * config.poems_per_page;
    let neighbours_key = key(&[
        b"neighbours",
        vectors_id.as_bytes(),
        &(list_len as u64).to_le_bytes(),
    ]);
    let mut loaded: Option<Matrix> = None;
    let neighbours = match cache.and_then(|s| s.derived::<Neighbours>(&neighbours_key)) {
        Some(n) => n,
        None => {
            let m = get_matrix(&mut matrix)?;
            let n = Neighbours::compute(&m, list_len, list_len);
            put(&neighbours_key, &n)?;
            loaded = Some(m);
            n
        }
    };

    stop_if_cancelled(cancel, store.as_ref())?;
    progress.stage(4, "colours and word cloud");
    let word_data = match cache.and_then(|s| s.derived::<WordData>(&words_key)) {
        Some(d) => {
            // Its parts stay in the store for the next edit.
            if let Some(s) = cache {
                s.keep_derived(&d.parts);
            }
            d
        }
        None => {
            let mut load = || -> Result<(Matrix, Companions)> {
                let m = match loaded.take() {
                    Some(m) => m,
                    None => get_matrix(&mut matrix)?,
                };
                let companions = match companions.take() {
                    Some(c) => c,
                    None => parse_companions()?,
                };
                Ok((m, companions))
            };
            let sources = word_data::Sources {
                config: &config,
                corpus: &corpus,
                vectors: key(&[
                    b"word sources",
                    vectors_id.as_bytes(),
                    word_file.unwrap_or(none).as_bytes(),
                    colour_file.unwrap_or(none).as_bytes(),
                ]),
            };
            let access = word_data::Access {
                cache,
                keep: store.as_ref().filter(|_| persist),
                load: &mut load,
            };
            let d = word_data::word_data(&sources, access)?;
            put(&words_key, &d)?;
            d
        }
    };
    progress.note(&format!("{} words in the cloud", word_data.words.len()));
    let next_memo = Memo {
        vectors: Some((*vectors_id.as_bytes(), dim, warnings)),
        words: Some(*words_key.as_bytes()),
        entries: memo.entries,
        inputs: None,
        files: files.seen.into_inner().unwrap(),
    };
    Ok(Prepared {
        memo: next_memo,
        unfinished,
        inputs,
        unchanged: false,
        layout: layout(&config, pages_per_poem),
        config,
        corpus,
        renderer,
        store,
        records,
        neighbours,
        word_data_colours: word_data.colours,
        words: word_data.words,
        media,
    })
}

fn layout(config: &Config, pages_per_poem: usize) -> Layout {
    Layout {
        poems_per_page: config.poems_per_page,
        pages_per_poem,
        chronological_per_page: config.chronological_per_page,
        seed: config.seed,
        timeline_end: config.timeline_end,
    }
}

impl Prepared {
    /// The site these inputs make.
    pub fn site(&self) -> Site<'_> {
        Site::new(
            &self.corpus,
            &self.renderer,
            &self.neighbours,
            &self.word_data_colours,
            &self.words,
            self.layout.clone(),
            &self.media,
        )
    }
}

/// Ctrl-C before the pages: stop between stages, keeping what was derived.
fn stop_if_cancelled(cancel: &AtomicBool, store: Option<&Store>) -> Result<()> {
    if cancel.load(Ordering::Relaxed) {
        if let Some(s) = store {
            s.flush()?;
        }
        return Err(Error::Interrupted);
    }
    Ok(())
}

/// Object-safe "store this value".
trait ErasedPut {
    fn put(&self, store: &Store, key: &blake3::Hash) -> Result<()>;
}

impl<T: Serialize> ErasedPut for T {
    fn put(&self, store: &Store, key: &blake3::Hash) -> Result<()> {
        store.put_derived(key, self)
    }
}

/// Parse (or embed) and align the poems' vectors.
fn load_vectors(config: &Config, corpus: &Corpus) -> Result<(Matrix, Vec<String>)> {
    match &config.embeddings {
        Some(path) => {
            let parsed = vectors::load(path)?;
            vectors::align(path, corpus, &parsed)
        }
        None => Ok((vectors::lexical(corpus), Vec::new())),
    }
}

/// The most pages per poem whose similar and different pages, with the rest
/// of the site, fit in `storage_limit_gb` (10⁹ bytes), estimated from the
/// rendered size of every entry.
fn pages_for_storage(config: &Config, corpus: &Corpus, renderer: &Renderer) -> Result<usize> {
    let n = corpus.poems.len();
    let place = Placement {
        colour: 0,
        filled: 0,
        chronological_page: 1,
    };
    let entry_bytes: usize = corpus
        .poems
        .par_iter()
        .map(|p| {
            renderer
                .entry(&EntryView::new(p, &place, Variant::Linked))
                .map(|e| e.len())
        })
        .sum::<Result<usize>>()?;
    let average = entry_bytes / n.max(1) + 40;
    let media: u64 = corpus
        .poems
        .iter()
        .flat_map(|p| &p.attachments)
        .map(|a| std::fs::metadata(config.media.join(&a.relative_path)).map_or(0, |m| m.len()))
        .sum();
    let page_overhead = 3_000;
    let fixed = entry_bytes
        + config.max_words * (config.word_poems * average + page_overhead)
        + media as usize;
    let budget = (config.storage_limit_gb * 1e9) as usize;
    let per_page = 2 * n * ((config.poems_per_page + 1) * average + page_overhead);
    let most = (n.saturating_sub(1)).div_ceil(config.poems_per_page).max(1);
    Ok((budget.saturating_sub(fixed) / per_page.max(1)).clamp(1, most))
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

/// Run a whole build.
pub fn build(
    config: Config,
    options: &Options,
    progress: &Arc<Progress>,
    cancel: &AtomicBool,
) -> Result<Summary> {
    let prepared = prepare(config, options, progress, true, cancel)?;
    let mut prepared = prepared;
    let store = prepared.store.take().expect("a build always has a store");
    let mut memo = std::mem::take(&mut prepared.memo);
    let Prepared {
        config,
        corpus,
        records,
        unfinished,
        inputs,
        unchanged,
        ..
    } = &prepared;
    let (unfinished, inputs, unchanged) = (*unfinished, *inputs, *unchanged);
    if unchanged {
        let summary = unchanged_summary(records, progress);
        write_reports(options, &summary, &[], &[])?;
        return Ok(summary);
    }

    stop_if_cancelled(cancel, Some(&store))?;
    progress.stage(5, "plan");
    let site = prepared.site();
    let targets = site.plan();
    let out = &config.output;
    let checks: Vec<Check> = targets.par_iter().map(|t| check(t, records, out)).collect();
    let mut stale: Vec<&Target> = Vec::new();
    for (target, check) in targets.iter().zip(checks) {
        match check {
            Check::Stale => stale.push(target),
            Check::UpToDate => {}
            Check::Refreshed(record) => store.refresh(&target.path, &record)?,
        }
    }
    let mut families = no_families();
    for t in &targets {
        counts(&mut families, t.family).up_to_date += 1;
    }
    for t in &stale {
        counts(&mut families, t.family).up_to_date -= 1;
        progress.add_to_total(t.family, 1);
    }
    progress.note(&format!(
        "{} targets, {} to build",
        targets.len(),
        stale.len()
    ));

    stop_if_cancelled(cancel, Some(&store))?;
    progress.stage(6, "write pages");
    let marker = config.cache.join(store::UNFINISHED);
    if !stale.is_empty() {
        std::fs::write(&marker, b"").at(&marker)?;
    }
    let outcome = {
        let _drawer = (!stale.is_empty()).then(|| {
            let labels: Vec<String> = corpus.poems.iter().map(|p| p.first_words(24)).collect();
            progress.draw(Arc::new(labels))
        });
        let job = exec::Job {
            site: &site,
            records,
            store: &store,
            out,
            progress,
            cancel,
            checkpoint: config.checkpoint_interval,
            rewrite: options.force,
        };
        exec::execute(&job, &stale)
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = store.flush();
            return Err(e);
        }
    };
    let rendered: usize = outcome.written.iter().chain(&outcome.unchanged).sum();
    for f in Family::ALL {
        let c = counts(&mut families, f);
        c.written = outcome.written[f as usize];
        c.up_to_date += outcome.unchanged[f as usize];
    }
    let interrupted = cancel.load(Ordering::Relaxed);
    let mut removed = Vec::new();
    if !interrupted {
        progress.stage(7, "sweep");
        let planned: HashSet<&str> = targets.iter().map(|t| t.path.as_str()).collect();
        removed = sweep::orphans(out, &planned, records, &store)?;
        if unfinished {
            sweep::temporaries(out)?;
        }
        store.prune_derived()?;
        let digests = site.entry_digests();
        let digest =
            *blake3::hash(&postcard::to_stdvec(&digests).expect("digests serialise")).as_bytes();
        if memo.entries != Some(digest) {
            store.update_entries(&digests)?;
            memo.entries = Some(digest);
        }
        store.flush()?;
        memo.inputs = Some((inputs, targets.len()));
        memo.write(&config.cache)?;
        if marker.exists() {
            std::fs::remove_file(&marker).at(&marker)?;
        }
        for path in &removed {
            counts(&mut families, Family::of_path(path)).removed += 1;
        }
    }
    progress.stage(8, "summary");
    progress.end_stage();
    let summary = Summary::new(
        families,
        rendered,
        interrupted,
        stale.len() - rendered,
        progress,
    );
    write_reports(options, &summary, &outcome.changes, &removed)?;
    Ok(summary)
}

/// `--changes` (paths written and removed) and `--summary-json`.
fn write_reports(
    options: &Options,
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
        std::fs::write(path, text).at(path)?;
    }
    if let Some(path) = &options.summary_json {
        let json = serde_json::to_string_pretty(summary).expect("summaries serialise");
        std::fs::write(path, json + "\n").at(path)?;
    }
    Ok(())
}

/// Per family name, the counts of a summary.
type Families = BTreeMap<&'static str, FamilyCounts>;

fn no_families() -> Families {
    Family::ALL
        .iter()
        .map(|f| (f.name(), FamilyCounts::default()))
        .collect()
}

fn counts(families: &mut Families, family: Family) -> &mut FamilyCounts {
    families
        .get_mut(family.name())
        .expect("every family has counts")
}

/// The summary of a build whose inputs did not change: every recorded
/// target is up to date.
fn unchanged_summary(records: &HashMap<String, Record>, progress: &Progress) -> Summary {
    progress.note("no input changed since the last build");
    let mut families = no_families();
    for path in records.keys() {
        counts(&mut families, Family::of_path(path)).up_to_date += 1;
    }
    progress.stage(8, "summary");
    progress.end_stage();
    Summary::new(families, 0, false, 0, progress)
}

/// The summary as printed at the end of a build.
pub fn summary_text(summary: &Summary) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "  {:<14} {:>8} {:>11} {:>8}\n",
        "family", "written", "up to date", "removed"
    ));
    for (name, c) in &summary.families {
        if c.written + c.up_to_date + c.removed > 0 {
            text.push_str(&format!(
                "  {name:<14} {:>8} {:>11} {:>8}\n",
                c.written, c.up_to_date, c.removed
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
