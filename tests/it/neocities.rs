//! A STAND-IN for Neocities' API, written here after Neocities' own source
//! (`app/api.rb`, `models/site.rb`): a loopback-only HTTP server that keeps
//! the site's files in a folder and implements `GET /api/info`,
//! `GET /api/list` (with `sha1_hash`), `POST /api/upload` (multipart, many
//! files a request, all refused when one is), `POST /api/delete`
//! (`filenames[]`, cancelled when one path is missing) and
//! `GET /api/download`, with the free plan's file types and file count. It
//! is not Neocities: it can also answer 429 with `Retry-After`, refuse a
//! file by name, or die (drop every connection unanswered).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const KEY: &str = "stand-in-api-key";

/// How the stand-in behaves; the test may change it while verso runs.
#[derive(Clone, Default)]
pub struct Behaviour {
    pub supporter: bool,
    /// Files the listing shows besides those in the folder (the user's own,
    /// for the file-count limit).
    pub extra_files: usize,
    /// A file of the user's own of this size that the listing shows (and
    /// the folder does not hold), for the storage limit.
    pub extra_bytes: u64,
    /// The next N upload requests get 429 with `Retry-After: 1`.
    pub rate_limit: usize,
    /// Uploads naming a path that contains this are refused as too large.
    pub refuse: Option<String>,
    /// After this many answered upload requests, it is dead.
    pub die_after_uploads: Option<usize>,
    /// Pause before answering each upload.
    pub delay: Duration,
}

/// One request the stand-in answered (or refused).
#[derive(Clone, Debug)]
pub struct Logged {
    pub call: String,
    pub status: u16,
    pub paths: Vec<String>,
    pub bytes: u64,
}

pub struct StandIn {
    pub url: String,
    pub dir: PathBuf,
    behaviour: Arc<Mutex<Behaviour>>,
    log: Arc<Mutex<Vec<Logged>>>,
}

impl StandIn {
    /// Serve the site kept in `dir`.
    pub fn start(dir: &Path, behaviour: Behaviour) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("neocities+http://{}", listener.local_addr().unwrap());
        let behaviour = Arc::new(Mutex::new(behaviour));
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = State {
            dir: dir.to_path_buf(),
            behaviour: Arc::clone(&behaviour),
            log: Arc::clone(&log),
            files: Arc::new(Mutex::new(())),
        };
        std::thread::spawn(move || {
            // Bounded: no test needs more connections than this.
            for stream in listener.incoming().take(5000) {
                let Ok(stream) = stream else { continue };
                let state = state.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        StandIn {
            url,
            dir: dir.to_path_buf(),
            behaviour,
            log,
        }
    }

    pub fn change(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }

    /// The requests so far, and forget them.
    pub fn take_log(&self) -> Vec<Logged> {
        std::mem::take(&mut self.log.lock().unwrap())
    }

    pub fn log(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }
}

#[derive(Clone)]
struct State {
    dir: PathBuf,
    behaviour: Arc<Mutex<Behaviour>>,
    log: Arc<Mutex<Vec<Logged>>>,
    /// One request changes the files at a time, as one site's would.
    files: Arc<Mutex<()>>,
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let target = words.next()?.to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        if header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body,
    })
}

fn serve(stream: TcpStream, state: &State) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        let Some((status, headers, body)) = answer(&request, state) else {
            return; // Dead: the connection is dropped unanswered.
        };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            429 => "Too Many Requests",
            _ => "Error",
        };
        let mut head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
    }
}

type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

fn json_answer(status: u16, value: Value) -> Option<Answer> {
    Some((
        status,
        vec![("Content-Type", "application/json".into())],
        value.to_string().into_bytes(),
    ))
}

fn error(status: u16, kind: &str, message: &str) -> Option<Answer> {
    json_answer(
        status,
        json!({"result": "error", "error_type": kind, "message": message}),
    )
}

/// The free plan's extensions (`Site::VALID_EXTENSIONS`), those a verso
/// site can have.
fn free_type(path: &str) -> bool {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    [
        "html", "css", "js", "svg", "png", "jpg", "txt", "json", "xml",
    ]
    .contains(&ext)
}

fn answer(request: &Request, state: &State) -> Option<Answer> {
    let behaviour = state.behaviour.lock().unwrap().clone();
    if request.header("authorization") != format!("Bearer {KEY}") {
        return error(
            403,
            "invalid_auth",
            "invalid credentials - please check your username and password (or your api key)",
        );
    }
    let call = request.path.trim_start_matches("/api/").to_string();
    let log = |status: u16, paths: Vec<String>, bytes: u64| {
        state.log.lock().unwrap().push(Logged {
            call: call.clone(),
            status,
            paths,
            bytes,
        })
    };
    let _one_at_a_time = state.files.lock().unwrap();
    match (request.method.as_str(), call.as_str()) {
        ("GET", "info") => json_answer(
            200,
            json!({"result": "success", "info": {"sitename": "stand-in", "supporter": behaviour.supporter, "tags": []}}),
        ),
        ("GET", "list") => {
            let mut files = Vec::new();
            list(&state.dir, &state.dir, &mut files);
            for i in 0..behaviour.extra_files {
                files.push(json!({"path": format!("mine/{i}.txt"), "is_directory": false, "size": 1, "sha1_hash": "00"}));
            }
            if behaviour.extra_bytes > 0 {
                files.push(json!({"path": "mine/archive.zip", "is_directory": false, "size": behaviour.extra_bytes, "sha1_hash": "00"}));
            }
            log(200, Vec::new(), 0);
            json_answer(200, json!({"result": "success", "files": files}))
        }
        ("POST", "upload") => {
            let uploads = multipart(request);
            let paths: Vec<String> = uploads.iter().map(|(p, _)| p.clone()).collect();
            let bytes = uploads.iter().map(|(_, b)| b.len() as u64).sum();
            let answered = state
                .log
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.call == "upload")
                .count();
            if behaviour.die_after_uploads.is_some_and(|n| answered >= n) {
                return None;
            }
            std::thread::sleep(behaviour.delay);
            if behaviour.rate_limit > 0 {
                state.behaviour.lock().unwrap().rate_limit -= 1;
                log(429, paths, 0);
                let mut a = error(
                    429,
                    "rate_limited",
                    "too many requests - please try again later",
                )?;
                a.1.push(("Retry-After", "1".into()));
                return Some(a);
            }
            if let Some(p) = paths.iter().find(|p| {
                behaviour
                    .refuse
                    .as_ref()
                    .is_some_and(|r| p.contains(r.as_str()))
            }) {
                log(400, paths.clone(), 0);
                return error(400, "file_too_large", &format!("{p} is too large"));
            }
            if !behaviour.supporter {
                if let Some(p) = paths.iter().find(|p| !free_type(p)) {
                    log(400, paths.clone(), 0);
                    return error(
                        400,
                        "invalid_file_type",
                        &format!(
                            "{p} is not an allowed file type for free sites, supporter required"
                        ),
                    );
                }
            }
            let held = count(&state.dir);
            let limit = if behaviour.supporter { 100_000 } else { 15_000 };
            if held + behaviour.extra_files + uploads.len() > limit {
                log(400, paths, 0);
                return error(
                    400,
                    "too_many_files",
                    &format!("cannot exceed the maximum site files limit ({limit})"),
                );
            }
            for (path, content) in &uploads {
                let file = state.dir.join(path);
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(file, content).unwrap();
            }
            log(200, paths, bytes);
            json_answer(
                200,
                json!({"result": "success", "message": "your file(s) have been successfully uploaded"}),
            )
        }
        ("POST", "delete") => {
            let paths: Vec<String> = form_values(&request.body, "filenames[]");
            for p in &paths {
                if p == "index.html" {
                    return error(
                        400,
                        "cannot_delete_index",
                        "you cannot delete your index.html file, canceled deleting",
                    );
                }
                if !state.dir.join(p).is_file() {
                    log(400, paths.clone(), 0);
                    return error(
                        400,
                        "missing_files",
                        &format!("{p} was not found on your site, canceled deleting"),
                    );
                }
            }
            for p in &paths {
                std::fs::remove_file(state.dir.join(p)).unwrap();
            }
            log(200, paths, 0);
            json_answer(
                200,
                json!({"result": "success", "message": "file(s) have been deleted"}),
            )
        }
        ("GET", "download") => {
            let path = form_values(request.query.as_bytes(), "path")
                .pop()
                .unwrap_or_default();
            match std::fs::read(state.dir.join(&path)) {
                Ok(bytes) => {
                    log(200, vec![path], bytes.len() as u64);
                    Some((200, Vec::new(), bytes))
                }
                Err(_) => error(400, "missing_file", &format!("could not find {path}")),
            }
        }
        _ => error(404, "not_found", "the requested api call does not exist"),
    }
}

/// The listing's entries: folders, and files with size and SHA-1.
fn list(root: &Path, dir: &Path, out: &mut Vec<Value>) {
    use sha1::Digest;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if path.is_dir() {
            out.push(json!({"path": rel, "is_directory": true}));
            list(root, &path, out);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let sha1 = hex::encode(sha1::Sha1::digest(&bytes));
            out.push(
                json!({"path": rel, "is_directory": false, "size": bytes.len(), "sha1_hash": sha1}),
            );
        }
    }
}

/// Files and folders under `dir` (what the file limit counts).
fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.path().is_dir() {
                true => 1 + count(&e.path()),
                false => 1,
            })
            .sum()
    })
}

/// The files of a multipart/form-data body: (field name, bytes).
fn multipart(request: &Request) -> Vec<(String, Vec<u8>)> {
    let content_type = request.header("content-type");
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .expect("a multipart boundary")
        .trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let body = &request.body;
    let mut starts = Vec::new();
    let mut i = 0;
    while i + delimiter.len() <= body.len() {
        if body[i..].starts_with(&delimiter) {
            starts.push(i);
            i += delimiter.len();
        } else {
            i += 1;
        }
    }
    let mut parts = Vec::new();
    for pair in starts.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let split = part
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("part headers");
        let headers = String::from_utf8_lossy(&part[..split]);
        // As Rack reads it: `; name="..."`; a `name*=` form is not a name,
        // and the file lands under its filename.
        let quoted = |key: &str| {
            headers
                .split(key)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_string)
        };
        let name = quoted("; name=\"")
            .or_else(|| quoted("; filename=\""))
            .expect("a form field name");
        parts.push((name, part[split + 4..].to_vec()));
    }
    parts
}

/// The values of `key` in a urlencoded form.
fn form_values(body: &[u8], key: &str) -> Vec<String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| decode(k) == key)
        .map(|(_, v)| decode(v))
        .collect()
}
