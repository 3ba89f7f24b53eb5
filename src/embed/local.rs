//! A sentence-transformers folder run in-process (BERT family, through
//! `bert`): the `tokenizers` tokenizer truncated at the folder's
//! `max_seq_length`, the pooling of `1_Pooling/config.json` (mean, CLS or
//! max), and the normalisation `modules.json` lists.

use super::bert::{Bert, Config as BertConfig, Tokens};
use super::{EmbedError, Model};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tokenizers::{Tokenizer, TruncationParams};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Pooling {
    Mean,
    Cls,
    Max,
}

pub struct LocalModel {
    folder: PathBuf,
    model: Bert,
    tokenizer: Tokenizer,
    pooling: Pooling,
    normalise: bool,
    batch: usize,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct Module {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: String,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EmbedError> {
    let bytes = std::fs::read(path).map_err(|e| EmbedError::model(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| EmbedError::model(path, e))
}

impl LocalModel {
    pub fn open(folder: &Path, batch: usize) -> Result<LocalModel, EmbedError> {
        let modules: Vec<Module> = read_json(&folder.join("modules.json"))?;
        let pooling_path = modules
            .iter()
            .find(|m| m.kind.ends_with("Pooling"))
            .map(|m| folder.join(&m.path).join("config.json"))
            .unwrap_or_else(|| folder.join("1_Pooling/config.json"));
        let p: PoolingConfig = read_json(&pooling_path)?;
        let pooling = match (
            p.pooling_mode_mean_tokens,
            p.pooling_mode_cls_token,
            p.pooling_mode_max_tokens,
        ) {
            (true, false, false) => Pooling::Mean,
            (false, true, false) => Pooling::Cls,
            (false, false, true) => Pooling::Max,
            _ => {
                return Err(EmbedError::model(
                    &pooling_path,
                    "exactly one of mean, CLS and max pooling is supported",
                ))
            }
        };
        let normalise = modules.iter().any(|m| m.kind.ends_with("Normalize"));
        let sbert: SentenceBertConfig = read_json(&folder.join("sentence_bert_config.json"))?;
        let config_path = folder.join("config.json");
        let config: BertConfig = read_json(&config_path)?;
        let max_len = sbert
            .max_seq_length
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);
        let tokenizer_path = folder.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| EmbedError::model(&tokenizer_path, e))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::model(&tokenizer_path, e))?;
        // Texts are not padded: the encoder takes each at its own length.
        tokenizer.with_padding(None);
        let weights = folder.join("model.safetensors");
        let model = Bert::load(&weights, &config).map_err(|e| EmbedError::model(&weights, e))?;
        Ok(LocalModel {
            folder: folder.to_path_buf(),
            model,
            tokenizer,
            pooling,
            normalise,
            batch: batch.max(1),
        })
    }

    fn run(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| e.to_string())?;
        let tokens: Vec<Tokens> = encodings
            .iter()
            .map(|e| Tokens {
                ids: e.get_ids(),
                types: e.get_type_ids(),
            })
            .collect();
        let width = self.model.hidden();
        self.model.forward(&tokens, |rows| {
            let mut pooled = match self.pooling {
                Pooling::Mean => {
                    let mut sum = vec![0.0f32; width];
                    for row in rows.chunks_exact(width) {
                        sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                    }
                    let count = (rows.len() / width).max(1) as f32;
                    sum.iter_mut().for_each(|s| *s /= count);
                    sum
                }
                Pooling::Cls => rows.get(..width).map_or(vec![0.0; width], <[f32]>::to_vec),
                Pooling::Max => {
                    rows.chunks_exact(width)
                        .fold(vec![f32::NEG_INFINITY; width], |mut max, row| {
                            max.iter_mut().zip(row).for_each(|(m, v)| *m = m.max(*v));
                            max
                        })
                }
            };
            if self.normalise {
                let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                pooled.iter_mut().for_each(|v| *v /= norm);
            }
            pooled
        })
    }
}

impl Model for LocalModel {
    fn describe(&self) -> String {
        format!("the local model {}", self.folder.display())
    }

    fn batch(&self) -> usize {
        self.batch
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.run(texts)
            .map_err(|e| EmbedError::Failed(format!("{}: {e}", self.describe())))
    }
}
