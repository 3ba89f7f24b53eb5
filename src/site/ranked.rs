//! `similar/NNNN-PP.html` and `different/NNNN-PP.html`: a poem's similar
//! ranking and its different chain, `poems_per_page` a page, each entry
//! after its `--- #RANK CATEGORY/ID ---` line. One module for the two
//! kinds: they differ only in their list, names and words.

use super::entry::{Variant, WIDTH};
use super::kind::{At, Intro, Item, PageKind, Parts};
use super::{paths, Family, Site};
use crate::engine::rule::{Instance, Rule};
use crate::render::BuiltIn;
use crate::text::truncate;
use serde::Serialize;

/// Which of a poem's two lists.
pub enum Ranked {
    Similar,
    Different,
}

/// The page's values, as its template sees them.
#[derive(Serialize)]
struct Header {
    heading: String,
    anchor_label: String,
    page: usize,
    pages: usize,
    first_rank: usize,
    last_rank: usize,
    prev_href: Option<String>,
    next_href: Option<String>,
}

impl Ranked {
    fn list<'s>(&self, site: &'s Site, row: u32) -> &'s [u32] {
        match self {
            Ranked::Similar => &site.neighbours.similar[row as usize],
            Ranked::Different => &site.neighbours.different[row as usize],
        }
    }

    fn path_of(&self, index: u32, page: usize) -> String {
        match self {
            Ranked::Similar => paths::similar(index, page),
            Ranked::Different => paths::different(index, page),
        }
    }
}

impl PageKind for Ranked {
    fn family(&self) -> Family {
        match self {
            Ranked::Similar => Family::Similar,
            Ranked::Different => Family::Different,
        }
    }

    fn template(&self) -> BuiltIn {
        ("ranked", include_str!("../../templates/ranked.hbs"))
    }

    fn shows_entries(&self) -> bool {
        true
    }

    fn pages(&self, site: &Site) -> Vec<(At, Option<u32>)> {
        (0..site.corpus.poems.len() as u32)
            .flat_map(|row| {
                let pages = site.pages_of(self.list(site, row).len());
                (1..=pages).map(move |n| (At { row, n }, Some(row)))
            })
            .collect()
    }

    fn path(&self, site: &Site, at: At) -> String {
        self.path_of(site.poem(at.row).index, at.n)
    }

    fn parts(&self, site: &Site, At { row, n }: At) -> Parts {
        let list = self.list(site, row);
        let (heading, kind) = match self {
            Ranked::Similar => ("the poems most like", "Similar to"),
            Ranked::Different => ("a path away from", "Away from"),
        };
        let per = site.layout.poems_per_page;
        let pages = site.pages_of(list.len());
        let poem = site.poem(row);
        let name = |p: usize| {
            self.path_of(poem.index, p)
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let start = (n - 1) * per;
        let shown = &list[start.min(list.len())..(start + per).min(list.len())];
        let describe = poem.title.clone().unwrap_or_else(|| poem.first_words(60));
        let header = Header {
            heading: format!("{heading} {}", truncate(&poem.label(), 50)),
            anchor_label: truncate(&describe, WIDTH - 2),
            page: n,
            pages,
            first_rank: if shown.is_empty() { 0 } else { start + 1 },
            last_rank: start + shown.len(),
            prev_href: (n > 1).then(|| name(n - 1)),
            next_href: (n < pages).then(|| name(n + 1)),
        };
        let mut items = vec![Item {
            intro: Intro::Nothing,
            row,
            variant: Variant::Linked,
        }];
        items.extend(shown.iter().enumerate().map(|(i, &r)| Item {
            intro: Intro::Rank(start + i + 1),
            row: r,
            variant: Variant::Linked,
        }));
        let title = format!("{kind} {}, page {n} of {pages}", poem.label());
        Parts::new(site.titled(&title), header, items)
    }

    fn poems_source(&self, _site: &Site, _at: At) -> Option<Instance> {
        Some(Instance::only(Rule::Neighbours))
    }
}
