//! `verso fixture`: a deterministic synthetic collection of any size —
//! poems of realistic lengths, dates over five years with exact ties,
//! warnings, golden poems, boosts, notes, a few images, and clustered unit
//! vectors whose clusters share vocabulary, so neighbourhoods mean something.

use crate::derive::words::SplitMix64;
use crate::error::{Doing, IoContext, Result};
use std::fmt::Write as _;
use std::path::Path;

const VOCABULARY: &[&str] = &[
    "morning",
    "light",
    "window",
    "sill",
    "weight",
    "river",
    "stone",
    "winter",
    "snow",
    "ash",
    "ember",
    "fire",
    "blood",
    "rose",
    "heat",
    "flame",
    "sea",
    "rain",
    "ocean",
    "tide",
    "salt",
    "shore",
    "harbour",
    "boat",
    "tree",
    "leaf",
    "forest",
    "moss",
    "garden",
    "seed",
    "root",
    "bloom",
    "night",
    "dream",
    "moon",
    "star",
    "violet",
    "dusk",
    "spirit",
    "ghost",
    "autumn",
    "harvest",
    "amber",
    "sunset",
    "glow",
    "copper",
    "sun",
    "gold",
    "joy",
    "summer",
    "bright",
    "honey",
    "dust",
    "fog",
    "silence",
    "shadow",
    "grief",
    "smoke",
    "kitchen",
    "bread",
    "table",
    "chair",
    "door",
    "stair",
    "street",
    "city",
    "train",
    "station",
    "letter",
    "phone",
    "screen",
    "static",
    "wire",
    "signal",
    "mother",
    "father",
    "sister",
    "brother",
    "child",
    "friend",
    "stranger",
    "lover",
    "body",
    "hands",
    "mouth",
    "bones",
    "skin",
    "breath",
    "heart",
    "eyes",
    "voice",
    "song",
    "music",
    "quiet",
    "noise",
    "bell",
    "clock",
    "hour",
    "minute",
    "year",
    "memory",
    "forgetting",
    "return",
    "leaving",
    "arrival",
    "distance",
    "home",
    "house",
    "room",
    "bed",
    "blanket",
    "candle",
    "lamp",
    "paper",
    "ink",
    "word",
    "name",
    "language",
    "prayer",
    "question",
    "answer",
    "promise",
    "lie",
    "truth",
    "hunger",
    "thirst",
    "fever",
    "medicine",
    "hospital",
    "waiting",
    "field",
    "wheat",
    "horse",
    "bird",
    "crow",
    "heron",
    "wing",
    "feather",
    "nest",
    "egg",
    "mountain",
    "valley",
    "cliff",
    "cave",
    "wind",
    "storm",
    "thunder",
    "lightning",
    "cloud",
    "sky",
    "blue",
    "green",
    "red",
    "yellow",
    "orange",
    "purple",
    "gray",
    "glass",
    "mirror",
    "water",
    "ice",
    "iron",
    "rust",
    "salt",
    "sugar",
    "coffee",
    "tea",
    "cup",
    "spoon",
];

const SMALL_WORDS: &[&str] = &[
    "the", "a", "and", "of", "in", "on", "my", "your", "is", "was", "with", "to", "we", "I",
];

const WARNINGS: &[&str] = &[
    "grief",
    "death",
    "illness",
    "self-harm mention",
    "violence",
    "loss of a parent",
    "hospital",
];

struct Gen(SplitMix64);

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        self.0.unit() < p
    }
    fn gaussian(&mut self) -> f64 {
        let u1 = self.0.unit().max(1e-12);
        let u2 = self.0.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// A word, skewed towards the cluster's own part of the vocabulary.
    fn word(&mut self, cluster: usize) -> &'static str {
        if self.chance(0.3) {
            return SMALL_WORDS[self.below(SMALL_WORDS.len())];
        }
        if self.chance(0.55) {
            let band = 12;
            let start = (cluster * 7) % (VOCABULARY.len() - band);
            return VOCABULARY[start + self.below(band)];
        }
        // Zipf-like: squaring a uniform favours the head of the list.
        let u = self.0.unit();
        VOCABULARY[((u * u) * VOCABULARY.len() as f64) as usize]
    }
    fn text(&mut self, cluster: usize, target: usize) -> String {
        let mut text = String::new();
        while text.chars().count() < target {
            let words = 3 + self.below(7);
            let mut line = Vec::with_capacity(words);
            for _ in 0..words {
                let w = self.word(cluster);
                line.push(if self.chance(0.02) {
                    format!("*{w}*")
                } else {
                    w.to_string()
                });
            }
            if self.chance(0.05) {
                let w = self.word(cluster);
                line.push(format!("{w}-{}", self.word(cluster)));
            }
            if !text.is_empty() {
                text.push('\n');
                if self.chance(0.15) {
                    text.push('\n');
                }
            }
            text.push_str(&line.join(" "));
        }
        text
    }
}

/// Write poems.json, embeddings.json, media/ and verso.toml into `dir`;
/// with `companions`, word_embeddings.json and color_embeddings.json too,
/// as a model-backed collection has them.
pub fn write(dir: &Path, poems: usize, dim: usize, seed: u64, companions: bool) -> Result<()> {
    std::fs::create_dir_all(dir.join("media")).at(Doing::WritingFile, dir)?;
    let mut g = Gen(SplitMix64::new(seed ^ 0x5eed_0f5e_7e50));
    let clusters = ((poems as f64).sqrt() / 2.0).ceil().max(1.0) as usize;
    let centres: Vec<Vec<f64>> = (0..clusters)
        .map(|_| (0..dim).map(|_| g.gaussian()).collect())
        .collect();
    let start = 1_577_836_800i64; // 2020-01-01
    let span = 5 * 365 * 86_400i64;
    let mut json = String::from("{\"poems\": [\n");
    let mut vectors = String::from("{\"embeddings\": [\n");
    let mut previous_time = start;
    for i in 0..poems {
        let index = i + 1;
        let cluster = g.below(clusters);
        let category = match g.below(10) {
            0..=6 => "fediverse",
            7 | 8 => "messages",
            _ => "notes",
        };
        let id = match category {
            "fediverse" => format!("1{:017}", g.0.next_u64() % 100_000_000_000_000_000),
            // Unique: a shared category and id is a warning.
            "messages" => format!("m-{}", 100 + 9 * index + g.below(9)),
            _ => format!("note-{index}"),
        };
        let warning = g
            .chance(0.08)
            .then(|| WARNINGS[g.below(WARNINGS.len())].to_string());
        let golden = g.chance(0.02);
        let length = if g.chance(0.1) {
            500 + g.below(600)
        } else {
            60 + g.below(400)
        };
        let mut content = g.text(cluster, length);
        if golden {
            let target = 1024 - warning.as_deref().map_or(0, |w| w.chars().count());
            content = g
                .text(cluster, target)
                .chars()
                .take(target)
                .collect::<String>();
            while content.chars().count() < target {
                content.push('.');
            }
            // A wrap must not leave a trailing space that a reader would miss.
            content = content.trim_end().to_string();
            while content.chars().count() < target {
                content.push('.');
            }
        }
        let time = if i > 0 && g.chance(0.03) {
            previous_time
        } else {
            start + (g.0.next_u64() % span as u64) as i64
        };
        previous_time = time;
        let date = format_date(time, g.below(40));
        let mut poem = serde_json::json!({
            "poem_index": index,
            "id": id,
            "category": category,
            "content": content,
            "creation_date": date,
        });
        if let Some(w) = &warning {
            poem["content_warning"] = w.clone().into();
        }
        let mut metadata = serde_json::Map::new();
        if golden && g.chance(0.5) {
            metadata.insert("is_golden_poem".into(), true.into());
        }
        if !golden && g.chance(0.03) {
            metadata.insert("is_boost".into(), true.into());
            metadata.insert(
                "original_uri".into(),
                format!("https://example.social/@poet{}/{}", g.below(50), 10_000 + i).into(),
            );
        }
        if category == "notes" {
            metadata.insert(
                "source_file".into(),
                format!("notes/journal-{}.md", 2020 + g.below(5)).into(),
            );
        }
        if !metadata.is_empty() {
            poem["metadata"] = metadata.into();
        }
        if g.chance(0.01) {
            let name = format!("image-{index}.svg");
            let hue = g.below(360);
            let svg = format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"320\" height=\"200\"><rect width=\"320\" height=\"200\" fill=\"hsl({hue},60%,40%)\"/></svg>\n"
            );
            let path = dir.join("media").join(&name);
            std::fs::write(&path, svg).at(Doing::WritingFile, &path)?;
            poem["attachments"] = serde_json::json!([{
                "media_type": "image/svg+xml", "relative_path": name,
                "alt_text": format!("a field of colour, hue {hue}"), "width": 320, "height": 200
            }]);
        }
        json.push_str(&serde_json::to_string(&poem).expect("poems serialise"));
        json.push_str(if index < poems { ",\n" } else { "\n" });
        let raw: Vec<f64> = centres[cluster]
            .iter()
            .map(|c| c + 0.8 * g.gaussian())
            .collect();
        let norm = raw.iter().map(|v| v * v).sum::<f64>().sqrt();
        let _ = write!(vectors, "{{\"id\": {index}, \"embedding\": [");
        for (k, v) in raw.iter().enumerate() {
            let _ = write!(vectors, "{}{:.6}", if k > 0 { ", " } else { "" }, v / norm);
        }
        vectors.push_str(if index < poems { "]},\n" } else { "]}\n" });
    }
    json.push_str("]}\n");
    vectors.push_str("]}\n");
    let write_file = |name: &str, text: &str| -> Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, text).at(Doing::WritingFile, &path)
    };
    write_file("poems.json", &json)?;
    write_file("embeddings.json", &vectors)?;
    let mut toml = format!("# A synthetic collection: verso fixture --poems {poems} --dim {dim} --seed {seed}\npoems = \"poems.json\"\nembeddings = \"embeddings.json\"\n");
    if companions {
        let (words, colours) = companion_files(&centres, seed);
        write_file("word_embeddings.json", &words)?;
        write_file("color_embeddings.json", &colours)?;
        toml.push_str("word_embeddings = \"word_embeddings.json\"\ncolor_embeddings = \"color_embeddings.json\"\n");
    }
    write_file("verso.toml", &toml)
}

/// Word vectors near the centres of the clusters that favour each word, and
/// a vector per colour name (`{KEY: [...]}` form), from their own generator
/// so the poems do not change with the flag.
fn companion_files(centres: &[Vec<f64>], seed: u64) -> (String, String) {
    let mut g = Gen(SplitMix64::new(seed ^ 0xc0_10_55));
    let dim = centres[0].len();
    let band = 12;
    let vector = |g: &mut Gen, near: &[&Vec<f64>]| -> String {
        let raw: Vec<f64> = (0..dim)
            .map(|k| {
                let centre = near.iter().map(|c| c[k]).sum::<f64>() / near.len().max(1) as f64;
                centre + 0.8 * g.gaussian()
            })
            .collect();
        let norm = raw.iter().map(|v| v * v).sum::<f64>().sqrt();
        let values: Vec<String> = raw.iter().map(|v| format!("{:.6}", v / norm)).collect();
        format!("[{}]", values.join(", "))
    };
    let mut seen = std::collections::HashSet::new();
    let words: Vec<String> = VOCABULARY
        .iter()
        .enumerate()
        .filter(|(_, word)| seen.insert(**word))
        .map(|(j, word)| {
            let near: Vec<&Vec<f64>> = centres
                .iter()
                .enumerate()
                .filter(|(c, _)| {
                    let start = (c * 7) % (VOCABULARY.len() - band);
                    (start..start + band).contains(&j)
                })
                .map(|(_, centre)| centre)
                .collect();
            format!("{word:?}: {}", vector(&mut g, &near))
        })
        .collect();
    let colours: Vec<String> = crate::config::COLOUR_NAMES
        .iter()
        .map(|name| {
            let centre = &centres[g.below(centres.len())];
            format!("{name:?}: {}", vector(&mut g, &[centre]))
        })
        .collect();
    (
        format!("{{{}}}\n", words.join(",\n")),
        format!("{{{}}}\n", colours.join(",\n")),
    )
}

/// A date in one of the accepted forms, chosen by `form`.
fn format_date(t: i64, form: usize) -> String {
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = crate::date::civil_from_days(t.div_euclid(86_400));
    let (h, min, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match form {
        0 => format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z"),
        1 => format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}+00:00"),
        _ => format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::format_date;

    #[test]
    fn dates_round_trip() {
        for t in [0, 1_577_836_800, 1_709_164_800 + 3_723] {
            assert_eq!(crate::date::parse(&format_date(t, 5)), Some(t));
            assert_eq!(crate::date::parse(&format_date(t, 0)), Some(t));
        }
    }
}
