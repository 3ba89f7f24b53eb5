//! Different chains. With unit rows, "least similar to the running mean c of
//! the picked vectors" is "least dot product with their sum", and that is the
//! running sum of each poem's similarities to the picks: one pass per pick.

use rayon::prelude::*;

/// For every start row, the rows it picks, in order (`len` at most n − 1).
pub fn chains(sims: &[f32], n: usize, len: usize) -> Vec<Vec<u32>> {
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::arch::is_x86_feature_detected!("avx2");
    (0..n)
        .into_par_iter()
        .map_init(Vec::new, |acc: &mut Vec<f64>, start| {
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: the CPU supports AVX2 (checked above).
                return unsafe { chain_avx2(sims, n, start, len, acc) };
            }
            chain(sims, n, start, len, acc, add_and_argmin)
        })
        .collect()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn chain_avx2(
    sims: &[f32],
    n: usize,
    start: usize,
    len: usize,
    acc: &mut Vec<f64>,
) -> Vec<u32> {
    // SAFETY: the caller checked AVX2.
    chain(sims, n, start, len, acc, |a, r| unsafe {
        add_and_argmin_avx2(a, r)
    })
}

/// `add_and_argmin` with explicit AVX2 (compare and blend for the minima and
/// their chunks); the same additions and comparisons, so the same picks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn add_and_argmin_avx2(acc: &mut [f64], row: &[f32]) -> usize {
    use std::arch::x86_64::*;
    const LANES: usize = 4;
    let chunks = acc.len() / LANES;
    let mut mins = _mm256_set1_pd(f64::INFINITY);
    let mut at = _mm256_setzero_pd();
    let mut chunk = _mm256_setzero_pd();
    let one = _mm256_set1_pd(1.0);
    for c in 0..chunks {
        // SAFETY: c * 4 + 4 ≤ len of both slices.
        let r = _mm256_cvtps_pd(_mm_loadu_ps(row.as_ptr().add(c * LANES)));
        let a = _mm256_add_pd(_mm256_loadu_pd(acc.as_ptr().add(c * LANES)), r);
        _mm256_storeu_pd(acc.as_mut_ptr().add(c * LANES), a);
        let better = _mm256_cmp_pd::<_CMP_LT_OQ>(a, mins);
        mins = _mm256_blendv_pd(mins, a, better);
        at = _mm256_blendv_pd(at, chunk, better);
        chunk = _mm256_add_pd(chunk, one);
    }
    let mut lane_min = [0.0f64; LANES];
    let mut lane_at = [0.0f64; LANES];
    _mm256_storeu_pd(lane_min.as_mut_ptr(), mins);
    _mm256_storeu_pd(lane_at.as_mut_ptr(), at);
    finish(
        acc,
        row,
        chunks * LANES,
        lane_min,
        lane_at.map(|c| c as u64),
    )
}

/// `acc[q]` is the sum of q's similarities to the picks so far (the start
/// included); used rows are infinite. Additions and comparisons only, so the
/// vectorised and plain builds agree exactly.
#[inline(always)]
fn chain(
    sims: &[f32],
    n: usize,
    start: usize,
    len: usize,
    acc: &mut Vec<f64>,
    add_and_argmin: impl Fn(&mut [f64], &[f32]) -> usize,
) -> Vec<u32> {
    let len = len.min(n.saturating_sub(1));
    acc.clear();
    acc.resize(n, 0.0);
    let mut picks = Vec::with_capacity(len);
    let mut pick = start;
    while picks.len() < len {
        acc[pick] = f64::INFINITY;
        pick = add_and_argmin(acc, &sims[pick * n..(pick + 1) * n]);
        picks.push(pick as u32);
    }
    picks
}

/// `acc += row`, returning the lowest row holding the new minimum (ties go
/// to the lower poem_index). Each of four lanes keeps its minimum and the
/// first chunk where it appeared.
fn add_and_argmin(acc: &mut [f64], row: &[f32]) -> usize {
    const LANES: usize = 4;
    let chunks = acc.len() / LANES;
    let mut mins = [f64::INFINITY; LANES];
    let mut at = [0u64; LANES];
    for (chunk, (a, r)) in acc
        .chunks_exact_mut(LANES)
        .zip(row.chunks_exact(LANES))
        .enumerate()
    {
        for l in 0..LANES {
            a[l] += r[l] as f64;
            if a[l] < mins[l] {
                mins[l] = a[l];
                at[l] = chunk as u64;
            }
        }
    }
    finish(acc, row, chunks * LANES, mins, at)
}

/// The best of the lanes (lowest row on ties), then the rows past the last
/// whole chunk.
#[inline(always)]
fn finish(acc: &mut [f64], row: &[f32], done: usize, mins: [f64; 4], at: [u64; 4]) -> usize {
    let mut best = (f64::INFINITY, usize::MAX);
    for l in 0..4 {
        let index = at[l] as usize * 4 + l;
        if mins[l] < best.0 || (mins[l] == best.0 && index < best.1) {
            best = (mins[l], index);
        }
    }
    for (i, (a, r)) in acc[done..].iter_mut().zip(&row[done..]).enumerate() {
        *a += *r as f64;
        if *a < best.0 {
            best = (*a, done + i);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::rank::similarity_matrix;
    use crate::vectors::Matrix;

    #[test]
    fn centroid_rule_by_hand() {
        // Unit vectors at 0°, 90°, 180°, 45°.
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let m = Matrix {
            dim: 2,
            data: vec![1.0, 0.0, 0.0, 1.0, -1.0, 0.0, h, h],
        };
        let sims = similarity_matrix(&m);
        // From 0°: least similar is 180° (row 2). The mean of 0° and 180° is the
        // zero vector, every similarity is 0 and the lower row (1) wins; then 45°.
        assert_eq!(chains(&sims, 4, 3)[0], vec![2, 1, 3]);
        // From 90°: 0° and 180° are both orthogonal to it; the lower row wins.
        assert_eq!(chains(&sims, 4, 1)[1], vec![0]);
        assert_eq!(chains(&sims, 4, 10)[3].len(), 3);
    }

    #[test]
    fn argmin_takes_the_lowest_row_among_equal_minima() {
        for n in [1, 3, 4, 9, 17] {
            for target in 0..n {
                let mut acc = vec![5.0; n];
                let row = vec![0.0f32; n];
                acc[target] = 1.0;
                if target + 2 < n {
                    acc[target + 2] = 1.0;
                }
                let mut copy = acc.clone();
                assert_eq!(add_and_argmin(&mut acc, &row), target, "n {n}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: checked just above.
                    assert_eq!(
                        unsafe { add_and_argmin_avx2(&mut copy, &row) },
                        target,
                        "n {n}"
                    );
                }
                copy.clear();
            }
        }
    }
}
