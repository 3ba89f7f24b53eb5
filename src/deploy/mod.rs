//! `verso deploy`: build, then make the host equal to the site by sending
//! the difference between the site's records and the deploy records
//! (`records`), with no listing or hashing of the host; `--verify`, and a
//! target without records, list it instead (`plan`). Steps: lock, build
//! (which hands over its store), stop at once when the last complete deploy
//! sent this very site (`records::Synced`), open the records, plan, check
//! the host's quotas, send the pages (the menu last), delete what the site
//! no longer has, mark the site sent, report.

pub mod host;
mod meter;
pub mod neocities;
pub mod plan;
pub mod records;
pub mod report;
mod send;
pub mod target;

use crate::config::Config;
use crate::engine::store::{CacheLock, Record, Store};
use crate::engine::{self, Options};
use crate::error::{Error, Result};
use crate::progress::Progress;
use host::{Failure, Host, Listed};
use plan::{Decision, Reason};
use records::{DeployRecords, Deployed, Synced};
use send::{with_retries, Outgoing, Sender, Sent};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use target::Target;

/// What the command line asks of a deploy.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `--to`, over `[deploy] to`.
    pub to: Option<String>,
    pub dry_run: bool,
    /// `--max-deletes`, over `[deploy] max_deletes`.
    pub max_deletes: Option<usize>,
    pub verify: bool,
}

/// What a deploy found and did.
#[derive(Debug, Default)]
pub struct Report {
    /// The target, as shown (no credentials).
    pub target: String,
    /// The build, or the deploy, was interrupted.
    pub interrupted: bool,
    /// It was the build: nothing was sent.
    pub build_interrupted: bool,
    /// `--dry-run`: pages a build would change first.
    pub stale: Option<usize>,
    pub up_to_date: usize,
    /// Files the host already held (found by a listing), now recorded.
    pub adopted: usize,
    /// Files to send, by why, and their bytes.
    pub to_send: Vec<(String, u64, Reason)>,
    pub to_delete: Vec<String>,
    /// Protected paths: site files not sent, and old files not deleted.
    pub protected: Vec<String>,
    pub sent: Sent,
    pub deleted: usize,
    /// Deletions not made because there were more than `max_deletes`.
    pub deletes_withheld: Option<(usize, usize)>,
    /// Deletions not made because an upload failed or the deploy stopped.
    pub deletes_postponed: usize,
    pub seconds: f64,
}

impl Report {
    /// Files the plan sends that were not sent.
    pub fn left(&self) -> usize {
        self.to_send.len() - self.sent.files - self.sent.failed.len()
    }

    pub fn failed(&self) -> bool {
        !self.sent.failed.is_empty() || self.deletes_withheld.is_some()
    }
}

pub fn deploy(
    config: Config,
    request: &Request,
    progress: &Arc<Progress>,
    cancel: &AtomicBool,
) -> Result<Report> {
    let started = std::time::Instant::now();
    let target = Target::parse(request.to.as_deref().unwrap_or(&config.deploy_to))?;
    let mut report = Report {
        target: target.to_string(),
        ..Report::default()
    };
    let _deploying = CacheLock::acquire_for_deploy(&config.cache)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("verso-deploy")
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("could not start the deploy's threads: {e}")))?;
    // Reached (credentials found, the URL understood) before the build.
    let host = {
        let _entered = runtime.enter();
        Host::connect(&target)?
    };
    let built = match request.dry_run {
        true => {
            report.stale = Some(stale_pages(&config)?);
            None
        }
        false => {
            let (summary, handover) =
                engine::build_keeping_store(config.clone(), &Options::default(), progress, cancel)?;
            if progress.mode != crate::progress::Mode::Quiet {
                print!("{}", engine::summary_text(&summary));
            }
            if summary.interrupted {
                report.interrupted = true;
                report.build_interrupted = true;
                return Ok(report);
            }
            Some(handover)
        }
    };
    let (store, site) = match built {
        Some(handover) => {
            let handover = handover.ok_or_else(|| nothing_built(&config))?;
            (handover.store, handover.records)
        }
        None => Store::open_read_only(&config.cache)?.ok_or_else(|| nothing_built(&config))?,
    };
    let id = target.id();
    let digest = Synced::digest(&site, &config.protect);
    match store.deploy_synced::<Synced>(&id) {
        Some(synced) if synced.digest == digest && !request.verify => {
            report.up_to_date = synced.up_to_date;
            report.protected = synced.protected;
            report.seconds = started.elapsed().as_secs_f64();
            return Ok(report);
        }
        // Durably, before anything is sent: a deploy killed after its
        // first upload must not find the mark of the site before it.
        Some(_) if !request.dry_run => {
            store.put_deploy_synced::<Synced>(&id, None)?;
            store.flush()?;
        }
        _ => {}
    }
    runtime.block_on(async {
        let mut records = DeployRecords::open(&store, &id)?;
        let deploy = Deploy {
            config: &config,
            request,
            target: &target,
            host: &host,
            progress,
            cancel,
        };
        deploy.run(&site, &mut records, &mut report).await
    })?;
    let equal = !request.dry_run
        && !report.interrupted
        && !report.failed()
        && report.left() == 0
        && report.deletes_postponed == 0;
    if equal {
        let synced = Synced {
            digest,
            up_to_date: report.up_to_date + report.adopted + report.sent.files,
            protected: report.protected.clone(),
        };
        store.put_deploy_synced(&id, Some(&synced))?;
        store.flush()?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// How many pages a build would write or remove (`--dry-run` builds
/// nothing, and says so when the site is stale).
fn stale_pages(config: &Config) -> Result<usize> {
    let quiet = Progress::new(crate::progress::Mode::Quiet, 1, false);
    let status = engine::status::status(config.clone(), &quiet, engine::status::Explain::None)?;
    Ok(status
        .families
        .values()
        .map(|c| c.stale + c.new + c.remove)
        .sum())
}

/// A cache without a store holds no site to deploy.
fn nothing_built(config: &Config) -> Error {
    Error::Usage(format!(
        "{} holds no built site to deploy: run `verso deploy` without --dry-run, or `verso build`",
        config.cache.display()
    ))
}

struct Deploy<'a> {
    config: &'a Config,
    request: &'a Request,
    target: &'a Target,
    host: &'a Host,
    progress: &'a Progress,
    cancel: &'a AtomicBool,
}

impl Deploy<'_> {
    async fn run(
        &self,
        site: &HashMap<String, Record>,
        records: &mut DeployRecords<'_>,
        report: &mut Report,
    ) -> Result<()> {
        let listing = match self.request.verify || records.held.is_empty() {
            true => Some(self.list().await?),
            false => None,
        };
        let sends = self.plan(site, records, listing.as_ref(), report).await?;
        let (delete, kept) = plan::deletions(site, &records.held, &self.config.protect);
        let (delete, kept): (Vec<String>, Vec<String>) = (
            delete.into_iter().map(String::from).collect(),
            kept.into_iter().map(String::from).collect(),
        );
        report.protected.extend(kept);
        // Records of files already gone from the host need no request.
        let mut to_delete = Vec::new();
        for path in delete {
            match &listing {
                Some(l) if !l.contains_key(&path) => records.forget(&path)?,
                _ => to_delete.push(path),
            }
        }
        report.to_delete = to_delete;
        if let Host::Neocities(n) = self.host {
            if !sends.is_empty() {
                let plan = with_retries(|| n.plan())
                    .await
                    .map_err(|f| self.failed("read the site's plan", &f))?;
                self.fits(&plan, site, records, listing.as_ref(), report)?;
            }
        }
        if self.request.dry_run {
            return Ok(());
        }
        let bytes = sends.iter().map(|f| f.size).sum();
        let mut meter = meter::Meter::new(self.progress, sends.len(), bytes);
        let sender = Sender {
            host: self.host,
            output: &self.config.output,
            progress: self.progress,
            cancel: self.cancel,
        };
        // Each rank is sent whole before the next: the menu comes last.
        let mut by_rank: Vec<Vec<Outgoing>> = vec![Vec::new(); 4];
        for file in sends {
            by_rank[plan::send_order(&file.path).0 as usize].push(file);
        }
        for rank in by_rank {
            if report.sent.stopped.is_some() || self.cancel.load(Ordering::Relaxed) {
                break;
            }
            sender
                .send(rank, records, &mut report.sent, &mut meter)
                .await?;
        }
        report.interrupted = self.cancel.load(Ordering::Relaxed);
        self.delete(records, report).await
    }

    /// Every file on the host.
    async fn list(&self) -> Result<HashMap<String, Listed>> {
        let listed = with_retries(|| self.host.list())
            .await
            .map_err(|f| self.failed("list the files on the host", &f))?;
        Ok(listed.into_iter().collect())
    }

    fn failed(&self, doing: &str, failure: &Failure) -> Error {
        Error::Failed(format!(
            "{}: could not {doing}: {failure}; nothing was changed there, and the next deploy tries again",
            self.target
        ))
    }

    /// Decide every site path; files the listing shows with the site's
    /// bytes are recorded as held.
    async fn plan(
        &self,
        site: &HashMap<String, Record>,
        records: &mut DeployRecords<'_>,
        listing: Option<&HashMap<String, Listed>>,
        report: &mut Report,
    ) -> Result<Vec<Outgoing>> {
        let mut paths: Vec<&String> = site.keys().collect();
        paths.sort_by_key(|p| plan::send_order(p));
        let mut sends = Vec::new();
        for path in paths {
            let record = &site[path];
            let held = records.held.get(path);
            let decision = plan::decide(
                path,
                record,
                held,
                listing,
                self.request.verify,
                &self.config.protect,
            );
            let reason = match decision {
                Decision::UpToDate => {
                    report.up_to_date += 1;
                    continue;
                }
                Decision::Protected => {
                    report.protected.push(path.clone());
                    continue;
                }
                Decision::Send(reason) => reason,
                Decision::Compare(listed) => match self.holds(path, record, &listed).await? {
                    Some(deployed) => {
                        records.confirm(path, deployed)?;
                        report.adopted += 1;
                        continue;
                    }
                    None if held.is_some_and(|h| h.hash == record.hash) => Reason::DiffersOnHost,
                    None if held.is_some() => Reason::Changed,
                    None => Reason::New,
                },
            };
            report.to_send.push((path.clone(), record.size, reason));
            sends.push(Outgoing {
                path: path.clone(),
                size: record.size,
                hash: record.hash,
            });
        }
        // Adopted files are records to keep; a deploy that adopted none
        // (every deploy with records) has nothing to make durable here.
        if report.adopted > 0 {
            records.save()?;
        }
        Ok(sends)
    }

    /// Does the host hold the site's bytes at `path`? By its checksum
    /// where it lists one, by reading the file back otherwise.
    async fn holds(
        &self,
        path: &str,
        record: &Record,
        listed: &Listed,
    ) -> Result<Option<Deployed>> {
        let file = Outgoing {
            path: path.to_string(),
            size: record.size,
            hash: record.hash,
        };
        let kind = self.host.sum_kind();
        let (upload, ours) = send::read_checked(&self.config.output, &file, kind)?;
        let same = match (ours, listed.sum) {
            (Some(ours), Some(theirs)) => ours == theirs,
            _ => match with_retries(|| self.host.read(path)).await {
                Ok(bytes) => bytes == upload.bytes.to_vec(),
                Err(_) => false,
            },
        };
        Ok(same.then_some(Deployed {
            hash: record.hash,
            size: record.size,
            host_sum: ours,
        }))
    }

    /// Neocities' limits, before anything is sent: the host after this
    /// deploy must fit the plan's space and file count, and a free site
    /// may hold only some file types.
    fn fits(
        &self,
        plan: &neocities::Plan,
        site: &HashMap<String, Record>,
        records: &DeployRecords<'_>,
        listing: Option<&HashMap<String, Listed>>,
        report: &Report,
    ) -> Result<()> {
        let mut after: HashMap<&str, u64> = HashMap::new();
        for (path, l) in listing.into_iter().flatten() {
            after.insert(path, l.size);
        }
        for (path, d) in &records.held {
            after.insert(path, d.size);
        }
        for path in &report.to_delete {
            after.remove(path.as_str());
        }
        for (path, r) in site {
            if !self.config.protect.covers(path) {
                after.insert(path, r.size);
            }
        }
        let mut folders = std::collections::HashSet::new();
        for path in after.keys() {
            let mut p = std::path::Path::new(path).parent();
            while let Some(folder) = p.filter(|f| !f.as_os_str().is_empty()) {
                folders.insert(folder);
                p = folder.parent();
            }
        }
        let bytes: u64 = after.values().sum();
        let files = after.len() + folders.len();
        let gb = |b: u64| b as f64 / 1e9;
        if bytes > plan.space || files > plan.files {
            return Err(Error::Failed(format!(
                "{}: the site does not fit a {} Neocities site: {:.2} GB in {} files and folders, against {:.0} GB and {} files; nothing was sent\n  hint: set `storage_limit_gb` (under [pages], e.g. {:.1}) or a smaller `poems_per_page` in verso.toml{}",
                self.target,
                plan.name,
                gb(bytes),
                crate::progress::thousands(files as u64),
                gb(plan.space),
                crate::progress::thousands(plan.files as u64),
                gb(plan.space) * 0.9,
                if plan.file_types_limited { ", or use a supporter account (50 GB, 100,000 files)" } else { "" },
            )));
        }
        if plan.file_types_limited {
            let refused: Vec<&str> = report
                .to_send
                .iter()
                .map(|(p, _, _)| p.as_str())
                .filter(|p| !neocities::free_may_hold(p))
                .collect();
            if let Some(first) = refused.first() {
                return Err(Error::Failed(format!(
                    "{}: a free Neocities site may not hold {} of the site's files ({first}{}); nothing was sent\n  hint: remove them from the media folder, or use a supporter account",
                    self.target,
                    refused.len(),
                    if refused.len() > 1 { ", ..." } else { "" }
                )));
            }
        }
        Ok(())
    }

    /// Delete what the site no longer has: only after every upload
    /// succeeded, and not at all beyond `max_deletes`.
    async fn delete(&self, records: &mut DeployRecords<'_>, report: &mut Report) -> Result<()> {
        let paths = std::mem::take(&mut report.to_delete);
        let limit = self.request.max_deletes.unwrap_or(self.config.max_deletes);
        let result = if paths.is_empty() {
            Ok(())
        } else if report.interrupted || !report.sent.failed.is_empty() {
            report.deletes_postponed = paths.len();
            Ok(())
        } else if paths.len() > limit {
            report.deletes_withheld = Some((paths.len(), limit));
            Ok(())
        } else {
            let mut result = Ok(());
            for chunk in paths.chunks(100) {
                if self.cancel.load(Ordering::Relaxed) {
                    report.interrupted = true;
                    break;
                }
                match with_retries(|| self.host.delete(chunk)).await {
                    Ok(()) => {
                        for path in chunk {
                            records.forget(path)?;
                        }
                        records.save()?;
                        report.deleted += chunk.len();
                    }
                    Err(f) => {
                        result = Err(self.failed("delete files the site no longer has", &f));
                        break;
                    }
                }
            }
            result
        };
        report.to_delete = paths;
        result
    }
}
