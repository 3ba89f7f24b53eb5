//! `verso serve`: build, serve the output folder over HTTP, and on every
//! saved input rebuild incrementally and reload the open pages it changed.
//!
//! Three threads of control share one [`Live`] state:
//! - the builder (this module): the first build, then one build per
//!   debounced batch of input changes, never two at once;
//! - the watcher ([`watch`]): notify events on the inputs, filtered;
//! - the HTTP server ([`http`]): files of the last good site, with a
//!   reload script injected into HTML responses, and an event stream that
//!   tells each open page to reload or to show the build's error.
//!
//! Ctrl-C stops a build in flight the way `verso build` stops (its store
//! stays consistent), then the server, and exits 130.

mod files;
mod http;
mod watch;

use crate::cli::CommonArgs;
use crate::config::Config;
use crate::engine::{self, Options, Summary};
use crate::error::{Error, Result};
use crate::progress::{Mode, Progress};
use crate::run::{cancel_on_signals, load_config, thread_pool};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;

/// What `verso serve` was asked for.
pub struct Settings {
    pub common: CommonArgs,
    pub threads: Option<usize>,
    pub mode: Mode,
    pub address: SocketAddr,
}

/// What a build changed, as the open pages see it.
#[derive(Debug, Clone)]
pub enum Change {
    /// A build finished: the output paths it wrote or removed.
    Built(Arc<HashSet<String>>),
    /// A build failed: the error as the terminal showed it.
    Failed(Arc<str>),
}

/// The state the builder publishes and the server reads.
pub struct Live {
    /// The output folder of the last good build.
    pub root: RwLock<PathBuf>,
    /// The error of the last build, while the input stays bad.
    pub failure: RwLock<Option<Arc<str>>>,
    pub changes: broadcast::Sender<Change>,
}

impl Live {
    fn publish(&self, change: Change) {
        *self.failure.write().expect("failure lock") = match &change {
            Change::Failed(text) => Some(Arc::clone(text)),
            Change::Built(_) => None,
        };
        // No open page is no error.
        let _ = self.changes.send(change);
    }
}

pub fn serve(settings: Settings) -> Result<i32> {
    let config = load_config(&settings.common, settings.threads)?;
    thread_pool(config.threads);
    // The port first: a taken port is known before a long build.
    let listener = bind(settings.address)?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::Failed(format!("cannot read the listening address: {e}")))?;
    let cancel = cancel_on_signals()?;
    let live = Arc::new(Live {
        root: RwLock::new(config.output.clone()),
        failure: RwLock::new(None),
        changes: broadcast::channel(64).0,
    });
    let mut watch = watch::Watch::new()?;
    watch.follow(&config);
    let builder = Builder {
        settings: &settings,
        live: &live,
        cancel: &cancel,
    };
    if let Outcome::Stopped = builder.build(Some(config)) {
        return Ok(130);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the HTTP server: {e}")))?;
    let server = {
        let _context = runtime.enter();
        http::start(listener, Arc::clone(&live))?
    };
    println!(
        "serving {} at {} (Ctrl-C stops)",
        live.root.read().expect("root lock").display(),
        url(address)
    );
    while let Some(changed) = watch.wait(&cancel) {
        println!("changed: {}; rebuilding", changed.display());
        match builder.build(None) {
            Outcome::Good(config) => watch.follow(&config),
            Outcome::Bad => {}
            Outcome::Stopped => break,
        }
    }
    server.abort();
    runtime.shutdown_timeout(Duration::from_secs(1));
    println!("stopped");
    Ok(130)
}

fn bind(address: SocketAddr) -> Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(address).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => Error::Usage(format!(
            "{address} is already in use by another program; choose another port with --port N"
        )),
        _ => Error::Usage(format!("cannot listen on {address}: {e}")),
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Failed(format!("cannot listen on {address}: {e}")))?;
    Ok(listener)
}

/// The address to open: a wildcard bind is reached through loopback.
fn url(address: SocketAddr) -> String {
    let host = match address.ip() {
        ip if ip.is_unspecified() => "localhost".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}/", address.port())
}

/// How a build ended.
enum Outcome {
    /// Built and published; the watcher follows this configuration's paths.
    Good(Box<Config>),
    /// Bad input: shown, and the last good site kept.
    Bad,
    /// Ctrl-C.
    Stopped,
}

/// One build at a time, with the settings `verso serve` was given.
struct Builder<'a> {
    settings: &'a Settings,
    live: &'a Live,
    cancel: &'a AtomicBool,
}

impl Builder<'_> {
    /// Build (reloading the configuration unless given) and publish the
    /// outcome.
    fn build(&self, config: Option<Config>) -> Outcome {
        let loaded = match config {
            Some(c) => Ok(c),
            None => load_config(&self.settings.common, self.settings.threads),
        };
        let result = loaded.and_then(|config| {
            let output = config.output.clone();
            let progress = Arc::new(Progress::new(
                self.settings.mode,
                config.update_hz,
                config.show_current_poem,
            ));
            let summary =
                engine::build(config.clone(), &Options::default(), &progress, self.cancel)?;
            Ok((config, output, summary))
        });
        if self.cancel.load(Ordering::Relaxed) {
            return Outcome::Stopped;
        }
        match result {
            Ok((config, output, summary)) => {
                println!("{}", summary_line(&summary));
                *self.live.root.write().expect("root lock") = output;
                let paths = summary.written_paths.iter().chain(&summary.removed_paths);
                self.live
                    .publish(Change::Built(Arc::new(paths.cloned().collect())));
                Outcome::Good(Box::new(config))
            }
            Err(e) => {
                let mut text = e.to_string();
                if let Some(hint) = e.hint() {
                    text.push_str(&format!("\n  hint: {hint}"));
                }
                eprintln!("error: {text}");
                eprintln!("still serving the last good site; save a fix to rebuild");
                self.live.publish(Change::Failed(text.into()));
                Outcome::Bad
            }
        }
    }
}

fn summary_line(summary: &Summary) -> String {
    format!(
        "built: {} written, {} up to date, {} removed in {:.2} s",
        summary.written(),
        summary.up_to_date(),
        summary.removed(),
        summary.seconds
    )
}
