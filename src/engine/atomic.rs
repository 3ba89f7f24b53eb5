//! The atomic write that pages, the memo file and the store's large values
//! share: a temporary file beside the target, moved into place, so that a
//! kill leaves either the old file or the whole new one (and at worst a
//! temporary, which the next build's sweep removes).

use crate::error::{Doing, Error, IoContext, Result};
use std::fs::Metadata;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Suffix of temporary files; the sweep removes strays a kill left behind.
pub const TEMP_SUFFIX: &str = ".verso-tmp";

/// The name a temporary file of this name is written for, if it is one.
pub fn temporary_of(name: &str) -> Option<&str> {
    name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)
}

/// The temporary file beside `path`.
fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("page");
    path.with_file_name(format!(".{name}{TEMP_SUFFIX}"))
}

/// Write `bytes` to a temporary file beside `path` and move it into place,
/// so that `path` is always either the old file or the whole new one.
pub fn write_atomically(path: &Path, bytes: &[u8], doing: Doing) -> Result<()> {
    let (_, old) = write(path, bytes, doing, false)?;
    remove_old(old, doing)
}

/// `write_atomically`, with the bytes on the disk before the move: for a
/// file whose loss costs model work (the cache of vectors).
pub fn write_durably(path: &Path, bytes: &[u8], doing: Doing) -> Result<()> {
    let (_, old) = write(path, bytes, doing, true)?;
    remove_old(old, doing)
}

/// `write_atomically`, leaving the replaced file (if any) at the returned
/// path for the caller to remove; the new file's metadata.
pub fn write_new(path: &Path, bytes: &[u8], doing: Doing) -> Result<(Metadata, Option<PathBuf>)> {
    write(path, bytes, doing, false)
}

fn write(
    path: &Path,
    bytes: &[u8],
    doing: Doing,
    durably: bool,
) -> Result<(Metadata, Option<PathBuf>)> {
    let temp = temporary(path);
    let written = std::fs::File::create(&temp).and_then(|mut f| {
        f.write_all(bytes)?;
        if durably {
            f.sync_all()?;
        }
        f.metadata()
    });
    match written.and_then(|meta| replace(&temp, path).map(|old| (meta, old))) {
        Ok((meta, exchanged)) => Ok((meta, exchanged.then_some(temp))),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(Error::io(doing, path, e))
        }
    }
}

fn remove_old(old: Option<PathBuf>, doing: Doing) -> Result<()> {
    match old {
        Some(old) => std::fs::remove_file(&old).at(doing, &old),
        None => Ok(()),
    }
}

/// Put `temp` at `path`; `true` when the old file was exchanged to `temp`.
/// Over an existing regular file, the two are exchanged atomically: a plain
/// rename over an existing file makes ext4 start writing the new one out at
/// once (`auto_da_alloc`), which made rewriting a whole site about twice as
/// slow as writing it anew. A kill before the old file is removed leaves it
/// as a temporary, which the next build's sweep removes.
fn replace(temp: &Path, path: &Path) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
        let (from, to) = (c(temp)?, c(path)?);
        // SAFETY: two valid NUL-terminated paths; renameat2 reads them only.
        let exchanged = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if exchanged == 0 {
            return Ok(true);
        }
        // A filesystem without exchanges: a plain rename.
    }
    std::fs::rename(temp, path).map(|_| false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_written_new_over_an_old_one_and_never_over_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("p.html");
        write_atomically(&page, b"first", Doing::WritingSite).unwrap();
        write_atomically(&page, b"second, longer", Doing::WritingSite).unwrap();
        assert_eq!(std::fs::read(&page).unwrap(), b"second, longer");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");
        // A folder where a page should go stays a folder, with its files.
        let folder = dir.path().join("f.html");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("mine"), b"x").unwrap();
        assert!(write_atomically(&folder, b"page", Doing::WritingSite).is_err());
        assert!(folder.join("mine").is_file());
        assert!(!dir.path().join(".f.html.verso-tmp").exists());
    }
}
