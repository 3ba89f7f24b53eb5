//! `Poem` and the loading of poems.json: every field checked, every defect
//! reported with the file, the line, the poem_index and the field.

use crate::error::{json_error, Doing, Error, InputError, Location, Result};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Component, Path};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub media_type: String,
    /// Relative to the media folder; checked to stay inside it.
    pub relative_path: String,
    pub alt: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Poem {
    /// The poem's identity: unique, ≥ 1.
    pub index: u32,
    /// 0-based position in poems.json (chronological ties keep it).
    pub position: usize,
    /// The source's own id, for display only.
    pub id: String,
    pub category: String,
    pub content: String,
    pub warning: Option<String>,
    pub title: Option<String>,
    /// Seconds since the Unix epoch, UTC.
    pub time: i64,
    pub golden: bool,
    pub boost: bool,
    pub original_uri: Option<String>,
    pub source_file: Option<String>,
    pub attachments: Vec<Attachment>,
}

impl Poem {
    /// `CATEGORY/ID` as shown on rank lines.
    pub fn label(&self) -> String {
        format!("{}/{}", self.category, self.id)
    }

    /// The poem's first words, at most `max_chars` characters and `...` when cut.
    pub fn first_words(&self, max_chars: usize) -> String {
        let mut out = String::new();
        let mut count = 0;
        for word in self.content.split_whitespace() {
            let len = word.chars().count();
            if count + len + usize::from(count > 0) > max_chars {
                if count == 0 {
                    out.extend(word.chars().take(max_chars));
                }
                out.push_str("...");
                return out;
            }
            if count > 0 {
                out.push(' ');
                count += 1;
            }
            out.push_str(word);
            count += len;
        }
        out
    }
}

/// The poems sorted by `poem_index`, so that "ties by ascending poem_index"
/// is "the lower row wins" in every kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Corpus {
    pub poems: Vec<Poem>,
}

#[derive(Deserialize)]
struct PoemsFile<'a> {
    #[serde(borrow)]
    poems: Vec<&'a RawValue>,
}

/// Warnings for poems that share a category and id (allowed: `poem_index`
/// is the identity, the id is only shown, but a reader sees two poems under
/// one label). At most `shown` groups are named.
pub fn shared_ids(path: &Path, corpus: &Corpus, shown: usize) -> Vec<String> {
    let mut groups: std::collections::BTreeMap<(&str, &str), Vec<u32>> = Default::default();
    for p in corpus.poems.iter().filter(|p| !p.id.is_empty()) {
        groups
            .entry((p.category.as_str(), p.id.as_str()))
            .or_default()
            .push(p.index);
    }
    let shared: Vec<String> = groups
        .into_iter()
        .filter(|(_, indices)| indices.len() > 1)
        .map(|((category, id), indices)| {
            let names: Vec<String> = indices.iter().map(|i| format!("poem_index {i}")).collect();
            format!(
                "{}: {} share the id {category}/{id}; their pages show the same label",
                path.display(),
                names.join(" and ")
            )
        })
        .collect();
    let more = shared.len().saturating_sub(shown);
    let mut out: Vec<String> = shared.into_iter().take(shown).collect();
    if more > 0 {
        out.push(format!("{}: {more} more ids are shared", path.display()));
    }
    out
}

/// Load and validate poems.json; `media` is where attachment paths start.
pub fn load(path: &Path, media: &Path) -> Result<Corpus> {
    parse(path, &read(path)?, media)
}

/// The bytes of poems.json; a missing file is bad input.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::from(
            InputError::new(Location::file(path), "poems file not found")
                .hint("set `poems` in verso.toml to the collection's poems.json"),
        ),
        _ => Error::io(Doing::ReadingCollection, path, e),
    })
}

pub fn parse(path: &Path, bytes: &[u8], media: &Path) -> Result<Corpus> {
    crate::text::check_utf8(path, bytes)?;
    let bytes = crate::text::without_bom(bytes);
    let file: PoemsFile = serde_json::from_slice(bytes).map_err(|e| {
        let mut err = json_error(path, &e);
        if e.is_data() {
            err = err.hint("poems.json must be an object {\"poems\": [ ... ]}");
        }
        Error::from(err)
    })?;
    let mut poems = Vec::with_capacity(file.poems.len());
    let mut seen: HashMap<u32, usize> = HashMap::new();
    // Lines are counted incrementally: poems come in file order.
    let (mut line, mut counted_to) = (1, 0);
    for (position, raw) in file.poems.iter().enumerate() {
        let offset = raw.get().as_ptr() as usize - bytes.as_ptr() as usize;
        line += bytes[counted_to..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted_to = offset;
        let here = PoemSite {
            path,
            line,
            position,
        };
        let poem = here.parse(raw, media)?;
        debug_assert_eq!(poem.position, position);
        if let Some(first) = seen.insert(poem.index, line) {
            return Err(InputError::new(
                here.location(Some(poem.index)).field("poem_index"),
                format!(
                    "duplicate poem_index {} (first used at line {first})",
                    poem.index
                ),
            )
            .hint("every poem needs its own poem_index")
            .into());
        }
        poems.push(poem);
    }
    poems.sort_by_key(|p: &Poem| p.index);
    if poems.is_empty() {
        return Err(InputError::new(
            Location::file(path).field("poems"),
            "the collection has no poems",
        )
        .into());
    }
    Ok(Corpus { poems })
}

/// Where one poem is in the file, for messages.
struct PoemSite<'a> {
    path: &'a Path,
    line: usize,
    position: usize,
}

type Fields = Map<String, Value>;

impl PoemSite<'_> {
    fn location(&self, index: Option<u32>) -> Location {
        let who = match index {
            Some(i) => i.to_string(),
            None => format!("#{} in the list (no usable poem_index)", self.position + 1),
        };
        Location::file(self.path).at(self.line, 1).poem(who)
    }

    fn error(&self, index: Option<u32>, field: &str, message: impl Into<String>) -> Error {
        InputError::new(self.location(index).field(field), message).into()
    }

    fn parse(&self, raw: &RawValue, media: &Path) -> Result<Poem> {
        let fields: Fields = serde_json::from_str(raw.get())
            .map_err(|_| self.error(None, "poems", "each poem must be a JSON object"))?;
        let index = match fields.get("poem_index") {
            None | Some(Value::Null) => {
                return Err(self.error(None, "poem_index", "missing required field"))
            }
            Some(v) => v
                .as_u64()
                .filter(|&i| i >= 1 && i <= u32::MAX as u64)
                .ok_or_else(|| {
                    self.error(
                        None,
                        "poem_index",
                        format!("must be a whole number from 1 to {}, found {v}", u32::MAX),
                    )
                })? as u32,
        };
        let at = Some(index);
        let required = |name: &str| -> Result<&str> {
            match fields.get(name) {
                None | Some(Value::Null) => Err(self.error(at, name, "missing required field")),
                Some(Value::String(s)) => Ok(s),
                Some(v) => {
                    Err(self.error(at, name, format!("must be a string, found {}", kind(v))))
                }
            }
        };
        let category = required("category")?.to_string();
        if category.trim().is_empty() {
            return Err(self.error(at, "category", "must not be empty"));
        }
        let content = required("content")?.to_string();
        if content.trim().is_empty() {
            return Err(
                InputError::new(self.location(at).field("content"), "empty content")
                    .hint("give the poem its text, or remove it from poems.json")
                    .into(),
            );
        }
        let date = required("creation_date")?;
        let time = crate::date::parse(date).ok_or_else(|| {
            Error::from(
                InputError::new(self.location(at).field("creation_date"), format!("cannot parse {date:?} as a date"))
                    .hint("use YYYY-MM-DDTHH:MM:SS (optionally with Z or an offset such as +02:00) or YYYY-MM-DD"),
            )
        })?;
        let id = match fields.get("id") {
            None | Some(Value::Null) => format!("{index:04}"),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(v) => {
                return Err(self.error(
                    at,
                    "id",
                    format!("must be a non-empty string or a number, found {}", kind(v)),
                ))
            }
        };
        let warning = self
            .optional_string(&fields, at, "content_warning")?
            .filter(|w| !w.trim().is_empty());
        let title = self.optional_string(&fields, at, "title")?;
        let empty = Map::new();
        let metadata = match fields.get("metadata") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(v) => {
                return Err(self.error(
                    at,
                    "metadata",
                    format!("must be an object, found {}", kind(v)),
                ))
            }
        };
        let flag = |name: &str| -> Result<Option<bool>> {
            match metadata.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(v) => Err(self.error(
                    at,
                    &format!("metadata.{name}"),
                    format!("must be true or false, found {}", kind(v)),
                )),
            }
        };
        let golden = match flag("is_golden_poem")? {
            Some(g) => g,
            None => {
                content.chars().count() + warning.as_deref().map_or(0, |w| w.chars().count())
                    == 1024
            }
        };
        let boost = flag("is_boost")?.unwrap_or(false);
        let original_uri = self.optional_string(metadata, at, "original_uri")?;
        let source_file = self.optional_string(metadata, at, "source_file")?;
        let attachments = match fields.get("attachments") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.attachment(at, i, item, media))
                .collect::<Result<_>>()?,
            Some(v) => {
                return Err(self.error(
                    at,
                    "attachments",
                    format!("must be a list, found {}", kind(v)),
                ))
            }
        };
        Ok(Poem {
            index,
            position: self.position,
            id,
            category,
            content,
            warning,
            title,
            time,
            golden,
            boost,
            original_uri,
            source_file,
            attachments,
        })
    }

    fn optional_string(
        &self,
        fields: &Fields,
        at: Option<u32>,
        name: &str,
    ) -> Result<Option<String>> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.error(at, name, format!("must be a string, found {}", kind(v)))),
        }
    }

    fn attachment(
        &self,
        at: Option<u32>,
        i: usize,
        item: &Value,
        media: &Path,
    ) -> Result<Attachment> {
        let field = |name: &str| format!("attachments[{i}].{name}");
        let Value::Object(fields) = item else {
            return Err(self.error(at, &format!("attachments[{i}]"), "must be an object"));
        };
        let text = |name: &str| -> Result<Option<String>> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(v) => Err(self.error(
                    at,
                    &field(name),
                    format!("must be a string, found {}", kind(v)),
                )),
            }
        };
        let size = |name: &str| -> Result<Option<u32>> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .filter(|&n| n <= 100_000)
                    .map(|n| Some(n as u32))
                    .ok_or_else(|| {
                        self.error(
                            at,
                            &field(name),
                            format!("must be a whole number of pixels, found {v}"),
                        )
                    }),
            }
        };
        let relative_path = text("relative_path")?
            .ok_or_else(|| self.error(at, &field("relative_path"), "missing required field"))?;
        if !is_contained(&relative_path) {
            return Err(InputError::new(
                self.location(at).field(field("relative_path")),
                format!("{relative_path:?} leaves the media folder"),
            )
            .hint("attachment paths must be relative and must not contain `..`")
            .into());
        }
        let source = media.join(&relative_path);
        if !source.is_file() {
            return Err(InputError::new(
                self.location(at).field(field("relative_path")),
                format!("missing media file {}", source.display()),
            )
            .hint("put the file in the media folder, or fix `media` in verso.toml")
            .into());
        }
        let alt = match text("description")? {
            Some(d) if !d.trim().is_empty() => Some(d),
            _ => text("alt_text")?.filter(|a| !a.trim().is_empty()),
        };
        Ok(Attachment {
            media_type: text("media_type")?.unwrap_or_default(),
            relative_path,
            alt,
            width: size("width")?,
            height: size("height")?,
        })
    }
}

/// True when a relative path cannot leave the folder it is joined to.
pub fn is_contained(relative: &str) -> bool {
    let path = Path::new(relative);
    !relative.is_empty()
        && !relative.contains(['\\', '\0', ':'])
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A collection of plain poems with these texts, for unit tests.
#[cfg(test)]
pub fn of_texts<S: AsRef<str>>(texts: &[S]) -> Corpus {
    let poems = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Poem {
            index: i as u32 + 1,
            position: i,
            id: String::new(),
            category: "c".into(),
            content: t.as_ref().to_string(),
            warning: None,
            title: None,
            time: 0,
            golden: false,
            boost: false,
            original_uri: None,
            source_file: None,
            attachments: vec![],
        })
        .collect();
    Corpus { poems }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Corpus> {
        parse(
            Path::new("poems.json"),
            text.as_bytes(),
            Path::new("/nonexistent"),
        )
    }

    #[test]
    fn golden_by_length_when_the_flag_is_absent() {
        let content = "a".repeat(1000);
        let text = format!(
            r#"{{"poems":[{{"poem_index":1,"category":"c","content":"{content}","content_warning":"{}","creation_date":"2020-01-01"}}]}}"#,
            "w".repeat(24)
        );
        assert!(parse_str(&text).unwrap().poems[0].golden);
        let text = text.replace(
            "\"creation_date\"",
            "\"metadata\":{\"is_golden_poem\":false},\"creation_date\"",
        );
        assert!(!parse_str(&text).unwrap().poems[0].golden);
    }

    #[test]
    fn errors_name_line_poem_and_field() {
        let text = "{\"poems\":[\n{\"poem_index\":1,\"category\":\"c\",\"content\":\"x\",\"creation_date\":\"2020-01-01\"},\n{\"poem_index\":7,\"category\":\"c\",\"content\":\"x\",\"creation_date\":\"someday\"}]}";
        let e = parse_str(text).unwrap_err().to_string();
        assert!(
            e.starts_with("poems.json:3:1: poem 7: field `creation_date`"),
            "{e}"
        );
    }

    #[test]
    fn first_words_stop_at_a_word_boundary() {
        let text = r#"{"poems":[{"poem_index":1,"category":"c","content":"the weight\n of  morning light","creation_date":"2020-01-01"}]}"#;
        let poem = &parse_str(text).unwrap().poems[0];
        assert_eq!(poem.first_words(100), "the weight of morning light");
        assert_eq!(poem.first_words(16), "the weight of...");
        assert_eq!(poem.first_words(2), "th...");
    }

    #[test]
    fn hostile_attachment_paths_are_rejected() {
        for p in ["../x.png", "/etc/passwd", "a/../../b", "", "c:\\x"] {
            assert!(!is_contained(p), "{p}");
        }
        assert!(is_contained("files/a.png"));
    }
}
