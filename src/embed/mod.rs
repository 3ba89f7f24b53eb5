//! Vectors made inside the build (`[model]`): a local sentence-transformers
//! folder or an embedding server behind one [`Model`] trait, and the
//! [`Embedder`] that looks every text up in the cache of vectors first and
//! sends only the missing ones to the model, in batches, recording each
//! batch as it finishes (so Ctrl-C and SIGKILL lose at most the batches in
//! flight, and no text is embedded twice).
//!
//! A cached vector's key hashes the model's identity and the exact text:
//! - a local model: every file of its folder (through the stat cache) and
//!   the code that runs it (`local.rs`);
//! - a server: API, address, model name, `revision`, the client's code
//!   (`server.rs`), and the dimension its vectors turned out to have
//!   (recorded with the first of them).

mod bert;
pub mod cache;
mod local;
mod server;

use crate::config::{Config, ModelConfig, ModelSource};
use crate::engine::remote::Remote;
use crate::error::{Doing, Error, InputError, Location, Result};
use crate::progress::Progress;
use crate::vectors::Matrix;
use cache::VectorCache;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model folder cannot be used.
    #[error("{}: {message}", path.display())]
    Model { path: PathBuf, message: String },
    #[error("{url}: {message}")]
    Server {
        url: String,
        message: String,
        hint: String,
    },
    /// A reply verso cannot use, with what to do about it.
    #[error("{message}")]
    Reply { message: String, hint: &'static str },
    #[error("{0}")]
    Failed(String),
}

impl EmbedError {
    pub fn model(path: &Path, e: impl std::fmt::Display) -> Self {
        EmbedError::Model {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// Something that turns texts into vectors.
pub trait Model: Send + Sync {
    /// For messages: "the local model …", "the server …".
    fn describe(&self) -> String;
    /// Texts per call.
    fn batch(&self) -> usize;
    /// Calls at once.
    fn in_flight(&self) -> usize {
        1
    }
    fn embed(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, EmbedError>;
}

/// One text to embed, and what it is (for progress and errors).
pub struct Text<'a> {
    pub label: String,
    pub text: &'a str,
}

pub struct Embedder {
    config: ModelConfig,
    /// The model's identity without the dimension.
    identity: blake3::Hash,
    model: Mutex<Option<Arc<dyn Model>>>,
    cache_dir: PathBuf,
    writable: bool,
    cache: Mutex<Option<VectorCache>>,
    checkpoint: usize,
    /// Texts sent to the model by this process.
    embedded: AtomicUsize,
    /// The shared remote cache, asked before the model.
    remote: Option<Arc<Remote>>,
}

fn identity_of(
    model: &ModelConfig,
    hash_file: &dyn Fn(&Path) -> Result<blake3::Hash>,
) -> Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    match &model.source {
        ModelSource::Local(folder) => {
            hasher.update(b"local\0");
            // The forward pass: the narrow identity that keeps a model's
            // vectors across upgrades that leave it alone.
            for file in ["src/embed/local.rs", "src/embed/bert.rs", "src/disjoint.rs"] {
                hasher.update(code(file).as_bytes());
            }
            let mut files = Vec::new();
            list_files(folder, &mut files)
                .map_err(|e| Error::io(Doing::ReadingModel, folder, e))?;
            files.sort();
            for file in files {
                let name = file.strip_prefix(folder).unwrap_or(&file).to_string_lossy();
                hasher.update(name.as_bytes()).update(&[0]);
                hasher.update(hash_file(&file)?.as_bytes());
            }
        }
        ModelSource::Server {
            api,
            url,
            name,
            revision,
        } => {
            hasher.update(code("src/embed/server.rs").as_bytes());
            for part in [
                format!("{api:?}"),
                url.clone(),
                name.clone(),
                revision.clone(),
            ] {
                hasher.update(part.as_bytes()).update(&[0]);
            }
        }
    }
    Ok(hasher.finalize())
}

/// The text of a source file compiled into verso.
fn code(file: &str) -> &'static str {
    crate::engine::rule::source(file).expect("a source file")
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            list_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

impl From<EmbedError> for Error {
    fn from(e: EmbedError) -> Error {
        match e {
            EmbedError::Model { path, message } => InputError::new(Location::file(&path), message)
                .hint("`model.path` must be a sentence-transformers folder of the BERT family")
                .into(),
            EmbedError::Server { url, message, hint } => {
                Error::Failed(format!("{url}: {message}\n  hint: {hint}"))
            }
            EmbedError::Reply { message, hint } => {
                Error::Failed(format!("{message}\n  hint: {hint}"))
            }
            EmbedError::Failed(m) => Error::Failed(m),
        }
    }
}

/// What the workers send back: a batch's number and its vectors.
type BatchResult = (usize, std::result::Result<Vec<Vec<f32>>, EmbedError>);

impl Embedder {
    /// `None` without `[model]`. `hash_file` hashes a model file (the
    /// build's stat cache); `writable`: new vectors go to the cache folder.
    pub fn new(
        config: &Config,
        hash_file: &dyn Fn(&Path) -> Result<blake3::Hash>,
        writable: bool,
    ) -> Result<Option<Embedder>> {
        let Some(model) = &config.model else {
            return Ok(None);
        };
        Ok(Some(Embedder {
            identity: identity_of(model, hash_file)?,
            config: model.clone(),
            model: Mutex::new(None),
            cache_dir: config.cache.clone(),
            writable,
            cache: Mutex::new(None),
            checkpoint: config.checkpoint_interval,
            embedded: AtomicUsize::new(0),
            remote: None,
        }))
    }

    /// Ask `remote` for vectors before the model, and send it new ones.
    pub fn set_remote(&mut self, remote: Arc<Remote>) {
        self.remote = Some(remote);
    }

    /// Take from the remote what it holds of `texts`' vectors (and of the
    /// server's dimension, when not known here).
    fn fetch_remote(&self, cache: &mut VectorCache, texts: &[&Text]) -> Result<()> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        if !self.is_local() && cache.get(&self.dimension_key()).is_none() {
            let found = remote.vectors(&[self.dimension_key()]);
            for (key, vector) in found {
                cache.put(key, vector)?;
            }
        }
        let Some(dim) = self.known_dim(cache) else {
            return Ok(());
        };
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| self.key(dim, t.text)).collect();
        for (key, vector) in remote.vectors(&keys) {
            cache.put(key, vector)?;
        }
        Ok(())
    }

    /// The dimension in texts' keys: 0 for a local model (its files fix
    /// it), a server's as first recorded.
    fn known_dim(&self, cache: &VectorCache) -> Option<u32> {
        match self.is_local() {
            true => Some(0),
            false => cache.get(&self.dimension_key()).map(|d| d[0] as u32),
        }
    }

    /// The model's identity, for fingerprints.
    pub fn identity(&self) -> blake3::Hash {
        self.identity
    }

    /// Texts this process sent to the model.
    pub fn embedded(&self) -> usize {
        self.embedded.load(Ordering::Relaxed)
    }

    fn model(&self) -> Result<Arc<dyn Model>> {
        let mut slot = self.model.lock().expect("model lock");
        if let Some(m) = &*slot {
            return Ok(Arc::clone(m));
        }
        let model: Arc<dyn Model> = match &self.config.source {
            ModelSource::Local(folder) => {
                Arc::new(local::LocalModel::open(folder, self.config.batch)?)
            }
            ModelSource::Server { api, url, name, .. } => {
                Arc::new(server::Server::new(*api, url, name, self.config.batch))
            }
        };
        *slot = Some(Arc::clone(&model));
        Ok(model)
    }

    /// The key of the record that holds a server's dimension.
    fn dimension_key(&self) -> [u8; 32] {
        *blake3::Hasher::new()
            .update(b"dimension\0")
            .update(self.identity.as_bytes())
            .finalize()
            .as_bytes()
    }

    /// A text's key, given the model's dimension (0 for a local model,
    /// whose files fix it).
    fn key(&self, dim: u32, text: &str) -> [u8; 32] {
        *blake3::Hasher::new()
            .update(self.identity.as_bytes())
            .update(&dim.to_le_bytes())
            .update(text.as_bytes())
            .finalize()
            .as_bytes()
    }

    fn is_local(&self) -> bool {
        matches!(self.config.source, ModelSource::Local(_))
    }

    /// The unit vectors of `texts`, in order: from the cache where it has
    /// them, the rest from the model. `group` names the kind of texts (the
    /// cache keeps each kind's current vectors).
    pub fn embed(
        &self,
        group: &str,
        texts: &[Text],
        progress: &Progress,
        cancel: &AtomicBool,
    ) -> Result<Matrix> {
        let mut guard = self.cache.lock().expect("cache lock");
        if guard.is_none() {
            *guard = Some(VectorCache::open(&self.cache_dir, self.writable)?);
        }
        let cache = guard.as_mut().expect("opened");
        // Each missing text once, longest first: a server pads a batch to
        // its longest text, so batches of like lengths pad least.
        let mut missing = self.missing(cache, texts.iter());
        if !missing.is_empty() && self.remote.is_some() {
            self.fetch_remote(cache, &missing)?;
            missing = self.missing(cache, missing.into_iter());
        }
        missing.sort_by_key(|t| std::cmp::Reverse(t.text.len()));
        if !missing.is_empty() {
            progress.note(&format!(
                "{} of {} texts to embed ({} cached)",
                missing.len(),
                texts.len(),
                texts.len() - missing.len()
            ));
            let result = self.run(&missing, cache, progress, cancel);
            cache.flush(true)?;
            result?;
        }
        let dim = self
            .known_dim(cache)
            .expect("known once anything was embedded");
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| self.key(dim, t.text)).collect();
        let mut current = keys.clone();
        if !self.is_local() {
            current.push(self.dimension_key());
        }
        cache.settle(group, current, cache::unix_seconds())?;
        let mut rows = Vec::with_capacity(texts.len());
        for key in &keys {
            rows.push(cache.get(key).expect("every text is cached now"));
        }
        let width = rows.first().map_or(0, |r| r.len());
        let mut data = Vec::with_capacity(rows.len() * width);
        for (row, t) in rows.iter().zip(texts) {
            if row.len() != width {
                return Err(Error::Failed(format!(
                    "{}: its cached vector has {} dimensions, others {width}; change `model.revision` to embed everything again",
                    t.label,
                    row.len()
                )));
            }
            data.extend(unit(row));
        }
        Ok(Matrix { dim: width, data })
    }

    /// The texts of `texts` that the cache lacks, each once.
    fn missing<'t, 'a: 't>(
        &self,
        cache: &VectorCache,
        texts: impl Iterator<Item = &'t Text<'a>>,
    ) -> Vec<&'t Text<'a>> {
        let dim = self.known_dim(cache);
        let mut seen = HashSet::new();
        texts
            .filter(|t| {
                let cached = dim.is_some_and(|d| cache.get(&self.key(d, t.text)).is_some());
                !cached && seen.insert(t.text)
            })
            .collect()
    }

    /// Embed `missing` in batches, `in_flight` at once, recording each
    /// finished batch; stops between batches on Ctrl-C or an error.
    fn run(
        &self,
        missing: &[&Text],
        cache: &mut VectorCache,
        progress: &Progress,
        cancel: &AtomicBool,
    ) -> Result<()> {
        let model = self.model()?;
        progress.embedding(0, missing.len(), "");
        let batches: Vec<&[&Text]> = missing.chunks(model.batch()).collect();
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let (send, receive) = channel::<BatchResult>();
        let mut done = 0;
        let mut since_checkpoint = 0;
        let mut failure: Option<Error> = None;
        std::thread::scope(|scope| {
            for _ in 0..model.in_flight().min(batches.len()) {
                let (send, model, batches, next, stop) =
                    (send.clone(), &model, &batches, &next, &stop);
                scope.spawn(move || loop {
                    if stop.load(Ordering::Relaxed) || cancel.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(batch) = batches.get(i) else { return };
                    let texts: Vec<&str> = batch.iter().map(|t| t.text).collect();
                    if send.send((i, model.embed(&texts))).is_err() {
                        return;
                    }
                });
            }
            drop(send);
            for (i, result) in receive {
                let batch = batches[i];
                let recorded = result
                    .map_err(|e| about(e, batch[0]))
                    .and_then(|vectors| self.record(batch, vectors, cache, &model));
                match recorded {
                    Ok(()) => {
                        done += batch.len();
                        since_checkpoint += batch.len();
                        self.embedded.fetch_add(batch.len(), Ordering::Relaxed);
                        progress.embedding(done, missing.len(), batch[0].text);
                        let durable = since_checkpoint >= self.checkpoint;
                        if durable {
                            since_checkpoint = 0;
                        }
                        if let Err(e) = cache.flush(durable) {
                            stop.store(true, Ordering::Relaxed);
                            failure.get_or_insert(e);
                        }
                    }
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        failure.get_or_insert(e);
                    }
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        if cancel.load(Ordering::Relaxed) && done < missing.len() {
            progress.note(&format!(
                "embedded {done} texts before Ctrl-C; they are kept"
            ));
            return Err(Error::Interrupted);
        }
        progress.note(&format!("embedded {done} texts"));
        Ok(())
    }

    /// Check a batch's vectors and keep them.
    fn record(
        &self,
        batch: &[&Text],
        vectors: Vec<Vec<f32>>,
        cache: &mut VectorCache,
        model: &Arc<dyn Model>,
    ) -> Result<()> {
        let width = vectors.first().map_or(0, |v| v.len());
        let dim = match self.is_local() {
            true => 0,
            false => match cache.get(&self.dimension_key()) {
                Some(d) => {
                    let known = d[0] as usize;
                    if width != known {
                        let message = format!(
                            "{} returned {width}-dimension vectors; its vectors had {known} dimensions before",
                            model.describe()
                        );
                        let hint = "if the server's model changed, change `model.revision` so that everything is embedded again";
                        return Err(about(EmbedError::Reply { message, hint }, batch[0]));
                    }
                    known as u32
                }
                None => {
                    if let Some(remote) = &self.remote {
                        remote.put_vector(&self.dimension_key(), &[width as f32]);
                    }
                    cache.put(self.dimension_key(), vec![width as f32])?;
                    width as u32
                }
            },
        };
        for (t, v) in batch.iter().zip(vectors) {
            let bad = if v.len() != width || width == 0 {
                Some(format!(
                    "a {}-dimension vector among {width}-dimension ones",
                    v.len()
                ))
            } else if v.iter().any(|x| !x.is_finite()) {
                Some("a vector with a value that is not a finite number".to_string())
            } else if v.iter().all(|&x| x == 0.0) {
                Some("a vector of zeros".to_string())
            } else {
                None
            };
            if let Some(bad) = bad {
                let message = format!("{} returned {bad}", model.describe());
                return Err(about(EmbedError::Failed(message), t));
            }
            let key = self.key(dim, t.text);
            if let Some(remote) = &self.remote {
                remote.put_vector(&key, &v);
            }
            cache.put(key, v)?;
        }
        Ok(())
    }
}

/// An embedding failure as the user reads it: what went wrong, about
/// which text, that the rest is kept, and the hint.
fn about(e: EmbedError, t: &Text) -> Error {
    let (message, hint) = match e {
        EmbedError::Server { url, message, hint } => (format!("{url}: {message}"), Some(hint)),
        EmbedError::Reply { message, hint } => (message, Some(hint.to_string())),
        EmbedError::Failed(message) => (message, None),
        model @ EmbedError::Model { .. } => return model.into(),
    };
    let snippet: String = t.text.chars().take(40).collect();
    let hint = hint.map(|h| format!("\n  hint: {h}")).unwrap_or_default();
    Error::Failed(format!(
        "{message} (while embedding {}: {snippet:?}; the texts embedded so far are kept){hint}",
        t.label
    ))
}

/// `v` scaled to length 1.
fn unit(v: &[f32]) -> impl Iterator<Item = f32> + '_ {
    let norm = v
        .iter()
        .map(|x| (*x as f64) * (*x as f64))
        .sum::<f64>()
        .sqrt();
    v.iter().map(move |x| (*x as f64 / norm) as f32)
}
