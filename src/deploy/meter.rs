//! The deploy family's counts: files and bytes sent of the plan's totals,
//! drawn through `Progress::deploying`.

use crate::progress::Progress;

pub struct Meter {
    files: (usize, usize),
    bytes: (u64, u64),
}

impl Meter {
    pub fn new(progress: &Progress, files: usize, bytes: u64) -> Meter {
        let meter = Meter {
            files: (0, files),
            bytes: (0, bytes),
        };
        if files > 0 {
            progress.deploying(meter.files, meter.bytes, "");
        }
        meter
    }

    /// The host confirmed `path`, of `size` bytes.
    pub fn sent(&mut self, progress: &Progress, path: &str, size: u64) {
        self.files.0 += 1;
        self.bytes.0 += size;
        progress.deploying(self.files, self.bytes, path);
    }
}
