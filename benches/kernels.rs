//! Criterion benchmarks of the kernels at the real collection's scale
//! (VERSO_BENCH_POEMS poems, default 7,797, × 768 dimensions): the
//! similarity matrix, top-k rankings, different chains, the map's layout,
//! entry rendering and planning (every target keyed).

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use verso::derive::{chain, map, rank, Neighbours};
use verso::site::entry::Variant;
use verso::site::{Layout, MediaFiles, Site};

fn poems() -> usize {
    std::env::var("VERSO_BENCH_POEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7797)
}

struct Collection {
    _dir: tempfile::TempDir,
    corpus: verso::corpus::Corpus,
    vectors: verso::vectors::Matrix,
    media: std::path::PathBuf,
}

fn collection() -> Collection {
    let dir = tempfile::tempdir().unwrap();
    verso::fixture::write(dir.path(), poems(), 768, 1, false).unwrap();
    let media = dir.path().join("media");
    let corpus = verso::corpus::load(&dir.path().join("poems.json"), &media).unwrap();
    let path = dir.path().join("embeddings.json");
    let parsed = verso::vectors::load(&path).unwrap();
    let (vectors, _) = verso::vectors::align(&path, &corpus, &parsed).unwrap();
    Collection {
        _dir: dir,
        corpus,
        vectors,
        media,
    }
}

fn kernels(c: &mut Criterion) {
    let col = collection();
    let n = col.vectors.rows();
    let mut group = c.benchmark_group("kernels");
    group.sample_size(10);
    group.bench_function("similarity matrix", |b| {
        b.iter(|| black_box(rank::similarity_matrix(&col.vectors)))
    });
    let sims = rank::similarity_matrix(&col.vectors);
    group.bench_function("top-200 rankings", |b| {
        b.iter(|| black_box(rank::top_k_all(&sims, n, 200)))
    });
    group.bench_function("different chains, 200 picks", |b| {
        let all = vec![true; n];
        b.iter(|| black_box(chain::chains(&sims, n, 200, chain::Candidates::new(&all))))
    });
    let nearest = rank::top_k_all(&sims, n, map::NEAREST);
    let nearest: Vec<&[u32]> = nearest.iter().map(Vec::as_slice).collect();
    group.bench_function("map layout", |b| {
        b.iter(|| black_box(map::layout(&col.vectors, &nearest)))
    });
    group.finish();
}

fn pages(c: &mut Criterion) {
    let col = collection();
    let poems: Vec<u32> = col.corpus.poems.iter().map(|p| p.index).collect();
    let neighbours = Neighbours::compute(&col.vectors, &poems, &vec![true; poems.len()], 200, 200);
    let renderer = verso::render::Renderer::new(None, &verso::site::built_in_templates()).unwrap();
    let colours: Vec<u8> = (0..col.corpus.poems.len()).map(|i| (i % 7) as u8).collect();
    let layout = Layout {
        poems_per_page: 200,
        pages_per_poem: 1,
        chronological_per_page: 500,
        seed: 1,
        title: "Poems".into(),
        base_url: Some("https://poems.example/".into()),
        feed_poems: 50,
    };
    let media = MediaFiles::new(col.media.clone(), &col.corpus, |p| {
        std::fs::read(p)
            .map(|b| blake3::hash(&b))
            .map_err(|e| verso::error::Error::io(verso::error::Doing::ReadingCollection, p, e))
    })
    .unwrap();
    let timeline =
        verso::derive::timeline::Timeline::new(&col.corpus, verso::config::TimelineEnd::Month);
    let code = verso::engine::rule::Code::compiled();
    let nearest: Vec<&[u32]> = neighbours
        .similar
        .iter()
        .map(|l| &l[..map::NEAREST])
        .collect();
    let places = map::layout(&col.vectors, &nearest);
    let site = || {
        Site::new(
            &col.corpus,
            &renderer,
            &neighbours,
            &places,
            &colours,
            &[],
            &timeline,
            layout.clone(),
            &media,
            code,
        )
    };
    let mut group = c.benchmark_group("pages");
    group.sample_size(10);
    group.bench_function("plan: key every target", |b| {
        b.iter(|| black_box(site().plan()))
    });
    let site = site();
    group.bench_function("render every entry", |b| {
        b.iter(|| {
            for row in 0..col.corpus.poems.len() {
                black_box(
                    renderer
                        .entry(&site.entry_view(row, Variant::Linked))
                        .unwrap(),
                );
            }
        })
    });
    group.finish();
}

criterion_group!(benches, kernels, pages);
criterion_main!(benches);
