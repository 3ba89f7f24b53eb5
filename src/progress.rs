//! Progress: counters the workers bump (atomics only), stage announcements,
//! and one drawing thread — live lines on a terminal, a few plain lines
//! elsewhere, nothing with `--quiet`.

use crate::site::{Family, PerFamily};
use console::{style, Term};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Redrawn in place.
    Tty,
    /// Plain lines, no control codes.
    Plain,
    /// No progress; warnings still shown.
    None,
    /// Nothing but errors and the summary.
    Quiet,
}

impl Mode {
    /// `auto`: a terminal on stderr gets the live display.
    pub fn detect() -> Mode {
        if Term::stderr().is_term() {
            Mode::Tty
        } else {
            Mode::Plain
        }
    }
}

/// Seconds between plain progress lines of one family.
const PLAIN_EVERY: Duration = Duration::from_secs(5);
const BAR: usize = 20;
const NONE: u32 = u32::MAX;

#[derive(Default)]
pub struct Counter {
    pub total: AtomicUsize,
    pub done: AtomicUsize,
    current: AtomicU32,
}

pub struct Progress {
    pub mode: Mode,
    update_hz: u32,
    show_current_poem: bool,
    pub counters: PerFamily<Counter>,
    stage: Mutex<Option<(usize, &'static str, Instant)>>,
    pub started: Instant,
    pub stage_seconds: Mutex<Vec<(&'static str, f64)>>,
    line: Mutex<Option<OneLine>>,
}

/// A family shown on one line (embeddings, deploy): which, when it
/// started, last drew, and whether a terminal line is there to redraw.
struct OneLine {
    name: &'static str,
    started: Instant,
    drawn_at: Instant,
    drawn: bool,
}

pub const STAGES: usize = 8;

impl Progress {
    pub fn new(mode: Mode, update_hz: u32, show_current_poem: bool) -> Progress {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) || mode != Mode::Tty {
            console::set_colors_enabled_stderr(false);
            console::set_colors_enabled(false);
        }
        Progress {
            mode,
            update_hz: update_hz.max(1),
            show_current_poem,
            counters: PerFamily::from_fn(|_| Counter {
                current: AtomicU32::new(NONE),
                ..Counter::default()
            }),
            stage: Mutex::new(None),
            started: Instant::now(),
            stage_seconds: Mutex::new(Vec::new()),
            line: Mutex::new(None),
        }
    }

    fn line(&self, text: &str) {
        if matches!(self.mode, Mode::Tty | Mode::Plain) {
            eprintln!("{text}");
        }
    }

    /// Announce stage `k` and close the previous one.
    pub fn stage(&self, k: usize, name: &'static str) {
        self.end_stage();
        self.line(&format!(
            "{}",
            style(format!("Stage {k}/{STAGES}: {name}")).bold()
        ));
        *self.stage.lock().unwrap() = Some((k, name, Instant::now()));
    }

    pub fn end_stage(&self) {
        if let Some((_, name, start)) = self.stage.lock().unwrap().take() {
            let secs = start.elapsed().as_secs_f64();
            self.stage_seconds.lock().unwrap().push((name, secs));
            self.line(&format!(
                "  {}",
                style(format!("done in {secs:.2} s")).dim()
            ));
        }
    }

    /// A note about the build (the lexical embedder, a set-aside cache).
    pub fn note(&self, text: &str) {
        self.line(&format!("  {text}"));
    }

    pub fn warn(&self, text: &str) {
        if self.mode != Mode::Quiet {
            eprintln!("{}", style(text).yellow());
        }
    }

    pub fn add_to_total(&self, family: Family, n: usize) {
        self.counters[family].total.fetch_add(n, Ordering::Relaxed);
    }

    /// A worker finished a target of `family` about poem `row`.
    pub fn done(&self, family: Family, row: Option<u32>) {
        let c = &self.counters[family];
        c.done.fetch_add(1, Ordering::Relaxed);
        c.current.store(row.unwrap_or(NONE), Ordering::Relaxed);
    }

    /// The embeddings family: `done` of `total` texts, the text just
    /// embedded, the rate and the time left.
    pub fn embedding(&self, done: usize, total: usize, text: &str) {
        let snippet: String = plain(text.lines().find(|l| !l.trim().is_empty()).unwrap_or(""))
            .chars()
            .take(30)
            .collect();
        let current = (self.show_current_poem && done < total).then(|| format!("\"{snippet}\""));
        self.one_line("embeddings", done as u64, total as u64, |rate| {
            (
                format!("{}/{}", thousands(done as u64), thousands(total as u64)),
                format!("{rate:.1} texts/s"),
                current,
            )
        });
    }

    /// The deploy family: files and bytes sent of the totals, the rate,
    /// the time left and the file just sent.
    pub fn deploying(&self, files: (usize, usize), bytes: (u64, u64), current: &str) {
        let mb = |b: u64| b as f64 / 1e6;
        self.one_line("deploy", bytes.0, bytes.1, |rate| {
            (
                format!(
                    "{}/{} files, {:.1}/{:.1} MB",
                    thousands(files.0 as u64),
                    thousands(files.1 as u64),
                    mb(bytes.0),
                    mb(bytes.1)
                ),
                format!("{:.1} MB/s", mb(rate as u64)),
                (files.0 < files.1).then(|| current.to_string()),
            )
        });
    }

    /// Draw a one-line family: `done` of `total` units drive the bar, the
    /// rate and the time left; `words(rate in units a second)` gives the
    /// counts, the rate and what is current. Redrawn in place on a
    /// terminal, a line every few seconds elsewhere.
    fn one_line(
        &self,
        name: &'static str,
        done: u64,
        total: u64,
        words: impl FnOnce(f64) -> (String, String, Option<String>),
    ) {
        if !matches!(self.mode, Mode::Tty | Mode::Plain) {
            return;
        }
        let mut state = self.line.lock().unwrap();
        let now = Instant::now();
        if state.as_ref().is_some_and(|l| l.name != name) {
            *state = None;
        }
        let line = state.get_or_insert(OneLine {
            name,
            started: now,
            drawn_at: now,
            drawn: false,
        });
        let every = match self.mode {
            Mode::Tty => Duration::from_secs_f64(1.0 / self.update_hz as f64),
            _ => PLAIN_EVERY,
        };
        if done < total && line.drawn && line.drawn_at.elapsed() < every {
            return;
        }
        let elapsed = line.started.elapsed().as_secs_f64();
        let rate = done as f64 / elapsed.max(1e-3);
        let eta = match done {
            0 => "-".to_string(),
            _ => clock((total - done.min(total)) as f64 / rate),
        };
        let filled = (done.min(total) * BAR as u64 / total.max(1)) as usize;
        let (counts, rate, current) = words(rate);
        let mut text = format!(
            "  {name:<13} {counts} {}{} {:>3}%  {rate}  ETA {eta}",
            "█".repeat(filled),
            "░".repeat(BAR - filled),
            percent(done as usize, total as usize),
        );
        if let Some(current) = current {
            text.push_str(&format!("  {current}"));
        }
        let term = Term::stderr();
        if self.mode == Mode::Tty {
            if line.drawn {
                let _ = term.clear_last_lines(1);
            }
            let width = term.size().1 as usize;
            let _ = term.write_line(&console::truncate_str(&text, width.max(20) - 1, "…"));
        } else {
            eprintln!("{text}");
        }
        line.drawn = true;
        line.drawn_at = now;
    }

    pub fn total_done(&self) -> usize {
        self.counters
            .values()
            .map(|c| c.done.load(Ordering::Relaxed))
            .sum()
    }

    /// Start the drawing thread for the writing stage; `labels` gives the
    /// first words of each poem by row.
    pub fn draw(self: &Arc<Self>, labels: Arc<Vec<String>>) -> Drawer {
        let labels = Arc::new(labels.iter().map(|l| plain(l)).collect::<Vec<_>>());
        let stop = Arc::new(AtomicBool::new(false));
        let handle = matches!(self.mode, Mode::Tty | Mode::Plain).then(|| {
            let progress = Arc::clone(self);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || progress.draw_loop(&stop, &labels))
        });
        Drawer { stop, handle }
    }

    fn draw_loop(&self, stop: &AtomicBool, labels: &[String]) {
        let start = Instant::now();
        let term = Term::stderr();
        let mut drawn = 0;
        let mut last_plain = Instant::now();
        let mut plain_seen = PerFamily::from_fn(|_| usize::MAX);
        let tick = Duration::from_secs_f64(1.0 / self.update_hz as f64);
        loop {
            let finished = stop.load(Ordering::Relaxed);
            match self.mode {
                Mode::Tty => {
                    let width = term.size().1 as usize;
                    let lines = self.frame(start, labels, width.max(20));
                    let _ = term.clear_last_lines(drawn);
                    let _ = term.write_str(&lines.join("\n"));
                    let _ = term.write_line("");
                    drawn = lines.len();
                }
                Mode::Plain if finished || last_plain.elapsed() >= PLAIN_EVERY => {
                    last_plain = Instant::now();
                    let mut out = std::io::stderr().lock();
                    for (family, c) in self.counters.iter() {
                        let seen = &mut plain_seen[family];
                        let (done, total) = (
                            c.done.load(Ordering::Relaxed),
                            c.total.load(Ordering::Relaxed),
                        );
                        if total > 0 && done != *seen {
                            *seen = done;
                            let _ = writeln!(
                                out,
                                "  {:<13} {done}/{total} ({}%)",
                                family.name(),
                                percent(done, total)
                            );
                        }
                    }
                }
                _ => {}
            }
            if finished {
                return;
            }
            std::thread::sleep(tick);
        }
    }

    /// The lines of one terminal frame, each cut to the terminal's width:
    /// names padded, counts right-aligned to the widest total, and the
    /// current poem's first words dropped first when a line is too wide.
    fn frame(&self, start: Instant, labels: &[String], width: usize) -> Vec<String> {
        let mut lines = Vec::new();
        let shown: Vec<(Family, &Counter)> = self
            .counters
            .iter()
            .filter(|(_, c)| c.total.load(Ordering::Relaxed) > 0)
            .collect();
        let name_width = shown
            .iter()
            .map(|(family, _)| family.name().len())
            .max()
            .unwrap_or(0);
        let digits = shown
            .iter()
            .map(|(_, c)| c.total.load(Ordering::Relaxed).to_string().len())
            .max()
            .unwrap_or(1);
        for (family, c) in shown {
            let total = c.total.load(Ordering::Relaxed);
            let done = c.done.load(Ordering::Relaxed).min(total);
            let filled = done * BAR / total;
            let bar = format!("{}{}", "█".repeat(filled), "░".repeat(BAR - filled));
            let line = format!(
                "  {:<name_width$} {done:>digits$}/{total:<digits$}  {bar} {:>3}%",
                family.name(),
                percent(done, total)
            );
            let status = if done == total {
                style("✓".to_string()).green().to_string()
            } else if done == 0 {
                "waiting".to_string()
            } else {
                match c.current.load(Ordering::Relaxed) {
                    row if self.show_current_poem && row != NONE => format!(
                        "\"{}\"",
                        labels.get(row as usize).map_or("", String::as_str)
                    ),
                    _ => String::new(),
                }
            };
            let with_status = format!("{line} {status}");
            let text = if console::measure_text_width(&with_status) < width {
                with_status
            } else {
                line
            };
            lines.push(console::truncate_str(&text, width - 1, "…").into_owned());
        }
        let elapsed = start.elapsed().as_secs_f64();
        let done: usize = self.total_done();
        let total: usize = self
            .counters
            .values()
            .map(|c| c.total.load(Ordering::Relaxed))
            .sum();
        let rate = if elapsed > 0.0 {
            done as f64 / elapsed
        } else {
            0.0
        };
        let eta = if rate > 0.0 {
            clock((total - done.min(total)) as f64 / rate)
        } else {
            "-".into()
        };
        let footer = format!(
            "  Elapsed {} | Rate {} pages/s | ETA {eta}",
            clock(elapsed),
            thousands(rate.round() as u64)
        );
        lines.push(console::truncate_str(&footer, width - 1, "…").into_owned());
        lines
    }
}

/// A snippet as plain text: `*emphasis*` markers removed.
fn plain(label: &str) -> String {
    label.replace('*', "")
}

/// `1627` → `1,627`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(done: usize, total: usize) -> usize {
    (done * 100).checked_div(total).unwrap_or(100)
}

/// `m:ss` or `h:mm:ss`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Stops and joins the drawing thread (after one last frame).
pub struct Drawer {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Drawer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(totals: &[(Family, usize, usize)]) -> Progress {
        let p = Progress::new(Mode::None, 10, true);
        for &(family, total, done) in totals {
            p.add_to_total(family, total);
            for _ in 0..done {
                p.done(family, Some(0));
            }
        }
        p
    }

    #[test]
    fn columns_line_up_and_the_footer_reads_plainly() {
        let p = progress(&[
            (Family::Chronological, 16, 16),
            (Family::Similar, 7797, 3847),
            (Family::Wordcloud, 200, 0),
        ]);
        let labels = vec!["morning light".to_string()];
        let lines = p.frame(Instant::now(), &labels, 120);
        let at = |line: &str, what: char| line.find(what).unwrap();
        // The slashes and the bars start in the same column on every line.
        assert_eq!(at(&lines[0], '/'), at(&lines[1], '/'));
        assert_eq!(at(&lines[1], '/'), at(&lines[2], '/'));
        assert_eq!(at(&lines[0], '█'), at(&lines[2], '░'));
        assert!(lines[0].contains("   16/16    "), "{lines:?}");
        assert!(lines[1].contains("\"morning light\""), "{lines:?}");
        assert!(lines[3].starts_with("  Elapsed 0:00 | Rate "), "{lines:?}");
        assert!(lines[3].contains(" pages/s | ETA "), "{lines:?}");
        assert_eq!(plain("the *weight* of"), "the weight of");
        assert_eq!(thousands(1627), "1,627");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_narrow_terminal_drops_the_snippet_before_cutting() {
        let p = progress(&[(Family::Similar, 7797, 3847)]);
        let labels = vec!["the weight of morning on the sill".to_string()];
        let wide = p.frame(Instant::now(), &labels, 120);
        assert!(wide[0].contains("\"the weight"), "{wide:?}");
        let narrow = p.frame(Instant::now(), &labels, 60);
        assert!(!narrow[0].contains('"'), "{narrow:?}");
        assert!(narrow[0].trim_end().ends_with('%'), "{narrow:?}");
        assert!(!narrow[0].contains('…'), "{narrow:?}");
    }
}
