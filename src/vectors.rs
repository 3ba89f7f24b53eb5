//! Embedding files in their accepted forms (`{"embeddings": [{"id", "embedding"}]}`,
//! `{"embeddings": {KEY: [...]}}` and `{KEY: [...]}`), validated while they are
//! parsed, L2-normalised; and the lexical embedder used when there is none.

use crate::corpus::Corpus;
use crate::error::{json_error, Error, InputError, Location, Result};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// Vectors as contiguous `f32` rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// A parsed embeddings file: keys in file order and their normalised rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embeddings {
    pub keys: Vec<String>,
    pub vectors: Matrix,
}

impl Embeddings {
    pub fn lookup(&self) -> HashMap<&str, usize> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect()
    }
}

/// The first defect found while parsing, with what serde cannot know.
#[derive(Default)]
struct Defect {
    key: Option<String>,
    message: String,
    hint: &'static str,
}

struct Collector<'a> {
    dim: Option<usize>,
    keys: Vec<String>,
    seen: HashSet<String>,
    data: Vec<f32>,
    defect: &'a RefCell<Option<Defect>>,
}

impl Collector<'_> {
    fn fail<E: de::Error>(&self, key: &str, message: String, hint: &'static str) -> E {
        *self.defect.borrow_mut() = Some(Defect {
            key: Some(key.to_string()),
            message: message.clone(),
            hint,
        });
        E::custom(message)
    }

    fn push<E: de::Error>(&mut self, key: String, values: Vec<f64>) -> std::result::Result<(), E> {
        let dim = *self.dim.get_or_insert(values.len());
        if values.is_empty() {
            return Err(self.fail(
                &key,
                "empty vector".into(),
                "every vector needs the model's dimension",
            ));
        }
        if values.len() != dim {
            return Err(self.fail(
                &key,
                format!(
                    "mixed dimensions: this vector has {} values, the first had {dim}",
                    values.len()
                ),
                "all vectors must come from the same model",
            ));
        }
        let mut norm = 0.0f64;
        for &v in &values {
            if !(v as f32).is_finite() {
                return Err(self.fail(
                    &key,
                    format!("value {v} is not a finite 32-bit number"),
                    "vectors must hold finite numbers only",
                ));
            }
            norm += v * v;
        }
        if norm == 0.0 || !norm.is_finite() {
            return Err(self.fail(
                &key,
                "the vector is all zeros".into(),
                "a zero vector has no direction; recompute this embedding",
            ));
        }
        if !self.seen.insert(key.clone()) {
            return Err(self.fail(
                &key,
                "duplicate embedding".into(),
                "each key may have one vector",
            ));
        }
        let scale = 1.0 / norm.sqrt();
        self.data.extend(values.iter().map(|v| (v * scale) as f32));
        self.keys.push(key);
        Ok(())
    }
}

/// A key: a number or a string.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id (number or string)")
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key, E> {
                Ok(Key(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One element of a top-level `embeddings` list.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    id: Key,
    embedding: Vec<f64>,
}

struct Top<'a, 'b>(&'b mut Collector<'a>);

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of embeddings")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "embeddings" {
                map.next_value_seed(Wrapped(self.0))?;
            } else {
                let values: Vec<f64> = map.next_value()?;
                self.0.push(key, values)?;
            }
        }
        Ok(())
    }
}

/// The value under `"embeddings"`: a list of items or a map of vectors.
struct Wrapped<'a, 'b>(&'b mut Collector<'a>);

impl<'de> DeserializeSeed<'de> for Wrapped<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Wrapped<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of {\"id\", \"embedding\"} objects or a map of vectors")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Item>()? {
            self.0.push(item.id.0, item.embedding)?;
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<(), A::Error> {
        Top(self.0).visit_map(map)
    }
}

/// Parse and validate an embeddings file's bytes.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Embeddings> {
    crate::text::check_utf8(path, bytes)?;
    let defect = RefCell::new(None);
    let mut collector = Collector {
        dim: None,
        keys: Vec::new(),
        seen: HashSet::new(),
        data: Vec::new(),
        defect: &defect,
    };
    let mut de = serde_json::Deserializer::from_slice(crate::text::without_bom(bytes));
    let result = de
        .deserialize_map(Top(&mut collector))
        .and_then(|_| de.end());
    if let Err(e) = result {
        let mut err = json_error(path, &e);
        if let Some(d) = defect.borrow_mut().take() {
            if let Some(key) = d.key {
                err.location = err.location.poem(key);
            }
            err.location = err.location.field("embedding");
            err.message = d.message;
            err.hint = Some(d.hint.to_string());
        }
        return Err(err.into());
    }
    let dim = collector.dim.unwrap_or(0);
    if collector.keys.is_empty() {
        return Err(InputError::new(Location::file(path), "the file has no embeddings").into());
    }
    Ok(Embeddings {
        keys: collector.keys,
        vectors: Matrix {
            dim,
            data: collector.data,
        },
    })
}

pub fn load(path: &Path) -> Result<Embeddings> {
    let bytes = read_input(path)?;
    parse(path, &bytes)
}

/// Read an input file; a missing one is bad input, not an I/O failure.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::from(
            InputError::new(Location::file(path), "file not found")
                .hint("fix the path in verso.toml"),
        ),
        _ => Error::io(path, e),
    })
}

/// One row per poem of the corpus, in corpus order, and warnings for
/// embeddings that belong to no poem.
pub fn align(
    path: &Path,
    corpus: &Corpus,
    embeddings: &Embeddings,
) -> Result<(Matrix, Vec<String>)> {
    let lookup = embeddings.lookup();
    let dim = embeddings.vectors.dim;
    let mut data = Vec::with_capacity(corpus.poems.len() * dim);
    for poem in &corpus.poems {
        let row = lookup.get(poem.index.to_string().as_str()).ok_or_else(|| {
            Error::from(
                InputError::new(Location::file(path).poem(poem.index).field("embedding"), "the poem has no embedding")
                    .hint("compute an embedding for this poem, or configure no embeddings file to use the lexical embedder"),
            )
        })?;
        data.extend_from_slice(embeddings.vectors.row(*row));
    }
    let known: HashSet<String> = corpus.poems.iter().map(|p| p.index.to_string()).collect();
    let unknown: Vec<&String> = embeddings
        .keys
        .iter()
        .filter(|k| !known.contains(*k))
        .collect();
    let mut warnings = Vec::new();
    if let Some(first) = unknown.first() {
        warnings.push(format!(
            "{}: {} embedding(s) for unknown poems (first: {first}); they are ignored",
            path.display(),
            unknown.len()
        ));
    }
    Ok((Matrix { dim, data }, warnings))
}

/// Check an optional companion file against the poems' dimension.
pub fn check_dimension(path: &Path, embeddings: &Embeddings, dim: usize) -> Result<()> {
    if embeddings.vectors.dim != dim {
        return Err(InputError::new(
            Location::file(path).field("embedding"),
            format!(
                "mixed dimensions: these vectors have {} values, the poems' have {dim}",
                embeddings.vectors.dim
            ),
        )
        .hint("word and colour embeddings must come from the poems' model")
        .into());
    }
    Ok(())
}

/// Dimension of the lexical embedder's hashed vectors.
pub const LEXICAL_DIM: usize = 256;

/// A hashed TF-IDF vector per poem, for collections without a model.
pub fn lexical(corpus: &Corpus) -> Matrix {
    let docs: Vec<HashMap<String, u32>> = corpus
        .poems
        .iter()
        .map(|p| {
            let mut counts = HashMap::new();
            for word in crate::derive::words::tokens(&p.content) {
                *counts.entry(word).or_insert(0) += 1;
            }
            counts
        })
        .collect();
    let mut df: HashMap<&str, u32> = HashMap::new();
    for doc in &docs {
        for word in doc.keys() {
            *df.entry(word).or_insert(0) += 1;
        }
    }
    let n = docs.len() as f64;
    let mut data = vec![0.0f32; docs.len() * LEXICAL_DIM];
    for (i, (doc, poem)) in docs.iter().zip(&corpus.poems).enumerate() {
        let row = &mut data[i * LEXICAL_DIM..(i + 1) * LEXICAL_DIM];
        let mut acc = vec![0.0f64; LEXICAL_DIM];
        for (word, &count) in doc {
            let idf = (n / df[word.as_str()] as f64).ln() + 1.0;
            let (bucket, sign) = hash_bucket(word);
            acc[bucket] += sign * (1.0 + (count as f64).ln()) * idf;
        }
        if acc.iter().all(|&v| v == 0.0) {
            // No words at all (only punctuation): hash the whole text instead.
            let (bucket, sign) = hash_bucket(&poem.content);
            acc[bucket] = sign;
        }
        let norm = acc.iter().map(|v| v * v).sum::<f64>().sqrt();
        for (out, v) in row.iter_mut().zip(&acc) {
            *out = (v / norm) as f32;
        }
    }
    Matrix {
        dim: LEXICAL_DIM,
        data,
    }
}

/// FNV-1a: a stable bucket and sign for a word.
fn hash_bucket(word: &str) -> (usize, f64) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (
        (h % LEXICAL_DIM as u64) as usize,
        if h >> 63 == 0 { 1.0 } else { -1.0 },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Embeddings> {
        parse(Path::new("e.json"), text.as_bytes())
    }

    #[test]
    fn three_forms_agree() {
        let a =
            parse_str(r#"{"embeddings":[{"id":1,"embedding":[3,4]},{"id":2,"embedding":[0,2]}]}"#)
                .unwrap();
        let b = parse_str(r#"{"embeddings":{"1":[3,4],"2":[0,2]}}"#).unwrap();
        let c = parse_str(r#"{"1":[3,4],"2":[0,2]}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.vectors.row(0), &[0.6, 0.8]);
        assert_eq!(a.keys, vec!["1", "2"]);
    }

    #[test]
    fn defects_name_the_key_and_line() {
        let e = parse_str("{\"1\":[1,0],\n\"2\":[1,0,0]}")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("e.json:2:") && e.contains("poem 2") && e.contains("mixed dimensions"),
            "{e}"
        );
        let e = parse_str("{\"1\":[0,0]}").unwrap_err().to_string();
        assert!(e.contains("poem 1") && e.contains("zeros"), "{e}");
        let e = parse_str("{\"1\":[1e39,0]}").unwrap_err().to_string();
        assert!(e.contains("finite"), "{e}");
        let e = parse_str("{\"1\":[NaN,0]}").unwrap_err().to_string();
        assert!(e.contains("e.json:1:"), "{e}");
    }
}
