//! `verso check`: every internal link and `#anchor` of a built site resolves
//! (in its pages, and in the feed's and the sitemap's absolute addresses
//! under `base_url`), no visible line is wider than 84 columns (tags
//! removed, entities decoded, counted in characters), and every file the
//! cache records is there with its recorded hash.

use crate::engine::store::{self, Store};
use crate::error::{Doing, IoContext, Result};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const MAX_COLUMNS: usize = 84;

#[derive(Debug, Default)]
pub struct Report {
    pub pages: usize,
    pub links: usize,
    pub problems: Vec<String>,
}

/// Every file under `dir`, as `/`-separated relative paths.
fn files(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).at(Doing::ReadingSite, dir)? {
        let entry = entry.at(Doing::ReadingSite, dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type().at(Doing::ReadingSite, &entry.path())?;
        if kind.is_dir() {
            files(&entry.path(), &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Check the site in `site`; `base_url` (the site's public address) makes
/// absolute links under it internal, as the feed's and the sitemap's are.
pub fn check(site: &Path, cache: Option<&Path>, base_url: Option<&str>) -> Result<Report> {
    let mut all = Vec::new();
    files(site, "", &mut all)?;
    all.sort();
    let known: HashSet<&str> = all.iter().map(String::as_str).collect();
    let pages: Vec<&String> = all
        .iter()
        .filter(|p| p.ends_with(".html") || p.ends_with(".xml"))
        .collect();
    let ids: Mutex<HashMap<String, HashSet<String>>> = Mutex::new(HashMap::new());
    let fragments: Mutex<HashMap<(String, String), String>> = Mutex::new(HashMap::new());
    let results: Vec<(usize, Vec<String>)> = pages
        .par_iter()
        .map(|page| -> Result<(usize, Vec<String>)> {
            let file = site.join(page.as_str());
            let text = std::fs::read_to_string(&file).at(Doing::ReadingSite, &file)?;
            let parsed = parse(&text);
            let mut problems = Vec::new();
            // The feed's and the sitemap's lines are no page's lines.
            if page.ends_with(".html") {
                for (number, width) in wide_lines(&text) {
                    problems.push(format!(
                        "{page}: line {number} is {width} columns wide (at most {MAX_COLUMNS})"
                    ));
                }
            }
            let mut wanted = BTreeSet::new();
            for link in &parsed.links {
                let under_base = base_url.and_then(|b| link.strip_prefix(b));
                let resolved = match under_base {
                    // The site's own address is its menu.
                    Some("") => resolve("", "/index.html"),
                    Some(rest) => resolve("", &format!("/{rest}")),
                    None => resolve(page, link),
                };
                match resolved {
                    Resolved::External => {}
                    Resolved::Outside => {
                        problems.push(format!("{page}: link {link:?} leaves the site"))
                    }
                    Resolved::Local(target, fragment) => {
                        let target = if target.is_empty() {
                            page.to_string()
                        } else {
                            target
                        };
                        if !known.contains(target.as_str()) {
                            problems
                                .push(format!("{page}: broken link {link:?} (no file {target})"));
                        } else if let Some(f) = fragment {
                            wanted.insert((target, f));
                        }
                    }
                }
            }
            if !parsed.ids.is_empty() {
                ids.lock().unwrap().insert(page.to_string(), parsed.ids);
            }
            let mut fr = fragments.lock().unwrap();
            for w in wanted {
                fr.entry(w).or_insert_with(|| page.to_string());
            }
            Ok((parsed.links.len(), problems))
        })
        .collect::<Result<_>>()?;
    let mut report = Report {
        pages: pages.len(),
        ..Default::default()
    };
    for (links, problems) in results {
        report.links += links;
        report.problems.extend(problems);
    }
    let ids = ids.into_inner().unwrap();
    let mut missing: Vec<String> = fragments
        .into_inner()
        .unwrap()
        .into_iter()
        .filter(|((target, fragment), _)| {
            !ids.get(target).is_some_and(|set| set.contains(fragment))
        })
        .map(|((target, fragment), from)| {
            format!("{from}: broken anchor {target}#{fragment} (no such id)")
        })
        .collect();
    missing.sort();
    report.problems.extend(missing);
    if let Some(cache) = cache.filter(|c| crate::engine::cache_dir::has_store(c)) {
        report.problems.extend(check_records(site, cache)?);
    }
    Ok(report)
}

/// Every recorded file exists and has its recorded hash.
fn check_records(site: &Path, cache: &Path) -> Result<Vec<String>> {
    let Some((_store, records)) = Store::open_read_only(cache)? else {
        return Ok(Vec::new());
    };
    let mut records: Vec<(&String, &store::Record)> = records.iter().collect();
    records.sort_by(|a, b| a.0.cmp(b.0));
    Ok(records
        .par_iter()
        .filter_map(|(path, record)| {
            let file: PathBuf = site.join(path.as_str());
            match std::fs::read(&file) {
                Err(_) => Some(format!("{path}: recorded in the cache but missing")),
                Ok(bytes) if blake3::hash(&bytes).as_bytes() != &record.hash => {
                    Some(format!("{path}: differs from the hash the cache recorded"))
                }
                Ok(_) => None,
            }
        })
        .collect())
}

struct Parsed {
    ids: HashSet<String>,
    links: Vec<String>,
}

/// Attributes of interest from every tag: `id`, `name`, `href`, `src`;
/// and the text of a sitemap's `<loc>`.
fn parse(html: &str) -> Parsed {
    let mut ids = HashSet::new();
    let mut links = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = tag_end(rest);
        let tag = &rest[..end];
        rest = &rest[end.min(rest.len())..];
        if tag.starts_with('!') || tag.starts_with('/') {
            continue;
        }
        if tag == "loc" {
            let text = rest.get(1..).unwrap_or_default();
            links.push(decode_entities(
                &text[..text.find('<').unwrap_or(text.len())],
            ));
            continue;
        }
        for (name, value) in attributes(tag) {
            match name.as_str() {
                "id" | "name" => {
                    ids.insert(decode_entities(&value));
                }
                "href" | "src" => links.push(decode_entities(&value)),
                _ => {}
            }
        }
    }
    Parsed { ids, links }
}

/// Where a tag ends, skipping `>` inside quoted attribute values.
fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i,
            _ => {}
        }
    }
    s.len()
}

fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag.trim_start_matches(|c: char| !c.is_whitespace());
    loop {
        rest = rest.trim_start();
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        if name_end == 0 {
            return out;
        }
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, next) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let close = after[1..].find(q).map_or(after.len(), |i| i + 1);
                    (&after[1..close], &after[(close + 1).min(after.len())..])
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            out.push((name, value.to_string()));
            rest = next;
        } else {
            out.push((name, String::new()));
        }
    }
}

enum Resolved {
    External,
    Outside,
    Local(String, Option<String>),
}

fn resolve(page: &str, link: &str) -> Resolved {
    let scheme = link
        .find(':')
        .is_some_and(|i| !link[..i].contains(['/', '#', '?']));
    if scheme || link.starts_with("//") {
        return Resolved::External;
    }
    let (path, fragment) = match link.split_once('#') {
        Some((p, f)) => (p, Some(percent_decode(f))),
        None => (link, None),
    };
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() {
        return Resolved::Local(String::new(), fragment);
    }
    let mut parts: Vec<String> = if path.starts_with('/') {
        Vec::new()
    } else {
        page.split('/').map(String::from).collect::<Vec<_>>()
    };
    if !path.starts_with('/') {
        parts.pop();
    }
    for segment in percent_decode(path).split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Resolved::Outside;
                }
            }
            s => parts.push(s.to_string()),
        }
    }
    Resolved::Local(parts.join("/"), fragment)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decode character references into the characters they stand for.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 12);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ if name.starts_with("#x") || name.starts_with("#X") => {
                    u32::from_str_radix(&name[2..], 16)
                        .ok()
                        .and_then(char::from_u32)
                }
                _ if name.starts_with('#') => name[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The visible text of the body: head, styles and scripts dropped, tags removed.
pub fn visible_text(html: &str) -> String {
    let body = match (html.find("<body"), html.rfind("</body>")) {
        (Some(s), Some(e)) if s < e => &html[s..e],
        _ => html,
    };
    let mut text = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        rest = &rest[start + 1..];
        let lower = rest.get(..6).unwrap_or(rest).to_ascii_lowercase();
        let skip_to = if lower.starts_with("style") {
            Some("</style>")
        } else if lower.starts_with("script") {
            Some("</script>")
        } else {
            None
        };
        match skip_to.and_then(|close| rest.find(close).map(|i| i + close.len())) {
            Some(after) => rest = &rest[after..],
            None => {
                let end = tag_end(rest);
                rest = &rest[(end + 1).min(rest.len())..];
            }
        }
    }
    text.push_str(rest);
    decode_entities(&text)
}

/// 1-based numbers and widths of the visible lines wider than allowed.
pub fn wide_lines(html: &str) -> Vec<(usize, usize)> {
    visible_text(html)
        .split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.chars().count()))
        .filter(|&(_, w)| w > MAX_COLUMNS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_relative_to_the_page() {
        assert!(
            matches!(resolve("similar/a.html", "../index.html"), Resolved::Local(p, None) if p == "index.html")
        );
        assert!(
            matches!(resolve("a.html", "b.html#x"), Resolved::Local(p, Some(f)) if p == "b.html" && f == "x")
        );
        assert!(matches!(resolve("a.html", "../../x"), Resolved::Outside));
        assert!(matches!(
            resolve("a.html", "https://x.org/"),
            Resolved::External
        ));
        assert!(
            matches!(resolve("m/a.html", "b%20c.png"), Resolved::Local(p, None) if p == "m/b c.png")
        );
    }

    #[test]
    fn visible_width_ignores_tags_and_entities() {
        let html = format!(
            "<head><style>{}</style></head><body><pre><a href=\"x\">{}</a>&amp;\n</pre></body>",
            "x".repeat(200),
            "y".repeat(83)
        );
        assert!(wide_lines(&html).is_empty());
        let html = format!("<body>{}&lt;&#x3D;</body>", "y".repeat(83));
        assert_eq!(wide_lines(&html), vec![(1, 85)]);
    }
}
