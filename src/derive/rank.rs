//! Similar rankings: the full cosine matrix of normalised rows, computed in
//! tiles in parallel, then top-k per row by selection (ties: lower row first).

use crate::disjoint::DisjointMut;
use crate::vectors::Matrix;
use rayon::prelude::*;
use std::cmp::Ordering;

/// Dot product with eight independent lanes; the summation order depends only
/// on the index, so `dot(a, b) == dot(b, a)` exactly and equal rows tie exactly.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    reduce(&lanes, a, b)
}

/// A dot product's eight lane sums and the products past the last whole
/// chunk, added in the one order every kernel uses.
#[inline(always)]
fn reduce(l: &[f32], a: &[f32], b: &[f32]) -> f32 {
    let done = b.len() / 8 * 8;
    let tail: f32 = a[done..].iter().zip(&b[done..]).map(|(x, y)| x * y).sum();
    ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7])) + tail
}

/// Rows per tile: a tile's rows against a tile's columns stay in cache.
const TILE: usize = 64;

/// Rows per kernel call: more independent sums per lane hide more of the
/// adds' latency (the whole matrix: 0.99 s with four, 0.89 s with eight).
pub const ROWS: usize = 8;

/// `R` rows against one: the same lanes and the same order of operations as
/// `dot` for each pair (so results never depend on blocking or on the CPU),
/// with each column vector loaded once for all rows.
#[inline(always)]
fn dots<const R: usize>(a: [&[f32]; R], b: &[f32]) -> [f32; R] {
    let mut lanes = [[0.0f32; 8]; R];
    let chunks = b.len() / 8;
    for c in 0..chunks {
        let y: &[f32; 8] = b[c * 8..c * 8 + 8].try_into().unwrap();
        for (l, row) in lanes.iter_mut().zip(&a) {
            let x: &[f32; 8] = row[c * 8..c * 8 + 8].try_into().unwrap();
            for k in 0..8 {
                l[k] += x[k] * y[k];
            }
        }
    }
    std::array::from_fn(|r| reduce(&lanes[r], a[r], b))
}

/// `dots` with explicit AVX2: one 8-lane register per row, multiply then
/// add (no FMA), so every lane rounds exactly as in `dots`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dots_avx2<const R: usize>(a: [&[f32]; R], b: &[f32]) -> [f32; R] {
    use std::arch::x86_64::*;
    let chunks = b.len() / 8;
    let mut acc = [_mm256_setzero_ps(); R];
    for c in 0..chunks {
        // SAFETY: c * 8 + 8 ≤ len for every row (rows share the dimension).
        let y = _mm256_loadu_ps(b.as_ptr().add(c * 8));
        for r in 0..R {
            let x = _mm256_loadu_ps(a[r].as_ptr().add(c * 8));
            acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(x, y));
        }
    }
    std::array::from_fn(|r| {
        let mut l = [0.0f32; 8];
        _mm256_storeu_ps(l.as_mut_ptr(), acc[r]);
        reduce(&l, a[r], b)
    })
}

/// `dots` against two rows at once with AVX-512: one 16-lane register per
/// row of `a` holds its eight lanes against `b0` and against `b1`, the same
/// multiply then add per lane, so every result has `dots`' bits. Twice the
/// products per instruction as `dots_avx2`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dots_pair_avx512<const R: usize>(
    a: [&[f32]; R],
    b0: &[f32],
    b1: &[f32],
) -> [[f32; R]; 2] {
    use std::arch::x86_64::*;
    let chunks = b0.len() / 8;
    let mut acc = [_mm512_setzero_ps(); R];
    // Eight floats as the low or both halves of a register (AVX-512F has
    // the 256-bit moves for 64-bit lanes only).
    let load = |p: *const f32| _mm256_castps_pd(_mm256_loadu_ps(p));
    for c in 0..chunks {
        // SAFETY: c * 8 + 8 ≤ len for every row (rows share the dimension).
        let (lo, hi) = (load(b0.as_ptr().add(c * 8)), load(b1.as_ptr().add(c * 8)));
        let y = _mm512_castpd_ps(_mm512_insertf64x4::<1>(_mm512_castpd256_pd512(lo), hi));
        for r in 0..R {
            let x = _mm512_castpd_ps(_mm512_broadcast_f64x4(load(a[r].as_ptr().add(c * 8))));
            acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(x, y));
        }
    }
    let mut out = [[0.0f32; R]; 2];
    for r in 0..R {
        let mut l = [0.0f32; 16];
        _mm512_storeu_ps(l.as_mut_ptr(), acc[r]);
        out[0][r] = reduce(&l[..8], a[r], b0);
        out[1][r] = reduce(&l[8..], a[r], b1);
    }
    out
}

/// The tile of rows `i0..i1` against columns `j0..j1` (upper triangle and
/// diagonal tiles), written to `out` at (i, j) and mirrored to (j, i).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile(
    m: &Matrix,
    out: DisjointMut,
    n: usize,
    i0: usize,
    i1: usize,
    j0: usize,
    j1: usize,
    kernel: Kernel,
) {
    let mut i = i0;
    while i < i1 {
        let rows = (i1 - i).min(ROWS);
        let a: [&[f32]; ROWS] = std::array::from_fn(|r| m.row(i + r.min(rows - 1)));
        for j in (j0.max(i)..j1).step_by(2) {
            let pair = (j + 1).min(j1 - 1);
            let d = kernel.call_pair(a, m.row(j), m.row(pair));
            for (col, d) in [j, pair].into_iter().zip(d).take(1 + pair - j) {
                for (r, &value) in d.iter().enumerate().take(rows) {
                    let row = i + r;
                    if col >= row {
                        // SAFETY: the task of tile row `i0` is the only writer of
                        // (row, col) and (col, row) for row in i0..i1, col ≥ row.
                        unsafe {
                            *out.at(row * n + col) = value;
                            *out.at(col * n + row) = value;
                        }
                    }
                }
            }
        }
        i += rows;
    }
}

fn tiles(m: &Matrix, out: DisjointMut, n: usize, i0: usize, kernel: Kernel) {
    let i1 = (i0 + TILE).min(n);
    for j0 in (i0..n).step_by(TILE) {
        tile(m, out, n, i0, i1, j0, (j0 + TILE).min(n), kernel);
    }
}

/// The n × n similarity matrix, row-major: the upper triangle computed in
/// tiles in parallel and mirrored; AVX2 or AVX-512 where the CPU has them
/// (same results).
pub fn similarity_matrix(m: &Matrix) -> Vec<f32> {
    let n = m.rows();
    let mut out = vec![0.0f32; n * n];
    let shared = DisjointMut::new(&mut out);
    let kernel = Kernel::detect();
    (0..n.div_ceil(TILE))
        .into_par_iter()
        .for_each(|t| tiles(m, shared, n, t * TILE, kernel));
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
            top_k_of_row(&sims[i * n..(i + 1) * n], i, k, buf)
        })
        .collect()
}

/// The `k` rows most similar to row `i`, from its row of similarities.
pub fn top_k_of_row(row: &[f32], i: usize, k: usize, buf: &mut Vec<(f32, u32)>) -> Vec<u32> {
    buf.clear();
    buf.extend(
        row.iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(j, &s)| (s, j as u32)),
    );
    top_k(buf, k)
}

/// The faster `dots` this CPU runs; both give the same bits.
#[derive(Clone, Copy)]
pub enum Kernel {
    Plain,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX2 for one row, AVX-512 for two.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Kernel::Avx512;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Kernel::Avx2;
        }
        Kernel::Plain
    }

    /// Row `i`'s similarity to each of `rows`, equal to `dot` bit for bit.
    pub fn dots(self, m: &Matrix, i: usize, rows: &[u32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(rows.len());
        for group in rows.chunks(ROWS) {
            let a: [&[f32]; ROWS] =
                std::array::from_fn(|k| m.row(group[k.min(group.len() - 1)] as usize));
            out.extend_from_slice(&self.call(a, m.row(i))[..group.len()]);
        }
        out
    }

    #[inline(always)]
    fn call(self, a: [&[f32]; ROWS], b: &[f32]) -> [f32; ROWS] {
        match self {
            Kernel::Plain => dots(a, b),
            // SAFETY: `detect` found AVX2 (every AVX-512 CPU has it).
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 | Kernel::Avx512 => unsafe { dots_avx2(a, b) },
        }
    }

    /// `call` against `b0` and against `b1`.
    #[inline(always)]
    fn call_pair(self, a: [&[f32]; ROWS], b0: &[f32], b1: &[f32]) -> [[f32; ROWS]; 2] {
        match self {
            // SAFETY: `detect` found AVX-512F.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { dots_pair_avx512(a, b0, b1) },
            _ => [self.call(a, b0), self.call(a, b1)],
        }
    }
}

/// Queries per pass over the matrix: each row is read from memory once for
/// all of them (two kernel calls while it sits in L1).
const QUERIES_PER_PASS: usize = 16;

/// Every row's similarity to each query, `out[q][row]`. Equal to `dot` bit
/// for bit.
pub fn score_many(m: &Matrix, queries: &[&[f32]]) -> Vec<Vec<f32>> {
    let kernel = Kernel::detect();
    let n = m.rows();
    if queries.is_empty() {
        return Vec::new();
    }
    // Small batches are shared out by rows too, in several tasks a thread so
    // that a thread busy elsewhere (a chain waiting on its row) holds none back.
    let passes = queries.len().div_ceil(QUERIES_PER_PASS);
    let row_tasks = (4 * rayon::current_num_threads()).div_ceil(passes).max(1);
    let rows_per_task = n.div_ceil(row_tasks).max(1);
    let mut out = vec![vec![0.0f32; n]; queries.len()];
    let mut tasks: Vec<(usize, usize, Vec<&mut [f32]>)> = Vec::new();
    for (pass, outs) in out.chunks_mut(QUERIES_PER_PASS).enumerate() {
        let mut parts: Vec<_> = outs
            .iter_mut()
            .map(|o| o.chunks_mut(rows_per_task))
            .collect();
        for task in 0..n.div_ceil(rows_per_task) {
            let slices = parts
                .iter_mut()
                .map(|p| p.next().expect("a part per task"))
                .collect();
            tasks.push((pass * QUERIES_PER_PASS, task * rows_per_task, slices));
        }
    }
    tasks.into_par_iter().for_each(|(q0, j0, mut outs)| {
        let group = &queries[q0..q0 + outs.len()];
        let len = outs[0].len();
        for k in (0..len).step_by(2) {
            let pair = (k + 1).min(len - 1);
            let (b0, b1) = (m.row(j0 + k), m.row(j0 + pair));
            for (part, part_outs) in group.chunks(ROWS).zip(outs.chunks_mut(ROWS)) {
                let a: [&[f32]; ROWS] = std::array::from_fn(|r| part[r.min(part.len() - 1)]);
                let [v0, v1] = kernel.call_pair(a, b0, b1);
                for ((o, v0), v1) in part_outs.iter_mut().zip(v0).zip(v1) {
                    o[k] = v0;
                    o[pair] = v1;
                }
            }
        }
    });
    out
}

/// The `k` best rows by their scores.
pub fn top_of(scores: &[f32], k: usize) -> Vec<u32> {
    let mut all: Vec<(f32, u32)> = scores
        .iter()
        .enumerate()
        .map(|(j, &s)| (s, j as u32))
        .collect();
    top_k(&mut all, k)
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
        assert_eq!(sims[4], 0.6);
        let top = top_k_all(&sims, 4, 3);
        assert_eq!(top[0], vec![1, 2, 3]);
        assert_eq!(top[3], vec![1, 2, 0]);
        assert_eq!(top[1], vec![2, 3, 0]);
        assert_eq!(top_k_all(&sims, 4, 1)[3], vec![1]);
    }

    #[test]
    fn score_many_equals_dot() {
        let mut rng = crate::derive::words::SplitMix64::new(4);
        let m = Matrix {
            dim: 20,
            data: (0..33 * 20).map(|_| rng.unit() as f32 - 0.5).collect(),
        };
        // One pass of a few queries, and several passes with a short last one.
        for count in [1, 6, 37] {
            let queries: Vec<&[f32]> = (0..count).map(|q| m.row(q * 5 % 33)).collect();
            let scores = score_many(&m, &queries);
            assert_eq!(scores.len(), count);
            for (q, row) in scores.iter().enumerate() {
                assert_eq!(row.len(), 33);
                for (j, s) in row.iter().enumerate() {
                    assert_eq!(s.to_bits(), dot(queries[q], m.row(j)).to_bits());
                }
            }
        }
        let queries: Vec<&[f32]> = (0..6).map(|q| m.row(q * 5)).collect();
        assert_eq!(top_of(&score_many(&m, &queries)[2], 1), vec![10]);
    }

    #[test]
    fn a_row_on_its_own_equals_the_matrix_row_bit_for_bit() {
        let mut rng = crate::derive::words::SplitMix64::new(8);
        for (n, dim) in [(1, 3), (6, 8), (33, 19)] {
            let m = Matrix {
                dim,
                data: (0..n * dim).map(|_| rng.unit() as f32 - 0.5).collect(),
            };
            let sims = similarity_matrix(&m);
            for r in 0..n {
                // A row on its own is one query against every row.
                let alone = score_many(&m, &[m.row(r)]).remove(0);
                let row: Vec<u32> = alone.iter().map(|x| x.to_bits()).collect();
                let want: Vec<u32> = sims[r * n..(r + 1) * n]
                    .iter()
                    .map(|x| x.to_bits())
                    .collect();
                assert_eq!(row, want, "{n}x{dim} row {r}");
            }
        }
    }

    #[test]
    fn every_kernel_agrees_with_dot_bit_for_bit() {
        let mut rng = crate::derive::words::SplitMix64::new(9);
        let rows: Vec<Vec<f32>> = (0..ROWS + 1)
            .map(|_| (0..45).map(|_| rng.unit() as f32 - 0.5).collect())
            .collect();
        let a: [&[f32]; ROWS] = std::array::from_fn(|r| &rows[r][..]);
        let b = &rows[ROWS];
        let plain = dots(a, b);
        for r in 0..ROWS {
            assert_eq!(plain[r].to_bits(), dot(a[r], b).to_bits());
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: checked just above.
            let wide = unsafe { dots_avx2(a, b) };
            assert_eq!(plain.map(f32::to_bits), wide.map(f32::to_bits));
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            let other = &rows[0];
            // SAFETY: checked just above.
            let [with_b, with_other] = unsafe { dots_pair_avx512(a, b, other) };
            assert_eq!(plain.map(f32::to_bits), with_b.map(f32::to_bits));
            assert_eq!(
                dots(a, other).map(f32::to_bits),
                with_other.map(f32::to_bits)
            );
        }
    }

    #[test]
    fn the_tiled_matrix_equals_pairwise_dots_bit_for_bit() {
        let mut rng = crate::derive::words::SplitMix64::new(3);
        for (n, dim) in [(1, 3), (5, 8), (70, 19), (131, 40)] {
            let data: Vec<f32> = (0..n * dim).map(|_| rng.unit() as f32 - 0.5).collect();
            let m = Matrix { dim, data };
            let sims = similarity_matrix(&m);
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(
                        sims[i * n + j].to_bits(),
                        dot(m.row(i), m.row(j)).to_bits(),
                        "{n}x{dim} ({i},{j})"
                    );
                }
            }
        }
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
