//! Chronological order (time, then position in poems.json), each poem's
//! chronological page, and its timeline share as whole bar cells.

use crate::corpus::Corpus;

/// Cells in a timeline bar.
pub const BAR_CELLS: usize = 83;

#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Rows in chronological order.
    pub order: Vec<u32>,
    /// Per row: its 1-based chronological position.
    pub position: Vec<u32>,
    /// Per row: `floor(share × 83)`.
    pub filled: Vec<u8>,
}

impl Timeline {
    pub fn new(corpus: &Corpus) -> Self {
        let poems = &corpus.poems;
        let mut order: Vec<u32> = (0..poems.len() as u32).collect();
        order.sort_by_key(|&r| (poems[r as usize].time, poems[r as usize].position));
        let mut position = vec![0u32; poems.len()];
        for (i, &r) in order.iter().enumerate() {
            position[r as usize] = i as u32 + 1;
        }
        let first = poems.iter().map(|p| p.time).min().unwrap_or(0);
        let last = poems.iter().map(|p| p.time).max().unwrap_or(0);
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
        let t = Timeline::new(&corpus);
        assert_eq!(t.order, vec![1, 3, 2, 0]);
        assert_eq!(t.position, vec![4, 1, 3, 2]);
        assert_eq!(t.filled, vec![83, 0, 83, 41]);
        assert_eq!(t.page_of(0, 3), 2);
        assert_eq!(t.page_of(3, 3), 1);
        assert_eq!(t.page_count(3), 2);
        assert_eq!((percent(0), percent(41), percent(83)), (0, 49, 100));
    }
}
