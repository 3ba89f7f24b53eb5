//! The handlebars registry: the built-in templates embedded in the binary,
//! overridden by `*.hbs` files of the configured templates folder, each
//! template's hash for the keys, and page rendering split around the entries.

use crate::error::{Doing, Error, InputError, IoContext, Location, Result};
use handlebars::Handlebars;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Built-in templates: (name, source).
pub const BUILT_IN: [(&str, &str); 8] = [
    ("shell", include_str!("../templates/shell.hbs")),
    ("entry", include_str!("../templates/entry.hbs")),
    ("pager", include_str!("../templates/pager.hbs")),
    (
        "chronological",
        include_str!("../templates/chronological.hbs"),
    ),
    ("ranked", include_str!("../templates/ranked.hbs")),
    ("word", include_str!("../templates/word.hbs")),
    ("menu", include_str!("../templates/menu.hbs")),
    ("explore", include_str!("../templates/explore.hbs")),
];

/// Stands where a page's entries go; the executor writes them there.
const ENTRIES: &str = "\u{1}verso:entries\u{1}";

pub struct Renderer {
    hb: Handlebars<'static>,
    hashes: BTreeMap<&'static str, blake3::Hash>,
}

impl Renderer {
    /// The built-in templates, with overrides from `dir` when given.
    pub fn new(dir: Option<&Path>) -> Result<Renderer> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(false);
        hb.register_escape_fn(handlebars::html_escape);
        let mut sources: BTreeMap<&'static str, (String, String)> = BUILT_IN
            .iter()
            .map(|(name, src)| (*name, (src.to_string(), format!("built-in {name}.hbs"))))
            .collect();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).map_err(|e| {
                Error::from(
                    InputError::new(Location::file(dir).field("templates"), format!("cannot read the templates folder: {e}"))
                        .hint("set `templates` to a folder of *.hbs files, or to \"\" for the built-in ones"),
                )
            })?;
            let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            files.sort();
            for path in files {
                let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                if path.extension().and_then(|e| e.to_str()) != Some("hbs") {
                    continue;
                }
                let Some((name, _)) = BUILT_IN.iter().find(|(n, _)| *n == stem) else {
                    return Err(InputError::new(
                        Location::file(&path),
                        format!("no built-in template is called {stem:?}"),
                    )
                    .hint(format!(
                        "override one of: {}",
                        BUILT_IN.map(|(n, _)| n).join(", ")
                    ))
                    .into());
                };
                let bytes = std::fs::read(&path).at(Doing::ReadingTemplates, &path)?;
                let text = crate::config::utf8(&path, &bytes)?;
                sources.insert(name, (text, path.display().to_string()));
            }
        }
        let mut hashes = BTreeMap::new();
        for (name, (text, origin)) in &sources {
            hb.register_template_string(name, text).map_err(|e| {
                Error::from(InputError::new(
                    Location {
                        file: origin.clone(),
                        ..Default::default()
                    },
                    e.to_string(),
                ))
            })?;
            hashes.insert(*name, blake3::hash(text.as_bytes()));
        }
        Ok(Renderer { hb, hashes })
    }

    pub fn template_hash(&self, name: &str) -> &blake3::Hash {
        &self.hashes[name]
    }

    pub fn entry<T: Serialize>(&self, view: &T) -> Result<String> {
        self.hb
            .render("entry", view)
            .map_err(|e| Error::Template(e.to_string()))
    }

    /// Render a page around its entries: the bytes before and after them.
    pub fn page<T: Serialize>(
        &self,
        template: &str,
        title: &str,
        view: &T,
    ) -> Result<(String, String)> {
        let mut value = serde_json::to_value(view).map_err(|e| Error::Template(e.to_string()))?;
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("entries".into(), ENTRIES.into());
        }
        let body = self
            .hb
            .render(template, &value)
            .map_err(|e| Error::Template(format!("{template}: {e}")))?;
        let page = self
            .hb
            .render(
                "shell",
                &serde_json::json!({ "title": title, "body": body }),
            )
            .map_err(|e| Error::Template(format!("shell: {e}")))?;
        Ok(match page.split_once(ENTRIES) {
            Some((head, tail)) => (head.to_string(), tail.to_string()),
            None => (page, String::new()),
        })
    }
}
