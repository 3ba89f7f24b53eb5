//! The shared remote cache (`remote_cache = "URL"`), a tier behind the
//! local store, through OpenDAL: `s3://bucket/prefix` (with `endpoint` and
//! `region` as query options for S3-compatible stores) or
//! `redis://host:port/prefix`. Credentials come from the environment or
//! the provider's usual files, never from verso, and are never printed.
//!
//! Three kinds of entry, each named by its content or its key:
//! - `v/HASH`: a derived value's bytes (HASH is their BLAKE3 hash);
//! - `t/KEY`: the trace of a rule instance whose fingerprint key is KEY;
//! - `e/KEY`: a vector the model made for a text key.
//!
//! Every entry is framed: a magic line with the format, its own name, the
//! BLAKE3 hash of the payload, then the payload. A read checks all three,
//! and a trace must hold the key asked for: a corrupt entry, or one copied
//! from another prefix, is ignored with a warning and never used.
//!
//! The remote never stops a build. The first failure (an unreachable
//! address, a time-out, a server error) is said once, and the build goes on
//! with the local store alone. Writes go to a bounded queue that one thread
//! drains while pages are written; a full queue drops the write (a later
//! build sends it again), and the build waits for the queue at most
//! `DRAIN` at its end.

use super::rule::Trace;
use opendal::layers::TimeoutLayer;
use opendal::{ErrorKind, Operator};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The first line of every entry.
const MAGIC: &[u8] = b"verso remote cache 1\n";
/// One operation's limit: a slow remote counts as down.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Entries waiting to be written, at most.
const QUEUE: usize = 4096;
/// How long a build waits for its writes at the end.
const DRAIN: Duration = Duration::from_secs(30);
/// Reads in flight at once, for a list of keys.
const READS_IN_FLIGHT: usize = 32;

/// An entry's name and framed bytes, on their way to the remote.
type Entry = (String, Vec<u8>);

/// The schemes this build of verso can reach.
pub const SCHEMES: [&str; 3] = ["s3", "redis", "rediss"];

pub struct Remote {
    operator: Operator,
    runtime: tokio::runtime::Runtime,
    /// The URL as it may be printed: no user, password or query.
    shown: String,
    down: AtomicBool,
    warned_entry: AtomicBool,
    warnings: Mutex<Vec<String>>,
    writes: Mutex<Option<SyncSender<Entry>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Bytes read from and written to the remote, and writes dropped.
    pub read_bytes: AtomicU64,
    pub written_bytes: Arc<AtomicU64>,
    pub dropped: AtomicU64,
    write_failed: Arc<AtomicBool>,
}

/// The URL without what may be secret.
pub fn shown(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => without_query.to_string(),
    }
}

fn frame(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(MAGIC.len() + name.len() + 33 + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(blake3::hash(payload).as_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// The payload of an entry read under `name`, when its frame holds.
fn unframe(name: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let rest = rest.strip_prefix(name.as_bytes())?.strip_prefix(b"\n")?;
    let (hash, payload) = rest.split_at_checked(32)?;
    (blake3::hash(payload).as_bytes()[..] == *hash).then(|| payload.to_vec())
}

/// Redis serves one operation per pooled connection, 10 by default: the
/// pool is sized for the reads in flight, unless the URL says otherwise.
fn pool_size(url: &str) -> Vec<(&'static str, String)> {
    let option = "connection_pool_max_size";
    if url.starts_with("redis") && !url.contains(option) {
        vec![(option, READS_IN_FLIGHT.to_string())]
    } else {
        Vec::new()
    }
}

impl Remote {
    /// Connect lazily to `url`: nothing is sent before the first read.
    pub fn open(url: &str) -> Result<Remote, String> {
        crate::tls::install();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("verso-remote")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let operator = {
            let _entered = runtime.enter();
            Operator::from_uri((url, pool_size(url)))
                .map_err(|e| e.to_string())?
                .layer(
                    TimeoutLayer::new()
                        .with_timeout(TIMEOUT)
                        .with_io_timeout(TIMEOUT),
                )
        };
        let (send, receive) = sync_channel(QUEUE);
        let written = Arc::new(AtomicU64::new(0));
        let write_failed = Arc::new(AtomicBool::new(false));
        let writer = {
            let (operator, handle) = (operator.clone(), runtime.handle().clone());
            let (written, failed) = (Arc::clone(&written), Arc::clone(&write_failed));
            std::thread::spawn(move || write_all(operator, handle, receive, written, failed))
        };
        Ok(Remote {
            operator,
            runtime,
            shown: shown(url),
            down: AtomicBool::new(false),
            warned_entry: AtomicBool::new(false),
            warnings: Mutex::new(Vec::new()),
            writes: Mutex::new(Some(send)),
            writer: Mutex::new(Some(writer)),
            read_bytes: AtomicU64::new(0),
            written_bytes: written,
            dropped: AtomicU64::new(0),
            write_failed,
        })
    }

    /// Warnings to show (each said once), taken.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut self.warnings.lock().unwrap())
    }

    fn fail(&self, e: &opendal::Error) {
        if !self.down.swap(true, Ordering::Relaxed) {
            let reason = e.kind();
            self.warnings.lock().unwrap().push(format!(
                "warning: the remote cache {} did not answer ({reason}); the build goes on with the local cache",
                self.shown
            ));
        }
    }

    fn bad_entry(&self, name: &str) {
        if !self.warned_entry.swap(true, Ordering::Relaxed) {
            self.warnings.lock().unwrap().push(format!(
                "warning: the remote cache {} holds a damaged or foreign entry ({name}); it is ignored, and so is any other",
                self.shown
            ));
        }
    }

    /// Read entries, several in flight at once.
    fn read_many(&self, names: &[String]) -> Vec<Option<Vec<u8>>> {
        if self.down.load(Ordering::Relaxed) {
            return vec![None; names.len()];
        }
        let results = self.runtime.block_on(async {
            use futures_util::stream::{self, StreamExt};
            stream::iter(names.iter().map(|name| self.operator.read(name)))
                .buffered(READS_IN_FLIGHT)
                .collect::<Vec<_>>()
                .await
        });
        names
            .iter()
            .zip(results)
            .map(|(name, result)| match result {
                Ok(buffer) => {
                    let bytes = buffer.to_vec();
                    self.read_bytes
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    let payload = unframe(name, &bytes);
                    if payload.is_none() {
                        self.bad_entry(name);
                    }
                    payload
                }
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => {
                    self.fail(&e);
                    None
                }
            })
            .collect()
    }

    /// Queue an entry to be written; dropped when the queue is full.
    fn write(&self, name: String, payload: &[u8]) {
        if self.down.load(Ordering::Relaxed) {
            return;
        }
        let bytes = frame(&name, payload);
        if let Some(send) = &*self.writes.lock().unwrap() {
            if send.try_send((name, bytes)).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Entries named `name(key)` for each key, several in flight; each
    /// payload `decode` rejects is a damaged or foreign entry, ignored.
    fn read_checked<T>(
        &self,
        keys: &[[u8; 32]],
        name: fn(&[u8; 32]) -> String,
        decode: impl Fn(&[u8; 32], Vec<u8>) -> Option<T>,
    ) -> Vec<Option<T>> {
        let names: Vec<String> = keys.iter().map(name).collect();
        let payloads = self.read_many(&names);
        (names.iter().zip(keys).zip(payloads))
            .map(|((name, key), payload)| {
                let decoded = decode(key, payload?);
                if decoded.is_none() {
                    self.bad_entry(name);
                }
                decoded
            })
            .collect()
    }

    /// Derived values' bytes by their hashes, each checked against its hash.
    pub fn values(&self, hashes: &[[u8; 32]]) -> Vec<Option<Vec<u8>>> {
        self.read_checked(hashes, value_name, |hash, bytes| {
            (blake3::hash(&bytes).as_bytes() == hash).then_some(bytes)
        })
    }

    pub fn put_value(&self, hash: &[u8; 32], bytes: &[u8]) {
        self.write(value_name(hash), bytes);
    }

    /// The traces of the instances whose keys are `keys`.
    pub fn traces(&self, keys: &[[u8; 32]]) -> Vec<Option<Trace>> {
        self.read_checked(keys, trace_name, |key, bytes| {
            postcard::from_bytes::<Trace>(&bytes)
                .ok()
                .filter(|trace| trace.key == *key)
        })
    }

    pub fn put_trace(&self, trace: &Trace) {
        self.write(
            trace_name(&trace.key),
            &postcard::to_stdvec(trace).expect("traces serialise"),
        );
    }

    /// The vectors of `keys` that the remote holds.
    pub fn vectors(&self, keys: &[[u8; 32]]) -> HashMap<[u8; 32], Vec<f32>> {
        let vectors = self.read_checked(keys, vector_name, |_, bytes| {
            (!bytes.is_empty() && bytes.len() % 4 == 0).then(|| {
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                    .collect()
            })
        });
        (keys.iter().zip(vectors))
            .filter_map(|(key, vector)| Some((*key, vector?)))
            .collect()
    }

    pub fn put_vector(&self, key: &[u8; 32], vector: &[f32]) {
        let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.write(vector_name(key), &bytes);
    }

    /// Wait for the queued writes, at most `DRAIN`; a warning when some
    /// were not written.
    pub fn finish(&self) {
        drop(self.writes.lock().unwrap().take());
        let Some(writer) = self.writer.lock().unwrap().take() else {
            return;
        };
        let start = Instant::now();
        while !writer.is_finished() && start.elapsed() < DRAIN {
            std::thread::sleep(Duration::from_millis(5));
        }
        let dropped = self.dropped.load(Ordering::Relaxed);
        let failed = self.write_failed.load(Ordering::Relaxed);
        if !writer.is_finished() || dropped > 0 || failed {
            self.warnings.lock().unwrap().push(format!(
                "warning: some entries were not sent to the remote cache {}; a later build sends them",
                self.shown
            ));
        }
    }
}

fn value_name(hash: &[u8; 32]) -> String {
    format!("v/{}", blake3::Hash::from(*hash).to_hex())
}

fn trace_name(key: &[u8; 32]) -> String {
    format!("t/{}", blake3::Hash::from(*key).to_hex())
}

fn vector_name(key: &[u8; 32]) -> String {
    format!("e/{}", blake3::Hash::from(*key).to_hex())
}

/// The writer thread: one entry at a time, until the queue closes; after a
/// failure it only empties the queue.
fn write_all(
    operator: Operator,
    runtime: tokio::runtime::Handle,
    receive: Receiver<Entry>,
    written: Arc<AtomicU64>,
    failed: Arc<AtomicBool>,
) {
    for (name, bytes) in receive {
        if failed.load(Ordering::Relaxed) {
            continue;
        }
        let size = bytes.len() as u64;
        match runtime.block_on(operator.write(&name, bytes)) {
            Ok(_) => {
                written.fetch_add(size, Ordering::Relaxed);
            }
            Err(_) => failed.store(true, Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shown_url_has_no_secrets() {
        assert_eq!(
            shown("s3://bucket/prefix?endpoint=http://h:9000&secret_access_key=S"),
            "s3://bucket/prefix"
        );
        assert_eq!(
            shown("redis://user:pw@127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
    }

    #[test]
    fn an_entry_is_used_only_under_its_own_name_and_intact() {
        let bytes = frame("v/abc", b"payload");
        assert_eq!(unframe("v/abc", &bytes).as_deref(), Some(&b"payload"[..]));
        assert_eq!(unframe("v/abd", &bytes), None, "another entry's");
        let mut damaged = bytes.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(unframe("v/abc", &damaged), None);
        assert_eq!(unframe("v/abc", b"payload"), None, "no frame");
    }
}
