//! One poem's entry: the exact values that reach the entry template (so its
//! key is a hash of them), drawn from the poem, its colour, its bar cells and
//! its chronological page.

use super::paths;
use crate::config::COLOUR_NAMES;
use crate::corpus::Poem;
use crate::derive::timeline::{percent, BAR_CELLS};
use crate::engine::rule::{hash_value as hash, Code, Fingerprint, Instance, Rule};
use crate::render::colour_class;
use crate::text::{clean, escape, escape_with_emphasis, pad, truncate, wrap};
use serde::Serialize;

/// Text columns of an entry.
pub const WIDTH: usize = 80;

/// Which form of the entry a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Variant {
    /// On chronological pages: an anchor, no chronological link.
    Chronological,
    /// Everywhere else.
    Linked,
}

/// What decides an entry's bytes besides the poem.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub colour: u8,
    pub filled: u8,
    pub chronological_page: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    pub anchor: Option<String>,
    /// The provenance line's path: ` -> file: ` is the template's.
    pub origin: String,
    pub colour_class: String,
    pub colour_name: &'static str,
    pub percent: u32,
    pub bar_filled: String,
    pub bar_empty: String,
    pub golden: bool,
    pub golden_rule: String,
    pub body: Vec<String>,
    pub nav_gap: String,
    pub nav_left: String,
    pub nav_right: String,
    pub similar_href: String,
    pub chronological_href: Option<String>,
    pub different_href: String,
    pub rule_filled: String,
    pub rule_empty: String,
}

impl EntryView {
    pub fn new(poem: &Poem, place: &Placement, variant: Variant) -> EntryView {
        let colour = place.colour as usize;
        let filled = place.filled as usize;
        let origin = match (&poem.source_file, poem.category.as_str()) {
            (Some(source), "notes") => clean(source).replace('\n', " "),
            _ => clean(&poem.label()).replace('\n', " "),
        };
        let mut body = Vec::new();
        if let Some(warning) = &poem.warning {
            warning_box(&mut body, warning);
        }
        let content = content_lines(poem);
        if poem.boost {
            boost_frame(&mut body, poem.original_uri.as_deref(), content);
        } else {
            body.extend(content);
        }
        // The bottom rule's 81 inner cells take the bar's colour fill.
        let rule_cells = filled.saturating_sub(1).min(BAR_CELLS - 2);
        let code = paths::code(poem.index);
        EntryView {
            anchor: (variant == Variant::Chronological).then(|| paths::anchor(poem.index)),
            origin: truncate(&origin, WIDTH - 10),
            colour_class: colour_class(place.colour),
            colour_name: COLOUR_NAMES[colour],
            percent: percent(place.filled),
            bar_filled: "═".repeat(filled),
            bar_empty: "─".repeat(BAR_CELLS - filled),
            golden: poem.golden,
            golden_rule: if poem.golden {
                "═".repeat(WIDTH - 1)
            } else {
                String::new()
            },
            body,
            nav_gap: " ".repeat(BAR_CELLS - 24),
            nav_left: " ".repeat((BAR_CELLS - 24 - 13) / 2),
            nav_right: " ".repeat(BAR_CELLS - 24 - 13 - (BAR_CELLS - 24 - 13) / 2),
            similar_href: format!("../{}", paths::similar(poem.index, 1)),
            chronological_href: (variant == Variant::Linked).then(|| {
                format!(
                    "../{}#poem-{code}",
                    paths::chronological(place.chronological_page)
                )
            }),
            different_href: format!("../{}", paths::different(poem.index, 1)),
            rule_filled: "═".repeat(rule_cells),
            rule_empty: "─".repeat(BAR_CELLS - 2 - rule_cells),
        }
    }
}

/// The entry's declared inputs: everything its view is drawn from. They are
/// hashed rather than the drawn view: drawing all entries on every build cost
/// ~100 ms at 7,797 poems, and the view is a pure function of them and of
/// the entry's code, which the fingerprint includes.
pub fn fingerprint(
    poem: &Poem,
    place: &Placement,
    template: &blake3::Hash,
    code: &Code,
) -> Fingerprint {
    Fingerprint::new(instance(poem.index), code)
        .input("template entry", *template)
        .input(
            "category, id or source",
            hash(&(
                poem.index,
                &poem.category,
                &poem.id,
                &poem.source_file,
                &poem.original_uri,
            )),
        )
        .input("content", hash(&poem.content))
        .input("content warning", hash(&poem.warning))
        .input("attachments", hash(&poem.attachments))
        .input("golden or boost flag", hash(&(poem.golden, poem.boost)))
        .value(
            "colour",
            hash(&place.colour),
            &Instance::only(Rule::Colours),
        )
        .value(
            "timeline position",
            hash(&place.filled),
            &Instance::only(Rule::Timeline),
        )
        .value(
            "chronological page",
            hash(&(place.chronological_page as u64)),
            &Instance::only(Rule::Timeline),
        )
}

/// The instance of a poem's entry.
pub fn instance(index: u32) -> Instance {
    Instance::of(Rule::Entry, &paths::code(index))
}

/// The key of one variant of an entry.
pub fn variant_key(key: &blake3::Hash, variant: Variant) -> blake3::Hash {
    let tag = match variant {
        Variant::Chronological => 0u8,
        Variant::Linked => 1,
    };
    blake3::hash(&[key.as_bytes().as_slice(), &[tag]].concat())
}

fn warning_box(body: &mut Vec<String>, warning: &str) {
    let inner = WIDTH - 4;
    body.push(format!("┌{}┐", "─".repeat(WIDTH - 2)));
    let text = format!("CW: {}", clean(warning).replace('\n', " "));
    for line in wrap(&text, inner) {
        body.push(format!("│ {} │", escape(&pad(&line, inner))));
    }
    body.push(format!("└{}┘", "─".repeat(WIDTH - 2)));
}

fn content_lines(poem: &Poem) -> Vec<String> {
    let mut lines = Vec::new();
    for line in clean(&poem.content).trim_matches('\n').split('\n') {
        for wrapped in wrap(line, WIDTH - 1) {
            lines.push(format!(" {}", escape_with_emphasis(&wrapped)));
        }
    }
    for a in &poem.attachments {
        let alt = a
            .alt
            .as_deref()
            .map(|t| escape(&clean(t)))
            .unwrap_or_default();
        let mut img = format!(
            " <img src=\"{}\" alt=\"{alt}\"",
            escape(&paths::from_subfolder(&paths::media(&a.relative_path)))
        );
        if !alt.is_empty() {
            img.push_str(&format!(" title=\"{alt}\""));
        }
        img.push_str(" loading=\"lazy\"");
        if let (Some(w), Some(h)) = (a.width, a.height) {
            img.push_str(&format!(" width=\"{w}\" height=\"{h}\""));
        }
        img.push('>');
        lines.push(img);
    }
    lines
}

/// Someone else's words: a frame headed `[BOOST]` with the original's address.
fn boost_frame(body: &mut Vec<String>, uri: Option<&str>, content: Vec<String>) {
    let head = "┌─ [BOOST] re-shared, not the poet's words ";
    body.push(format!(
        "{head}{}",
        "─".repeat(WIDTH - head.chars().count())
    ));
    match uri {
        Some(uri) => {
            let uri = clean(uri).replace('\n', "");
            let linkable = uri.starts_with("https://") || uri.starts_with("http://");
            let pieces = wrap(&format!("original: {uri}"), WIDTH - 2);
            for piece in pieces {
                let shown = escape(&piece);
                if linkable {
                    body.push(format!("│ <a href=\"{}\">{shown}</a>", escape(&uri)));
                } else {
                    body.push(format!("│ {shown}"));
                }
            }
        }
        None => body.push("│ original: unknown".to_string()),
    }
    body.extend(content.into_iter().map(|line| format!("│{line}")));
    body.push(format!("└{}", "─".repeat(WIDTH - 1)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Attachment, Poem};

    fn poem() -> Poem {
        Poem {
            index: 42,
            position: 0,
            id: "x".into(),
            category: "notes".into(),
            content: "a *b* c-d\n\nsecond line".into(),
            warning: Some("w".into()),
            title: None,
            time: 0,
            golden: true,
            boost: true,
            original_uri: Some("https://e.org/1".into()),
            source_file: Some("n.md".into()),
            attachments: vec![Attachment {
                media_type: String::new(),
                relative_path: "a b.png".into(),
                alt: Some("alt".into()),
                width: Some(1),
                height: Some(2),
            }],
        }
    }

    #[test]
    fn keys_follow_every_input_that_shapes_the_entry() {
        let t = blake3::hash(b"template");
        let code = Code::compiled();
        let place = Placement {
            colour: 3,
            filled: 40,
            chronological_page: 2,
        };
        let key = |poem: &Poem, place: &Placement, t: &blake3::Hash| {
            fingerprint(poem, place, t, code).key()
        };
        let base = key(&poem(), &place, &t);
        assert_eq!(base, key(&poem(), &place, &t));
        assert_ne!(
            variant_key(&base, Variant::Linked),
            variant_key(&base, Variant::Chronological)
        );
        assert_ne!(base, key(&poem(), &place, &blake3::hash(b"other")));
        let moved = Placement {
            filled: 41,
            ..place
        };
        assert_ne!(base, key(&poem(), &moved, &t));
        let mut edited = poem();
        edited.content.push('!');
        assert_ne!(base, key(&edited, &place, &t));
        // The time only reaches the entry through its bar cells.
        let mut later = poem();
        later.time += 1;
        assert_eq!(base, key(&later, &place, &t));
        let changed = fingerprint(&poem(), &place, &t, &code.with_changed(Rule::Entry));
        assert_ne!(base, changed.key());
    }

    #[test]
    fn every_line_fits_and_the_bar_is_83_cells() {
        let place = Placement {
            colour: 0,
            filled: 83,
            chronological_page: 1,
        };
        let v = EntryView::new(&poem(), &place, Variant::Linked);
        assert_eq!(
            v.bar_filled.chars().count() + v.bar_empty.chars().count(),
            83
        );
        assert_eq!(v.origin, "n.md");
        assert!(v.body.iter().any(|l| l.contains("[BOOST]")));
        assert_eq!(v.percent, 100);
    }
}
