//! `chronological/NN.html`: every poem in time order,
//! `chronological_per_page` a page, with a pager above and below.

use super::entry::Variant;
use super::kind::{At, Intro, Item, PageKind, Parts};
use super::{paths, Family, Site};
use crate::engine::rule::{Instance, Rule};
use crate::render::BuiltIn;
use serde::Serialize;

pub struct Chronological;

/// The page's values, as its template sees them.
#[derive(Serialize)]
struct Header {
    /// Read by screen readers, not shown.
    heading: String,
    page: usize,
    pages: usize,
    first_href: String,
    last_href: String,
    prev_href: Option<String>,
    next_href: Option<String>,
}

impl PageKind for Chronological {
    fn family(&self) -> Family {
        Family::Chronological
    }

    fn template(&self) -> BuiltIn {
        (
            "chronological",
            include_str!("../../templates/chronological.hbs"),
        )
    }

    fn shows_entries(&self) -> bool {
        true
    }

    fn pages(&self, site: &Site) -> Vec<(At, Option<u32>)> {
        let pages = site.timeline.page_count(site.layout.chronological_per_page);
        (1..=pages).map(|n| (At { row: 0, n }, None)).collect()
    }

    fn path(&self, _site: &Site, at: At) -> String {
        paths::chronological(at.n)
    }

    fn parts(&self, site: &Site, At { n, .. }: At) -> Parts {
        let per = site.layout.chronological_per_page;
        let pages = site.timeline.page_count(per);
        let href = |p: usize| format!("{p:02}.html");
        let heading = format!("In time order, page {n} of {pages}");
        let header = Header {
            heading: heading.clone(),
            page: n,
            pages,
            first_href: href(1),
            last_href: href(pages),
            prev_href: (n > 1).then(|| href(n - 1)),
            next_href: (n < pages).then(|| href(n + 1)),
        };
        let rows = site.timeline.order.iter().skip((n - 1) * per).take(per);
        let items = rows
            .enumerate()
            .map(|(i, &row)| Item {
                intro: if i == 0 {
                    Intro::Nothing
                } else {
                    Intro::BlankLine
                },
                row,
                variant: Variant::Chronological,
            })
            .collect();
        Parts::new(site.titled(&heading), header, items)
    }

    fn poems_source(&self, _site: &Site, _at: At) -> Option<Instance> {
        Some(Instance::only(Rule::Timeline))
    }
}
