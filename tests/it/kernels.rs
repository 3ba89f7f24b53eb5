//! Rankings and chains on the sonnets' real embeddings, compared with
//! straightforward reference implementations of their definitions (f64,
//! explicit centroid, full sorts).

use crate::common::*;
use std::path::Path;
use verso::config::TimelineEnd;
use verso::derive::Neighbours;
use verso::vectors::Matrix;

fn sonnet_vectors() -> Matrix {
    let dir = sonnets();
    let corpus = verso::corpus::load(&dir.join("poems.json"), &dir.join("media")).unwrap();
    let parsed = verso::vectors::load(&dir.join("embeddings.json")).unwrap();
    let (m, warnings) =
        verso::vectors::align(&dir.join("embeddings.json"), &corpus, &parsed).unwrap();
    assert!(warnings.is_empty());
    m
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
    let m = sonnet_vectors();
    let n = m.rows();
    let k = 60;
    let got = Neighbours::compute(&m, &rows(&m), &vec![true; n], k, 1).similar;
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

/// Which poems are settled under `end`, from poems.json's dates alone:
/// those dated in an earlier month ("month") or year ("year") than the
/// newest poem; all when none is. The dates must carry no offset, so that
/// their text orders as their instants do.
fn settled_by_dates(poems_json: &Path, end: &str) -> Vec<bool> {
    let poems = read_json(poems_json)["poems"].as_array().unwrap().clone();
    let mut dates: Vec<(u64, String)> = poems
        .iter()
        .map(|p| {
            let date = p["creation_date"].as_str().unwrap().to_string();
            assert!(date.len() == 10 || date.len() == 19, "{date}: no offset");
            (p["poem_index"].as_u64().unwrap(), date)
        })
        .collect();
    // Rows are in poem_index order.
    dates.sort();
    let period = |d: &str| d[..if end == "year" { 4 } else { 7 }].to_string();
    let newest = dates.iter().map(|(_, d)| d.clone()).max().unwrap();
    let settled: Vec<bool> = (dates.iter())
        .map(|(_, d)| end == "newest" || period(d) < period(&newest))
        .collect();
    match settled.contains(&true) {
        true => settled,
        false => vec![true; settled.len()],
    }
}

/// Every chain of the collection in `dir` under `end`, against its
/// definition computed here in f64 with an explicit centroid, picking only
/// the settled poems.
fn check_chains(dir: &Path, m: &Matrix, end: TimelineEnd, name: &str) {
    let n = m.rows();
    let corpus = verso::corpus::load(&dir.join("poems.json"), &dir.join("media")).unwrap();
    let settled = settled_by_dates(&dir.join("poems.json"), name);
    assert_eq!(
        verso::derive::timeline::settled(&corpus, end),
        settled,
        "{name}"
    );
    let candidates = settled.iter().filter(|&&s| s).count();
    let len = 100;
    let got = Neighbours::compute(m, &rows(m), &settled, 1, len).different;
    let mut exact = 0;
    for p in 0..n {
        let mut used: Vec<bool> = settled.iter().map(|s| !s).collect();
        used[p] = true;
        let mut sum = row64(m, p);
        let mut count = 1.0;
        let mut want = Vec::new();
        let want_len = len.min(candidates - usize::from(settled[p]));
        assert_eq!(got[p].len(), want_len, "{name}: row {p}'s chain length");
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
            assert!(settled[mine], "{name}: row {p} picked unsettled row {mine}");
            if mine != pick {
                // A divergence is allowed only at a float near-tie.
                let my_score = cosine(m.row(mine), &centroid);
                assert!(
                    !used[mine] && (my_score - score).abs() < 1e-9,
                    "{name}: row {p} step {step}: {mine} ({my_score}) vs {pick} ({score})"
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
    assert!(
        exact >= n - 2,
        "{name}: only {exact} of {n} chains match exactly"
    );
}

const ENDS: [(TimelineEnd, &str); 3] = [
    (TimelineEnd::Month, "month"),
    (TimelineEnd::Year, "year"),
    (TimelineEnd::Newest, "newest"),
];

#[test]
fn different_chains_match_the_centroid_reference() {
    let dir = sonnets();
    let m = sonnet_vectors();
    for (end, name) in ENDS {
        check_chains(&dir, &m, end, name);
    }
}

#[test]
fn chains_of_a_collection_whose_newest_month_holds_several_poems_match_the_reference() {
    let d = temp();
    collection(d.path(), 300, 16, 4, "");
    // Dates without offsets, a day apart from 2023-01-01, the last eight
    // in one month after a gap: the newest month and year hold several.
    edit_poems(d.path(), |poems| {
        let n = poems.len();
        for (i, p) in poems.iter_mut().enumerate() {
            let day = if i + 8 >= n { 600 + i % 20 } else { i };
            let date = verso::date::civil_from_days(19_358 + day as i64);
            p["creation_date"] =
                format!("{:04}-{:02}-{:02}T12:00:00", date.0, date.1, date.2).into();
        }
    });
    let corpus =
        verso::corpus::load(&d.path().join("poems.json"), &d.path().join("media")).unwrap();
    let path = d.path().join("embeddings.json");
    let (m, _) =
        verso::vectors::align(&path, &corpus, &verso::vectors::load(&path).unwrap()).unwrap();
    for (end, name) in ENDS {
        let settled = settled_by_dates(&d.path().join("poems.json"), name);
        if end != TimelineEnd::Newest {
            assert!(settled.iter().filter(|s| !**s).count() >= 8, "{name}");
        }
        check_chains(d.path(), &m, end, name);
    }
}
