//! Where a site is deployed: a folder, a service OpenDAL reaches (S3,
//! WebDAV), or Neocities through its HTTP API, parsed from `[deploy] to` or
//! `--to`. A target is named in output and in the cache without its user,
//! password or query, so no credential is ever printed or stored.

use crate::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A folder on this machine.
    Folder(PathBuf),
    /// An S3 bucket (and prefix), in the URL form `remote_cache` uses.
    S3 { url: String },
    /// A WebDAV folder: `endpoint` is `http(s)://host[:port]`, `root` the
    /// path under it.
    WebDav { endpoint: String, root: String },
    /// Neocities' API at `base` (`https://neocities.org`, or a loopback
    /// stand-in's `http://127.0.0.1:PORT`).
    Neocities { base: String },
}

/// How to write each kind, for the error that names an unknown one.
const FORMS: &str = "a folder (a path or file:///path), s3://bucket/prefix, \
webdav+https://host/path (webdav+http:// on loopback), or neocities://neocities.org \
(neocities+http://127.0.0.1:PORT for a stand-in)";

impl Target {
    /// Parse a target as the configuration or `--to` writes it.
    pub fn parse(text: &str) -> Result<Target> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::Usage(format!(
                "no deploy target: set `to` in the [deploy] section of verso.toml, or pass --to; it is {FORMS}"
            )));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(Target::Folder(PathBuf::from(text)));
        };
        let unknown = || Error::Usage(format!("{text:?} is not a deploy target: use {FORMS}"));
        let authority_and_path = |rest: &str| -> Result<(String, String)> {
            let rest = rest.split(['?', '#']).next().unwrap_or_default();
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            // Credentials belong in the environment, never in the URL.
            let host = authority.rsplit('@').next().unwrap_or_default();
            if host.is_empty() {
                return Err(unknown());
            }
            Ok((host.to_string(), format!("/{}", path.trim_end_matches('/'))))
        };
        match scheme {
            "file" => Ok(Target::Folder(PathBuf::from(rest))),
            "s3" => Ok(Target::S3 {
                url: text.to_string(),
            }),
            "webdav+https" | "webdav+http" => {
                let (host, root) = authority_and_path(rest)?;
                let http = scheme.trim_start_matches("webdav+");
                Ok(Target::WebDav {
                    endpoint: format!("{http}://{host}"),
                    root,
                })
            }
            "neocities" | "neocities+https" | "neocities+http" => {
                let (host, _) = authority_and_path(rest)?;
                let http = if scheme == "neocities+http" {
                    "http"
                } else {
                    "https"
                };
                Ok(Target::Neocities {
                    base: format!("{http}://{host}"),
                })
            }
            _ => Err(unknown()),
        }
    }

    /// The name of the target's deploy records: what it is, without
    /// credentials, so that two targets never share records.
    pub fn id(&self) -> String {
        match self {
            Target::Folder(path) => {
                let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                format!("folder {}", absolute.display())
            }
            Target::S3 { url } => {
                // The bucket, prefix and endpoint name the place; other
                // options (region, credentials) do not.
                let endpoint = url
                    .split_once('?')
                    .map(|(_, q)| q)
                    .unwrap_or_default()
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("endpoint="))
                    .unwrap_or("aws");
                format!("{} at {endpoint}", crate::engine::remote::shown(url))
            }
            Target::WebDav { endpoint, root } => format!("webdav {endpoint}{root}"),
            Target::Neocities { base } => format!("neocities {base}"),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Folder(path) => write!(f, "{}", path.display()),
            Target::S3 { url } => write!(f, "{}", crate::engine::remote::shown(url)),
            Target::WebDav { endpoint, root } => write!(f, "{endpoint}{root} (WebDAV)"),
            Target::Neocities { base } => write!(f, "{base} (Neocities)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_and_is_named_without_credentials() {
        assert_eq!(
            Target::parse("out/site").unwrap(),
            Target::Folder("out/site".into())
        );
        assert_eq!(
            Target::parse("file:///srv/www").unwrap(),
            Target::Folder("/srv/www".into())
        );
        let dav = Target::parse("webdav+http://me:secret@127.0.0.1:8080/site/").unwrap();
        assert_eq!(
            dav,
            Target::WebDav {
                endpoint: "http://127.0.0.1:8080".into(),
                root: "/site".into()
            }
        );
        assert!(!dav.id().contains("secret") && !dav.to_string().contains("secret"));
        let s3 = Target::parse("s3://bucket/site?endpoint=http://127.0.0.1:9000&region=x").unwrap();
        assert_eq!(s3.id(), "s3://bucket/site at http://127.0.0.1:9000");
        assert_eq!(
            Target::parse("neocities://neocities.org").unwrap(),
            Target::Neocities {
                base: "https://neocities.org".into()
            }
        );
        assert_eq!(
            Target::parse("neocities+http://127.0.0.1:4000").unwrap(),
            Target::Neocities {
                base: "http://127.0.0.1:4000".into()
            }
        );
        for bad in ["", "ftp://host/x", "webdav+https:///x"] {
            let e = Target::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
    }
}
