//! Different chains. With unit rows, "least similar to the running mean c of
//! the picked vectors" is "least dot product with their sum", and that is the
//! running sum of each poem's similarities to the picks: one pass per pick.

use rayon::prelude::*;

/// For every start row, the rows it picks, in order (`len` at most n − 1).
pub fn chains(sims: &[f32], n: usize, len: usize) -> Vec<Vec<u32>> {
    (0..n)
        .into_par_iter()
        .map_init(Vec::new, |acc: &mut Vec<f64>, start| {
            chain(sims, n, start, len, acc)
        })
        .collect()
}

fn chain(sims: &[f32], n: usize, start: usize, len: usize, acc: &mut Vec<f64>) -> Vec<u32> {
    let len = len.min(n.saturating_sub(1));
    acc.clear();
    acc.extend(sims[start * n..(start + 1) * n].iter().map(|&s| s as f64));
    acc[start] = f64::INFINITY;
    let mut picks = Vec::with_capacity(len);
    if len == 0 {
        return picks;
    }
    let mut pick = argmin(acc);
    loop {
        picks.push(pick as u32);
        acc[pick] = f64::INFINITY;
        if picks.len() == len {
            return picks;
        }
        // Add the new pick's similarities and find the next minimum in one pass;
        // used rows stay infinite, and `<` keeps the lowest row on ties.
        let row = &sims[pick * n..(pick + 1) * n];
        let mut best = f64::INFINITY;
        let mut best_at = usize::MAX;
        for (q, (a, &s)) in acc.iter_mut().zip(row).enumerate() {
            *a += s as f64;
            if *a < best {
                best = *a;
                best_at = q;
            }
        }
        pick = best_at;
    }
}

fn argmin(values: &[f64]) -> usize {
    let mut best_at = 0;
    for (i, &v) in values.iter().enumerate() {
        if v < values[best_at] {
            best_at = i;
        }
    }
    best_at
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
}
