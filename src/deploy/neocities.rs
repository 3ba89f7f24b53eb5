//! Neocities through its HTTP API (neocities.org/api, and the server's own
//! source, `app/api.rb` and `models/site.rb`): `GET /api/info` (the plan),
//! `GET /api/list` (every file with its `sha1_hash`), `POST /api/upload`
//! (multipart, a form field per file named by its path; one refused file
//! cancels the whole request), `POST /api/delete` (`filenames[]`; one
//! missing path cancels the whole request). The API key comes from
//! `NEOCITIES_API_KEY` and is sent only in the Authorization header.

use super::host::{Failure, Listed, Upload};
use super::records::SumKind;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::time::Duration;

pub struct Neocities {
    base: String,
    key: String,
    client: reqwest::Client,
}

/// A Neocities plan's limits, as `models/site.rb` sets them
/// (`PLAN_FEATURES`, `MAX_FILE_SIZE`, `VALID_EXTENSIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub name: &'static str,
    /// Bytes (`Filesize.from('1GB')` is 10^9).
    pub space: u64,
    /// Files and folders together.
    pub files: usize,
    /// Only the extensions of `FREE_EXTENSIONS`.
    pub file_types_limited: bool,
}

pub const FREE: Plan = Plan {
    name: "free",
    space: 1_000_000_000,
    files: 15_000,
    file_types_limited: true,
};
pub const SUPPORTER: Plan = Plan {
    name: "supporter",
    space: 50_000_000_000,
    files: 100_000,
    file_types_limited: false,
};
/// The largest file any plan takes.
pub const MAX_FILE_SIZE: u64 = 100_000_000;

/// The extensions a free site may hold (`Site::VALID_EXTENSIONS`).
pub const FREE_EXTENSIONS: &[&str] = &[
    "html",
    "htm",
    "txt",
    "text",
    "css",
    "js",
    "jpg",
    "jpeg",
    "jxl",
    "png",
    "apng",
    "gif",
    "svg",
    "md",
    "markdown",
    "eot",
    "ttf",
    "woff",
    "woff2",
    "json",
    "geojson",
    "csv",
    "tsv",
    "mf",
    "ico",
    "pdf",
    "asc",
    "key",
    "pgp",
    "xml",
    "mid",
    "midi",
    "manifest",
    "otf",
    "webapp",
    "less",
    "sass",
    "rss",
    "kml",
    "dae",
    "obj",
    "mtl",
    "scss",
    "webp",
    "avif",
    "xcf",
    "epub",
    "gltf",
    "bin",
    "webmanifest",
    "knowl",
    "atom",
    "opml",
    "rdf",
    "map",
    "gpg",
    "resolvehandle",
    "pls",
    "yaml",
    "yml",
    "toml",
    "osdx",
    "mjs",
    "cjs",
    "ts",
    "glb",
    "py",
    "glsl",
    "sf2",
];

/// Whether a free site may hold `path`, by its extension.
pub fn free_may_hold(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((_, ext)) => FREE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()),
        // No extension: Neocities takes it when its content is text.
        None => true,
    }
}

#[derive(Deserialize)]
struct Answer {
    result: String,
    #[serde(default)]
    error_type: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    files: Vec<ListedFile>,
    #[serde(default)]
    info: Option<Info>,
}

#[derive(Deserialize)]
struct ListedFile {
    path: String,
    #[serde(default)]
    is_directory: bool,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    sha1_hash: Option<String>,
}

#[derive(Deserialize)]
struct Info {
    #[serde(default)]
    supporter: bool,
}

impl Neocities {
    /// Files and bytes per upload request (bounded, so that one request
    /// stays well under a proxy's limit), and requests in flight.
    pub const BATCHING: (usize, u64, usize) = (100, 16_000_000, 2);

    pub fn new(base: &str) -> Result<Neocities> {
        let key = std::env::var("NEOCITIES_API_KEY").unwrap_or_default();
        if key.trim().is_empty() {
            return Err(Error::Usage(format!(
                "deploying to {base} needs an API key in NEOCITIES_API_KEY (Neocities: Settings, API key)"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("verso/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Failed(format!("{base}: could not set up an HTTP client: {e}")))?;
        Ok(Neocities {
            base: base.trim_end_matches('/').to_string(),
            key: key.trim().to_string(),
            client,
        })
    }

    fn request(&self, method: reqwest::Method, call: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/api/{call}", self.base))
            .bearer_auth(&self.key)
    }

    /// Send a request and sort its answer.
    async fn call(&self, request: reqwest::RequestBuilder) -> std::result::Result<Answer, Failure> {
        let response = request.send().await.map_err(|e| self.no_answer(e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let answer: Option<Answer> = serde_json::from_str(&text).ok();
        let words = answer
            .as_ref()
            .map(|a| format!("{} ({})", a.message, a.error_type))
            .unwrap_or_else(|| format!("HTTP {status}"));
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(Failure::Transient {
                message: format!("Neocities answered {status}: {words}"),
                retry_after,
            });
        }
        match answer {
            Some(a) if status.is_success() && a.result == "success" => Ok(a),
            Some(a) if a.error_type == "invalid_auth" => Err(Failure::Failed(format!(
                "Neocities refused the API key in NEOCITIES_API_KEY: {}",
                a.message
            ))),
            Some(a) => Err(Failure::Refused(a.message)),
            None => Err(Failure::Failed(format!("Neocities answered {status}"))),
        }
    }

    /// The account's plan.
    pub async fn plan(&self) -> std::result::Result<Plan, Failure> {
        let answer = self
            .call(self.request(reqwest::Method::GET, "info"))
            .await?;
        Ok(match answer.info {
            Some(Info { supporter: true }) => SUPPORTER,
            _ => FREE,
        })
    }

    pub async fn list(&self) -> std::result::Result<Vec<(String, Listed)>, Failure> {
        let answer = self
            .call(self.request(reqwest::Method::GET, "list"))
            .await?;
        Ok(answer
            .files
            .into_iter()
            .filter(|f| !f.is_directory)
            .map(|f| {
                let sum = f.sha1_hash.as_deref().and_then(|s| SumKind::Sha1.parse(s));
                (
                    f.path.trim_start_matches('/').to_string(),
                    Listed { size: f.size, sum },
                )
            })
            .collect())
    }

    pub async fn upload(&self, batch: &[Upload]) -> std::result::Result<(), Failure> {
        // Field names as they are: reqwest's default would send a path's
        // `/` as `name*=utf-8''a%2Fb`, which Rack does not read as a name.
        let mut form = reqwest::multipart::Form::new().percent_encode_noop();
        for upload in batch {
            let name = upload.path.rsplit('/').next().unwrap_or(&upload.path);
            let part =
                reqwest::multipart::Part::bytes(upload.bytes.to_vec()).file_name(name.to_string());
            form = form.part(upload.path.clone(), part);
        }
        self.call(
            self.request(reqwest::Method::POST, "upload")
                .multipart(form),
        )
        .await
        .map(|_| ())
    }

    /// Delete `paths`. Neocities cancels a request naming a path it does
    /// not hold, so on that answer the paths it still holds are asked for
    /// again alone.
    pub async fn delete(&self, paths: &[String]) -> std::result::Result<(), Failure> {
        let send = |paths: &[String]| {
            let form: Vec<(&str, &str)> =
                paths.iter().map(|p| ("filenames[]", p.as_str())).collect();
            self.call(self.request(reqwest::Method::POST, "delete").form(&form))
        };
        match send(paths).await {
            Err(Failure::Refused(message)) if message.contains("was not found") => {
                let held: std::collections::HashSet<String> =
                    self.list().await?.into_iter().map(|(p, _)| p).collect();
                let left: Vec<String> = paths
                    .iter()
                    .filter(|p| held.contains(*p))
                    .cloned()
                    .collect();
                if left.is_empty() {
                    return Ok(());
                }
                send(&left).await.map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }

    /// One file's bytes (`GET /api/download`).
    pub async fn download(&self, path: &str) -> std::result::Result<Vec<u8>, Failure> {
        let response = self
            .request(reqwest::Method::GET, "download")
            .query(&[("path", path)])
            .send()
            .await
            .map_err(|e| self.no_answer(e))?;
        if !response.status().is_success() {
            return Err(Failure::Failed(format!(
                "Neocities answered {} for {path}",
                response.status()
            )));
        }
        response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| self.no_answer(e))
    }

    /// A request that got no (whole) answer: worth trying again.
    fn no_answer(&self, e: reqwest::Error) -> Failure {
        Failure::Transient {
            message: format!("no answer from {}: {}", self.base, plain(e)),
            retry_after: None,
        }
    }
}

/// A reqwest error's words without the URL's query (none carries a key,
/// but the habit is cheap).
fn plain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_site_takes_pages_and_images_not_audio() {
        assert!(free_may_hold("similar/0001-01.html"));
        assert!(free_may_hold("media/Cover.JPG"));
        assert!(!free_may_hold("media/reading.mp3"));
        assert!(free_may_hold("README"));
    }
}
