//! Whole sites: the sample and the sonnets pass `verso check`; builds are
//! deterministic; hostile input stays inside the output folder; `check`
//! catches broken sites; every entry feature reaches the page.

use crate::common::*;
use serde_json::json;

#[test]
fn the_sample_site_builds_and_passes_check() {
    let dir = temp();
    let d = dir.path().join("sample");
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample"),
        &d,
    );
    std::fs::remove_dir_all(d.join("site")).ok();
    std::fs::remove_dir_all(d.join(".verso-cache")).ok();
    build(&d);
    let r = run(&["check", p(&d)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains(": 0 problem(s)"), "{}", r.stdout);
    for page in [
        "index.html",
        "explore.html",
        "chronological/01.html",
        "similar/0001-01.html",
        "different/0300-01.html",
    ] {
        assert!(d.join("site").join(page).is_file(), "{page}");
    }
}

#[test]
fn the_sonnets_site_builds_and_passes_check() {
    let sonnets = sonnets();
    let dir = temp();
    let d = dir.path().join("sonnets");
    copy_dir(&sonnets, &d);
    build(&d);
    let r = run(&["check", p(&d)]);
    assert_eq!(r.code, 0, "{}", r.all());
    // 168 poems, 50 a chronological page: 4 pages.
    assert!(d.join("site/chronological/04.html").is_file());
    assert!(!d.join("site/chronological/05.html").exists());
    let menu = std::fs::read_to_string(d.join("site/index.html")).unwrap();
    assert!(
        menu.contains("200 words, shuffled with seed 1"),
        "the cloud keeps 200 words"
    );
}

#[test]
fn clean_builds_are_byte_identical_across_runs_and_thread_counts() {
    let dir = temp();
    let a = dir.path().join("a");
    small_collection(&a, 60, 5);
    let b = dir.path().join("b");
    copy_dir(&a, &b);
    let c = dir.path().join("c");
    copy_dir(&a, &c);
    build(&a);
    build(&b);
    build_expect(&c, &["--threads", "1"], 0);
    assert!(tree(&a.join("site")).len() > 200);
    assert_same_tree(&a.join("site"), &b.join("site"));
    assert_same_tree(&a.join("site"), &c.join("site"));
}

#[test]
fn hostile_values_stay_inside_the_output_folder_and_are_escaped() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 6);
    edit_poems(&d, |poems| {
        poems[0]["category"] = json!("../../../etc");
        poems[1]["id"] = json!("../../x/<script>alert(1)</script>");
        poems[2]["content"] = json!("<script>alert(2)</script> & \"quotes\" 'too'");
        poems[3]["content_warning"] = json!("</pre><script>alert(3)</script>");
        poems[4]["category"] = json!(format!("{}", "w".repeat(300)));
        poems[5]["metadata"] = json!({"is_boost": true, "original_uri": "javascript:alert(4)"});
        poems[6]["metadata"] = json!({"source_file": "/etc/passwd"});
        poems[6]["category"] = json!("notes");
    });
    build(&d);
    let entries: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut entries = entries;
    entries.sort();
    assert_eq!(
        entries,
        vec![
            ".verso-cache",
            "embeddings.json",
            "media",
            "poems.json",
            "site",
            "verso.toml"
        ]
    );
    for (path, bytes) in tree(&d.join("site")) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("<script"), "{path} has a script tag");
        assert!(
            !text.contains("href=\"javascript:"),
            "{path} links to javascript:"
        );
    }
    let r = run(&["check", p(&d)]);
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn check_reports_missing_pages_wrong_anchors_and_long_lines() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 7);
    build(&d);
    let site = d.join("site");
    std::fs::remove_file(site.join("similar/0003-01.html")).unwrap();
    let chrono = site.join("chronological/01.html");
    let text = std::fs::read_to_string(&chrono).unwrap();
    let first_id = text.find("id=\"poem-").unwrap();
    let mut broken = text.clone();
    broken.replace_range(first_id..first_id + 9, "id=\"gone-");
    std::fs::write(&chrono, broken).unwrap();
    let explore = site.join("explore.html");
    let text = std::fs::read_to_string(&explore).unwrap().replace(
        "back to the menu",
        &format!("back to the menu{}", "x".repeat(90)),
    );
    std::fs::write(&explore, text).unwrap();
    // Check the site folder alone (no cache): links, anchors and widths.
    let r = run(&["check", p(&site)]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains("broken link \"../similar/0003-01.html\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("broken anchor chronological/01.html#poem-"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("explore.html: line") && r.stdout.contains("columns wide (at most 84)"),
        "{}",
        r.stdout
    );
    // With the cache: the edited files no longer match their records.
    let r = run(&["check", p(&d)]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("similar/0003-01.html: recorded in the cache but missing"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("explore.html: differs from the hash the cache recorded"),
        "{}",
        r.stdout
    );
}

#[test]
fn entries_show_warnings_golden_frames_boosts_images_and_emphasis() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 12, 8);
    write_svg(&d.join("media/pic.svg"), "v1");
    edit_poems(&d, |poems| {
        poems[0]["content_warning"] = json!("a warning long enough to wrap ".repeat(4));
        poems[1]["content"] = json!("x".repeat(1000));
        poems[1]["content_warning"] = json!("y".repeat(24));
        poems[1].as_object_mut().unwrap().remove("metadata");
        poems[2]["metadata"] =
            json!({"is_boost": true, "original_uri": "https://example.social/@a/1"});
        poems[3]["attachments"] = json!([{"relative_path": "pic.svg", "description": "a \"pic\"", "alt_text": "unused", "width": 10, "height": 20}]);
        poems[4]["content"] = json!("the *word* stands out");
    });
    build(&d);
    let page =
        |n: u32| std::fs::read_to_string(d.join(format!("site/similar/{n:04}-01.html"))).unwrap();
    let p1 = page(1);
    assert!(
        p1.contains("│ CW: a warning long enough to wrap"),
        "warning box"
    );
    assert!(p1.contains("┌──────"), "warning box top");
    let p2 = page(2);
    assert!(
        p2.contains("<b class=\"c")
            && p2.contains(">╔</b>")
            && p2.contains(">║</b>")
            && p2.contains(">╚"),
        "golden frame"
    );
    let p3 = page(3);
    assert!(
        p3.contains("[BOOST]")
            && p3.contains(
                "<a href=\"https://example.social/@a/1\">original: https://example.social/@a/1</a>"
            ),
        "boost frame"
    );
    let p4 = page(4);
    assert!(
        p4.contains("<img src=\"../media/pic.svg\" alt=\"a &quot;pic&quot;\" title=\"a &quot;pic&quot;\" loading=\"lazy\" width=\"10\" height=\"20\">"),
        "image"
    );
    assert_eq!(
        std::fs::read(d.join("site/media/pic.svg")).unwrap(),
        std::fs::read(d.join("media/pic.svg")).unwrap()
    );
    assert!(
        page(5).contains(" the <em>word</em> stands out"),
        "emphasis"
    );
    assert!(p1.contains("aria-label=\"timeline bar, "), "bar label");
}

#[test]
fn unicode_words_get_escaped_file_names() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 12, 9);
    edit_poems(&d, |poems| {
        for poem in poems.iter_mut().take(6) {
            poem["content"] = json!("café au lait, café noir");
        }
    });
    build(&d);
    let page = d.join("site/wordcloud/caf_c3_a9.html");
    assert!(page.is_file());
    let menu = std::fs::read_to_string(d.join("site/index.html")).unwrap();
    assert!(menu.contains("href=\"wordcloud/caf_c3_a9.html\""));
    assert!(std::fs::read_to_string(page)
        .unwrap()
        .contains("the 5 poems closest to café"));
}

#[test]
fn without_embeddings_the_lexical_embedder_is_used_and_announced() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 10);
    std::fs::remove_file(d.join("embeddings.json")).unwrap();
    let r = run(&["build", p(&d), "--progress", "plain"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("lexical embedder"), "{}", r.stderr);
    assert_eq!(run(&["check", p(&d)]).code, 0);
}

#[test]
fn a_templates_folder_overrides_built_in_templates() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 10, 11);
    use_template(&d, "explore", " my own guide\n");
    build(&d);
    assert!(std::fs::read_to_string(d.join("site/explore.html"))
        .unwrap()
        .contains(" my own guide"));
    std::fs::write(d.join("tpl/nonsense.hbs"), "x").unwrap();
    let r = build_expect(&d, &[], 2);
    assert!(
        r.stderr.contains("nonsense.hbs") && r.stderr.contains("no built-in template"),
        "{}",
        r.stderr
    );
}
