//! A kind of page: everything the site knows about it, declared by one
//! module (`chronological.rs`, `ranked.rs`, `word.rs`, `menu.rs`,
//! `explore.rs`, `map.rs`) and listed once in `mod.rs`'s `KINDS`: its
//! family, its template (name and built-in source), its pages and their
//! paths, what each page shows (`Parts`), and the rule instances its values
//! come from. The page's key,
//! its record and its bytes are made from these by `mod.rs`, the same for
//! every kind; the partials a template includes are read from the template.

use super::entry::Variant;
use super::{Family, Site};
use crate::engine::rule::Instance;
use crate::error::{Error, Result};
use crate::render::BuiltIn;
use serde::Serialize;
use serde_json::Value;

/// Which page of its kind: a poem's row and a page number, as the kind
/// uses them (a word page's word is its `n`; the menu uses neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct At {
    pub row: u32,
    pub n: usize,
}

pub trait PageKind: Sync {
    fn family(&self) -> Family;
    /// The template its pages are rendered with: its name (a user's
    /// `NAME.hbs` overrides it) and its built-in source.
    fn template(&self) -> BuiltIn;
    /// Whether its pages show poems' entries (their keys then cover the
    /// entry template).
    fn shows_entries(&self) -> bool {
        false
    }
    /// Every page of the kind in the site, with the row of the poem it is
    /// about (for the progress display): by default, one page.
    fn pages(&self, _site: &Site) -> Vec<(At, Option<u32>)> {
        vec![(At::default(), None)]
    }
    /// The page's path, relative to the output folder.
    fn path(&self, site: &Site, at: At) -> String;
    /// What the page shows.
    fn parts(&self, site: &Site, at: At) -> Parts;
    /// The rule instance the poems it shows come from (for `--explain`).
    fn poems_source(&self, _site: &Site, _at: At) -> Option<Instance> {
        None
    }
    /// The rule instance most of its header values come from.
    fn header_source(&self, _site: &Site, _at: At) -> Option<Instance> {
        None
    }
    /// The sitemap's date of the page: the newest of the poems it shows.
    fn newest(&self, site: &Site, parts: &Parts) -> Option<i64> {
        parts.items.iter().map(|i| site.poem(i.row).time).max()
    }
}

/// A page's header values, as its template sees them and as its key
/// hashes them.
pub trait HeaderValues: Send {
    /// The title and these values, as hashed into the page's key.
    fn key_bytes(&self, title: &str) -> Vec<u8>;
    fn to_json(&self) -> Result<Value>;
}

impl<T: Serialize + Send> HeaderValues for T {
    fn key_bytes(&self, title: &str) -> Vec<u8> {
        postcard::to_stdvec(&(title, self)).expect("headers serialise")
    }

    fn to_json(&self) -> Result<Value> {
        serde_json::to_value(self).map_err(|e| Error::Template(e.to_string()))
    }
}

/// A page: its title, header values and entries.
pub struct Parts {
    pub title: String,
    pub header: Box<dyn HeaderValues>,
    pub items: Vec<Item>,
}

impl Parts {
    pub fn new(title: String, header: impl HeaderValues + 'static, items: Vec<Item>) -> Parts {
        Parts {
            title,
            header: Box::new(header),
            items,
        }
    }
}

/// What stands before an entry on a page.
#[derive(Clone, Copy)]
pub enum Intro {
    Nothing,
    BlankLine,
    /// `--- #RANK CATEGORY/ID ---`
    Rank(usize),
}

/// One entry on a page, with the line that introduces it.
pub struct Item {
    pub intro: Intro,
    pub row: u32,
    pub variant: Variant,
}
