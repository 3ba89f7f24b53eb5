//! Embedding servers: Ollama's `POST /api/embed` and the OpenAI-compatible
//! `POST /v1/embeddings` (also served by Ollama, llama.cpp, vLLM,
//! text-embeddings-inference and LM Studio). One request per batch, with a
//! timeout; failures that may pass (no connection, a timeout, 429, 5xx) are
//! retried with a doubling pause a bounded number of times.

use super::{EmbedError, Model};
use crate::config::ServerApi;
use serde_json::{json, Value};
use std::time::Duration;

/// Attempts per batch, and the pause before the second.
const ATTEMPTS: u32 = 4;
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const TIMEOUT: Duration = Duration::from_secs(120);
/// Batches in flight at once.
const IN_FLIGHT: usize = 4;

pub struct Server {
    api: ServerApi,
    endpoint: String,
    name: String,
    batch: usize,
    client: reqwest::blocking::Client,
}

impl Server {
    pub fn new(api: ServerApi, url: &str, name: &str, batch: usize) -> Server {
        let path = match api {
            ServerApi::Ollama => "/api/embed",
            ServerApi::OpenAi => "/v1/embeddings",
        };
        crate::tls::install();
        Server {
            api,
            endpoint: format!("{url}{path}"),
            name: name.to_string(),
            batch,
            client: reqwest::blocking::Client::builder()
                .timeout(TIMEOUT)
                .pool_max_idle_per_host(IN_FLIGHT)
                .build()
                .expect("an HTTP client with no TLS settings of its own builds"),
        }
    }

    fn error(&self, message: impl Into<String>, hint: &str) -> EmbedError {
        EmbedError::Server {
            url: self.endpoint.clone(),
            message: message.into(),
            hint: hint.to_string(),
        }
    }

    /// One request; `Err((retry, error))`.
    fn request(&self, texts: &[&str]) -> Result<Value, (bool, EmbedError)> {
        let body = json!({ "model": self.name, "input": texts });
        let response = match self.client.post(&self.endpoint).json(&body).send() {
            Ok(response) => response,
            Err(e) => {
                // The cause (refused, timed out) is the sentence worth reading.
                let cause = std::error::Error::source(&e).map_or(e.to_string(), |c| c.to_string());
                return Err((
                    true,
                    self.error(cause, "start the server, or check `model.url`"),
                ));
            }
        };
        match response.status().as_u16() {
            200..=299 => response.json::<Value>().map_err(|e| {
                (
                    false,
                    self.error(
                        format!("the reply is not JSON: {e}"),
                        "check that `model.url` is the embedding server",
                    ),
                )
            }),
            code => {
                let text = response.text().unwrap_or_default();
                let text: String = text.chars().take(300).collect();
                let retry = code == 429 || code >= 500;
                let hint = match code {
                    404 => "check `model.url` and `model.server` (the API path), and that the server has `model.name`",
                    _ => "check the server's log",
                };
                Err((
                    retry,
                    self.error(format!("the server answered {code}: {text}"), hint),
                ))
            }
        }
    }

    /// The vectors of a reply, in the order of the texts sent.
    fn vectors(&self, reply: &Value, count: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
        let malformed = |what: &str| {
            self.error(
                format!("malformed reply: {what}"),
                "check that `model.server` names the API this server speaks",
            )
        };
        let rows: Vec<&Value> = match self.api {
            ServerApi::Ollama => reply["embeddings"]
                .as_array()
                .ok_or_else(|| malformed("no `embeddings` list"))?
                .iter()
                .collect(),
            ServerApi::OpenAi => {
                let mut data: Vec<&Value> = reply["data"]
                    .as_array()
                    .ok_or_else(|| malformed("no `data` list"))?
                    .iter()
                    .collect();
                data.sort_by_key(|d| d["index"].as_u64().unwrap_or(u64::MAX));
                data.into_iter().map(|d| &d["embedding"]).collect()
            }
        };
        if rows.len() != count {
            return Err(malformed(&format!(
                "{} vectors for {count} texts",
                rows.len()
            )));
        }
        rows.into_iter()
            .map(|row| {
                row.as_array()
                    .ok_or_else(|| malformed("a vector is not a list"))?
                    .iter()
                    .map(|x| {
                        x.as_f64()
                            .map(|x| x as f32)
                            .ok_or_else(|| malformed("a vector holds a value that is not a number"))
                    })
                    .collect()
            })
            .collect()
    }
}

impl Model for Server {
    fn describe(&self) -> String {
        format!("the server {} (model {})", self.endpoint, self.name)
    }

    fn batch(&self) -> usize {
        self.batch
    }

    fn in_flight(&self) -> usize {
        IN_FLIGHT
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut pause = FIRST_PAUSE;
        let mut attempt = 1;
        loop {
            match self.request(texts) {
                Ok(reply) => return self.vectors(&reply, texts.len()),
                Err((true, _)) if attempt < ATTEMPTS => {
                    std::thread::sleep(pause);
                    pause *= 2;
                    attempt += 1;
                }
                Err((_, e)) => return Err(e),
            }
        }
    }
}
