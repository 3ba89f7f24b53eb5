//! Text for `<pre>` blocks: HTML escaping, `*emphasis*`, wrapping at a column
//! width (on spaces and after dashes) and truncation, all counted in characters.

/// Bytes that are not UTF-8 are bad input, named at their offset.
pub fn check_utf8(file: &std::path::Path, bytes: &[u8]) -> crate::error::Result<()> {
    use crate::error::{InputError, Location};
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => Err(InputError::new(
            Location::file(file),
            format!("not valid UTF-8 at byte {}", e.valid_up_to()),
        )
        .hint("save the file as UTF-8 text")
        .into()),
    }
}

/// The bytes after a UTF-8 byte-order mark, which some editors put at the
/// start of JSON and TOML files.
pub fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Escape the five HTML-significant characters.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Remove what would break a line's layout: carriage returns, other control
/// characters; tabs become spaces.
pub fn clean(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            '\n' => Some('\n'),
            c if c.is_control() => None,
            // Bidirectional overrides and zero-width characters would make the
            // visible width differ from the character count.
            '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}' => None,
            c => Some(c),
        })
        .collect()
}

/// Escape a line and show `*word*` (no spaces inside) as emphasis.
pub fn escape_with_emphasis(line: &str) -> String {
    let escaped = escape(line);
    let mut out = String::with_capacity(escaped.len() + 16);
    let mut rest = escaped.as_str();
    while let Some(start) = rest.find('*') {
        let after = &rest[start + 1..];
        let end = after.find(|c: char| c == '*' || c.is_whitespace());
        match end {
            Some(e) if e > 0 && after[e..].starts_with('*') => {
                out.push_str(&rest[..start]);
                out.push_str("<em>");
                out.push_str(&after[..e]);
                out.push_str("</em>");
                rest = &after[e + 1..];
            }
            _ => {
                out.push_str(&rest[..=start]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2013}' | '\u{2014}')
}

/// Split a word into pieces that may end a line: after each dash that has
/// more of the word behind it.
fn pieces(word: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = word.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_dash(c) && chars.peek().is_some() {
            let end = i + c.len_utf8();
            out.push(&word[start..end]);
            start = end;
        }
    }
    out.push(&word[start..]);
    out
}

/// Wrap one line of text at `width` characters. Indentation at the start of
/// the line is kept; spaces where a line breaks are dropped; a piece longer
/// than the width is cut.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut current_width = 0;
    let mut rest = line.trim_end();
    let mut first = true;
    while !rest.is_empty() {
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        let word_len = rest[spaces..].find(' ').unwrap_or(rest.len() - spaces);
        let word = &rest[spaces..spaces + word_len];
        rest = &rest[spaces + word_len..];
        for (k, piece) in pieces(word).into_iter().enumerate() {
            let mut glue = if k == 0 { spaces } else { 0 };
            if current_width == 0 && !first {
                glue = 0;
            }
            let piece_width = piece.chars().count();
            if current_width > 0 && current_width + glue + piece_width > width {
                lines.push(std::mem::take(&mut current));
                current_width = 0;
                glue = 0;
            }
            first = false;
            let glue = glue.min(width - 1 - current_width.min(width - 1));
            current.extend(std::iter::repeat_n(' ', glue));
            current_width += glue;
            let mut chars = piece.chars();
            let mut left = piece_width;
            while left > 0 {
                let room = width - current_width;
                if left <= room {
                    current.extend(chars.by_ref());
                    current_width += left;
                    left = 0;
                } else {
                    if room == 0 {
                        lines.push(std::mem::take(&mut current));
                        current_width = 0;
                        continue;
                    }
                    current.extend(chars.by_ref().take(room));
                    left -= room;
                    lines.push(std::mem::take(&mut current));
                    current_width = 0;
                }
            }
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// Cut `s` to at most `width` characters, ending with `…` when cut.
pub fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Pad with spaces to `width` characters.
pub fn pad(s: &str, width: usize) -> String {
    let w = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_on_spaces_and_after_dashes() {
        assert_eq!(wrap("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
        assert_eq!(wrap("aaa well-known", 9), vec!["aaa well-", "known"]);
        assert_eq!(wrap("  indented text", 10), vec!["  indented", "text"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), vec![""]);
        assert_eq!(wrap("a - b", 3), vec!["a -", "b"]);
        for line in wrap(&"word-".repeat(40), 79) {
            assert!(line.chars().count() <= 79);
        }
        let long = "x ".repeat(300);
        assert!(wrap(&long, 79).iter().all(|l| l.chars().count() <= 79));
        assert!(wrap(&format!("{}y", " ".repeat(100)), 10)
            .iter()
            .all(|l| l.chars().count() <= 10));
    }

    #[test]
    fn emphasis_and_escaping() {
        assert_eq!(escape_with_emphasis("a *b* <c>"), "a <em>b</em> &lt;c&gt;");
        assert_eq!(escape_with_emphasis("2 * 3 * 4"), "2 * 3 * 4");
        assert_eq!(escape_with_emphasis("**"), "**");
        assert_eq!(escape_with_emphasis("*a&b*"), "<em>a&amp;b</em>");
    }

    #[test]
    fn truncation_and_cleaning() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(clean("a\tb\r\n\u{202e}c"), "a b\nc");
    }
}
