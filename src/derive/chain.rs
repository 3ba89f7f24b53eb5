//! Different chains. With unit rows, "least similar to the running mean c of
//! the picked vectors" is "least dot product with their sum", and that is the
//! running sum of each poem's similarities to the picks: one pass per pick.
//! Only settled poems are picked (`timeline::settled`): the others' sums
//! start infinite, as a used poem's are.
//! Each chain also keeps the running sum of every pick when it was picked,
//! so that a later build can replay the chain against a new poem's sums
//! (`neighbours.rs`) instead of running it again.

use rayon::prelude::*;

/// Chains run side by side in one thread: each pick waits on a row from
/// memory, and interleaving independent chains keeps several rows in flight.
const INTERLEAVED: usize = 4;

/// `K` chains' next picks: each `accs[k] += rows[k]`, then its argmin.
#[cfg(target_arch = "x86_64")]
type GroupStep<const K: usize> = unsafe fn(&mut [Vec<f64>; K], [&[f32]; K]) -> [usize; K];

/// One chain: the rows it picks, in order, and each pick's running sum
/// (its summed similarity to the earlier picks) when it was picked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chain {
    pub picks: Vec<u32>,
    pub sums: Vec<f64>,
}

/// The poems chains may pick.
#[derive(Debug, Clone, Copy)]
pub struct Candidates<'a> {
    /// Per row, whether it is settled.
    pub settled: &'a [bool],
    count: usize,
}

impl<'a> Candidates<'a> {
    pub fn new(settled: &'a [bool]) -> Self {
        Candidates {
            settled,
            count: settled.iter().filter(|&&s| s).count(),
        }
    }

    /// The length of `start`'s chain when the pages want `len`: at most the
    /// candidates other than the start.
    pub fn length(&self, start: usize, len: usize) -> usize {
        len.min(self.count - usize::from(self.settled[start]))
    }

    /// The running sums a chain starts from: 0 for a candidate, infinite
    /// for the start and for every poem it may not pick.
    fn start(&self, start: usize) -> Vec<f64> {
        let mut acc: Vec<f64> = (self.settled.iter())
            .map(|&s| if s { 0.0 } else { f64::INFINITY })
            .collect();
        acc[start] = f64::INFINITY;
        acc
    }
}

/// For every start row, its chain (`len` at most the candidates but the start).
pub fn chains(sims: &[f32], n: usize, len: usize, candidates: Candidates) -> Vec<Chain> {
    chains_from(sims, n, &(0..n).collect::<Vec<_>>(), len, candidates)
}

/// The chains of the given start rows, in their order.
pub fn chains_from(
    sims: &[f32],
    n: usize,
    starts: &[usize],
    len: usize,
    candidates: Candidates,
) -> Vec<Chain> {
    #[cfg(target_arch = "x86_64")]
    {
        let step: Option<GroupStep<INTERLEAVED>> = if std::arch::is_x86_feature_detected!("avx512f")
        {
            Some(add_and_argmin_avx512)
        } else if std::arch::is_x86_feature_detected!("avx2") {
            Some(add_and_argmin_avx2)
        } else {
            None
        };
        if let Some(step) = step {
            return starts
                .par_chunks(INTERLEAVED)
                .flat_map_iter(|group| {
                    // A short last group repeats its last start to fill up; the copies are dropped.
                    let group_starts: [usize; INTERLEAVED] =
                        std::array::from_fn(|k| group[k.min(group.len() - 1)]);
                    // SAFETY: `step` needs only the CPU features checked above.
                    let chains =
                        unsafe { chain_group(sims, n, group_starts, len, candidates, step) };
                    chains.into_iter().take(group.len())
                })
                .collect();
        }
    }
    starts
        .par_iter()
        .map(|&start| chain(|row| &sims[row * n..(row + 1) * n], start, len, candidates))
        .collect()
}

/// `K` chains in lockstep, each exactly as `chain` computes it alone (the
/// group steps as long as its longest chain; the others' extra steps are
/// dropped).
///
/// # Safety
/// The CPU must support what `step` is compiled for.
#[cfg(target_arch = "x86_64")]
unsafe fn chain_group<const K: usize>(
    sims: &[f32],
    n: usize,
    starts: [usize; K],
    len: usize,
    candidates: Candidates,
    step: GroupStep<K>,
) -> [Chain; K] {
    let lens: [usize; K] = std::array::from_fn(|k| candidates.length(starts[k], len));
    let steps = lens.iter().copied().max().unwrap_or(0);
    let mut accs: [Vec<f64>; K] = std::array::from_fn(|k| candidates.start(starts[k]));
    let mut chains: [Chain; K] = std::array::from_fn(|k| Chain {
        picks: Vec::with_capacity(lens[k]),
        sums: Vec::with_capacity(lens[k]),
    });
    let mut pick = starts;
    for _ in 0..steps {
        for k in 0..K {
            accs[k][pick[k]] = f64::INFINITY;
        }
        let rows: [&[f32]; K] = std::array::from_fn(|k| &sims[pick[k] * n..(pick[k] + 1) * n]);
        // SAFETY: the caller vouches for the CPU.
        pick = unsafe { step(&mut accs, rows) };
        for k in 0..K {
            if chains[k].picks.len() < lens[k] {
                chains[k].picks.push(pick[k] as u32);
                chains[k].sums.push(accs[k][pick[k]]);
            }
        }
    }
    chains
}

/// `add_and_argmin` for `K` chains at once with explicit AVX2 (compare and
/// blend for the minima and their chunks): the same additions and comparisons
/// per chain, so the same picks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn add_and_argmin_avx2<const K: usize>(
    accs: &mut [Vec<f64>; K],
    rows: [&[f32]; K],
) -> [usize; K] {
    use std::arch::x86_64::*;
    const LANES: usize = 4;
    let n = accs[0].len();
    let chunks = n / LANES;
    let mut mins = [_mm256_set1_pd(f64::INFINITY); K];
    let mut at = [_mm256_setzero_pd(); K];
    let mut chunk = _mm256_setzero_pd();
    let one = _mm256_set1_pd(1.0);
    for c in 0..chunks {
        for k in 0..K {
            // SAFETY: c * 4 + 4 ≤ n, the length of every accumulator and row.
            let r = _mm256_cvtps_pd(_mm_loadu_ps(rows[k].as_ptr().add(c * LANES)));
            let a = _mm256_add_pd(_mm256_loadu_pd(accs[k].as_ptr().add(c * LANES)), r);
            _mm256_storeu_pd(accs[k].as_mut_ptr().add(c * LANES), a);
            let better = _mm256_cmp_pd::<_CMP_LT_OQ>(a, mins[k]);
            mins[k] = _mm256_blendv_pd(mins[k], a, better);
            at[k] = _mm256_blendv_pd(at[k], chunk, better);
        }
        chunk = _mm256_add_pd(chunk, one);
    }
    std::array::from_fn(|k| {
        // A register is its lanes, lowest first.
        let lanes = |v| std::mem::transmute::<__m256d, [f64; LANES]>(v);
        let (mins, at) = (lanes(mins[k]), lanes(at[k]));
        finish(&mut accs[k], rows[k], chunks * LANES, mins, at)
    })
}

/// The same as `add_and_argmin_avx2` with eight lanes: AVX-512 halves the
/// instructions per element, which bound this step more than memory does.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn add_and_argmin_avx512<const K: usize>(
    accs: &mut [Vec<f64>; K],
    rows: [&[f32]; K],
) -> [usize; K] {
    use std::arch::x86_64::*;
    const LANES: usize = 8;
    let n = accs[0].len();
    let chunks = n / LANES;
    let mut mins = [_mm512_set1_pd(f64::INFINITY); K];
    let mut at = [_mm512_setzero_pd(); K];
    let mut chunk = _mm512_setzero_pd();
    let one = _mm512_set1_pd(1.0);
    for c in 0..chunks {
        for k in 0..K {
            // SAFETY: c * 8 + 8 ≤ n, the length of every accumulator and row.
            let r = _mm512_cvtps_pd(_mm256_loadu_ps(rows[k].as_ptr().add(c * LANES)));
            let a = _mm512_add_pd(_mm512_loadu_pd(accs[k].as_ptr().add(c * LANES)), r);
            _mm512_storeu_pd(accs[k].as_mut_ptr().add(c * LANES), a);
            let better = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, mins[k]);
            mins[k] = _mm512_mask_blend_pd(better, mins[k], a);
            at[k] = _mm512_mask_blend_pd(better, at[k], chunk);
        }
        chunk = _mm512_add_pd(chunk, one);
    }
    std::array::from_fn(|k| {
        // A register is its lanes, lowest first.
        let lanes = |v| std::mem::transmute::<__m512d, [f64; LANES]>(v);
        let (mins, at) = (lanes(mins[k]), lanes(at[k]));
        finish(&mut accs[k], rows[k], chunks * LANES, mins, at)
    })
}

/// One chain, with each row of similarities from `row`.
pub fn chain<'r>(
    row: impl Fn(usize) -> &'r [f32],
    start: usize,
    len: usize,
    candidates: Candidates,
) -> Chain {
    let mut run = Run::new(start, len, candidates);
    run.advance(|r| Some(row(r)));
    run.into_chain()
}

/// A chain computed step by step, pausing where the row of its last pick is
/// not at hand: rows computed on demand are then computed for several
/// chains at once. `acc[q]` is the sum of q's similarities to the picks so
/// far (the start included); used rows and those it may not pick are
/// infinite. Additions and
/// comparisons only, so the vectorised and plain builds agree exactly.
pub struct Run {
    acc: Vec<f64>,
    chain: Chain,
    /// The last pick, whose row is added next.
    pick: usize,
    len: usize,
}

impl Run {
    pub fn new(start: usize, len: usize, candidates: Candidates) -> Run {
        let len = candidates.length(start, len);
        Run {
            acc: candidates.start(start),
            chain: Chain {
                picks: Vec::with_capacity(len),
                sums: Vec::with_capacity(len),
            },
            pick: start,
            len,
        }
    }

    /// Pick while `row` has the last pick's row: the row it waits for, or
    /// None once the chain is whole.
    pub fn advance<'r>(&mut self, row: impl Fn(usize) -> Option<&'r [f32]>) -> Option<usize> {
        while self.chain.picks.len() < self.len {
            let Some(next) = row(self.pick) else {
                return Some(self.pick);
            };
            self.pick = add_and_argmin(&mut self.acc, next);
            self.chain.picks.push(self.pick as u32);
            self.chain.sums.push(self.acc[self.pick]);
            self.acc[self.pick] = f64::INFINITY;
        }
        None
    }

    pub fn into_chain(self) -> Chain {
        self.chain
    }
}

/// `acc += row`, returning the lowest row holding the new minimum (ties go
/// to the lower poem_index). Each of four lanes keeps its minimum and the
/// first chunk where it appeared.
fn add_and_argmin(acc: &mut [f64], row: &[f32]) -> usize {
    const LANES: usize = 4;
    let chunks = acc.len() / LANES;
    let mut mins = [f64::INFINITY; LANES];
    let mut at = [0.0f64; LANES];
    for (chunk, (a, r)) in acc
        .chunks_exact_mut(LANES)
        .zip(row.chunks_exact(LANES))
        .enumerate()
    {
        for l in 0..LANES {
            a[l] += r[l] as f64;
            if a[l] < mins[l] {
                mins[l] = a[l];
                at[l] = chunk as f64;
            }
        }
    }
    finish(acc, row, chunks * LANES, mins, at)
}

/// The best of the lanes (lowest row on ties), then the rows past the last
/// whole chunk. `at` holds each lane's chunk number, as the vector paths
/// count them (in f64, exact far beyond any row count).
#[inline(always)]
fn finish<const LANES: usize>(
    acc: &mut [f64],
    row: &[f32],
    done: usize,
    mins: [f64; LANES],
    at: [f64; LANES],
) -> usize {
    let mut best = (f64::INFINITY, usize::MAX);
    for l in 0..LANES {
        let index = at[l] as usize * LANES + l;
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
        let all = Candidates::new(&[true; 4]);
        let from_0 = &chains(&sims, 4, 3, all)[0];
        assert_eq!(from_0.picks, vec![2, 1, 3]);
        // Each pick's running sum: 180° against 0° is -1; then 90° sums
        // 0 + 0; then 45° sums h - h + h.
        assert_eq!(from_0.sums, vec![-1.0, 0.0, h as f64]);
        // From 90°: 0° and 180° are both orthogonal to it; the lower row wins.
        assert_eq!(chains(&sims, 4, 1, all)[1].picks, vec![0]);
        assert_eq!(chains(&sims, 4, 10, all)[3].picks.len(), 3);
    }

    #[test]
    fn chains_pick_only_settled_poems() {
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let m = Matrix {
            dim: 2,
            data: vec![1.0, 0.0, 0.0, 1.0, -1.0, 0.0, h, h],
        };
        let sims = similarity_matrix(&m);
        // 180° (row 2) is not settled: from 0° the chain takes 90° (least
        // similar of the rest), then 45°, and stops there.
        let settled = Candidates::new(&[true, true, false, true]);
        let c = chains(&sims, 4, 10, settled);
        assert_eq!(c[0].picks, vec![1, 3]);
        // An unsettled start is not picked either, and may pick all three
        // settled poems.
        assert_eq!(c[2].picks.len(), 3);
        assert!(!c[2].picks.contains(&2));
        // Every path (grouped and single) agrees.
        for (start, grouped) in c.iter().enumerate() {
            let single = chain(|r| &sims[r * 4..(r + 1) * 4], start, 10, settled);
            assert_eq!(&single, grouped, "start {start}");
        }
    }

    #[test]
    fn interleaved_chains_equal_single_chains() {
        let mut rng = crate::derive::words::SplitMix64::new(5);
        for n in [2, 5, 9, 13, 29, 40] {
            let data: Vec<f32> = (0..n * 6).map(|_| rng.unit() as f32 - 0.5).collect();
            let m = Matrix { dim: 6, data };
            let sims = similarity_matrix(&m);
            // Every third poem unsettled, but for the smallest collections.
            let settled: Vec<bool> = (0..n).map(|r| n < 5 || r % 3 != 1).collect();
            let candidates = Candidates::new(&settled);
            let single: Vec<Chain> = (0..n)
                .map(|s| chain(|r| &sims[r * n..(r + 1) * n], s, n, candidates))
                .collect();
            assert_eq!(chains(&sims, n, n, candidates), single, "n {n}");
            #[cfg(target_arch = "x86_64")]
            for (step, feature) in [
                (add_and_argmin_avx2 as GroupStep<2>, "avx2"),
                (add_and_argmin_avx512, "avx512f"),
            ] {
                if !std::arch::is_x86_feature_detected!("avx512f") && feature == "avx512f"
                    || !std::arch::is_x86_feature_detected!("avx2")
                {
                    continue;
                }
                for start in 0..n - 1 {
                    // SAFETY: the feature was checked just above.
                    let pair =
                        unsafe { chain_group(&sims, n, [start, start + 1], n, candidates, step) };
                    assert_eq!(pair[..], single[start..start + 2], "{feature}, n {n}");
                }
            }
        }
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
                let mut copies = [acc.clone(), acc.clone()];
                assert_eq!(add_and_argmin(&mut acc, &row), target, "n {n}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: checked just above.
                    let picks = unsafe { add_and_argmin_avx2(&mut copies, [&row[..], &row[..]]) };
                    assert_eq!(picks, [target, target], "n {n}");
                }
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx512f") {
                    let mut copies = [copies[0].clone()];
                    // SAFETY: checked just above.
                    let picks = unsafe { add_and_argmin_avx512(&mut copies, [&row[..]]) };
                    assert_eq!(picks, [target], "n {n}");
                }
            }
        }
    }
}
