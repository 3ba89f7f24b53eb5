//! `explore.html`: a short, static page on how to read the site.

use super::kind::{At, PageKind, Parts};
use super::{Family, Site};
use crate::render::BuiltIn;
use serde::Serialize;

pub struct Explore;

/// It has no values of its own.
#[derive(Serialize)]
struct Header {}

impl PageKind for Explore {
    fn family(&self) -> Family {
        Family::Menu
    }

    fn template(&self) -> BuiltIn {
        ("explore", include_str!("../../templates/explore.hbs"))
    }

    fn path(&self, _site: &Site, _at: At) -> String {
        "explore.html".into()
    }

    fn parts(&self, site: &Site, _at: At) -> Parts {
        Parts::new(site.titled("How to read this site"), Header {}, Vec::new())
    }

    /// No poem dates it.
    fn newest(&self, _site: &Site, _parts: &Parts) -> Option<i64> {
        None
    }
}
