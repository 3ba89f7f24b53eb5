//! One poem's entry: the exact values that reach the entry template (so its
//! key is a hash of them), drawn from the poem, its colour, its bar cells and
//! its chronological page.

use super::paths;
use crate::config::{COLOUR_HEX, COLOUR_NAMES};
use crate::corpus::Poem;
use crate::derive::timeline::{percent, BAR_CELLS};
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
    pub provenance: String,
    pub colour: &'static str,
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
            provenance: format!(" -> file: {}", truncate(&origin, WIDTH - 10)),
            colour: COLOUR_HEX[colour],
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

/// Everything an entry's view is drawn from. The entry's key hashes these
/// rather than the drawn view: drawing all entries on every no-op build cost
/// ~100 ms at 7,797 poems, and the view is a pure function of them (and of
/// verso's version, which every key includes).
#[derive(Serialize)]
struct EntryInputs<'a> {
    index: u32,
    category: &'a str,
    id: &'a str,
    content: &'a str,
    warning: Option<&'a str>,
    golden: bool,
    boost: bool,
    original_uri: Option<&'a str>,
    source_file: Option<&'a str>,
    attachments: &'a [crate::corpus::Attachment],
    colour: u8,
    filled: u8,
    chronological_page: usize,
    variant: Variant,
}

/// The key of a poem's entry in one variant, under the given entry template.
pub fn key(
    poem: &Poem,
    place: &Placement,
    variant: Variant,
    template: &blake3::Hash,
) -> blake3::Hash {
    let inputs = EntryInputs {
        index: poem.index,
        category: &poem.category,
        id: &poem.id,
        content: &poem.content,
        warning: poem.warning.as_deref(),
        golden: poem.golden,
        boost: poem.boost,
        original_uri: poem.original_uri.as_deref(),
        source_file: poem.source_file.as_deref(),
        attachments: &poem.attachments,
        colour: place.colour,
        filled: place.filled,
        chronological_page: place.chronological_page,
        variant,
    };
    let mut h = blake3::Hasher::new();
    h.update(b"verso entry ");
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(template.as_bytes());
    h.update(&postcard::to_stdvec(&inputs).expect("entry inputs serialise"));
    h.finalize()
}

/// Named digests of the groups of values an entry is drawn from.
pub type Digests = Vec<(String, [u8; 8])>;

/// The entry's digests, named as `status --explain` reports them.
pub fn digests(poem: &Poem, place: &Placement) -> Digests {
    let digest = |parts: &[&[u8]]| {
        let mut h = blake3::Hasher::new();
        for part in parts {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        super::short(&h.finalize())
    };
    let attachments = postcard::to_stdvec(&poem.attachments).expect("attachments serialise");
    let flags = [poem.golden as u8, poem.boost as u8];
    let origin = format!(
        "{:?}|{}|{}|{:?}",
        poem.source_file, poem.category, poem.id, poem.original_uri
    );
    vec![
        ("content".into(), digest(&[poem.content.as_bytes()])),
        (
            "content warning".into(),
            digest(&[poem.warning.as_deref().unwrap_or("").as_bytes()]),
        ),
        ("attachments".into(), digest(&[&attachments])),
        ("golden or boost flag".into(), digest(&[&flags])),
        (
            "category, id or source".into(),
            digest(&[origin.as_bytes()]),
        ),
        ("colour".into(), digest(&[&[place.colour]])),
        ("timeline position".into(), digest(&[&[place.filled]])),
        (
            "chronological page".into(),
            digest(&[&place.chronological_page.to_le_bytes()]),
        ),
    ]
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
        let place = Placement {
            colour: 3,
            filled: 40,
            chronological_page: 2,
        };
        let base = key(&poem(), &place, Variant::Linked, &t);
        assert_eq!(base, key(&poem(), &place, Variant::Linked, &t));
        assert_ne!(base, key(&poem(), &place, Variant::Chronological, &t));
        assert_ne!(
            base,
            key(&poem(), &place, Variant::Linked, &blake3::hash(b"other"))
        );
        assert_ne!(
            base,
            key(
                &poem(),
                &Placement {
                    filled: 41,
                    ..place
                },
                Variant::Linked,
                &t
            )
        );
        let mut edited = poem();
        edited.content.push('!');
        assert_ne!(base, key(&edited, &place, Variant::Linked, &t));
        // The time only reaches the entry through its bar cells.
        let mut moved = poem();
        moved.time += 1;
        assert_eq!(base, key(&moved, &place, Variant::Linked, &t));
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
        assert_eq!(v.provenance, " -> file: n.md");
        assert!(v.body.iter().any(|l| l.contains("[BOOST]")));
        assert_eq!(v.percent, 100);
    }
}
