//! Sending: batches of files to the host, several requests in flight,
//! each confirmed file recorded at once and the records saved after every
//! batch; transient failures retried with backoff (honouring
//! `Retry-After`); a batch the host refuses split until the refused file
//! is alone and named, while the others go on. A failure that retries do
//! not cure, or Ctrl-C, stops new requests; those in flight finish.

use super::host::{Failure, Host, Upload};
use super::records::{DeployRecords, Deployed, HostSum, SumKind};
use crate::error::{Doing, Error, Result};
use crate::progress::Progress;
use futures_util::stream::{self, StreamExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A file the plan sends.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub path: String,
    pub size: u64,
    pub hash: [u8; 32],
}

/// What sending did.
#[derive(Debug, Default)]
pub struct Sent {
    pub files: usize,
    pub bytes: u64,
    /// Refused or failed files, with the host's words.
    pub failed: Vec<(String, String)>,
    /// Why sending stopped early (the host stopped answering), if it did.
    pub stopped: Option<String>,
}

/// Tries of one request before a transient failure counts.
const ATTEMPTS: u32 = 6;
/// The longest wait between tries, whatever `Retry-After` says.
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// Run `request` until it succeeds, fails for good, or has been tried
/// `ATTEMPTS` times.
pub async fn with_retries<T, F, Fut>(mut request: F) -> std::result::Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, Failure>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match request().await {
            Err(Failure::Transient { retry_after, .. }) if attempt < ATTEMPTS => {
                let backoff = Duration::from_millis(250 << attempt.min(8));
                tokio::time::sleep(retry_after.unwrap_or(backoff).min(LONGEST_WAIT)).await;
            }
            other => return other,
        }
    }
}

/// Read a site file for sending, with the host's checksum of it; its
/// bytes must be those the site's record names, or the site changed under
/// the deploy.
pub fn read_checked(
    output: &Path,
    file: &Outgoing,
    sum: Option<SumKind>,
) -> Result<(Upload, Option<HostSum>)> {
    let full = output.join(&file.path);
    let bytes = std::fs::read(&full).map_err(|e| Error::io(Doing::ReadingSite, &full, e))?;
    if blake3::hash(&bytes).as_bytes() != &file.hash {
        return Err(Error::Failed(format!(
            "{}: the file changed after the build; run `verso deploy` again",
            full.display()
        )));
    }
    let host_sum = sum.map(|kind| kind.of(&bytes));
    let upload = Upload {
        path: file.path.clone(),
        bytes: bytes.into(),
    };
    Ok((upload, host_sum))
}

/// Group files into requests within the host's bounds.
fn batches(files: Vec<Outgoing>, per_request: usize, bytes_per_request: u64) -> Vec<Vec<Outgoing>> {
    let mut out: Vec<Vec<Outgoing>> = Vec::new();
    let mut bytes = 0;
    for file in files {
        let full = out
            .last()
            .is_none_or(|b| b.len() >= per_request || bytes + file.size > bytes_per_request);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += file.size;
        out.last_mut().unwrap().push(file);
    }
    out
}

/// The outcome of one request's files, with the host's checksum of each.
type Outcomes = Vec<(Outgoing, Option<HostSum>, std::result::Result<(), Failure>)>;

/// Send a batch; when the host refuses it, halve it until each refused
/// file is alone, so that one file it will not take stops no other.
async fn send_batch(host: &Host, output: &Path, batch: Vec<Outgoing>) -> Result<Outcomes> {
    let (uploads, sums): (Vec<Upload>, Vec<Option<HostSum>>) = batch
        .iter()
        .map(|f| read_checked(output, f, host.sum_kind()))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let result = with_retries(|| host.put(&uploads)).await;
    drop(uploads);
    match result {
        Err(Failure::Refused(_)) if batch.len() > 1 => {
            let mut halves = batch;
            let second = halves.split_off(halves.len() / 2);
            let mut outcomes = Box::pin(send_batch(host, output, halves)).await?;
            outcomes.extend(Box::pin(send_batch(host, output, second)).await?);
            Ok(outcomes)
        }
        result => Ok(batch
            .into_iter()
            .zip(sums)
            .map(|(f, sum)| (f, sum, result.clone()))
            .collect()),
    }
}

pub struct Sender<'a> {
    pub host: &'a Host,
    pub output: &'a Path,
    pub progress: &'a Progress,
    pub cancel: &'a AtomicBool,
}

impl Sender<'_> {
    /// Send `files` in order (several requests in flight), recording each
    /// confirmed file.
    pub async fn send(
        &self,
        files: Vec<Outgoing>,
        records: &mut DeployRecords<'_>,
        sent: &mut Sent,
        meter: &mut super::meter::Meter,
    ) -> Result<()> {
        let (per_request, bytes_per_request, in_flight) = self.host.batching();
        let stop = AtomicBool::new(false);
        let results = stream::iter(batches(files, per_request, bytes_per_request))
            .take_while(|_| {
                let go = !stop.load(Ordering::Relaxed) && !self.cancel.load(Ordering::Relaxed);
                async move { go }
            })
            .map(|batch| send_batch(self.host, self.output, batch))
            .buffered(in_flight);
        let mut results = std::pin::pin!(results);
        while let Some(outcomes) = results.next().await {
            for (file, host_sum, outcome) in outcomes? {
                match outcome {
                    Ok(()) => {
                        records.confirm(
                            &file.path,
                            Deployed {
                                hash: file.hash,
                                size: file.size,
                                host_sum,
                            },
                        )?;
                        sent.files += 1;
                        sent.bytes += file.size;
                        meter.sent(self.progress, &file.path, file.size);
                    }
                    Err(Failure::Transient { message, .. }) => {
                        stop.store(true, Ordering::Relaxed);
                        sent.stopped.get_or_insert(message.clone());
                        sent.failed.push((file.path, message));
                    }
                    Err(Failure::Refused(message)) => sent.failed.push((file.path, message)),
                    Err(Failure::Failed(message)) => {
                        stop.store(true, Ordering::Relaxed);
                        sent.stopped.get_or_insert(message.clone());
                        sent.failed.push((file.path, message));
                    }
                }
            }
            records.save()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stay_within_the_request_bounds() {
        let file = |size| Outgoing {
            path: String::new(),
            size,
            hash: [0; 32],
        };
        let sizes: Vec<Vec<u64>> = batches((1..=7).map(file).collect(), 3, 8)
            .iter()
            .map(|b| b.iter().map(|f| f.size).collect())
            .collect();
        assert_eq!(sizes, [vec![1, 2, 3], vec![4], vec![5], vec![6], vec![7]]);
        let ones = batches((0..5).map(|_| file(1)).collect(), 2, u64::MAX);
        assert_eq!(ones.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn transient_failures_are_retried_after_the_wait_the_host_asks_for() {
        let mut calls = 0;
        let started = tokio::time::Instant::now();
        let result = with_retries(|| {
            calls += 1;
            let answer = if calls < 3 {
                Err(Failure::Transient {
                    message: "429".into(),
                    retry_after: Some(Duration::from_secs(7)),
                })
            } else {
                Ok(calls)
            };
            async move { answer }
        })
        .await;
        assert_eq!(result, Ok(3));
        assert_eq!(started.elapsed().as_secs(), 14);
        let mut refused = 0;
        let result: std::result::Result<(), _> = with_retries(|| {
            refused += 1;
            async { Err(Failure::Refused("no".into())) }
        })
        .await;
        assert_eq!((result, refused), (Err(Failure::Refused("no".into())), 1));
    }
}
