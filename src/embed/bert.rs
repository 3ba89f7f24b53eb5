//! A BERT encoder's forward pass on the CPU, written for throughput
//! (candle-transformers' BERT ran at a third of sentence-transformers'
//! speed, most of it outside the matrix products):
//! - a batch's texts are not padded: their tokens are the rows of one
//!   matrix, and attention runs per text and head, so there is no mask;
//! - every matrix product is gemm's, with the bias and the residual added
//!   in the same pass;
//! - one set of buffers serves every layer and every batch;
//! - GELU's erf and softmax's exp are polynomials the compiler vectorises
//!   (erf as Abramowitz and Stegun 7.1.26, as PyTorch's vectorised erf).
//!
//! The weights are read from the folder's safetensors file with the
//! `safetensors` crate (f32, f16 or bf16 tensors, as f32).

use crate::disjoint::DisjointMut;
use gemm_common::Parallelism;
use rayon::prelude::*;
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;
use std::path::Path;
use std::sync::Mutex;

/// The keys of a BERT `config.json` that shape the forward pass.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "gelu")]
    pub hidden_act: String,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub model_type: Option<String>,
}

fn gelu() -> String {
    "gelu".into()
}

fn default_eps() -> f64 {
    1e-12
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Activation {
    /// GELU with the exact erf (Hugging Face's "gelu").
    Gelu,
    /// GELU with the tanh approximation ("gelu_new", "gelu_pytorch_tanh").
    GeluTanh,
    Relu,
}

/// `x W^T + b` for a PyTorch `Linear`, its weight kept transposed
/// (`inputs × outputs`, row-major) so that gemm reads rows.
struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

struct Layer {
    /// Query, key and value in one product: `hidden × 3·hidden`.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

/// Buffers kept between batches, grown to the largest batch seen.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    context: Vec<f32>,
    next: Vec<f32>,
    inner: Vec<f32>,
}

pub struct Bert {
    words: Vec<f32>,
    positions: Vec<f32>,
    token_types: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    inner: usize,
    activation: Activation,
    eps: f32,
    scratch: Mutex<Scratch>,
}

/// One text's tokens.
pub struct Tokens<'a> {
    pub ids: &'a [u32],
    pub types: &'a [u32],
}

/// The weights file's bytes and the prefix its names carry.
struct Weights {
    bytes: Vec<u8>,
    prefix: String,
}

impl Weights {
    fn open(path: &Path, config: &Config) -> Result<Weights, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        let names: Vec<String> = SafeTensors::deserialize(&bytes)
            .map_err(|e| e.to_string())?
            .names()
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut prefixes = vec![String::new(), "bert.".to_string()];
        if let Some(kind) = &config.model_type {
            prefixes.push(format!("{kind}."));
        }
        let prefix = prefixes
            .into_iter()
            .find(|p| {
                names
                    .iter()
                    .any(|n| *n == format!("{p}embeddings.word_embeddings.weight"))
            })
            .ok_or("no embeddings.word_embeddings.weight: not a BERT checkpoint")?;
        Ok(Weights { bytes, prefix })
    }

    /// A tensor as f32 values, checked against the shape expected; `None`
    /// stands for a size the configuration does not give.
    fn read(&self, name: &str, shape: &[Option<usize>]) -> Result<Vec<f32>, String> {
        let full = format!("{}{name}", self.prefix);
        let tensors = SafeTensors::deserialize(&self.bytes).map_err(|e| e.to_string())?;
        let tensor = tensors.tensor(&full).map_err(|e| format!("{full}: {e}"))?;
        let dims = tensor.shape();
        let fits = dims.len() == shape.len()
            && dims
                .iter()
                .zip(shape)
                .all(|(d, s)| s.is_none_or(|s| s == *d));
        if !fits {
            return Err(format!(
                "{full} has shape {dims:?}, the configuration says {shape:?}"
            ));
        }
        let bytes = tensor.data();
        let values = match tensor.dtype() {
            Dtype::F32 => (bytes.chunks_exact(4))
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => (bytes.chunks_exact(2))
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => (bytes.chunks_exact(2))
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => return Err(format!("{full} holds {other:?} values, not floats")),
        };
        Ok(values)
    }

    fn linear(&self, name: &str, inputs: usize, outputs: usize) -> Result<Linear, String> {
        let weight = self.read(&format!("{name}.weight"), &[Some(outputs), Some(inputs)])?;
        let bias = self.read(&format!("{name}.bias"), &[Some(outputs)])?;
        Ok(Linear {
            weight: transpose(&weight, outputs, inputs),
            bias,
            inputs,
            outputs,
        })
    }

    /// Query, key and value side by side, as one `Linear`.
    fn qkv(&self, name: &str, hidden: usize) -> Result<Linear, String> {
        let parts = ["query", "key", "value"]
            .iter()
            .map(|p| self.linear(&format!("{name}.{p}"), hidden, hidden))
            .collect::<Result<Vec<_>, _>>()?;
        let mut weight = Vec::with_capacity(hidden * 3 * hidden);
        for row in 0..hidden {
            for part in &parts {
                weight.extend_from_slice(&part.weight[row * hidden..(row + 1) * hidden]);
            }
        }
        Ok(Linear {
            weight,
            bias: parts.iter().flat_map(|p| p.bias.iter().copied()).collect(),
            inputs: hidden,
            outputs: 3 * hidden,
        })
    }

    /// A LayerNorm, saved as weight and bias or (older) gamma and beta.
    fn norm(&self, name: &str, size: usize) -> Result<Norm, String> {
        let pair = |w: &str, b: &str| -> Result<Norm, String> {
            Ok(Norm {
                weight: self.read(&format!("{name}.{w}"), &[Some(size)])?,
                bias: self.read(&format!("{name}.{b}"), &[Some(size)])?,
            })
        };
        pair("weight", "bias").or_else(|e| pair("gamma", "beta").map_err(|_| e))
    }
}

fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

impl Bert {
    pub fn load(weights: &Path, config: &Config) -> Result<Bert, String> {
        let activation = match config.hidden_act.as_str() {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => return Err(format!("hidden_act {other:?} is not supported")),
        };
        let (hidden, inner) = (config.hidden_size, config.intermediate_size);
        if config.num_attention_heads == 0 || hidden % config.num_attention_heads != 0 {
            return Err("hidden_size is not a multiple of num_attention_heads".into());
        }
        let w = Weights::open(weights, config)?;
        let words = w.read("embeddings.word_embeddings.weight", &[None, Some(hidden)])?;
        let positions = w.read(
            "embeddings.position_embeddings.weight",
            &[Some(config.max_position_embeddings), Some(hidden)],
        )?;
        let token_types = w.read(
            "embeddings.token_type_embeddings.weight",
            &[None, Some(hidden)],
        )?;
        let embedding_norm = w.norm("embeddings.LayerNorm", hidden)?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let at = format!("encoder.layer.{i}");
                Ok(Layer {
                    qkv: w.qkv(&format!("{at}.attention.self"), hidden)?,
                    attention_out: w.linear(
                        &format!("{at}.attention.output.dense"),
                        hidden,
                        hidden,
                    )?,
                    attention_norm: w.norm(&format!("{at}.attention.output.LayerNorm"), hidden)?,
                    up: w.linear(&format!("{at}.intermediate.dense"), hidden, inner)?,
                    down: w.linear(&format!("{at}.output.dense"), inner, hidden)?,
                    out_norm: w.norm(&format!("{at}.output.LayerNorm"), hidden)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Bert {
            words,
            positions,
            token_types,
            embedding_norm,
            layers,
            hidden,
            heads: config.num_attention_heads,
            inner,
            activation,
            eps: config.layer_norm_eps as f32,
            scratch: Mutex::new(Scratch::default()),
        })
    }

    /// The size of a token's hidden state.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The last hidden states of every token of `texts`, text after text
    /// (`hidden` values a token), handed to `pool` with each text's rows.
    pub fn forward<T>(
        &self,
        texts: &[Tokens],
        pool: impl Fn(&[f32]) -> T + Sync,
    ) -> Result<Vec<T>, String>
    where
        T: Send,
    {
        let h = self.hidden;
        let positions = self.positions.len() / h;
        let vocab = self.words.len() / h;
        let kinds = self.token_types.len() / h;
        let mut starts = Vec::with_capacity(texts.len() + 1);
        starts.push(0);
        for t in texts {
            if t.ids.len() > positions {
                return Err(format!(
                    "{} tokens, more than {positions} positions",
                    t.ids.len()
                ));
            }
            if let Some(id) = t.ids.iter().find(|&&id| id as usize >= vocab) {
                return Err(format!("token id {id} is outside the vocabulary"));
            }
            if let Some(k) = t.types.iter().find(|&&k| k as usize >= kinds) {
                return Err(format!("token type {k} is outside the model's types"));
            }
            starts.push(starts.last().unwrap() + t.ids.len());
        }
        let rows = *starts.last().unwrap();
        let mut guard = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        let s = &mut *guard;
        for (buffer, width) in [
            (&mut s.x, h),
            (&mut s.qkv, 3 * h),
            (&mut s.context, h),
            (&mut s.next, h),
            (&mut s.inner, self.inner),
        ] {
            buffer.resize(rows * width, 0.0);
        }

        // Embeddings: word + position + token type, then LayerNorm.
        for (t, text) in texts.iter().enumerate() {
            for (p, (&id, &kind)) in text.ids.iter().zip(text.types).enumerate() {
                let row = &mut s.x[(starts[t] + p) * h..(starts[t] + p + 1) * h];
                let word = &self.words[id as usize * h..][..h];
                let position = &self.positions[p * h..][..h];
                let kind = &self.token_types[kind as usize * h..][..h];
                for (i, out) in row.iter_mut().enumerate() {
                    *out = word[i] + kind[i] + position[i];
                }
            }
        }
        self.embedding_norm.apply(&mut s.x[..rows * h], h, self.eps);

        for layer in &self.layers {
            layer
                .qkv
                .apply(&s.x[..rows * h], None, &mut s.qkv[..rows * 3 * h]);
            self.attention(&s.qkv, &starts, &mut s.context[..rows * h]);
            layer.attention_out.apply(
                &s.context[..rows * h],
                Some(&s.x[..rows * h]),
                &mut s.next[..rows * h],
            );
            layer
                .attention_norm
                .apply(&mut s.next[..rows * h], h, self.eps);
            let inner = &mut s.inner[..rows * self.inner];
            layer.up.apply(&s.next[..rows * h], None, inner);
            activate(inner, self.activation);
            layer
                .down
                .apply(inner, Some(&s.next[..rows * h]), &mut s.x[..rows * h]);
            layer.out_norm.apply(&mut s.x[..rows * h], h, self.eps);
        }
        let x = &s.x;
        Ok(starts
            .par_windows(2)
            .map(|w| pool(&x[w[0] * h..w[1] * h]))
            .collect())
    }

    /// Self-attention of every text and head: `softmax(Q K^T / √d) V`.
    fn attention(&self, qkv: &[f32], starts: &[usize], context: &mut [f32]) {
        let h = self.hidden;
        let d = h / self.heads;
        let scale = 1.0 / (d as f32).sqrt();
        let out = DisjointMut::new(context);
        let tasks: Vec<(usize, usize)> = (0..starts.len() - 1)
            .flat_map(|t| (0..self.heads).map(move |head| (t, head)))
            .collect();
        tasks
            .into_par_iter()
            .for_each_init(Vec::new, |scores: &mut Vec<f32>, (t, head)| {
                let (start, len) = (starts[t], starts[t + 1] - starts[t]);
                scores.resize(len * len, 0.0);
                let q = qkv[start * 3 * h + head * d..].as_ptr();
                let k = qkv[start * 3 * h + h + head * d..].as_ptr();
                let v = qkv[start * 3 * h + 2 * h + head * d..].as_ptr();
                let stride = (3 * h) as isize;
                // SAFETY: every pointer and stride stays within `qkv`,
                // `scores` and this text's rows and head's columns of
                // `context`, which no other task writes.
                unsafe {
                    matmul(
                        len,
                        len,
                        d,
                        scores.as_mut_ptr(),
                        1,
                        len as isize,
                        false,
                        q,
                        1,
                        stride,
                        k,
                        stride,
                        1,
                        0.0,
                        scale,
                        Parallelism::None,
                    );
                }
                for row in scores.chunks_exact_mut(len) {
                    vectorised::softmax(row);
                }
                unsafe {
                    matmul(
                        len,
                        d,
                        len,
                        out.at(start * h + head * d),
                        1,
                        h as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        len as isize,
                        v,
                        1,
                        stride,
                        0.0,
                        1.0,
                        Parallelism::None,
                    );
                }
            });
    }
}

/// gemm-f32's kernel, with the problem transposed when the destination is
/// row-major, as the `gemm` crate's own entry point does (its microkernel
/// prefers column-major destinations; without the transpose the forward
/// pass ran about 30% slower). gemm-f32 alone spares the build the f16,
/// f64 and complex kernels the `gemm` crate compiles.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_cs: isize,
    dst_rs: isize,
    read_dst: bool,
    lhs: *const f32,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const f32,
    rhs_cs: isize,
    rhs_rs: isize,
    alpha: f32,
    beta: f32,
    parallelism: Parallelism,
) {
    let (lhs, rhs) = (lhs as *mut f32, rhs as *mut f32);
    let (m, n, dst_cs, dst_rs, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs) =
        if dst_cs.abs() < dst_rs.abs() {
            (
                n, m, dst_rs, dst_cs, rhs, rhs_rs, rhs_cs, lhs, lhs_rs, lhs_cs,
            )
        } else {
            (
                m, n, dst_cs, dst_rs, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs,
            )
        };
    gemm_f32::gemm::f32::get_gemm_fn()(
        m,
        n,
        k,
        dst,
        dst_cs,
        dst_rs,
        read_dst,
        lhs,
        lhs_cs,
        lhs_rs,
        rhs,
        rhs_cs,
        rhs_rs,
        alpha,
        beta,
        false,
        false,
        false,
        parallelism,
    )
}

impl Linear {
    /// `out = x W^T + b (+ residual)`, `x` having `inputs` values a row.
    fn apply(&self, x: &[f32], residual: Option<&[f32]>, out: &mut [f32]) {
        let rows = x.len() / self.inputs;
        for (r, row) in out.chunks_exact_mut(self.outputs).enumerate() {
            row.copy_from_slice(&self.bias);
            if let Some(res) = residual {
                for (o, a) in row.iter_mut().zip(&res[r * self.outputs..]) {
                    *o += a;
                }
            }
        }
        let threads = rayon::current_num_threads();
        // SAFETY: the dimensions and strides describe `out` (rows ×
        // outputs), `x` (rows × inputs) and the weight (inputs × outputs).
        unsafe {
            matmul(
                rows,
                self.outputs,
                self.inputs,
                out.as_mut_ptr(),
                1,
                self.outputs as isize,
                true,
                x.as_ptr(),
                1,
                self.inputs as isize,
                self.weight.as_ptr(),
                1,
                self.outputs as isize,
                1.0,
                1.0,
                if threads > 1 {
                    Parallelism::Rayon(threads)
                } else {
                    Parallelism::None
                },
            );
        }
    }
}

impl Norm {
    /// LayerNorm of each row of `x`, in place.
    fn apply(&self, x: &mut [f32], width: usize, eps: f32) {
        x.par_chunks_mut(width)
            .for_each(|row| vectorised::layer_norm(row, &self.weight, &self.bias, eps));
    }
}

fn activate(x: &mut [f32], activation: Activation) {
    x.par_chunks_mut(1 << 14)
        .for_each(|chunk| match activation {
            Activation::Gelu => vectorised::gelu_erf(chunk),
            Activation::GeluTanh => chunk.iter_mut().for_each(|v| {
                let c = (2.0 / std::f32::consts::PI).sqrt();
                *v = 0.5 * *v * (1.0 + (c * (*v + 0.044715 * *v * *v * *v)).tanh())
            }),
            Activation::Relu => chunk.iter_mut().for_each(|v| *v = v.max(0.0)),
        });
}

/// Kernels written branch-free, with sums and maxima over 16 lanes, so
/// that they vectorise; each is compiled again for AVX2 and FMA and chosen
/// at run time. Both versions do the same IEEE operations in the same
/// order (Rust never fuses a multiply and an add on its own), so they give
/// the same bits.
mod vectorised {
    const LANES: usize = 16;

    /// e^x for x ≤ 0 (Cephes' expf: 2^n times a degree-6 polynomial).
    #[inline(always)]
    fn exp(x: f32) -> f32 {
        let x = x.clamp(-87.0, 0.0);
        let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
        let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
        let mut p = 1.987_569_1e-4_f32;
        p = p * r + 1.398_199_9e-3;
        p = p * r + 8.333_452e-3;
        p = p * r + 4.166_579_6e-2;
        p = p * r + 1.666_666_5e-1;
        p = p * r + 0.5;
        let e = p * r * r + r + 1.0;
        // SAFETY: n is an integer in [-126, 0] for x in [-87, 0], so the
        // conversion is exact; an unchecked one vectorises, `as` does not.
        let n = unsafe { n.to_int_unchecked::<i32>() };
        e * f32::from_bits(((n + 127) as u32) << 23)
    }

    /// erf (Abramowitz and Stegun 7.1.26, absolute error below 1.5e-7).
    #[inline(always)]
    fn erf(x: f32) -> f32 {
        let a = x.abs();
        let t = 1.0 / (1.0 + 0.327_591_1 * a);
        let poly = t
            * (0.254_829_6
                + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
        (1.0 - poly * exp(-a * a)).copysign(x)
    }

    /// Σ f(x) over 16 lanes, then across them.
    #[inline(always)]
    fn sum_of(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
        let mut lanes = [0.0f32; LANES];
        let mut chunks = xs.chunks_exact(LANES);
        for chunk in &mut chunks {
            for (lane, x) in lanes.iter_mut().zip(chunk) {
                *lane += f(*x);
            }
        }
        let rest: f32 = chunks.remainder().iter().map(|x| f(*x)).sum();
        lanes.iter().sum::<f32>() + rest
    }

    #[inline(always)]
    fn max_of(xs: &[f32]) -> f32 {
        let mut lanes = [f32::NEG_INFINITY; LANES];
        let mut chunks = xs.chunks_exact(LANES);
        for chunk in &mut chunks {
            for (lane, x) in lanes.iter_mut().zip(chunk) {
                *lane = lane.max(*x);
            }
        }
        let rest = chunks
            .remainder()
            .iter()
            .fold(f32::NEG_INFINITY, |m, x| m.max(*x));
        lanes.iter().fold(rest, |m, x| m.max(*x))
    }

    #[inline(always)]
    fn gelu_erf_plain(xs: &mut [f32]) {
        for v in xs {
            *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
        }
    }

    #[inline(always)]
    fn softmax_plain(row: &mut [f32]) {
        let max = max_of(row);
        for v in row.iter_mut() {
            *v = exp(*v - max);
        }
        let inv = 1.0 / sum_of(row, |v| v);
        for v in row.iter_mut() {
            *v *= inv;
        }
    }

    #[inline(always)]
    fn layer_norm_plain(row: &mut [f32], weight: &[f32], bias: &[f32], eps: f32) {
        let n = row.len() as f32;
        let mean = sum_of(row, |v| v) / n;
        let var = sum_of(row, |v| (v - mean) * (v - mean)) / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(weight).zip(bias) {
            *v = (*v - mean) * inv * w + b;
        }
    }

    fn avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        return std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    /// `pub fn $name(args)`: `$plain` compiled for AVX2 and FMA where the
    /// CPU has them, else as it is.
    macro_rules! dispatched {
        ($(#[$doc:meta])* $name:ident => $plain:ident($($arg:ident: $ty:ty),*)) => {
            $(#[$doc])*
            pub fn $name($($arg: $ty),*) {
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx2,fma")]
                    fn fast($($arg: $ty),*) {
                        $plain($($arg),*)
                    }
                    if avx2() {
                        // SAFETY: the CPU has AVX2 and FMA.
                        return unsafe { fast($($arg),*) };
                    }
                }
                $plain($($arg),*)
            }
        };
    }

    dispatched!(
        /// GELU with the exact erf, in place.
        gelu_erf => gelu_erf_plain(xs: &mut [f32])
    );
    dispatched!(
        /// Softmax of one row, in place.
        softmax => softmax_plain(row: &mut [f32])
    );
    dispatched!(
        /// LayerNorm of one row, in place.
        layer_norm => layer_norm_plain(row: &mut [f32], weight: &[f32], bias: &[f32], eps: f32)
    );

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn exp_and_erf_are_close_to_the_library_s() {
            for i in 0..=20_000 {
                let x = -87.0 * i as f32 / 20_000.0;
                let (ours, lib) = (exp(x), x.exp());
                assert!(
                    (ours - lib).abs() <= 2e-7 * lib,
                    "exp({x}): {ours} vs {lib}"
                );
            }
            for i in -20_000..=20_000 {
                let x = i as f32 / 2_000.0;
                let lib = reference_erf(x as f64) as f32;
                // 1.5e-7 for the formula, the rest f32 rounding.
                assert!((erf(x) - lib).abs() < 5e-7, "erf({x}): {} vs {lib}", erf(x));
            }
        }

        #[test]
        fn the_dispatched_and_plain_kernels_give_the_same_bits() {
            let xs: Vec<f32> = (0..4099).map(|i| (i as f32 - 2049.0) / 257.0).collect();
            let same = |fast: &dyn Fn(&mut [f32]), plain: &dyn Fn(&mut [f32])| {
                let (mut a, mut b) = (xs.clone(), xs.clone());
                fast(&mut a);
                plain(&mut b);
                assert_eq!(a, b);
            };
            same(&|x| gelu_erf(x), &|x| gelu_erf_plain(x));
            same(&|x| softmax(x), &|x| softmax_plain(x));
            let (w, b): (Vec<f32>, Vec<f32>) = (0..4099).map(|i| (i as f32 / 99.0, 0.5)).unzip();
            same(&|x| layer_norm(x, &w, &b, 1e-12), &|x| {
                layer_norm_plain(x, &w, &b, 1e-12)
            });
        }

        #[test]
        fn softmax_and_layer_norm_match_their_definitions() {
            let row: Vec<f32> = (0..37).map(|i| (i as f32 * 0.7).sin() * 5.0).collect();
            let mut ours = row.clone();
            softmax(&mut ours);
            let total: f64 = row.iter().map(|&v| (v as f64).exp()).sum();
            for (o, v) in ours.iter().zip(&row) {
                assert!((*o as f64 - (*v as f64).exp() / total).abs() < 1e-6);
            }
            let mut ours = row.clone();
            let (w, b) = (vec![2.0; 37], vec![1.0; 37]);
            layer_norm(&mut ours, &w, &b, 1e-12);
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / 37.0;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / 37.0;
            for (o, v) in ours.iter().zip(&row) {
                let want = (*v as f64 - mean) / var.sqrt() * 2.0 + 1.0;
                assert!((*o as f64 - want).abs() < 1e-5, "{o} vs {want}");
            }
        }

        /// erf by its Taylor series in f64, for reference: 2/√π Σ (-1)^n
        /// x^(2n+1) / (n! (2n+1)), exact to about 1e-9 for |x| ≤ 4; beyond,
        /// erf is ±1 within 2e-8.
        fn reference_erf(x: f64) -> f64 {
            if x.abs() > 4.0 {
                return x.signum();
            }
            let (mut sum, mut term, mut n) = (0.0, x, 0.0);
            while term.abs() > 1e-17 {
                sum += term / (2.0 * n + 1.0);
                n += 1.0;
                term *= -x * x / n;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        }
    }
}
