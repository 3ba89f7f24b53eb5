//! `index.html`, the menu: the word cloud in display order, wrapped at the
//! entry width, then every poem's id by category, smallest first, each
//! linking to its place in time.

use super::entry::WIDTH;
use super::kind::{At, PageKind, Parts};
use super::{paths, Family, Site};
use crate::engine::rule::{Instance, Rule};
use crate::render::colour_class;
use crate::render::BuiltIn;
use crate::text::truncate;
use serde_json::{json, Value};

pub struct Menu;

impl PageKind for Menu {
    fn family(&self) -> Family {
        Family::Menu
    }

    fn template(&self) -> BuiltIn {
        ("menu", include_str!("../../templates/menu.hbs"))
    }

    fn path(&self, _site: &Site, _at: At) -> String {
        "index.html".into()
    }

    fn parts(&self, site: &Site, _at: At) -> Parts {
        Parts::new(site.layout.title.clone(), header(site), Vec::new())
    }

    fn header_source(&self, _site: &Site, _at: At) -> Option<Instance> {
        Some(Instance::only(Rule::Cloud))
    }

    /// Every poem is on it: no one poem's date is the page's.
    fn newest(&self, _site: &Site, _parts: &Parts) -> Option<i64> {
        None
    }
}

/// The menu's values, as its template sees them.
fn header(site: &Site) -> Value {
    // The cloud in display order, wrapped at the entry width.
    let mut cloud_lines: Vec<Vec<Value>> = vec![Vec::new()];
    let mut width = 1;
    for w in site.words {
        let len = w.word.word.chars().count() + 1;
        if width + len > WIDTH && !cloud_lines.last().unwrap().is_empty() {
            cloud_lines.push(Vec::new());
            width = 1;
        }
        width += len;
        cloud_lines.last_mut().unwrap().push(json!({
            "word": w.word.word,
            "href": paths::url_encode(&paths::word(&w.word.word)),
            "size": w.word.size,
            "bold": w.word.size >= 5,
            "colour_class": colour_class(w.ranking.colour),
        }));
    }
    cloud_lines.retain(|l| !l.is_empty());
    // Categories, smallest first, each poem in time order.
    let mut categories: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
    for &row in &site.timeline.order {
        categories
            .entry(site.poem(row).category.as_str())
            .or_default()
            .push(row);
    }
    let mut categories: Vec<(&str, Vec<u32>)> = categories.into_iter().collect();
    categories.sort_by_key(|(name, rows)| (rows.len(), *name));
    let categories: Vec<Value> = categories
        .into_iter()
        .map(|(name, rows)| {
            let mut lines: Vec<Vec<Value>> = vec![Vec::new()];
            let mut width = 1;
            for row in &rows {
                let id = truncate(&site.poem(*row).id, WIDTH - 2);
                let len = id.chars().count() + 1;
                let line = lines.last().unwrap();
                if !line.is_empty() && (line.len() == 10 || width + len > WIDTH) {
                    lines.push(Vec::new());
                    width = 1;
                }
                width += len;
                lines
                    .last_mut()
                    .unwrap()
                    .push(json!({ "id": id, "href": site.chronological_href(*row) }));
            }
            json!({ "name": truncate(name, WIDTH - 12), "count": rows.len(), "lines": lines })
        })
        .collect();
    json!({
        "title": truncate(&site.layout.title, WIDTH - 2),
        "cloud_lines": cloud_lines,
        "word_count": site.words.len(),
        "seed": site.layout.seed,
        "categories": categories,
        "feed": site.layout.base_url.is_some(),
    })
}
