//! Similar rankings: the full cosine matrix of normalised rows, computed in
//! tiles in parallel, then top-k per row by selection (ties: lower row first).

use crate::vectors::Matrix;
use rayon::prelude::*;
use std::cmp::Ordering;

/// Dot product with eight independent lanes; the summation order depends only
/// on the index, so `dot(a, b) == dot(b, a)` exactly and equal rows tie exactly.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
        + tail
}

const ROW_TILE: usize = 16;
const COL_TILE: usize = 128;

/// The n × n similarity matrix, row-major.
pub fn similarity_matrix(m: &Matrix) -> Vec<f32> {
    let n = m.rows();
    let mut out = vec![0.0f32; n * n];
    if n == 0 {
        return out;
    }
    out.par_chunks_mut(n * ROW_TILE)
        .enumerate()
        .for_each(|(block, rows)| {
            let i0 = block * ROW_TILE;
            let count = rows.len() / n;
            for j0 in (0..n).step_by(COL_TILE) {
                let j1 = (j0 + COL_TILE).min(n);
                for di in 0..count {
                    let a = m.row(i0 + di);
                    for (j, out) in rows[di * n + j0..di * n + j1].iter_mut().enumerate() {
                        *out = dot(a, m.row(j0 + j));
                    }
                }
            }
        });
    out
}

/// Best first: higher similarity, then lower row.
#[inline]
pub fn by_rank(a: &(f32, u32), b: &(f32, u32)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// The `k` best of `candidates`, in rank order.
pub fn top_k(candidates: &mut Vec<(f32, u32)>, k: usize) -> Vec<u32> {
    let k = k.min(candidates.len());
    if k == 0 {
        return Vec::new();
    }
    if k < candidates.len() {
        candidates.select_nth_unstable_by(k - 1, by_rank);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(by_rank);
    candidates.iter().map(|c| c.1).collect()
}

/// For every row, the `k` most similar other rows.
pub fn top_k_all(sims: &[f32], n: usize, k: usize) -> Vec<Vec<u32>> {
    (0..n)
        .into_par_iter()
        .map_init(Vec::new, |buf: &mut Vec<(f32, u32)>, i| {
            buf.clear();
            let row = &sims[i * n..(i + 1) * n];
            buf.extend(
                row.iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(j, &s)| (s, j as u32)),
            );
            top_k(buf, k)
        })
        .collect()
}

/// Rows ranked by similarity to one vector (word pages).
pub fn rank_against(m: &Matrix, v: &[f32], k: usize) -> Vec<u32> {
    let mut all: Vec<(f32, u32)> = (0..m.rows())
        .map(|j| (dot(v, m.row(j)), j as u32))
        .collect();
    top_k(&mut all, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_by_hand_with_ties() {
        // Rows 1 and 2 are identical: equally similar to row 0, lower row first.
        let m = Matrix {
            dim: 2,
            data: vec![1.0, 0.0, 0.6, 0.8, 0.6, 0.8, 0.0, 1.0],
        };
        let sims = similarity_matrix(&m);
        assert_eq!(sims[1], 0.6);
        let top = top_k_all(&sims, 4, 3);
        assert_eq!(top[0], vec![1, 2, 3]);
        assert_eq!(top[3], vec![1, 2, 0]);
        assert_eq!(top[1], vec![2, 3, 0]);
        assert_eq!(top_k_all(&sims, 4, 1)[3], vec![1]);
    }

    #[test]
    fn dot_is_symmetric_and_exact_for_small_integers() {
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..19).map(|i| (19 - i) as f32).collect();
        assert_eq!(dot(&a, &b), dot(&b, &a));
        assert_eq!(
            dot(&a, &b),
            (0..19).map(|i| (i * (19 - i)) as f32).sum::<f32>()
        );
    }
}
