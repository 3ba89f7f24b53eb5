//! `verso serve` without a browser: over raw HTTP, the files it sends (and
//! refuses), their types and the injected script; the event stream that
//! reloads exactly the changed pages and shows and clears build errors;
//! a taken port; a burst of saves; Ctrl-C during a rebuild. The browser
//! half is `scripts/serve-in-chromium.mjs`, run by `.ci/run`.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `verso serve` and everything it has printed so far.
struct Server {
    child: Child,
    port: u16,
    output: Arc<Mutex<String>>,
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut child = verso()
            .args(["serve", p(dir), "--port", "0", "--progress", "none"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut o = output.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        let mut server = Server {
            child,
            port: 0,
            output,
        };
        server.wait_for("serving ", 1);
        let text = server.output();
        let url = text.split("at http://127.0.0.1:").nth(1).unwrap();
        server.port = url.split('/').next().unwrap().parse().unwrap();
        server
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Wait until the output holds `text` `times` times (panics after 30 s).
    fn wait_for(&self, text: &str, times: usize) {
        let start = Instant::now();
        while self.output().matches(text).count() < times {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no {times}× {text:?} in:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn get(&self, path: &str) -> Response {
        get(self.port, path)
    }

    /// Ctrl-C, then the exit code (panics after 20 s).
    fn stop(mut self) -> i32 {
        signal(&self.child, "INT");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "serve did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// One request with the path exactly as given (no client normalises it).
fn get(port: u16, path: &str) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Response {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

/// The event names (and data) an open page receives.
fn listen(port: u16, page: &str) -> Receiver<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /__verso/events?page={page} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .unwrap();
    let (send, receive) = channel();
    std::thread::spawn(move || {
        let mut event = String::new();
        let mut data = String::new();
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_string();
            } else if let Some(d) = line.strip_prefix("data: ") {
                data.push_str(d);
                data.push('\n');
            } else if line.is_empty() && !event.is_empty() {
                let _ = send.send((std::mem::take(&mut event), std::mem::take(&mut data)));
            }
        }
    });
    // The stream is open once its headers arrived; give it a moment.
    std::thread::sleep(Duration::from_millis(200));
    receive
}

fn next_event(events: &Receiver<(String, String)>) -> (String, String) {
    let (event, data) = events
        .recv_timeout(Duration::from_secs(20))
        .expect("an event within 20 s");
    assert!(
        !data.is_empty(),
        "browsers drop an event without data: {event}"
    );
    (event, data)
}

/// A chronological page that shows poem `index`, and one that does not.
fn pages_with_and_without(site: &Path, index: u32) -> (String, String) {
    let anchor = format!("id=\"poem-{index:04}\"");
    let mut with = None;
    let mut without = None;
    for (path, bytes) in tree(&site.join("chronological")) {
        let page = format!("/chronological/{path}");
        match String::from_utf8(bytes).unwrap().contains(&anchor) {
            true => with = Some(page),
            false => without = Some(page),
        }
    }
    (with.unwrap(), without.unwrap())
}

#[test]
fn serves_the_site_with_the_script_in_responses_only() {
    let d = temp();
    collection_with_everything(d.path(), 40, 3);
    let server = Server::start(d.path(), &[]);
    let site = d.path().join("site");
    let index = server.get("/");
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let on_disk = std::fs::read(site.join("index.html")).unwrap();
    let body = String::from_utf8(index.body.clone()).unwrap();
    assert!(
        body.contains("/__verso/events"),
        "the reload script is injected"
    );
    assert!(!String::from_utf8_lossy(&on_disk).contains("/__verso/events"));
    assert_eq!(
        body.replacen(
            &body[body.find("<script>").unwrap()..body.rfind("</script>\n").unwrap() + 10],
            "",
            1
        ),
        String::from_utf8(on_disk).unwrap(),
        "the response is the file plus the script"
    );
    let svg = server.get("/media/pic.svg");
    assert_eq!(svg.status, 200);
    assert_eq!(svg.header("content-type").as_deref(), Some("image/svg+xml"));
    assert_eq!(svg.body, std::fs::read(site.join("media/pic.svg")).unwrap());
    for (name, ty) in [
        ("x.png", "image/png"),
        ("x.jpg", "image/jpeg"),
        ("x.gif", "image/gif"),
        ("x.webp", "image/webp"),
        ("x.css", "text/css; charset=utf-8"),
    ] {
        std::fs::write(site.join("media").join(name), b"bytes").unwrap();
        let r = server.get(&format!("/media/{name}"));
        assert_eq!(
            (r.status, r.header("content-type").as_deref()),
            (200, Some(ty))
        );
        assert_eq!(r.body, b"bytes");
    }
    // The site on disk is what `verso build` writes.
    drop(server);
    for name in ["x.png", "x.jpg", "x.gif", "x.webp", "x.css"] {
        std::fs::remove_file(site.join("media").join(name)).unwrap();
    }
    assert_matches_clean_build(d.path());
}

#[test]
fn nothing_outside_the_output_folder_is_served() {
    let d = temp();
    collection_with_everything(d.path(), 20, 4);
    let server = Server::start(d.path(), &[]);
    let site = d.path().join("site");
    std::fs::write(d.path().join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(d.path().join("secret.txt"), site.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(d.path(), site.join("up")).unwrap();
    for path in [
        "/../secret.txt",
        "/media/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%252e%252e/secret.txt",
        "/leak.txt",
        "/up/secret.txt",
        "/up/verso.toml",
        "//etc/passwd",
        "/etc/passwd",
        &format!("/{}", d.path().join("secret.txt").display()),
        "/media/",
        "/media",
    ] {
        let r = server.get(path);
        assert_eq!(
            r.status,
            404,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            !String::from_utf8_lossy(&r.body).contains("secret"),
            "{path}"
        );
    }
    assert_eq!(server.get("/similar/").status, 404, "no listing");
}

#[test]
fn a_taken_port_is_named_with_the_flag_to_change_it() {
    let d = temp();
    small_collection(d.path(), 10, 1);
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let r = run(&["serve", p(d.path()), "--port", &port, "--progress", "none"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--port"), "{}", r.stderr);
    assert!(!d.path().join("site").exists(), "nothing built");
}

#[test]
fn an_edit_reloads_the_pages_it_changed_and_only_those() {
    let d = temp();
    small_collection(d.path(), 40, 6);
    let server = Server::start(d.path(), &[]);
    let (with, without) = pages_with_and_without(&d.path().join("site"), 7);
    let changed = listen(server.port, &with);
    let unchanged = listen(server.port, &without);
    edit_poems(d.path(), |p| {
        let poem = p.iter_mut().find(|p| p["poem_index"] == 7).unwrap();
        poem["content"] = format!("{} glimmerquill", poem["content"].as_str().unwrap()).into();
    });
    assert_eq!(next_event(&changed).0, "reload");
    server.wait_for("built:", 2);
    let page = server.get(&with);
    assert!(String::from_utf8_lossy(&page.body).contains("glimmerquill"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(unchanged.try_recv().is_err(), "{without} did not change");

    // A trailing comma: both pages show the error; the last good site stays.
    let poems = d.path().join("poems.json");
    let good = std::fs::read_to_string(&poems).unwrap();
    let last_poem_end = good[..good.rfind(']').unwrap()].rfind('}').unwrap() + 1;
    let bad = format!("{},{}", &good[..last_poem_end], &good[last_poem_end..]);
    std::fs::write(&poems, &bad).unwrap();
    for events in [&changed, &unchanged] {
        let (event, data) = next_event(events);
        assert_eq!(event, "failed");
        assert!(data.contains("poems.json"), "{data}");
    }
    assert!(
        server.output().contains("error: "),
        "shown in the terminal too"
    );
    let page = server.get(&with);
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("glimmerquill"));
    // A page opened while the input is bad shows the error at once.
    let late = listen(server.port, &without);
    assert_eq!(next_event(&late).0, "failed");

    // Fixed: every page showing the error reloads.
    std::fs::write(&poems, &good).unwrap();
    for events in [&changed, &unchanged, &late] {
        assert_eq!(next_event(events).0, "reload");
    }
    assert_eq!(server.stop(), 130);
    assert_matches_clean_build(d.path());
}

#[test]
fn a_burst_of_saves_makes_one_or_two_builds_of_the_last_one() {
    let d = temp();
    small_collection(d.path(), 30, 8);
    let server = Server::start(d.path(), &[]);
    for i in 0..50 {
        edit_poems(d.path(), |p| {
            p[3]["content"] = format!("save number {i}\nof a burst").into()
        });
        std::thread::sleep(Duration::from_millis(10));
    }
    server.wait_for("built:", 2);
    std::thread::sleep(Duration::from_secs(2));
    let builds = server.output().matches("rebuilding").count();
    assert!(
        (1..=2).contains(&builds),
        "{builds} builds:\n{}",
        server.output()
    );
    let page = std::fs::read_to_string(d.path().join("site/index.html")).unwrap();
    assert!(!page.is_empty());
    assert_eq!(server.stop(), 130);
    assert_matches_clean_build(d.path());
    assert!(std::fs::read_to_string(d.path().join("poems.json"))
        .unwrap()
        .contains("save number 49"));
}

#[test]
fn ctrl_c_during_a_rebuild_stops_cleanly_and_frees_the_port() {
    let d = temp();
    collection(
        d.path(),
        1500,
        16,
        9,
        "[pages]\npoems_per_page = 60\n\n[build]\ncheckpoint_interval = 10\n",
    );
    let server = Server::start(d.path(), &["--threads", "1"]);
    let port = server.port;
    // A template edit makes every page stale: a rebuild of some seconds.
    use_template(d.path(), "entry", "<p>{{title}}</p>");
    server.wait_for("rebuilding", 1);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!server.output().contains("built: ") || server.output().matches("built:").count() == 1);
    let output = Arc::clone(&server.output);
    assert_eq!(server.stop(), 130);
    let text = output.lock().unwrap().clone();
    assert_eq!(
        text.matches("built:").count(),
        1,
        "the rebuild was stopped:\n{text}"
    );
    TcpListener::bind(("127.0.0.1", port)).expect("the port is free again");
    // The store is consistent: the next build finishes the rest correctly.
    build(d.path());
    assert_matches_clean_build(d.path());
}
