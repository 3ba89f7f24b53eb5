//! Semantic colours: an anchor per colour, then z-scored assignment (each
//! colour's similarities standardised by the mean and deviation of the
//! settled poems' similarities, `timeline::settled`; highest z wins, ties in
//! the colours' order). A poem of the newest period thus moves no other
//! poem's colour.

use super::rank::{dot, score_many};
use crate::vectors::Matrix;

/// A unit anchor per colour, or `None` when nothing gives it a direction.
pub type Anchors = Vec<Option<Vec<f32>>>;

/// Normalise the mean of the given vectors; `None` when there are none.
pub fn unit_mean<'a>(vectors: impl Iterator<Item = &'a [f32]>, dim: usize) -> Option<Vec<f32>> {
    let mut sum = vec![0.0f64; dim];
    let mut count = 0;
    for v in vectors {
        add_into(&mut sum, v);
        count += 1;
    }
    let norm = sum.iter().map(|s| s * s).sum::<f64>().sqrt();
    (count > 0 && norm > 0.0).then(|| sum.iter().map(|s| (s / norm) as f32).collect())
}

/// `sum[i] += v[i]` for every i, with the widest vectors the CPU has: each
/// element's additions keep their order, so every path gives the same sums.
fn add_into(sum: &mut [f64], v: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512 (checked just above).
        return unsafe { add_into_avx512(sum, v) };
    }
    add_into_plain(sum, v)
}

#[inline(always)]
fn add_into_plain(sum: &mut [f64], v: &[f32]) {
    for (s, x) in sum.iter_mut().zip(v) {
        *s += *x as f64;
    }
}

/// The same loop, compiled for AVX-512 (eight f64 lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn add_into_avx512(sum: &mut [f64], v: &[f32]) {
    add_into_plain(sum, v)
}

/// Per row, the index of its colour in `COLOUR_NAMES`, standardised over
/// the rows `settled` marks (at least one).
pub fn assign(m: &Matrix, anchors: &Anchors, settled: &[bool]) -> Vec<u8> {
    let n = m.rows();
    let gray = (anchors.len() - 1) as u8;
    let present: Vec<&[f32]> = anchors.iter().flatten().map(Vec::as_slice).collect();
    let mut sims = score_many(m, &present).into_iter();
    let z: Vec<Option<Vec<f64>>> = anchors
        .iter()
        .map(|anchor| {
            anchor.as_ref().map(|_| {
                let sims: Vec<f64> = sims
                    .next()
                    .expect("one row per anchor")
                    .into_iter()
                    .map(f64::from)
                    .collect();
                let over = || {
                    sims.iter()
                        .zip(settled)
                        .filter(|(_, s)| **s)
                        .map(|(x, _)| x)
                };
                let count = over().count() as f64;
                let mean = over().sum::<f64>() / count;
                let sd = (over().map(|s| (s - mean).powi(2)).sum::<f64>() / count).sqrt();
                sims.iter()
                    .map(|s| if sd > 0.0 { (s - mean) / sd } else { 0.0 })
                    .collect()
            })
        })
        .collect();
    (0..n)
        .map(|i| {
            let mut best: Option<(u8, f64)> = None;
            for (c, scores) in z.iter().enumerate() {
                if let Some(scores) = scores {
                    if best.is_none_or(|(_, b)| scores[i] > b) {
                        best = Some((c as u8, scores[i]));
                    }
                }
            }
            best.map_or(gray, |(c, _)| c)
        })
        .collect()
}

/// The colour whose anchor is most similar to `v` (ties in order).
pub fn nearest(v: &[f32], anchors: &Anchors) -> u8 {
    let mut best: Option<(u8, f32)> = None;
    for (c, anchor) in anchors.iter().enumerate() {
        if let Some(a) = anchor {
            let s = dot(a, v);
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((c as u8, s));
            }
        }
    }
    best.map_or((anchors.len() - 1) as u8, |(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_scores_by_hand() {
        // Anchor 0 along x, anchor 1 along y. Raw similarity would give every
        // poem near x colour 0; z-scoring favours the colour a poem stands out in.
        let m = Matrix {
            dim: 2,
            data: vec![1.0, 0.0, 0.8, 0.6, 0.6, 0.8],
        };
        let anchors: Anchors = vec![Some(vec![1.0, 0.0]), Some(vec![0.0, 1.0]), None];
        let all = [true; 3];
        assert_eq!(assign(&m, &anchors, &all), vec![0, 1, 1]);
        assert_eq!(nearest(&[0.8, 0.6], &anchors), 0);
        // Equal z-scores: the earlier colour wins.
        let one = Matrix {
            dim: 2,
            data: vec![1.0, 0.0],
        };
        assert_eq!(assign(&one, &anchors, &[true]), vec![0]);
        assert_eq!(assign(&one, &vec![None, None], &[true]), vec![1]);
    }

    #[test]
    fn only_settled_poems_set_the_statistics() {
        let anchors: Anchors = vec![Some(vec![1.0, 0.0]), Some(vec![0.0, 1.0]), None];
        let m = Matrix {
            dim: 2,
            data: vec![1.0, 0.0, 0.8, 0.6, 0.6, 0.8],
        };
        let settled = [true, true, true];
        let before = assign(&m, &anchors, &settled);
        // Unsettled poems along y would move the y statistics if they
        // counted; they do not, so the settled poems keep their colours.
        let mut data = m.data.clone();
        for _ in 0..5 {
            data.extend([0.0, 1.0]);
        }
        let more = Matrix { dim: 2, data };
        let mut marks = settled.to_vec();
        marks.extend([false; 5]);
        let after = assign(&more, &anchors, &marks);
        assert_eq!(after[..3], before[..]);
        // Counted, they change the middle poem's colour (0.6 along y is
        // then below the y mean).
        let counted = assign(&more, &anchors, &[true; 8]);
        assert_ne!(counted[..3], before[..]);
    }
}
