//! Every word of the collection, from one pass over the texts: how often it
//! occurs (the cloud's counts) and which poems contain it (word vectors).

use super::words::tokens;
use crate::corpus::Corpus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One word's use across the collection.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordUse {
    /// Occurrences in all poems.
    pub count: u64,
    /// Rows of the poems that contain it, ascending.
    pub poems: Vec<u32>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Vocabulary {
    pub words: HashMap<String, WordUse>,
}

/// Poems per task: each task counts its slice, and slices merge in order.
const SLICE: usize = 512;

impl Vocabulary {
    pub fn of(corpus: &Corpus) -> Vocabulary {
        let parts: Vec<HashMap<String, WordUse>> = corpus
            .poems
            .par_chunks(SLICE)
            .enumerate()
            .map(|(slice, poems)| {
                let mut words: HashMap<String, WordUse> = HashMap::new();
                for (i, poem) in poems.iter().enumerate() {
                    let row = (slice * SLICE + i) as u32;
                    for word in tokens(&poem.content) {
                        let entry = words.entry(word).or_default();
                        entry.count += 1;
                        if entry.poems.last() != Some(&row) {
                            entry.poems.push(row);
                        }
                    }
                }
                words
            })
            .collect();
        let mut parts = parts.into_iter();
        let mut words = parts.next().unwrap_or_default();
        for part in parts {
            for (word, used) in part {
                let entry = words.entry(word).or_default();
                entry.count += used.count;
                entry.poems.extend(used.poems);
            }
        }
        Vocabulary { words }
    }

    pub fn poems_with(&self, word: &str) -> Option<&[u32]> {
        self.words.get(word).map(|w| w.poems.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_poems_over_slices() {
        let texts: Vec<String> = (0..1300)
            .map(|i| match i % 3 {
                0 => "rose rose sea".to_string(),
                1 => "Sea".to_string(),
                _ => format!("ash w{i}"),
            })
            .collect();
        let corpus = crate::corpus::of_texts(&texts);
        let v = Vocabulary::of(&corpus);
        let rose = &v.words["rose"];
        assert_eq!(rose.count, 2 * 434);
        assert_eq!(rose.poems, (0..1300).step_by(3).collect::<Vec<u32>>());
        let sea = &v.words["sea"];
        assert_eq!(sea.count, 434 + 433);
        assert!(sea.poems.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(v.poems_with("w1298"), Some(&[1298][..]));
        assert_eq!(v.poems_with("absent"), None);
    }
}
