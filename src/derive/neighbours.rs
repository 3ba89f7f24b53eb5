//! Rankings and chains for every poem (the build's stage 3), computed whole or
//! updated from the last build's value.
//!
//! An update keeps every ranking and chain that no new, changed or removed
//! vector can enter or leave, and recomputes the rest with the same dot
//! products and the same running sums, so it equals the whole computation
//! bit for bit. A new poem then costs its own row of similarities and a
//! replay of each chain against it, not the n × n matrix and every chain
//! (about 3.5 s at 7,797 poems).
//!
//! Chains pick only settled poems (`timeline::settled`), so for chains the
//! poems that *enter* are those settled now that were not settled before or
//! whose vector is new, and those that *leave* are those no longer settled,
//! changed or removed. At a period's turn the newest period's poems enter.
//!
//! | kept when | because |
//! | --- | --- |
//! | ranking of an unchanged poem | it lists no changed or removed poem, and no new or changed poem beats its last entry |
//! | chain of an unchanged poem | it picks no poem that leaves, has the length its candidates allow, and at no step does an entering poem's running sum beat the pick's |

use super::chain;
use super::rank;
use crate::vectors::Matrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Past this share of rows wanted, the whole matrix (computed in tiles, each
/// product used twice) is cheaper than rows computed apart.
const WHOLE_MATRIX_PAST: usize = 4;

/// Chains run side by side at most: each holds its running sums, 8 bytes a
/// poem (16 MB for 256 chains at 7,797 poems).
const RUNS_AT_ONCE: usize = 256;

/// Past this share of new or changed vectors, an update does not pay.
const UPDATE_UP_TO: usize = 16;

/// Rankings and chains, with what the next build needs to update them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbours {
    /// Per poem (corpus row), the rows of the most similar poems, best first.
    pub similar: Vec<Vec<u32>>,
    /// Per poem, the rows of its different chain after the poem itself.
    pub different: Vec<Vec<u32>>,
    /// Per chain, each pick's running sum when it was picked.
    sums: Vec<Vec<f64>>,
    /// Per row, its poem's `poem_index` and a digest of its vector.
    rows: Vec<(u32, [u8; 16])>,
    similar_len: usize,
    chain_len: usize,
    /// Per row, whether chains could pick it.
    settled: Vec<bool>,
}

/// What an update computed again (the rest it kept).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recomputed {
    /// The whole computation ran.
    pub whole: bool,
    pub rankings: usize,
    pub chains: usize,
    /// Rows of the similarity matrix computed.
    pub rows: usize,
}

/// Rows of the similarity matrix: all of it, or each row on first use.
enum Rows<'m> {
    Whole(Vec<f32>),
    OnDemand(&'m Matrix, Vec<OnceLock<Vec<f32>>>),
}

impl Rows<'_> {
    fn row(&self, r: usize) -> &[f32] {
        match self {
            Rows::Whole(sims) => {
                let n = sims.len().isqrt();
                &sims[r * n..(r + 1) * n]
            }
            Rows::OnDemand(m, rows) => {
                rows[r].get_or_init(|| rank::score_many(m, &[m.row(r)]).remove(0))
            }
        }
    }

    /// Row `r`, if it is computed.
    fn get(&self, r: usize) -> Option<&[f32]> {
        match self {
            Rows::Whole(_) => Some(self.row(r)),
            Rows::OnDemand(_, rows) => rows[r].get().map(Vec::as_slice),
        }
    }

    /// The chains of `starts`, run side by side (`RUNS_AT_ONCE` at a time):
    /// each runs until it needs a row not yet computed, then the rows they
    /// all wait for are computed together, one pass over the matrix for up
    /// to sixteen. (Chains asking one row at a time made a pass each, and
    /// took 2–3× as long for those rows on an append. Adding each waiting
    /// chain's likeliest next picks, its lowest running sums, computed more
    /// rows than it saved.)
    fn chains(
        &self,
        starts: &[usize],
        len: usize,
        candidates: chain::Candidates,
    ) -> Vec<chain::Chain> {
        let mut chains = Vec::with_capacity(starts.len());
        for batch in starts.chunks(RUNS_AT_ONCE) {
            let mut runs: Vec<chain::Run> = (batch.iter())
                .map(|&s| chain::Run::new(s, len, candidates))
                .collect();
            loop {
                let mut wanted: Vec<usize> = (runs.par_iter_mut())
                    .filter_map(|run| run.advance(|r| self.get(r)))
                    .collect();
                if wanted.is_empty() {
                    break;
                }
                wanted.sort_unstable();
                wanted.dedup();
                self.fill(&wanted);
            }
            chains.extend(runs.into_iter().map(chain::Run::into_chain));
        }
        chains
    }

    /// Compute the missing ones of `wanted` together (each pass over the
    /// matrix serves sixteen rows).
    fn fill(&self, wanted: &[usize]) {
        let Rows::OnDemand(m, rows) = self else {
            return;
        };
        let missing: Vec<usize> = (wanted.iter().copied())
            .filter(|&r| rows[r].get().is_none())
            .collect();
        let queries: Vec<&[f32]> = missing.iter().map(|&r| m.row(r)).collect();
        for (r, row) in missing.into_iter().zip(rank::score_many(m, &queries)) {
            let _ = rows[r].set(row);
        }
    }

    fn computed(&self) -> usize {
        match self {
            Rows::Whole(sims) => sims.len().isqrt(),
            Rows::OnDemand(_, rows) => rows.iter().filter(|r| r.get().is_some()).count(),
        }
    }
}

/// Each row's poem and a digest of its vector's bits.
fn identities(m: &Matrix, poems: &[u32]) -> Vec<(u32, [u8; 16])> {
    (0..m.rows())
        .into_par_iter()
        .map(|r| {
            let bytes: Vec<u8> = m.row(r).iter().flat_map(|x| x.to_le_bytes()).collect();
            let digest = blake3::hash(&bytes).as_bytes()[..16]
                .try_into()
                .expect("16 bytes");
            (poems[r], digest)
        })
        .collect()
}

impl Neighbours {
    /// Every ranking and chain of `m`, whose rows are `poems` in order;
    /// chains pick the rows `settled` marks.
    pub fn compute(
        m: &Matrix,
        poems: &[u32],
        settled: &[bool],
        similar_len: usize,
        chain_len: usize,
    ) -> Self {
        Self::compute_with(m, identities(m, poems), settled, similar_len, chain_len)
    }

    /// `compute`, with the rows' identities already taken.
    fn compute_with(
        m: &Matrix,
        rows: Vec<(u32, [u8; 16])>,
        settled: &[bool],
        similar_len: usize,
        chain_len: usize,
    ) -> Self {
        let n = m.rows();
        let sims = rank::similarity_matrix(m);
        let candidates = chain::Candidates::new(settled);
        let (different, sums) = chain::chains(&sims, n, chain_len, candidates)
            .into_iter()
            .map(|c| (c.picks, c.sums))
            .unzip();
        Neighbours {
            similar: rank::top_k_all(&sims, n, similar_len),
            different,
            sums,
            rows,
            similar_len,
            chain_len,
            settled: settled.to_vec(),
        }
    }

    /// What `compute` gives, reusing `previous` (a build's value for other
    /// vectors) where it still holds.
    pub fn update(
        mut previous: Neighbours,
        m: &Matrix,
        poems: &[u32],
        settled: &[bool],
        similar_len: usize,
        chain_len: usize,
    ) -> (Self, Recomputed) {
        let n = m.rows();
        let ids = identities(m, poems);
        let whole = |ids| {
            let all = Recomputed {
                whole: true,
                rankings: n,
                chains: n,
                rows: n,
            };
            (
                Self::compute_with(m, ids, settled, similar_len, chain_len),
                all,
            )
        };
        if (previous.similar_len, previous.chain_len) != (similar_len, chain_len) {
            return whole(ids);
        }
        let row_of: HashMap<u32, usize> = poems.iter().enumerate().map(|(r, &p)| (p, r)).collect();
        // Old rows whose poem kept its vector, and where they are now. Rows
        // are in poem_index order before and after, so ties still break
        // the same way between them.
        let mut new_to_old = vec![None; n];
        let old_to_new: Vec<Option<u32>> = (previous.rows.iter().enumerate())
            .map(|(old, (poem, digest))| {
                let new = *row_of.get(poem)?;
                (ids[new].1 == *digest).then(|| {
                    new_to_old[new] = Some(old);
                    new as u32
                })
            })
            .collect();
        let added: Vec<usize> = (0..n).filter(|&r| new_to_old[r].is_none()).collect();
        let entering: Vec<usize> = (0..n)
            .filter(|&r| settled[r] && new_to_old[r].is_none_or(|old| !previous.settled[old]))
            .collect();
        if added.len().max(entering.len()) * UPDATE_UP_TO > n {
            return whole(ids);
        }
        let on_demand = Rows::OnDemand(m, (0..n).map(|_| OnceLock::new()).collect());
        // Each fill computes only the rows not yet computed: a new poem
        // that is settled is in both lists.
        on_demand.fill(&added);
        on_demand.fill(&entering);
        let with_rows = |rows: &[usize]| rows.iter().map(|&p| (p, on_demand.row(p))).collect();
        let candidates = chain::Candidates::new(settled);
        let cx = Update {
            m,
            kernel: rank::Kernel::detect(),
            previous: &previous,
            new_to_old: &new_to_old,
            old_to_new: &old_to_new,
            added: with_rows(&added),
            entering: with_rows(&entering),
            settled,
            candidates,
            similar_len,
            chain_len,
        };
        let rankings: Vec<Ranking> = (0..n).into_par_iter().map(|i| cx.ranking(i)).collect();
        let kept_chains: Vec<bool> = (0..n).into_par_iter().map(|s| cx.replay(s)).collect();
        let starts: Vec<usize> = (0..n).filter(|&s| !kept_chains[s]).collect();
        let wanted = cx.rows_wanted(&rankings, &starts);
        let rows = match wanted.len() * WHOLE_MATRIX_PAST > n {
            true => Rows::Whole(rank::similarity_matrix(m)),
            false => {
                on_demand.fill(&wanted);
                on_demand
            }
        };
        let mut rerun = match &rows {
            Rows::Whole(sims) => chain::chains_from(sims, n, &starts, chain_len, candidates),
            Rows::OnDemand(..) => rows.chains(&starts, chain_len, candidates),
        }
        .into_iter();
        let recomputed = Recomputed {
            whole: false,
            rankings: (rankings.iter())
                .filter(|r| matches!(r, Ranking::Recompute))
                .count(),
            chains: starts.len(),
            rows: rows.computed(),
        };
        // Kept lists are moved out of the old value and renumbered in
        // place: fresh memory costs more here than the work.
        let renumber = |mut list: Vec<u32>| {
            for r in &mut list {
                *r = old_to_new[*r as usize].expect("a kept list names kept rows");
            }
            list
        };
        let mut old_similar = std::mem::take(&mut previous.similar);
        let similar = (rankings.into_iter().enumerate())
            .map(|(i, ranking)| match ranking {
                Ranking::Kept => renumber(std::mem::take(
                    &mut old_similar[new_to_old[i].expect("a kept ranking's row")],
                )),
                Ranking::New(list) => list,
                Ranking::Recompute => {
                    rank::top_k_of_row(rows.row(i), i, similar_len, &mut Vec::new())
                }
            })
            .collect();
        let (different, sums) = (0..n)
            .map(|s| match kept_chains[s] {
                true => {
                    let old = new_to_old[s].expect("a kept chain's row");
                    (
                        renumber(std::mem::take(&mut previous.different[old])),
                        std::mem::take(&mut previous.sums[old]),
                    )
                }
                false => {
                    let c = rerun.next().expect("one chain per start");
                    (c.picks, c.sums)
                }
            })
            .unzip();
        let value = Neighbours {
            similar,
            different,
            sums,
            rows: ids,
            similar_len,
            chain_len,
            settled: settled.to_vec(),
        };
        (value, recomputed)
    }
}

/// A row's ranking in an update.
enum Ranking {
    /// The old one, renumbered.
    Kept,
    /// The old one with new or changed poems let in.
    New(Vec<u32>),
    /// From the row's whole row of similarities.
    Recompute,
}

/// What an update compares each ranking and chain with.
struct Update<'a> {
    m: &'a Matrix,
    kernel: rank::Kernel,
    previous: &'a Neighbours,
    new_to_old: &'a [Option<usize>],
    old_to_new: &'a [Option<u32>],
    /// New and changed rows, each with its row of similarities.
    added: Vec<(usize, &'a [f32])>,
    /// Rows chains may pick now and could not before, with their rows.
    entering: Vec<(usize, &'a [f32])>,
    /// Per row, whether chains may pick it now.
    settled: &'a [bool],
    candidates: chain::Candidates<'a>,
    similar_len: usize,
    /// The chains' length the pages want.
    chain_len: usize,
}

impl Update<'_> {
    /// The old row of new row `i`'s list, if none of its rows changed or went.
    fn old_list<'l>(&self, i: usize, lists: &'l [Vec<u32>]) -> Option<&'l [u32]> {
        let list = &lists[self.new_to_old[i]?];
        list.iter()
            .all(|&r| self.old_to_new[r as usize].is_some())
            .then_some(list)
    }

    /// Row `i`'s ranking: new or changed poems can enter a kept list (with
    /// a full list, only those that beat its last entry); a new or changed
    /// row, or one whose list names a changed or removed poem, needs its
    /// whole row.
    fn ranking(&self, i: usize) -> Ranking {
        let Some(old) = self.old_list(i, &self.previous.similar) else {
            return Ranking::Recompute;
        };
        let list: Vec<u32> = old.iter().map(|&r| self.renumbered(r)).collect();
        let mut entering: Vec<(f32, u32)> = (self.added.iter())
            .map(|&(p, row)| (row[i], p as u32))
            .collect();
        if let (true, Some(&last)) = (list.len() == self.similar_len, list.last()) {
            let bar = (self.kernel.dots(self.m, i, &[last])[0], last);
            entering.retain(|c| rank::by_rank(c, &bar).is_lt());
        }
        if entering.is_empty() {
            return Ranking::Kept;
        }
        let scores = self.kernel.dots(self.m, i, &list);
        let mut candidates: Vec<(f32, u32)> =
            scores.into_iter().zip(list).chain(entering).collect();
        Ranking::New(rank::top_k(&mut candidates, self.similar_len))
    }

    fn renumbered(&self, old_row: u32) -> u32 {
        self.old_to_new[old_row as usize].expect("a kept row")
    }

    /// Whether chain `s` stays as it was: replayed against every new or
    /// changed poem's running sum, no pick changes.
    fn replay(&self, s: usize) -> bool {
        let Some(picks) = self.old_list(s, &self.previous.different) else {
            return false;
        };
        let sums = &self.previous.sums[self.new_to_old[s].expect("a kept row")];
        if picks.len() != self.candidates.length(s, self.chain_len)
            || picks
                .iter()
                .any(|&r| !self.settled[self.renumbered(r) as usize])
        {
            return false;
        }
        // Each entering poem's running sum, added as the chain adds it:
        // from 0, in f64, the start's similarity first.
        let mut running: Vec<f64> = (self.entering.iter())
            .map(|&(_, row)| 0.0 + row[s] as f64)
            .collect();
        for (&old_pick, &sum) in picks.iter().zip(sums) {
            let pick = self.renumbered(old_pick) as usize;
            for (&run, &(p, _)) in running.iter().zip(&self.entering) {
                // The argmin takes the lowest row among equal sums; the
                // start is used from the first step.
                if p != s && (run < sum || (run == sum && p < pick)) {
                    return false;
                }
            }
            for (run, &(_, row)) in running.iter_mut().zip(&self.entering) {
                *run += row[pick] as f64;
            }
        }
        true
    }

    /// The rows the reruns will most likely read: whole rows for rankings
    /// that need them, and each rerun chain's old picks (for a new poem's
    /// chain, those of the poem nearest it). Reruns mostly pick again what
    /// they picked before.
    fn rows_wanted(&self, rankings: &[Ranking], starts: &[usize]) -> Vec<usize> {
        let mut wanted = vec![false; self.new_to_old.len()];
        for (i, ranking) in rankings.iter().enumerate() {
            wanted[i] |= matches!(ranking, Ranking::Recompute);
        }
        for &s in starts {
            wanted[s] = true;
            let like = self.new_to_old[s].or_else(|| self.nearest_kept(s));
            for &c in like.map_or(&[][..], |old| &self.previous.different[old]) {
                if let Some(r) = self.old_to_new[c as usize] {
                    wanted[r as usize] = true;
                }
            }
        }
        (0..wanted.len()).filter(|&r| wanted[r]).collect()
    }

    /// The old row of the kept poem most similar to the new row `s`.
    fn nearest_kept(&self, s: usize) -> Option<usize> {
        let (_, row) = self.added.iter().find(|&&(p, _)| p == s)?;
        let best = (0..row.len())
            .filter(|&j| j != s && self.new_to_old[j].is_some())
            .map(|j| (row[j], j as u32))
            .min_by(rank::by_rank)?;
        self.new_to_old[best.1 as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::words::SplitMix64;

    /// A poem of a test collection: its index, vector, and whether it is
    /// settled.
    type Row = (u32, Vec<f32>, bool);

    /// A random vector; `coarse` ones take few values, so that ties happen.
    fn vector(rng: &mut SplitMix64, dim: usize, coarse: bool) -> Vec<f32> {
        (0..dim)
            .map(|_| match coarse {
                true => (rng.unit() * 3.0).floor() as f32 - 1.0,
                false => rng.unit() as f32 - 0.5,
            })
            .collect()
    }

    /// The matrix, the rows' poems and which are settled (all, when none
    /// is marked, as `timeline::settled` has it).
    fn matrix(rows: &[Row]) -> (Matrix, Vec<u32>, Vec<bool>) {
        let dim = rows[0].1.len();
        let data = rows.iter().flat_map(|r| r.1.clone()).collect();
        let mut settled: Vec<bool> = rows.iter().map(|r| r.2).collect();
        if !settled.contains(&true) {
            settled.fill(true);
        }
        (
            Matrix { dim, data },
            rows.iter().map(|r| r.0).collect(),
            settled,
        )
    }

    fn settled_rows(rng: &mut SplitMix64, n: u32, dim: usize, coarse: bool) -> Vec<Row> {
        (0..n)
            .map(|i| (i * 3, vector(rng, dim, coarse), true))
            .collect()
    }

    /// One random edit of a collection (kept in poem_index order).
    fn edit(rng: &mut SplitMix64, rows: &mut Vec<Row>, coarse: bool) {
        let dim = rows[0].1.len();
        let pick = |rng: &mut SplitMix64, len: usize| (rng.unit() * len as f64) as usize % len;
        match pick(rng, 8) {
            // A new poem after the others, in the newest period or not.
            0 => {
                let index = rows.last().unwrap().0 + 1 + pick(rng, 3) as u32;
                let settled = pick(rng, 3) == 0;
                rows.push((index, vector(rng, dim, coarse), settled));
            }
            // A new poem between two others (the rows after it move).
            1 => {
                let at = pick(rng, rows.len());
                let index = rows[at].0 * 2 + 1;
                for r in rows.iter_mut() {
                    r.0 *= 2;
                }
                let settled = pick(rng, 2) == 0;
                rows.insert(at + 1, (index, vector(rng, dim, coarse), settled));
            }
            // A poem removed.
            2 if rows.len() > 2 => {
                rows.remove(pick(rng, rows.len()));
            }
            // A copy of another poem's vector: exact ties.
            3 => {
                let copy = rows[pick(rng, rows.len())].1.clone();
                let index = rows.last().unwrap().0 + 1;
                rows.push((index, copy, false));
            }
            // The period turns: every poem is settled.
            4 => rows.iter_mut().for_each(|r| r.2 = true),
            // A poem's date moves it into or out of the newest period.
            5 => {
                let at = pick(rng, rows.len());
                rows[at].2 = !rows[at].2;
            }
            // A poem's vector changed.
            _ => {
                let at = pick(rng, rows.len());
                rows[at].1 = vector(rng, dim, coarse);
            }
        }
    }

    #[test]
    fn an_update_equals_the_whole_computation_bit_for_bit() {
        let mut rng = SplitMix64::new(11);
        let (mut on_demand, mut whole_matrix, mut kept_all) = (0, 0, 0);
        let mut partly_settled = 0;
        for case in 0..160 {
            let coarse = case % 2 == 0;
            let n = 2 + (rng.unit() * if case % 5 == 0 { 300.0 } else { 40.0 }) as usize;
            let dim = 3 + case % 5;
            let (similar_len, chain_len) = (1 + case % 9, 1 + case % 13);
            let mut rows = settled_rows(&mut rng, n as u32, dim, coarse);
            let (m, poems, settled) = matrix(&rows);
            let mut previous = Neighbours::compute(&m, &poems, &settled, similar_len, chain_len);
            for _ in 0..4 {
                for _ in 0..1 + case % 2 {
                    edit(&mut rng, &mut rows, coarse);
                }
                let (m, poems, settled) = matrix(&rows);
                partly_settled += usize::from(settled.contains(&false));
                let (updated, recomputed) =
                    Neighbours::update(previous, &m, &poems, &settled, similar_len, chain_len);
                let want = Neighbours::compute(&m, &poems, &settled, similar_len, chain_len);
                assert_eq!(updated, want, "case {case}, {recomputed:?}");
                if !recomputed.whole {
                    match recomputed.rows < m.rows() {
                        true => on_demand += 1,
                        false => whole_matrix += 1,
                    }
                    kept_all += usize::from(recomputed.chains < m.rows());
                }
                previous = updated;
            }
        }
        // Every path was taken: rows on demand, the whole matrix, kept
        // chains, collections with a newest period.
        assert!(on_demand > 0 && whole_matrix > 0 && kept_all > 0 && partly_settled > 50);
    }

    #[test]
    fn chains_side_by_side_on_rows_on_demand_equal_chains_over_the_matrix() {
        let mut rng = SplitMix64::new(7);
        let n = RUNS_AT_ONCE + 44;
        let data: Vec<f32> = (0..n * 9).map(|_| rng.unit() as f32 - 0.5).collect();
        let m = Matrix { dim: 9, data };
        let starts: Vec<usize> = (0..n).rev().collect();
        let settled: Vec<bool> = (0..n).map(|r| r % 7 != 0).collect();
        let candidates = chain::Candidates::new(&settled);
        let on_demand = Rows::OnDemand(&m, (0..n).map(|_| OnceLock::new()).collect());
        let want = chain::chains_from(&rank::similarity_matrix(&m), n, &starts, 12, candidates);
        assert_eq!(on_demand.chains(&starts, 12, candidates), want);
    }

    #[test]
    fn a_far_poem_appended_reruns_only_its_own_ranking_and_chain() {
        let mut rng = SplitMix64::new(5);
        // Two tight clusters; the new poem joins the first, far from the
        // second: no chain (they all pick from the other cluster or the
        // far end of their own) takes it early enough to change.
        let mut rows: Vec<Row> = (0..400u32)
            .map(|i| {
                let centre = if i % 2 == 0 { 1.0 } else { -1.0 };
                let v = vec![centre, rng.unit() as f32 * 0.1, rng.unit() as f32 * 0.1];
                (i, v, true)
            })
            .collect();
        let (m, poems, settled) = matrix(&rows);
        let previous = Neighbours::compute(&m, &poems, &settled, 10, 10);
        rows.push((400, vec![1.0, 0.05, 0.05], true));
        let (m, poems, settled) = matrix(&rows);
        let (updated, recomputed) = Neighbours::update(previous, &m, &poems, &settled, 10, 10);
        assert_eq!(updated, Neighbours::compute(&m, &poems, &settled, 10, 10));
        assert!(!recomputed.whole);
        assert_eq!(recomputed.rankings, 1, "{recomputed:?}");
        assert!(recomputed.chains < 401 / 16, "{recomputed:?}");
        assert!(recomputed.rows < 401 / 4, "{recomputed:?}");
    }

    #[test]
    fn a_poem_of_the_newest_period_changes_no_other_chain() {
        let mut rng = SplitMix64::new(9);
        let mut rows = settled_rows(&mut rng, 120, 5, false);
        let (m, poems, settled) = matrix(&rows);
        let previous = Neighbours::compute(&m, &poems, &settled, 30, 30);
        // The new poem points away from poem 0, far out (rows here are not
        // unit length): the first pick of poem 0's chain, were it settled.
        let far: Vec<f32> = rows[0].1.iter().map(|x| -100.0 * x).collect();
        rows.push((1000, far.clone(), false));
        let (m, poems, settled) = matrix(&rows);
        let (within, recomputed) =
            Neighbours::update(previous.clone(), &m, &poems, &settled, 30, 30);
        assert_eq!(within, Neighbours::compute(&m, &poems, &settled, 30, 30));
        assert_eq!(within.different[..120], previous.different[..]);
        // Only its own chain ran.
        assert_eq!(recomputed.chains, 1, "{recomputed:?}");
        // Settled (a new period), it enters poem 0's chain first.
        let (m, poems, _) = matrix(&rows);
        let all = vec![true; 121];
        let (turned, _) = Neighbours::update(within, &m, &poems, &all, 30, 30);
        assert_eq!(turned, Neighbours::compute(&m, &poems, &all, 30, 30));
        assert_eq!(turned.different[0][0], 120);
    }

    #[test]
    fn other_lengths_or_many_new_vectors_compute_the_whole() {
        let mut rng = SplitMix64::new(2);
        let rows = settled_rows(&mut rng, 50, 4, false);
        let (m, poems, settled) = matrix(&rows);
        let previous = Neighbours::compute(&m, &poems, &settled, 5, 5);
        assert!(
            Neighbours::update(previous.clone(), &m, &poems, &settled, 6, 5)
                .1
                .whole
        );
        let (same, recomputed) = Neighbours::update(previous.clone(), &m, &poems, &settled, 5, 5);
        assert_eq!(
            (same, recomputed.chains, recomputed.rows),
            (previous.clone(), 0, 0)
        );
        let changed = settled_rows(&mut rng, 50, 4, false);
        let (m, poems, settled) = matrix(&changed);
        assert!(
            Neighbours::update(previous, &m, &poems, &settled, 5, 5)
                .1
                .whole
        );
    }
}
