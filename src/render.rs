//! The handlebars registry: the built-in templates embedded in the binary
//! (each kind of page declares its own: `site::built_in_templates`),
//! overridden by `*.hbs` files of the configured templates folder, each
//! template's hash for the keys, and page rendering split around the entries.

use crate::config::COLOUR_HEX;
use crate::error::{Doing, Error, InputError, IoContext, Location, Result};
use handlebars::template::{Parameter, Template, TemplateElement};
use handlebars::Handlebars;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A built-in template: its name and source.
pub type BuiltIn = (&'static str, &'static str);

/// Push the names of the partials `elements` include, blocks followed
/// through; `false` when one is named by an expression.
fn partials(elements: &[TemplateElement], names: &mut Vec<String>) -> bool {
    elements.iter().all(|element| {
        let inner = |t: &Option<Template>, names: &mut Vec<String>| {
            t.as_ref().is_none_or(|t| partials(&t.elements, names))
        };
        match element {
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                let name = match &d.name {
                    Parameter::Literal(serde_json::Value::String(n)) => Some(n.as_str()),
                    Parameter::Literal(_) | Parameter::Subexpression(_) => None,
                    name => name.as_name(),
                };
                match name {
                    Some(name) => names.push(name.to_string()),
                    None => return false,
                }
                inner(&d.template, names)
            }
            TemplateElement::DecoratorExpression(d) | TemplateElement::DecoratorBlock(d) => {
                inner(&d.template, names)
            }
            TemplateElement::HtmlExpression(h)
            | TemplateElement::Expression(h)
            | TemplateElement::HelperBlock(h) => {
                inner(&h.template, names) && inner(&h.inverse, names)
            }
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => true,
            // An element this verso does not know: it could read anything.
            _ => false,
        }
    })
}

/// What the shell around every page shows besides the page's body.
pub struct Shell<'a> {
    /// The page's title.
    pub title: &'a str,
    /// The site's name.
    pub site: &'a str,
    /// The feed's absolute address, for the head's link to it.
    pub feed: Option<&'a str>,
}

/// The CSS class of colour `index` (in `COLOUR_NAMES` order), which the
/// shell's style colours: an entry carries its colour twice, and a class
/// is 11 bytes shorter than an inline style on every page that shows it.
pub fn colour_class(index: u8) -> String {
    format!("c{index}")
}

/// The shell's rules giving each colour class its colour.
fn colour_classes() -> String {
    (0..)
        .zip(COLOUR_HEX)
        .map(|(index, hex)| format!(".{}{{color:{hex}}}", colour_class(index)))
        .collect()
}

/// Stands where a page's entries go; the executor writes them there.
const ENTRIES: &str = "\u{1}verso:entries\u{1}";

pub struct Renderer {
    hb: Handlebars<'static>,
    /// Each template's own text's hash.
    hashes: BTreeMap<&'static str, blake3::Hash>,
    /// Each template's hash with the partials it reads (`template_hash`).
    keys: BTreeMap<&'static str, blake3::Hash>,
    /// The shell's colour rules (`colour_classes`), made once.
    colour_classes: String,
}

impl Renderer {
    /// The built-in templates (`site::built_in_templates`), with overrides
    /// from `dir` when given.
    pub fn new(dir: Option<&Path>, built_in: &[BuiltIn]) -> Result<Renderer> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(false);
        hb.register_escape_fn(handlebars::html_escape);
        let mut sources: BTreeMap<&'static str, (String, String)> = built_in
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
                let Some((name, _)) = built_in.iter().find(|(n, _)| *n == stem) else {
                    return Err(InputError::new(
                        Location::file(&path),
                        format!("no built-in template is called {stem:?}"),
                    )
                    .hint(format!(
                        "override one of: {}",
                        built_in
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
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
        let mut renderer = Renderer {
            hb,
            hashes,
            keys: BTreeMap::new(),
            colour_classes: colour_classes(),
        };
        renderer.keys = renderer
            .hashes
            .keys()
            .map(|name| {
                let mut h = blake3::Hasher::new();
                for read in renderer.reads(name) {
                    h.update(read.as_bytes());
                    h.update(renderer.hashes[read].as_bytes());
                }
                (*name, h.finalize())
            })
            .collect();
        Ok(renderer)
    }

    /// Every template's name and `template_hash`.
    pub fn template_hashes(&self) -> impl Iterator<Item = (&'static str, &blake3::Hash)> {
        self.keys.iter().map(|(name, hash)| (*name, hash))
    }

    /// The hash of the template `name` and of every partial it reads.
    pub fn template_hash(&self, name: &str) -> &blake3::Hash {
        &self.keys[name]
    }

    /// The templates rendering `name` reads: itself and every partial it
    /// includes, followed through, as the templates in use (a user's
    /// included) are written. A partial named only at render time could be
    /// any of them.
    pub fn reads(&self, name: &str) -> BTreeSet<&'static str> {
        let mut read = BTreeSet::new();
        let mut todo = vec![name.to_string()];
        while let Some(name) = todo.pop() {
            let Some(known) = self.hashes.keys().find(|n| **n == name) else {
                // An inline partial, defined inside the template read.
                continue;
            };
            if !read.insert(*known) {
                continue;
            }
            let template = self.hb.get_template(known).expect("registered");
            if !partials(&template.elements, &mut todo) {
                return self.hashes.keys().copied().collect();
            }
        }
        read
    }

    pub fn entry<T: Serialize>(&self, view: &T) -> Result<String> {
        self.hb
            .render("entry", view)
            .map_err(|e| Error::Template(e.to_string()))
    }

    /// Render a page around its entries: the bytes before and after them.
    /// `shell` is what the shell around every page shows.
    pub fn page<T: Serialize>(
        &self,
        template: &str,
        shell: &Shell,
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
                &serde_json::json!({
                    "title": shell.title,
                    "site": shell.site,
                    "feed": shell.feed,
                    "colour_classes": self.colour_classes,
                    "body": body,
                }),
            )
            .map_err(|e| Error::Template(format!("shell: {e}")))?;
        Ok(match page.split_once(ENTRIES) {
            Some((head, tail)) => (head.to_string(), tail.to_string()),
            None => (page, String::new()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(templates: &[(&str, &str)]) -> (tempfile::TempDir, Renderer) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in templates {
            std::fs::write(dir.path().join(format!("{name}.hbs")), text).unwrap();
        }
        let renderer = Renderer::new(Some(dir.path()), &crate::site::built_in_templates()).unwrap();
        (dir, renderer)
    }

    #[test]
    fn a_template_reads_the_partials_it_includes_followed_through() {
        let (_, built_in) = with(&[]);
        assert_eq!(
            built_in.reads("chronological"),
            BTreeSet::from(["chronological", "pager"])
        );
        assert_eq!(built_in.reads("ranked"), BTreeSet::from(["ranked"]));
        // A user's ranked.hbs that includes the pager, in a block, through
        // a word page's template.
        let (_, user) = with(&[
            ("ranked", "{{#if x}}{{> word}}{{/if}}"),
            ("word", "{{#each y}}{{#> pager}}{{/pager}}{{/each}}"),
        ]);
        assert_eq!(
            user.reads("ranked"),
            BTreeSet::from(["pager", "ranked", "word"])
        );
        assert_ne!(
            user.template_hash("ranked"),
            built_in.template_hash("ranked")
        );
        // An inline partial is the template's own; a partial named by an
        // expression could be any template.
        let (_, inline) = with(&[("word", "{{#*inline \"p\"}}x{{/inline}}{{> p}}")]);
        assert_eq!(inline.reads("word"), BTreeSet::from(["word"]));
        let (_, dynamic) = with(&[("word", "{{> (lookup this \"which\")}}")]);
        assert_eq!(
            dynamic.reads("word").len(),
            crate::site::built_in_templates().len()
        );
    }

    #[test]
    fn a_partial_edit_changes_the_hash_of_every_template_that_reads_it() {
        let (_, before) = with(&[("ranked", "{{> pager}}")]);
        let (_, after) = with(&[("ranked", "{{> pager}}"), ("pager", "another pager")]);
        assert_ne!(
            before.template_hash("ranked"),
            after.template_hash("ranked")
        );
        assert_ne!(
            before.template_hash("chronological"),
            after.template_hash("chronological")
        );
        assert_eq!(before.template_hash("word"), after.template_hash("word"));
    }
}
