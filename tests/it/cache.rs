//! The cache travels: a restored cache in a fresh clone recomputes nothing
//! it holds, whatever the files' times; `--delta DIR` writes only the pages
//! that change, without the previous site on disk.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

/// A copy of the collection and its cache, as a fresh clone with a restored
/// cache has them: new modification times, and no site.
fn fresh_clone_with_cache(from: &Path, to: &Path) {
    copy_dir(from, to);
    std::fs::remove_dir_all(to.join("site")).unwrap();
}

fn computed_kept_rules(summary: &Value) -> u64 {
    [
        "vectors",
        "word embeddings",
        "neighbours",
        "word vector",
        "colours",
        "word page",
    ]
    .iter()
    .map(|r| summary["rules"][r]["computed"].as_u64().unwrap_or(0))
    .sum()
}

#[test]
fn a_restored_cache_in_a_fresh_clone_recomputes_nothing_it_holds() {
    let dir = temp();
    let (d, e) = (dir.path().join("d"), dir.path().join("e"));
    collection_with_everything(&d, 30, 61);
    let first = build_summary(&d, &[]);
    assert!(computed_kept_rules(&first) > 0);
    std::thread::sleep(std::time::Duration::from_millis(20));
    fresh_clone_with_cache(&d, &e);
    let again = build_summary(&e, &[]);
    assert_eq!(computed_kept_rules(&again), 0, "{again}");
    assert!(
        again["rules"]["vectors"]["reused"].as_u64().unwrap() == 1,
        "{again}"
    );
    assert_same_tree(&d.join("site"), &e.join("site"));
}

fn lines(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn delta_writes_only_the_changed_pages_without_the_previous_site() {
    let dir = temp();
    let (d, e) = (dir.path().join("d"), dir.path().join("e"));
    collection_with_everything(&d, 30, 62);
    build(&d);
    fresh_clone_with_cache(&d, &e);
    let edit = |c: &Path| {
        edit_poems(c, |p| {
            p[4]["content"] = json!("a river of stone");
            p.retain(|poem| poem["poem_index"] != json!(9));
        })
    };
    // Where the site is on disk: the ordinary incremental build.
    edit(&d);
    build_expect(&d, &["--changes", p(&d.join("changes.txt"))], 0);
    // In the fresh clone: only the changes, into a folder of their own.
    edit(&e);
    let delta = dir.path().join("delta");
    let r = build_expect(
        &e,
        &["--delta", p(&delta), "--changes", p(&e.join("changes.txt"))],
        0,
    );
    assert!(
        r.stdout.contains("the changed pages are in"),
        "{}",
        r.stdout
    );
    let expected = lines(&d.join("changes.txt"));
    assert_eq!(lines(&e.join("changes.txt")), expected);
    assert!(expected.iter().any(|l| l.starts_with('-')), "{expected:?}");
    let written: BTreeSet<String> = tree(&delta).into_keys().collect();
    let added: BTreeSet<String> = expected
        .iter()
        .filter_map(|l| l.strip_prefix('+'))
        .map(str::to_string)
        .collect();
    assert_eq!(written, added);
    let site = tree(&d.join("site"));
    for (path, bytes) in tree(&delta) {
        assert_eq!(site[&path], bytes, "{path}");
    }
    assert!(!e.join("site").exists(), "the site was not written");
    // The next delta, with nothing changed, writes nothing.
    let again = dir.path().join("delta2");
    build_expect(
        &e,
        &["--delta", p(&again), "--changes", p(&e.join("changes.txt"))],
        0,
    );
    assert!(lines(&e.join("changes.txt")).is_empty());
    assert!(tree(&again).is_empty());
}
