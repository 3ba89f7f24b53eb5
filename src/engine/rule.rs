//! Rules: every artefact a build derives is an instance of a rule, keyed by
//! a fingerprint of named fields (each a 32-byte hash, one encoding) and
//! the rule's code identity. The trace of a key (its fields, short) is what
//! `status --explain` compares to say which input changed.
//!
//! | rule | one per | fields (besides `code`) | value | kept in |
//! | --- | --- | --- | --- | --- |
//! | `corpus` | build | `poems file`, media files | the poems | memory |
//! | `vectors` | build | `embeddings file` or the texts (lexical), `poem indices` | one row per poem | store |
//! | `word embeddings`, `colour embeddings` | build | their file, `vectors` | parsed, checked file | store |
//! | `neighbours` | build | `vectors`, `settled poems`, `pages.*` that set the list length | rankings and chains | store |
//! | `map layout` | build | `settled vectors` (`vectors`, `settled poems`), `nearest settled poems` (the first of each settled poem's similar ranking) | each settled poem's place | store |
//! | `vocabulary` | build | `texts` | words, counts, poems | memory |
//! | `cloud` | build | `vocabulary`, every `wordcloud.*` key but `word_poems` | words, sizes, order | memory |
//! | `word vector` | word | `word`, `poems with it`, `vectors`, `word embeddings` | a vector | store |
//! | `colours` | build | `colors.*`, each colour word's `word vector`, `colour embeddings`, `vectors`, `settled poems` | anchors, each poem's colour | store |
//! | `word page` | cloud word | `word vector`, `colours`, `vectors`, `wordcloud.word_poems` | ranking, colour | store |
//! | `timeline` | build | `times`, `timeline.end` | order, bar cells | memory |
//! | `entry` | poem | the poem's shown fields, `colour`, `timeline position`, `chronological page`, `template entry` | its bytes | memory, trace in store |
//! | `page` | output file | its templates, `page values`, `poems shown`, `entries` | the file | output folder, record in store |
//! | `root` | build | `configuration`, every input file read, every template | — | memo file |
//!
//! Code identity: every rule's is a hash of all of verso's source files,
//! compiled into the binary (`build.rs`), with no list a person keeps: an
//! edit or an upgrade anywhere in the code computes everything again, and
//! the byte-level cut-offs (a value that comes out the same, a page whose
//! bytes equal the file's) keep what it writes to what really changed. The
//! one narrow identity is the model's (`embed::identity_of`): the vectors
//! it made are kept in the cache of vectors under the model and the code
//! of its forward pass, so an upgrade that leaves those alone embeds
//! nothing (`tests/it/engine.rs` checks both).

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::OnceLock;

mod sources {
    include!(concat!(env!("OUT_DIR"), "/sources.rs"));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    Corpus,
    Vectors,
    WordEmbeddings,
    ColourEmbeddings,
    Neighbours,
    MapLayout,
    Vocabulary,
    Cloud,
    WordVector,
    Colours,
    WordPage,
    Timeline,
    Entry,
    Page,
    Root,
}

impl Rule {
    pub const ALL: [Rule; 15] = [
        Rule::Corpus,
        Rule::Vectors,
        Rule::WordEmbeddings,
        Rule::ColourEmbeddings,
        Rule::Neighbours,
        Rule::MapLayout,
        Rule::Vocabulary,
        Rule::Cloud,
        Rule::WordVector,
        Rule::Colours,
        Rule::WordPage,
        Rule::Timeline,
        Rule::Entry,
        Rule::Page,
        Rule::Root,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::Corpus => "corpus",
            Rule::Vectors => "vectors",
            Rule::WordEmbeddings => "word embeddings",
            Rule::ColourEmbeddings => "colour embeddings",
            Rule::Neighbours => "neighbours",
            Rule::MapLayout => "map layout",
            Rule::Vocabulary => "vocabulary",
            Rule::Cloud => "cloud",
            Rule::WordVector => "word vector",
            Rule::Colours => "colours",
            Rule::WordPage => "word page",
            Rule::Timeline => "timeline",
            Rule::Entry => "entry",
            Rule::Page => "page",
            Rule::Root => "root",
        }
    }
}

/// The code identity of every rule: compiled in, or changed on purpose (a
/// test standing in for an edit of a rule's source).
#[derive(Debug, Clone)]
pub struct Code {
    identities: Vec<blake3::Hash>,
}

impl Code {
    /// The identities of the code in this binary.
    pub fn compiled() -> &'static Code {
        static CODE: OnceLock<Code> = OnceLock::new();
        CODE.get_or_init(|| Code::of_sources(sources::SOURCES))
    }

    /// Every rule's identity over these source files: each file's path and
    /// text, in order, after the version and the rule's name.
    fn of_sources(files: &[(&str, &str)]) -> Code {
        let all = sources_hasher(files);
        Code {
            identities: Rule::ALL
                .iter()
                .map(|rule| all.clone().update(rule.name().as_bytes()).finalize())
                .collect(),
        }
    }

    pub fn of(&self, rule: Rule) -> blake3::Hash {
        self.identities[rule as usize]
    }

    /// These identities with `rule`'s changed, as an edit of its code would.
    pub fn with_changed(&self, rule: Rule) -> Code {
        let mut code = self.clone();
        let old = code.identities[rule as usize];
        let mut h = blake3::Hasher::new();
        h.update(old.as_bytes());
        h.update(b"edited");
        code.identities[rule as usize] = h.finalize();
        code
    }
}

/// The version and every source file's path and text, in order: what any
/// other build of verso differs in. (Every rule's key changes with the key
/// encoding here.)
fn sources_hasher(files: &[(&str, &str)]) -> blake3::Hasher {
    let mut all = blake3::Hasher::new();
    all.update(b"verso ");
    all.update(env!("CARGO_PKG_VERSION").as_bytes());
    for (file, text) in files {
        all.update(&(file.len() as u64).to_le_bytes());
        all.update(file.as_bytes());
        all.update(&(text.len() as u64).to_le_bytes());
        all.update(text.as_bytes());
    }
    all
}

/// This build of verso's identity: its version and sources. Files whose
/// layout is the code's own (the memo file) are another build's when it
/// differs.
pub fn build_identity() -> &'static blake3::Hash {
    static IDENTITY: OnceLock<blake3::Hash> = OnceLock::new();
    IDENTITY.get_or_init(|| sources_hasher(sources::SOURCES).finalize())
}

/// The compiled-in text of a source file.
pub fn source(path: &str) -> Option<&'static str> {
    sources::SOURCES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// Every compiled-in source file's path.
pub fn source_files() -> impl Iterator<Item = &'static str> {
    sources::SOURCES.iter().map(|(p, _)| *p)
}

/// A rule instance's name, made only here: a rule with one instance in a
/// build is named by the rule, one with many by the rule and what the
/// instance is for (a word, a poem's code), a page by its output path.
/// Fingerprints, the fields that name where a value came from, and the
/// memo's look-ups all take one, so a name is never spelled twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub rule: Rule,
    name: String,
}

impl Instance {
    /// The rule's one instance in a build.
    pub fn only(rule: Rule) -> Instance {
        Instance {
            rule,
            name: rule.name().to_string(),
        }
    }

    /// The rule's instance for `what`.
    pub fn of(rule: Rule, what: &str) -> Instance {
        Instance {
            rule,
            name: format!("{} {what}", rule.name()),
        }
    }

    /// An output file's page.
    pub fn page(path: impl Into<String>) -> Instance {
        Instance {
            rule: Rule::Page,
            name: path.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A rule instance's value, as another's fingerprint names it: the
/// handle the memo gives for a derived value.
pub trait Made {
    fn instance(&self) -> &str;
    fn value_hash(&self) -> blake3::Hash;
}

/// An input that several rules' keys share, named once where it is made
/// (`Fingerprint::with`).
pub struct Input {
    pub name: &'static str,
    pub hash: blake3::Hash,
}

/// One named input of a key: a hash, and the rule instance that made it
/// (none for a file, a configuration key, a template or code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: Cow<'static, str>,
    pub hash: blake3::Hash,
    pub from: Option<String>,
}

/// A rule instance's declared inputs.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    pub rule: Rule,
    /// Which instance (a word, a poem, an output path; the rule's name when
    /// there is one per build).
    pub instance: String,
    pub fields: Vec<Field>,
}

impl Fingerprint {
    pub fn new(instance: Instance, code: &Code) -> Fingerprint {
        let rule = instance.rule;
        Fingerprint {
            rule,
            instance: instance.name,
            fields: vec![Field {
                name: "code".into(),
                hash: code.of(rule),
                from: None,
            }],
        }
    }

    /// A field hashed elsewhere (a file's content, a template).
    pub fn input(mut self, name: impl Into<Cow<'static, str>>, hash: blake3::Hash) -> Self {
        self.fields.push(Field {
            name: name.into(),
            hash,
            from: None,
        });
        self
    }

    /// A shared input, under its own name.
    pub fn with(self, input: Input) -> Self {
        self.input(input.name, input.hash)
    }

    /// A field that is part of another rule instance's value.
    pub fn value(
        mut self,
        name: impl Into<Cow<'static, str>>,
        hash: blake3::Hash,
        from: &Instance,
    ) -> Self {
        self.fields.push(Field {
            name: name.into(),
            hash,
            from: Some(from.name.clone()),
        });
        self
    }

    /// A field that is another rule instance's whole value, named by it.
    pub fn value_of(mut self, made: &impl Made) -> Self {
        self.fields.push(Field {
            name: made.instance().to_string().into(),
            hash: made.value_hash(),
            from: Some(made.instance().to_string()),
        });
        self
    }

    /// A small value, hashed here.
    pub fn setting(self, name: impl Into<Cow<'static, str>>, value: &impl Serialize) -> Self {
        self.input(name, hash_value(value))
    }

    /// Every key of a configuration section, one field each (`section.key`),
    /// so a key added to the section is part of the fingerprint by itself.
    pub fn settings(mut self, section: &str, value: &impl Serialize) -> Self {
        match serde_json::to_value(value).expect("settings serialise") {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    self = self.setting(format!("{section}.{key}"), &v.to_string());
                }
                self
            }
            other => self.setting(section.to_owned(), &other.to_string()),
        }
    }

    /// The key: the rule's name and every field, in one encoding.
    pub fn key(&self) -> blake3::Hash {
        let mut h = blake3::Hasher::new();
        h.update(self.rule.name().as_bytes());
        for f in &self.fields {
            h.update(&(f.name.len() as u64).to_le_bytes());
            h.update(f.name.as_bytes());
            h.update(f.hash.as_bytes());
        }
        h.finalize()
    }

    /// The trace kept for this key and its value.
    pub fn trace(&self, key: blake3::Hash, value: blake3::Hash) -> Trace {
        Trace {
            key: *key.as_bytes(),
            value: *value.as_bytes(),
            fields: self
                .fields
                .iter()
                .map(|f| (f.name.to_string(), short(&f.hash), f.from.clone()))
                .collect(),
            parts: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// The hash of a value's one encoding (postcard), as fields hash values.
pub fn hash_value<T: Serialize + ?Sized>(value: &T) -> blake3::Hash {
    blake3::hash(&postcard::to_stdvec(value).expect("field values serialise"))
}

/// The first 8 bytes of a hash: enough to tell which field changed.
pub fn short(hash: &blake3::Hash) -> [u8; 8] {
    hash.as_bytes()[..8].try_into().expect("8 bytes")
}

/// What the engine remembers of a rule instance it derived: its key, its
/// value's hash, its fields (short) and where each came from, digests of
/// the value's parts (a vector per poem, an entry per shown poem) so that
/// an explanation can name the part that changed, and the notes (warnings)
/// its computation gave, repeated whenever the value is reused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub key: [u8; 32],
    pub value: [u8; 32],
    pub fields: Vec<(String, [u8; 8], Option<String>)>,
    pub parts: Vec<(Part, u32)>,
    pub notes: Vec<String>,
}

/// The name of a part of a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Part {
    /// A poem, by poem_index.
    Poem(u32),
}

/// A 32-bit digest of a part.
pub fn part_digest(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(
        blake3::hash(bytes).as_bytes()[..4]
            .try_into()
            .expect("4 bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_of_any_source_file_changes_every_rules_identity() {
        let compiled = Code::compiled();
        assert_eq!(source_files().count(), sources::SOURCES.len());
        assert!(source("src/derive/timeline.rs").is_some());
        for (at, (file, _)) in sources::SOURCES.iter().enumerate() {
            let mut edited: Vec<(&str, &str)> = sources::SOURCES.to_vec();
            edited[at].1 = "// edited";
            let code = Code::of_sources(&edited);
            for rule in Rule::ALL {
                assert_ne!(code.of(rule), compiled.of(rule), "{file}, {}", rule.name());
            }
        }
        // Rules differ from each other.
        let distinct: std::collections::HashSet<_> =
            Rule::ALL.iter().map(|&r| compiled.of(r)).collect();
        assert_eq!(distinct.len(), Rule::ALL.len());
    }

    #[test]
    fn keys_follow_names_hashes_and_code() {
        let code = Code::compiled();
        let neighbours = || Instance::only(Rule::Neighbours);
        let base = Fingerprint::new(neighbours(), code)
            .input("a", blake3::hash(b"1"))
            .setting("n", &3u32);
        let key = base.key();
        assert_eq!(key, base.clone().key());
        let renamed = Fingerprint::new(neighbours(), code)
            .input("b", blake3::hash(b"1"))
            .setting("n", &3u32);
        assert_ne!(key, renamed.key());
        let other = Fingerprint::new(neighbours(), code)
            .input("a", blake3::hash(b"1"))
            .setting("n", &4u32);
        assert_ne!(key, other.key());
        let edited = Fingerprint::new(neighbours(), &code.with_changed(Rule::Neighbours))
            .input("a", blake3::hash(b"1"))
            .setting("n", &3u32);
        assert_ne!(key, edited.key());
        let unrelated = Fingerprint::new(neighbours(), &code.with_changed(Rule::Cloud))
            .input("a", blake3::hash(b"1"))
            .setting("n", &3u32);
        assert_eq!(key, unrelated.key());
    }

    #[test]
    fn settings_become_one_field_per_key() {
        #[derive(Serialize)]
        struct Section {
            seed: u64,
            words: Vec<String>,
        }
        let fp = Fingerprint::new(Instance::only(Rule::Cloud), Code::compiled()).settings(
            "wordcloud",
            &Section {
                seed: 7,
                words: vec![],
            },
        );
        let names: Vec<&str> = fp.fields.iter().map(|f| f.name.as_ref()).collect();
        assert_eq!(names, ["code", "wordcloud.seed", "wordcloud.words"]);
    }
}
