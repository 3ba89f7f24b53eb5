//! A deploy host as the deploy sees it: list what it holds, put a batch of
//! files, delete paths, read one file back. Folders, S3 and WebDAV go
//! through OpenDAL, one file a request with several in flight; Neocities
//! through its own API (`neocities`), many files a request. Every failure
//! is sorted into transient (retried), refused (that file is named and
//! the deploy goes on) or failed.

use super::neocities::Neocities;
use super::records::{HostSum, SumKind};
use super::target::Target;
use crate::error::{Error, Result};
use opendal::layers::TimeoutLayer;
use opendal::{ErrorKind, Operator};
use std::time::Duration;

/// A file the host holds, as its listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub size: u64,
    pub sum: Option<HostSum>,
}

/// A file to send, its bytes read and checked against the site's record.
#[derive(Debug, Clone)]
pub struct Upload {
    pub path: String,
    pub bytes: opendal::Buffer,
}

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No connection, a timeout, 429 or 5xx: worth trying again, after
    /// `retry_after` when the host said so.
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The host refused the request's files (a type or size its plan does
    /// not allow), in its own words.
    Refused(String),
    /// Anything else: credentials, a missing bucket.
    Failed(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Transient { message, .. }
            | Failure::Refused(message)
            | Failure::Failed(message) => f.write_str(message),
        }
    }
}

pub enum Host {
    Dal {
        operator: Operator,
        sum: Option<SumKind>,
    },
    Neocities(Neocities),
}

/// A request's longest wait for an answer.
const TIMEOUT: Duration = Duration::from_secs(60);

impl Host {
    /// Reach `target`; call inside the deploy's runtime.
    pub fn connect(target: &Target) -> Result<Host> {
        crate::tls::install();
        let failed = |e: opendal::Error| {
            Error::Failed(format!(
                "{target}: could not set up the deploy target: {}",
                e.message()
            ))
        };
        let dal = |operator: Operator, sum| Host::Dal {
            operator: operator.layer(
                TimeoutLayer::new()
                    .with_timeout(TIMEOUT)
                    .with_io_timeout(TIMEOUT),
            ),
            sum,
        };
        Ok(match target {
            Target::Folder(path) => {
                let root = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                let root = root.to_string_lossy().into_owned();
                dal(
                    Operator::via_iter("fs", [("root".to_string(), root)]).map_err(failed)?,
                    None,
                )
            }
            Target::S3 { url } => dal(
                Operator::from_uri(url.as_str()).map_err(failed)?,
                Some(SumKind::Md5),
            ),
            Target::WebDav { endpoint, root } => {
                let mut options = vec![
                    ("endpoint".to_string(), endpoint.clone()),
                    ("root".to_string(), root.clone()),
                ];
                for (key, var) in [
                    ("username", "VERSO_WEBDAV_USER"),
                    ("password", "VERSO_WEBDAV_PASSWORD"),
                ] {
                    if let Ok(value) = std::env::var(var) {
                        options.push((key.to_string(), value));
                    }
                }
                dal(Operator::via_iter("webdav", options).map_err(failed)?, None)
            }
            Target::Neocities { base } => Host::Neocities(Neocities::new(base)?),
        })
    }

    /// The checksum the host's listing shows, if any.
    pub fn sum_kind(&self) -> Option<SumKind> {
        match self {
            Host::Dal { sum, .. } => *sum,
            Host::Neocities(_) => Some(SumKind::Sha1),
        }
    }

    /// Files per request, bytes per request, and requests in flight.
    pub fn batching(&self) -> (usize, u64, usize) {
        match self {
            Host::Dal { .. } => (1, u64::MAX, 8),
            Host::Neocities(_) => Neocities::BATCHING,
        }
    }

    /// Every file the host holds, by path (folders left out).
    pub async fn list(&self) -> std::result::Result<Vec<(String, Listed)>, Failure> {
        match self {
            Host::Dal { operator, sum } => {
                let entries = match operator.list_with("/").recursive(true).await {
                    Ok(entries) => entries,
                    // A folder or prefix not made yet holds nothing.
                    Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(failure(&e)),
                };
                let mut files = Vec::new();
                for entry in entries.into_iter().filter(|e| e.metadata().is_file()) {
                    let path = entry.path().trim_start_matches('/').to_string();
                    // Some services list names only: ask for the size.
                    let meta = match entry.metadata().content_length() {
                        0 => operator.stat(entry.path()).await.map_err(|e| failure(&e))?,
                        _ => entry.metadata().clone(),
                    };
                    let host_sum = sum.and_then(|kind| kind.parse(meta.etag()?));
                    files.push((
                        path,
                        Listed {
                            size: meta.content_length(),
                            sum: host_sum,
                        },
                    ));
                }
                Ok(files)
            }
            Host::Neocities(n) => n.list().await,
        }
    }

    /// Send one batch (at most `batching()` of it); all of it or none.
    pub async fn put(&self, batch: &[Upload]) -> std::result::Result<(), Failure> {
        match self {
            Host::Dal { operator, .. } => {
                for upload in batch {
                    operator
                        .write(&upload.path, upload.bytes.clone())
                        .await
                        .map_err(|e| failure(&e))?;
                }
                Ok(())
            }
            Host::Neocities(n) => n.upload(batch).await,
        }
    }

    /// Delete `paths`; a path already gone counts as deleted.
    pub async fn delete(&self, paths: &[String]) -> std::result::Result<(), Failure> {
        match self {
            Host::Dal { operator, .. } => {
                for path in paths {
                    operator.delete(path).await.map_err(|e| failure(&e))?;
                }
                Ok(())
            }
            Host::Neocities(n) => n.delete(paths).await,
        }
    }

    /// One file's bytes, to compare with the site's where only sizes are
    /// listed.
    pub async fn read(&self, path: &str) -> std::result::Result<Vec<u8>, Failure> {
        match self {
            Host::Dal { operator, .. } => operator
                .read(path)
                .await
                .map(|b| b.to_vec())
                .map_err(|e| failure(&e)),
            Host::Neocities(n) => n.download(path).await,
        }
    }
}

/// An OpenDAL error sorted by what to do about it.
fn failure(e: &opendal::Error) -> Failure {
    let message = e.message().to_string();
    if e.is_temporary() || e.kind() == ErrorKind::RateLimited {
        return Failure::Transient {
            message,
            retry_after: None,
        };
    }
    match e.kind() {
        ErrorKind::PermissionDenied | ErrorKind::IsADirectory | ErrorKind::NotADirectory => {
            Failure::Refused(message)
        }
        _ => Failure::Failed(message),
    }
}
