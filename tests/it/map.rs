//! The map page: one dot and link per poem, each to a page of the site;
//! the same bytes on any number of threads; its layout a rule that a typo
//! changing no vector leaves alone, and incremental equal to clean.

use crate::common::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;

/// What a built map.html draws.
struct Drawn {
    /// Each dot's link, in order.
    links: Vec<String>,
    /// The viewBox's width and height.
    size: (u32, u32),
    /// Each dot's centre.
    places: Vec<(u32, u32)>,
}

fn dots(d: &Path) -> Drawn {
    let map = std::fs::read_to_string(d.join("site/map.html")).unwrap();
    let svg = map.split("<svg").nth(1).expect("an inline SVG");
    let svg = svg.split("</svg>").next().unwrap();
    let view_box: Vec<u32> = svg
        .split("viewBox=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let attr = |s: &str, name: &str| -> String {
        s.split(&format!(" {name}=\""))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let mut links = Vec::new();
    let mut places = Vec::new();
    for dot in svg.split("<a href=\"").skip(1) {
        links.push(dot.split('"').next().unwrap().to_string());
        // A dot is a round-capped stroke of no length: `M x y h0`.
        let path = attr(dot, "d");
        let (x, y) = path
            .strip_prefix('M')
            .and_then(|p| p.strip_suffix("h0"))
            .and_then(|p| p.split_once(' '))
            .expect("a dot per link");
        places.push((x.parse().unwrap(), y.parse().unwrap()));
    }
    Drawn {
        links,
        size: (view_box[2], view_box[3]),
        places,
    }
}

fn poem_indices(d: &Path) -> BTreeSet<u64> {
    read_json(&d.join("poems.json"))["poems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["poem_index"].as_u64().unwrap())
        .collect()
}

#[test]
fn the_map_has_one_link_per_poem_each_to_a_page_of_the_site() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 60, 71);
    build(&d);
    let Drawn {
        links,
        size: (width, height),
        places,
    } = dots(&d);
    assert_eq!(links.len(), 60);
    let linked: BTreeSet<u64> = links
        .iter()
        .map(|l| {
            assert!(d.join("site").join(l).is_file(), "{l} is no page");
            let code = l.strip_prefix("similar/").unwrap();
            assert!(code.ends_with("-01.html"), "{l}: not a first page");
            code[..code.len() - "-01.html".len()].parse().unwrap()
        })
        .collect();
    assert_eq!(linked, poem_indices(&d), "one link for each poem");
    assert!(places.iter().all(|&(x, y)| x <= width && y <= height));
    let spread: BTreeSet<(u32, u32)> = places.iter().copied().collect();
    assert!(spread.len() > 50, "the dots are spread out: {places:?}");
    // Landmarks, a legend naming every colour, and the ways to it.
    let map = std::fs::read_to_string(d.join("site/map.html")).unwrap();
    assert!(map.matches("<text ").count() > 0, "no landmark");
    for colour in verso::config::COLOUR_NAMES {
        assert!(map.contains(&format!("> {colour}: ")), "{colour}");
    }
    for page in ["index.html", "explore.html"] {
        let text = std::fs::read_to_string(d.join("site").join(page)).unwrap();
        assert!(
            text.contains("href=\"map.html\""),
            "{page} links to the map"
        );
    }
    let r = run(&["check", p(&d)]);
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn the_map_is_the_same_bytes_on_one_thread_and_on_two() {
    let dir = temp();
    let one = dir.path().join("one");
    small_collection(&one, 80, 72);
    let two = dir.path().join("two");
    copy_dir(&one, &two);
    build_expect(&one, &["--threads", "1"], 0);
    build_expect(&two, &["--threads", "2"], 0);
    let map = |d: &Path| std::fs::read(d.join("site/map.html")).unwrap();
    assert_eq!(map(&one), map(&two));
    assert_same_tree(&one.join("site"), &two.join("site"));
}

#[test]
fn a_typo_that_changes_no_vector_leaves_the_map_alone() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 40, 73);
    let cold = build_summary(&d, &[]);
    // Two instances: the settled vectors' hash and the layout.
    assert_eq!(cold["rules"]["map layout"]["computed"], 2, "{cold}");
    let before = std::fs::read(d.join("site/map.html")).unwrap();
    let written = mtimes(&d.join("site"))["map.html"];
    // A typo past the words the dot's title shows (the vectors come from
    // embeddings.json, so none changes).
    edit_poems(&d, |p| {
        let long = p
            .iter_mut()
            .max_by_key(|poem| poem["content"].as_str().unwrap().len())
            .unwrap();
        assert!(long["content"].as_str().unwrap().len() > 200);
        let text = format!("{} typo", long["content"].as_str().unwrap());
        long["content"] = json!(text);
    });
    let typo = build_summary(&d, &[]);
    assert_eq!(typo["rules"]["map layout"]["computed"], 0, "{typo}");
    assert!(total(&typo, "written") > 0);
    assert_eq!(std::fs::read(d.join("site/map.html")).unwrap(), before);
    assert_eq!(mtimes(&d.join("site"))["map.html"], written);
    assert_matches_clean_build(&d);
    // A settled poem's changed vector lays the map out again.
    let oldest = oldest_row(&d);
    edit_embeddings(&d, |e| reverse_vector(&mut e[oldest]["embedding"]));
    let moved = build_summary(&d, &[]);
    assert_eq!(moved["rules"]["map layout"]["computed"], 2, "{moved}");
    assert_ne!(std::fs::read(d.join("site/map.html")).unwrap(), before);
    assert_matches_clean_build(&d);
}

/// The row of the oldest poem (settled under any `end`).
fn oldest_row(d: &Path) -> usize {
    let poems = read_json(&d.join("poems.json"));
    let poems = poems["poems"].as_array().unwrap();
    (0..poems.len())
        .min_by_key(|&i| poems[i]["creation_date"].as_str().unwrap().to_string())
        .unwrap()
}

#[test]
fn a_poem_of_the_newest_month_moves_no_other_dot_and_a_new_month_lays_out_again() {
    let dir = temp();
    let d = dir.path().join("c");
    // Rankings of 20: room beyond the 14 nearest settled poems the layout
    // reads, for a new poem to enter them.
    collection(&d, 50, 8, 74, "[pages]\npoems_per_page = 20\n");
    build(&d);
    let before = dots(&d);
    append_poem(&d, None);
    let within = build_summary(&d, &[]);
    // The settled vectors' hash is read again (the vectors changed), and
    // comes out the same: no layout.
    assert_eq!(within["rules"]["map layout"]["computed"], 1, "{within}");
    let after = dots(&d);
    assert_eq!(after.links.len(), 51);
    let place = |drawn: &Drawn| -> std::collections::BTreeMap<String, (u32, u32)> {
        drawn
            .links
            .iter()
            .cloned()
            .zip(drawn.places.iter().copied())
            .collect()
    };
    let (old, new) = (place(&before), place(&after));
    for (link, at) in &old {
        assert_eq!(new.get(link), Some(at), "{link} moved");
    }
    assert_eq!(after.size, before.size);
    assert_matches_clean_build(&d);
    // A poem in a month after every other: the month turns, the newest
    // month's poems are settled, and the map is laid out again.
    append_poem(&d, Some("2039-01-15T10:00:00"));
    let turned = build_summary(&d, &[]);
    assert_eq!(turned["rules"]["map layout"]["computed"], 2, "{turned}");
    assert_matches_clean_build(&d);
}
