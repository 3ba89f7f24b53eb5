# Sourced by the end-to-end benchmarks: builds verso, then writes the
# benchmark collection into $work/c (`verso fixture --poems $poems --dim 768
# --companions`, 200 poems a page, one page per poem), cleaning $work first.
# Sets verso, col and poems. Needs `work` set.
poems=${VERSO_BENCH_POEMS:-7797}
cargo build --release --quiet
verso=$PWD/target/release/verso
rm -rf "$work" && mkdir -p "$work"
col="$work/c"
"$verso" fixture --poems "$poems" --dim 768 --seed 1 --companions "$col" >/dev/null
printf 'poems = "poems.json"\nembeddings = "embeddings.json"\nword_embeddings = "word_embeddings.json"\ncolor_embeddings = "color_embeddings.json"\n[pages]\npoems_per_page = 200\npages_per_poem = 1\n' > "$col/verso.toml"
