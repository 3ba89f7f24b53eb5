//! Rankings and chains on the sonnets' real embeddings, compared with
//! straightforward reference implementations of SPEC's definitions (f64,
//! explicit centroid, full sorts).

use crate::common::*;
use verso::derive::Neighbours;
use verso::vectors::Matrix;

fn sonnet_vectors() -> Option<Matrix> {
    let dir = sonnets()?;
    let corpus = verso::corpus::load(&dir.join("poems.json"), &dir.join("media")).unwrap();
    let parsed = verso::vectors::load(&dir.join("embeddings.json")).unwrap();
    let (m, warnings) =
        verso::vectors::align(&dir.join("embeddings.json"), &corpus, &parsed).unwrap();
    assert!(warnings.is_empty());
    Some(m)
}

fn cosine(a: &[f32], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * y).sum();
    let nb = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    let na = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// Poem indices for a matrix's rows: 0, 1, 2, ...
fn rows(m: &Matrix) -> Vec<u32> {
    (0..m.rows() as u32).collect()
}

fn row64(m: &Matrix, i: usize) -> Vec<f64> {
    m.row(i).iter().map(|&x| x as f64).collect()
}

/// Rows are in poem_index order, so "ties by ascending poem_index" is
/// "ties by ascending row".
#[test]
fn similar_rankings_match_the_reference() {
    let Some(m) = sonnet_vectors() else { return };
    let n = m.rows();
    let k = 60;
    let got = Neighbours::compute(&m, &rows(&m), k, 1).similar;
    let mut exact_rows = 0;
    for (p, got_p) in got.iter().enumerate() {
        let anchor = row64(&m, p);
        let mut others: Vec<(f64, usize)> = (0..n)
            .filter(|&q| q != p)
            .map(|q| (cosine(m.row(q), &anchor), q))
            .collect();
        others.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let want: Vec<u32> = others[..k].iter().map(|x| x.1 as u32).collect();
        assert_eq!(got_p.len(), k);
        if *got_p == want {
            exact_rows += 1;
            continue;
        }
        // Only float near-ties may differ from the exact-arithmetic order.
        for (g, w) in got_p.iter().zip(&want) {
            let (sg, sw) = (
                cosine(m.row(*g as usize), &anchor),
                cosine(m.row(*w as usize), &anchor),
            );
            assert!(
                (sg - sw).abs() < 1e-6,
                "poem row {p}: {g} ({sg}) vs {w} ({sw})"
            );
        }
    }
    assert!(
        exact_rows >= n - 2,
        "only {exact_rows} of {n} rankings match exactly"
    );
}

#[test]
fn different_chains_match_the_centroid_reference() {
    let Some(m) = sonnet_vectors() else { return };
    let n = m.rows();
    let len = 100;
    let got = Neighbours::compute(&m, &rows(&m), 1, len).different;
    let mut exact = 0;
    for p in 0..n {
        let mut used = vec![false; n];
        used[p] = true;
        let mut sum = row64(&m, p);
        let mut count = 1.0;
        let mut want = Vec::new();
        for (step, &mine) in got[p].iter().enumerate() {
            let centroid: Vec<f64> = sum.iter().map(|s| s / count).collect();
            let mut best: Option<(f64, usize)> = None;
            for q in (0..n).filter(|&q| !used[q]) {
                let s = cosine(m.row(q), &centroid);
                if best.is_none_or(|(b, _)| s < b) {
                    best = Some((s, q));
                }
            }
            let (score, pick) = best.unwrap();
            let mine = mine as usize;
            if mine != pick {
                // A divergence is allowed only at a float near-tie.
                let my_score = cosine(m.row(mine), &centroid);
                assert!(
                    !used[mine] && (my_score - score).abs() < 1e-9,
                    "row {p} step {step}: {mine} ({my_score}) vs {pick} ({score})"
                );
                break;
            }
            want.push(pick as u32);
            used[pick] = true;
            for (s, x) in sum.iter_mut().zip(m.row(pick)) {
                *s += *x as f64;
            }
            count += 1.0;
        }
        if want == got[p] {
            exact += 1;
        }
    }
    assert!(exact >= n - 2, "only {exact} of {n} chains match exactly");
}
