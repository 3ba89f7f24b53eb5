//! `wordcloud/WORD.html`: the poems closest to one of the cloud's words,
//! under the word in its colour.

use super::entry::Variant;
use super::kind::{At, Intro, Item, PageKind, Parts};
use super::{paths, Family, Site};
use crate::engine::rule::{Instance, Rule};
use crate::render::colour_class;
use crate::render::BuiltIn;
use serde::Serialize;

pub struct Word;

/// The page's values, as its template sees them.
#[derive(Serialize)]
struct Header {
    word: String,
    colour_class: String,
    count: usize,
    central_href: String,
}

/// The word page rule's instance for the cloud's `n`th word.
fn instance(site: &Site, n: usize) -> Instance {
    Instance::of(Rule::WordPage, &site.words[n].word.word)
}

impl PageKind for Word {
    fn family(&self) -> Family {
        Family::Wordcloud
    }

    fn template(&self) -> BuiltIn {
        ("word", include_str!("../../templates/word.hbs"))
    }

    fn shows_entries(&self) -> bool {
        true
    }

    fn pages(&self, site: &Site) -> Vec<(At, Option<u32>)> {
        site.words
            .iter()
            .enumerate()
            .map(|(n, w)| (At { row: 0, n }, w.ranking.poems.first().copied()))
            .collect()
    }

    fn path(&self, site: &Site, at: At) -> String {
        paths::word(&site.words[at.n].word.word)
    }

    fn parts(&self, site: &Site, at: At) -> Parts {
        let w = &site.words[at.n];
        let header = Header {
            word: w.word.word.clone(),
            colour_class: colour_class(w.ranking.colour),
            count: w.ranking.poems.len(),
            central_href: format!("../{}", site.chronological_href(w.ranking.central)),
        };
        let items = w
            .ranking
            .poems
            .iter()
            .enumerate()
            .map(|(rank, &row)| Item {
                intro: Intro::Rank(rank + 1),
                row,
                variant: Variant::Linked,
            })
            .collect();
        let title = format!("{}: the closest poems", w.word.word);
        Parts::new(site.titled(&title), header, items)
    }

    fn poems_source(&self, site: &Site, at: At) -> Option<Instance> {
        Some(instance(site, at.n))
    }

    fn header_source(&self, site: &Site, at: At) -> Option<Instance> {
        Some(instance(site, at.n))
    }
}
