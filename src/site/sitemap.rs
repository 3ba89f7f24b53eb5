//! `sitemap.xml`: every HTML page at its absolute address, with the newest
//! creation date among the poems it shows as its `lastmod` (none where no
//! honest date exists: the menu, `explore.html`). Past the protocol's
//! 50,000 addresses, `sitemap.xml` is an index of `sitemap-N.xml` files.

use crate::date;
use serde::Serialize;

/// The protocol's limit of addresses per file.
pub const PER_FILE: usize = 50_000;

/// One page in the sitemap.
#[derive(Debug, Clone, Serialize)]
pub struct Url {
    /// Relative to the site's root.
    pub path: String,
    /// The newest creation time among the poems it shows.
    pub newest: Option<i64>,
}

/// One file of the sitemap: what its key hashes.
#[derive(Debug, Serialize)]
pub enum SitemapView {
    /// Pages, in the site's plan order.
    Urls { base_url: String, urls: Vec<Url> },
    /// The index of `count` files of pages.
    Index { base_url: String, count: usize },
}

/// The path of file `n` of the sitemap (0: `sitemap.xml`, the index when
/// there are others).
pub fn file_name(n: usize) -> String {
    match n {
        0 => "sitemap.xml".into(),
        n => format!("sitemap-{n}.xml"),
    }
}

/// The views of every file of the sitemap, file `n` at `n`.
pub fn views(base_url: &str, urls: Vec<Url>) -> Vec<SitemapView> {
    let base_url = base_url.to_string();
    if urls.len() <= PER_FILE {
        return vec![SitemapView::Urls { base_url, urls }];
    }
    let count = urls.len().div_ceil(PER_FILE);
    let mut views = vec![SitemapView::Index {
        base_url: base_url.clone(),
        count,
    }];
    views.extend(urls.chunks(PER_FILE).map(|chunk| SitemapView::Urls {
        base_url: base_url.clone(),
        urls: chunk.to_vec(),
    }));
    views
}

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

impl SitemapView {
    pub fn render(&self) -> String {
        let mut out = String::from(HEAD);
        match self {
            SitemapView::Urls { base_url, urls } => {
                out.push_str(&format!("<urlset xmlns=\"{NS}\">\n"));
                for url in urls {
                    // Paths are made of numbers and escaped words
                    // (`paths.rs`); percent-encoded, they need no XML escape.
                    let loc = format!("{base_url}{}", super::paths::url_encode(&url.path));
                    out.push_str(&format!("  <url><loc>{}</loc>", crate::text::escape(&loc)));
                    if let Some(time) = url.newest {
                        out.push_str(&format!("<lastmod>{}</lastmod>", date::day(time)));
                    }
                    out.push_str("</url>\n");
                }
                out.push_str("</urlset>\n");
            }
            SitemapView::Index { base_url, count } => {
                out.push_str(&format!("<sitemapindex xmlns=\"{NS}\">\n"));
                for n in 1..=*count {
                    out.push_str(&format!(
                        "  <sitemap><loc>{}sitemap-{n}.xml</loc></sitemap>\n",
                        crate::text::escape(base_url)
                    ));
                }
                out.push_str("</sitemapindex>\n");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_the_sitemap_is_an_index_of_files_of_at_most_50000() {
        let urls = |n: usize| {
            (0..n)
                .map(|i| Url {
                    path: format!("similar/{i:05}-01.html"),
                    newest: Some(86_400 * i as i64),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(views("https://a.example/", urls(PER_FILE)).len(), 1);
        let views = views("https://a.example/", urls(PER_FILE * 2 + 1));
        assert_eq!(views.len(), 4);
        assert_eq!(file_name(0), "sitemap.xml");
        assert_eq!(file_name(3), "sitemap-3.xml");
        let index = views[0].render();
        assert_eq!(index.matches("<sitemap>").count(), 3);
        assert!(index.contains("<loc>https://a.example/sitemap-3.xml</loc>"));
        let sizes: Vec<usize> = views[1..]
            .iter()
            .map(|v| v.render().matches("<url>").count())
            .collect();
        assert_eq!(sizes, [PER_FILE, PER_FILE, 1]);
        let first = views[1].render();
        assert!(first.contains("<url><loc>https://a.example/similar/00001-01.html</loc><lastmod>1970-01-02</lastmod></url>"));
    }
}
