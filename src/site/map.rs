//! `map.html`: the whole collection at a glance. Every poem is a dot (a
//! round-capped stroke of no length, shorter than a circle) at its place in
//! the map's layout (`derive/map.rs`), in its colour, linking to its first
//! similar page and titled with its `CATEGORY/ID` and first words; the
//! cloud's largest words stand as landmarks where their poems are; a
//! legend names the colours. The template (`templates/map.hbs`)
//! draws the view as an inline SVG; the view is all the page's key needs.

use super::kind::{At, PageKind, Parts};
use super::{paths, Family, Site};
use crate::config::{COLOUR_HEX, COLOUR_NAMES};
use crate::corpus::Poem;
use crate::derive::words::WordPage;
use crate::engine::rule::{Instance, Rule};
use crate::render::BuiltIn;
use crate::text::truncate;
use serde::Serialize;

pub struct Map;

impl PageKind for Map {
    fn family(&self) -> Family {
        Family::Menu
    }

    fn template(&self) -> BuiltIn {
        ("map", include_str!("../../templates/map.hbs"))
    }

    fn path(&self, _site: &Site, _at: At) -> String {
        "map.html".into()
    }

    fn parts(&self, site: &Site, _at: At) -> Parts {
        let view = view(
            &site.corpus.poems,
            &site.map.points,
            site.colours,
            site.words,
        );
        Parts::new(site.titled("A map of every poem"), view, Vec::new())
    }

    fn header_source(&self, _site: &Site, _at: At) -> Option<Instance> {
        Some(Instance::only(Rule::MapLayout))
    }

    /// It shows every poem: the newest one's date.
    fn newest(&self, site: &Site, _parts: &Parts) -> Option<i64> {
        site.timeline.order.last().map(|&row| site.poem(row).time)
    }
}

/// The drawing's width in SVG units (the map's longer axis); its height
/// follows the layout's shape.
const SPAN: f32 = 1000.0;
/// Room around the drawing for the dots' radius and the landmarks.
const MARGIN: u32 = 16;
/// At most this many landmarks, the cloud's largest words first.
const LANDMARKS: usize = 24;
/// A landmark stands at the median place of its word page's first poems
/// (the median, so that a few poems elsewhere do not pull it between
/// places).
const LANDMARK_POEMS: usize = 9;
/// A dot's title: `CATEGORY/ID` and first words (every character is
/// repeated once a poem in the page's bytes).
const LABEL_WIDTH: usize = 60;

/// What `map.html` shows, as its template reads it.
#[derive(Serialize)]
pub struct MapView {
    pub poems: usize,
    /// The SVG's `viewBox` size.
    pub width: u32,
    pub height: u32,
    pub legend: Vec<Swatch>,
    /// The dots by colour, the most common colour first, so the rarer ones
    /// are drawn over it.
    pub groups: Vec<DotGroup>,
    pub landmarks: Vec<Landmark>,
}

#[derive(Serialize)]
pub struct Swatch {
    pub name: &'static str,
    pub hex: &'static str,
    pub count: usize,
}

#[derive(Serialize)]
pub struct DotGroup {
    pub hex: &'static str,
    pub dots: Vec<Dot>,
}

#[derive(Serialize)]
pub struct Dot {
    pub x: u32,
    pub y: u32,
    pub href: String,
    pub label: String,
}

#[derive(Serialize)]
pub struct Landmark {
    pub word: String,
    pub x: u32,
    pub y: u32,
    /// Font size in SVG units.
    pub size: u32,
}

/// The map of these poems (by corpus row) at these places in the unit
/// square, in these colours, with the cloud's word pages for landmarks.
pub fn view(poems: &[Poem], places: &[[f32; 2]], colours: &[u8], words: &[WordPage]) -> MapView {
    // Wide rather than tall: a layout taller than wide is turned.
    let (w, h) = places
        .iter()
        .fold((0.0f32, 0.0f32), |(w, h), p| (w.max(p[0]), h.max(p[1])));
    let turned = h > w;
    let unit = |p: &[f32; 2]| if turned { [p[1], p[0]] } else { *p };
    let at = |v: f32| MARGIN + (v * SPAN).round() as u32;
    let places: Vec<[u32; 2]> = places
        .iter()
        .map(|p| {
            let [x, y] = unit(p);
            [at(x), at(y)]
        })
        .collect();
    let width = at(w.max(h)) + MARGIN;
    let height = at(w.min(h)) + MARGIN;
    let legend: Vec<Swatch> = COLOUR_NAMES
        .iter()
        .zip(COLOUR_HEX)
        .enumerate()
        .map(|(c, (name, hex))| Swatch {
            name,
            hex,
            count: colours.iter().filter(|&&k| k as usize == c).count(),
        })
        .collect();
    let mut order: Vec<usize> = (0..legend.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(legend[c].count));
    let groups = order
        .into_iter()
        .filter(|&c| legend[c].count > 0)
        .map(|c| DotGroup {
            hex: COLOUR_HEX[c],
            dots: (0..poems.len())
                .filter(|&row| colours[row] as usize == c)
                .map(|row| {
                    let poem = &poems[row];
                    let label = format!("{} {}", poem.label(), poem.first_words(LABEL_WIDTH));
                    Dot {
                        x: places[row][0],
                        y: places[row][1],
                        href: paths::similar(poem.index, 1),
                        label: truncate(&label, LABEL_WIDTH),
                    }
                })
                .collect(),
        })
        .collect();
    MapView {
        poems: poems.len(),
        width,
        height,
        legend,
        groups,
        landmarks: landmarks(&places, words, width),
    }
}

/// The cloud's largest words, each at the median place of its closest poems
/// (moved in from an edge so that it is drawn whole within `width`),
/// leaving out a word whose label would cover one already placed.
fn landmarks(places: &[[u32; 2]], words: &[WordPage], width: u32) -> Vec<Landmark> {
    let mut largest: Vec<&WordPage> = words.iter().collect();
    largest.sort_by(|a, b| (b.word.count, &a.word.word).cmp(&(a.word.count, &b.word.word)));
    let mut placed: Vec<Landmark> = Vec::new();
    for page in largest {
        let rows = &page.ranking.poems[..page.ranking.poems.len().min(LANDMARK_POEMS)];
        if rows.is_empty() {
            continue;
        }
        let median = |k: usize| {
            let mut at: Vec<u32> = rows.iter().map(|&r| places[r as usize][k]).collect();
            at.sort_unstable();
            at[at.len() / 2]
        };
        let size = 16 + 4 * u32::from(page.word.size.saturating_sub(4));
        // Just above its poems, so that it names them without hiding them.
        let mut landmark = Landmark {
            word: page.word.word.clone(),
            x: median(0),
            y: median(1).saturating_sub(size * 3 / 4).max(size / 2),
            size,
        };
        let half = half_width(&landmark);
        landmark.x = landmark.x.min(width.saturating_sub(half)).max(half);
        if !placed.iter().any(|p| overlaps(p, &landmark)) {
            placed.push(landmark);
        }
        if placed.len() == LANDMARKS {
            break;
        }
    }
    placed
}

/// Half a label's width: a character is about 0.6 of the font size wide.
fn half_width(l: &Landmark) -> u32 {
    l.word.chars().count() as u32 * l.size * 3 / 10
}

/// Whether two centred labels' boxes meet.
fn overlaps(a: &Landmark, b: &Landmark) -> bool {
    a.x.abs_diff(b.x) < half_width(a) + half_width(b) && a.y.abs_diff(b.y) < (a.size + b.size) / 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::words::{CloudWord, WordRanking};

    fn page(word: &str, count: u64, poems: Vec<u32>) -> WordPage {
        WordPage {
            word: CloudWord {
                word: word.into(),
                count,
                size: 7,
            },
            ranking: WordRanking {
                colour: 0,
                central: poems[0],
                poems,
            },
        }
    }

    #[test]
    fn landmarks_stand_where_their_poems_are_and_do_not_cover_each_other() {
        let places = [
            [100, 100],
            [120, 100],
            [900, 500],
            [100, 104],
            [110, 98],
            [5, 300],
            [990, 700],
        ];
        let words = [
            page("sea", 9, vec![0, 1, 4]),
            page("stone", 8, vec![2]),
            // Its poems are where "sea" stands: left out.
            page("salt", 7, vec![3, 0, 2]),
            // At the edges: moved in until the whole word (half of it
            // 6 × 28 × 0.3 = 50 units wide, 4 × 28 × 0.3 = 33) is drawn.
            page("violet", 6, vec![5]),
            page("rain", 5, vec![6]),
        ];
        let marks = landmarks(&places, &words, 1000);
        let shown: Vec<(&str, u32, u32)> =
            marks.iter().map(|m| (m.word.as_str(), m.x, m.y)).collect();
        assert_eq!(
            shown,
            vec![
                ("sea", 110, 79),
                ("stone", 900, 479),
                ("violet", 50, 279),
                ("rain", 967, 679)
            ]
        );
    }
}
