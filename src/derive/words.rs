//! The word cloud (selection, font sizes, seeded shuffle), word vectors and
//! word pages.

use super::colour::{nearest, unit_mean, Anchors};
use super::rank::{rank_against, score_many, top_of};
use super::vocabulary::Vocabulary;
use crate::vectors::{Embeddings, Matrix};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Built-in English stop words; `wordcloud.stop_words` adds to them.
pub const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "cannot",
    "could",
    "couldn",
    "did",
    "didn",
    "do",
    "does",
    "doesn",
    "doing",
    "don",
    "down",
    "during",
    "each",
    "even",
    "ever",
    "every",
    "few",
    "for",
    "from",
    "further",
    "get",
    "got",
    "had",
    "hadn",
    "has",
    "hasn",
    "have",
    "haven",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "isn",
    "it",
    "its",
    "itself",
    "just",
    "let",
    "like",
    "ll",
    "me",
    "might",
    "more",
    "most",
    "must",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "shall",
    "she",
    "should",
    "so",
    "some",
    "still",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "to",
    "too",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "very",
    "was",
    "wasn",
    "we",
    "were",
    "weren",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "won",
    "would",
    "wouldn",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// Lowercase runs of letters and digits.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudWord {
    pub word: String,
    pub count: u64,
    /// Font size 1–7.
    pub size: u8,
}

/// What the cloud selection depends on.
pub struct CloudRules<'a> {
    pub max_words: usize,
    pub min_occurrences: usize,
    pub min_word_length: usize,
    pub extra_stop_words: &'a [String],
}

/// Words by count (descending, ties alphabetical), with their font sizes.
pub fn cloud(vocabulary: &Vocabulary, rules: &CloudRules) -> Vec<CloudWord> {
    let stop: HashSet<&str> = STOP_WORDS
        .iter()
        .copied()
        .chain(rules.extra_stop_words.iter().map(String::as_str))
        .collect();
    let counts = vocabulary.words.iter().filter(|(word, _)| {
        word.chars().count() >= rules.min_word_length
            && !word.chars().all(|c| c.is_numeric())
            && !stop.contains(word.as_str())
    });
    let mut kept: Vec<(String, u64)> = counts
        .filter(|(_, used)| used.count >= rules.min_occurrences as u64)
        .map(|(word, used)| (word.clone(), used.count))
        .collect();
    kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    kept.truncate(rules.max_words);
    let max = kept.first().map_or(0, |w| w.1);
    let min = kept.last().map_or(0, |w| w.1);
    kept.into_iter()
        .map(|(word, count)| CloudWord {
            size: font_size(count, min, max),
            word,
            count,
        })
        .collect()
}

/// `floor(1 + ln(c − min + 1) / ln(max − min + 1) × 6 + 0.5)`; 7 when max = min.
pub fn font_size(count: u64, min: u64, max: u64) -> u8 {
    if max == min {
        return 7;
    }
    let x = ((count - min + 1) as f64).ln() / ((max - min + 1) as f64).ln();
    (1.0 + x * 6.0 + 0.5).floor().clamp(1.0, 7.0) as u8
}

/// SplitMix64: a small, fixed generator so the shuffle never changes with a
/// dependency's version.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..bound` (Lemire's multiply-shift, bias below 2⁻³²).
    pub fn below(&mut self, bound: u64) -> u64 {
        ((self.next_u64() as u128 * bound as u128) >> 64) as u64
    }
    /// A float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Fisher–Yates with the configured seed.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = SplitMix64::new(seed);
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// Word vectors: from word embeddings where they have the word, else the
/// normalised mean of the vectors of the poems containing it.
pub struct WordVectors<'a> {
    vectors: &'a Matrix,
    embedded: Option<(&'a Embeddings, HashMap<&'a str, usize>)>,
    vocabulary: &'a Vocabulary,
}

impl<'a> WordVectors<'a> {
    pub fn new(
        vocabulary: &'a Vocabulary,
        vectors: &'a Matrix,
        embedded: Option<&'a Embeddings>,
    ) -> Self {
        WordVectors {
            vectors,
            embedded: embedded.map(|e| (e, e.lookup())),
            vocabulary,
        }
    }

    pub fn get(&self, word: &str) -> Option<Vec<f32>> {
        if let Some((e, lookup)) = &self.embedded {
            if let Some(&i) = lookup.get(word) {
                return Some(e.vectors.row(i).to_vec());
            }
        }
        let rows = self.vocabulary.poems_with(word)?;
        unit_mean(
            rows.iter().map(|&r| self.vectors.row(r as usize)),
            self.vectors.dim,
        )
    }
}

/// A word of the cloud with its page's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordPage {
    pub word: CloudWord,
    pub ranking: WordRanking,
}

/// A word page's poems and colour, computed from its word's vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordRanking {
    pub colour: u8,
    /// Rows of the closest poems, best first.
    pub poems: Vec<u32>,
    /// The shown poem nearest the centroid of the shown poems.
    pub central: u32,
}

/// Each word's ranking, from its vector.
pub fn rank_words(
    word_vectors: &[&[f32]],
    vectors: &Matrix,
    anchors: &Anchors,
    word_poems: usize,
) -> Vec<WordRanking> {
    let scores = score_many(vectors, word_vectors);
    word_vectors
        .iter()
        .zip(scores)
        .map(|(v, scores)| {
            let poems = top_of(&scores, word_poems);
            let centroid = unit_mean(poems.iter().map(|&r| vectors.row(r as usize)), vectors.dim);
            let central = match centroid {
                Some(c) => poems[rank_against(&subset(vectors, &poems), &c, 1)[0] as usize],
                None => poems[0],
            };
            WordRanking {
                colour: nearest(v, anchors),
                poems,
                central,
            }
        })
        .collect()
}

fn subset(m: &Matrix, rows: &[u32]) -> Matrix {
    let mut data = Vec::with_capacity(rows.len() * m.dim);
    for &r in rows {
        data.extend_from_slice(m.row(r as usize));
    }
    Matrix { dim: m.dim, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_sizes_by_hand() {
        assert_eq!(font_size(5, 5, 5), 7);
        assert_eq!(font_size(5, 5, 100), 1);
        assert_eq!(font_size(100, 5, 100), 7);
        // ln(10)/ln(96) × 6 + 1.5 = 4.52…
        assert_eq!(font_size(14, 5, 100), 4);
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        shuffle(&mut a, 7);
        shuffle(&mut b, 7);
        assert_eq!(a, b);
        let mut c: Vec<u32> = (0..50).collect();
        shuffle(&mut c, 8);
        assert_ne!(a, c);
        a.sort();
        assert_eq!(a, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn cloud_selection_by_hand() {
        // rose ×3, sea ×3, ash ×2, "the" (stop word) ×3, "2023" (digits) ×3,
        // "in" (too short) ×3, "fog" ×1.
        let c = Vocabulary::of(&crate::corpus::of_texts(&[
            "Rose sea the 2023 in ash",
            "rose SEA the 2023 in",
            "rose, sea; the 2023 in ash fog",
        ]));
        let extra = vec!["ash".to_string()];
        let rules = CloudRules {
            max_words: 10,
            min_occurrences: 2,
            min_word_length: 3,
            extra_stop_words: &[],
        };
        let words: Vec<(String, u64, u8)> = cloud(&c, &rules)
            .into_iter()
            .map(|w| (w.word, w.count, w.size))
            .collect();
        // Ties by count are alphabetical; sizes: max 3, min 2 → 7 and 1.
        assert_eq!(
            words,
            vec![
                ("rose".into(), 3, 7),
                ("sea".into(), 3, 7),
                ("ash".into(), 2, 1)
            ]
        );
        let rules = CloudRules {
            max_words: 1,
            min_occurrences: 2,
            min_word_length: 3,
            extra_stop_words: &extra,
        };
        let words: Vec<String> = cloud(&c, &rules).into_iter().map(|w| w.word).collect();
        assert_eq!(words, vec!["rose"]);
    }

    #[test]
    fn word_vectors_fall_back_to_the_mean_of_their_poems() {
        let c = Vocabulary::of(&crate::corpus::of_texts(&["rose", "rose sea", "sea"]));
        let m = Matrix {
            dim: 2,
            data: vec![1.0, 0.0, 0.6, 0.8, 0.0, 1.0],
        };
        let wv = WordVectors::new(&c, &m, None);
        let rose = wv.get("rose").unwrap();
        let norm = (1.6f32 * 1.6 + 0.8 * 0.8).sqrt();
        assert!((rose[0] - 1.6 / norm).abs() < 1e-6 && (rose[1] - 0.8 / norm).abs() < 1e-6);
        assert_eq!(wv.get("absent"), None);
    }

    #[test]
    fn tokens_are_lowercase_alphanumeric_runs() {
        let t: Vec<String> = tokens("Rose's  café, 2023-04! ÉTÉ").collect();
        assert_eq!(t, vec!["rose", "s", "café", "2023", "04", "été"]);
    }
}
