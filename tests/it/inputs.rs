//! Bad input: every defect of the inputs (poems.json, the embeddings files,
//! verso.toml, templates and media) is reported with its file, poem and
//! field, exits 2, and leaves the output folder and the cache as they were.

use crate::common::*;
use serde_json::json;
use std::path::Path;

/// Build a good collection, apply `defect`, and check the failed build.
fn rejects(defect: impl FnOnce(&Path), expect: &[&str]) {
    let dir = temp();
    let d = dir.path();
    small_collection(d, 30, 3);
    build(d);
    let site_before = tree(&d.join("site"));
    let cache_before = tree(&d.join(".verso-cache"));
    defect(d);
    let r = build_expect(d, &[], 2);
    for fragment in expect {
        assert!(
            r.stderr.contains(fragment),
            "expected {fragment:?} in:\n{}",
            r.stderr
        );
    }
    assert_eq!(
        tree(&d.join("site")),
        site_before,
        "the output folder changed"
    );
    assert_eq!(
        tree(&d.join(".verso-cache")),
        cache_before,
        "the cache changed"
    );
}

#[test]
fn malformed_json() {
    rejects(
        |d| {
            let text = std::fs::read_to_string(d.join("poems.json")).unwrap();
            std::fs::write(d.join("poems.json"), &text[..text.len() / 2]).unwrap();
        },
        &["poems.json:", "EOF"],
    );
}

#[test]
fn missing_required_field() {
    rejects(
        |d| edit_poems(d, |p| drop(p[2].as_object_mut().unwrap().remove("content"))),
        &[
            "poems.json:",
            "poem 3",
            "field `content`",
            "missing required field",
        ],
    );
    rejects(
        |d| {
            edit_poems(d, |p| {
                drop(p[4].as_object_mut().unwrap().remove("poem_index"))
            })
        },
        &["#5 in the list", "field `poem_index`"],
    );
    rejects(
        |d| {
            edit_poems(d, |p| {
                drop(p[0].as_object_mut().unwrap().remove("category"))
            })
        },
        &["poem 1", "field `category`"],
    );
}

#[test]
fn duplicate_poem_index() {
    rejects(
        |d| edit_poems(d, |p| p[5]["poem_index"] = json!(4)),
        &["poems.json:", "poem 4", "field `poem_index`", "duplicate"],
    );
}

#[test]
fn unparsable_date() {
    rejects(
        |d| edit_poems(d, |p| p[6]["creation_date"] = json!("2023-13-45")),
        &["poem 7", "field `creation_date`", "2023-13-45"],
    );
}

#[test]
fn empty_content() {
    rejects(
        |d| edit_poems(d, |p| p[1]["content"] = json!("  \n ")),
        &["poem 2", "field `content`", "empty content"],
    );
}

#[test]
fn missing_media_file() {
    rejects(
        |d| {
            edit_poems(d, |p| {
                p[3]["attachments"] = json!([{"relative_path": "gone.png", "alt_text": "x"}])
            })
        },
        &[
            "poem 4",
            "attachments[0].relative_path",
            "missing media file",
        ],
    );
}

#[test]
fn attachment_path_leaving_the_media_folder() {
    rejects(
        |d| {
            edit_poems(d, |p| {
                p[3]["attachments"] = json!([{"relative_path": "../poems.json"}])
            })
        },
        &[
            "poem 4",
            "attachments[0].relative_path",
            "leaves the media folder",
        ],
    );
}

#[test]
fn poem_without_embedding() {
    rejects(
        |d| edit_embeddings(d, |e| e.retain(|v| v["id"] != json!(7))),
        &[
            "embeddings.json",
            "poem 7",
            "field `embedding`",
            "no embedding",
        ],
    );
}

#[test]
fn mixed_dimensions() {
    rejects(
        |d| {
            edit_embeddings(d, |e| {
                e[1]["embedding"].as_array_mut().unwrap().push(json!(0.5))
            })
        },
        &["embeddings.json:", "poem 2", "mixed dimensions"],
    );
}

#[test]
fn nan_infinite_and_zero_vectors() {
    let replace_first_value = |d: &Path, with: &str| {
        let text = std::fs::read_to_string(d.join("embeddings.json")).unwrap();
        let at = text.find("\"embedding\": [").unwrap() + "\"embedding\": [".len();
        let end = at + text[at..].find(',').unwrap();
        std::fs::write(
            d.join("embeddings.json"),
            format!("{}{with}{}", &text[..at], &text[end..]),
        )
        .unwrap();
    };
    rejects(
        |d| replace_first_value(d, "NaN"),
        &["embeddings.json:", "expected value"],
    );
    rejects(
        |d| replace_first_value(d, "1e39"),
        &["embeddings.json:", "poem 1", "finite"],
    );
    rejects(|d| replace_first_value(d, "1e999"), &["embeddings.json:"]);
    rejects(
        |d| edit_embeddings(d, |e| e[2]["embedding"] = json!(vec![0.0; 8])),
        &["embeddings.json:", "poem 3", "zeros"],
    );
}

#[test]
fn invalid_configuration() {
    rejects(
        |d| std::fs::write(d.join("verso.toml"), "[pages]\npoems_per_pag = 3\n").unwrap(),
        &["verso.toml:2", "poems_per_pag"],
    );
    rejects(
        |d| std::fs::write(d.join("verso.toml"), "[pages]\npoems_per_page = 0\n").unwrap(),
        &["verso.toml", "pages.poems_per_page", "out of range"],
    );
    rejects(
        |d| std::fs::write(d.join("verso.toml"), "[wordcloud]\nseed = \"x\"\n").unwrap(),
        &[
            "verso.toml:2",
            "`wordcloud.seed` must be a whole number, 0 or more, not string \"x\"",
        ],
    );
    rejects(
        |d| std::fs::write(d.join("verso.toml"), "embeddings = \"vectors.json\"\n").unwrap(),
        &["vectors.json", "file not found"],
    );
}

#[test]
fn an_output_folder_over_the_media_is_rejected() {
    // With output = ".", the site's media/ would be the poet's own media folder.
    for (output, says) in [
        (".", "media folder itself"),
        ("media", "inside the media folder"),
        ("media/site", "inside the media folder"),
        ("x/../media/..", "media folder itself"),
    ] {
        rejects(
            |d| {
                let toml = std::fs::read_to_string(d.join("verso.toml")).unwrap();
                std::fs::write(
                    d.join("verso.toml"),
                    format!("output = \"{output}\"\n{toml}"),
                )
                .unwrap()
            },
            &["verso.toml", "field `output`", says],
        );
    }
}

#[test]
fn byte_order_marks_are_accepted() {
    let dir = temp();
    let plain = dir.path().join("plain");
    small_collection(&plain, 20, 8);
    let marked = dir.path().join("marked");
    copy_dir(&plain, &marked);
    for file in ["poems.json", "embeddings.json", "verso.toml"] {
        let bytes = std::fs::read(marked.join(file)).unwrap();
        std::fs::write(marked.join(file), [&b"\xEF\xBB\xBF"[..], &bytes].concat()).unwrap();
    }
    build(&plain);
    build(&marked);
    assert_same_tree(&plain.join("site"), &marked.join("site"));
}

#[test]
fn embedding_for_an_unknown_poem_is_a_warning() {
    let dir = temp();
    let d = dir.path();
    small_collection(d, 20, 4);
    edit_embeddings(d, |e| {
        let mut extra = e[0].clone();
        extra["id"] = json!(999);
        e.push(extra);
    });
    let r = build(d);
    assert!(
        r.stderr.contains("unknown poems (first: 999)"),
        "{}",
        r.stderr
    );
    assert!(d.join("site/index.html").is_file());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["build", "--progress", "sometimes"]).code, 2);
    assert_eq!(run(&["frobnicate"]).code, 2);
    let dir = temp();
    let r = run(&["build", p(dir.path()), "--progress", "none"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("verso.toml") && r.stderr.contains("no poems.json"),
        "{}",
        r.stderr
    );
}
