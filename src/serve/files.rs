//! Which file a request names, and how it is sent: only regular files under
//! the output folder (no `..` in any encoding, no absolute paths, no
//! symbolic link that leads outside, no directory listings), with the
//! content type of their extension and, in HTML, the live-reload script.

use std::path::{Path, PathBuf};

/// The script injected into HTML responses (never into the files).
const RELOAD_SCRIPT: &str = include_str!("reload.js");

/// The page a request path names, relative to the output folder, as the
/// build's lists of written paths spell it: `/` is `index.html`, a folder
/// its `index.html`. `None` for anything that could leave the folder.
pub fn page_of(request_path: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(request_path)
        .decode_utf8()
        .ok()?;
    if decoded.contains(['\0', '\\']) {
        return None;
    }
    let mut parts = Vec::new();
    for part in decoded.split('/') {
        match part {
            "" => {}
            "." | ".." => return None,
            p => parts.push(p),
        }
    }
    let mut page = parts.join("/");
    if page.is_empty() || decoded.ends_with('/') {
        if !page.is_empty() {
            page.push('/');
        }
        page.push_str("index.html");
    }
    Some(page)
}

/// The file to send for `page` under `root`: a regular file whose real
/// path (links followed) is inside the real `root`. A folder stands for its
/// `index.html`.
pub fn resolve(root: &Path, page: &str) -> Option<PathBuf> {
    let root = root.canonicalize().ok()?;
    let mut path = root.join(page).canonicalize().ok()?;
    if path.is_dir() {
        path = path.join("index.html").canonicalize().ok()?;
    }
    (path.starts_with(&root) && path.is_file()).then_some(path)
}

/// The Content-Type header of a file, by its extension.
pub fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    match mime.type_() {
        mime_guess::mime::TEXT => format!("{mime}; charset=utf-8"),
        _ => mime.to_string(),
    }
}

pub fn is_html(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
}

/// `html` with the reload script before its last `</body>` (or at its end).
pub fn with_reload_script(html: Vec<u8>) -> Vec<u8> {
    let tag = format!("<script>{RELOAD_SCRIPT}</script>\n");
    let at = html
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + tag.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_name_pages_inside_the_folder_only() {
        assert_eq!(page_of("/").as_deref(), Some("index.html"));
        assert_eq!(
            page_of("/similar/0001-01.html").as_deref(),
            Some("similar/0001-01.html")
        );
        assert_eq!(
            page_of("/media/a%20b.png").as_deref(),
            Some("media/a b.png")
        );
        assert_eq!(
            page_of("/chronological/").as_deref(),
            Some("chronological/index.html")
        );
        assert_eq!(
            page_of("//similar//x.html").as_deref(),
            Some("similar/x.html")
        );
        for bad in [
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "/..%2f..%2fetc/passwd",
            "/..%5c..%5cetc/passwd",
            "/a%00.html",
            "/%ff%fe",
            "/./index.html",
        ] {
            assert_eq!(page_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn links_out_of_the_folder_resolve_to_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("site");
        std::fs::create_dir_all(root.join("inner")).unwrap();
        std::fs::write(root.join("index.html"), "<p>home</p>").unwrap();
        std::fs::write(root.join("inner/index.html"), "<p>inner</p>").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("leak.txt")).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
        std::os::unix::fs::symlink(root.join("index.html"), root.join("home.html")).unwrap();
        assert_eq!(resolve(&root, "leak.txt"), None);
        assert_eq!(resolve(&root, "up/secret.txt"), None);
        assert_eq!(resolve(&root, "missing.html"), None);
        assert!(resolve(&root, "inner")
            .unwrap()
            .ends_with("inner/index.html"));
        assert!(
            resolve(&root, "home.html").is_some(),
            "a link inside stays served"
        );
    }

    #[test]
    fn types_follow_extensions_and_html_gets_the_script() {
        for (name, ty) in [
            ("a.html", "text/html; charset=utf-8"),
            ("a.svg", "image/svg+xml"),
            ("a.png", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.gif", "image/gif"),
            ("a.webp", "image/webp"),
            ("a.css", "text/css; charset=utf-8"),
        ] {
            assert_eq!(content_type(Path::new(name)), ty, "{name}");
        }
        let html = with_reload_script(b"<html><body><p>x</p></body></html>".to_vec());
        let html = String::from_utf8(html).unwrap();
        assert!(html.starts_with("<html><body><p>x</p><script>"));
        assert!(html.ends_with("</script>\n</body></html>"));
    }
}
