//! The families of targets (what the summary, `status` and the progress
//! display count by), and `PerFamily`, the one shape of those counts.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::ops::{Index, IndexMut};

/// Families of targets, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Chronological,
    Similar,
    Different,
    Wordcloud,
    Menu,
    /// `feed.xml` and the sitemap (with `base_url`).
    Feeds,
    Media,
}

impl Family {
    pub const ALL: [Family; 7] = [
        Family::Chronological,
        Family::Similar,
        Family::Different,
        Family::Wordcloud,
        Family::Menu,
        Family::Feeds,
        Family::Media,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Family::Chronological => "chronological",
            Family::Similar => "similar",
            Family::Different => "different",
            Family::Wordcloud => "wordcloud",
            Family::Menu => "menu",
            Family::Feeds => "feeds",
            Family::Media => "media",
        }
    }
    /// The family a recorded output path belongs to.
    pub fn of_path(path: &str) -> Family {
        match path.split('/').next() {
            Some("chronological") => Family::Chronological,
            Some("similar") => Family::Similar,
            Some("different") => Family::Different,
            Some("wordcloud") => Family::Wordcloud,
            Some("media") => Family::Media,
            Some(top) if top.ends_with(".xml") => Family::Feeds,
            _ => Family::Menu,
        }
    }
}

/// One value per family, in display order; serialised as a map from each
/// family's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerFamily<T>([T; Family::ALL.len()]);

impl<T> PerFamily<T> {
    pub fn from_fn(f: impl FnMut(Family) -> T) -> PerFamily<T> {
        PerFamily(Family::ALL.map(f))
    }

    /// Each family with its value, in display order.
    pub fn iter(&self) -> impl Iterator<Item = (Family, &T)> {
        Family::ALL.into_iter().zip(&self.0)
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.0.iter()
    }
}

impl<T> Index<Family> for PerFamily<T> {
    type Output = T;
    fn index(&self, family: Family) -> &T {
        &self.0[family as usize]
    }
}

impl<T> IndexMut<Family> for PerFamily<T> {
    fn index_mut(&mut self, family: Family) -> &mut T {
        &mut self.0[family as usize]
    }
}

impl<T: Serialize> Serialize for PerFamily<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (family, value) in self.iter() {
            map.serialize_entry(family.name(), value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_indexed_and_shown_in_display_order() {
        assert!(Family::ALL
            .iter()
            .enumerate()
            .all(|(i, f)| *f as usize == i));
        let mut counts = PerFamily::<usize>::default();
        counts[Family::Menu] += 2;
        let json = serde_json::to_string(&counts).unwrap();
        assert_eq!(
            json,
            r#"{"chronological":0,"similar":0,"different":0,"wordcloud":0,"menu":2,"feeds":0,"media":0}"#
        );
        for f in Family::ALL {
            let path = match f {
                Family::Menu => "index.html".to_string(),
                Family::Feeds => "sitemap-2.xml".to_string(),
                _ => format!("{}/x.html", f.name()),
            };
            assert_eq!(Family::of_path(&path), f, "{f:?}");
        }
    }
}
