//! Embedding servers (`[model] server`), against a STAND-IN written here:
//! a loopback-only HTTP server that speaks Ollama's `POST /api/embed` and
//! the OpenAI-compatible `POST /v1/embeddings` well enough to test verso's
//! client. It is not a model: its vectors are made from a hash of the
//! text. It answers a bounded number of requests, and can fail on purpose
//! (503s, dying, a wrong dimension, slowness).

use crate::common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the stand-in behaves (the test may change it while it runs).
#[derive(Clone, Default)]
struct Behaviour {
    /// The first N requests get 503.
    fail_first: usize,
    /// After N answered requests it is dead: connections are dropped
    /// unanswered until this is cleared.
    die_after: Option<usize>,
    /// The dimension of its vectors.
    dim: usize,
    /// Vectors with a NaN (null in JSON).
    nan: bool,
    /// Pause before each answer.
    delay: Duration,
}

struct StandIn {
    url: String,
    behaviour: Arc<Mutex<Behaviour>>,
    /// Texts per answered request.
    batches: Arc<Mutex<Vec<usize>>>,
    requests: Arc<AtomicUsize>,
}

impl StandIn {
    fn start(behaviour: Behaviour) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let behaviour = Arc::new(Mutex::new(behaviour));
        let batches = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let (w, b, r) = (
            Arc::clone(&behaviour),
            Arc::clone(&batches),
            Arc::clone(&requests),
        );
        std::thread::spawn(move || {
            // Bounded: a test never needs more than this many connections.
            for stream in listener.incoming().take(2000) {
                let Ok(stream) = stream else { continue };
                let (w, b, r) = (Arc::clone(&w), Arc::clone(&b), Arc::clone(&r));
                std::thread::spawn(move || serve(stream, &w, &b, &r));
            }
        });
        StandIn {
            url,
            behaviour,
            batches,
            requests,
        }
    }

    fn change(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }

    fn texts(&self) -> usize {
        self.batches.lock().unwrap().iter().sum()
    }
}

/// Answer the requests of one connection (keep-alive).
fn serve(
    stream: TcpStream,
    behaviour: &Mutex<Behaviour>,
    batches: &Mutex<Vec<usize>>,
    requests: &AtomicUsize,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split(' ').nth(1).unwrap_or("").to_string();
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            if header.trim().is_empty() {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let behaviour = behaviour.lock().unwrap().clone();
        std::thread::sleep(behaviour.delay);
        let n = requests.fetch_add(1, Ordering::SeqCst);
        let (status, reply) = if n < behaviour.fail_first {
            (
                "503 Service Unavailable",
                json!({"error": "loading the model"}),
            )
        } else {
            let request: Value = serde_json::from_slice(&body).unwrap();
            let texts: Vec<&str> = request["input"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            let mut vectors: Vec<Vec<f32>> = texts
                .iter()
                .map(|t| fake_vector(t, behaviour.dim))
                .collect();
            if behaviour.nan {
                vectors[0][1] = f32::NAN;
            }
            {
                // Checked and counted under one lock: requests in flight
                // at once cannot all slip in before the death.
                let mut answered = batches.lock().unwrap();
                if behaviour.die_after.is_some_and(|d| answered.len() >= d) {
                    return; // Connection dropped mid-request.
                }
                answered.push(texts.len());
            }
            match path.as_str() {
                "/api/embed" => (
                    "200 OK",
                    json!({"model": request["model"], "embeddings": vectors}),
                ),
                "/v1/embeddings" => {
                    // Out of order on purpose: `index` says where each goes.
                    let data: Vec<Value> = vectors
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v}))
                        .collect();
                    (
                        "200 OK",
                        json!({"object": "list", "data": data, "model": request["model"]}),
                    )
                }
                _ => ("404 Not Found", json!({"error": "no such path"})),
            }
        };
        let text = reply.to_string();
        let _ = write!(
            writer,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
    }
}

/// The address of a well-behaved stand-in with vectors of `dim` values,
/// which answers until the tests end.
pub fn stand_in_url(dim: usize) -> String {
    StandIn::start(Behaviour {
        dim,
        ..Default::default()
    })
    .url
}

/// A deterministic vector from a text's hash (a stand-in has no model).
fn fake_vector(text: &str, dim: usize) -> Vec<f32> {
    let hash = blake3::hash(text.as_bytes());
    (0..dim)
        .map(|i| hash.as_bytes()[i % 32] as f32 / 255.0 - 0.5 + i as f32 * 0.001)
        .collect()
}

fn collection_for(dir: &Path, server: &str, url: &str, batch: usize) {
    collection(dir, 50, 8, 3, "");
    std::fs::write(
        dir.join("verso.toml"),
        format!("[pages]\npoems_per_page = 10\n\n[model]\nserver = \"{server}\"\nurl = \"{url}\"\nname = \"stand-in\"\nbatch = {batch}\n"),
    )
    .unwrap();
}

/// Texts the build asks for: the 50 poems, the cloud's words, the colours.
fn texts_of(dir: &Path) -> usize {
    let s = build_summary(dir, &["--force"]);
    s["embedded"].as_u64().unwrap() as usize
}

#[test]
fn both_apis_send_batches_and_a_rebuild_sends_nothing() {
    for server in ["ollama", "openai"] {
        let stand_in = StandIn::start(Behaviour {
            dim: 16,
            ..Default::default()
        });
        let d = temp();
        collection_for(d.path(), server, &stand_in.url, 8);
        let s = build_summary(d.path(), &[]);
        let sent = stand_in.texts();
        assert_eq!(s["embedded"].as_u64().unwrap() as usize, sent, "{server}");
        assert!(
            sent > 50,
            "the poems, the cloud's words and the colours: {sent}"
        );
        let batches = stand_in.batches.lock().unwrap().clone();
        assert!(batches.iter().all(|&b| b <= 8), "{server}: {batches:?}");
        assert_eq!(
            batches.iter().filter(|&&b| b < 8).count(),
            3,
            "{server}: one short batch per kind of text: {batches:?}"
        );
        let again = build_summary(d.path(), &[]);
        assert_eq!(again["embedded"], 0);
        assert_eq!(stand_in.texts(), sent, "{server}: nothing sent again");
        // The cache serves a clean build of the same texts: same site.
        assert_matches_clean_build(d.path());
    }
}

#[test]
fn failures_that_pass_are_retried() {
    let stand_in = StandIn::start(Behaviour {
        dim: 16,
        fail_first: 2,
        ..Default::default()
    });
    let d = temp();
    collection_for(d.path(), "ollama", &stand_in.url, 16);
    let s = build_summary(d.path(), &[]);
    assert_eq!(s["embedded"].as_u64().unwrap() as usize, stand_in.texts());
    assert_eq!(
        stand_in.requests.load(Ordering::SeqCst),
        stand_in.batches.lock().unwrap().len() + 2,
        "two 503s, each retried"
    );
}

#[test]
fn a_server_that_dies_mid_run_keeps_what_was_embedded() {
    let stand_in = StandIn::start(Behaviour {
        dim: 16,
        die_after: Some(3),
        ..Default::default()
    });
    let d = temp();
    collection_for(d.path(), "openai", &stand_in.url, 8);
    let needed = texts_needed(d.path());
    let r = build_expect(d.path(), &[], 1);
    let message = r.stderr.clone();
    assert!(message.contains(&stand_in.url), "names the url: {message}");
    assert!(
        message.contains("while embedding poem "),
        "names the poem: {message}"
    );
    assert!(message.contains("hint: start the server"), "{message}");
    assert!(!d.path().join("site").exists(), "no page written");
    assert_eq!(stand_in.texts(), 24, "three batches of 8 answered");
    // The server is back: only the rest is sent, each text once.
    stand_in.change(|b| b.die_after = None);
    let s = build_summary(d.path(), &[]);
    assert_eq!(s["embedded"].as_u64().unwrap() as usize, needed - 24);
    assert_eq!(stand_in.texts(), needed);
    assert_matches_clean_build(d.path());
}

/// How many texts a collection needs, counted by a throwaway stand-in.
fn texts_needed(dir: &Path) -> usize {
    let counter = StandIn::start(Behaviour {
        dim: 16,
        ..Default::default()
    });
    let holder = temp();
    let copy = holder.path().join("c");
    copy_dir(dir, &copy);
    std::fs::remove_dir_all(copy.join(".verso-cache")).ok();
    let toml = std::fs::read_to_string(copy.join("verso.toml")).unwrap();
    let old = toml
        .lines()
        .find(|l| l.starts_with("url = "))
        .unwrap()
        .to_string();
    std::fs::write(
        copy.join("verso.toml"),
        toml.replace(&old, &format!("url = \"{}\"", counter.url)),
    )
    .unwrap();
    texts_of(&copy)
}

#[test]
fn a_wrong_dimension_or_a_nan_is_a_clear_error() {
    let stand_in = StandIn::start(Behaviour {
        dim: 16,
        ..Default::default()
    });
    let d = temp();
    collection_for(d.path(), "ollama", &stand_in.url, 8);
    build(d.path());
    let site = tree(&d.path().join("site"));
    // The server's model changed: vectors of another dimension.
    stand_in.change(|b| b.dim = 12);
    edit_poems(d.path(), |p| p[0]["content"] = json!("a new text"));
    let r = build_expect(d.path(), &[], 1);
    assert!(
        r.stderr
            .contains("returned 12-dimension vectors; its vectors had 16 dimensions before"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("while embedding poem"), "{}", r.stderr);
    assert!(
        r.stderr.contains("hint:") && r.stderr.contains("model.revision"),
        "{}",
        r.stderr
    );
    assert_eq!(
        tree(&d.path().join("site")),
        site,
        "the site is left as it was"
    );
    // A new revision: everything is embedded again, at the new dimension.
    let toml = std::fs::read_to_string(d.path().join("verso.toml")).unwrap();
    std::fs::write(
        d.path().join("verso.toml"),
        format!("{toml}revision = \"2\"\n"),
    )
    .unwrap();
    let s = build_summary(d.path(), &[]);
    assert!(s["embedded"].as_u64().unwrap() > 50);
    assert_matches_clean_build(d.path());
    // A NaN in a reply.
    stand_in.change(|b| b.nan = true);
    edit_poems(d.path(), |p| p[1]["content"] = json!("another new text"));
    let r = build_expect(d.path(), &[], 1);
    assert!(r.stderr.contains("not a number"), "{}", r.stderr);
}

#[test]
fn an_interrupted_embed_resumes_without_embedding_twice() {
    let stand_in = StandIn::start(Behaviour {
        dim: 16,
        delay: Duration::from_millis(400),
        ..Default::default()
    });
    let d = temp();
    collection_for(d.path(), "ollama", &stand_in.url, 2);
    let mut child = verso()
        .args(["embed", p(d.path()), "--progress", "plain"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    signal(&child, "INT");
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let first = stand_in.texts();
    assert!(first > 0 && first < 50, "{first}");
    let r = run(&["embed", p(d.path()), "--progress", "none"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(stand_in.texts(), 50, "each poem's text sent once");
}
