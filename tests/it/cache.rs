//! The cache travels: a restored cache in a fresh clone recomputes nothing
//! it holds, whatever the files' times; `--delta DIR` writes only the pages
//! that change, without the previous site on disk; `verso cache` says what
//! the cache holds and prunes what no build reads.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A copy of the collection and its cache, as a fresh clone with a restored
/// cache has them: new modification times, and no site.
fn fresh_clone_with_cache(from: &Path, to: &Path) {
    copy_dir(from, to);
    std::fs::remove_dir_all(to.join("site")).unwrap();
}

/// A built collection at `root/d` and its fresh clone at `root/e`.
fn built_and_cloned(root: &Path, seed: u64) -> (PathBuf, PathBuf) {
    let (d, e) = (root.join("d"), root.join("e"));
    collection_with_everything(&d, 30, seed);
    build(&d);
    fresh_clone_with_cache(&d, &e);
    (d, e)
}

/// `verso build DIR --delta DELTA --changes DIR/changes.txt`, and the
/// lines of the list of changes.
fn build_delta(dir: &Path, delta: &Path) -> (Run, BTreeSet<String>) {
    let changes = dir.join("changes.txt");
    let run = build_expect(dir, &["--delta", p(delta), "--changes", p(&changes)], 0);
    (run, lines(&changes))
}

/// Every file of the delta equals the same file of `site`.
fn assert_delta_is_from(delta: &Path, site: &Path) {
    let site = tree(site);
    for (path, bytes) in tree(delta) {
        assert_eq!(site[&path], bytes, "{path}");
    }
}

/// Rules whose values are kept (the store, and a remote, hold them).
pub fn computed_kept_rules(summary: &Value) -> u64 {
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
    let (d, e) = built_and_cloned(dir.path(), 62);
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
    let (r, changes) = build_delta(&e, &delta);
    assert!(
        r.stdout.contains("the changed pages are in"),
        "{}",
        r.stdout
    );
    let expected = lines(&d.join("changes.txt"));
    assert_eq!(changes, expected);
    assert!(expected.iter().any(|l| l.starts_with('-')), "{expected:?}");
    let written: BTreeSet<String> = tree(&delta).into_keys().collect();
    let added: BTreeSet<String> = expected
        .iter()
        .filter_map(|l| l.strip_prefix('+'))
        .map(str::to_string)
        .collect();
    assert_eq!(written, added);
    assert_delta_is_from(&delta, &d.join("site"));
    assert!(!e.join("site").exists(), "the site was not written");
    // The next delta, with nothing changed, writes nothing.
    let again = dir.path().join("delta2");
    assert!(build_delta(&e, &again).1.is_empty());
    assert!(tree(&again).is_empty());
}

#[test]
fn verso_cache_reports_the_parts_and_prunes_only_what_no_build_reads() {
    let d = temp();
    collection(d.path(), 40, 8, 5, "");
    let url = crate::servers::stand_in_url(16);
    std::fs::write(
        d.path().join("verso.toml"),
        format!("[model]\nserver = \"ollama\"\nurl = \"{url}\"\nname = \"stand-in\"\n"),
    )
    .unwrap();
    let cold = build_summary(d.path(), &[]);
    let texts = cold["embedded"].as_u64().unwrap();
    let report = run(&["cache", p(d.path())]);
    assert_eq!(report.code, 0, "{}", report.all());
    // The texts and the record of the server's dimension.
    let current = format!("vectors of the current texts ({})", texts + 1);
    assert!(report.stdout.contains(&current), "{}", report.stdout);
    assert!(report.stdout.contains("store: page records"));
    assert!(
        !report.stdout.contains("earlier texts"),
        "{}",
        report.stdout
    );

    // Three edits leave three earlier texts' vectors behind.
    let before: Vec<Value> = read_json(&d.path().join("poems.json"))["poems"]
        .as_array()
        .unwrap()
        .clone();
    edit_poems(d.path(), |poems| {
        for poem in poems.iter_mut().take(3) {
            poem["content"] = json!(format!("{} and again", poem["content"].as_str().unwrap()));
        }
    });
    assert_eq!(build_summary(d.path(), &[])["embedded"], 3);
    let report = run(&["cache", p(d.path())]).stdout;
    assert!(report.contains("vectors of earlier texts (3)"), "{report}");
    assert!(
        report.contains("the oldest last used 0 day(s) ago"),
        "{report}"
    );

    // A store set aside and the earlier vectors go; the rest stays, so the
    // next build computes nothing and writes nothing.
    let aside = d.path().join(".verso-cache/store.unusable-1");
    std::fs::create_dir_all(&aside).unwrap();
    std::fs::write(aside.join("db"), vec![0u8; 100_000]).unwrap();
    let pruned = run(&["cache", p(d.path()), "--max-size", "1KB"]);
    assert_eq!(pruned.code, 0, "{}", pruned.all());
    assert!(
        pruned
            .stdout
            .contains("1 store(s) set aside, 3 vector(s) of earlier texts"),
        "{}",
        pruned.stdout
    );
    assert!(
        pruned.stdout.contains("still over 1.0 kB"),
        "{}",
        pruned.stdout
    );
    assert!(!aside.exists());
    assert!(
        !pruned.stdout.contains("earlier texts ("),
        "{}",
        pruned.stdout
    );
    let after = build_summary(d.path(), &[]);
    assert_eq!(after["embedded"], 0);
    assert_eq!(total(&after, "written"), 0);

    // Undoing an edit now embeds its text again: it was pruned.
    edit_poems(d.path(), |poems| poems[0] = before[0].clone());
    assert_eq!(build_summary(d.path(), &[])["embedded"], 1);
    assert_matches_clean_build(d.path());

    // A limit the cache is under removes nothing.
    let kept = run(&["cache", p(d.path()), "--max-size", "1GiB"]);
    assert!(
        kept.stdout
            .starts_with("removed 0 B: 0 store(s) set aside, 0 vector(s)"),
        "{}",
        kept.stdout
    );
    assert!(
        kept.stdout.contains("vectors of earlier texts (1)"),
        "{}",
        kept.stdout
    );
}

/// One run of the example workflow (examples/ci/deploy-site.yml): restore
/// the saved cache into a fresh clone of `collection` (no site folder),
/// `verso deploy` to the folder `deployed`, and save the cache whatever
/// the deploy's exit code.
fn ci_run(collection: &Path, saved: &Path, deployed: &Path, extra: &[&str], code: i32) {
    let work = temp();
    let clone = work.path().join("clone");
    copy_dir(collection, &clone);
    let _ = std::fs::remove_dir_all(clone.join("site"));
    let _ = std::fs::remove_dir_all(clone.join(".verso-cache"));
    if saved.exists() {
        copy_dir(saved, &clone.join(".verso-cache"));
    }
    let mut args = vec![
        "deploy",
        p(&clone),
        "--to",
        p(deployed),
        "--progress",
        "none",
    ];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert_eq!(r.code, code, "{}", r.all());
    let _ = std::fs::remove_dir_all(saved);
    copy_dir(&clone.join(".verso-cache"), saved);
}

#[test]
fn the_example_workflow_keeps_the_deployed_site_equal_to_a_clean_build() {
    let dir = temp();
    let (d, saved, deployed) = (
        dir.path().join("d"),
        dir.path().join("saved"),
        dir.path().join("deployed"),
    );
    collection_with_everything(&d, 30, 63);
    let check = |label: &str| {
        let clean = clean_build_of(&d, label);
        assert_same_tree(&clean.path().join(label).join("site"), &deployed);
    };
    // The first deploy: the whole site, and its cache.
    ci_run(&d, &saved, &deployed, &[], 0);
    check("first");

    edit_poems(&d, |p| {
        p[3]["content"] = json!("a harbour of glass");
        p.retain(|poem| poem["poem_index"] != json!(7));
    });
    // A deploy that fails (deletions beyond --max-deletes) still saves its
    // cache; the next run sends only the rest and deletes.
    ci_run(&d, &saved, &deployed, &["--max-deletes", "0"], 1);
    edit_poems(&d, |p| p[12]["title"] = json!("Another Title"));
    ci_run(&d, &saved, &deployed, &[], 0);
    check("second");

    // An edit undone: the records say what the host holds, so the pages
    // it changed are sent again.
    let original = read_json(&d.join("poems.json"))["poems"][10].clone();
    edit_poems(&d, |p| p[10]["content"] = json!("the tide in the room"));
    ci_run(&d, &saved, &deployed, &[], 0);
    edit_poems(&d, |p| p[10] = original);
    ci_run(&d, &saved, &deployed, &[], 0);
    check("third");
}

#[test]
fn a_copy_with_the_cache_checks_its_own_inputs_not_the_originals() {
    // The original stays beside the copy, unchanged: the copy's no-op
    // check must hash the copy's files (it once hashed the paths the
    // original's build had read, found them unchanged, and wrote nothing).
    let dir = temp();
    let (_, e) = built_and_cloned(dir.path(), 64);
    edit_poems(&e, |p| {
        p[6]["content"] = json!("an edit made in the copy alone")
    });
    let delta = dir.path().join("delta");
    let (r, changes) = build_delta(&e, &delta);
    assert!(!changes.is_empty(), "{}", r.stdout);
    let clean = clean_build_of(&e, "clean");
    assert_delta_is_from(&delta, &clean.path().join("clean/site"));
    // Without --delta, the copy's site is its own inputs' site.
    build(&e);
    assert_matches_clean_build(&e);
}
