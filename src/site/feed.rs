//! `feed.xml`: an Atom 1.0 feed (RFC 4287) of the newest poems by creation
//! time. Every value comes from the poems and the configuration, never
//! from the time of the build, so the same inputs give the same bytes and
//! a build that adds no poem leaves the feed as it was.

use crate::corpus::Poem;
use crate::date::rfc3339;
use serde::Serialize;

/// One poem in the feed, as its entry shows it.
#[derive(Debug, Serialize)]
pub struct FeedEntry {
    /// Lasts as long as the poem: made from its `poem_index` and the
    /// site's host, nothing the poet edits.
    pub id: String,
    pub title: String,
    pub time: i64,
    /// The poem's place in the chronological pages.
    pub link: String,
    pub warning: Option<String>,
    pub content: String,
}

/// What the feed is made from: its key hashes this.
#[derive(Debug, Serialize)]
pub struct FeedView {
    pub base_url: String,
    pub title: String,
    pub entries: Vec<FeedEntry>,
}

/// The characters an entry's title is cut to, when the poem has none.
const TITLE_CHARS: usize = 60;

impl FeedEntry {
    pub fn new(poem: &Poem, base_url: &str, chronological_href: &str) -> FeedEntry {
        FeedEntry {
            id: urn(base_url, &format!("poem {}", poem.index)),
            title: poem
                .title
                .clone()
                .unwrap_or_else(|| poem.first_words(TITLE_CHARS)),
            time: poem.time,
            link: format!("{base_url}{chronological_href}"),
            warning: poem.warning.clone(),
            content: poem.content.clone(),
        }
    }
}

/// A `urn:uuid:` made from the site's host and what it names (the feed, or
/// a poem by its index): unique across sites, and the same for as long as
/// that exists.
fn urn(base_url: &str, what: &str) -> String {
    let host = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest.split('/').next().unwrap_or(rest));
    let hash = blake3::hash(format!("verso {what} at {host}").as_bytes());
    let h = hash.to_hex();
    // The layout of a UUID (version 8: custom, RFC 9562), from the hash.
    let variant = ["8", "9", "a", "b"][usize::from(hash.as_bytes()[8] & 3)];
    format!(
        "urn:uuid:{}-{}-8{}-{variant}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Text for XML: the five significant characters escaped, and the
/// control characters XML 1.0 cannot hold left out.
fn xml(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|&c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .collect();
    crate::text::escape(&kept)
}

impl FeedView {
    /// The feed's bytes.
    pub fn render(&self) -> String {
        let base = xml(&self.base_url);
        let updated = self.entries.iter().map(|e| e.time).max();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
        out.push_str(&format!("  <title>{}</title>\n", xml(&self.title)));
        out.push_str(&format!("  <id>{}</id>\n", urn(&self.base_url, "feed")));
        out.push_str(&format!(
            "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{base}feed.xml\"/>\n"
        ));
        out.push_str(&format!(
            "  <link rel=\"alternate\" type=\"text/html\" href=\"{base}\"/>\n"
        ));
        // A feed without poems is dated at the epoch: no honest date
        // exists, and the build's own time would rewrite it every time.
        out.push_str(&format!(
            "  <updated>{}</updated>\n",
            rfc3339(updated.unwrap_or(0))
        ));
        out.push_str(&format!(
            "  <author><name>{}</name></author>\n",
            xml(&self.title)
        ));
        out.push_str("  <generator>verso</generator>\n");
        for e in &self.entries {
            let date = rfc3339(e.time);
            let mut html = String::new();
            if let Some(w) = &e.warning {
                html.push_str(&format!("<p><strong>CW: {}</strong></p>\n", xml(w)));
            }
            html.push_str(&format!("<pre>{}</pre>", xml(&e.content)));
            out.push_str("  <entry>\n");
            out.push_str(&format!("    <id>{}</id>\n", e.id));
            out.push_str(&format!("    <title>{}</title>\n", xml(&e.title)));
            out.push_str(&format!(
                "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
                xml(&e.link)
            ));
            out.push_str(&format!("    <published>{date}</published>\n"));
            out.push_str(&format!("    <updated>{date}</updated>\n"));
            out.push_str(&format!(
                "    <content type=\"html\">{}</content>\n",
                xml(&html)
            ));
            out.push_str("  </entry>\n");
        }
        out.push_str("</feed>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_last_as_long_as_the_poem_and_differ_between_poems_and_sites() {
        let a = urn("https://a.example/", "poem 7");
        assert_eq!(a, urn("https://a.example/poems/", "poem 7"));
        assert_ne!(a, urn("https://a.example/", "poem 8"));
        assert_ne!(a, urn("https://b.example/", "poem 7"));
        let uuid = a.strip_prefix("urn:uuid:").unwrap();
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&uuid[14..15], "8");
    }

    #[test]
    fn text_is_escaped_and_control_characters_left_out() {
        assert_eq!(xml("a<b & \"c\"\u{1}\n"), "a&lt;b &amp; &quot;c&quot;\n");
    }
}
