//! `verso deploy` against every kind of target: a folder, REAL servers
//! started on loopback (rclone's `serve s3` and `serve webdav`), and the
//! Neocities STAND-IN of `neocities.rs`. Each scenario ends with the host
//! equal to the site, file for file (besides the files that were never
//! verso's, and protected ones).

use crate::common::*;
use crate::neocities::{Behaviour, StandIn, KEY};
use crate::remote::Rclone;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

/// Where a test deploys, and the folder that holds what the host serves.
struct Host {
    to: String,
    files: PathBuf,
    env: Vec<(&'static str, String)>,
}

fn deploy(d: &Path, host: &Host, extra: &[&str]) -> Run {
    let mut command = verso();
    command
        .args(["deploy", p(d), "--progress", "none", "--to", &host.to])
        .args(extra);
    for (name, value) in &host.env {
        command.env(name, value);
    }
    let r = finish(command.output().expect("verso runs"));
    let cache = tree(&d.join(".verso-cache"));
    for (_, value) in host.env.iter().filter(|(_, v)| v.len() >= 6) {
        assert!(
            !r.all().contains(value.as_str()),
            "a credential was printed:\n{}",
            r.all()
        );
        let secret = value.as_bytes();
        for (file, bytes) in &cache {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "a credential is in the cache's {file}"
            );
        }
    }
    r
}

fn deploy_ok(d: &Path, host: &Host, extra: &[&str]) -> Run {
    let r = deploy(d, host, extra);
    assert_eq!(r.code, 0, "deploy {extra:?}:\n{}", r.all());
    r
}

/// The number in "sent N file(s)".
fn sent(r: &Run) -> usize {
    let text = r.stdout.split("sent ").nth(1).expect("a deploy summary");
    text.split(' ')
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap()
}

/// The host holds the site, and besides it exactly `besides`.
fn assert_host_is_site(host: &Path, site: &Path, besides: &[&str]) {
    let mut held = tree(host);
    for path in besides {
        assert!(held.remove(*path).is_some(), "{path} is not on the host");
    }
    let site = tree(site);
    let wrong = differing(&held, &site);
    assert!(
        wrong.is_empty(),
        "host and site differ at {:?}",
        &wrong[..wrong.len().min(5)]
    );
}

/// Paths whose modification time changed between two snapshots, or that
/// appeared.
fn rewritten(
    before: &BTreeMap<String, SystemTime>,
    after: &BTreeMap<String, SystemTime>,
) -> Vec<String> {
    after
        .iter()
        .filter(|(path, time)| before.get(*path) != Some(time))
        .map(|(path, _)| path.clone())
        .collect()
}

fn a_collection(d: &Path) {
    small_collection(d, 24, 5);
}

/// Every target's story: a first deploy beside files that were never
/// verso's, a deploy with nothing changed, a typo that sends exactly the
/// files whose bytes changed, `--dry-run`, deletions held back by
/// `max_deletes`, a protected path, and `--verify` after edits on the host.
fn every_target(host: &Host) {
    let dir = temp();
    let d = dir.path();
    a_collection(d);
    std::fs::create_dir_all(host.files.join("keep")).unwrap();
    std::fs::write(host.files.join("guestbook.html"), "the poet's own").unwrap();
    std::fs::write(host.files.join("keep/notes.txt"), "kept").unwrap();
    let strangers = ["guestbook.html", "keep/notes.txt"];

    let first = deploy_ok(d, host, &[]);
    assert_host_is_site(&host.files, &d.join("site"), &strangers);
    assert_eq!(
        sent(&first),
        tree(&d.join("site")).len(),
        "{}",
        first.stdout
    );

    // Nothing changed: nothing sent, nothing written.
    let before = mtimes(&host.files);
    let again = deploy_ok(d, host, &[]);
    assert_eq!(sent(&again), 0, "{}", again.stdout);
    assert_eq!(mtimes(&host.files), before);

    // A typo: exactly the files whose bytes changed travel.
    let site_before = tree(&d.join("site"));
    edit_poems(d, |p| {
        let text = p[3]["content"].as_str().unwrap().replacen(' ', "  ", 1);
        p[3]["content"] = text.into();
    });
    std::thread::sleep(Duration::from_millis(20));
    let r = deploy_ok(d, host, &[]);
    let changed = differing(&site_before, &tree(&d.join("site")));
    assert!(!changed.is_empty());
    assert_eq!(sent(&r), changed.len(), "{}", r.stdout);
    assert_eq!(rewritten(&before, &mtimes(&host.files)), changed);
    assert_host_is_site(&host.files, &d.join("site"), &strangers);

    // An edit not built yet: --dry-run says the site is stale, builds
    // nothing and sends nothing.
    let (site_then, host_then) = (tree(&d.join("site")), mtimes(&host.files));
    edit_poems(d, |p| p[5]["content"] = "not built yet".into());
    let stale = deploy_ok(d, host, &["--dry-run"]);
    assert!(
        stale.stdout.contains("the site is stale"),
        "{}",
        stale.stdout
    );
    assert!(
        stale.stdout.contains("would send 0 file(s)"),
        "{}",
        stale.stdout
    );
    assert_eq!(tree(&d.join("site")), site_then);
    assert_eq!(mtimes(&host.files), host_then);

    // A poem removed and built, then --dry-run: the plan names exactly the
    // files to send and to delete, and nothing changes anywhere.
    edit_poems(d, |p| {
        p.pop();
    });
    build(d);
    let (site_now, host_before, times) = (
        tree(&d.join("site")),
        tree(&host.files),
        mtimes(&host.files),
    );
    let plan = deploy_ok(d, host, &["--dry-run"]);
    let mut planned: Vec<String> = plan
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  + ").or(l.strip_prefix("  - ")))
        .map(|l| l.split("  ").next().unwrap().to_string())
        .collect();
    planned.sort();
    let mut expected: Vec<String> = differing(&host_before, &site_now)
        .into_iter()
        .filter(|p| !strangers.contains(&p.as_str()))
        .collect();
    expected.sort();
    assert_eq!(planned, expected, "{}", plan.stdout);
    let removed: Vec<String> = host_before
        .keys()
        .filter(|p| !site_now.contains_key(*p) && !strangers.contains(&p.as_str()))
        .cloned()
        .collect();
    assert!(removed.len() >= 2, "{removed:?}");
    assert_eq!(tree(&host.files), host_before);
    assert_eq!(mtimes(&host.files), times);
    assert_eq!(tree(&d.join("site")), site_now);

    // More deletions than allowed: the uploads go, no file is deleted.
    let held_back = deploy(d, host, &["--max-deletes", "1"]);
    assert_eq!(held_back.code, 1, "{}", held_back.all());
    assert!(
        held_back.stdout.contains("nothing was deleted"),
        "{}",
        held_back.stdout
    );
    for path in &removed {
        assert!(host.files.join(path).is_file(), "{path} was deleted");
    }

    // One of them protected: the rest are deleted, it stays.
    let protected = removed[0].clone();
    set_key(
        d,
        "deploy.protect",
        toml::Value::Array(vec!["keep/*".into(), protected.clone().into()]),
    );
    deploy_ok(d, host, &[]);
    let mut besides = strangers.to_vec();
    besides.push(&protected);
    assert_host_is_site(&host.files, &d.join("site"), &besides);

    // Edited and deleted on the host by hand: the records do not know, so
    // a plain deploy sends nothing; --verify finds and mends both.
    let site = tree(&d.join("site"));
    let mut paths = site.keys().filter(|p| p.ends_with(".html"));
    let (edited, same_size, gone) = (
        paths.next().unwrap(),
        paths.next().unwrap(),
        paths.next().unwrap(),
    );
    std::fs::write(host.files.join(edited), "edited by hand").unwrap();
    let mut flipped = site[same_size].clone();
    flipped[0] ^= 0x20;
    std::fs::write(host.files.join(same_size), flipped).unwrap();
    std::fs::remove_file(host.files.join(gone)).unwrap();
    assert_eq!(sent(&deploy_ok(d, host, &[])), 0);
    let verified = deploy_ok(d, host, &["--verify"]);
    assert_eq!(sent(&verified), 3, "{}", verified.stdout);
    assert_host_is_site(&host.files, &d.join("site"), &besides);
}

#[test]
fn a_folder() {
    let place = temp();
    let files = place.path().join("www");
    every_target(&Host {
        to: p(&files).to_string(),
        files,
        env: Vec::new(),
    });
}

/// rclone's `serve s3` over a folder, with SigV4 keys that verso takes
/// from the environment, as it would AWS's.
#[test]
fn an_s3_bucket() {
    let store = temp();
    std::fs::create_dir(store.path().join("bucket")).unwrap();
    let server = Rclone::start(
        "s3",
        store.path(),
        &["--auth-key", "AKDEPLOYTEST,SKDEPLOYSECRET"],
    );
    every_target(&Host {
        to: format!(
            "s3://bucket/poems?endpoint=http://127.0.0.1:{}&region=us-east-1",
            server.port
        ),
        files: store.path().join("bucket/poems"),
        env: vec![
            ("AWS_ACCESS_KEY_ID", "AKDEPLOYTEST".into()),
            ("AWS_SECRET_ACCESS_KEY", "SKDEPLOYSECRET".into()),
        ],
    });
}

/// rclone's `serve webdav`, with a user and password from the environment.
#[test]
fn a_webdav_folder() {
    let store = temp();
    std::fs::create_dir(store.path().join("site")).unwrap();
    let server = Rclone::start(
        "webdav",
        store.path(),
        &["--user", "poet", "--pass", "davsecret"],
    );
    every_target(&Host {
        to: format!("webdav+http://127.0.0.1:{}/site", server.port),
        files: store.path().join("site"),
        env: vec![
            ("VERSO_WEBDAV_USER", "poet".into()),
            ("VERSO_WEBDAV_PASSWORD", "davsecret".into()),
        ],
    });
}

/// A Neocities stand-in over an empty temporary folder, and a small
/// collection to deploy to it.
fn neocities_case(behaviour: Behaviour) -> (tempfile::TempDir, StandIn, Host, tempfile::TempDir) {
    let files = temp();
    let stand_in = StandIn::start(files.path(), behaviour);
    let host = neocities_host(&stand_in);
    let dir = temp();
    a_collection(dir.path());
    (files, stand_in, host, dir)
}

fn neocities_host(stand_in: &StandIn) -> Host {
    Host {
        to: stand_in.url.clone(),
        files: stand_in.dir.clone(),
        env: vec![("NEOCITIES_API_KEY", KEY.into())],
    }
}

/// The Neocities stand-in: the same story, many files a request.
#[test]
fn neocities_through_its_api() {
    let files = temp();
    let stand_in = StandIn::start(files.path(), Behaviour::default());
    every_target(&neocities_host(&stand_in));
    let uploads: Vec<_> = stand_in
        .log()
        .into_iter()
        .filter(|l| l.call == "upload")
        .collect();
    assert!(
        uploads.iter().any(|u| u.paths.len() > 1),
        "no batched upload"
    );
    // The first deploy sent the menu last, index.html alone at the end.
    let first_index = uploads
        .iter()
        .position(|u| u.paths.contains(&"index.html".to_string()))
        .unwrap();
    assert_eq!(uploads[first_index].paths, ["index.html"]);
    assert_eq!(uploads[first_index - 1].paths, ["explore.html"]);
}

/// An appended poem costs a handful of requests.
#[test]
fn neocities_an_appended_poem_and_a_rate_limit() {
    let (_files, stand_in, host, dir) = neocities_case(Behaviour::default());
    let d = dir.path();
    deploy_ok(d, &host, &[]);
    stand_in.take_log();
    edit_poems(d, |p| {
        let mut poem = p[0].clone();
        poem["poem_index"] = 9999.into();
        poem["id"] = "m-9999".into();
        poem["creation_date"] = "2030-01-02T10:00:00".into();
        poem["content"] = "a new poem of the morning light".into();
        p.push(poem);
    });
    edit_embeddings(d, |e| {
        let mut v = e[0].clone();
        v["id"] = 9999.into();
        e.push(v);
    });
    // Two 429s with Retry-After: 1 (to requests in flight together) before
    // the host takes the files.
    stand_in.change(|b| b.rate_limit = 2);
    let started = Instant::now();
    let r = deploy_ok(d, &host, &[]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    let log = stand_in.take_log();
    assert_eq!(log.iter().filter(|l| l.status == 429).count(), 2);
    let sent_paths: usize = log
        .iter()
        .filter(|l| l.call == "upload" && l.status == 200)
        .map(|l| l.paths.len())
        .sum();
    assert_eq!(sent_paths, sent(&r));
    assert!(
        log.iter().all(|l| l.call != "list"),
        "a deploy with records listed the host"
    );
    assert_host_is_site(&host.files, &d.join("site"), &[]);
}

/// One file the host refuses is named in its words; the others go, and
/// once the host takes it, the next deploy sends only it.
#[test]
fn neocities_a_refused_file() {
    let (files, stand_in, host, dir) = neocities_case(Behaviour {
        refuse: Some("chronological/01.html".into()),
        ..Behaviour::default()
    });
    let d = dir.path();
    let r = deploy(d, &host, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout
            .contains("chronological/01.html: chronological/01.html is too large"),
        "{}",
        r.stdout
    );
    let site = tree(&d.join("site"));
    assert_eq!(sent(&r), site.len() - 1);
    assert!(!files.path().join("chronological/01.html").exists());
    stand_in.change(|b| b.refuse = None);
    let again = deploy_ok(d, &host, &[]);
    assert_eq!(sent(&again), 1, "{}", again.stdout);
    assert_host_is_site(files.path(), &d.join("site"), &[]);
}

/// A host that dies mid-deploy: exit 1 with what was sent, failed and
/// left; the next deploy sends only the rest.
#[test]
fn neocities_a_host_that_dies() {
    let files = temp();
    let stand_in = StandIn::start(
        files.path(),
        Behaviour {
            die_after_uploads: Some(2),
            ..Behaviour::default()
        },
    );
    let host = neocities_host(&stand_in);
    let dir = temp();
    let d = dir.path();
    small_collection(d, 60, 5);
    let r = deploy(d, &host, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("the deploy stopped"), "{}", r.stdout);
    let landed = tree(files.path()).len();
    assert!(landed > 0 && landed < tree(&d.join("site")).len());
    assert_eq!(sent(&r), landed);
    stand_in.change(|b| b.die_after_uploads = None);
    stand_in.take_log();
    let again = deploy_ok(d, &host, &[]);
    assert_eq!(sent(&again) + landed, tree(&d.join("site")).len());
    assert_host_is_site(files.path(), &d.join("site"), &[]);
}

/// The file count counts the user's own files and the folders: a site
/// that does not fit is said so before anything is sent.
#[test]
fn neocities_the_file_count_limit() {
    let (files, stand_in, host, dir) = neocities_case(Behaviour {
        extra_files: 14_990,
        ..Behaviour::default()
    });
    let d = dir.path();
    let r = deploy(d, &host, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("does not fit a free Neocities site"),
        "{}",
        r.all()
    );
    assert!(r.all().contains("storage_limit_gb"), "{}", r.all());
    assert!(tree(files.path()).is_empty());
    assert!(stand_in.log().iter().all(|l| l.call != "upload"));
}

/// A deploy that stops part way forgets that the host held the site it
/// last sent: after the edit is undone, the next deploy puts back what the
/// stopped one changed (the host is not taken to hold the undone site).
#[test]
fn neocities_a_stopped_deploy_then_an_undone_edit() {
    let (files, stand_in, host, dir) = neocities_case(Behaviour::default());
    let d = dir.path();
    deploy_ok(d, &host, &[]);
    let poems = std::fs::read(d.join("poems.json")).unwrap();
    // A new id: the pages in folders change, and the menu, which lists
    // ids, goes in a later request, which the host does not answer.
    edit_poems(d, |p| p[3]["id"] = json!("renamed"));
    stand_in.take_log();
    stand_in.change(|b| b.die_after_uploads = Some(1));
    let r = deploy(d, &host, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    let landed = sent(&r);
    assert!(landed > 0, "{}", r.all());
    std::fs::write(d.join("poems.json"), poems).unwrap();
    stand_in.change(|b| b.die_after_uploads = None);
    let again = deploy_ok(d, &host, &[]);
    assert_eq!(sent(&again), landed, "{}", again.all());
    assert_host_is_site(files.path(), &d.join("site"), &[]);
}

/// The space counts the user's own files too: a free site (1 GB) already
/// holding 999.9 MB of them has no room for the site, said before anything
/// is sent; a supporter site (50 GB) has.
#[test]
fn neocities_the_storage_limit() {
    let (files, stand_in, host, dir) = neocities_case(Behaviour {
        extra_bytes: 999_900_000,
        ..Behaviour::default()
    });
    let d = dir.path();
    let site_bytes: usize = {
        let r = run(&["build", p(d), "--progress", "none"]);
        assert_eq!(r.code, 0, "{}", r.all());
        tree(&d.join("site")).values().map(Vec::len).sum()
    };
    assert!(site_bytes > 100_000, "{site_bytes}");
    let r = deploy(d, &host, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("does not fit a free Neocities site: 1."),
        "{}",
        r.all()
    );
    assert!(tree(files.path()).is_empty());
    assert!(stand_in.log().iter().all(|l| l.call != "upload"));
    stand_in.change(|b| b.supporter = true);
    deploy_ok(d, &host, &[]);
    assert_host_is_site(files.path(), &d.join("site"), &[]);
}

/// SIGKILL, then Ctrl-C, in the middle of a slow deploy; a second deploy
/// while one runs is refused; each rerun ends with the host equal to the
/// site, and little is sent twice.
#[test]
fn neocities_kill_interrupt_and_a_second_deploy() {
    let files = temp();
    let stand_in = StandIn::start(
        files.path(),
        Behaviour {
            delay: Duration::from_millis(400),
            ..Behaviour::default()
        },
    );
    let host = neocities_host(&stand_in);
    let dir = temp();
    let d = dir.path();
    small_collection(d, 60, 5);
    build(d);
    let site_files = tree(&d.join("site")).len();
    let start = || {
        verso()
            .args(["deploy", p(d), "--progress", "none", "--to", &host.to])
            .env("NEOCITIES_API_KEY", KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let wait_for_uploads = |n: usize| {
        let t = Instant::now();
        while stand_in.log().iter().filter(|l| l.call == "upload").count() < n {
            assert!(t.elapsed() < Duration::from_secs(60), "no uploads");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let uploaded = || -> (usize, u64) {
        let log = stand_in.log();
        let ok = log.iter().filter(|l| l.call == "upload");
        (
            ok.clone().map(|l| l.paths.len()).sum(),
            ok.map(|l| l.bytes).sum(),
        )
    };
    let site_bytes: u64 = tree(&d.join("site")).values().map(|b| b.len() as u64).sum();

    let mut first = start();
    wait_for_uploads(1);
    let second = finish(
        verso()
            .args(["deploy", p(d), "--progress", "none", "--to", &host.to])
            .env("NEOCITIES_API_KEY", KEY)
            .output()
            .unwrap(),
    );
    assert_eq!(second.code, 1, "{}", second.all());
    assert!(
        second.all().contains("in use by another verso deploy"),
        "{}",
        second.all()
    );
    signal(&first, "KILL");
    first.wait().unwrap();

    let interrupted = start();
    wait_for_uploads(3);
    signal(&interrupted, "INT");
    let out = finish(interrupted.wait_with_output().unwrap());
    assert_eq!(out.code, 130, "{}", out.all());
    assert!(out.stdout.contains("left"), "{}", out.stdout);

    stand_in.change(|b| b.delay = Duration::ZERO);
    deploy_ok(d, &host, &[]);
    assert_host_is_site(files.path(), &d.join("site"), &[]);
    // Sent twice at most: the requests in flight when stopped (two, of at
    // most 100 files each, each time).
    let (files_sent, bytes_sent) = uploaded();
    assert!(
        files_sent <= site_files + 400,
        "{files_sent} files sent for {site_files}"
    );
    assert!(
        bytes_sent >= site_bytes,
        "{bytes_sent} bytes sent for {site_bytes}"
    );
}

/// Bad or missing configuration is said before anything is built.
#[test]
fn a_target_this_verso_cannot_reach_is_a_usage_error() {
    let dir = temp();
    let d = dir.path();
    a_collection(d);
    for (to, words) in [
        ("ftp://host/site", "is not a deploy target"),
        ("", "no deploy target"),
    ] {
        let r = run(&["deploy", p(d), "--to", to]);
        assert_eq!(r.code, 2, "{}", r.all());
        assert!(r.stderr.contains(words), "{}", r.stderr);
    }
    let r = finish(
        verso()
            .args(["deploy", p(d), "--to", "neocities://neocities.org"])
            .env_remove("NEOCITIES_API_KEY")
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("NEOCITIES_API_KEY"), "{}", r.stderr);
    assert!(
        !d.join("site").exists(),
        "a build ran before the target was checked"
    );
}

/// For benches/deploy.sh: the requests one appended poem costs on
/// Neocities (the stand-in, a supporter site), at the benchmark's size.
#[test]
#[ignore]
fn neocities_requests_per_appended_poem() {
    let poems: usize = std::env::var("VERSO_BENCH_POEMS").map_or(7797, |n| n.parse().unwrap());
    let files = temp();
    let stand_in = StandIn::start(
        files.path(),
        Behaviour {
            supporter: true,
            ..Behaviour::default()
        },
    );
    let host = neocities_host(&stand_in);
    let dir = temp();
    let d = dir.path();
    collection(d, poems, 768, 1, "[pages]\npoems_per_page = 200\n");
    deploy_ok(d, &host, &[]);
    stand_in.take_log();
    edit_poems(d, |p| {
        let newest = p
            .iter()
            .map(|p| p["creation_date"].as_str().unwrap().to_string())
            .max();
        let mut poem = p[p.len() - 1].clone();
        poem["poem_index"] = (poems + 1).into();
        poem["id"] = "appended".into();
        poem["creation_date"] = newest.unwrap().into();
        poem["content"] = "a poem appended for the deploy benchmark".into();
        p.push(poem);
    });
    edit_embeddings(d, |e| {
        let mut v = e[0].clone();
        v["id"] = (poems + 1).into();
        reverse_vector(&mut v["embedding"]);
        e.push(v);
    });
    let r = deploy_ok(d, &host, &[]);
    let log = stand_in.take_log();
    let calls = |name: &str| log.iter().filter(|l| l.call == name).count();
    let uploaded: usize = log
        .iter()
        .filter(|l| l.call == "upload")
        .map(|l| l.paths.len())
        .sum();
    let bytes: u64 = log.iter().map(|l| l.bytes).sum();
    println!(
        "neocities: {} requests for one appended poem ({} uploads of {uploaded} files, {:.1} MB; {} deletes; {} lists)",
        log.len(),
        calls("upload"),
        bytes as f64 / 1e6,
        calls("delete"),
        calls("list")
    );
    assert_eq!(uploaded, sent(&r));
    assert_host_is_site(files.path(), &d.join("site"), &[]);
}

/// Neocities cancels a delete that names a path it does not hold: a page
/// removed by hand there, then by the site, is deleted with the rest.
#[test]
fn neocities_a_delete_naming_a_path_already_gone() {
    let (files, stand_in, host, dir) = neocities_case(Behaviour::default());
    let d = dir.path();
    deploy_ok(d, &host, &[]);
    let before = tree(&d.join("site"));
    edit_poems(d, |p| {
        p.pop();
    });
    build(d);
    let after = tree(&d.join("site"));
    let removed: Vec<&String> = before.keys().filter(|p| !after.contains_key(*p)).collect();
    assert!(removed.len() >= 2, "{removed:?}");
    std::fs::remove_file(files.path().join(removed[0])).unwrap();
    stand_in.take_log();
    let r = deploy_ok(d, &host, &[]);
    assert!(
        r.stdout.contains(&format!("deleted {}", removed.len())),
        "{}",
        r.stdout
    );
    let log = stand_in.take_log();
    assert!(
        log.iter().any(|l| l.call == "delete" && l.status == 400),
        "the first delete was not refused: {log:?}"
    );
    assert_host_is_site(files.path(), &d.join("site"), &[]);
}

/// A free site may not hold audio: said before anything is sent; a
/// supporter site takes it.
#[test]
fn neocities_a_file_type_a_free_site_may_not_hold() {
    let (files, stand_in, host, dir) = neocities_case(Behaviour::default());
    let d = dir.path();
    std::fs::create_dir_all(d.join("media")).unwrap();
    std::fs::write(d.join("media/reading.mp3"), b"ID3 not really audio").unwrap();
    edit_poems(
        d,
        |p| {
            p[1]["attachments"] =
                serde_json::json!([{"relative_path": "reading.mp3", "alt_text": "a reading"}])
        },
    );
    let r = deploy(d, &host, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all()
            .contains("may not hold 1 of the site's files (media/reading.mp3)"),
        "{}",
        r.all()
    );
    assert!(tree(files.path()).is_empty());
    stand_in.change(|b| b.supporter = true);
    deploy_ok(d, &host, &[]);
    assert_host_is_site(files.path(), &d.join("site"), &[]);
}
