//! The derived-data rules of the build's stages 1–4 (`mod.rs`), each a fingerprint of its
//! declared inputs and a compute function that reads nothing else: the
//! corpus, the vectors and their companion files, neighbours, vocabulary,
//! cloud, word vectors, colours, word pages and the timeline (the table is
//! in `rule.rs`). Files are read only through `Inputs`, so the root sees them.

use super::inputs::Inputs;
use super::memo::{Derived, Keep, Memo};
use super::rule::{hash_value, part_digest, Input, Instance, Part, Rule};
use crate::config::{Config, COLOUR_NAMES};
use crate::corpus::{self, Corpus};
use crate::derive::colour::{self, Anchors};
use crate::derive::map::{self, MapLayout};
use crate::derive::timeline::Timeline;
use crate::derive::vocabulary::Vocabulary;
use crate::derive::words::{self, CloudWord, WordPage, WordRanking, WordVectors};
use crate::derive::Neighbours;
use crate::embed::{Embedder, Text};
use crate::error::Result;
use crate::progress::Progress;
use crate::render::Renderer;
use crate::site::entry::{EntryView, Placement, Variant};
use crate::vectors::{self, Embeddings, Matrix};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// What every rule here reads from.
pub struct Context<'a> {
    pub memo: &'a Memo,
    pub config: &'a Config,
    pub inputs: &'a Inputs,
    pub progress: &'a Progress,
    /// `[model]`: it makes every vector.
    pub embedder: Option<&'a Embedder>,
    /// Ctrl-C: a model stops between batches.
    pub cancel: &'a AtomicBool,
}

/// The name a file goes by in fingerprints and explanations: its path
/// relative to the collection folder (keys stay portable).
pub fn file_name(config: &Config, path: &Path) -> String {
    path.strip_prefix(&config.root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Stage 1: poems.json, parsed and validated.
pub fn corpus(cx: &Context) -> Result<Derived<'static, Corpus>> {
    let path = &cx.config.poems;
    let (bytes, hash) = cx.inputs.read_file(path, corpus::read)?;
    let fp = cx
        .memo
        .fingerprint(Instance::only(Rule::Corpus))
        .input(file_name(cx.config, path), hash);
    let media = cx.config.media.clone();
    let path = path.clone();
    let derived = cx.memo.derive(fp, Keep::Memory, move |notes| {
        let corpus = corpus::parse(&path, &bytes, &media)?;
        notes.extend(corpus::shared_ids(&path, &corpus, 5));
        Ok(corpus)
    })?;
    for note in &derived.notes {
        cx.progress.warn(&format!("warning: {note}"));
    }
    Ok(derived)
}

/// Every poem's `poem_index`, in order.
fn poem_indices(corpus: &Corpus) -> Input {
    Input {
        name: "poem indices",
        hash: hash_value(&corpus.poems.iter().map(|p| p.index).collect::<Vec<_>>()),
    }
}

/// Every poem's text, in order.
fn poem_texts(corpus: &Corpus) -> Input {
    Input {
        name: "poem texts",
        hash: hash_value(&corpus.poems.iter().map(|p| &p.content).collect::<Vec<_>>()),
    }
}

/// Which poems are settled (`timeline::settled`), by row.
fn settled_poems(settled: &[bool]) -> Input {
    Input {
        name: "settled poems",
        hash: hash_value(&settled),
    }
}

/// Stage 2: one vector per poem, from the model, the embeddings file or
/// the lexical embedder; warnings (embeddings of unknown poems) are
/// repeated on reuse.
pub fn vectors<'v>(cx: &Context<'v>, corpus: &Arc<Corpus>) -> Result<Derived<'v, Matrix>> {
    let fp = cx
        .memo
        .fingerprint(Instance::only(Rule::Vectors))
        .with(poem_indices(corpus));
    let derived = match (cx.embedder, &cx.config.embeddings) {
        (Some(embedder), file) => {
            if let Some(path) = file {
                cx.progress.warn(&format!(
                    "warning: {} is ignored: [model] makes every vector",
                    path.display()
                ));
            }
            let fp = fp
                .input("model", embedder.identity())
                .with(poem_texts(corpus));
            let corpus = Arc::clone(corpus);
            let (progress, cancel) = (cx.progress, cx.cancel);
            cx.memo.derive(fp, Keep::Store, move |_| {
                embedder.embed("poems", &poem_text_list(&corpus), progress, cancel)
            })?
        }
        (None, Some(path)) => {
            let fp = fp.input(file_name(cx.config, path), cx.inputs.hash(path)?);
            let (path, corpus) = (path.clone(), Arc::clone(corpus));
            cx.memo.derive(fp, Keep::Store, move |notes| {
                let parsed = vectors::load(&path)?;
                let (m, warnings) = vectors::align(&path, &corpus, &parsed)?;
                notes.extend(warnings);
                Ok(m)
            })?
        }
        (None, None) => {
            cx.progress.note(
                "no embeddings file: using the built-in lexical embedder (hashed TF-IDF of the words)",
            );
            let fp = fp.with(poem_texts(corpus));
            let corpus = Arc::clone(corpus);
            cx.memo
                .derive(fp, Keep::Store, move |_| Ok(vectors::lexical(&corpus)))?
        }
    };
    for note in &derived.notes {
        cx.progress.warn(&format!("warning: {note}"));
    }
    if derived.fresh {
        // Which poem's vector changed, for explanations.
        let m = derived.get(cx.memo)?;
        let parts = (0..m.rows())
            .map(|row| {
                (
                    Part::Poem(corpus.poems[row].index),
                    part_digest(&m.row_bytes(row)),
                )
            })
            .collect();
        cx.memo.set_parts(&Instance::only(Rule::Vectors), parts);
    }
    Ok(derived)
}

/// Each poem's text, as the model sees it: its `content` alone.
pub fn poem_text_list(corpus: &Corpus) -> Vec<Text<'_>> {
    corpus
        .poems
        .iter()
        .map(|p| Text {
            label: format!("poem {}", p.index),
            text: &p.content,
        })
        .collect()
}

/// Vectors the model makes for named texts (the cloud's words, the
/// colours' phrases), in the form of an embeddings file.
fn model_embeddings<'v>(
    cx: &Context<'v>,
    rule: Rule,
    named: Vec<(String, String)>,
) -> Result<Derived<'v, Embeddings>> {
    let embedder = cx.embedder.expect("a model");
    let fp = cx
        .memo
        .fingerprint(Instance::of(rule, "from the model"))
        .input("model", embedder.identity())
        .setting("texts", &named);
    let (progress, cancel) = (cx.progress, cx.cancel);
    cx.memo.derive(fp, Keep::Store, move |_| {
        let texts: Vec<Text> = named
            .iter()
            .map(|(name, text)| Text {
                label: format!("{} {name:?}", rule.name()),
                text,
            })
            .collect();
        let vectors = embedder.embed(rule.name(), &texts, progress, cancel)?;
        Ok(Embeddings {
            keys: named.into_iter().map(|(name, _)| name).collect(),
            vectors,
        })
    })
}

/// Stage 2: a word or colour embeddings file, parsed and checked against
/// the poems' dimension. `None` without one, beside the lexical embedder,
/// or with a model (which makes these vectors itself).
pub fn companion<'v>(
    cx: &Context<'v>,
    rule: Rule,
    path: &Option<PathBuf>,
    vectors: &'v Derived<'_, Matrix>,
) -> Result<Option<Derived<'v, Embeddings>>> {
    let Some(path) = path else {
        return Ok(None);
    };
    if cx.embedder.is_some() {
        cx.progress.warn(&format!(
            "warning: {} is ignored: [model] makes every vector",
            path.display()
        ));
        return Ok(None);
    }
    if cx.config.embeddings.is_none() {
        cx.progress.warn(&format!(
            "warning: {} is ignored: {} are not mixed with the lexical embedder",
            path.display(),
            rule.name()
        ));
        return Ok(None);
    }
    let fp = cx
        .memo
        .fingerprint(Instance::only(rule))
        .input(file_name(cx.config, path), cx.inputs.hash(path)?)
        .value_of(vectors);
    let path = path.clone();
    let memo = cx.memo;
    cx.memo
        .derive(fp, Keep::Store, move |_| {
            let e = vectors::load(&path)?;
            vectors::check_dimension(&path, &e, vectors.get(memo)?.dim)?;
            Ok(e)
        })
        .map(Some)
}

/// Stage 3: rankings and chains, as long as the pages need: updated from
/// the last build's where only some vectors are new, changed or gone.
pub fn neighbours<'v>(
    cx: &Context<'v>,
    corpus: &Arc<Corpus>,
    vectors: &'v Derived<'_, Matrix>,
    settled: &[bool],
    list_len: usize,
) -> Result<Derived<'v, Neighbours>> {
    let fp = cx
        .memo
        .fingerprint(Instance::only(Rule::Neighbours))
        .value_of(vectors)
        .with(poem_indices(corpus))
        .with(settled_poems(settled))
        .setting("pages.poems_per_page × pages per poem", &(list_len as u64));
    let (memo, progress) = (cx.memo, cx.progress);
    let corpus = Arc::clone(corpus);
    let settled = settled.to_vec();
    cx.memo.derive(fp, Keep::Store, move |_| {
        let poems: Vec<u32> = corpus.poems.iter().map(|p| p.index).collect();
        let m = vectors.get(memo)?;
        let Some(previous) = memo.previous::<Neighbours>(&Instance::only(Rule::Neighbours)) else {
            return Ok(Neighbours::compute(&m, &poems, &settled, list_len, list_len));
        };
        let (value, again) =
            Neighbours::update(previous, &m, &poems, &settled, list_len, list_len);
        if !again.whole {
            progress.note(&format!(
                "neighbours updated: {} of {} rankings and {} chains computed again, from {} rows of similarities",
                again.rankings,
                poems.len(),
                again.chains,
                again.rows
            ));
        }
        Ok(value)
    })
}

/// Stage 3: each poem's place on the map. The layout is made over the
/// settled poems, from their vectors and the first settled poems of their
/// similar rankings; a poem of the newest period is then placed among its
/// nearest settled poems (`map::place_all`), so that it lays out nothing
/// again.
pub fn map_layout<'v>(
    cx: &Context<'v>,
    vectors: &'v Derived<'_, Matrix>,
    settled: &[bool],
    neighbours: &Neighbours,
) -> Result<MapLayout> {
    let (memo, progress) = (cx.memo, cx.progress);
    let (rows, lists) = map::settled_graph(&neighbours.similar, settled);
    // The settled poems' vectors, as a hash: it is read again only when a
    // vector or the settled poems change, and an appended poem leaves it.
    let fp = memo
        .fingerprint(Instance::of(Rule::MapLayout, "settled vectors"))
        .value_of(vectors)
        .with(settled_poems(settled));
    let of_rows = rows.clone();
    let settled_vectors = memo.derive(fp, Keep::Store, move |_| {
        let m = vectors.get(memo)?;
        let mut hasher = blake3::Hasher::new();
        for &row in &of_rows {
            hasher.update(&m.row_bytes(row as usize));
        }
        Ok(*hasher.finalize().as_bytes())
    })?;
    let fp = memo
        .fingerprint(Instance::only(Rule::MapLayout))
        .value_of(&settled_vectors)
        .input("nearest settled poems", hash_value(&lists));
    let of_rows = rows.clone();
    let layout = memo
        .derive(fp, Keep::Store, move |_| {
            let m = vectors.get(memo)?;
            let data = of_rows
                .iter()
                .flat_map(|&r| m.row(r as usize).iter().copied());
            let m = Matrix {
                dim: m.dim,
                data: data.collect(),
            };
            let lists: Vec<&[u32]> = lists.iter().map(Vec::as_slice).collect();
            let started = std::time::Instant::now();
            let layout = map::layout(&m, &lists);
            progress.note(&format!(
                "map laid out: {} settled poems in {:.2} s",
                lists.len(),
                started.elapsed().as_secs_f64()
            ));
            Ok(layout)
        })?
        .get(memo)?;
    Ok(map::place_all(&layout, &rows, &neighbours.similar, settled))
}

/// The `[wordcloud]` keys that choose and order the cloud's words.
#[derive(Serialize)]
struct CloudSettings<'a> {
    max_words: usize,
    min_occurrences: usize,
    min_word_length: usize,
    seed: u64,
    stop_words: &'a [String],
}

/// The colours' anchors and each poem's colour.
#[derive(Debug, Serialize, Deserialize)]
pub struct Colours {
    pub anchors: Anchors,
    pub of_poems: Vec<u8>,
}

/// A word's vector; `None` when nothing gives it one.
type WordVector = Option<Vec<f32>>;

/// What stage 4 gives the pages.
pub struct WordData {
    pub colours: Arc<Colours>,
    /// The cloud's words that have a page, in display order.
    pub words: Vec<WordPage>,
}

/// Stage 4: vocabulary, cloud, word vectors, colours and word pages, each
/// a rule of its own below.
pub fn word_data<'v, 'w>(
    cx: &Context<'v>,
    corpus: &Arc<Corpus>,
    settled: &[bool],
    vectors: &'w Derived<'_, Matrix>,
    word_embeddings: Option<&'w Derived<'v, Embeddings>>,
    colour_embeddings: Option<&'w Derived<'v, Embeddings>>,
) -> Result<WordData> {
    let memo = cx.memo;
    let vocabulary = vocabulary(cx, corpus)?;
    let cloud = cloud(cx, &vocabulary)?;
    let vocabulary = vocabulary.get(memo)?;
    // With a model, it makes the words' vectors and the colours' anchors
    // (a colour's words joined by single spaces).
    let from_model = match cx.embedder {
        None => None,
        Some(_) => {
            let words = cloud.iter().map(|w| (w.word.clone(), w.word.clone()));
            let phrases = COLOUR_NAMES
                .iter()
                .zip(&cx.config.colour_words)
                .map(|(name, words)| (name.to_string(), words.join(" ")));
            Some((
                model_embeddings(cx, Rule::WordEmbeddings, words.collect())?,
                model_embeddings(cx, Rule::ColourEmbeddings, phrases.collect())?,
            ))
        }
    };
    let (word_embeddings, colour_embeddings) = match &from_model {
        Some((words, colours)) => (Some(words), Some(colours)),
        None => (word_embeddings, colour_embeddings),
    };
    // Word vectors of the cloud's words and the colours' words.
    let mut wanted: Vec<&str> = cloud.iter().map(|w| w.word.as_str()).collect();
    wanted.extend(cx.config.colour_words.iter().flatten().map(String::as_str));
    wanted.sort_unstable();
    wanted.dedup();
    let word_vectors = word_vectors(cx, &wanted, &vocabulary, vectors, word_embeddings)?;
    let vector_of: BTreeMap<&str, &Derived<WordVector>> =
        wanted.iter().copied().zip(&word_vectors).collect();
    let colours = colours(cx, settled, vectors, &vector_of, colour_embeddings)?;
    let words = word_pages(cx, &cloud, vectors, &vector_of, &colours)?;
    Ok(WordData {
        colours: colours.get(memo)?,
        words,
    })
}

/// Every word of the poems, with the poems that hold it.
fn vocabulary(cx: &Context, corpus: &Arc<Corpus>) -> Result<Derived<'static, Vocabulary>> {
    let fp = cx
        .memo
        .fingerprint(Instance::only(Rule::Vocabulary))
        .with(poem_texts(corpus));
    let corpus = Arc::clone(corpus);
    cx.memo
        .derive(fp, Keep::Memory, move |_| Ok(Vocabulary::of(&corpus)))
}

/// The cloud's words, in display order.
fn cloud(cx: &Context, vocabulary: &Derived<Vocabulary>) -> Result<Arc<Vec<CloudWord>>> {
    let config = cx.config;
    let settings = CloudSettings {
        max_words: config.max_words,
        min_occurrences: config.min_occurrences,
        min_word_length: config.min_word_length,
        seed: config.seed,
        stop_words: &config.stop_words,
    };
    let fp = cx
        .memo
        .fingerprint(Instance::only(Rule::Cloud))
        .value_of(vocabulary)
        .settings("wordcloud", &settings);
    let vocabulary = vocabulary.get(cx.memo)?;
    let rules = words::CloudRules {
        max_words: settings.max_words,
        min_occurrences: settings.min_occurrences,
        min_word_length: settings.min_word_length,
        extra_stop_words: settings.stop_words,
    };
    let seed = settings.seed;
    cx.memo
        .derive(fp, Keep::Memory, move |_| {
            let mut cloud = words::cloud(&vocabulary, &rules);
            words::shuffle(&mut cloud, seed);
            Ok(cloud)
        })?
        .get(cx.memo)
}

/// Each wanted word's vector, from the word embeddings or the mean of the
/// poems that hold it.
fn word_vectors<'w>(
    cx: &Context,
    wanted: &[&str],
    vocabulary: &Vocabulary,
    vectors: &Derived<'_, Matrix>,
    word_embeddings: Option<&Derived<'_, Embeddings>>,
) -> Result<Vec<Derived<'w, WordVector>>> {
    let memo = cx.memo;
    let fps = wanted
        .iter()
        .map(|word| {
            let rows = vocabulary.poems_with(word).unwrap_or(&[]);
            let fp = memo
                .fingerprint(Instance::of(Rule::WordVector, word))
                .setting("word", word)
                .setting("poems with it", &rows)
                .value_of(vectors);
            match word_embeddings {
                Some(e) => fp.value_of(e),
                None => fp,
            }
        })
        .collect();
    memo.derive_batch(fps, |missing| {
        let m = vectors.get(memo)?;
        let embedded = word_embeddings.map(|e| e.get(memo)).transpose()?;
        let lookup = WordVectors::new(vocabulary, &m, embedded.as_deref());
        Ok(missing.par_iter().map(|&i| lookup.get(wanted[i])).collect())
    })
}

/// The colours' anchors and each settled poem's colour.
fn colours<'a>(
    cx: &Context<'a>,
    settled: &[bool],
    vectors: &'a Derived<'_, Matrix>,
    vector_of: &'a BTreeMap<&str, &Derived<WordVector>>,
    colour_embeddings: Option<&'a Derived<'_, Embeddings>>,
) -> Result<Derived<'a, Colours>> {
    let (memo, config) = (cx.memo, cx.config);
    let named: BTreeMap<&str, &Vec<String>> = COLOUR_NAMES
        .iter()
        .copied()
        .zip(&config.colour_words)
        .collect();
    let mut fp = memo
        .fingerprint(Instance::only(Rule::Colours))
        .settings("colors", &named)
        .value_of(vectors)
        .with(settled_poems(settled));
    let settled = settled.to_vec();
    for word in config.colour_words.iter().flatten() {
        let v = vector_of[word.as_str()];
        fp = fp.value_of(v);
    }
    if let Some(e) = colour_embeddings {
        fp = fp.value_of(e);
    }
    memo.derive(fp, Keep::Store, move |_| {
        let m = vectors.get(memo)?;
        let embedded = colour_embeddings.map(|e| e.get(memo)).transpose()?;
        let lookup = embedded.as_ref().map(|e| (e, e.lookup()));
        let anchors = COLOUR_NAMES
            .iter()
            .zip(&config.colour_words)
            .map(|(name, words)| {
                if let Some((e, lookup)) = &lookup {
                    if let Some(&i) = lookup.get(*name) {
                        return Ok(Some(e.vectors.row(i).to_vec()));
                    }
                }
                let vs = words
                    .iter()
                    .map(|w| vector_of[w.as_str()].get(memo))
                    .collect::<Result<Vec<_>>>()?;
                Ok(colour::unit_mean(
                    vs.iter().filter_map(|v| v.as_deref()),
                    m.dim,
                ))
            })
            .collect::<Result<Anchors>>()?;
        let of_poems = colour::assign(&m, &anchors, &settled);
        Ok(Colours { anchors, of_poems })
    })
}

/// A page for each cloud word that has a vector; the vectors are read
/// only for the pages computed.
fn word_pages(
    cx: &Context,
    cloud: &[CloudWord],
    vectors: &Derived<'_, Matrix>,
    vector_of: &BTreeMap<&str, &Derived<WordVector>>,
    colours: &Derived<Colours>,
) -> Result<Vec<WordPage>> {
    let (memo, config) = (cx.memo, cx.config);
    let fps = cloud
        .iter()
        .map(|w| {
            let v = vector_of[w.word.as_str()];
            memo.fingerprint(Instance::of(Rule::WordPage, &w.word))
                .value_of(v)
                .value_of(colours)
                .value_of(vectors)
                .setting("wordcloud.word_poems", &(config.word_poems as u64))
        })
        .collect();
    let colours = colours.get(memo)?;
    let rankings: Vec<Derived<Option<WordRanking>>> = memo.derive_batch(fps, |missing| {
        let m = vectors.get(memo)?;
        let wanted = missing
            .iter()
            .map(|&i| vector_of[cloud[i].word.as_str()].get(memo))
            .collect::<Result<Vec<_>>>()?;
        let queries: Vec<&[f32]> = wanted.iter().filter_map(|v| v.as_deref()).collect();
        let mut ranked =
            words::rank_words(&queries, &m, &colours.anchors, config.word_poems).into_iter();
        Ok(wanted
            .iter()
            .map(|v| v.as_ref().as_ref().and_then(|_| ranked.next()))
            .collect())
    })?;
    let mut words = Vec::with_capacity(cloud.len());
    for (word, ranking) in cloud.iter().zip(&rankings) {
        if let Some(ranking) = &*ranking.get(memo)? {
            words.push(WordPage {
                word: word.clone(),
                ranking: ranking.clone(),
            });
        }
    }
    Ok(words)
}

/// The chronological order and the bars' cells.
pub fn timeline(cx: &Context, corpus: &Arc<Corpus>) -> Result<Derived<'static, Timeline>> {
    let times: Vec<(i64, usize)> = corpus.poems.iter().map(|p| (p.time, p.position)).collect();
    let fp = cx
        .memo
        .fingerprint(Instance::only(Rule::Timeline))
        .input("poem times", hash_value(&times))
        .setting("timeline.end", &cx.config.timeline_end);
    let corpus = Arc::clone(corpus);
    let end = cx.config.timeline_end;
    cx.memo
        .derive(fp, Keep::Memory, move |_| Ok(Timeline::new(&corpus, end)))
}

/// The most pages per poem whose similar and different pages, with the rest
/// of the site, fit in `storage_limit_gb` (10⁹ bytes), estimated from the
/// rendered size of every entry.
pub fn pages_for_storage(config: &Config, corpus: &Corpus, renderer: &Renderer) -> Result<usize> {
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
