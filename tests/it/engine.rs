//! The rule engine: every configuration key (the list generated from the
//! configuration's own fields) and every input file, changed between two
//! builds, gives the clean build's tree; the event log says which rules ran;
//! a rule's code identity invalidates what it made, and only that.

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use verso::config::{Config, Overrides};
use verso::engine::rule::{Code, Rule};
use verso::engine::{self, Options};
use verso::progress::{Mode, Progress};

/// The configuration file's current value of `key`, or its default.
fn current(d: &Path, key: &str, default: &Value) -> Value {
    let table: toml::Table = std::fs::read_to_string(d.join("verso.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let found = match key.split_once('.') {
        Some((section, name)) => table.get(section).and_then(|s| s.get(name)),
        None => table.get(key),
    };
    found.map_or_else(|| default.clone(), |v| serde_json::to_value(v).unwrap())
}

/// A different, valid value for `key`, with whatever files it names.
fn change_key(d: &Path, key: &str, default: &Value) {
    let value = current(d, key, default);
    let new = match (key, &value) {
        ("poems", _) => {
            std::fs::copy(d.join("poems.json"), d.join("poems2.json")).unwrap();
            let text = std::fs::read_to_string(d.join("poems2.json")).unwrap();
            let mut v: Value = serde_json::from_str(&text).unwrap();
            v["poems"][0]["content"] = json!("another first poem");
            write_json(&d.join("poems2.json"), &v);
            toml::Value::String("poems2.json".into())
        }
        ("embeddings", _) => {
            let mut v = read_json(&d.join("embeddings.json"));
            reverse_vector(&mut v["embeddings"][0]["embedding"]);
            write_json(&d.join("vectors2.json"), &v);
            toml::Value::String("vectors2.json".into())
        }
        ("word_embeddings", _) => toml::Value::String(String::new()),
        ("color_embeddings", _) => toml::Value::String("color_embeddings.json".into()),
        ("media", _) => {
            copy_dir(&d.join("media"), &d.join("media2"));
            write_svg(&d.join("media2/pic.svg"), "v2");
            toml::Value::String("media2".into())
        }
        ("model.path", _) => {
            toml::Value::String(crate::embed::test_model().to_str().unwrap().into())
        }
        ("model.server", _) => {
            set_key(d, "model.url", crate::servers::stand_in_url(8).into());
            set_key(d, "model.name", "stand-in".into());
            toml::Value::String("ollama".into())
        }
        // Without `path` or `server` these change nothing, and must not.
        ("model.url", _) => toml::Value::String("http://127.0.0.1:9".into()),
        ("model.name", _) => toml::Value::String("another".into()),
        ("model.revision", _) => toml::Value::String("2".into()),
        ("output", _) => toml::Value::String("site2".into()),
        ("cache", _) => toml::Value::String(".cache2".into()),
        // Nothing listens there: the build goes on with the local cache.
        ("remote_cache", _) => toml::Value::String("redis://127.0.0.1:9/x".into()),
        ("templates", _) => {
            use_template(
                d,
                "entry",
                &format!(
                    "{}<!-- e -->",
                    verso::site::built_in_template("entry").unwrap()
                ),
            );
            toml::Value::String("tpl".into())
        }
        ("timeline.end", _) => toml::Value::String("newest".into()),
        // Where the site is deployed shapes no page.
        ("deploy.to", _) => toml::Value::String("elsewhere".into()),
        ("deploy.protect", _) => toml::Value::Array(vec!["guestbook.html".into()]),
        ("title", _) => toml::Value::String("Other poems".into()),
        // Another address, then none (no feed or sitemap, no head links).
        ("base_url", Value::String(s)) if s.is_empty() => {
            toml::Value::String("https://poems.example/".into())
        }
        ("base_url", _) => {
            set_key(d, "base_url", "https://other.example/verse".into());
            build(d);
            toml::Value::String(String::new())
        }
        // Fewer than the collection's poems, so that the feed changes.
        ("feed.poems", _) => toml::Value::Integer(5),
        ("wordcloud.stop_words", _) => toml::Value::Array(vec!["river".into(), "stone".into()]),
        (k, Value::Null) if k.starts_with("colors.") => {
            toml::Value::Array(vec!["river".into(), "stone".into()])
        }
        ("pages.storage_limit_gb", _) => toml::Value::Float(0.0005),
        (_, Value::Number(n)) if n.is_i64() || n.is_u64() => {
            toml::Value::Integer(n.as_i64().unwrap() + 1)
        }
        (_, Value::Bool(b)) => toml::Value::Boolean(!b),
        _ => panic!("no change is defined for configuration key {key} ({value}): add one here"),
    };
    set_key(d, key, new);
}

/// The output folder the configuration in `d` names.
fn output_of(d: &Path) -> std::path::PathBuf {
    let table: toml::Table = std::fs::read_to_string(d.join("verso.toml"))
        .unwrap()
        .parse()
        .unwrap();
    d.join(
        table
            .get("output")
            .and_then(|o| o.as_str())
            .unwrap_or("site"),
    )
}

/// Build, change, build: the site equals a clean build of the changed inputs.
fn change_gives_the_clean_tree(what: &str, change: impl FnOnce(&Path)) {
    let dir = temp();
    let d = dir.path().join("c");
    collection_with_everything(&d, 40, 41);
    build(&d);
    change(&d);
    let r = build_expect(&d, &[], 0);
    let holder = temp();
    let copy = holder.path().join("c");
    copy_dir(&d, &copy);
    for generated in ["site", "site2", ".verso-cache", ".cache2"] {
        std::fs::remove_dir_all(copy.join(generated)).ok();
    }
    build(&copy);
    let (ours, clean) = (output_of(&d), output_of(&copy));
    let (a, b) = (tree(&ours), tree(&clean));
    assert!(!a.is_empty(), "{what}: nothing built\n{}", r.all());
    assert_eq!(
        differing(&a, &b),
        Vec::<String>::new(),
        "{what}: the incremental build differs from a clean build"
    );
}

#[test]
fn every_configuration_key_changed_between_builds_gives_the_clean_tree() {
    let keys = verso::config::known_keys();
    assert!(keys.len() >= 25, "{keys:?}");
    for (key, default) in keys {
        change_gives_the_clean_tree(&key, |d| change_key(d, &key, &default));
    }
}

#[test]
fn every_input_file_edited_between_builds_gives_the_clean_tree() {
    change_gives_the_clean_tree("poems.json", |d| {
        edit_poems(d, |p| p[5]["content"] = json!("a river of stone"))
    });
    change_gives_the_clean_tree("embeddings.json", |d| {
        edit_embeddings(d, |e| e[3]["embedding"][0] = json!(0.9))
    });
    change_gives_the_clean_tree("word_embeddings.json", |d| {
        let path = d.join("word_embeddings.json");
        let mut v = read_json(&path);
        let (word, _) = v.as_object().unwrap().iter().nth(4).unwrap();
        let word = word.clone();
        v[&word][0] = json!(-0.9);
        write_json(&path, &v);
    });
    change_gives_the_clean_tree("color_embeddings.json", |d| {
        set_key(d, "color_embeddings", "color_embeddings.json".into());
        build(d);
        let path = d.join("color_embeddings.json");
        let mut v = read_json(&path);
        v["red"][1] = json!(0.9);
        write_json(&path, &v);
    });
    change_gives_the_clean_tree("a media file", |d| {
        write_svg(&d.join("media/pic.svg"), "v2")
    });
    change_gives_the_clean_tree("a template", |d| {
        use_template(d, "menu", verso::site::built_in_template("menu").unwrap());
        build(d);
        let t = std::fs::read_to_string(d.join("tpl/menu.hbs")).unwrap();
        std::fs::write(d.join("tpl/menu.hbs"), format!("{t}<!-- edited -->")).unwrap();
    });
}

/// Per rule kept in the store: how many instances a build computed.
fn stored_rules_computed(summary: &Value) -> Vec<(String, u64)> {
    let kept = [
        "vectors",
        "word embeddings",
        "colour embeddings",
        "neighbours",
        "map layout",
        "word vector",
        "colours",
        "word page",
    ];
    summary["rules"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| kept.contains(&name.as_str()))
        .map(|(name, c)| (name.clone(), c["computed"].as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn computed(summary: &Value, rule: &str) -> u64 {
    summary["rules"][rule]["computed"].as_u64().unwrap_or(0)
}

#[test]
fn the_event_log_says_which_rules_ran() {
    let dir = temp();
    let d = dir.path().join("c");
    collection_with_everything(&d, 40, 41);
    let cold = build_summary(&d, &[]);
    assert_eq!(computed(&cold, "neighbours"), 1, "{cold}");
    assert!(computed(&cold, "word page") > 5, "{cold}");
    // A typo: no neighbours, no vectors; only the words of that poem.
    edit_poems(&d, |p| p[7]["content"] = json!("river stone typo"));
    let typo = build_summary(&d, &[]);
    assert_eq!(computed(&typo, "neighbours"), 0, "{typo}");
    assert_eq!(computed(&typo, "map layout"), 0, "{typo}");
    assert_eq!(computed(&typo, "vectors"), 0, "{typo}");
    assert!(
        computed(&typo, "word vector") < computed(&cold, "word vector"),
        "{typo}"
    );
    // A template edit: no derived data at all.
    use_template(
        &d,
        "ranked",
        &format!(
            "{}<!-- t -->",
            verso::site::built_in_template("ranked").unwrap()
        ),
    );
    let template = build_summary(&d, &[]);
    assert_eq!(stored_rules_computed(&template), vec![], "{template}");
    assert!(total(&template, "written") > 0);
    // A seed: the cloud, and nothing kept in the store.
    set_key(&d, "wordcloud.seed", 9.into());
    let seed = build_summary(&d, &[]);
    assert_eq!(computed(&seed, "cloud"), 1, "{seed}");
    assert_eq!(stored_rules_computed(&seed), vec![], "{seed}");
    // The no-op: nothing derived.
    let noop = build_summary(&d, &[]);
    assert_eq!(noop["rules"], json!({}), "{noop}");
}

/// Build `d` through the library with the given code identities.
fn build_with(d: &Path, code: Code) -> engine::Summary {
    let config = Config::load(&d.join("verso.toml"), &Overrides::default()).unwrap();
    let progress = Arc::new(Progress::new(Mode::None, 10, false));
    let options = Options {
        code,
        ..Options::default()
    };
    engine::build(config, &options, &progress, &AtomicBool::new(false)).unwrap()
}

#[test]
fn a_rules_code_identity_rebuilds_what_it_made_and_only_that() {
    let dir = temp();
    let d = dir.path().join("c");
    collection_with_everything(&d, 40, 41);
    build(&d);
    let before = tree(&d.join("site"));
    let compiled = Code::compiled();
    // The neighbours' code changed: they are computed again; the same values
    // cut off there, so no page is even rendered.
    let neighbours_edited = compiled.with_changed(Rule::Neighbours);
    let s = build_with(&d, neighbours_edited.clone());
    assert_eq!(s.rules["neighbours"].computed, 1);
    for rule in ["vectors", "colours", "word page", "word vector"] {
        assert_eq!(s.rules[rule].computed, 0, "{rule}: {:?}", s.rules);
    }
    assert_eq!((s.rendered, s.written()), (0, 0));
    // The entries' code changed: every page that shows an entry is rendered
    // (none written: same bytes), and nothing derived is computed.
    let s = build_with(&d, neighbours_edited.with_changed(Rule::Entry));
    for rule in [
        "neighbours",
        "vectors",
        "colours",
        "word page",
        "word vector",
    ] {
        assert_eq!(s.rules[rule].computed, 0, "{rule}: {:?}", s.rules);
    }
    // Every page but index.html, explore.html and map.html shows entries
    // (the feed and the sitemap are no pages of entries).
    let with_entries = before
        .keys()
        .filter(|p| {
            p.ends_with(".html")
                && !["index.html", "explore.html", "map.html"].contains(&p.as_str())
        })
        .count();
    assert_eq!((s.rendered, s.written()), (with_entries, 0));
    // Back to the compiled code: both again.
    let s = build_with(&d, compiled.clone());
    assert_eq!(s.rules["neighbours"].computed, 1);
    assert_eq!((s.rendered, s.written()), (with_entries, 0));
    assert_eq!(tree(&d.join("site")), before);
}

#[test]
fn new_code_everywhere_but_the_forward_pass_embeds_nothing_and_writes_nothing() {
    let d = temp();
    let texts: Vec<String> = (0..12)
        .map(|i| format!("the river {i} runs under stone and the light of day"))
        .collect();
    let poems: Vec<Value> = (texts.iter().enumerate())
        .map(|(i, t)| {
            json!({"poem_index": i + 1, "category": "poem", "content": t,
                   "creation_date": format!("2020-01-{:02}", i + 1)})
        })
        .collect();
    write_json(&d.path().join("poems.json"), &json!({ "poems": poems }));
    let model = crate::embed::test_model();
    std::fs::write(
        d.path().join("verso.toml"),
        format!(
            "[model]\npath = {:?}\n\n[wordcloud]\nmin_occurrences = 2\n",
            model.to_str().unwrap()
        ),
    )
    .unwrap();
    let first = build_with(d.path(), Code::compiled().clone());
    assert!(
        first.embedded > 12,
        "the poems, the cloud's words, the colours"
    );
    let before = tree(&d.path().join("site"));
    // Every rule's code changed, as by an upgrade of verso that leaves the
    // forward pass alone: every rule runs again, the model runs on nothing.
    let upgraded = (Rule::ALL.iter()).fold(Code::compiled().clone(), |c, &r| c.with_changed(r));
    let s = build_with(d.path(), upgraded);
    assert_eq!(s.rules["vectors"].computed, 1, "{:?}", s.rules);
    assert_eq!(s.rules["neighbours"].computed, 1, "{:?}", s.rules);
    assert_eq!(s.embedded, 0, "no text embedded again");
    assert_eq!(s.written(), 0, "no page's bytes changed");
    assert_eq!(tree(&d.path().join("site")), before);
}
