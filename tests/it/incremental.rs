//! Incremental builds: a no-op build writes nothing; each kind of edit
//! writes exactly the files whose bytes differ between clean builds before
//! and after it; random edit sequences always end in the clean build's tree;
//! damaged, foreign and locked stores behave.

use crate::common::*;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;

fn changes(dir: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(dir.join("changes.txt"))
        .unwrap()
        .lines()
        .map(|l| l[1..].to_string())
        .collect()
}

/// Apply `edit` after a build and check that the incremental build writes
/// and removes exactly the files whose bytes differ between clean builds.
fn writes_only_what_changed(edit: impl FnOnce(&Path)) -> usize {
    writes_only_what_changed_after(|_| {}, edit)
}

/// The same, with `setup` applied to the collection before its first build.
fn writes_only_what_changed_after(setup: impl FnOnce(&Path), edit: impl FnOnce(&Path)) -> usize {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 40, 21);
    setup(&d);
    use_template(&d, "word", verso::site::built_in_template("word").unwrap());
    build(&d);
    let before = tree(&d.join("site"));
    edit(&d);
    let changes_file = d.join("changes.txt");
    build_expect(&d, &["--changes", p(&changes_file)], 0);
    let clean = clean_build_of(&d, "c");
    let after = tree(&clean.path().join("c/site"));
    let expected: BTreeSet<String> = differing(&before, &after).into_iter().collect();
    assert_eq!(changes(&d), expected, "written/removed vs differing files");
    assert_same_tree(&d.join("site"), &clean.path().join("c/site"));
    expected.len()
}

#[test]
fn a_no_op_build_writes_and_renders_nothing() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 40, 20);
    build(&d);
    let before = mtimes(&d.join("site"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let summary = build_summary(&d, &[]);
    assert_eq!(total(&summary, "written"), 0);
    assert_eq!(summary["rendered"], json!(0));
    assert_eq!(total(&summary, "up_to_date") as usize, before.len());
    assert_eq!(
        mtimes(&d.join("site")),
        before,
        "no modification time changed"
    );
}

#[test]
fn a_typo_writes_only_the_pages_that_show_the_poem() {
    let n = writes_only_what_changed(|d| {
        edit_poems(d, |p| {
            p[7]["content"] = json!(format!("{} typo", p[7]["content"].as_str().unwrap()))
        })
    });
    assert!(n > 0);
}

#[test]
fn a_warning_added() {
    assert!(
        writes_only_what_changed(
            |d| edit_poems(d, |p| p[3]["content_warning"] = json!("new warning"))
        ) > 0
    );
}

#[test]
fn one_embedding_changed() {
    assert!(
        writes_only_what_changed(|d| edit_embeddings(d, |e| reverse_vector(
            &mut e[5]["embedding"]
        ))) > 0
    );
}

/// Append poem 41, dated `date` (`None`: the newest poem's month, after it),
/// with the vector of the poem in row 10.
#[test]
fn a_poem_added_as_the_newest_in_a_new_month() {
    assert!(writes_only_what_changed(|d| append_poem(d, Some("2030-01-01T00:00:00"))) > 0);
}

#[test]
fn a_poem_added_within_the_newest_month() {
    assert!(writes_only_what_changed(|d| append_poem(d, None)) > 0);
}

#[test]
fn an_appended_poem_updates_the_neighbours_instead_of_computing_them_anew() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 40, 21);
    build(&d);
    append_poem(&d, None);
    let plain = |extra: &[&str]| {
        let out = run(&[&["build", p(&d), "--progress", "plain"], extra].concat());
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stderr + &out.stdout
    };
    let text = plain(&[]);
    let note = (text.lines())
        .find(|l| l.contains("neighbours updated"))
        .unwrap_or_else(|| panic!("no update note:\n{text}"));
    // Only the new poem's ranking needs its whole row.
    assert!(note.contains(": 1 of 41 rankings"), "{note}");
    assert_matches_clean_build(&d);
    // `--force` computes them anew.
    let forced = plain(&["--force"]);
    assert!(!forced.contains("neighbours updated"), "{forced}");
}

/// Per poem anchor on the chronological pages, `read` of the text after it.
fn entries<T>(site: &Path, read: impl Fn(&str) -> T) -> std::collections::BTreeMap<String, T> {
    let mut out = std::collections::BTreeMap::new();
    let pages = site.join("chronological");
    walk(&pages, &pages, &mut |_, path| {
        let text = std::fs::read_to_string(path).unwrap();
        for part in text.split("id=\"poem-").skip(1) {
            let id = part[..part.find('"').unwrap()].to_string();
            out.insert(id, read(part));
        }
    });
    out
}

/// The timeline bar's filled cells of every entry on a chronological page,
/// by poem anchor.
fn bars(site: &Path) -> std::collections::BTreeMap<String, usize> {
    entries(site, |entry| {
        let bar = &entry[entry.find("timeline bar").unwrap()..];
        bar[..bar.find('\n').unwrap()].matches('═').count()
    })
}

#[test]
fn bars_move_only_when_a_poem_opens_a_new_month() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 40, 29);
    build(&d);
    let before = bars(&d.join("site"));
    assert!(before.values().any(|&n| n > 0));
    // Within the newest month: no other bar moves.
    append_poem(&d, None);
    build(&d);
    let within = bars(&d.join("site"));
    for (id, cells) in &before {
        assert_eq!(within[id], *cells, "poem {id}'s bar moved");
    }
    assert!(within["0041"] < 83, "the bars end after the newest poem");
    // In a new month: the end moves, and the bars with it.
    edit_poems(&d, |p| {
        p.last_mut().unwrap()["creation_date"] = json!("2031-06-01T00:00:00")
    });
    build(&d);
    let later = bars(&d.join("site"));
    assert!(before.iter().filter(|(id, n)| later[*id] != **n).count() > 5);
    // "newest" is the original rule: the newest poem's bar is full.
    let c = std::fs::read_to_string(d.join("verso.toml")).unwrap();
    std::fs::write(
        d.join("verso.toml"),
        format!("{c}\n[timeline]\nend = \"newest\"\n"),
    )
    .unwrap();
    build(&d);
    let newest = bars(&d.join("site"));
    assert_eq!(newest["0041"], 83);
    assert_matches_clean_build(&d);
}

#[test]
fn a_back_dated_poem_added() {
    assert!(writes_only_what_changed(|d| append_poem(d, Some("2001-03-04T05:06:07"))) > 0);
}

/// `writes_only_what_changed`'s check under `[timeline] end = "year"`.
fn writes_only_what_changed_by_year(edit: impl FnOnce(&Path)) -> usize {
    writes_only_what_changed_after(|d| set_key(d, "timeline.end", "year".into()), edit)
}

#[test]
fn a_poem_added_within_the_newest_year() {
    assert!(writes_only_what_changed_by_year(|d| append_poem(d, None)) > 0);
}

#[test]
fn a_poem_added_in_a_new_year() {
    assert!(writes_only_what_changed_by_year(|d| append_poem(d, Some("2031-01-01"))) > 0);
}

/// Per poem (its code), the poems its different pages show, in order.
fn chains(site: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::<String, Vec<String>>::new();
    walk(
        &site.join("different"),
        &site.join("different"),
        &mut |name, path| {
            let text = std::fs::read_to_string(path).unwrap();
            let shown = text
                .split("href=\"../similar/")
                .skip(1)
                .map(|part| part[..part.find('-').unwrap()].to_string());
            out.entry(name[..name.find('-').unwrap()].to_string())
                .or_default()
                .extend(shown);
        },
    );
    out
}

/// Per poem anchor, the name of its colour on the chronological pages.
fn colours(site: &Path) -> std::collections::BTreeMap<String, String> {
    entries(site, |entry| {
        let bar = &entry[entry.find("timeline bar, ").unwrap() + 14..];
        bar[..bar.find(',').unwrap()].to_string()
    })
}

/// Under `end`, a poem appended within the newest period leaves every
/// other poem's chain and colour as they were (its pages byte for byte);
/// one dated in a new period moves chains.
fn the_newest_period_moves_no_other_chain_or_colour(end: &str, new_period: &str) {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 40, 33);
    set_key(&d, "timeline.end", end.into());
    build(&d);
    let site = d.join("site");
    let (chains_before, colours_before) = (chains(&site), colours(&site));
    let different_before = tree(&site.join("different"));
    append_poem(&d, None);
    // No colour word: without a colours file a colour's anchor is the mean
    // of the vectors of the poems that hold its words, all of
    // them, settled or not.
    edit_poems(&d, |p| {
        p.last_mut().unwrap()["content"] = json!("a new poem about the quiet hours")
    });
    build(&d);
    let (chains_within, colours_within) = (chains(&site), colours(&site));
    for (poem, chain) in &chains_before {
        assert_eq!(
            &chains_within[poem], chain,
            "{end}: poem {poem}'s chain moved"
        );
        assert!(!chain.contains(&"0041".to_string()));
    }
    for (poem, colour) in &colours_before {
        assert_eq!(
            &colours_within[poem], colour,
            "{end}: poem {poem}'s colour moved"
        );
    }
    let different_within = tree(&site.join("different"));
    for (path, bytes) in &different_before {
        assert_eq!(
            different_within.get(path),
            Some(bytes),
            "{end}: {path} was rewritten"
        );
    }
    assert_matches_clean_build(&d);
    // In a new period the newest period's poems become settled and enter
    // other poems' chains.
    edit_poems(&d, |p| {
        p.last_mut().unwrap()["creation_date"] = json!(new_period)
    });
    build(&d);
    let chains_after = chains(&site);
    let moved = (chains_before.iter())
        .filter(|(poem, chain)| chains_after[*poem] != **chain)
        .count();
    assert!(moved > 0, "{end}: no chain moved at the period's turn");
    assert_matches_clean_build(&d);
}

#[test]
fn the_newest_month_moves_no_other_chain_or_colour() {
    the_newest_period_moves_no_other_chain_or_colour("month", "2030-01-01T00:00:00");
}

#[test]
fn the_newest_year_moves_no_other_chain_or_colour() {
    the_newest_period_moves_no_other_chain_or_colour("year", "2031-01-01T00:00:00");
}

#[test]
fn a_poem_deleted() {
    let n = writes_only_what_changed(|d| {
        edit_poems(d, |p| {
            p.retain(|poem| poem["poem_index"] != json!(12));
        });
    });
    assert!(n > 0);
}

#[test]
fn one_template_edited() {
    let n = writes_only_what_changed(|d| {
        let t = std::fs::read_to_string(d.join("tpl/word.hbs")).unwrap();
        std::fs::write(d.join("tpl/word.hbs"), format!("{t} (edited)\n")).unwrap();
    });
    assert!(n > 0);
}

#[test]
fn poems_per_page_changed() {
    assert!(
        writes_only_what_changed(|d| {
            let c = std::fs::read_to_string(d.join("verso.toml")).unwrap();
            std::fs::write(
                d.join("verso.toml"),
                c.replace("poems_per_page = 4", "poems_per_page = 3"),
            )
            .unwrap();
        }) > 0
    );
}

#[test]
fn an_unrelated_config_key_changed() {
    let n = writes_only_what_changed(|d| {
        let c = std::fs::read_to_string(d.join("verso.toml")).unwrap();
        std::fs::write(
            d.join("verso.toml"),
            format!("{c}\n[build]\ncheckpoint_interval = 7\n[progress]\nupdate_hz = 3\n"),
        )
        .unwrap();
    });
    assert_eq!(n, 0);
}

#[test]
fn a_media_file_nobody_references_changes_nothing() {
    let n = writes_only_what_changed(|d| {
        write_svg(&d.join("media/unused.svg"), "v1");
    });
    assert_eq!(n, 0);
}

#[test]
fn a_referenced_media_file_replaced_rewrites_only_its_copy() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 12, 22);
    write_svg(&d.join("media/pic.svg"), "v1");
    edit_poems(&d, |p| {
        p[2]["attachments"] = json!([{"relative_path": "pic.svg", "alt_text": "pic"}])
    });
    build(&d);
    write_svg(&d.join("media/pic.svg"), "v2");
    let changes_file = d.join("changes.txt");
    build_expect(&d, &["--changes", p(&changes_file)], 0);
    assert_eq!(changes(&d), BTreeSet::from(["media/pic.svg".to_string()]));
    assert_eq!(
        std::fs::read(d.join("site/media/pic.svg")).unwrap(),
        std::fs::read(d.join("media/pic.svg")).unwrap()
    );
}

#[test]
fn removed_pages_go_and_foreign_files_stay() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 23);
    build(&d);
    std::fs::write(d.join("site/CNAME"), "poems.example").unwrap();
    std::fs::write(d.join("site/similar/notes.txt"), "mine").unwrap();
    edit_poems(&d, |p| p.retain(|poem| poem["poem_index"] != json!(20)));
    let changes_file = d.join("changes.txt");
    build_expect(&d, &["--changes", p(&changes_file)], 0);
    let text = std::fs::read_to_string(&changes_file).unwrap();
    assert!(
        text.contains("-similar/0020-01.html\n") && text.contains("-different/0020-01.html\n"),
        "{text}"
    );
    assert!(!d.join("site/similar/0020-01.html").exists());
    assert_eq!(
        std::fs::read_to_string(d.join("site/CNAME")).unwrap(),
        "poems.example"
    );
    assert!(d.join("site/similar/notes.txt").exists());
    // clean removes what verso wrote and its cache, nothing else.
    let r = run(&["clean", p(&d)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!d.join(".verso-cache").exists());
    let left: BTreeSet<String> = tree(&d.join("site")).into_keys().collect();
    assert_eq!(
        left,
        BTreeSet::from(["CNAME".to_string(), "similar/notes.txt".to_string()])
    );
}

#[test]
fn clean_with_the_cache_in_the_collection_folder_keeps_the_collection() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 23);
    let toml = std::fs::read_to_string(d.join("verso.toml")).unwrap();
    std::fs::write(d.join("verso.toml"), format!("cache = \".\"\n{toml}")).unwrap();
    let inputs: BTreeSet<String> = tree(&d).into_keys().collect();
    build(&d);
    assert!(d.join("store").is_dir());
    let r = run(&["clean", p(&d)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let left: BTreeSet<String> = tree(&d).into_keys().collect();
    assert_eq!(left, inputs);
}

#[test]
fn a_page_edited_in_place_to_the_same_size_is_rebuilt() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 26);
    build(&d);
    let page = d.join("site/similar/0005-01.html");
    let bytes = std::fs::read(&page).unwrap();
    let at = bytes.windows(5).position(|w| w == b"</pre").unwrap();
    let mut edited = bytes.clone();
    edited[at - 1] = if bytes[at - 1] == b'x' { b'y' } else { b'x' };
    std::fs::write(&page, &edited).unwrap();
    let changes = d.join("changes.txt");
    build_expect(&d, &["--changes", p(&changes)], 0);
    assert_eq!(
        std::fs::read_to_string(&changes).unwrap(),
        "+similar/0005-01.html\n"
    );
    assert_eq!(std::fs::read(&page).unwrap(), bytes);
}

#[test]
fn pages_whose_times_moved_are_hashed_not_rewritten_and_then_trusted() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 27);
    build(&d);
    // As after restoring a CI cache: same bytes, new modification times.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    walk(&d.join("site"), &d.join("site"), &mut |_, path| {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(later).unwrap();
    });
    let summary = build_summary(&d, &[]);
    assert_eq!(total(&summary, "written"), 0);
    assert!(
        has_stage(&summary, "plan"),
        "the moved times must be checked"
    );
    // The records took the new times, so the next build is the no-op one.
    let summary = build_summary(&d, &[]);
    assert!(!has_stage(&summary, "plan"), "{summary}");
    assert_eq!(total(&summary, "written"), 0);
}

#[test]
fn a_lost_cache_rewrites_no_page_that_is_already_right() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 28);
    build(&d);
    let before = mtimes(&d.join("site"));
    std::fs::remove_dir_all(d.join(".verso-cache")).unwrap();
    edit_poems(&d, |p| p[3]["content"] = json!("the one poem that changed"));
    let changes = d.join("changes.txt");
    build_expect(&d, &["--changes", p(&changes)], 0);
    let changed: BTreeSet<String> = std::fs::read_to_string(&changes)
        .unwrap()
        .lines()
        .map(|l| l.trim_start_matches('+').to_string())
        .collect();
    let after = mtimes(&d.join("site"));
    let touched: BTreeSet<String> = after
        .iter()
        .filter(|(path, time)| before.get(*path) != Some(*time))
        .map(|(path, _)| path.clone())
        .collect();
    assert_eq!(touched, changed);
    assert!(!changed.is_empty() && changed.len() < after.len());
    assert_matches_clean_build(&d);
}

fn has_stage(summary: &serde_json::Value, name: &str) -> bool {
    summary["stages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["stage"] == name)
}

/// The keys of the store's derived values.
fn derived_keys(d: &Path) -> BTreeSet<Vec<u8>> {
    let db = sled::open(d.join(".verso-cache/store")).unwrap();
    let derived = db.open_tree("derived").unwrap();
    derived.iter().keys().map(|k| k.unwrap().to_vec()).collect()
}

#[test]
fn word_data_parts_outlive_builds_that_reuse_the_whole() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 30, 32);
    build(&d);
    let before = derived_keys(&d);
    // A template edit reuses the word data whole; its per-word parts, which
    // the next poem edit needs, must not be pruned.
    let entry = verso::site::built_in_template("explore").unwrap();
    use_template(&d, "explore", &format!("{entry}\n"));
    let summary = build_summary(&d, &[]);
    assert_eq!(total(&summary, "written"), 1);
    let kept = derived_keys(&d);
    assert!(
        before.is_subset(&kept),
        "{} of {} kept",
        before.intersection(&kept).count(),
        before.len()
    );
    // A typo reuses most of them: the cloud's words keep their poems.
    edit_poems(&d, |p| {
        p[2]["content"] = json!(format!("{} zzz", p[2]["content"].as_str().unwrap()))
    });
    build(&d);
    let after = derived_keys(&d);
    let kept = after.intersection(&before).count();
    assert!(
        kept * 10 >= before.len() * 8,
        "kept {kept} of {}",
        before.len()
    );
    assert_matches_clean_build(&d);
}

#[test]
fn a_moved_project_rebuilds_nothing() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 24);
    build(&d);
    let moved = dir.path().join("elsewhere/c");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&d, &moved).unwrap();
    let summary = build_summary(&moved, &[]);
    assert_eq!(summary["rendered"], json!(0));
}

#[test]
fn force_rewrites_everything_with_the_same_bytes() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 25);
    build(&d);
    let before = tree(&d.join("site"));
    let summary = build_summary(&d, &["--force"]);
    assert_eq!(total(&summary, "written") as usize, before.len());
    assert_eq!(tree(&d.join("site")), before);
}

#[test]
fn status_counts_stale_targets_without_writing() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 26);
    build(&d);
    let r = run(&["status", p(&d)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .lines()
            .skip(1)
            .all(|l| l.split_whitespace().skip(2).all(|n| n == "0")),
        "{}",
        r.stdout
    );
    edit_poems(&d, |p| p[4]["content"] = json!("changed words"));
    let site_before = tree(&d.join("site"));
    let r = run(&["status", p(&d)]);
    assert_eq!(tree(&d.join("site")), site_before);
    let stale: u64 = r
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    let summary = build_summary(&d, &[]);
    assert_eq!(stale, summary["rendered"].as_u64().unwrap(), "{}", r.stdout);
    let r = run(&["status", p(&d), "--explain", "index.html"]);
    assert!(r.stdout.contains("up to date"), "{}", r.stdout);
}

/// `status --explain PATH`'s answer.
fn explain(d: &Path, path: &str) -> String {
    let r = run(&["status", p(d), "--explain", path]);
    assert_eq!(r.code, 0, "{}", r.all());
    r.stdout
}

#[test]
fn explain_follows_the_traces_down_to_the_changed_input() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 27);
    build(&d);
    // A typo: the entry's content.
    edit_poems(&d, |p| p[4]["content"] = json!("changed words"));
    let why = explain(&d, "similar/0005-01.html");
    assert!(why.contains("entry 0005 <- content changed"), "{why}");
    build(&d);
    // An embedding: the neighbours, from the vectors, from the file, naming the poem.
    edit_embeddings(&d, |e| reverse_vector(&mut e[11]["embedding"]));
    let stale = run(&["status", p(&d)]).stdout;
    let page = (1..=20)
        .map(|i| format!("similar/{i:04}-01.html"))
        .find(|page| explain(&d, page).contains("poems shown"))
        .unwrap_or_else(|| panic!("no similar page shows other poems:\n{stale}"));
    let why = explain(&d, &page);
    assert!(
        why.contains(
            "poems shown <- neighbours <- vectors <- embeddings.json (vector of poem 0012 changed)"
        ),
        "{why}"
    );
    build(&d);
    // A configuration key: the cloud's order, from the seed.
    let c = std::fs::read_to_string(d.join("verso.toml")).unwrap();
    std::fs::write(
        d.join("verso.toml"),
        c.replace("[wordcloud]\n", "[wordcloud]\nseed = 7\n"),
    )
    .unwrap();
    let why = explain(&d, "index.html");
    assert!(why.contains("cloud <- wordcloud.seed changed"), "{why}");
    build(&d);
    // A template.
    use_template(
        &d,
        "ranked",
        &format!(
            "{}<!-- edited -->",
            verso::site::built_in_template("ranked").unwrap()
        ),
    );
    let why = explain(&d, "similar/0003-01.html");
    assert!(why.contains("template ranked changed"), "{why}");
    let why = explain(&d, "index.html");
    assert!(why.contains("up to date"), "{why}");
}

fn damage(cache: &Path, seed: u64) {
    let store = cache.join("store");
    let mut files = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out)
            } else {
                out.push(e.path())
            }
        }
    }
    walk(&store, &mut files);
    files.sort();
    let mut x = seed;
    for f in files {
        let mut bytes = std::fs::read(&f).unwrap();
        if bytes.is_empty() {
            continue;
        }
        for _ in 0..64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (x >> 33) as usize % bytes.len();
            bytes[at] = (x >> 17) as u8;
        }
        std::fs::write(&f, bytes).unwrap();
    }
}

#[test]
fn status_and_check_never_change_the_store_and_report_a_damaged_one() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 33);
    build(&d);
    edit_poems(&d, |p| p[2]["content"] = json!("changed"));
    let cache = tree(&d.join(".verso-cache"));
    for args in [
        vec!["status", p(&d)],
        vec!["status", p(&d), "--explain", "similar/0003-01.html"],
        vec!["status", p(&d), "--explain-all"],
        vec!["check", p(&d)],
    ] {
        let r = run(&args);
        assert!(r.code <= 1, "{args:?}: {}", r.all());
        assert_eq!(
            tree(&d.join(".verso-cache")),
            cache,
            "{args:?} changed the cache"
        );
    }
    // A store that cannot be read: exit 1 with a hint, left where it is.
    let db = d.join(".verso-cache/store/db");
    std::fs::write(&db, b"not a sled database").unwrap();
    let cache = tree(&d.join(".verso-cache"));
    for command in ["status", "check"] {
        let r = run(&[command, p(&d)]);
        assert_eq!(r.code, 1, "{command}: {}", r.all());
        assert!(
            r.stderr.contains("left as it is"),
            "{command}: {}",
            r.stderr
        );
        assert_eq!(
            tree(&d.join(".verso-cache")),
            cache,
            "{command} moved the store"
        );
    }
    // With no cache at all, neither creates one.
    std::fs::remove_dir_all(d.join(".verso-cache")).unwrap();
    assert_eq!(run(&["status", p(&d)]).code, 0);
    assert!(!d.join(".verso-cache").exists());
}

#[test]
fn a_damaged_store_is_set_aside_and_the_build_is_correct() {
    for seed in [1, 2, 3] {
        let dir = temp();
        let d = dir.path().join("c");
        small_collection(&d, 20, 28);
        build(&d);
        damage(&d.join(".verso-cache"), seed);
        edit_poems(&d, |p| p[1]["content"] = json!("after the damage"));
        let r = run(&["build", p(&d), "--progress", "none"]);
        assert_eq!(r.code, 0, "{}", r.all());
        assert_matches_clean_build(&d);
        // And the next build is a no-op on the new store.
        assert_eq!(build_summary(&d, &[])["rendered"], json!(0));
    }
}

/// Build, change the store's `meta` tree with `edit`, build again: the store
/// is set aside with a warning that says `why`, and the site is right.
fn store_set_aside_after(seed: u64, edit: impl FnOnce(&sled::Tree), why: &str) {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, seed);
    build(&d);
    {
        let db = sled::open(d.join(".verso-cache/store")).unwrap();
        edit(&db.open_tree("meta").unwrap());
        db.flush().unwrap();
    }
    let r = build(&d);
    assert!(
        r.stderr.contains("was unusable") && r.stderr.contains(why),
        "{}",
        r.stderr
    );
    assert!(d.join(".verso-cache/store.unusable-1").exists());
    assert_matches_clean_build(&d);
}

#[test]
fn a_store_of_another_format_is_set_aside() {
    store_set_aside_after(
        29,
        |meta| {
            meta.insert("format", &99u32.to_le_bytes()).unwrap();
        },
        "format",
    );
}

#[test]
fn a_store_of_another_verso_version_is_set_aside() {
    store_set_aside_after(
        31,
        |meta| {
            assert_eq!(
                meta.get("version").unwrap().unwrap().as_ref(),
                env!("CARGO_PKG_VERSION").as_bytes()
            );
            meta.insert("version", "0.0.1").unwrap();
        },
        "written by verso 0.0.1",
    );
}

#[test]
fn a_locked_store_stops_a_second_build() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 30);
    build(&d);
    edit_poems(&d, |p| p[1]["content"] = json!("while locked"));
    let site_before = tree(&d.join("site"));
    let lock = std::fs::File::options()
        .write(true)
        .open(d.join(".verso-cache/lock"))
        .unwrap();
    lock.lock().unwrap();
    let r = build_expect(&d, &[], 1);
    assert!(
        r.stderr.contains("in use by another verso build"),
        "{}",
        r.stderr
    );
    assert_eq!(tree(&d.join("site")), site_before);
    drop(lock);
    build(&d);
}

#[derive(Debug, Clone)]
enum Edit {
    Content(usize, u8),
    Date(usize, u16),
    Warning(usize, Option<u8>),
    Insert(u16),
    Delete(usize),
    Embedding(usize, u8),
    PerPage(u8),
    WordVector(usize, u8),
    ColourFile(bool),
    StopWords(u8),
    ColourWords(u8),
    Seed(u8),
    Template(u8),
    Media(u8),
    TimelineEnd(u8),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..30, any::<u8>()).prop_map(|(i, s)| Edit::Content(i, s)),
        (0usize..30, any::<u16>()).prop_map(|(i, s)| Edit::Date(i, s)),
        (0usize..30, proptest::option::of(any::<u8>())).prop_map(|(i, s)| Edit::Warning(i, s)),
        any::<u16>().prop_map(Edit::Insert),
        (0usize..30).prop_map(Edit::Delete),
        (0usize..30, any::<u8>()).prop_map(|(i, s)| Edit::Embedding(i, s)),
        (1u8..6).prop_map(Edit::PerPage),
        (0usize..60, any::<u8>()).prop_map(|(i, s)| Edit::WordVector(i, s)),
        any::<bool>().prop_map(Edit::ColourFile),
        any::<u8>().prop_map(Edit::StopWords),
        any::<u8>().prop_map(Edit::ColourWords),
        any::<u8>().prop_map(Edit::Seed),
        any::<u8>().prop_map(Edit::Template),
        any::<u8>().prop_map(Edit::Media),
        any::<u8>().prop_map(Edit::TimelineEnd),
    ]
}

const WORDS: [&str; 8] = [
    "river", "stone", "light", "ash", "morning", "rose", "sea", "*ember*",
];

fn apply(d: &Path, edit: &Edit) {
    match edit.clone() {
        Edit::Content(i, s) => edit_poems(d, |p| {
            let i = i % p.len();
            p[i]["content"] = json!(format!(
                "{} {}",
                WORDS[s as usize % 8],
                WORDS[(s / 8) as usize % 8]
            ));
        }),
        // Dates and inserts fall in 2020–2025, January and February 2026, and
        // January 2027: into, out of and across the newest month and year.
        Edit::Date(i, s) => edit_poems(d, |p| {
            let i = i % p.len();
            p[i]["creation_date"] = match s % 3 {
                0 => json!(format!("202{}-0{}-1{}", 6 + s % 2, 1 + s % 2, s % 10)),
                _ => json!(format!("20{:02}-0{}-1{}", 20 + s % 6, 1 + s % 9, s % 10)),
            };
        }),
        Edit::Warning(i, w) => edit_poems(d, |p| {
            let i = i % p.len();
            match w {
                Some(w) => p[i]["content_warning"] = json!(WORDS[w as usize % 8]),
                None => drop(p[i].as_object_mut().unwrap().remove("content_warning")),
            }
        }),
        Edit::Insert(s) => {
            // Above every poem and every embedding: a deleted poem's embedding
            // stays behind (a warning), and reusing its index would duplicate it.
            let embedded = read_json(&d.join("embeddings.json"))["embeddings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_u64().unwrap())
                .max()
                .unwrap();
            let mut index = 0;
            edit_poems(d, |p| {
                let poems = p
                    .iter()
                    .map(|x| x["poem_index"].as_u64().unwrap())
                    .max()
                    .unwrap();
                index = poems.max(embedded) + 1;
                p.push(json!({"poem_index": index, "category": "new", "content": format!("fresh {}", WORDS[s as usize % 8]),
                    "creation_date": format!("202{}-0{}-{:02}", 6 + s / 256 % 2, 1 + s / 512 % 2, 1 + s % 28)}));
            });
            edit_embeddings(d, |e| {
                let mut v = e[s as usize % e.len()].clone();
                v["id"] = json!(index);
                e.push(v);
            });
        }
        Edit::Delete(i) => edit_poems(d, |p| {
            if p.len() > 3 {
                p.remove(i % p.len());
            }
        }),
        Edit::Embedding(i, s) => edit_embeddings(d, |e| {
            let i = i % e.len();
            let v = e[i]["embedding"].as_array_mut().unwrap();
            let k = s as usize % v.len();
            v[k] = json!(v[k].as_f64().unwrap() + 0.5);
        }),
        Edit::PerPage(n) => {
            let c = std::fs::read_to_string(d.join("verso.toml")).unwrap();
            let start = c.find("poems_per_page = ").unwrap();
            let end = start + c[start..].find('\n').unwrap();
            std::fs::write(
                d.join("verso.toml"),
                format!("{}poems_per_page = {n}{}", &c[..start], &c[end..]),
            )
            .unwrap();
        }
        Edit::WordVector(i, s) => {
            let path = d.join("word_embeddings.json");
            let mut v = read_json(&path);
            let map = v.as_object_mut().unwrap();
            let word = map.keys().nth(i % map.len()).unwrap().clone();
            let values = map[&word].as_array_mut().unwrap();
            let k = s as usize % values.len();
            values[k] = json!(values[k].as_f64().unwrap() - 0.7);
            write_json(&path, &v);
        }
        Edit::ColourFile(on) => {
            let file = if on { "color_embeddings.json" } else { "" };
            set_key(d, "color_embeddings", file.into());
        }
        Edit::StopWords(s) => set_key(
            d,
            "wordcloud.stop_words",
            toml::Value::Array(vec![WORDS[s as usize % 7].into()]),
        ),
        Edit::ColourWords(s) => set_key(
            d,
            "colors.red",
            toml::Value::Array(vec![
                WORDS[s as usize % 7].into(),
                WORDS[(s / 8) as usize % 7].into(),
            ]),
        ),
        Edit::Seed(s) => set_key(d, "wordcloud.seed", (s as i64).into()),
        Edit::Template(s) => std::fs::write(
            d.join("tpl/ranked.hbs"),
            format!(
                "{}<!-- {s} -->",
                verso::site::built_in_template("ranked").unwrap()
            ),
        )
        .unwrap(),
        Edit::Media(s) => write_svg(&d.join("media/pic.svg"), &format!("v{s}")),
        Edit::TimelineEnd(s) => set_key(
            d,
            "timeline.end",
            ["month", "year", "newest"][s as usize % 3].into(),
        ),
    }
}

fn edits_end_in_the_clean_tree(edits: &[Edit]) {
    let dir = temp();
    let d = dir.path().join("c");
    collection_with_everything(&d, 15, 31);
    use_template(
        &d,
        "ranked",
        verso::site::built_in_template("ranked").unwrap(),
    );
    build(&d);
    for edit in edits {
        apply(&d, edit);
        build(&d);
        assert_matches_clean_build(&d);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn random_edit_sequences_match_clean_builds(edits in proptest::collection::vec(edit_strategy(), 1..4)) {
        edits_end_in_the_clean_tree(&edits);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    #[ignore = "long: 512 random edit sequences"]
    fn many_random_edit_sequences_match_clean_builds(edits in proptest::collection::vec(edit_strategy(), 1..8)) {
        edits_end_in_the_clean_tree(&edits);
    }
}

#[test]
fn a_partial_a_users_template_includes_is_one_of_its_pages_inputs() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 30, 31);
    let ranked = verso::site::built_in_template("ranked").unwrap();
    // The built-in ranked.hbs includes no pager; this one does.
    use_template(&d, "ranked", &format!("{{{{> pager}}}}\n{ranked}"));
    build(&d);
    std::fs::write(d.join("tpl/pager.hbs"), "<p>another pager</p>\n").unwrap();
    let summary = build_summary(&d, &[]);
    let written = |family: &str| summary["families"][family]["written"].as_u64().unwrap();
    assert!(
        written("similar") > 0 && written("different") > 0,
        "{summary}"
    );
    assert_eq!(written("wordcloud"), 0, "{summary}");
    let page = std::fs::read_to_string(d.join("site/similar/0003-01.html")).unwrap();
    assert!(page.contains("another pager"));
    assert_matches_clean_build(&d);
}

#[test]
fn a_damaged_memo_file_is_said_once_and_treated_as_absent() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 32);
    build(&d);
    let memo = d.join(".verso-cache/memo");
    let mut bytes = std::fs::read(&memo).unwrap();
    // One flipped bit in the middle still decodes; its checksum fails.
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&memo, &bytes).unwrap();
    let said = |r: &Run| r.stderr.matches("memo file").count();
    let status = run(&["status", p(&d)]);
    assert_eq!(status.code, 0, "{}", status.all());
    assert_eq!(said(&status), 1, "{}", status.all());
    assert!(status.stderr.contains("is damaged"), "{}", status.all());
    edit_poems(&d, |p| p[3]["content"] = json!("after the damage"));
    let r = run(&["build", p(&d), "--progress", "plain"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(said(&r), 1, "{}", r.all());
    assert_matches_clean_build(&d);
    // The build wrote a sound one: nothing more is said.
    let again = run(&["build", p(&d), "--progress", "plain"]);
    assert_eq!(said(&again), 0, "{}", again.all());
    assert_eq!(build_summary(&d, &[])["rendered"], json!(0));
}

/// `status` through the library, every stale target explained.
fn status_of(d: &Path) -> verso::engine::status::Status {
    use verso::engine::status::{status, Explain};
    let config = verso::config::Config::load(&d.join("verso.toml"), &Default::default()).unwrap();
    let quiet = verso::progress::Progress::new(verso::progress::Mode::Quiet, 1, false);
    status(config, &quiet, Explain::Stale).unwrap()
}

#[test]
fn every_stale_reason_comes_from_an_edit_and_is_rendered() {
    use verso::engine::stale::Staleness;
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 40, 34);
    build(&d);
    append_poem(&d, None);
    edit_poems(&d, |p| p.retain(|poem| poem["poem_index"] != json!(20)));
    std::fs::remove_file(d.join("site/similar/0005-01.html")).unwrap();
    // Two pages these edits leave up to date, changed by hand: one longer,
    // one with a byte flipped.
    let before = status_of(&d);
    let untouched: Vec<String> = tree(&d.join("site"))
        .into_keys()
        .filter(|path| before.explain(path) == Some(&Staleness::UpToDate))
        .take(2)
        .collect();
    assert_eq!(untouched.len(), 2);
    let longer = d.join("site").join(&untouched[0]);
    std::fs::write(
        &longer,
        [std::fs::read(&longer).unwrap(), b"x".to_vec()].concat(),
    )
    .unwrap();
    let flipped = d.join("site").join(&untouched[1]);
    let mut bytes = std::fs::read(&flipped).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&flipped, bytes).unwrap();

    // Each reason, found by a match that names every one: a new reason
    // does not compile here until an edit above produces it.
    let status = status_of(&d);
    let mut seen = BTreeSet::new();
    let mut check = |path: &str, why: &Staleness| {
        seen.insert(match why {
            Staleness::UpToDate => 0,
            Staleness::New => 1,
            Staleness::Missing => 2,
            Staleness::EditedOutside { sizes: Some(_) } => 3,
            Staleness::EditedOutside { sizes: None } => 4,
            Staleness::InputsChanged { explained: Some(e) } => {
                assert!(e.starts_with(path) && e.contains(" <- "), "{e}");
                5
            }
            Staleness::InputsChanged { explained: None } => panic!("{path}: not explained"),
            Staleness::Orphan => 6,
        });
    };
    for path in tree(&d.join("site"))
        .keys()
        .chain(["similar/0005-01.html".into()].iter())
    {
        if let Some(why) = status.explain(path) {
            check(path, why);
        }
    }
    for (path, why) in status.all_stale() {
        check(path, why);
    }
    assert_eq!(seen, (0..=6).collect(), "{:?}", status.table());
    assert_eq!(
        status.explain("similar/0041-01.html"),
        Some(&Staleness::New)
    );
    assert_eq!(
        status.explain("similar/0020-01.html"),
        Some(&Staleness::Orphan)
    );
    assert_eq!(
        status.explain("similar/0005-01.html"),
        Some(&Staleness::Missing)
    );

    // The command renders them, and the build counts them by kind.
    let shown = run(&["status", p(&d), "--explain-all"]);
    for (path, why) in status.all_stale() {
        assert!(
            shown.stdout.contains(&format!("{path}: {why}\n")),
            "{path}: {why}"
        );
    }
    for line in [
        "new: it has",
        "stale: its file is missing",
        "recorded)",
        "to remove: ",
    ] {
        assert!(shown.stdout.contains(line), "{line}: {}", shown.stdout);
    }
    let summary = build_summary(&d, &[]);
    for kind in [
        "new",
        "missing",
        "changed outside verso",
        "inputs changed",
        "no longer part of the site",
    ] {
        assert!(
            summary["why"][kind].as_u64().unwrap() > 0,
            "{kind}: {}",
            summary["why"]
        );
    }
    assert_eq!(summary["why"]["changed outside verso"], json!(2));
    assert_matches_clean_build(&d);
}
