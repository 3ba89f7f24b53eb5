//! The site plan: every output file as a target with its path, family and
//! key, and the rendering of a target into bytes. A page is an instance of
//! the `page` rule: its fingerprint holds its templates, its header values,
//! the poems it shows and the keys of their entries, in order; an entry's
//! fingerprint holds the values its template draws from (`entry.rs`).

pub mod entry;
mod family;
pub mod feed;
pub mod map;
pub mod paths;
mod rank_line;
pub mod sitemap;

pub use family::{Family, PerFamily};

use crate::corpus::{Corpus, Poem};
use crate::derive::map::MapLayout;
use crate::derive::timeline::Timeline;
use crate::derive::words::WordPage;
use crate::derive::Neighbours;
use crate::engine::rule::{hash_value, part_digest, Code, Fingerprint, Part, Rule, Trace};
use crate::error::{Doing, IoContext, Result};
use crate::render::{Renderer, Shell};
use crate::text::truncate;
use entry::{EntryView, Placement, Variant, WIDTH};
use rank_line::RankLabel;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A family's code and templates (and the feed every page's head links
/// to): where its pages' fingerprints start.
fn generator(renderer: &Renderer, code: &Code, layout: &Layout, family: Family) -> Fingerprint {
    family
        .templates()
        .iter()
        .fold(Fingerprint::new(Rule::Page, "", code), |fp, name| {
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
    Chronological(usize),
    Similar(u32, usize),
    Different(u32, usize),
    Word(usize),
    Menu,
    Explore,
    /// `map.html`.
    Map,
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
    /// Per family (by `Family as usize`): its pages' code and templates.
    generators: PerFamily<Fingerprint>,
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

/// A page path from a poem_index and a page number.
type PathOf = fn(u32, usize) -> String;

/// The page-specific values of a page, as its template sees them; hashed
/// (with the title) into the page's key.
#[derive(Serialize)]
#[serde(untagged)]
enum Header {
    Chronological {
        /// Read by screen readers, not shown.
        heading: String,
        page: usize,
        pages: usize,
        first_href: String,
        last_href: String,
        prev_href: Option<String>,
        next_href: Option<String>,
    },
    Ranked {
        heading: String,
        anchor_label: String,
        page: usize,
        pages: usize,
        first_rank: usize,
        last_rank: usize,
        prev_href: Option<String>,
        next_href: Option<String>,
    },
    Word {
        word: String,
        colour: &'static str,
        count: usize,
        central_href: String,
    },
    Menu(Value),
    Explore {},
    Map(map::MapView),
    Media {},
}

/// A page: its template, title, header values and entries.
struct Parts {
    page: Page,
    template: &'static str,
    title: String,
    header: Header,
    items: Vec<Item>,
}

impl Parts {
    /// The header values and title as hashed into the key.
    fn header_bytes(&self) -> Vec<u8> {
        postcard::to_stdvec(&(&self.title, &self.header)).expect("headers serialise")
    }
}

/// What stands before an entry on a page.
#[derive(Clone, Copy)]
enum Intro {
    Nothing,
    BlankLine,
    /// `--- #RANK CATEGORY/ID ---`
    Rank(usize),
}

/// One entry on a page, with the line that introduces it.
struct Item {
    intro: Intro,
    row: u32,
    variant: Variant,
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
        let generators = PerFamily::from_fn(|f| generator(renderer, code, &layout, f));
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
        let mut pages: Vec<(Page, Option<u32>)> = Vec::new();
        for page in 1..=self.timeline.page_count(self.layout.chronological_per_page) {
            pages.push((Page::Chronological(page), None));
        }
        for row in 0..self.corpus.poems.len() as u32 {
            for page in 1..=self.pages_of(self.neighbours.similar[row as usize].len()) {
                pages.push((Page::Similar(row, page), Some(row)));
            }
        }
        for row in 0..self.corpus.poems.len() as u32 {
            for page in 1..=self.pages_of(self.neighbours.different[row as usize].len()) {
                pages.push((Page::Different(row, page), Some(row)));
            }
        }
        for (i, w) in self.words.iter().enumerate() {
            pages.push((Page::Word(i), w.ranking.poems.first().copied()));
        }
        pages.push((Page::Menu, None));
        pages.push((Page::Explore, None));
        pages.push((Page::Map, None));
        let planned: Vec<(Target, Option<i64>)> = pages
            .into_par_iter()
            .map(|(page, poem)| {
                let (family, path) = self.identify(&page);
                let parts = self.parts(&page);
                // The sitemap's date for the page (only when there is one):
                // the newest of the poems it shows (the map shows them all).
                let newest = self.layout.base_url.as_ref().and_then(|_| match page {
                    Page::Map => self.timeline.order.last().map(|&row| self.poem(row).time),
                    _ => parts.items.iter().map(|i| self.poem(i.row).time).max(),
                });
                let key = self.fingerprint_of(&parts, family).key();
                let target = Target {
                    path,
                    family,
                    page,
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
                path: self.identify(page).1,
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
        let fp = Fingerprint::new(Rule::Page, "feed.xml", self.code)
            .input("poems in the feed", hash_value(&view));
        files.push((Page::Feed, fp, FeedFile::Feed(view)));
        for (n, view) in sitemap::views(base_url, urls).into_iter().enumerate() {
            let fp = Fingerprint::new(Rule::Page, sitemap::file_name(n), self.code)
                .input("pages in the sitemap", hash_value(&view));
            files.push((Page::Sitemap(n), fp, FeedFile::Sitemap(view)));
        }
        files
    }

    /// The rule instance a page's poems come from.
    fn poems_source(&self, page: &Page) -> Option<String> {
        match page {
            Page::Chronological(_) => Some("timeline".into()),
            Page::Similar(..) | Page::Different(..) => Some("neighbours".into()),
            Page::Word(i) => Some(format!("word page {}", self.words[*i].word.word)),
            Page::Menu
            | Page::Explore
            | Page::Map
            | Page::Media(_)
            | Page::Feed
            | Page::Sitemap(_) => None,
        }
    }

    /// The rule instance most of a page's header values come from.
    fn header_source(&self, page: &Page) -> Option<String> {
        match page {
            Page::Menu => Some("cloud".into()),
            Page::Map => Some("map layout".into()),
            Page::Word(i) => Some(format!("word page {}", self.words[*i].word.word)),
            _ => None,
        }
    }

    /// A page's fingerprint: its family's code and templates, its header
    /// values (as `Parts::header_bytes` serialises them), the poems it shows
    /// and, per entry, the rank line's inputs and the entry's key.
    fn fingerprint_of(&self, parts: &Parts, family: Family) -> Fingerprint {
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
        let mut fp = self.generators[family].clone();
        fp.instance = self.identify(&parts.page).1;
        let header = blake3::hash(&parts.header_bytes());
        let fp = match self.header_source(&parts.page) {
            Some(from) => fp.value("page values", header, &from),
            None => fp.input("page values", header),
        };
        let fp = match self.poems_source(&parts.page) {
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
        if let Page::Media(rel) = &target.page {
            let fp = Fingerprint::new(Rule::Page, target.path.clone(), self.code)
                .input(format!("media/{rel}"), target.key);
            return fp.trace(target.key, target.key);
        }
        self.trace_of(&self.parts(&target.page), target)
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

    fn trace_of(&self, parts: &Parts, target: &Target) -> Trace {
        let fp = self.fingerprint_of(parts, target.family);
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

    fn identify(&self, page: &Page) -> (Family, String) {
        let index = |row: &u32| self.poem(*row).index;
        match page {
            Page::Chronological(n) => (Family::Chronological, paths::chronological(*n)),
            Page::Similar(row, n) => (Family::Similar, paths::similar(index(row), *n)),
            Page::Different(row, n) => (Family::Different, paths::different(index(row), *n)),
            Page::Word(i) => (Family::Wordcloud, paths::word(&self.words[*i].word.word)),
            Page::Menu => (Family::Menu, "index.html".into()),
            Page::Explore => (Family::Menu, "explore.html".into()),
            Page::Map => (Family::Menu, map::PATH.into()),
            Page::Media(rel) => (Family::Media, paths::media(rel)),
            Page::Feed => (Family::Feeds, "feed.xml".into()),
            Page::Sitemap(n) => (Family::Feeds, sitemap::file_name(*n)),
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

    /// A page's template, title, header values and entries.
    fn parts(&self, page: &Page) -> Parts {
        match page {
            Page::Chronological(n) => {
                let per = self.layout.chronological_per_page;
                let pages = self.timeline.page_count(per);
                let href = |p: usize| format!("{p:02}.html");
                let heading = format!("In time order, page {n} of {pages}");
                let header = Header::Chronological {
                    heading: heading.clone(),
                    page: *n,
                    pages,
                    first_href: href(1),
                    last_href: href(pages),
                    prev_href: (*n > 1).then(|| href(n - 1)),
                    next_href: (*n < pages).then(|| href(n + 1)),
                };
                let rows = self.timeline.order.iter().skip((n - 1) * per).take(per);
                let items = rows
                    .enumerate()
                    .map(|(i, &row)| Item {
                        intro: if i == 0 {
                            Intro::Nothing
                        } else {
                            Intro::BlankLine
                        },
                        row,
                        variant: Variant::Chronological,
                    })
                    .collect();
                Parts {
                    page: page.clone(),
                    template: "chronological",
                    title: self.titled(&heading),
                    header,
                    items,
                }
            }
            Page::Similar(row, n) | Page::Different(row, n) => {
                let similar = matches!(page, Page::Similar(..));
                let (list, heading, link): (&[u32], _, PathOf) = if similar {
                    (
                        &self.neighbours.similar[*row as usize],
                        "the poems most like",
                        paths::similar,
                    )
                } else {
                    (
                        &self.neighbours.different[*row as usize],
                        "a path away from",
                        paths::different,
                    )
                };
                let per = self.layout.poems_per_page;
                let pages = self.pages_of(list.len());
                let poem = self.poem(*row);
                let index = poem.index;
                let name = |p: usize| {
                    link(index, p)
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_string()
                };
                let start = (n - 1) * per;
                let shown = &list[start.min(list.len())..(start + per).min(list.len())];
                let describe = poem.title.clone().unwrap_or_else(|| poem.first_words(60));
                let header = Header::Ranked {
                    heading: format!("{heading} {}", truncate(&poem.label(), 50)),
                    anchor_label: truncate(&describe, WIDTH - 2),
                    page: *n,
                    pages,
                    first_rank: if shown.is_empty() { 0 } else { start + 1 },
                    last_rank: start + shown.len(),
                    prev_href: (*n > 1).then(|| name(n - 1)),
                    next_href: (*n < pages).then(|| name(n + 1)),
                };
                let mut items = vec![Item {
                    intro: Intro::Nothing,
                    row: *row,
                    variant: Variant::Linked,
                }];
                items.extend(shown.iter().enumerate().map(|(i, &r)| Item {
                    intro: Intro::Rank(start + i + 1),
                    row: r,
                    variant: Variant::Linked,
                }));
                let kind = if similar { "Similar to" } else { "Away from" };
                Parts {
                    page: page.clone(),
                    template: "ranked",
                    title: self.titled(&format!("{kind} {}, page {n} of {pages}", poem.label())),
                    header,
                    items,
                }
            }
            Page::Word(i) => {
                let w = &self.words[*i];
                let header = Header::Word {
                    word: w.word.word.clone(),
                    colour: crate::config::COLOUR_HEX[w.ranking.colour as usize],
                    count: w.ranking.poems.len(),
                    central_href: format!("../{}", self.chronological_href(w.ranking.central)),
                };
                let items = w
                    .ranking
                    .poems
                    .iter()
                    .enumerate()
                    .map(|(rank, &row)| Item {
                        intro: Intro::Rank(rank + 1),
                        row,
                        variant: Variant::Linked,
                    })
                    .collect();
                Parts {
                    page: page.clone(),
                    template: "word",
                    title: self.titled(&format!("{}: the closest poems", w.word.word)),
                    header,
                    items,
                }
            }
            Page::Menu => Parts {
                page: page.clone(),
                template: "menu",
                title: self.layout.title.clone(),
                header: Header::Menu(self.menu_header()),
                items: Vec::new(),
            },
            Page::Explore => Parts {
                page: page.clone(),
                template: "explore",
                title: self.titled("How to read this site"),
                header: Header::Explore {},
                items: Vec::new(),
            },
            Page::Map => Parts {
                page: page.clone(),
                template: "map",
                title: self.titled("A map of every poem"),
                header: Header::Map(map::view(
                    &self.corpus.poems,
                    &self.map.points,
                    self.colours,
                    self.words,
                )),
                items: Vec::new(),
            },
            Page::Media(_) | Page::Feed | Page::Sitemap(_) => Parts {
                page: page.clone(),
                template: "",
                title: String::new(),
                header: Header::Media {},
                items: Vec::new(),
            },
        }
    }

    fn menu_header(&self) -> Value {
        // The cloud in display order, wrapped at the entry width.
        let mut cloud_lines: Vec<Vec<Value>> = vec![Vec::new()];
        let mut width = 1;
        for w in self.words {
            let len = w.word.word.chars().count() + 1;
            if width + len > WIDTH && !cloud_lines.last().unwrap().is_empty() {
                cloud_lines.push(Vec::new());
                width = 1;
            }
            width += len;
            cloud_lines.last_mut().unwrap().push(json!({
                "word": w.word.word,
                "href": paths::url_encode(&paths::word(&w.word.word)),
                "size": w.word.size,
                "bold": w.word.size >= 5,
                "colour": crate::config::COLOUR_HEX[w.ranking.colour as usize],
            }));
        }
        cloud_lines.retain(|l| !l.is_empty());
        // Categories, smallest first, each poem in time order.
        let mut categories: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
        for &row in &self.timeline.order {
            categories
                .entry(self.poem(row).category.as_str())
                .or_default()
                .push(row);
        }
        let mut categories: Vec<(&str, Vec<u32>)> = categories.into_iter().collect();
        categories.sort_by_key(|(name, rows)| (rows.len(), *name));
        let categories: Vec<Value> = categories
            .into_iter()
            .map(|(name, rows)| {
                let mut lines: Vec<Vec<Value>> = vec![Vec::new()];
                let mut width = 1;
                for row in &rows {
                    let id = truncate(&self.poem(*row).id, WIDTH - 2);
                    let len = id.chars().count() + 1;
                    let line = lines.last().unwrap();
                    if !line.is_empty() && (line.len() == 10 || width + len > WIDTH) {
                        lines.push(Vec::new());
                        width = 1;
                    }
                    width += len;
                    lines
                        .last_mut()
                        .unwrap()
                        .push(json!({ "id": id, "href": self.chronological_href(*row) }));
                }
                json!({ "name": truncate(name, WIDTH - 12), "count": rows.len(), "lines": lines })
            })
            .collect();
        json!({
            "title": truncate(&self.layout.title, WIDTH - 2),
            "cloud_lines": cloud_lines,
            "word_count": self.words.len(),
            "seed": self.layout.seed,
            "categories": categories,
            "feed": self.layout.base_url.is_some(),
        })
    }

    /// Render a target's bytes into `out`; what its key was made of, for
    /// the record.
    pub fn render(&self, target: &Target, out: &mut Vec<u8>) -> Result<Trace> {
        out.clear();
        if let Some((fp, file)) = self.feed_file(target) {
            out.extend_from_slice(file.render().as_bytes());
            return Ok(fp.trace(target.key, target.key));
        }
        if let Page::Media(rel) = &target.page {
            let source = self.media.root.join(rel);
            out.extend(std::fs::read(&source).at(Doing::WritingSite, &source)?);
            return Ok(self.trace(target));
        }
        let parts = self.parts(&target.page);
        let trace = self.trace_of(&parts, target);
        let Parts {
            template,
            title,
            header,
            items,
            ..
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
        let (head, tail) = self.renderer.page(template, &shell, &header)?;
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
