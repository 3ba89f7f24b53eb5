//! Embedding files in their accepted forms (`{"embeddings": [{"id", "embedding"}]}`,
//! `{"embeddings": {KEY: [...]}}` and `{KEY: [...]}`), validated while they are
//! parsed, L2-normalised; and the lexical embedder used when there is none.

use crate::corpus::Corpus;
use crate::error::{json_error, Doing, Error, InputError, Location, Result};
use rayon::prelude::*;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
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

    /// A row's values as little-endian bytes, for hashing.
    pub fn row_bytes(&self, i: usize) -> Vec<u8> {
        self.row(i).iter().flat_map(|x| x.to_le_bytes()).collect()
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

#[derive(Default)]
struct Collector {
    dim: Option<usize>,
    keys: Vec<String>,
    seen: HashSet<String>,
    data: Vec<f32>,
    defect: Option<Defect>,
}

impl Collector {
    fn fail<E: de::Error>(&mut self, key: &str, message: String, hint: &'static str) -> E {
        self.defect = Some(Defect {
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

struct Top<'a>(&'a mut Collector);

impl<'de> Visitor<'de> for Top<'_> {
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
struct Wrapped<'a>(&'a mut Collector);

impl<'de> DeserializeSeed<'de> for Wrapped<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Wrapped<'_> {
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
    let text = crate::text::without_bom(bytes);
    let collector = match in_pieces(text) {
        Some(collector) => collector,
        None => one_pass(path, text)?,
    };
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

/// Any layout, in one pass; a defect is named with its key and field.
fn one_pass(path: &Path, text: &[u8]) -> Result<Collector> {
    let mut collector = Collector::default();
    let mut de = serde_json::Deserializer::from_slice(text);
    let result = de
        .deserialize_map(Top(&mut collector))
        .and_then(|_| de.end());
    if let Err(e) = result {
        let mut err = json_error(path, &e);
        if let Some(d) = collector.defect.take() {
            if let Some(key) = d.key {
                err.location = err.location.poem(key);
            }
            err.location = err.location.field("embedding");
            err.message = d.message;
            err.hint = Some(d.hint.to_string());
        }
        return Err(err.into());
    }
    Ok(collector)
}

/// Bytes of text per piece parsed on its own.
const PIECE_BYTES: usize = 1 << 20;

fn is_space(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// `at` moved past JSON white space.
fn past_space(text: &[u8], at: usize) -> usize {
    at + text[at..].iter().take_while(|b| is_space(b)).count()
}

/// The usual layout, `{"embeddings": [{"id": …, "embedding": […]}, …]}`,
/// parsed in pieces on every thread (a 60 MB file takes 0.4 s in one
/// pass). Pieces are cut just before `{"id":`, which in valid JSON only
/// opens an object whose first key is "id". Anything unexpected, a defect
/// included, gives `None`: the one-pass parser then runs and names it.
fn in_pieces(text: &[u8]) -> Option<Collector> {
    let mut body = text;
    for token in [&b"{"[..], b"\"embeddings\"", b":", b"["] {
        let start = body.iter().position(|b| !is_space(b))?;
        body = body[start..].strip_prefix(token)?;
    }
    for token in [&b"}"[..], b"]"] {
        let end = body.iter().rposition(|b| !is_space(b))?;
        body = body[..=end].strip_suffix(token)?;
    }
    let mut cuts = vec![0];
    while let Some(&last) = cuts.last() {
        let from = last + PIECE_BYTES;
        let next = (body.get(from..)).and_then(|t| t.windows(6).position(|w| w == b"{\"id\":"));
        match next {
            Some(at) => cuts.push(from + at),
            None => break,
        }
    }
    cuts.push(body.len());
    let last = cuts.len() - 2;
    let bounds: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
    let pieces: Vec<Option<Collector>> = (bounds.par_iter().enumerate())
        .map(|(k, &(from, to))| parse_piece(&body[from..to], k == last))
        .collect();
    let mut all = Collector::default();
    all.data
        .reserve(pieces.iter().flatten().map(|c| c.data.len()).sum());
    for piece in pieces {
        let piece = piece?;
        if *all.dim.get_or_insert(piece.dim?) != piece.dim? {
            return None;
        }
        for key in &piece.keys {
            if !all.seen.insert(key.clone()) {
                return None;
            }
        }
        all.keys.extend(piece.keys);
        all.data.extend(piece.data);
    }
    Some(all)
}

/// A piece's items, each followed by a comma but the last piece's last.
fn parse_piece(piece: &[u8], last: bool) -> Option<Collector> {
    let mut collector = Collector::default();
    let mut at = 0;
    loop {
        let mut items = serde_json::Deserializer::from_slice(&piece[at..]).into_iter::<Item>();
        let item = items.next()?.ok()?;
        at += items.byte_offset();
        collector
            .push::<serde_json::Error>(item.id.0, item.embedding)
            .ok()?;
        at = past_space(piece, at);
        match piece.get(at) {
            None if last => return Some(collector),
            Some(b',') => at = past_space(piece, at + 1),
            _ => return None,
        }
        if at == piece.len() && !last {
            return Some(collector);
        }
    }
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
        _ => Error::io(Doing::ReadingCollection, path, e),
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

    /// A list of `count` items of `dim` varied values, with `sep` between
    /// items; `item` may rewrite one item's text.
    fn list(count: usize, dim: usize, sep: &str, item: impl Fn(usize, String) -> String) -> String {
        let items: Vec<String> = (0..count)
            .map(|i| {
                let values: Vec<String> = (0..dim)
                    .map(|d| format!("{:.9}", ((i * 31 + d * 7) % 997) as f64 / 499.0 - 0.9))
                    .collect();
                item(
                    i,
                    format!("{{\"id\":{i},\"embedding\":[{}]}}", values.join(",")),
                )
            })
            .collect();
        format!("{{\"embeddings\": [\n{}\n]}}\n", items.join(sep))
    }

    #[test]
    fn a_file_parsed_in_pieces_equals_one_pass() {
        // About 3.5 MB: several pieces.
        for sep in [",", ",\n  ", " , "] {
            let text = list(600, 500, sep, |_, item| item);
            assert!(text.len() > 3 * PIECE_BYTES);
            let pieces = in_pieces(text.as_bytes()).expect("the usual layout");
            let whole = one_pass(Path::new("e.json"), text.as_bytes()).unwrap();
            assert_eq!(pieces.keys, whole.keys);
            assert_eq!(pieces.keys.len(), 600);
            let bits = |c: &Collector| c.data.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&pieces), bits(&whole));
        }
    }

    /// Rewrites item `i`'s text.
    type Rewrite = dyn Fn(usize, String) -> String;

    #[test]
    fn a_defect_in_a_later_piece_is_named_as_in_one_pass() {
        let defects: [(&str, &Rewrite); 5] = [
            ("mixed dimensions", &|i, item| match i {
                500 => item.replace("[", "[1,"),
                _ => item,
            }),
            ("duplicate embedding", &|i, item| match i {
                550 => item.replace("\"id\":550", "\"id\":3"),
                _ => item,
            }),
            ("zeros", &|i, item| match i {
                420 => "{\"id\":420,\"embedding\":[0,0,0]}"
                    .replace("[0,0,0]", &format!("[{}]", vec!["0"; 500].join(","))),
                _ => item,
            }),
            ("unknown field", &|i, item| match i {
                599 => item.replace("\"embedding\"", "\"vector\""),
                _ => item,
            }),
            ("trailing comma", &|i, item| match i {
                599 => format!("{item},"),
                _ => item,
            }),
        ];
        for (what, defect) in defects {
            let text = list(600, 500, ",", defect);
            assert!(in_pieces(text.as_bytes()).is_none(), "{what}");
            let e = parse_str(&text).unwrap_err().to_string();
            let want = one_pass(Path::new("e.json"), text.as_bytes())
                .err()
                .unwrap()
                .to_string();
            assert_eq!(e, want, "{what}");
        }
    }
}
