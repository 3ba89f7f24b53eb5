//! The map's layout: every poem placed in two dimensions so that poems
//! alike in meaning stand near each other. It follows UMAP: a fuzzy graph
//! of each poem's nearest poems (taken from the similar rankings, so no
//! similarity is computed twice), then attraction along the graph's edges
//! and repulsion from sampled poems, started from the vectors' first two
//! principal components. Like every corpus-wide choice, it is made over the
//! settled poems (README, "Month, year or newest"); a poem of the newest
//! period is placed among its nearest settled poems, so it moves no other.
//!
//! Deterministic on any machine and any number of threads: the descent runs
//! on one thread in a fixed order from a fixed random stream, and every
//! parallel sum before it is added in a fixed order.

use super::rank::dot;
use crate::vectors::Matrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Nearest poems per poem in the graph: UMAP's default of 15 neighbours,
/// the poem itself included.
pub const NEAREST: usize = 14;
/// Passes over the graph: UMAP's 500 for a small collection, fewer as it
/// grows (the work is about epochs × poems), never under UMAP's 200.
fn epochs(n: usize) -> usize {
    (1_500_000 / n.max(1)).clamp(200, 500)
}
/// Poems each point is pushed away from per epoch.
const NEGATIVES: usize = 5;
/// The low-dimensional curve `1 / (1 + A d²)`: UMAP's for `min_dist` 0.1
/// but for its power on d², 0.895, taken as 1 so that no power is
/// computed: four times faster, and the same trustworthiness on the
/// benchmark collection (benches/RESULTS.md).
const A: f32 = 1.577;
/// UMAP's bound on one move along one axis.
const CLIP: f32 = 4.0;
/// The initial layout spans this much on each axis (as UMAP's does).
const INITIAL_SPAN: f32 = 10.0;
/// Power iterations for the principal plane.
const POWER_ITERATIONS: usize = 8;
/// Rows per partial sum: the order sums are added in is fixed by this,
/// not by the threads.
const CHUNK: usize = 256;

/// Each poem's place, by corpus row: the layout scaled into the unit
/// square, its longer axis spanning it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapLayout {
    pub points: Vec<[f32; 2]>,
}

/// How many of a newer poem's nearest settled poems place it.
const PLACED_BY: usize = 5;

/// The settled poems' rows, and each one's nearest settled poems (from its
/// similar ranking, best first) as positions among those rows: the graph
/// the layout is made from. A poem of the newest period is in no list.
pub fn settled_graph(similar: &[Vec<u32>], settled: &[bool]) -> (Vec<u32>, Vec<Vec<u32>>) {
    let rows: Vec<u32> = (0..settled.len() as u32)
        .filter(|&r| settled[r as usize])
        .collect();
    let mut position = vec![u32::MAX; settled.len()];
    for (k, &row) in rows.iter().enumerate() {
        position[row as usize] = k as u32;
    }
    let lists = rows
        .iter()
        .map(|&row| {
            similar[row as usize]
                .iter()
                .filter(|&&j| settled[j as usize])
                .take(NEAREST)
                .map(|&j| position[j as usize])
                .collect()
        })
        .collect();
    (rows, lists)
}

/// Every poem's place: a settled poem's from the settled poems' layout
/// (`rows` as `settled_graph` gave them), a newer poem's the median place
/// of its nearest settled poems, so that a poem of the newest period moves
/// no other dot.
pub fn place_all(
    settled_layout: &MapLayout,
    rows: &[u32],
    similar: &[Vec<u32>],
    settled: &[bool],
) -> MapLayout {
    let mut points = vec![[0.5f32; 2]; settled.len()];
    for (&row, &point) in rows.iter().zip(&settled_layout.points) {
        points[row as usize] = point;
    }
    for row in (0..settled.len()).filter(|&r| !settled[r]) {
        let near: Vec<[f32; 2]> = similar[row]
            .iter()
            .filter(|&&j| settled[j as usize])
            .take(PLACED_BY)
            .map(|&j| points[j as usize])
            .collect();
        if near.is_empty() {
            continue;
        }
        let median = |axis: usize| {
            let mut at: Vec<f32> = near.iter().map(|p| p[axis]).collect();
            at.sort_by(f32::total_cmp);
            at[(at.len() - 1) / 2]
        };
        points[row] = [median(0), median(1)];
    }
    MapLayout { points }
}

/// The layout of `m`'s rows, given each row's nearest rows, best first.
pub fn layout(m: &Matrix, nearest: &[&[u32]]) -> MapLayout {
    let n = m.rows();
    if n < 3 {
        // Nothing to arrange: a row, or two points apart.
        let points = (0..n).map(|i| [i as f32, 0.5]).collect();
        return MapLayout { points };
    }
    let graph = Graph::new(m, nearest);
    let start = principal_plane(m);
    MapLayout {
        points: into_unit_square(optimise(&graph, start)),
    }
}

/// The symmetric fuzzy graph: per point, its neighbours and edge weights.
struct Graph {
    starts: Vec<usize>,
    edges: Vec<(u32, f32)>,
}

impl Graph {
    fn new(m: &Matrix, nearest: &[&[u32]]) -> Graph {
        let n = m.rows();
        let directed: Vec<Vec<(u32, f32)>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let list: Vec<u32> = nearest[i]
                    .iter()
                    .copied()
                    .filter(|&j| j as usize != i && (j as usize) < n)
                    .take(NEAREST)
                    .collect();
                let distances: Vec<f64> = list
                    .iter()
                    .map(|&j| f64::from(1.0 - dot(m.row(i), m.row(j as usize))).max(0.0))
                    .collect();
                list.into_iter().zip(memberships(&distances)).collect()
            })
            .collect();
        // w = a + b - ab over both directions of an edge.
        let mut both: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
        for (i, list) in directed.iter().enumerate() {
            for &(j, w) in list {
                both[i].push((j, w));
                both[j as usize].push((i as u32, w));
            }
        }
        let mut starts = Vec::with_capacity(n + 1);
        let mut edges = Vec::new();
        for mut list in both {
            starts.push(edges.len());
            list.sort_by_key(|&(j, _)| j);
            let mut k = 0;
            while k < list.len() {
                let (j, a) = list[k];
                match list.get(k + 1) {
                    Some(&(j2, b)) if j2 == j => {
                        edges.push((j, a + b - a * b));
                        k += 2;
                    }
                    _ => {
                        edges.push((j, a));
                        k += 1;
                    }
                }
            }
        }
        starts.push(edges.len());
        Graph { starts, edges }
    }

    fn edges_of(&self, i: usize) -> &[(u32, f32)] {
        &self.edges[self.starts[i]..self.starts[i + 1]]
    }
}

/// UMAP's memberships of one point's nearest points, from their distances:
/// `exp(-(d - ρ) / σ)`, with ρ the nearest distance and σ found so the
/// memberships add up to log₂ of the neighbourhood's size.
fn memberships(distances: &[f64]) -> Vec<f32> {
    let Some(rho) = distances.iter().copied().reduce(f64::min) else {
        return Vec::new();
    };
    let target = ((distances.len() + 1) as f64).log2();
    let total = |sigma: f64| -> f64 {
        distances
            .iter()
            .map(|&d| (-(d - rho).max(0.0) / sigma).exp())
            .sum()
    };
    let (mut lo, mut hi, mut sigma) = (0.0f64, f64::INFINITY, 1.0f64);
    for _ in 0..64 {
        let s = total(sigma);
        if (s - target).abs() < 1e-5 {
            break;
        }
        if s > target {
            hi = sigma;
            sigma = (lo + hi) / 2.0;
        } else {
            lo = sigma;
            sigma = if hi.is_finite() {
                (lo + hi) / 2.0
            } else {
                sigma * 2.0
            };
        }
    }
    // UMAP's floor on σ, against a neighbourhood of equal distances.
    let mean = distances.iter().sum::<f64>() / distances.len() as f64;
    let sigma = sigma.max(1e-3 * mean).max(f64::MIN_POSITIVE);
    distances
        .iter()
        .map(|&d| (-(d - rho).max(0.0) / sigma).exp() as f32)
        .collect()
}

/// Sum per-chunk partial vectors in chunk order.
fn sum_in_order(partials: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    partials.into_iter().fold(vec![0.0; len], |mut acc, p| {
        acc.iter_mut().zip(&p).for_each(|(a, b)| *a += b);
        acc
    })
}

/// Each row's coordinates on the two principal axes of the centred rows
/// (power iteration on a two-dimensional subspace), each axis scaled to
/// span `INITIAL_SPAN`, as UMAP scales its start.
fn principal_plane(m: &Matrix) -> Vec<[f32; 2]> {
    let (n, d) = (m.rows(), m.dim);
    let rows: Vec<usize> = (0..n).collect();
    let sums = rows
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut acc = vec![0.0f32; d];
            for &i in chunk {
                acc.iter_mut().zip(m.row(i)).for_each(|(a, x)| *a += x);
            }
            acc
        })
        .collect();
    let mean: Vec<f32> = sum_in_order(sums, d)
        .into_iter()
        .map(|s| s / n as f32)
        .collect();
    // A fixed start that no axis of real data is orthogonal to.
    let mut axes = [
        (0..d).map(|t| 1.0 + (t % 7) as f32).collect::<Vec<f32>>(),
        (0..d)
            .map(|t| if t % 2 == 0 { 1.0 } else { -1.0 })
            .collect(),
    ];
    orthonormalise(&mut axes);
    let project = |axes: &[Vec<f32>; 2]| -> Vec<[f32; 2]> {
        let offsets = [dot(&mean, &axes[0]), dot(&mean, &axes[1])];
        (0..n)
            .into_par_iter()
            .map(|i| {
                [
                    dot(m.row(i), &axes[0]) - offsets[0],
                    dot(m.row(i), &axes[1]) - offsets[1],
                ]
            })
            .collect()
    };
    for _ in 0..POWER_ITERATIONS {
        let coords = project(&axes);
        let partials = rows
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut acc = vec![0.0f32; 2 * d];
                for &i in chunk {
                    let [a, b] = coords[i];
                    let (first, second) = acc.split_at_mut(d);
                    for t in 0..d {
                        let x = m.row(i)[t] - mean[t];
                        first[t] += x * a;
                        second[t] += x * b;
                    }
                }
                acc
            })
            .collect();
        let sum = sum_in_order(partials, 2 * d);
        axes = [sum[..d].to_vec(), sum[d..].to_vec()];
        orthonormalise(&mut axes);
    }
    let coords = project(&axes);
    let span = |k: usize| {
        let (lo, hi) = coords.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| {
            (lo.min(p[k]), hi.max(p[k]))
        });
        (lo, hi - lo)
    };
    let ((x0, w), (y0, h)) = (span(0), span(1));
    let (sx, sy) = (
        INITIAL_SPAN / w.max(f32::MIN_POSITIVE),
        INITIAL_SPAN / h.max(f32::MIN_POSITIVE),
    );
    coords
        .into_iter()
        .map(|[x, y]| [(x - x0) * sx, (y - y0) * sy])
        .collect()
}

/// Gram–Schmidt on two vectors; a vector that vanishes is left as zeros.
fn orthonormalise(axes: &mut [Vec<f32>; 2]) {
    let unit = |v: &mut Vec<f32>| {
        let norm = dot(v, v).sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    };
    unit(&mut axes[0]);
    let along = dot(&axes[0], &axes[1]);
    let [first, second] = axes;
    second
        .iter_mut()
        .zip(first.iter())
        .for_each(|(x, f)| *x -= along * f);
    unit(&mut axes[1]);
}

/// A small random stream (SplitMix64).
struct Stream(u64);

impl Stream {
    fn new(seed: u64) -> Stream {
        Stream(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (((z >> 11) as u128 * n as u128) >> 53) as usize
    }
}

fn clip(v: f32) -> f32 {
    v.clamp(-CLIP, CLIP)
}

/// UMAP's stochastic gradient descent, edge by edge in a fixed order (one
/// thread: each move reads the moves before it): an edge is taken once
/// every `max weight / weight` epochs, pulls both its ends together, and
/// pushes its first end away from five poems drawn at random.
fn optimise(graph: &Graph, start: Vec<[f32; 2]>) -> Vec<[f32; 2]> {
    let n = start.len();
    let epochs = epochs(n);
    let heaviest = graph.edges.iter().map(|&(_, w)| w).fold(0.0f32, f32::max);
    // (head, tail, epochs between samples), leaving out edges too light to
    // be taken once in the run, as UMAP does.
    let edges: Vec<(u32, u32, f32)> = (0..n)
        .flat_map(|i| {
            graph
                .edges_of(i)
                .iter()
                .filter(|&&(_, w)| w >= heaviest / epochs as f32)
                .map(move |&(j, w)| (i as u32, j, heaviest / w))
        })
        .collect();
    let mut next_sample: Vec<f32> = edges.iter().map(|e| e.2).collect();
    let mut next_negative: Vec<f32> = edges.iter().map(|e| e.2 / NEGATIVES as f32).collect();
    let mut points = start;
    let mut stream = Stream::new(n as u64);
    for epoch in 1..=epochs {
        let now = epoch as f32;
        let alpha = 1.0 - (epoch - 1) as f32 / epochs as f32;
        for (e, &(head, tail, every)) in edges.iter().enumerate() {
            if next_sample[e] > now {
                continue;
            }
            let (i, j) = (head as usize, tail as usize);
            let delta = [points[i][0] - points[j][0], points[i][1] - points[j][1]];
            let d2 = delta[0] * delta[0] + delta[1] * delta[1];
            if d2 > 0.0 {
                let coeff = -2.0 * A / (1.0 + A * d2);
                for axis in 0..2 {
                    let step = clip(coeff * delta[axis]) * alpha;
                    points[i][axis] += step;
                    points[j][axis] -= step;
                }
            }
            next_sample[e] += every;
            let per_negative = every / NEGATIVES as f32;
            let negatives = ((now - next_negative[e]) / per_negative) as usize;
            // The pushes are all reckoned from where the point stands now
            // and then added, so they do not wait on each other.
            let p = points[i];
            let mut push = [0.0f32; 2];
            for _ in 0..negatives {
                let k = stream.below(n);
                if k == i {
                    continue;
                }
                let delta = [p[0] - points[k][0], p[1] - points[k][1]];
                let d2 = delta[0] * delta[0] + delta[1] * delta[1];
                for axis in 0..2 {
                    push[axis] += if d2 > 0.0 {
                        let coeff = 2.0 / ((0.001 + d2) * (1.0 + A * d2));
                        clip(coeff * delta[axis])
                    } else {
                        CLIP
                    };
                }
            }
            points[i][0] += push[0] * alpha;
            points[i][1] += push[1] * alpha;
            next_negative[e] += negatives as f32 * per_negative;
        }
    }
    points
}

/// The points moved and scaled into the unit square, the longer axis
/// spanning it, the shorter one centred.
fn into_unit_square(points: Vec<[f32; 2]>) -> Vec<[f32; 2]> {
    let bounds = |k: usize| {
        points.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| {
            (lo.min(p[k]), hi.max(p[k]))
        })
    };
    let ((x0, x1), (y0, y1)) = (bounds(0), bounds(1));
    let span = (x1 - x0).max(y1 - y0).max(f32::MIN_POSITIVE);
    points
        .into_iter()
        .map(|[x, y]| [(x - x0) / span, (y - y0) / span])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::rank;

    /// Three tight clusters of unit vectors in 16 dimensions.
    fn clusters(per: usize) -> Matrix {
        let dim = 16;
        let mut data = Vec::new();
        let mut stream = Stream::new(7);
        for c in 0..3 {
            for _ in 0..per {
                let mut v: Vec<f32> = (0..dim)
                    .map(|t| {
                        let noise = stream.below(1000) as f32 / 1000.0 - 0.5;
                        if t == c * 5 {
                            4.0 + noise
                        } else {
                            noise * 0.5
                        }
                    })
                    .collect();
                let norm = dot(&v, &v).sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                data.extend(v);
            }
        }
        Matrix { dim, data }
    }

    fn nearest(m: &Matrix) -> Vec<Vec<u32>> {
        rank::top_k_all(&rank::similarity_matrix(m), m.rows(), NEAREST)
    }

    fn lay_out(m: &Matrix, threads: usize) -> MapLayout {
        let lists = nearest(m);
        let lists: Vec<&[u32]> = lists.iter().map(Vec::as_slice).collect();
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| layout(m, &lists))
    }

    #[test]
    fn the_layout_is_the_same_on_one_thread_and_on_three() {
        let m = clusters(300);
        let one = lay_out(&m, 1);
        let three = lay_out(&m, 3);
        assert_eq!(one.points.len(), 900);
        assert!(one
            .points
            .iter()
            .zip(&three.points)
            .all(|(a, b)| a[0].to_bits() == b[0].to_bits() && a[1].to_bits() == b[1].to_bits()));
    }

    #[test]
    fn a_poem_lands_nearer_its_own_cluster_than_the_others() {
        let m = clusters(200);
        let points = lay_out(&m, 2).points;
        let centre = |c: usize| {
            let s = points[c * 200..(c + 1) * 200]
                .iter()
                .fold([0.0, 0.0], |a, p| [a[0] + p[0], a[1] + p[1]]);
            [s[0] / 200.0, s[1] / 200.0]
        };
        let centres = [centre(0), centre(1), centre(2)];
        let distance = |p: [f32; 2], q: [f32; 2]| (p[0] - q[0]).hypot(p[1] - q[1]);
        let home = points
            .iter()
            .enumerate()
            .filter(|&(i, p)| {
                let own = distance(*p, centres[i / 200]);
                (0..3).all(|c| c == i / 200 || distance(*p, centres[c]) > own)
            })
            .count();
        assert_eq!(home, 600, "every point nearest its own cluster's centre");
        assert!(points
            .iter()
            .all(|p| (0.0..=1.0).contains(&p[0]) && (0.0..=1.0).contains(&p[1])));
    }

    #[test]
    fn tiny_collections_are_laid_out_too() {
        for n in 0..4 {
            let m = Matrix {
                dim: 2,
                data: (0..n).flat_map(|i| [1.0, i as f32]).collect(),
            };
            let lists: Vec<Vec<u32>> = (0..n).map(|_| (0..n as u32).collect()).collect();
            let lists: Vec<&[u32]> = lists.iter().map(Vec::as_slice).collect();
            assert_eq!(layout(&m, &lists).points.len(), n);
        }
    }

    #[test]
    fn a_newer_poem_stands_among_its_nearest_settled_poems_and_moves_none() {
        // Rows 0–3 settled; row 4 is newer, most like rows 2, 4's own
        // newer neighbour 5, then 0 and 1.
        let settled = [true, true, true, true, false, false];
        let similar: Vec<Vec<u32>> = vec![
            vec![1, 4, 2],
            vec![0, 2],
            vec![3, 5, 1],
            vec![2, 0],
            vec![2, 5, 0, 1],
            vec![4, 3],
        ];
        let (rows, lists) = settled_graph(&similar, &settled);
        assert_eq!(rows, vec![0, 1, 2, 3]);
        assert_eq!(lists, vec![vec![1, 2], vec![0, 2], vec![3, 1], vec![2, 0]]);
        let layout = MapLayout {
            points: vec![[0.0, 0.0], [0.2, 0.9], [0.6, 0.4], [1.0, 1.0]],
        };
        let all = place_all(&layout, &rows, &similar, &settled);
        assert_eq!(&all.points[..4], &layout.points[..]);
        // The median of rows 2, 0 and 1 on each axis.
        assert_eq!(all.points[4], [0.2, 0.4]);
        assert_eq!(all.points[5], [1.0, 1.0]);
    }

    #[test]
    fn memberships_sum_to_the_log_of_the_neighbourhood() {
        let w = memberships(&[0.1, 0.2, 0.3, 0.5, 0.8]);
        assert_eq!(w[0], 1.0);
        let total: f32 = w.iter().sum();
        assert!((total - 6f32.log2()).abs() < 1e-3, "{total}");
        assert_eq!(memberships(&[0.4, 0.4]), vec![1.0, 1.0]);
    }
}
