//! The commands: configuration and flags in, work done, an exit code out.

use crate::cli::{
    BuildArgs, CacheArgs, Cli, Command, CommonArgs, DeployArgs, EmbedArgs, ProgressArg, ServeArgs,
    StatusArgs, WorkArgs,
};
use crate::config::{Config, Overrides};
use crate::engine::{self, Options};
use crate::error::{Doing, Error, IoContext, Result};
use crate::progress::{Mode, Progress};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Build(args) => build_command(args),
        Command::Status(args) => status_command(args),
        Command::Check(args) => check_command(args),
        Command::Clean(args) => clean_command(args),
        Command::Init(args) => init_command(args),
        Command::Serve(args) => serve_command(args),
        Command::Embed(args) => embed_command(args),
        Command::Cache(args) => cache_command(args),
        Command::Deploy(args) => deploy_command(args),
        Command::Fixture(args) => {
            crate::fixture::write(&args.dir, args.poems, args.dim, args.seed, args.companions)?;
            println!(
                "wrote a collection of {} poems ({} dimensions) to {}",
                args.poems,
                args.dim,
                args.dir.display()
            );
            Ok(0)
        }
    }
}

fn config_path(dir: &Option<PathBuf>, config: &Option<PathBuf>) -> PathBuf {
    match config {
        Some(c) => c.clone(),
        None => dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("verso.toml"),
    }
}

pub(crate) fn load_config(common: &CommonArgs, threads: Option<usize>) -> Result<Config> {
    let config = Config::load(
        &config_path(&common.dir, &common.config),
        &Overrides {
            output: common.out.clone(),
            cache: common.cache.clone(),
            threads,
        },
    )?;
    if config.defaulted {
        eprintln!(
            "note: no {} here: every key takes its default (`verso init` writes one to edit)",
            config.file.display()
        );
    }
    Ok(config)
}

pub(crate) fn thread_pool(threads: usize) {
    if threads > 0 {
        // Only fails when a pool exists already (tests calling run twice).
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
}

/// SIGINT and SIGTERM set the flag; a second one exits at once with 130.
pub(crate) fn cancel_on_signals() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&flag)))
            .map_err(|e| Error::Failed(format!("cannot install the signal handler: {e}")))?;
    }
    Ok(flag)
}

fn build_command(args: BuildArgs) -> Result<i32> {
    let config = load_config(&args.common, args.work.threads)?;
    thread_pool(config.threads);
    let mode = progress_mode(&args.work);
    let progress = Arc::new(Progress::new(
        mode,
        config.update_hz,
        config.show_current_poem,
    ));
    let cancel = cancel_on_signals()?;
    let options = Options {
        force: args.force,
        summary_json: args.summary_json,
        changes: args.changes,
        delta: args.delta.clone(),
        ..Options::default()
    };
    let index = config.output.join("index.html");
    let summary = engine::build(config, &options, &progress, &cancel)?;
    print!("{}", engine::summary_text(&summary));
    if summary.interrupted {
        return Ok(130);
    }
    match args.delta {
        Some(dir) => println!("the changed pages are in {}", dir.display()),
        None => println!("open {}", index.display()),
    }
    Ok(0)
}

fn deploy_command(args: DeployArgs) -> Result<i32> {
    let config = load_config(&args.common, args.work.threads)?;
    thread_pool(config.threads);
    let progress = Arc::new(Progress::new(
        progress_mode(&args.work),
        config.update_hz,
        config.show_current_poem,
    ));
    let cancel = cancel_on_signals()?;
    let request = crate::deploy::Request {
        to: args.to,
        dry_run: args.dry_run,
        max_deletes: args.max_deletes,
        verify: args.verify,
    };
    let report = crate::deploy::deploy(config, &request, &progress, &cancel)?;
    print!("{}", crate::deploy::report::text(&report, args.dry_run));
    Ok(if report.interrupted {
        130
    } else if report.failed() {
        1
    } else {
        0
    })
}

/// The display `--progress` and `--quiet` ask for.
fn progress_mode(work: &WorkArgs) -> Mode {
    if work.quiet {
        return Mode::Quiet;
    }
    match work.progress {
        ProgressArg::Auto => Mode::detect(),
        ProgressArg::Tty => Mode::Tty,
        ProgressArg::Plain => Mode::Plain,
        ProgressArg::None => Mode::None,
    }
}

fn embed_command(args: EmbedArgs) -> Result<i32> {
    let config = load_config(&args.common, args.work.threads)?;
    thread_pool(config.threads);
    let progress = Progress::new(
        progress_mode(&args.work),
        config.update_hz,
        config.show_current_poem,
    );
    let cancel = cancel_on_signals()?;
    let (corpus, vectors) = engine::embed_poems(config, &progress, &cancel)?;
    if let Some(file) = args.export {
        let embeddings: Vec<serde_json::Value> = corpus
            .poems
            .iter()
            .enumerate()
            .map(|(row, poem)| serde_json::json!({"id": poem.index, "embedding": vectors.row(row)}))
            .collect();
        let text = serde_json::to_string(&serde_json::json!({ "embeddings": embeddings }))
            .expect("vectors serialise");
        let partial = file.with_extension("verso-tmp");
        std::fs::write(&partial, text + "\n").at(Doing::WritingFile, &partial)?;
        std::fs::rename(&partial, &file).at(Doing::WritingFile, &file)?;
        println!(
            "wrote {} vectors of {} dimensions to {}",
            vectors.rows(),
            vectors.dim,
            file.display()
        );
    }
    Ok(0)
}

fn serve_command(args: ServeArgs) -> Result<i32> {
    let mode = progress_mode(&args.work);
    crate::serve::serve(crate::serve::Settings {
        common: args.common,
        threads: args.work.threads,
        mode,
        address: std::net::SocketAddr::new(args.bind, args.port),
    })
}

fn status_command(args: StatusArgs) -> Result<i32> {
    let config = load_config(&args.common, None)?;
    let progress = Progress::new(Mode::Quiet, 1, false);
    // A path inside the output folder names the same target.
    let explain = args
        .explain
        .as_deref()
        .map(|p| target_path(&config.output, p));
    use engine::status::Explain;
    let which = match (&explain, args.explain_all) {
        (Some(path), _) => Explain::One(path),
        (None, true) => Explain::Stale,
        (None, false) => Explain::None,
    };
    let status = engine::status::status(config, &progress, which)?;
    if let Some(warning) = &status.warning {
        eprintln!("{warning}");
    }
    if args.explain_all {
        for (path, reason) in status.all_stale() {
            println!("{path}: {reason}");
        }
        return Ok(0);
    }
    match explain {
        Some(path) => match status.explain(&path) {
            Some(reason) => println!("{path}: {reason}"),
            None => {
                println!("{path}: not a target of this site");
                return Ok(1);
            }
        },
        None => print!("{}", status.table()),
    }
    Ok(0)
}

fn check_command(args: CommonArgs) -> Result<i32> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let config_file = config_path(&args.dir, &args.config);
    // A collection folder (a verso.toml, or poems.json and the defaults):
    // check its output and cache; a site folder: the site.
    let collection = args.config.is_some()
        || config_file.exists()
        || (dir.join("poems.json").is_file() && !dir.join("index.html").is_file());
    let (site, cache, base_url) = if collection {
        let config = load_config(&args, None)?;
        (config.output, Some(config.cache), config.base_url)
    } else {
        (args.out.unwrap_or(dir), args.cache, None)
    };
    if !site.join("index.html").is_file() {
        return Err(Error::Usage(format!(
            "{} holds no built site (no index.html)",
            site.display()
        )));
    }
    let report = crate::check::check(&site, cache.as_deref(), base_url.as_deref())?;
    for problem in &report.problems {
        println!("{problem}");
    }
    println!(
        "checked {} pages, {} links: {} problem(s)",
        report.pages,
        report.links,
        report.problems.len()
    );
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}

/// An output path as `status --explain` names it, relative to the output
/// folder; one given with the output folder in front loses it.
fn target_path(output: &Path, given: &str) -> String {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match absolute(Path::new(given)).strip_prefix(absolute(output)) {
        Ok(inside) => inside.to_string_lossy().replace('\\', "/"),
        Err(_) => given.trim_start_matches("./").to_string(),
    }
}

fn cache_command(args: CacheArgs) -> Result<i32> {
    let config = load_config(&args.common, None)?;
    let dir = &config.cache;
    if !engine::cache_dir::has_store(dir) {
        println!("no verso cache in {}", dir.display());
        return Ok(0);
    }
    if let Some(limit) = args.max_size {
        let pruned = engine::gc::prune(dir, limit.as_u64())?;
        println!(
            "removed {}: {} store(s) set aside, {} vector(s) of earlier texts",
            size(pruned.bytes),
            pruned.stores,
            pruned.vectors
        );
    }
    let usage = engine::gc::usage(dir)?;
    println!("{}: {}", dir.display(), size(usage.total));
    let now = crate::embed::cache::unix_seconds();
    for part in &usage.parts {
        let state = match part.kind {
            engine::gc::Kind::InUse => "read by the next build".to_string(),
            engine::gc::Kind::SetAside => "never read again".to_string(),
            engine::gc::Kind::Earlier { oldest_use: 0 } => "kept for undone edits".to_string(),
            engine::gc::Kind::Earlier { oldest_use } => format!(
                "kept for undone edits; the oldest last used {} day(s) ago",
                now.saturating_sub(oldest_use) / 86_400
            ),
        };
        println!("  {:>10}  {}: {state}", size(part.bytes), part.what);
    }
    if let Some(limit) = args.max_size {
        if usage.total > limit.as_u64() {
            println!(
                "still over {}: the rest is what the next build reads (`verso clean` removes it all)",
                size(limit.as_u64())
            );
        }
    }
    Ok(0)
}

fn size(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().si().to_string()
}

fn clean_command(args: CommonArgs) -> Result<i32> {
    let config = load_config(&args, None)?;
    let had_cache = engine::cache_dir::has_store(&config.cache);
    let removed = clean(&config.output, &config.cache)?;
    match (removed, had_cache) {
        (_, false) => println!(
            "nothing to clean: {} holds no verso cache, so no file is known to be verso's",
            config.cache.display()
        ),
        (n, true) => println!(
            "removed {n} file(s) verso wrote in {} and the cache {}",
            config.output.display(),
            config.cache.display()
        ),
    }
    Ok(0)
}

fn init_command(args: crate::cli::InitArgs) -> Result<i32> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let file = dir.join("verso.toml");
    if file.exists() {
        return Err(Error::Usage(format!(
            "{} exists already; it was left as it is",
            file.display()
        )));
    }
    std::fs::create_dir_all(&dir).at(Doing::WritingFile, &dir)?;
    std::fs::write(&file, crate::config::TEMPLATE).at(Doing::WritingFile, &file)?;
    println!(
        "wrote {} with every key at its default; put poems.json beside it and run `verso build {}`",
        file.display(),
        dir.display()
    );
    Ok(0)
}

/// Remove every recorded output file, folders left empty, and the cache.
pub fn clean(out: &Path, cache: &Path) -> Result<usize> {
    let mut removed = 0;
    if engine::cache_dir::has_store(cache) {
        let lock = engine::store::CacheLock::acquire(cache, false)?;
        let records = match lock {
            Some(lock) => engine::store::Store::open(lock)?.records,
            None => Default::default(),
        };
        let mut folders = std::collections::BTreeSet::new();
        for path in records.keys() {
            if !crate::corpus::is_contained(path) {
                continue;
            }
            let file = out.join(path);
            if file.is_file() {
                std::fs::remove_file(&file).at(Doing::CleaningSite, &file)?;
                removed += 1;
            }
            let mut dir = Path::new(path).parent();
            while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
                folders.insert(d.to_path_buf());
                dir = d.parent();
            }
        }
        engine::sweep::temporaries(out)?;
        // Deepest first; a folder with files verso did not write stays.
        for folder in folders.iter().rev() {
            let _ = std::fs::remove_dir(out.join(folder));
        }
        let _ = std::fs::remove_dir(out);
    }
    engine::cache_dir::remove_cache(cache)?;
    Ok(removed)
}
