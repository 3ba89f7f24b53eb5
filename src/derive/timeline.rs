//! Chronological order (time, then position in poems.json), each poem's
//! chronological page, and its timeline share as whole bar cells. The bars
//! end at the start of the month after the newest poem's (`end = "month"`),
//! of the year after it (`end = "year"`), or at the newest poem
//! (`end = "newest"`). The same period decides which poems are *settled*:
//! those dated before the newest poem's month or year, the only ones that
//! chains pick and that colours are standardised by, so that a poem added
//! within the newest period changes no other poem's chain or colour.

use crate::config::TimelineEnd;
use crate::corpus::Corpus;
use crate::date;

/// Cells in a timeline bar.
pub const BAR_CELLS: usize = 83;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timeline {
    /// Rows in chronological order.
    pub order: Vec<u32>,
    /// Per row: its 1-based chronological position.
    pub position: Vec<u32>,
    /// Per row: `floor(share × 83)`.
    pub filled: Vec<u8>,
}

impl Timeline {
    pub fn new(corpus: &Corpus, end: TimelineEnd) -> Self {
        let poems = &corpus.poems;
        let mut order: Vec<u32> = (0..poems.len() as u32).collect();
        order.sort_by_key(|&r| (poems[r as usize].time, poems[r as usize].position));
        let mut position = vec![0u32; poems.len()];
        for (i, &r) in order.iter().enumerate() {
            position[r as usize] = i as u32 + 1;
        }
        let first = poems.iter().map(|p| p.time).min().unwrap_or(0);
        let newest = poems.iter().map(|p| p.time).max().unwrap_or(0);
        let last = match end {
            TimelineEnd::Month => date::start_of_next_month(newest),
            TimelineEnd::Year => date::start_of_next_year(newest),
            TimelineEnd::Newest => newest,
        };
        let filled = poems
            .iter()
            .map(|p| {
                let share = if last == first {
                    0.0
                } else {
                    (p.time - first) as f64 / (last - first) as f64
                };
                ((share * BAR_CELLS as f64).floor() as usize).min(BAR_CELLS) as u8
            })
            .collect();
        Timeline {
            order,
            position,
            filled,
        }
    }

    /// The chronological page of a row.
    pub fn page_of(&self, row: usize, per_page: usize) -> usize {
        (self.position[row] as usize).div_ceil(per_page)
    }

    pub fn page_count(&self, per_page: usize) -> usize {
        self.order.len().div_ceil(per_page).max(1)
    }
}

/// Per row, whether its poem is settled: dated before the first instant of
/// the newest poem's period. Every poem is settled with `end = "newest"`,
/// and when none would be (all fall in the newest period).
pub fn settled(corpus: &Corpus, end: TimelineEnd) -> Vec<bool> {
    let newest = corpus.poems.iter().map(|p| p.time).max().unwrap_or(0);
    let period_start = match end {
        TimelineEnd::Month => date::start_of_month(newest),
        TimelineEnd::Year => date::start_of_year(newest),
        TimelineEnd::Newest => i64::MAX,
    };
    let settled: Vec<bool> = corpus.poems.iter().map(|p| p.time < period_start).collect();
    match settled.contains(&true) {
        true => settled,
        false => vec![true; settled.len()],
    }
}

/// The percentage a bar of `filled` cells stands for.
pub fn percent(filled: u8) -> u32 {
    (filled as u32 * 100 + BAR_CELLS as u32 / 2) / BAR_CELLS as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Poem;

    fn poem(index: u32, position: usize, time: i64) -> Poem {
        Poem {
            index,
            position,
            id: index.to_string(),
            category: "c".into(),
            content: "x".into(),
            warning: None,
            title: None,
            time,
            golden: false,
            boost: false,
            original_uri: None,
            source_file: None,
            attachments: vec![],
        }
    }

    #[test]
    fn order_pages_and_shares_by_hand() {
        // Rows: times 100, 0, 100 (a tie kept in file order), 50.
        let corpus = Corpus {
            poems: vec![
                poem(1, 2, 100),
                poem(2, 0, 0),
                poem(3, 1, 100),
                poem(4, 3, 50),
            ],
        };
        let t = Timeline::new(&corpus, TimelineEnd::Newest);
        assert_eq!(t.order, vec![1, 3, 2, 0]);
        assert_eq!(t.position, vec![4, 1, 3, 2]);
        assert_eq!(t.filled, vec![83, 0, 83, 41]);
        assert_eq!(t.page_of(0, 3), 2);
        assert_eq!(t.page_of(3, 3), 1);
        assert_eq!(t.page_count(3), 2);
        assert_eq!((percent(0), percent(41), percent(83)), (0, 49, 100));
    }

    #[test]
    fn month_end_keeps_the_bars_within_the_newest_month() {
        let day = 86_400;
        // 1970-01-01 … 1970-01-21; the bars end on 1970-02-01 (day 31).
        let base = Corpus {
            poems: vec![poem(1, 0, 0), poem(2, 1, 10 * day), poem(3, 2, 20 * day)],
        };
        let t = Timeline::new(&base, TimelineEnd::Month);
        assert_eq!(
            t.filled,
            vec![0, (10 * 83 / 31) as u8, (20 * 83 / 31) as u8]
        );
        // A poem added within January moves no other bar …
        let mut within = base.clone();
        within.poems.push(poem(4, 3, 30 * day));
        let w = Timeline::new(&within, TimelineEnd::Month);
        assert_eq!(w.filled[..3], t.filled[..]);
        // … one in February moves them all (the end is now 1 March, day 59).
        let mut after = base.clone();
        after.poems.push(poem(4, 3, 40 * day));
        let a = Timeline::new(&after, TimelineEnd::Month);
        assert_eq!(a.filled[1], (10 * 83 / 59) as u8);
        // "newest": the newest poem ends the bar, and equal times give 0.
        let n = Timeline::new(&base, TimelineEnd::Newest);
        assert_eq!(n.filled, vec![0, 41, 83]);
        let same = Corpus {
            poems: vec![poem(1, 0, 5), poem(2, 1, 5)],
        };
        assert_eq!(Timeline::new(&same, TimelineEnd::Newest).filled, vec![0, 0]);
        assert_eq!(Timeline::new(&same, TimelineEnd::Month).filled, vec![0, 0]);
    }

    #[test]
    fn year_end_keeps_the_bars_within_the_newest_year() {
        let day = 86_400;
        // 1970-01-01, 1970-07-20; the bars end on 1971-01-01 (day 365).
        let base = Corpus {
            poems: vec![poem(1, 0, 0), poem(2, 1, 200 * day)],
        };
        let t = Timeline::new(&base, TimelineEnd::Year);
        assert_eq!(t.filled, vec![0, (200 * 83 / 365) as u8]);
        let mut within = base.clone();
        within.poems.push(poem(3, 2, 364 * day));
        assert_eq!(
            Timeline::new(&within, TimelineEnd::Year).filled[..2],
            t.filled[..]
        );
        let mut after = base.clone();
        after.poems.push(poem(3, 2, 365 * day));
        // 1972-01-01 is day 730.
        let a = Timeline::new(&after, TimelineEnd::Year);
        assert_eq!(a.filled[1], (200 * 83 / 730) as u8);
    }

    #[test]
    fn settled_poems_are_those_before_the_newest_poems_period() {
        let day = 86_400;
        // 1970-01-10, 1970-02-03, 1970-02-20, 1971-03-05 (day 428).
        let corpus = Corpus {
            poems: vec![
                poem(1, 0, 9 * day),
                poem(2, 1, 33 * day),
                poem(3, 2, 50 * day),
                poem(4, 3, 428 * day),
            ],
        };
        assert_eq!(
            settled(&corpus, TimelineEnd::Month),
            vec![true, true, true, false]
        );
        assert_eq!(
            settled(&corpus, TimelineEnd::Year),
            vec![true, true, true, false]
        );
        assert_eq!(settled(&corpus, TimelineEnd::Newest), vec![true; 4]);
        // Without the 1971 poem: February is the newest month, 1970 the
        // newest year, in which every poem falls, so all count as settled.
        let mut earlier = corpus.clone();
        earlier.poems.pop();
        assert_eq!(
            settled(&earlier, TimelineEnd::Month),
            vec![true, false, false]
        );
        assert_eq!(settled(&earlier, TimelineEnd::Year), vec![true; 3]);
        // The first instant of the newest month is not before it.
        let edge = Corpus {
            poems: vec![poem(1, 0, 31 * day - 1), poem(2, 1, 31 * day)],
        };
        assert_eq!(settled(&edge, TimelineEnd::Month), vec![true, false]);
    }
}
