//! Output paths and the relative links between them. Every name is built from
//! numbers or escaped words, so no input value can leave the output folder.

/// `poem_index` padded to at least 4 digits.
pub fn code(index: u32) -> String {
    format!("{index:04}")
}

pub fn chronological(page: usize) -> String {
    format!("chronological/{page:02}.html")
}

pub fn similar(index: u32, page: usize) -> String {
    format!("similar/{}-{page:02}.html", code(index))
}

pub fn different(index: u32, page: usize) -> String {
    format!("different/{}-{page:02}.html", code(index))
}

pub fn anchor(index: u32) -> String {
    format!("poem-{}", code(index))
}

/// `café` → `caf_c3_a9`; very long words end in a hash to fit file systems.
pub fn word_file(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("_{b:02x}"));
            }
        }
    }
    if out.len() > 180 {
        let hash = blake3::hash(word.as_bytes()).to_hex();
        out.truncate(160);
        out.push('_');
        out.push_str(&hash[..16]);
    }
    out
}

pub fn word(word: &str) -> String {
    format!("wordcloud/{}.html", word_file(word))
}

pub fn media(relative: &str) -> String {
    format!("media/{}", relative.trim_start_matches("./"))
}

/// A URL path with every byte outside the unreserved set percent-encoded.
pub fn url_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The link from a page one folder down to a root-relative path.
pub fn from_subfolder(path: &str) -> String {
    format!("../{}", url_encode(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_spec() {
        assert_eq!(word_file("café"), "caf_c3_a9");
        assert_eq!(word_file("Rose"), "_52ose");
        assert_eq!(similar(17, 1), "similar/0017-01.html");
        assert_eq!(different(123456, 12), "different/123456-12.html");
        assert_eq!(chronological(3), "chronological/03.html");
        assert_eq!(from_subfolder("media/a b.png"), "../media/a%20b.png");
        assert!(word_file(&"é".repeat(200)).len() <= 180);
    }
}
