//! Word data (the poems' colours and the word pages), reused from the store
//! part by part. The colours are kept under a hash of what the colour words
//! are and which poems contain them; each word page under a hash of its word,
//! the poems containing it and the colour anchors. A typo touches one poem's
//! words, so most of the cloud comes back from the store, and the poems'
//! vectors are needed only for what changed.

use super::store::Store;
use super::ErasedPut;
use crate::config::{Config, COLOUR_NAMES};
use crate::corpus::Corpus;
use crate::derive::colour::{self, Anchors};
use crate::derive::vocabulary::Vocabulary;
use crate::derive::words::{self, CloudRules, CloudWord, WordPage, WordRanking, WordVectors};
use crate::error::Result;
use crate::vectors::{Embeddings, Matrix};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Word and colour embeddings given beside the poems' vectors.
pub struct Companions {
    pub words: Option<Embeddings>,
    pub colours: Option<Embeddings>,
}

/// Colours and word pages, as pages use them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WordData {
    pub colours: Vec<u8>,
    pub words: Vec<WordPage>,
    /// The store keys of the parts it was assembled from, kept while it is.
    pub parts: Vec<[u8; 32]>,
}

/// The colour anchors and each poem's colour, stored together.
#[derive(Serialize, Deserialize)]
struct Colours {
    anchors: Anchors,
    of_poems: Vec<u8>,
}

/// What the word data is computed from, beyond the corpus.
pub struct Sources<'a> {
    pub config: &'a Config,
    pub corpus: &'a Corpus,
    /// A hash of the poems' vectors and of the word and colour embedding files.
    pub vectors: blake3::Hash,
}

/// Where values come from and go: the store to read (none under `--force`)
/// and to write (none for `status`), and the poems' vectors and companions,
/// loaded only when something must be computed.
pub struct Access<'a> {
    pub cache: Option<&'a Store>,
    pub keep: Option<&'a Store>,
    pub load: &'a mut dyn FnMut() -> Result<(Matrix, Companions)>,
}

pub fn word_data(sources: &Sources, access: Access) -> Result<WordData> {
    let Sources { config, corpus, .. } = *sources;
    let Access { cache, keep, load } = access;
    let put = |key: &blake3::Hash, value: &dyn ErasedPut| -> Result<()> {
        match keep {
            Some(store) => value.put(store, key),
            None => Ok(()),
        }
    };
    let vocabulary = Vocabulary::of(corpus);
    let rules = CloudRules {
        max_words: config.max_words,
        min_occurrences: config.min_occurrences,
        min_word_length: config.min_word_length,
        extra_stop_words: &config.stop_words,
    };
    let mut cloud = words::cloud(&vocabulary, &rules);
    words::shuffle(&mut cloud, config.seed);

    let mut loaded: Option<(Matrix, Companions)> = None;
    let colour_key = colours_key(sources, &vocabulary);
    let colours: Colours = match cache.and_then(|s| s.derived(&colour_key)) {
        Some(c) => c,
        None => {
            let (m, companions) = need(&mut loaded, load)?;
            let word_vectors = WordVectors::new(&vocabulary, m, companions.words.as_ref());
            let anchors = anchors(config, m, companions, &word_vectors);
            let of_poems = colour::assign(m, &anchors);
            let c = Colours { anchors, of_poems };
            put(&colour_key, &c)?;
            c
        }
    };

    let anchors_hash =
        blake3::hash(&postcard::to_stdvec(&colours.anchors).expect("anchors serialise"));
    let keys: Vec<blake3::Hash> = cloud
        .iter()
        .map(|w| word_key(sources, &vocabulary, &anchors_hash, &w.word))
        .collect();
    let mut rankings: Vec<Option<Option<WordRanking>>> = keys
        .iter()
        .map(|k| cache.and_then(|s| s.derived(k)))
        .collect();
    let missing: Vec<usize> = (0..cloud.len())
        .filter(|&i| rankings[i].is_none())
        .collect();
    if !missing.is_empty() {
        let (m, companions) = need(&mut loaded, load)?;
        let word_vectors = WordVectors::new(&vocabulary, m, companions.words.as_ref());
        let wanted: Vec<&CloudWord> = missing.iter().map(|&i| &cloud[i]).collect();
        let computed = words::rank_words(
            &wanted,
            &word_vectors,
            m,
            &colours.anchors,
            config.word_poems,
        );
        for (i, ranking) in missing.into_iter().zip(computed) {
            put(&keys[i], &ranking)?;
            rankings[i] = Some(ranking);
        }
    }
    let words = cloud
        .into_iter()
        .zip(rankings)
        .filter_map(|(word, ranking)| {
            // A word without a vector (in no poem and no embedding) has no page.
            Some(WordPage {
                word,
                ranking: ranking.flatten()?,
            })
        })
        .collect();
    let parts = std::iter::once(colour_key)
        .chain(keys)
        .map(|k| *k.as_bytes())
        .collect();
    Ok(WordData {
        colours: colours.of_poems,
        words,
        parts,
    })
}

/// The poems' vectors and the companions, loaded at the first need.
fn need<'a>(
    slot: &'a mut Option<(Matrix, Companions)>,
    load: &mut dyn FnMut() -> Result<(Matrix, Companions)>,
) -> Result<&'a (Matrix, Companions)> {
    if slot.is_none() {
        *slot = Some(load()?);
    }
    Ok(slot.as_ref().expect("loaded just above"))
}

/// Each colour's anchor: its vector in the colour embeddings, else the
/// normalised mean of its words' vectors.
fn anchors(
    config: &Config,
    m: &Matrix,
    companions: &Companions,
    word_vectors: &WordVectors,
) -> Anchors {
    let colour_lookup = companions.colours.as_ref().map(|c| (c, c.lookup()));
    COLOUR_NAMES
        .iter()
        .zip(&config.colour_words)
        .map(|(name, words)| {
            if let Some((c, lookup)) = &colour_lookup {
                if let Some(&i) = lookup.get(*name) {
                    return Some(c.vectors.row(i).to_vec());
                }
            }
            let vs: Vec<Vec<f32>> = words
                .par_iter()
                .filter_map(|w| word_vectors.get(w))
                .collect();
            colour::unit_mean(vs.iter().map(Vec::as_slice), m.dim)
        })
        .collect()
}

/// The colours depend on the vectors, the embedding files, and for each
/// colour word the poems that contain it.
fn colours_key(sources: &Sources, vocabulary: &Vocabulary) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"colours");
    h.update(sources.vectors.as_bytes());
    for words in &sources.config.colour_words {
        h.update(&(words.len() as u64).to_le_bytes());
        for word in words {
            hash_word(&mut h, vocabulary, word);
        }
    }
    h.finalize()
}

/// A word page depends on the vectors, the embedding files, the word and the
/// poems containing it, the anchors (for its colour) and `word_poems`.
fn word_key(
    sources: &Sources,
    vocabulary: &Vocabulary,
    anchors: &blake3::Hash,
    word: &str,
) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"word page");
    h.update(sources.vectors.as_bytes());
    h.update(anchors.as_bytes());
    h.update(&(sources.config.word_poems as u64).to_le_bytes());
    hash_word(&mut h, vocabulary, word);
    h.finalize()
}

fn hash_word(h: &mut blake3::Hasher, vocabulary: &Vocabulary, word: &str) {
    h.update(&(word.len() as u64).to_le_bytes());
    h.update(word.as_bytes());
    let rows = vocabulary.poems_with(word).unwrap_or(&[]);
    h.update(&(rows.len() as u64).to_le_bytes());
    for row in rows {
        h.update(&row.to_le_bytes());
    }
}
