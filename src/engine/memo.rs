//! The memo: one get-or-compute for every derived rule. For a fingerprint
//! it returns the value of the last build when the key matches (loading it
//! from the store only when someone reads it), else computes it; each rule
//! instance is computed at most once per process. It records the trace of
//! every instance it was asked for (so whatever this build did not ask for
//! is pruned without a list of things to keep), counts what each rule
//! computed and reused (the event log), and cuts off early: dependents hash
//! a value, not its key, so a recomputed value with the same bytes changes
//! nothing downstream.
//!
//! Traces of derived rules, the stat cache of input files and the root's
//! key live in a small plain file beside the store (`memo`): it is read
//! before any input is validated, when the store may not be opened yet (a
//! build that stops on bad input leaves the cache as it was). Values live in
//! the store under their own hash, written once the store is open.

use super::atomic;
use super::cache_dir::CacheEntry;
use super::inputs::FileHash;
use super::remote::Remote;
use super::rule::{Code, Fingerprint, Instance, Made, Rule, Trace};
use super::store::Store;
use crate::error::{Doing, Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// What the memo file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemoFile {
    /// Traces of derived rules, by instance.
    pub traces: BTreeMap<String, Trace>,
    /// Content hashes of input files by path, size and modification time.
    pub files: Vec<FileHash>,
    /// The last completed build: when its root key and target count still
    /// hold, no target can be stale.
    pub completed: Option<Completed>,
    /// Per poem_index, the key of its entry as its trace in the store holds
    /// it: only the entries whose key moved get a new trace.
    pub entries: Vec<(u32, [u8; 8])>,
}

/// What the no-op check compares: the root key of a completed build, the
/// targets it recorded, and the input files it read (by name within the
/// collection), which the key covers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Completed {
    pub key: [u8; 32],
    pub targets: usize,
    pub files: Vec<String>,
}

/// The memo file starts with this line and the identity of the build of
/// verso that wrote it (`rule::build_identity`), then the BLAKE3 hash of
/// the rest. A file of another build is ignored without a word (its layout
/// may differ, and every rule's code changed with it anyway); one whose
/// hash fails is damaged.
const MEMO_MAGIC: &[u8] = b"verso memo\n";

impl MemoFile {
    /// The memo file of cache folder `dir`, or none: when it is missing or
    /// another version's, silently; when it is damaged, with a warning to
    /// say once (the build then checks every input as if it were absent).
    pub fn read(dir: &Path) -> (MemoFile, Option<String>) {
        let path = CacheEntry::Memo.path(dir);
        let Ok(bytes) = std::fs::read(&path) else {
            return (MemoFile::default(), None);
        };
        let ours = super::rule::build_identity().as_bytes();
        let Some(rest) = bytes
            .strip_prefix(MEMO_MAGIC)
            .and_then(|rest| rest.strip_prefix(ours.as_slice()))
        else {
            return (MemoFile::default(), None);
        };
        let decoded = rest
            .split_first_chunk::<32>()
            .filter(|(sum, payload)| blake3::hash(payload).as_bytes() == *sum)
            .and_then(|(_, payload)| postcard::from_bytes(payload).ok());
        match decoded {
            Some(memo) => (memo, None),
            None => (
                MemoFile::default(),
                Some(format!(
                    "warning: the memo file {} is damaged; it is ignored, and every input is checked again",
                    path.display()
                )),
            ),
        }
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let payload = postcard::to_stdvec(self).expect("memos serialise");
        let mut bytes = Vec::with_capacity(MEMO_MAGIC.len() + 64 + payload.len());
        bytes.extend_from_slice(MEMO_MAGIC);
        bytes.extend_from_slice(super::rule::build_identity().as_bytes());
        bytes.extend_from_slice(blake3::hash(&payload).as_bytes());
        bytes.extend_from_slice(&payload);
        atomic::write_atomically(&CacheEntry::Memo.path(dir), &bytes, Doing::UsingCache)
    }
}

/// Where a rule's value is kept between builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// In the store: expensive to compute.
    Store,
    /// Recomputed by each process: cheaper than reading it back.
    Memory,
}

/// How often each rule computed or reused a value in this process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RuleCounts {
    pub computed: usize,
    pub reused: usize,
}

type Compute<'a, T> = Box<dyn FnOnce(&mut Vec<String>) -> Result<T> + Send + 'a>;

/// A derived value: its key and value hash are known at once; the value is
/// read from the store (or, were it missing there, computed) on first use.
pub struct Derived<'a, T> {
    pub instance: String,
    pub value_hash: blake3::Hash,
    /// Warnings its computation gave.
    pub notes: Vec<String>,
    /// Computed by this call (not reused).
    pub fresh: bool,
    rule: Rule,
    cell: OnceLock<Arc<T>>,
    fallback: Mutex<Option<Compute<'a, T>>>,
}

impl<T> Made for Derived<'_, T> {
    fn instance(&self) -> &str {
        &self.instance
    }

    fn value_hash(&self) -> blake3::Hash {
        self.value_hash
    }
}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Derived<'_, T> {
    pub fn get(&self, memo: &Memo) -> Result<Arc<T>> {
        if let Some(v) = self.cell.get() {
            return Ok(Arc::clone(v));
        }
        let value = match memo.load::<T>(&self.value_hash) {
            Some(v) => v,
            None => {
                let compute = self.fallback.lock().unwrap().take().ok_or_else(|| {
                    Error::Failed(format!("the cached {} could not be read", self.instance))
                })?;
                memo.count(self.rule, |c| c.computed += 1);
                let v = compute(&mut Vec::new())?;
                memo.keep(&v);
                v
            }
        };
        Ok(Arc::clone(self.cell.get_or_init(|| Arc::new(value))))
    }
}

pub struct Memo {
    pub code: Code,
    /// Ignore what earlier builds stored (`--force`).
    force: bool,
    /// What the last build left.
    pub stored: MemoFile,
    /// The store was set aside: its traces describe values that are gone.
    stored_lost: AtomicBool,
    /// Traces of this process, by instance.
    current: Mutex<BTreeMap<String, Trace>>,
    /// Values of rules kept in memory, computed by this process, by key.
    values: Mutex<HashMap<[u8; 32], Arc<dyn Any + Send + Sync>>>,
    /// Serialised values not yet in the store.
    pending: Mutex<Vec<([u8; 32], Vec<u8>)>>,
    store: OnceLock<Store>,
    /// The shared remote cache behind the store, if any.
    remote: OnceLock<Arc<Remote>>,
    /// Instances whose values this process computed and kept: their traces
    /// go to the remote at the end.
    kept_here: Mutex<Vec<String>>,
    events: Mutex<BTreeMap<Rule, RuleCounts>>,
}

impl Memo {
    pub fn new(code: Code, stored: MemoFile, force: bool) -> Memo {
        Memo {
            code,
            force,
            stored,
            stored_lost: AtomicBool::new(false),
            current: Default::default(),
            values: Default::default(),
            pending: Default::default(),
            store: OnceLock::new(),
            remote: OnceLock::new(),
            kept_here: Default::default(),
            events: Default::default(),
        }
    }

    /// Put the remote cache behind the store.
    pub fn set_remote(&self, remote: Arc<Remote>) {
        let _ = self.remote.set(remote);
    }

    pub fn remote(&self) -> Option<&Arc<Remote>> {
        self.remote.get()
    }

    /// A value computed here: kept, and sent to the remote.
    fn keep_bytes(&self, instance: &str, hash: &blake3::Hash, bytes: Vec<u8>) {
        if let Some(remote) = self.remote() {
            remote.put_value(hash.as_bytes(), &bytes);
            self.kept_here.lock().unwrap().push(instance.to_string());
        }
        self.pending.lock().unwrap().push((*hash.as_bytes(), bytes));
    }

    /// Send the traces of the values this process computed to the remote
    /// (after their values: a trace there always has its value).
    pub fn publish(&self) {
        let Some(remote) = self.remote() else { return };
        let current = self.current.lock().unwrap();
        for instance in self.kept_here.lock().unwrap().iter() {
            if let Some(trace) = current.get(instance) {
                remote.put_trace(trace);
            }
        }
    }

    /// A fingerprint of `rule` for `instance`, with its code identity.
    pub fn fingerprint(&self, instance: Instance) -> Fingerprint {
        Fingerprint::new(instance, &self.code)
    }

    /// The open store, for whoever goes on after the build (`deploy`).
    pub fn into_store(self) -> Option<Store> {
        self.store.into_inner()
    }

    /// The store, once validation has passed and it is open.
    pub fn store(&self) -> Option<&Store> {
        self.store.get()
    }

    /// Open the store's tier: values computed so far are written to it. A
    /// store that starts empty (new, or one set aside) holds no earlier value.
    pub fn attach(&self, store: Store, fresh: bool) -> Result<()> {
        if fresh {
            self.stored_lost.store(true, Ordering::Relaxed);
        }
        let _ = self.store.set(store);
        self.write_pending()
    }

    fn write_pending(&self) -> Result<()> {
        if let Some(store) = self.store() {
            let mut pending = self.pending.lock().unwrap();
            store.put_values(&pending)?;
            pending.clear();
        }
        Ok(())
    }

    fn count(&self, rule: Rule, f: impl FnOnce(&mut RuleCounts)) {
        f(self.events.lock().unwrap().entry(rule).or_default());
    }

    /// What each rule computed and reused in this process.
    pub fn events(&self) -> BTreeMap<Rule, RuleCounts> {
        self.events.lock().unwrap().clone()
    }

    /// This build's trace of an instance, else the last build's.
    pub fn trace(&self, instance: &str) -> Option<Trace> {
        self.current
            .lock()
            .unwrap()
            .get(instance)
            .cloned()
            .or_else(|| self.stored_trace(instance).cloned())
    }

    /// The entry keys whose traces the store holds.
    pub fn stored_entries(&self) -> &[(u32, [u8; 8])] {
        match self.stored_lost.load(Ordering::Relaxed) {
            true => &[],
            false => &self.stored.entries,
        }
    }

    /// The last build's trace of an instance.
    pub fn stored_trace(&self, instance: &str) -> Option<&Trace> {
        if self.stored_lost.load(Ordering::Relaxed) {
            return None;
        }
        self.stored.traces.get(instance)
    }

    /// The last build's value of an instance, whatever its key, when the
    /// store still holds it: for rules that update a value rather than
    /// compute it anew. None under `--force`.
    pub fn previous<T: DeserializeOwned>(&self, instance: &Instance) -> Option<T> {
        if self.force {
            return None;
        }
        self.load(&blake3::Hash::from(
            self.stored_trace(instance.name())?.value,
        ))
    }

    fn load<T: DeserializeOwned>(&self, hash: &blake3::Hash) -> Option<T> {
        if let Some((_, bytes)) = self
            .pending
            .lock()
            .unwrap()
            .iter()
            .find(|(h, _)| h == hash.as_bytes())
        {
            return postcard::from_bytes(bytes).ok();
        }
        self.store()?.value(hash)
    }

    /// Keep a value recomputed after its stored copy was lost.
    fn keep<T: Serialize>(&self, value: &T) {
        let bytes = postcard::to_stdvec(value).expect("values serialise");
        let hash = blake3::hash(&bytes);
        self.pending.lock().unwrap().push((*hash.as_bytes(), bytes));
        let _ = self.write_pending();
    }

    /// The value of `fp`: the stored one when the key matches, else computed.
    pub fn derive<'a, T>(
        &self,
        fp: Fingerprint,
        keep: Keep,
        compute: impl FnOnce(&mut Vec<String>) -> Result<T> + Send + 'a,
    ) -> Result<Derived<'a, T>>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let key = fp.key();
        let rule = fp.rule;
        // At most once per process.
        let known = self.values.lock().unwrap().get(key.as_bytes()).cloned();
        if let Some(any) = known {
            if let (Ok(value), Some(trace)) = (any.downcast::<T>(), self.trace(&fp.instance)) {
                self.count(rule, |c| c.reused += 1);
                return Ok(self.handle(fp.instance, rule, &trace, Some(value), None));
            }
        }
        let stored = match keep {
            Keep::Store => self.reusable(&fp, &key),
            Keep::Memory => None,
        };
        if let Some(trace) = stored {
            self.count(rule, |c| c.reused += 1);
            self.current
                .lock()
                .unwrap()
                .insert(fp.instance.clone(), trace.clone());
            return Ok(self.handle(fp.instance, rule, &trace, None, Some(Box::new(compute))));
        }
        self.count(rule, |c| c.computed += 1);
        let mut notes = Vec::new();
        let value = compute(&mut notes)?;
        let value_hash = match keep {
            Keep::Store => {
                let bytes = postcard::to_stdvec(&value).expect("values serialise");
                let hash = blake3::hash(&bytes);
                self.keep_bytes(&fp.instance, &hash, bytes);
                self.write_pending()?;
                hash
            }
            // Not kept, so not hashed: its dependents key on its key.
            Keep::Memory => key,
        };
        let mut trace = fp.trace(key, value_hash);
        trace.notes = notes;
        let value = Arc::new(value);
        // Values kept in the store are read back when asked for again; held
        // here they would outlive their use (the vectors, the neighbours).
        if keep == Keep::Memory {
            self.values.lock().unwrap().insert(
                *key.as_bytes(),
                Arc::clone(&value) as Arc<dyn Any + Send + Sync>,
            );
        }
        self.current
            .lock()
            .unwrap()
            .insert(fp.instance.clone(), trace.clone());
        let mut handle = self.handle(fp.instance, rule, &trace, Some(value), None);
        handle.fresh = true;
        Ok(handle)
    }

    /// A stored trace that `fp` may reuse: same key, and (once the store is
    /// open) its value there; else one the remote holds, with its value.
    fn reusable(&self, fp: &Fingerprint, key: &blake3::Hash) -> Option<Trace> {
        self.reusable_many(std::slice::from_ref(fp), std::slice::from_ref(key))
            .pop()
            .flatten()
    }

    /// `reusable` for many instances: the remote is asked once for all the
    /// local misses (several requests in flight), not once per instance,
    /// which a distant remote would make a round trip each.
    fn reusable_many(&self, fps: &[Fingerprint], keys: &[blake3::Hash]) -> Vec<Option<Trace>> {
        if self.force {
            return vec![None; fps.len()];
        }
        let mut found: Vec<Option<Trace>> = fps
            .iter()
            .zip(keys)
            .map(|(fp, key)| {
                self.stored_trace(&fp.instance)
                    .filter(|trace| {
                        trace.key == *key.as_bytes()
                            && self
                                .store()
                                .is_none_or(|s| s.has_value(&blake3::Hash::from(trace.value)))
                    })
                    .cloned()
            })
            .collect();
        let misses: Vec<usize> = (0..fps.len()).filter(|&i| found[i].is_none()).collect();
        if !misses.is_empty() {
            let asked: Vec<[u8; 32]> = misses.iter().map(|&i| *keys[i].as_bytes()).collect();
            for (i, trace) in misses.into_iter().zip(self.remote_traces(&asked)) {
                found[i] = trace;
            }
        }
        found
    }

    /// The remote's traces for `keys`, each once its value is here too.
    fn remote_traces(&self, keys: &[[u8; 32]]) -> Vec<Option<Trace>> {
        let Some(remote) = self.remote() else {
            return vec![None; keys.len()];
        };
        let mut traces = remote.traces(keys);
        let here = |value: &[u8; 32]| {
            self.store()
                .is_some_and(|s| s.has_value(&blake3::Hash::from(*value)))
                || self.pending.lock().unwrap().iter().any(|(h, _)| h == value)
        };
        let mut wanted: Vec<[u8; 32]> = traces
            .iter()
            .flatten()
            .map(|t| t.value)
            .filter(|v| !here(v))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut absent = HashSet::new();
        for (value, bytes) in wanted.iter().zip(remote.values(&wanted)) {
            match bytes {
                Some(bytes) => self.pending.lock().unwrap().push((*value, bytes)),
                None => {
                    absent.insert(*value);
                }
            }
        }
        for trace in &mut traces {
            if trace.as_ref().is_some_and(|t| absent.contains(&t.value)) {
                *trace = None;
            }
        }
        if self.write_pending().is_err() {
            return vec![None; keys.len()];
        }
        traces
    }

    /// Many instances of one rule, the missing ones computed together
    /// (`compute` gets their positions in `fps`): kept in the store.
    pub fn derive_batch<'a, T>(
        &self,
        fps: Vec<Fingerprint>,
        compute: impl FnOnce(&[usize]) -> Result<Vec<T>>,
    ) -> Result<Vec<Derived<'a, T>>>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let keys: Vec<blake3::Hash> = fps.iter().map(Fingerprint::key).collect();
        let reused = self.reusable_many(&fps, &keys);
        let missing: Vec<usize> = (0..fps.len()).filter(|&i| reused[i].is_none()).collect();
        let mut computed = if missing.is_empty() {
            Vec::new()
        } else {
            compute(&missing)?
        }
        .into_iter();
        let mut out = Vec::with_capacity(fps.len());
        for ((fp, key), reused) in fps.into_iter().zip(keys).zip(reused) {
            let rule = fp.rule;
            let (trace, value) = match reused {
                Some(trace) => {
                    self.count(rule, |c| c.reused += 1);
                    (trace, None)
                }
                None => {
                    self.count(rule, |c| c.computed += 1);
                    let value = computed.next().expect("one value per missing instance");
                    let bytes = postcard::to_stdvec(&value).expect("values serialise");
                    let hash = blake3::hash(&bytes);
                    self.keep_bytes(&fp.instance, &hash, bytes);
                    (fp.trace(key, hash), Some(Arc::new(value)))
                }
            };
            self.current
                .lock()
                .unwrap()
                .insert(fp.instance.clone(), trace.clone());
            out.push(self.handle(fp.instance, rule, &trace, value, None));
        }
        self.write_pending()?;
        Ok(out)
    }

    fn handle<'a, T>(
        &self,
        instance: String,
        rule: Rule,
        trace: &Trace,
        value: Option<Arc<T>>,
        fallback: Option<Compute<'a, T>>,
    ) -> Derived<'a, T> {
        let cell = OnceLock::new();
        if let Some(v) = value {
            let _ = cell.set(v);
        }
        Derived {
            instance,
            value_hash: blake3::Hash::from(trace.value),
            notes: trace.notes.clone(),
            fresh: false,
            rule,
            cell,
            fallback: Mutex::new(fallback),
        }
    }

    /// Record the trace of a fingerprint that has no value of its own (the
    /// root); its key.
    pub fn record(&self, fp: &Fingerprint) -> blake3::Hash {
        let key = fp.key();
        self.current
            .lock()
            .unwrap()
            .insert(fp.instance.clone(), fp.trace(key, key));
        key
    }

    /// Add digests of a value's parts to its trace (for explanations).
    pub fn set_parts(&self, instance: &Instance, parts: Vec<(super::rule::Part, u32)>) {
        if let Some(t) = self.current.lock().unwrap().get_mut(instance.name()) {
            t.parts = parts;
        }
    }

    /// The memo file after this build: when it completed, the traces it
    /// asked for (the rest is pruned); when it stopped early, those merged
    /// over the last build's.
    pub fn file_after(
        &self,
        completed: Option<Completed>,
        files: Vec<FileHash>,
        entries: Option<Vec<(u32, [u8; 8])>>,
    ) -> MemoFile {
        let mut traces = match completed {
            Some(_) => BTreeMap::new(),
            None if self.stored_lost.load(Ordering::Relaxed) => BTreeMap::new(),
            None => self.stored.traces.clone(),
        };
        traces.extend(self.current.lock().unwrap().clone());
        let entries = entries.unwrap_or_else(|| self.stored_entries().to_vec());
        MemoFile {
            traces,
            files,
            completed,
            entries,
        }
    }

    /// Drop stored values that no trace of this build refers to.
    pub fn prune(&self) -> Result<()> {
        let Some(store) = self.store() else {
            return Ok(());
        };
        let used: HashSet<[u8; 32]> = self
            .current
            .lock()
            .unwrap()
            .values()
            .map(|t| t.value)
            .collect();
        store.retain_values(&used)
    }
}
