//! Readers' files: the Atom feed and the sitemap, written only with
//! `base_url`; read by feedparser and checked against the sitemap schema
//! (scripts/check-feeds.py); stable ids and bytes across edits.

use crate::common::*;
use serde_json::json;
use std::path::Path;
use std::process::Command;

const BASE: &str = "https://poems.example/verse/";

fn with_base_url(d: &Path, poems: usize, seed: u64) {
    small_collection(d, poems, seed);
    set_key(d, "base_url", "https://poems.example/verse".into());
    set_key(d, "feed.poems", 12.into());
}

/// The feed's entries by id, each one's whole text, in feed order.
fn entries(d: &Path) -> Vec<(String, String)> {
    let feed = std::fs::read_to_string(d.join("site/feed.xml")).unwrap();
    feed.split("<entry>")
        .skip(1)
        .map(|e| {
            let e = e.split("</entry>").next().unwrap().to_string();
            let id = e
                .split("<id>")
                .nth(1)
                .unwrap()
                .split("</id>")
                .next()
                .unwrap();
            (id.to_string(), e)
        })
        .collect()
}

fn check_feeds(d: &Path, entries: usize) {
    let fetched = Command::new("bash")
        .arg("scripts/fetch-test-python.sh")
        .status()
        .unwrap();
    assert!(
        fetched.success(),
        "feedparser and lxml could not be fetched"
    );
    let out = Command::new("python3")
        .args([
            "scripts/check-feeds.py",
            p(&d.join("site")),
            BASE,
            &entries.to_string(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&format!("feed: {entries} entries")), "{text}");
}

#[test]
fn the_feed_and_the_sitemap_read_by_independent_parsers() {
    let dir = temp();
    let d = dir.path().join("c");
    with_base_url(&d, 30, 51);
    // The two newest poems, which the feed shows.
    edit_poems(&d, |p| {
        let mut by_date: Vec<&mut serde_json::Value> = p.iter_mut().collect();
        by_date.sort_by_key(|poem| poem["creation_date"].as_str().unwrap().to_string());
        let newest = by_date.len() - 1;
        by_date[newest]["content_warning"] = json!("a <warning> & more");
        by_date[newest - 1]["title"] = json!("A \"titled\" poem");
    });
    build(&d);
    check_feeds(&d, 12);
    let feed = std::fs::read_to_string(d.join("site/feed.xml")).unwrap();
    assert!(
        feed.contains("<title>A &quot;titled&quot; poem</title>"),
        "{feed}"
    );
    assert!(
        feed.contains("CW: a &amp;lt;warning&amp;gt; &amp;amp; more"),
        "{feed}"
    );
    // Every page's head names the feed; the menu links to it.
    let menu = std::fs::read_to_string(d.join("site/index.html")).unwrap();
    assert!(menu.contains(&format!(
        "type=\"application/atom+xml\" title=\"Poems\" href=\"{BASE}feed.xml\""
    )));
    assert!(menu.contains("<a href=\"feed.xml\">"), "{menu}");
    let page = std::fs::read_to_string(d.join("site/similar/0003-01.html")).unwrap();
    assert!(page.contains("application/atom+xml"));
    // The sitemap dates a poem's pages by their newest poem; the menu and
    // explore.html have no honest date.
    let sitemap = std::fs::read_to_string(d.join("site/sitemap.xml")).unwrap();
    assert!(
        sitemap.contains(&format!("<url><loc>{BASE}index.html</loc></url>")),
        "{sitemap}"
    );
    assert!(sitemap.contains(&format!("<url><loc>{BASE}explore.html</loc></url>")));
    let dated = sitemap.matches("<lastmod>").count();
    assert_eq!(dated, sitemap.matches("<url>").count() - 2);
    assert_matches_clean_build(&d);
    let checked = run(&["check", p(&d)]);
    assert_eq!(checked.code, 0, "{}", checked.all());
}

#[test]
fn feed_ids_and_entries_keep_their_bytes_and_an_append_leads_the_feed() {
    let dir = temp();
    let d = dir.path().join("c");
    with_base_url(&d, 30, 52);
    build(&d);
    let before = entries(&d);
    assert_eq!(before.len(), 12);
    // Newest first, dated by the poems, never by the build.
    let feed = std::fs::read_to_string(d.join("site/feed.xml")).unwrap();
    let published: Vec<&str> = feed
        .split("<published>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    assert!(published.windows(2).all(|w| w[0] >= w[1]), "{published:?}");
    let updated = feed
        .split("<updated>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert_eq!(updated, published[0]);

    // An edit of a poem in the feed: only its entry changes.
    let edited = before[5].0.clone();
    edit_poems(&d, |p| {
        let mut by_date: Vec<&mut serde_json::Value> = p.iter_mut().collect();
        by_date.sort_by_key(|poem| poem["creation_date"].as_str().unwrap().to_string());
        let sixth_newest = by_date.len() - 6;
        by_date[sixth_newest]["content"] = json!("an edited poem in the feed");
    });
    build(&d);
    let after = entries(&d);
    let differing: Vec<&String> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| &a.0)
        .collect();
    assert_eq!(differing, [&edited]);
    assert!(after[5].1.contains("an edited poem in the feed"));

    // An edit of a poem outside the feed, and a build with nothing new,
    // leave the feed's bytes.
    let feed_before = std::fs::read(d.join("site/feed.xml")).unwrap();
    edit_poems(&d, |p| {
        let oldest = p
            .iter_mut()
            .min_by_key(|poem| poem["creation_date"].as_str().unwrap().to_string())
            .unwrap();
        oldest["content"] = json!("an old poem, edited");
    });
    build(&d);
    assert_eq!(std::fs::read(d.join("site/feed.xml")).unwrap(), feed_before);

    // An appended poem leads the feed and the oldest entry goes.
    append_poem(&d, None);
    build(&d);
    let appended = entries(&d);
    assert_eq!(appended.len(), 12);
    assert!(appended[0]
        .1
        .contains("a new poem about the river and the stone"));
    assert!(!before.iter().any(|(id, _)| *id == appended[0].0));
    let ids = |e: &[(String, String)]| e.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&appended[1..]), ids(&after[..11]));
    assert_matches_clean_build(&d);
}

#[test]
fn without_base_url_there_is_no_feed_or_sitemap_and_setting_one_is_a_clean_build() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 53);
    build(&d);
    let site = tree(&d.join("site"));
    assert!(!site.contains_key("feed.xml") && !site.contains_key("sitemap.xml"));
    let menu = String::from_utf8(site["index.html"].clone()).unwrap();
    assert!(!menu.contains("atom+xml") && !menu.contains("feed.xml"));
    set_key(&d, "base_url", BASE.into());
    build(&d);
    assert!(d.join("site/feed.xml").is_file() && d.join("site/sitemap.xml").is_file());
    assert_matches_clean_build(&d);
    set_key(&d, "base_url", "".into());
    build(&d);
    assert!(!d.join("site/feed.xml").exists());
    assert_matches_clean_build(&d);
}

#[test]
fn a_base_url_that_is_not_an_absolute_http_address_is_bad_input() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 10, 54);
    for bad in [
        "poems.example",
        "ftp://poems.example/",
        "https://",
        "https://a.example/?x=1",
    ] {
        set_key(&d, "base_url", bad.into());
        let r = run(&["build", p(&d), "--progress", "none"]);
        assert_eq!(r.code, 2, "{bad}: {}", r.all());
        assert!(
            r.stderr.contains("base_url") && r.stderr.contains("verso.toml"),
            "{}",
            r.stderr
        );
        assert!(!d.join("site").exists() && !d.join(".verso-cache").exists());
    }
}

#[test]
fn check_follows_the_feeds_and_the_sitemaps_addresses() {
    let dir = temp();
    let d = dir.path().join("c");
    with_base_url(&d, 20, 54);
    build(&d);
    let ok = run(&["check", p(&d)]);
    assert_eq!(ok.code, 0, "{}", ok.all());
    // Each link of the feed and address of the sitemap counts.
    let feed_links = std::fs::read_to_string(d.join("site/feed.xml"))
        .unwrap()
        .matches(&format!("href=\"{BASE}"))
        .count();
    assert!(feed_links > 12, "{feed_links}");
    // A feed entry's anchor that no page has, and a page the sitemap lists
    // that is gone.
    let feed = std::fs::read_to_string(d.join("site/feed.xml")).unwrap();
    let anchor = feed
        .split("#poem-")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    std::fs::write(
        d.join("site/feed.xml"),
        feed.replacen(&format!("#poem-{anchor}\""), "#poem-99999\"", 1),
    )
    .unwrap();
    let gone = "similar/0003-01.html";
    std::fs::remove_file(d.join("site").join(gone)).unwrap();
    let r = run(&["check", p(&d)]);
    assert_eq!(r.code, 1, "{}", r.all());
    let sitemap_link = format!("sitemap.xml: broken link \"{BASE}{gone}\"");
    for said in [
        "feed.xml: broken anchor chronological/",
        "#poem-99999 (no such id)",
        &sitemap_link,
    ] {
        assert!(r.stdout.contains(said), "{said}: {}", r.stdout);
    }
}
