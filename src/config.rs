//! `verso.toml`: every key optional, with the defaults the README's
//! *Configuration* lists (and `verso init` writes), unknown keys and
//! out-of-range values rejected by name, relative paths resolved against the
//! file's folder, and command-line overrides applied on top.

use crate::error::{Doing, Error, InputError, Location, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `verso init` writes: every key at its default, with what it means.
pub const TEMPLATE: &str = r#"# verso.toml: the configuration of a verso collection. Every key is optional
# and shows its default; relative paths are relative to this file.

title = "Poems"                      # the site's name: the menu's heading and every page's <title>
base_url = ""                        # the site's public address, e.g. "https://example.neocities.org/":
                                     # feed.xml and sitemap.xml need absolute addresses, so without it
                                     # neither is written
poems = "poems.json"                 # the poems (see the README for the format)
embeddings = "embeddings.json"       # one vector per poem; when the file is absent, the built-in
                                     # lexical embedder (hashed TF-IDF of the words) is used
word_embeddings = ""                 # optional vectors of words, for the word pages; "" = none
color_embeddings = ""                # optional vectors of the colour names, for the colours; "" = none
media = "media"                      # where the attachments' relative paths start
output = "site"                      # where the site is written
cache = ".verso-cache"               # verso's cache: keep it between builds (and in CI)
remote_cache = ""                    # a cache shared by machines, behind the local one: "" = none,
                                     # "s3://bucket/prefix" or "redis://host:6379/prefix"
templates = ""                       # a folder of *.hbs files overriding the built-in templates

[pages]
poems_per_page = 200                 # entries on each similar and different page (about 300 KB at 200)
pages_per_poem = 1                   # similar and different pages per poem ...
storage_limit_gb = 0                 # ... or, when > 0, the most pages per poem that fit this many GB
chronological_per_page = 500         # poems on each chronological page

[wordcloud]
max_words = 200                      # words in the menu's cloud
min_occurrences = 5                  # a word must occur this often to be in it
min_word_length = 3                  # and be this long
word_poems = 50                      # poems on each word's page
seed = 1                             # the cloud's shuffle
stop_words = []                      # words left out, besides the built-in English list

[colors]                             # association words per colour; unset keeps the built-in list
# red = ["fire", "blood", "passion", "anger", "rose", "heat", "flame", "love"]
# blue = ["sea", "sky", "water", "ocean", "rain", "cold", "blue", "river"]
# green = ["tree", "leaf", "grass", "forest", "spring", "garden", "growth", "green"]
# purple = ["dream", "night", "mystery", "magic", "royal", "violet", "dusk", "spirit"]
# orange = ["autumn", "sunset", "warmth", "orange", "harvest", "glow", "amber", "ember"]
# yellow = ["sun", "light", "gold", "joy", "morning", "bright", "summer", "day"]
# gray = ["stone", "ash", "dust", "fog", "silence", "shadow", "winter", "grief"]

[timeline]
end = "month"                        # the bars end at the month after the newest poem's ("month"),
                                     # at the year after it ("year": the bars move once a year),
                                     # or at the newest poem ("newest": every new poem moves every bar);
                                     # chains and colours choose among the poems before the newest
                                     # poem's month or year ("newest": among all)

[build]
threads = 0                          # worker threads; 0 = all cores
checkpoint_interval = 100            # pages between saves of the cache

[feed]
poems = 50                           # the newest poems in feed.xml (written only with base_url)

[progress]
update_hz = 10                       # redraws a second on a terminal
show_current_poem = true             # show the first words of the poem being written

[model]                              # a model that makes every vector inside the build (README)
path = ""                            # a local sentence-transformers folder, run in-process, or
server = ""                          # a server: "ollama" (POST /api/embed) or "openai" (POST /v1/embeddings)
url = ""                             # the server's address ("" = http://127.0.0.1:11434 for ollama)
name = ""                            # the model's name on the server
batch = 32                           # texts per request or per model run
revision = ""                        # change it when the server's model changed: everything is re-embedded

[deploy]                             # `verso deploy`: where the site lives (README, "Deploying")
to = ""                              # a folder, s3://bucket/prefix, webdav+https://host/path or
                                     # neocities://neocities.org; --to overrides it
max_deletes = 256                    # more deletions than this: delete nothing, say so, exit 1
protect = []                         # globs of paths on the host that are never deleted or overwritten
"#;

/// The seven semantic colours, in the order of the README's `[colours]`
/// table (ties resolve in this order).
pub const COLOUR_NAMES: [&str; 7] = ["red", "blue", "green", "purple", "orange", "yellow", "gray"];
pub const COLOUR_HEX: [&str; 7] = [
    "#dc3c3c", "#3c78dc", "#3cb45a", "#8c3cc8", "#e68c3c", "#c8b428", "#787878",
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub title: String,
    pub base_url: String,
    pub poems: String,
    pub embeddings: String,
    pub word_embeddings: String,
    pub color_embeddings: String,
    pub media: String,
    pub output: String,
    pub cache: String,
    pub remote_cache: String,
    pub templates: String,
    pub pages: Pages,
    pub wordcloud: WordCloud,
    pub colors: Colours,
    pub timeline: TimelineSettings,
    pub feed: FeedSettings,
    pub build: BuildSettings,
    pub progress: ProgressSettings,
    pub model: ModelSettings,
    pub deploy: DeploySettings,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            title: "Poems".into(),
            base_url: String::new(),
            poems: "poems.json".into(),
            embeddings: "embeddings.json".into(),
            word_embeddings: String::new(),
            color_embeddings: String::new(),
            media: "media".into(),
            output: "site".into(),
            cache: ".verso-cache".into(),
            remote_cache: String::new(),
            templates: String::new(),
            pages: Pages::default(),
            wordcloud: WordCloud::default(),
            colors: Colours::default(),
            timeline: TimelineSettings::default(),
            feed: FeedSettings::default(),
            build: BuildSettings::default(),
            progress: ProgressSettings::default(),
            model: ModelSettings::default(),
            deploy: DeploySettings::default(),
        }
    }
}

/// `[feed]`: the Atom feed of the newest poems.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FeedSettings {
    pub poems: i64,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings { poems: 50 }
    }
}

/// `[deploy]`: where `verso deploy` sends the site.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeploySettings {
    pub to: String,
    pub max_deletes: i64,
    pub protect: Vec<String>,
}

impl Default for DeploySettings {
    fn default() -> Self {
        DeploySettings {
            to: String::new(),
            max_deletes: 256,
            protect: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Pages {
    pub poems_per_page: i64,
    pub pages_per_poem: i64,
    pub storage_limit_gb: f64,
    pub chronological_per_page: i64,
}

impl Default for Pages {
    fn default() -> Self {
        Pages {
            poems_per_page: 200,
            pages_per_poem: 1,
            storage_limit_gb: 0.0,
            chronological_per_page: 500,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WordCloud {
    pub max_words: i64,
    pub min_occurrences: i64,
    pub min_word_length: i64,
    pub word_poems: i64,
    pub seed: u64,
    pub stop_words: Vec<String>,
}

impl Default for WordCloud {
    fn default() -> Self {
        WordCloud {
            max_words: 200,
            min_occurrences: 5,
            min_word_length: 3,
            word_poems: 50,
            seed: 1,
            stop_words: Vec::new(),
        }
    }
}

/// Association words per colour; `None` keeps the built-in list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Colours {
    pub red: Option<Vec<String>>,
    pub blue: Option<Vec<String>>,
    pub green: Option<Vec<String>>,
    pub purple: Option<Vec<String>>,
    pub orange: Option<Vec<String>>,
    pub yellow: Option<Vec<String>>,
    pub gray: Option<Vec<String>>,
}

const DEFAULT_COLOUR_WORDS: [&[&str]; 7] = [
    &[
        "fire", "blood", "passion", "anger", "rose", "heat", "flame", "love",
    ],
    &[
        "sea", "sky", "water", "ocean", "rain", "cold", "blue", "river",
    ],
    &[
        "tree", "leaf", "grass", "forest", "spring", "garden", "growth", "green",
    ],
    &[
        "dream", "night", "mystery", "magic", "royal", "violet", "dusk", "spirit",
    ],
    &[
        "autumn", "sunset", "warmth", "orange", "harvest", "glow", "amber", "ember",
    ],
    &[
        "sun", "light", "gold", "joy", "morning", "bright", "summer", "day",
    ],
    &[
        "stone", "ash", "dust", "fog", "silence", "shadow", "winter", "grief",
    ],
];

impl Colours {
    /// The association words of each colour, in `COLOUR_NAMES` order.
    pub fn words(&self) -> Vec<Vec<String>> {
        let configured = [
            &self.red,
            &self.blue,
            &self.green,
            &self.purple,
            &self.orange,
            &self.yellow,
            &self.gray,
        ];
        configured
            .iter()
            .zip(DEFAULT_COLOUR_WORDS)
            .map(|(given, default)| match given {
                Some(words) => words.iter().map(|w| w.to_lowercase()).collect(),
                None => default.iter().map(|w| w.to_string()).collect(),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TimelineSettings {
    pub end: String,
}

impl Default for TimelineSettings {
    fn default() -> Self {
        TimelineSettings {
            end: "month".into(),
        }
    }
}

/// Where the timeline bars end (`[timeline] end`; the README's *Month,
/// year or newest*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TimelineEnd {
    /// The first instant (UTC) of the month after the newest poem's month:
    /// a poem added within that month moves no other bar.
    Month,
    /// The first instant (UTC) of the year after the newest poem's year.
    Year,
    /// The newest poem's time (the original generator's rule).
    Newest,
}

/// `[model]`: a model that makes every vector inside the build.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSettings {
    pub path: String,
    pub server: String,
    pub url: String,
    pub name: String,
    pub batch: i64,
    pub revision: String,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            path: String::new(),
            server: String::new(),
            url: String::new(),
            name: String::new(),
            batch: 32,
            revision: String::new(),
        }
    }
}

/// The two server APIs verso speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerApi {
    /// `POST /api/embed`.
    Ollama,
    /// `POST /v1/embeddings` (also served by llama.cpp, vLLM, TEI, LM Studio).
    OpenAi,
}

/// Where vectors come from when `[model]` is set.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    Local(PathBuf),
    Server {
        api: ServerApi,
        url: String,
        name: String,
        revision: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub source: ModelSource,
    pub batch: usize,
}

impl ModelSettings {
    /// `None` without `path` or `server`; errors name the key.
    fn validate(&self, file: &Path, root: &Path) -> Result<Option<ModelConfig>> {
        let at = |key: &str| Location::file(file).field(format!("model.{key}"));
        let source = match (self.path.is_empty(), self.server.as_str()) {
            (true, "") => return Ok(None),
            (false, "") => {
                let path = root.join(&self.path);
                if !path.join("config.json").is_file() {
                    return Err(InputError::new(
                        at("path"),
                        format!("{} is not a model folder (no config.json)", path.display()),
                    )
                    .hint("point `model.path` at a sentence-transformers folder (config.json, model.safetensors, tokenizer.json, modules.json)")
                    .into());
                }
                ModelSource::Local(path)
            }
            (false, _) => {
                return Err(
                    InputError::new(at("server"), "`path` and `server` exclude each other")
                        .hint("keep `model.path` for a local model, or `model.server` for a server")
                        .into(),
                )
            }
            (true, server) => {
                let api = match server {
                    "ollama" => ServerApi::Ollama,
                    "openai" => ServerApi::OpenAi,
                    other => {
                        return Err(range_error(
                            file,
                            "model.server",
                            format!("{other:?}"),
                            "\"ollama\" or \"openai\"",
                        ))
                    }
                };
                let url = match (self.url.as_str(), api) {
                    ("", ServerApi::Ollama) => "http://127.0.0.1:11434".to_string(),
                    ("", ServerApi::OpenAi) => {
                        return Err(InputError::new(
                            at("url"),
                            "an openai server needs its address",
                        )
                        .hint("set `model.url`, for example \"http://127.0.0.1:8080\"")
                        .into())
                    }
                    (url, _) if url.starts_with("http://") || url.starts_with("https://") => {
                        url.trim_end_matches('/').to_string()
                    }
                    (url, _) => {
                        return Err(range_error(
                            file,
                            "model.url",
                            format!("{url:?}"),
                            "an http:// or https:// address",
                        ))
                    }
                };
                if self.name.is_empty() {
                    return Err(
                        InputError::new(at("name"), "a server needs the model's name")
                            .hint("set `model.name`, for example \"embeddinggemma\"")
                            .into(),
                    );
                }
                ModelSource::Server {
                    api,
                    url,
                    name: self.name.clone(),
                    revision: self.revision.clone(),
                }
            }
        };
        Ok(Some(ModelConfig {
            source,
            batch: positive(file, "model.batch", self.batch, 4096)?,
        }))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BuildSettings {
    pub threads: i64,
    pub checkpoint_interval: i64,
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings {
            threads: 0,
            checkpoint_interval: 100,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProgressSettings {
    pub update_hz: i64,
    pub show_current_poem: bool,
}

impl Default for ProgressSettings {
    fn default() -> Self {
        ProgressSettings {
            update_hz: 10,
            show_current_poem: true,
        }
    }
}

/// The validated configuration with absolute paths.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file as written (relative paths, every key): what the root's
    /// fingerprint holds of the configuration.
    pub raw: RawConfig,
    pub file: PathBuf,
    /// There was no configuration file: every key has its default.
    pub defaulted: bool,
    /// The site's name, in the menu and every page's title.
    pub title: String,
    /// The site's public address (`base_url`), ending in `/`; `None`: no
    /// feed or sitemap.
    pub base_url: Option<String>,
    /// `[feed] poems`.
    pub feed_poems: usize,
    pub root: PathBuf,
    pub poems: PathBuf,
    /// `None`: no embeddings file; the lexical embedder is used.
    pub embeddings: Option<PathBuf>,
    pub word_embeddings: Option<PathBuf>,
    pub color_embeddings: Option<PathBuf>,
    pub media: PathBuf,
    pub output: PathBuf,
    pub cache: PathBuf,
    /// `remote_cache`: a shared cache behind the local one (a URL).
    pub remote_cache: Option<String>,
    pub templates: Option<PathBuf>,
    pub poems_per_page: usize,
    pub pages_per_poem: usize,
    pub storage_limit_gb: f64,
    pub chronological_per_page: usize,
    pub max_words: usize,
    pub min_occurrences: usize,
    pub min_word_length: usize,
    pub word_poems: usize,
    pub seed: u64,
    pub stop_words: Vec<String>,
    pub colour_words: Vec<Vec<String>>,
    pub timeline_end: TimelineEnd,
    pub threads: usize,
    pub checkpoint_interval: usize,
    pub update_hz: u32,
    pub show_current_poem: bool,
    /// `[model]`: vectors made inside the build; `None` as before.
    pub model: Option<ModelConfig>,
    /// `[deploy] to`, as written ("" = none).
    pub deploy_to: String,
    pub max_deletes: usize,
    pub protect: crate::deploy::plan::Protect,
}

/// Command-line values that override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub output: Option<PathBuf>,
    pub cache: Option<PathBuf>,
    pub threads: Option<usize>,
}

fn range_error(file: &Path, key: &str, value: impl std::fmt::Display, want: &str) -> Error {
    InputError::new(
        Location::file(file).field(key),
        format!("value {value} is out of range: {want}"),
    )
    .hint(format!("set `{key}` to {want} in the configuration"))
    .into()
}

/// The site's public address: an absolute http(s) URL, given a trailing
/// `/` when it has none.
fn base_url(file: &Path, url: &str) -> Result<Option<String>> {
    if url.is_empty() {
        return Ok(None);
    }
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    let fine = host.is_some_and(|h| !h.is_empty())
        && !url.contains(['?', '#'])
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !fine {
        return Err(InputError::new(
            Location::file(file).field("base_url"),
            format!("{url:?} is not an absolute http(s) address"),
        )
        .hint("set `base_url` to the site's public address, such as \"https://example.neocities.org/\", or to \"\" for no feed or sitemap")
        .into());
    }
    Ok(Some(match url.ends_with('/') {
        true => url.to_string(),
        false => format!("{url}/"),
    }))
}

/// The remote cache's URL, when its scheme is one this verso can reach.
fn remote_cache(file: &Path, url: &str) -> Result<Option<String>> {
    if url.is_empty() {
        return Ok(None);
    }
    let schemes = crate::engine::remote::SCHEMES;
    let scheme = url.split_once("://").map(|(s, _)| s);
    if scheme.is_some_and(|s| schemes.contains(&s)) {
        return Ok(Some(url.to_string()));
    }
    Err(InputError::new(
        Location::file(file).field("remote_cache"),
        format!(
            "{:?} is not a remote cache this verso can reach",
            crate::engine::remote::shown(url)
        ),
    )
    .hint("use s3://bucket/prefix (an S3-compatible store) or redis://host:port/prefix")
    .into())
}

fn positive(file: &Path, key: &str, value: i64, max: i64) -> Result<usize> {
    if value < 1 || value > max {
        return Err(range_error(
            file,
            key,
            value,
            &format!("a whole number from 1 to {max}"),
        ));
    }
    Ok(value as usize)
}

impl Config {
    /// Read `verso.toml` (or the file given). Without one, a folder that
    /// holds the poems file builds with the defaults; a folder that does not
    /// exist is named as the problem.
    pub fn load(file: &Path, overrides: &Overrides) -> Result<Config> {
        let folder = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !folder.is_dir() {
            return Err(InputError::new(Location::file(folder), "no such folder")
                .hint("name the folder that holds the collection (its poems.json and verso.toml)")
                .into());
        }
        let raw = match std::fs::read(file) {
            Ok(bytes) => parse_toml(file, &utf8(file, &bytes)?)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let defaults = RawConfig::default();
                if !folder.join(&defaults.poems).is_file() {
                    return Err(InputError::new(
                        Location::file(file),
                        format!("no configuration file, and no {} beside it", defaults.poems),
                    )
                    .hint("run `verso init` in the collection's folder to write a verso.toml, or name one with --config")
                    .into());
                }
                let mut config = Config::from_raw(file, defaults, overrides)?;
                config.defaulted = true;
                return Ok(config);
            }
            Err(e) => return Err(Error::io(Doing::ReadingConfiguration, file, e)),
        };
        Config::from_raw(file, raw, overrides)
    }

    pub fn from_raw(file: &Path, raw: RawConfig, overrides: &Overrides) -> Result<Config> {
        let root = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            root
        };
        let resolve = |p: &str| root.join(p);
        let optional = |p: &str| (!p.is_empty()).then(|| resolve(p));
        for (key, value) in [
            ("poems", &raw.poems),
            ("output", &raw.output),
            ("cache", &raw.cache),
        ] {
            if value.is_empty() {
                return Err(
                    InputError::new(Location::file(file).field(key), "must not be empty").into(),
                );
            }
        }
        let p = &raw.pages;
        let w = &raw.wordcloud;
        if !(p.storage_limit_gb.is_finite() && p.storage_limit_gb >= 0.0) {
            return Err(range_error(
                file,
                "pages.storage_limit_gb",
                p.storage_limit_gb,
                "a number ≥ 0",
            ));
        }
        if raw.build.threads < 0 || raw.build.threads > 1024 {
            return Err(range_error(
                file,
                "build.threads",
                raw.build.threads,
                "a whole number from 0 to 1024",
            ));
        }
        let embeddings =
            optional(&raw.embeddings).filter(|p| p.exists() || raw.embeddings != "embeddings.json");
        let config = Config {
            raw: raw.clone(),
            file: file.to_path_buf(),
            defaulted: false,
            title: raw.title.clone(),
            base_url: base_url(file, &raw.base_url)?,
            feed_poems: positive(file, "feed.poems", raw.feed.poems, 100_000)?,
            poems: resolve(&raw.poems),
            embeddings,
            word_embeddings: optional(&raw.word_embeddings),
            color_embeddings: optional(&raw.color_embeddings),
            media: resolve(&raw.media),
            output: overrides
                .output
                .clone()
                .unwrap_or_else(|| resolve(&raw.output)),
            cache: overrides
                .cache
                .clone()
                .unwrap_or_else(|| resolve(&raw.cache)),
            remote_cache: remote_cache(file, &raw.remote_cache)?,
            templates: optional(&raw.templates),
            poems_per_page: positive(file, "pages.poems_per_page", p.poems_per_page, 100_000)?,
            pages_per_poem: positive(file, "pages.pages_per_poem", p.pages_per_poem, 10_000)?,
            storage_limit_gb: p.storage_limit_gb,
            chronological_per_page: positive(
                file,
                "pages.chronological_per_page",
                p.chronological_per_page,
                1_000_000,
            )?,
            max_words: positive(file, "wordcloud.max_words", w.max_words, 100_000)?,
            min_occurrences: positive(
                file,
                "wordcloud.min_occurrences",
                w.min_occurrences,
                i64::MAX,
            )?,
            min_word_length: positive(file, "wordcloud.min_word_length", w.min_word_length, 1_000)?,
            word_poems: positive(file, "wordcloud.word_poems", w.word_poems, 1_000_000)?,
            seed: w.seed,
            stop_words: w.stop_words.iter().map(|s| s.to_lowercase()).collect(),
            colour_words: raw.colors.words(),
            timeline_end: match raw.timeline.end.as_str() {
                "month" => TimelineEnd::Month,
                "year" => TimelineEnd::Year,
                "newest" => TimelineEnd::Newest,
                other => {
                    return Err(range_error(
                        file,
                        "timeline.end",
                        format!("{other:?}"),
                        "\"month\", \"year\" or \"newest\"",
                    ))
                }
            },
            threads: overrides.threads.unwrap_or(raw.build.threads as usize),
            checkpoint_interval: positive(
                file,
                "build.checkpoint_interval",
                raw.build.checkpoint_interval,
                1_000_000_000,
            )?,
            update_hz: positive(file, "progress.update_hz", raw.progress.update_hz, 100)? as u32,
            show_current_poem: raw.progress.show_current_poem,
            model: raw.model.validate(file, &root)?,
            deploy_to: raw.deploy.to.clone(),
            max_deletes: match raw.deploy.max_deletes {
                n @ 0.. => n as usize,
                n => {
                    return Err(range_error(
                        file,
                        "deploy.max_deletes",
                        n,
                        "a whole number ≥ 0",
                    ))
                }
            },
            protect: crate::deploy::plan::Protect::new(file, &raw.deploy.protect)?,
            root,
        };
        config.check_folders()?;
        Ok(config)
    }

    /// The site must not overlap the media it copies: with `output/media`
    /// the media folder itself, a deleted poem's page removal (or `verso
    /// clean`) would delete the poet's own attachments.
    fn check_folders(&self) -> Result<()> {
        let media = absolute(&self.media);
        let output = absolute(&self.output);
        let problem = if output.join("media") == media {
            Some("the site's media/ folder would be the media folder itself, so verso would write over, and later remove, the attachments")
        } else if output.starts_with(&media) {
            Some("the output folder is inside the media folder, so the site would be mixed with the attachments")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(InputError::new(
                Location::file(&self.file).field("output"),
                format!("{problem} ({})", self.media.display()),
            )
            .hint("choose an output folder outside the media folder, such as \"site\"")
            .into()),
            None => Ok(()),
        }
    }
}

/// `path` made absolute, `.` and `..` resolved by name, and symbolic links
/// resolved in the part of it that exists (the rest may not exist yet).
fn absolute(path: &Path) -> PathBuf {
    use std::path::Component;
    let joined = std::env::current_dir().unwrap_or_default().join(path);
    let mut lexical = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    lexical
        .ancestors()
        .find_map(|existing| {
            let real = std::fs::canonicalize(existing).ok()?;
            let rest = lexical.strip_prefix(existing).ok()?;
            Some(real.join(rest))
        })
        .unwrap_or(lexical)
}

/// A file's text; bytes that are not UTF-8 are bad input, at their offset.
pub fn utf8(file: &Path, bytes: &[u8]) -> Result<String> {
    crate::text::check_utf8(file, bytes)?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// Every key the configuration knows, as `section.key` or `key`, with its
/// default (as JSON), listed from the configuration's own fields.
pub fn known_keys() -> Vec<(String, serde_json::Value)> {
    let value = serde_json::to_value(RawConfig::default()).expect("the defaults serialise");
    let mut keys = Vec::new();
    if let serde_json::Value::Object(top) = value {
        for (name, v) in top {
            match v {
                serde_json::Value::Object(section) => {
                    keys.extend(section.into_iter().map(|(k, v)| (format!("{name}.{k}"), v)))
                }
                other => keys.push((name, other)),
            }
        }
    }
    keys
}

/// The key a TOML error's position is on: `section.key`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let key = line.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let section = before[..line_start]
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix('[')?.strip_suffix(']').map(str::trim));
    Some(match section {
        Some(section) => format!("{section}.{key}"),
        None => key.to_string(),
    })
}

/// A serde type name in plain words.
fn plain_type(expected: &str) -> &'static str {
    match expected {
        "i64" | "i32" | "usize" => "a whole number",
        "u64" | "u32" => "a whole number, 0 or more",
        "f64" | "f32" => "a number",
        "a boolean" => "true or false",
        "a string" => "text in quotes",
        "a sequence" => "a list in brackets, such as [\"a\", \"b\"]",
        _ => "another kind of value",
    }
}

fn parse_toml(file: &Path, text: &str) -> Result<RawConfig> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    toml::from_str::<RawConfig>(text).map_err(|e| {
        let mut location = Location::file(file);
        let mut key = None;
        if let Some(span) = e.span() {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            location = location.at(line, column);
            key = key_at(text, span.start);
        }
        let message = e.message().to_string();
        let mut hint =
            "`verso init` writes a verso.toml with every key, its default and what it means"
                .to_string();
        let mut said = message.clone();
        if let Some(unknown) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            location = location.field(unknown);
            said = format!("unknown key `{unknown}`");
            let section = key
                .as_deref()
                .and_then(|k| k.rsplit_once('.'))
                .map(|(s, _)| s);
            let full = match section {
                Some(section) => format!("{section}.{unknown}"),
                None => unknown.to_string(),
            };
            let nearest = known_keys()
                .into_iter()
                .map(|(k, _)| (strsim::jaro_winkler(&k, &full), k))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((_, k)) = nearest {
                hint = format!("did you mean `{k}`?");
            }
        } else if let Some(rest) = message.strip_prefix("invalid type: ") {
            let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
            if let Some(k) = &key {
                location = location.field(k.clone());
            }
            said = format!(
                "{} must be {}, not {found}",
                key.as_deref()
                    .map_or("this value".to_string(), |k| format!("`{k}`")),
                plain_type(expected)
            );
        }
        InputError::new(location, said).hint(hint).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn absolute_paths_resolve_links_in_the_part_that_exists() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir_all(real.join("media")).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let real = std::fs::canonicalize(&real).unwrap();
        assert_eq!(absolute(&link.join("media")), real.join("media"));
        assert_eq!(
            absolute(&link.join("x/../media/not/yet")),
            real.join("media/not/yet")
        );
    }

    fn load(text: &str) -> Result<Config> {
        let file = Path::new("/x/verso.toml");
        Config::from_raw(file, parse_toml(file, text)?, &Overrides::default())
    }

    #[test]
    fn defaults_match_the_spec() {
        let c = load("").unwrap();
        assert_eq!(c.poems_per_page, 200);
        assert_eq!(c.pages_per_poem, 1);
        assert_eq!(c.chronological_per_page, 500);
        assert_eq!(c.max_words, 200);
        assert_eq!(c.min_occurrences, 5);
        assert_eq!(c.word_poems, 50);
        assert_eq!(c.output, Path::new("/x/site"));
        assert_eq!(c.colour_words[0][0], "fire");
        assert_eq!(c.timeline_end, TimelineEnd::Month);
        assert_eq!(
            load("[timeline]\nend = \"newest\"\n").unwrap().timeline_end,
            TimelineEnd::Newest
        );
        assert_eq!(
            load("[timeline]\nend = \"year\"\n").unwrap().timeline_end,
            TimelineEnd::Year
        );
        let e = load("[timeline]\nend = \"decade\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("timeline.end") && e.contains("\"decade\""),
            "{e}"
        );
    }

    #[test]
    fn the_init_template_holds_every_key_at_its_default() {
        let raw = parse_toml(Path::new("verso.toml"), TEMPLATE).unwrap();
        assert_eq!(raw, RawConfig::default());
        for (key, _) in known_keys() {
            let name = key.rsplit('.').next().unwrap();
            assert!(
                TEMPLATE.contains(&format!("{name} = ")),
                "{key} is not in the template"
            );
        }
        let colours = Colours::default().words();
        for (name, words) in COLOUR_NAMES.iter().zip(colours) {
            let line = format!("# {name} = {words:?}");
            assert!(TEMPLATE.contains(&line), "{line}");
        }
    }

    #[test]
    fn wrong_types_and_misspelt_keys_are_said_plainly() {
        let e = load("[pages]\npoems_per_page = \"20\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`pages.poems_per_page` must be a whole number, not string \"20\""),
            "{e}"
        );
        let e = load("[pages]\npoems_per_pag = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `pages.poems_per_page`?"), "{e}");
        let e = load("titel = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("did you mean `title`?"), "{e}");
        let e = load("[progress]\nshow_current_poem = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be true or false"), "{e}");
    }

    #[test]
    fn text_that_is_not_utf8_is_bad_input_at_its_offset() {
        let e = utf8(Path::new("verso.toml"), b"title = \"\xff\"").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("not valid UTF-8 at byte 9"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = load("[pages]\npoems_per_pag = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("poems_per_pag"), "{e}");
        assert!(e.contains("verso.toml:2"), "{e}");
    }

    #[test]
    fn out_of_range_values_are_named() {
        let e = load("[pages]\npoems_per_page = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pages.poems_per_page"), "{e}");
        let e = load("[colors]\npink = [\"x\"]\n").unwrap_err().to_string();
        assert!(e.contains("pink"), "{e}");
    }
}
