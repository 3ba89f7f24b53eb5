//! The site plan: every output file as a target with its path, family and
//! key, and the rendering of a target into bytes. A page is an instance of
//! the `page` rule: its fingerprint holds its templates, its header values,
//! the poems it shows and the keys of their entries, in order; an entry's
//! fingerprint holds the values its template draws from (`entry.rs`).
//!
//! Each kind of page is declared by a module of its own (`kind.rs` says
//! what a kind declares) and listed once, in `KINDS`; the feed, the
//! sitemap and the media files, which no template renders, are planned
//! here.

mod chronological;
pub mod entry;
mod explore;
mod family;
pub mod feed;
mod kind;
pub mod map;
mod menu;
pub mod paths;
mod rank_line;
mod ranked;
pub mod sitemap;
mod word;

pub use family::{Family, PerFamily};

use crate::corpus::{Corpus, Poem};
use crate::derive::map::MapLayout;
use crate::derive::timeline::Timeline;
use crate::derive::words::WordPage;
use crate::derive::Neighbours;
use crate::engine::rule::{hash_value, part_digest, Code, Fingerprint, Instance, Part, Trace};
use crate::error::{Doing, IoContext, Result};
use crate::render::{BuiltIn, Renderer, Shell};
use entry::{EntryView, Placement, Variant};
use kind::{At, Intro, PageKind, Parts};
use rank_line::RankLabel;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The templates every kind may read: the shell around every page, a
/// poem's entry, and the pager partial.
const SHARED_TEMPLATES: [BuiltIn; 3] = [
    ("shell", include_str!("../../templates/shell.hbs")),
    ("entry", include_str!("../../templates/entry.hbs")),
    ("pager", include_str!("../../templates/pager.hbs")),
];

/// Every built-in template: the shared ones, then each kind's.
pub fn built_in_templates() -> Vec<BuiltIn> {
    let mut all = SHARED_TEMPLATES.to_vec();
    for kind in KINDS {
        if !all.contains(&kind.template()) {
            all.push(kind.template());
        }
    }
    all
}

/// A built-in template's source, by name.
pub fn built_in_template(name: &str) -> Option<&'static str> {
    built_in_templates()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, source)| source)
}

/// Every kind of page, in the order the build plans and writes them.
const KINDS: [&dyn PageKind; 7] = [
    &chronological::Chronological,
    &ranked::Ranked::Similar,
    &ranked::Ranked::Different,
    &word::Word,
    &menu::Menu,
    &explore::Explore,
    &map::Map,
];

/// A kind's code and templates (and the feed every page's head links
/// to): where its pages' fingerprints start.
fn generator(
    renderer: &Renderer,
    code: &Code,
    layout: &Layout,
    kind: &dyn PageKind,
) -> Fingerprint {
    let entries = kind.shows_entries().then_some("entry");
    ["shell"]
        .into_iter()
        .chain(entries)
        .chain([kind.template().0])
        .fold(Fingerprint::new(Instance::page(""), code), |fp, name| {
            fp.input(format!("template {name}"), *renderer.template_hash(name))
        })
        .setting("base_url", &layout.base_url)
}

/// What the feed or a file of the sitemap is made from.
enum FeedFile {
    Feed(feed::FeedView),
    Sitemap(sitemap::SitemapView),
}

impl FeedFile {
    fn render(&self) -> String {
        match self {
            FeedFile::Feed(view) => view.render(),
            FeedFile::Sitemap(view) => view.render(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// Page `at` of the kind `KINDS[kind]`.
    Of {
        kind: usize,
        at: At,
    },
    Media(String),
    /// `feed.xml` (with `base_url`).
    Feed,
    /// File `n` of the sitemap (with `base_url`; `sitemap::file_name`).
    Sitemap(usize),
}

#[derive(Debug, Clone)]
pub struct Target {
    /// Relative to the output folder, `/`-separated.
    pub path: String,
    pub family: Family,
    pub page: Page,
    pub key: blake3::Hash,
    /// The row of the poem the page is about, for the progress display.
    pub poem: Option<u32>,
}

/// The attachments' source files and their content hashes, computed once
/// per build (through the build's stat cache) for both the inputs digest and
/// the media targets' keys.
pub struct MediaFiles {
    pub root: PathBuf,
    /// By relative path, one per output file.
    pub hashes: BTreeMap<String, blake3::Hash>,
}

impl MediaFiles {
    pub fn new(
        root: PathBuf,
        corpus: &Corpus,
        hash: impl Fn(&Path) -> Result<blake3::Hash>,
    ) -> Result<MediaFiles> {
        let mut hashes = BTreeMap::new();
        let mut outputs = HashSet::new();
        for a in corpus.poems.iter().flat_map(|p| &p.attachments) {
            if outputs.insert(paths::media(&a.relative_path)) {
                hashes.insert(a.relative_path.clone(), hash(&root.join(&a.relative_path))?);
            }
        }
        Ok(MediaFiles { root, hashes })
    }
}

/// Page-shaping settings.
#[derive(Debug, Clone)]
pub struct Layout {
    pub poems_per_page: usize,
    pub pages_per_poem: usize,
    pub chronological_per_page: usize,
    pub seed: u64,
    /// The site's name.
    pub title: String,
    /// The site's public address (`base_url`): with it, a feed and a
    /// sitemap, and every page's head links to the feed.
    pub base_url: Option<String>,
    /// `[feed] poems`.
    pub feed_poems: usize,
}

/// Everything a page is made from.
pub struct Site<'a> {
    pub corpus: &'a Corpus,
    pub renderer: &'a Renderer,
    pub neighbours: &'a Neighbours,
    /// Each poem's place on the map.
    pub map: &'a MapLayout,
    pub colours: &'a [u8],
    pub words: &'a [WordPage],
    pub layout: Layout,
    pub media: &'a MediaFiles,
    /// Per kind, in `KINDS` order: its pages' code and templates.
    generators: Vec<Fingerprint>,
    pub timeline: &'a Timeline,
    code: &'a Code,
    /// Per row and variant: the entry's key (which covers its rank-line label).
    entry_keys: Vec<[blake3::Hash; 2]>,
    /// Per row: its entry fingerprint's key (before the variant).
    entry_fingerprints: Vec<blake3::Hash>,
    rendered: Vec<[OnceLock<String>; 2]>,
    /// Per row: its `CATEGORY/ID` for rank lines.
    rank_labels: Vec<RankLabel>,
    /// The feed's and the sitemap's fingerprints and what they are made
    /// from, found while planning (the sitemap needs every page's poems);
    /// their bytes are made only when they are written.
    feeds: OnceLock<Vec<(Page, Fingerprint, FeedFile)>>,
}

fn variant_slot(v: Variant) -> usize {
    match v {
        Variant::Chronological => 0,
        Variant::Linked => 1,
    }
}

impl<'a> Site<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        corpus: &'a Corpus,
        renderer: &'a Renderer,
        neighbours: &'a Neighbours,
        map: &'a MapLayout,
        colours: &'a [u8],
        words: &'a [WordPage],
        timeline: &'a Timeline,
        layout: Layout,
        media: &'a MediaFiles,
        code: &'a Code,
    ) -> Site<'a> {
        let generators = KINDS
            .iter()
            .map(|kind| generator(renderer, code, &layout, *kind))
            .collect();
        let mut site = Site {
            corpus,
            renderer,
            neighbours,
            map,
            colours,
            words,
            layout,
            media,
            generators,
            timeline,
            code,
            entry_keys: Vec::new(),
            entry_fingerprints: Vec::new(),
            rendered: (0..corpus.poems.len())
                .map(|_| Default::default())
                .collect(),
            rank_labels: corpus
                .poems
                .iter()
                .map(|p| RankLabel::new(p.label()))
                .collect(),
            feeds: OnceLock::new(),
        };
        site.entry_fingerprints = (0..corpus.poems.len())
            .into_par_iter()
            .map(|row| site.entry_fingerprint(row).key())
            .collect();
        // The key covers category and id, so it covers the rank line's
        // `CATEGORY/ID` too.
        site.entry_keys = site
            .entry_fingerprints
            .iter()
            .map(|key| {
                [Variant::Chronological, Variant::Linked].map(|v| entry::variant_key(key, v))
            })
            .collect();
        site
    }

    /// The key of a poem's entry fingerprint.
    pub fn entry_fingerprint_key(&self, row: usize) -> &blake3::Hash {
        &self.entry_fingerprints[row]
    }

    /// The declared inputs of a poem's entry.
    pub fn entry_fingerprint(&self, row: usize) -> Fingerprint {
        entry::fingerprint(
            &self.corpus.poems[row],
            &self.placement(row),
            self.renderer.template_hash("entry"),
            self.code,
        )
    }

    pub fn poem(&self, row: u32) -> &Poem {
        &self.corpus.poems[row as usize]
    }

    fn placement(&self, row: usize) -> Placement {
        Placement {
            colour: self.colours[row],
            filled: self.timeline.filled[row],
            chronological_page: self
                .timeline
                .page_of(row, self.layout.chronological_per_page),
        }
    }

    pub fn entry_view(&self, row: usize, variant: Variant) -> EntryView {
        EntryView::new(&self.corpus.poems[row], &self.placement(row), variant)
    }

    pub fn entry_key(&self, row: u32, variant: Variant) -> &blake3::Hash {
        &self.entry_keys[row as usize][variant_slot(variant)]
    }

    /// The entry's bytes, rendered at most once per build.
    fn entry(&self, row: u32, variant: Variant) -> Result<&str> {
        let cell = &self.rendered[row as usize][variant_slot(variant)];
        if let Some(s) = cell.get() {
            return Ok(s);
        }
        let text = self
            .renderer
            .entry(&self.entry_view(row as usize, variant))?;
        Ok(cell.get_or_init(|| text))
    }

    fn pages_of(&self, list_len: usize) -> usize {
        list_len
            .div_ceil(self.layout.poems_per_page)
            .clamp(1, self.layout.pages_per_poem)
    }

    /// Every target of the site, keyed, in a stable order.
    pub fn plan(&self) -> Vec<Target> {
        let pages: Vec<(usize, At, Option<u32>)> = KINDS
            .iter()
            .enumerate()
            .flat_map(|(kind, k)| {
                k.pages(self)
                    .into_iter()
                    .map(move |(at, poem)| (kind, at, poem))
            })
            .collect();
        let planned: Vec<(Target, Option<i64>)> = pages
            .into_par_iter()
            .map(|(kind, at, poem)| {
                let k = KINDS[kind];
                let parts = k.parts(self, at);
                // The sitemap's date for the page (only when there is one).
                let newest = self
                    .layout
                    .base_url
                    .as_ref()
                    .and_then(|_| k.newest(self, &parts));
                let path = k.path(self, at);
                let key = self.fingerprint_of(kind, at, &path, &parts).key();
                let target = Target {
                    path,
                    family: k.family(),
                    page: Page::Of { kind, at },
                    key,
                    poem,
                };
                (target, newest)
            })
            .collect();
        let urls: Vec<sitemap::Url> = match self.layout.base_url {
            Some(_) => planned
                .iter()
                .map(|(t, newest)| sitemap::Url {
                    path: t.path.clone(),
                    newest: *newest,
                })
                .collect(),
            None => Vec::new(),
        };
        let mut targets: Vec<Target> = planned.into_iter().map(|(t, _)| t).collect();
        let media = self.media.hashes.iter().map(|(rel, hash)| Target {
            path: paths::media(rel),
            family: Family::Media,
            page: Page::Media(rel.clone()),
            key: *hash,
            poem: None,
        });
        targets.extend(media);
        if let Some(base_url) = &self.layout.base_url {
            let feeds = self.feeds.get_or_init(|| self.feed_files(base_url, urls));
            targets.extend(feeds.iter().map(|(page, fp, _)| Target {
                path: self.path_of(page),
                family: Family::Feeds,
                page: page.clone(),
                key: fp.key(),
                poem: None,
            }));
        }
        targets
    }

    /// `feed.xml` and the sitemap's files: each one's fingerprint (what it
    /// is made from) and bytes, by path.
    fn feed_files(
        &self,
        base_url: &str,
        urls: Vec<sitemap::Url>,
    ) -> Vec<(Page, Fingerprint, FeedFile)> {
        let mut files = Vec::new();
        let entries = self
            .timeline
            .order
            .iter()
            .rev()
            .take(self.layout.feed_poems)
            .map(|&row| {
                feed::FeedEntry::new(self.poem(row), base_url, &self.chronological_href(row))
            })
            .collect();
        let view = feed::FeedView {
            base_url: base_url.to_string(),
            title: self.layout.title.clone(),
            entries,
        };
        let fp = Fingerprint::new(Instance::page("feed.xml"), self.code)
            .input("poems in the feed", hash_value(&view));
        files.push((Page::Feed, fp, FeedFile::Feed(view)));
        for (n, view) in sitemap::views(base_url, urls).into_iter().enumerate() {
            let fp = Fingerprint::new(Instance::page(sitemap::file_name(n)), self.code)
                .input("pages in the sitemap", hash_value(&view));
            files.push((Page::Sitemap(n), fp, FeedFile::Sitemap(view)));
        }
        files
    }

    /// A page's fingerprint: its kind's code and templates, its header
    /// values (as `HeaderValues::key_bytes` serialises them), the poems it
    /// shows and, per entry, the rank line's inputs and the entry's key.
    fn fingerprint_of(&self, kind: usize, at: At, path: &str, parts: &Parts) -> Fingerprint {
        // One contiguous buffer, hashed at once: BLAKE3 is several times
        // faster on it than on many 32-byte updates.
        let mut entries = Vec::with_capacity(parts.items.len() * 37);
        let mut poems = Vec::with_capacity(parts.items.len() * 4);
        for item in &parts.items {
            // The intro's inputs, not its text: formatting millions of rank
            // lines would dominate planning.
            let (tag, rank) = match item.intro {
                Intro::Nothing => (0u8, 0u32),
                Intro::BlankLine => (1, 0),
                Intro::Rank(rank) => (2, rank as u32),
            };
            entries.push(tag);
            entries.extend_from_slice(&rank.to_le_bytes());
            entries.extend_from_slice(self.entry_key(item.row, item.variant).as_bytes());
            poems.extend_from_slice(&self.poem(item.row).index.to_le_bytes());
        }
        let k = KINDS[kind];
        let mut fp = self.generators[kind].clone();
        fp.instance = path.to_string();
        let header = blake3::hash(&parts.header.key_bytes(&parts.title));
        let fp = match k.header_source(self, at) {
            Some(from) => fp.value("page values", header, &from),
            None => fp.input("page values", header),
        };
        let fp = match k.poems_source(self, at) {
            Some(from) => fp.value("poems shown", blake3::hash(&poems), &from),
            None => fp.input("poems shown", blake3::hash(&poems)),
        };
        fp.input("entries", blake3::hash(&entries))
    }

    /// What a target's key was made of (for the record, and `--explain`).
    pub fn trace(&self, target: &Target) -> Trace {
        if let Some((fp, _)) = self.feed_file(target) {
            return fp.trace(target.key, target.key);
        }
        match &target.page {
            Page::Of { kind, at } => {
                self.trace_of(*kind, *at, &KINDS[*kind].parts(self, *at), target)
            }
            Page::Media(rel) => Fingerprint::new(Instance::page(target.path.clone()), self.code)
                .input(format!("media/{rel}"), target.key)
                .trace(target.key, target.key),
            Page::Feed | Page::Sitemap(_) => {
                unreachable!("the feed's and the sitemap's fingerprints are made by plan")
            }
        }
    }

    /// The feed's or a sitemap file's fingerprint and view (made by `plan`).
    fn feed_file(&self, target: &Target) -> Option<(&Fingerprint, &FeedFile)> {
        match target.page {
            Page::Feed | Page::Sitemap(_) => self
                .feeds
                .get()?
                .iter()
                .find(|(page, _, _)| *page == target.page)
                .map(|(_, fp, file)| (fp, file)),
            _ => None,
        }
    }

    fn trace_of(&self, kind: usize, at: At, parts: &Parts, target: &Target) -> Trace {
        let fp = self.fingerprint_of(kind, at, &target.path, parts);
        let mut trace = fp.trace(target.key, target.key);
        trace.parts = parts
            .items
            .iter()
            .map(|i| {
                let key = self.entry_key(i.row, i.variant);
                (
                    Part::Poem(self.poem(i.row).index),
                    part_digest(key.as_bytes()),
                )
            })
            .collect();
        trace
    }

    /// The path of a page that no kind plans.
    fn path_of(&self, page: &Page) -> String {
        match page {
            Page::Of { kind, at } => KINDS[*kind].path(self, *at),
            Page::Media(rel) => paths::media(rel),
            Page::Feed => "feed.xml".into(),
            Page::Sitemap(n) => sitemap::file_name(*n),
        }
    }

    fn chronological_href(&self, row: u32) -> String {
        let page = self
            .timeline
            .page_of(row as usize, self.layout.chronological_per_page);
        format!(
            "{}#{}",
            paths::chronological(page),
            paths::anchor(self.poem(row).index)
        )
    }

    /// A page's title, followed by the site's name.
    fn titled(&self, page: &str) -> String {
        format!("{page} · {}", self.layout.title)
    }

    /// Render a target's bytes into `out`; what its key was made of, for
    /// the record.
    pub fn render(&self, target: &Target, out: &mut Vec<u8>) -> Result<Trace> {
        out.clear();
        if let Some((fp, file)) = self.feed_file(target) {
            out.extend_from_slice(file.render().as_bytes());
            return Ok(fp.trace(target.key, target.key));
        }
        let (kind, at) = match &target.page {
            Page::Of { kind, at } => (*kind, *at),
            Page::Media(rel) => {
                let source = self.media.root.join(rel);
                out.extend(std::fs::read(&source).at(Doing::WritingSite, &source)?);
                return Ok(self.trace(target));
            }
            Page::Feed | Page::Sitemap(_) => unreachable!("written from plan's views"),
        };
        let parts = KINDS[kind].parts(self, at);
        let trace = self.trace_of(kind, at, &parts, target);
        let Parts {
            title,
            header,
            items,
        } = parts;
        let feed = self
            .layout
            .base_url
            .as_ref()
            .map(|b| format!("{b}feed.xml"));
        let shell = Shell {
            title: &title,
            site: &self.layout.title,
            feed: feed.as_deref(),
        };
        let header = header.to_json()?;
        let (head, tail) = self
            .renderer
            .page(KINDS[kind].template().0, &shell, &header)?;
        out.extend_from_slice(head.as_bytes());
        for item in &items {
            match item.intro {
                Intro::Nothing => {}
                Intro::BlankLine => out.push(b'\n'),
                Intro::Rank(rank) => self.rank_labels[item.row as usize].push(rank, out),
            }
            out.extend_from_slice(self.entry(item.row, item.variant)?.as_bytes());
        }
        out.extend_from_slice(tail.as_bytes());
        Ok(trace)
    }
}
