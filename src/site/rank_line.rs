//! The line before each entry of a similar or different page,
//! `--- #RANK CATEGORY/ID ---`, cut to the page's width and escaped. A page
//! has hundreds of them, so the label is prepared once per poem and the line
//! written straight into the page's buffer.

use super::entry::WIDTH;
use crate::text::{escape, truncate};
use std::io::Write;

/// A poem's `CATEGORY/ID`, ready for its rank lines.
pub struct RankLabel {
    plain: String,
    escaped: String,
    chars: usize,
}

impl RankLabel {
    pub fn new(plain: String) -> RankLabel {
        RankLabel {
            escaped: escape(&plain),
            chars: plain.chars().count(),
            plain,
        }
    }

    /// Append `\n --- #RANK LABEL ---\n` to `out`, as `spelled_out` has it.
    pub fn push(&self, rank: usize, out: &mut Vec<u8>) {
        let digits = rank.checked_ilog10().unwrap_or(0) as usize + 1;
        // "--- #", the digits, a space, the label and " ---" fit in WIDTH - 1.
        if 10 + digits + self.chars < WIDTH {
            out.extend_from_slice(b"\n --- #");
            write!(out, "{rank}").expect("writing to a Vec cannot fail");
            out.push(b' ');
            out.extend_from_slice(self.escaped.as_bytes());
            out.extend_from_slice(b" ---\n");
        } else {
            out.extend_from_slice(spelled_out(rank, &self.plain).as_bytes());
        }
    }
}

/// The definition: the line cut to one less than the width, then escaped.
fn spelled_out(rank: usize, label: &str) -> String {
    let line = format!("--- #{rank} {label} ---");
    format!("\n {}\n", escape(&truncate(&line, WIDTH - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_writes_what_the_definition_says() {
        let long = "c".repeat(WIDTH);
        let labels = [
            "sonnets/0012".to_string(),
            "a&b/<i>'\"".to_string(),
            "é/ß".repeat(10),
            format!("{}/1", "x".repeat(WIDTH - 16)),
            format!("{}/1", "x".repeat(WIDTH - 15)),
            format!("{long}/7"),
        ];
        for label in labels {
            for rank in [1, 9, 10, 99, 100, 1000, 12345] {
                let mut out = b"before".to_vec();
                RankLabel::new(label.clone()).push(rank, &mut out);
                let expected = format!("before{}", spelled_out(rank, &label));
                assert_eq!(String::from_utf8(out).unwrap(), expected, "{label} #{rank}");
            }
        }
    }
}
