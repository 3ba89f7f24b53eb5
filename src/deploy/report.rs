//! What `verso deploy` prints: the plan (`--dry-run`), or what was sent
//! and deleted, what failed in the host's words, and what is left.

use super::plan::Reason;
use super::Report;
use crate::progress::thousands;
use std::fmt::Write;

fn size(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().si().to_string()
}

/// At most this many failed files are named; the count says the rest.
const NAMED_FAILURES: usize = 20;

pub fn text(report: &Report, dry_run: bool) -> String {
    let mut out = String::new();
    let bytes: u64 = report.to_send.iter().map(|(_, b, _)| b).sum();
    if dry_run {
        let _ = writeln!(
            out,
            "plan for {} (nothing was built, sent or deleted):",
            report.target
        );
        for (path, bytes, reason) in &report.to_send {
            let why = match reason {
                Reason::New => "new",
                Reason::Changed => "changed",
                Reason::DiffersOnHost => "differs on the host",
            };
            let _ = writeln!(out, "  + {path}  {}  {why}", size(*bytes));
        }
        for path in &report.to_delete {
            let _ = writeln!(out, "  - {path}");
        }
        for path in &report.protected {
            let _ = writeln!(out, "  = {path}  protected");
        }
        if let Some(stale) = report.stale.filter(|&n| n > 0) {
            let _ = writeln!(
                out,
                "the site is stale: a build would write or remove {} page(s); this plan is for the site as last built (`verso deploy` builds first)",
                thousands(stale as u64)
            );
        }
        let count = |r: Reason| report.to_send.iter().filter(|(_, _, x)| *x == r).count();
        let _ = writeln!(
            out,
            "would send {} file(s) ({}: {} new, {} changed, {} differing on the host), delete {}; {} up to date{}; {} protected path(s) left alone",
            thousands(report.to_send.len() as u64),
            size(bytes),
            count(Reason::New),
            count(Reason::Changed),
            count(Reason::DiffersOnHost),
            report.to_delete.len(),
            thousands(report.up_to_date as u64),
            match report.adopted {
                0 => String::new(),
                n => format!(", {} already on the host", thousands(n as u64)),
            },
            report.protected.len()
        );
        return out;
    }
    if report.build_interrupted {
        let _ = writeln!(
            out,
            "interrupted during the build: nothing was sent to {}; `verso deploy` again resumes the build, then deploys",
            report.target
        );
        return out;
    }
    let sent = &report.sent;
    let _ = writeln!(
        out,
        "deployed to {} in {:.2} s: sent {} file(s) ({}), deleted {}; {} up to date{}",
        report.target,
        report.seconds,
        thousands(sent.files as u64),
        size(sent.bytes),
        report.deleted,
        thousands(report.up_to_date as u64),
        match report.adopted {
            0 => String::new(),
            n => format!(", {} found already on the host", thousands(n as u64)),
        }
    );
    if !report.protected.is_empty() {
        let _ = writeln!(
            out,
            "{} protected path(s) left alone",
            report.protected.len()
        );
    }
    if !sent.failed.is_empty() {
        let _ = writeln!(out, "{} file(s) failed:", sent.failed.len());
        for (path, words) in sent.failed.iter().take(NAMED_FAILURES) {
            let _ = writeln!(out, "  {path}: {words}");
        }
        if sent.failed.len() > NAMED_FAILURES {
            let _ = writeln!(out, "  ... and {} more", sent.failed.len() - NAMED_FAILURES);
        }
    }
    if let Some(why) = &sent.stopped {
        let _ = writeln!(out, "the deploy stopped: {why}");
    }
    if let Some((n, limit)) = report.deletes_withheld {
        let _ = writeln!(
            out,
            "{n} file(s) would be deleted, more than max_deletes = {limit}: nothing was deleted (raise `max_deletes` under [deploy] in verso.toml, or pass --max-deletes {n})"
        );
    }
    if report.deletes_postponed > 0 {
        let _ = writeln!(
            out,
            "{} deletion(s) wait for a deploy whose uploads all succeed",
            report.deletes_postponed
        );
    }
    if report.interrupted || report.failed() {
        let _ = writeln!(
            out,
            "sent {}, failed {}, left {}: the next `verso deploy` sends only what the host does not hold yet",
            sent.files,
            sent.failed.len(),
            report.left()
        );
    }
    out
}
