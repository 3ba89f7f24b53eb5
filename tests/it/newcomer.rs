//! The first hour: `init`, a folder without verso.toml, a folder that does
//! not exist, text that is not UTF-8, shared ids, `status --explain` with the
//! output folder in the path, `clean` of a folder never built, the summary's
//! last line, and the site's title.

use crate::common::*;
use serde_json::json;

#[test]
fn init_writes_a_configuration_that_builds_and_keeps_an_existing_one() {
    let dir = temp();
    let d = dir.path().join("c");
    collection(&d, 30, 8, 51, "");
    std::fs::remove_file(d.join("verso.toml")).unwrap();
    let r = run(&["init", p(&d)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let written = std::fs::read_to_string(d.join("verso.toml")).unwrap();
    assert_eq!(written, verso::config::TEMPLATE);
    let r = build(&d);
    assert!(!r.stderr.contains("note: no"), "{}", r.stderr);
    std::fs::write(d.join("verso.toml"), "title = \"mine\"\n").unwrap();
    let r = run(&["init", p(&d)]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("exists already"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(d.join("verso.toml")).unwrap(),
        "title = \"mine\"\n"
    );
}

#[test]
fn a_folder_with_poems_and_no_configuration_builds_with_the_defaults() {
    let dir = temp();
    let d = dir.path().join("c");
    collection(&d, 30, 8, 52, "");
    std::fs::remove_file(d.join("verso.toml")).unwrap();
    let r = build(&d);
    assert!(
        r.stderr.contains("no ")
            && r.stderr
                .contains("verso.toml here: every key takes its default"),
        "{}",
        r.stderr
    );
    assert!(d.join("site/index.html").is_file());
    let r = run(&["check", p(&d)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("0 problem(s)"), "{}", r.stdout);
    // The same site as with the template `init` writes.
    let other = temp();
    let o = other.path().join("c");
    copy_dir(&d, &o);
    std::fs::remove_dir_all(o.join("site")).unwrap();
    std::fs::remove_dir_all(o.join(".verso-cache")).unwrap();
    assert_eq!(run(&["init", p(&o)]).code, 0);
    build(&o);
    assert_same_tree(&d.join("site"), &o.join("site"));
}

#[test]
fn a_folder_that_does_not_exist_is_named() {
    let dir = temp();
    let missing = dir.path().join("no-such-collection");
    let r = run(&["build", p(&missing), "--progress", "none"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains("no-such-collection") && r.stderr.contains("no such folder"),
        "{}",
        r.stderr
    );
}

#[test]
fn text_that_is_not_utf8_is_bad_input_naming_the_file_and_offset() {
    for (file, bytes) in [
        ("verso.toml", b"title = \"caf\xe9\"\n".to_vec()),
        ("poems.json", b"{\"poems\": [\xff]}".to_vec()),
    ] {
        let dir = temp();
        let d = dir.path().join("c");
        collection(&d, 10, 8, 53, "");
        build(&d);
        let cache = tree(&d.join(".verso-cache"));
        std::fs::write(d.join(file), &bytes).unwrap();
        let r = build_expect(&d, &[], 2);
        let at = bytes.iter().position(|b| *b >= 0x80).unwrap();
        assert!(
            r.stderr.contains(file) && r.stderr.contains(&format!("not valid UTF-8 at byte {at}")),
            "{}",
            r.stderr
        );
        assert_eq!(tree(&d.join(".verso-cache")), cache);
    }
    let dir = temp();
    let d = dir.path().join("c");
    collection(&d, 10, 8, 54, "");
    use_template(&d, "entry", "caf\u{e9}");
    std::fs::write(d.join("tpl/entry.hbs"), b"caf\xe9").unwrap();
    let r = build_expect(&d, &[], 2);
    assert!(
        r.stderr.contains("entry.hbs") && r.stderr.contains("UTF-8 at byte 3"),
        "{}",
        r.stderr
    );
}

#[test]
fn shared_ids_are_a_warning_naming_both_poems() {
    let dir = temp();
    let d = dir.path().join("c");
    collection(&d, 12, 8, 55, "");
    edit_poems(&d, |p| {
        for i in [3, 8] {
            p[i]["category"] = json!("messages");
            p[i]["id"] = json!("m-7");
        }
    });
    let r = build(&d);
    assert!(
        r.stderr
            .contains("poem_index 4 and poem_index 9 share the id messages/m-7"),
        "{}",
        r.stderr
    );
}

#[test]
fn explain_takes_a_path_inside_the_output_folder_and_fails_on_a_non_target() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 20, 56);
    build(&d);
    edit_poems(&d, |p| p[4]["content"] = json!("changed words"));
    let inside = d.join("site/similar/0005-01.html");
    let r = run(&["status", p(&d), "--explain", p(&inside)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.starts_with("similar/0005-01.html: stale"),
        "{}",
        r.stdout
    );
    let r = run(&["status", p(&d), "--explain", "similar/9999-01.html"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("not a target"), "{}", r.stdout);
}

#[test]
fn clean_says_only_what_it_did() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 10, 57);
    let r = run(&["clean", p(&d)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("nothing to clean"), "{}", r.stdout);
    assert!(!r.stdout.contains("removed"), "{}", r.stdout);
    build(&d);
    let files = tree(&d.join("site")).len();
    let r = run(&["clean", p(&d)]);
    assert!(
        r.stdout.contains(&format!("removed {files} file(s)")) && r.stdout.contains("the cache"),
        "{}",
        r.stdout
    );
}

#[test]
fn the_summary_ends_with_where_the_site_is_and_the_title_is_used() {
    let dir = temp();
    let d = dir.path().join("c");
    small_collection(&d, 10, 58);
    let toml = std::fs::read_to_string(d.join("verso.toml")).unwrap();
    std::fs::write(
        d.join("verso.toml"),
        format!("title = \"Morning Notes\"\n{toml}"),
    )
    .unwrap();
    let r = build(&d);
    let last = r.stdout.lines().last().unwrap();
    assert_eq!(
        last,
        format!("open {}", d.join("site/index.html").display())
    );
    let site = tree(&d.join("site"));
    for (path, bytes) in site.iter().filter(|(p, _)| p.ends_with(".html")) {
        let text = String::from_utf8_lossy(bytes);
        let title = &text[text.find("<title>").unwrap()..text.find("</title>").unwrap()];
        assert!(title.ends_with("Morning Notes"), "{path}: {title}");
    }
    let menu = String::from_utf8_lossy(&site["index.html"]);
    assert!(menu.contains("class=\"s6\">Morning Notes</span>"), "{menu}");
}
