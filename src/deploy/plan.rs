//! What a deploy does: the difference between the site's records and the
//! deploy records, or, when the host was listed (`--verify`, or a target
//! without records), between the site and the listing. Pure: a file whose
//! listing leaves its bytes in doubt is marked for comparison, which the
//! deploy does by reading it (`Decision::Compare`).

use super::host::Listed;
use super::records::Deployed;
use crate::engine::store::Record;
use crate::error::{InputError, Location, Result};
use std::collections::HashMap;
use std::path::Path;

/// Paths on the host that verso never deletes or overwrites.
#[derive(Debug, Clone)]
pub struct Protect(Vec<glob::Pattern>);

impl Protect {
    /// The globs, as written.
    pub fn globs(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(glob::Pattern::as_str)
    }

    /// `[deploy] protect` of `file`: each a glob (`*` matches any
    /// characters, `/` included).
    pub fn new(file: &Path, globs: &[String]) -> Result<Protect> {
        let mut patterns = Vec::new();
        for (i, text) in globs.iter().enumerate() {
            let pattern = glob::Pattern::new(text.trim_start_matches('/')).map_err(|e| {
                InputError::new(
                    Location::file(file).field(format!("deploy.protect[{i}]")),
                    format!("{text:?} is not a glob: {}", e.msg),
                )
                .hint("write globs such as \"guestbook.html\" or \"extra/*\"")
            })?;
            patterns.push(pattern);
        }
        Ok(Protect(patterns))
    }

    pub fn covers(&self, path: &str) -> bool {
        self.0.iter().any(|p| p.matches(path))
    }
}

/// Why a file is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The host has never held it from verso.
    New,
    /// The site's bytes changed since the host confirmed it.
    Changed,
    /// The host's copy differs from the records (changed or deleted there
    /// by hand), as a listing showed.
    DiffersOnHost,
}

/// What to do with one path of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    UpToDate,
    Send(Reason),
    /// The listing shows a file of the right size without a checksum that
    /// settles it: compare its bytes (or its checksum with the site's).
    Compare(Listed),
    Protected,
}

/// Decide one site path.
pub fn decide(
    path: &str,
    site: &Record,
    held: Option<&Deployed>,
    listing: Option<&HashMap<String, Listed>>,
    verify: bool,
    protect: &Protect,
) -> Decision {
    if protect.covers(path) {
        return Decision::Protected;
    }
    let recorded = held.filter(|h| h.hash == site.hash && h.size == site.size);
    let Some(listing) = listing else {
        return match (held, recorded) {
            (_, Some(_)) => Decision::UpToDate,
            (None, None) => Decision::Send(Reason::New),
            (Some(_), None) => Decision::Send(Reason::Changed),
        };
    };
    let Some(listed) = listing.get(path) else {
        return Decision::Send(match held {
            Some(_) => Reason::DiffersOnHost,
            None => Reason::New,
        });
    };
    if listed.size != site.size {
        return Decision::Send(match recorded {
            Some(_) => Reason::DiffersOnHost,
            None if held.is_some() => Reason::Changed,
            None => Reason::New,
        });
    }
    match (recorded, recorded.and_then(|r| r.host_sum), listed.sum) {
        (Some(_), Some(ours), Some(theirs)) if ours == theirs => Decision::UpToDate,
        (Some(_), Some(_), Some(_)) => Decision::Send(Reason::DiffersOnHost),
        // Sizes agree with the records and no checksum is listed: a
        // listing made for `--verify` compares bytes; the first deploy's
        // has no records to agree with.
        (Some(_), _, _) if !verify => Decision::UpToDate,
        _ => Decision::Compare(listed.clone()),
    }
}

/// Paths the host holds from verso that the site no longer has: deleted
/// unless protected. Any other path on the host was never verso's.
pub fn deletions<'a>(
    site: &HashMap<String, Record>,
    held: &'a HashMap<String, Deployed>,
    protect: &Protect,
) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut delete = Vec::new();
    let mut kept = Vec::new();
    for path in held.keys().filter(|p| !site.contains_key(*p)) {
        if protect.covers(path) {
            kept.push(path.as_str());
        } else {
            delete.push(path.as_str());
        }
    }
    delete.sort_unstable();
    kept.sort_unstable();
    (delete, kept)
}

/// The order of sending: pages in folders first, then the pages at the
/// top (the menu pages), `explore.html` and `index.html` last, so that no
/// published link points at a page that is not there yet.
pub fn send_order(path: &str) -> (u8, &str) {
    let rank = match path {
        "index.html" => 3,
        "explore.html" => 2,
        p if !p.contains('/') => 1,
        _ => 0,
    };
    (rank, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::records::SumKind;

    fn record(bytes: &[u8]) -> Record {
        Record {
            key: [0; 32],
            size: bytes.len() as u64,
            hash: *blake3::hash(bytes).as_bytes(),
            seen: 0,
        }
    }

    fn deployed(bytes: &[u8], sum: Option<SumKind>) -> Deployed {
        Deployed {
            hash: *blake3::hash(bytes).as_bytes(),
            size: bytes.len() as u64,
            host_sum: sum.map(|k| k.of(bytes)),
        }
    }

    #[test]
    fn the_records_decide_without_a_listing_and_the_listing_overrules_them() {
        let none = Protect(Vec::new());
        let site = record(b"new bytes");
        let d = |held: Option<&Deployed>, listing, verify| {
            decide("a.html", &site, held, listing, verify, &none)
        };
        assert_eq!(d(None, None, false), Decision::Send(Reason::New));
        let same = deployed(b"new bytes", Some(SumKind::Md5));
        let old = deployed(b"old bytes", Some(SumKind::Md5));
        assert_eq!(d(Some(&same), None, false), Decision::UpToDate);
        assert_eq!(d(Some(&old), None, false), Decision::Send(Reason::Changed));

        let listed = |bytes: &[u8], sum| {
            HashMap::from([(
                "a.html".to_string(),
                Listed {
                    size: bytes.len() as u64,
                    sum,
                },
            )])
        };
        let md5 = |b: &[u8]| Some(SumKind::Md5.of(b));
        // Verified by checksum, or found changed by hand.
        let good = listed(b"new bytes", md5(b"new bytes"));
        assert_eq!(d(Some(&same), Some(&good), true), Decision::UpToDate);
        let edited = listed(b"NEW bytes", md5(b"NEW bytes"));
        assert_eq!(
            d(Some(&same), Some(&edited), true),
            Decision::Send(Reason::DiffersOnHost)
        );
        let empty = HashMap::new();
        assert_eq!(
            d(Some(&same), Some(&empty), true),
            Decision::Send(Reason::DiffersOnHost)
        );
        // Without checksums, equal sizes are compared by bytes.
        let sizes = listed(b"NEW bytes", None);
        let plain = deployed(b"new bytes", None);
        assert!(matches!(
            d(Some(&plain), Some(&sizes), true),
            Decision::Compare(_)
        ));
        assert!(matches!(d(None, Some(&good), false), Decision::Compare(_)));
        assert_eq!(
            d(None, Some(&listed(b"short", None)), false),
            Decision::Send(Reason::New)
        );
    }

    #[test]
    fn protected_paths_are_never_sent_or_deleted_and_strangers_never_deleted() {
        let protect = Protect::new(Path::new("verso.toml"), &["keep/*".into()]).unwrap();
        let site = HashMap::from([("index.html".to_string(), record(b"i"))]);
        let held = HashMap::from([
            ("index.html".to_string(), deployed(b"i", None)),
            ("old.html".to_string(), deployed(b"o", None)),
            ("keep/mine.html".to_string(), deployed(b"m", None)),
        ]);
        let (delete, kept) = deletions(&site, &held, &protect);
        assert_eq!(delete, ["old.html"]);
        assert_eq!(kept, ["keep/mine.html"]);
        assert_eq!(
            decide("keep/x/y.html", &record(b"y"), None, None, false, &protect),
            Decision::Protected
        );
        let bad = Protect::new(Path::new("verso.toml"), &["[".into()])
            .err()
            .unwrap();
        assert_eq!(bad.exit_code(), 2);
        assert!(bad.to_string().contains("deploy.protect[0]"), "{bad}");
    }

    #[test]
    fn the_menu_goes_last() {
        let mut paths = [
            "index.html",
            "similar/0001-01.html",
            "explore.html",
            "style.css",
        ];
        paths.sort_by_key(|p| send_order(p));
        assert_eq!(
            paths,
            [
                "similar/0001-01.html",
                "style.css",
                "explore.html",
                "index.html"
            ]
        );
    }
}
