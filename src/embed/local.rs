//! A sentence-transformers folder run in-process with candle (BERT family):
//! the `tokenizers` tokenizer truncated at the folder's `max_seq_length`,
//! the pooling of `1_Pooling/config.json` (mean, CLS or max), and the
//! normalisation `modules.json` lists.

use super::{EmbedError, Model};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Pooling {
    Mean,
    Cls,
    Max,
}

pub struct LocalModel {
    folder: PathBuf,
    model: BertModel,
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
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        let weights = folder.join("model.safetensors");
        // SAFETY: the weights are mapped read-only; verso does not write them.
        let vb =
            unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu) }
                .map_err(|e| EmbedError::model(&weights, e))?;
        let model = BertModel::load(vb, &config).map_err(|e| EmbedError::model(&weights, e))?;
        keep_freed_memory();
        Ok(LocalModel {
            folder: folder.to_path_buf(),
            model,
            tokenizer,
            pooling,
            normalise,
            batch: batch.max(1),
        })
    }

    fn run(&self, texts: &[&str]) -> candle_core::Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let rows = encodings.len();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings
                .iter()
                .flat_map(|e| f(e).iter().copied())
                .collect()
        };
        let device = Device::Cpu;
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), (rows, len), &device)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), (rows, len), &device)?;
        let mask = Tensor::from_vec(flat(&|e| e.get_attention_mask()), (rows, len), &device)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let pooled = match self.pooling {
            Pooling::Mean => {
                let sum = hidden.broadcast_mul(&mask)?.sum(1)?;
                let count = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
                sum.broadcast_div(&count)?
            }
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Max => {
                // Padding never wins the maximum.
                let lowered = hidden.broadcast_add(&((mask - 1.0)? * 1e9)?)?;
                lowered.max(1)?
            }
        };
        let pooled = match self.normalise {
            true => {
                let norm = pooled
                    .sqr()?
                    .sum_keepdim(1)?
                    .sqrt()?
                    .clamp(1e-12, f64::MAX)?;
                pooled.broadcast_div(&norm)?
            }
            false => pooled,
        };
        pooled.to_vec2()
    }
}

/// candle allocates every intermediate tensor anew, tens of megabytes each;
/// glibc maps large blocks fresh and unmaps them on free, so every forward
/// pass faulted in and zeroed its memory again. Keep freed blocks for reuse.
#[cfg(target_os = "linux")]
fn keep_freed_memory() {
    // SAFETY: mallopt only changes the allocator's thresholds.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}

#[cfg(not(target_os = "linux"))]
fn keep_freed_memory() {}

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
