//! Pure functions from the corpus and its vectors to the data pages show:
//! rankings, chains, the timeline, colours and the word cloud. Nothing here
//! reads files.

pub mod chain;
pub mod colour;
pub mod rank;
pub mod timeline;
pub mod vocabulary;
pub mod words;

use serde::{Deserialize, Serialize};

/// Rankings and chains, cached under a hash of the vectors and lengths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbours {
    /// Per poem (corpus row), the rows of the most similar poems, best first.
    pub similar: Vec<Vec<u32>>,
    /// Per poem, the rows of its different chain after the poem itself.
    pub different: Vec<Vec<u32>>,
}

impl Neighbours {
    pub fn compute(vectors: &crate::vectors::Matrix, similar_len: usize, chain_len: usize) -> Self {
        let sims = rank::similarity_matrix(vectors);
        Neighbours {
            similar: rank::top_k_all(&sims, vectors.rows(), similar_len),
            different: chain::chains(&sims, vectors.rows(), chain_len),
        }
    }
}
