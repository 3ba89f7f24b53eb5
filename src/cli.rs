//! The command line (clap definitions only).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "verso",
    version,
    about = "An incremental build system for a poetry website",
    after_help = "Start a collection: `verso init DIR`, put poems.json (and embeddings.json) in DIR,\nthen `verso build DIR` and open DIR/site/index.html. The README describes every\ninput field and configuration key."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the site of the collection in DIR (default: the current folder).
    Build(BuildArgs),
    /// Say what a build would do, without doing it.
    Status(StatusArgs),
    /// Check a built site: links, anchors, line widths, recorded hashes.
    /// DIR may also be a built site folder itself.
    Check(CommonArgs),
    /// Remove what verso wrote, and its cache.
    Clean(CommonArgs),
    /// Write a synthetic collection for tests and benchmarks.
    Fixture(FixtureArgs),
    /// Write a commented verso.toml with every key at its default.
    Init(InitArgs),
    /// Embed every poem with the `[model]` of verso.toml (what the cache of
    /// vectors lacks), and optionally write the vectors to a file.
    Embed(EmbedArgs),
    /// Say what the cache holds and how large it is; with --max-size,
    /// remove what no build needs, least recently used first, until it fits.
    Cache(CacheArgs),
    /// Build, serve the site over HTTP, and rebuild and reload open pages
    /// whenever an input is saved.
    Serve(ServeArgs),
    /// Build, then publish the site: send the files the host does not hold
    /// as built, and delete those the site no longer has.
    Deploy(DeployArgs),
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Where the site lives (over `[deploy] to`): a folder,
    /// s3://bucket/prefix, webdav+https://host/path, neocities://neocities.org.
    #[arg(long, value_name = "TARGET")]
    pub to: Option<String>,
    /// Print what would be sent and deleted; build nothing, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete nothing when more than N files would go (over `[deploy]
    /// max_deletes`).
    #[arg(long, value_name = "N")]
    pub max_deletes: Option<usize>,
    /// List the host and also send every file that differs from what verso
    /// recorded (changed or deleted there by hand).
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub work: WorkArgs,
}

#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Write `{"embeddings":[{"id":POEM_INDEX,"embedding":[...]}]}`, in
    /// poems.json order.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    #[command(flatten)]
    pub work: WorkArgs,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Prune to this size: 500MB, 2GiB, or bytes. Stores set aside go
    /// first, then vectors of earlier texts, least recently used first;
    /// what the next build reads is kept.
    #[arg(long, value_name = "SIZE")]
    pub max_size: Option<bytesize::ByteSize>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The port to listen on (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    #[command(flatten)]
    pub work: WorkArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The collection's folder (default: the current folder).
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// The folder with verso.toml.
    pub dir: Option<PathBuf>,
    /// The configuration file (instead of DIR/verso.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The output folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The cache folder.
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

/// How a command that builds works and shows it (build, embed, serve).
#[derive(Debug, Args)]
pub struct WorkArgs {
    /// Worker threads (0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressArg,
    /// Print errors and the summary only.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    Auto,
    Tty,
    Plain,
    None,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub work: WorkArgs,
    /// Ignore the cache.
    #[arg(long)]
    pub force: bool,
    /// Write counts per family and stage times as JSON.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Write the paths written (+) and removed (-), one a line.
    #[arg(long)]
    pub changes: Option<PathBuf>,
    /// Write only the pages that changed, into DIR: the cache stands for the
    /// deployed site, which need not be on disk.
    #[arg(long, value_name = "DIR")]
    pub delta: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Say why one output path is stale.
    #[arg(long, value_name = "PATH")]
    pub explain: Option<String>,
    /// Say why each target a build would write or remove, one a line.
    #[arg(long, conflicts_with = "explain")]
    pub explain_all: bool,
}

#[derive(Debug, Args)]
pub struct FixtureArgs {
    /// Number of poems.
    #[arg(long, default_value_t = 300)]
    pub poems: usize,
    /// Embedding dimension.
    #[arg(long, default_value_t = 32)]
    pub dim: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write word_embeddings.json and color_embeddings.json.
    #[arg(long)]
    pub companions: bool,
    /// Where to write the collection.
    pub dir: PathBuf,
}
