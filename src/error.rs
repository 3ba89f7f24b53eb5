//! Error types of the library: bad input (exit 2), usage errors (exit 2),
//! build and I/O failures (exit 1) and interruption (exit 130).

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a defect in the input is, as precisely as the parser can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub poem: Option<String>,
    pub field: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Location {
    pub fn file(path: &Path) -> Self {
        Location {
            file: path.display().to_string(),
            ..Default::default()
        }
    }
    pub fn poem(mut self, poem: impl fmt::Display) -> Self {
        self.poem = Some(poem.to_string());
        self
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn at(mut self, line: usize, column: usize) -> Self {
        if line > 0 {
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(poem) = &self.poem {
            write!(f, ": poem {poem}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        Ok(())
    }
}

/// A defect in the collection or its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub location: Location,
    pub message: String,
    pub hint: Option<String>,
}

impl InputError {
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        InputError {
            location,
            message: message.into(),
            hint: None,
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Input(Box<InputError>),
    #[error("{0}")]
    Usage(String),
    #[error("{}: could not {doing}: {source}", path.display())]
    Io {
        path: PathBuf,
        doing: Doing,
        source: std::io::Error,
    },
    #[error("cache {}: {message}", path.display())]
    Store { path: PathBuf, message: String },
    #[error("the cache {} is in use by another verso {by}; wait for it to finish", path.display())]
    Locked { path: PathBuf, by: &'static str },
    #[error("template: {0}")]
    Template(String),
    #[error("{0}")]
    Failed(String),
    #[error(
        "interrupted before any page was written; rerun to resume (what was computed is kept)"
    )]
    Interrupted,
}

impl Error {
    /// The process exit code of this kind of failure (the README, end of
    /// *Commands*: 1 a failure, 2 bad input or usage, 130 interrupted).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Usage(_) => 2,
            Error::Interrupted => 130,
            _ => 1,
        }
    }
    /// What to do about a failure of the machine rather than of the input.
    pub fn hint(&self) -> Option<&'static str> {
        use std::io::ErrorKind;
        let Error::Io { source, .. } = self else {
            return None;
        };
        match source.kind() {
            ErrorKind::StorageFull => Some(
                "the disk is full: free some space and rerun; the pages already written are kept and the build resumes",
            ),
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => Some(
                "this user may not read or write there: change the folder's permissions, or choose another with --out or --cache",
            ),
            ErrorKind::NotFound => Some("check that the path exists and is spelled as it is on disk"),
            _ => None,
        }
    }

    pub fn io(doing: Doing, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            doing,
            source,
        }
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(Box::new(e))
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// What verso was doing when an I/O operation failed: the middle of its
/// sentence ("PATH: could not write the site: …").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    ReadingCollection,
    ReadingConfiguration,
    ReadingModel,
    ReadingTemplates,
    ReadingSite,
    WritingSite,
    RemovingPages,
    CleaningSite,
    UsingCache,
    UsingVectorCache,
    PruningCache,
    WritingReport,
    WritingFile,
}

impl fmt::Display for Doing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Doing::ReadingCollection => "read the collection",
            Doing::ReadingConfiguration => "read the configuration",
            Doing::ReadingModel => "read the model folder",
            Doing::ReadingTemplates => "read the templates",
            Doing::ReadingSite => "read the site",
            Doing::WritingSite => "write the site",
            Doing::RemovingPages => "remove pages the site no longer has",
            Doing::CleaningSite => "remove the site's pages",
            Doing::UsingCache => "save or read the cache",
            Doing::UsingVectorCache => "save or read the cache of vectors",
            Doing::PruningCache => "prune the cache",
            Doing::WritingReport => "write the report",
            Doing::WritingFile => "write the file",
        })
    }
}

/// Attach what verso was doing, and the path, to an I/O result.
pub trait IoContext<T> {
    fn at(self, doing: Doing, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, doing: Doing, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(doing, path, e))
    }
}

/// Split a serde_json error into its message and position.
pub fn json_error(path: &Path, err: &serde_json::Error) -> InputError {
    let text = err.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let hint = if err.is_syntax() || err.is_eof() {
        Some("the file is not valid JSON; fix the text at that position")
    } else {
        None
    };
    let e = InputError::new(Location::file(path).at(err.line(), err.column()), message);
    match hint {
        Some(h) => e.hint(h),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_io_error_says_the_path_what_verso_was_doing_and_what_to_do() {
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let e = Error::io(Doing::WritingSite, Path::new("/s/index.html"), full);
        assert!(
            e.to_string()
                .starts_with("/s/index.html: could not write the site: "),
            "{e}"
        );
        assert!(e.hint().unwrap().contains("the disk is full"));
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let e = Error::io(Doing::UsingCache, Path::new("/c"), denied);
        assert!(
            e.to_string().contains("could not save or read the cache"),
            "{e}"
        );
        assert!(e.hint().unwrap().contains("permissions"));
        let other = std::io::Error::from(std::io::ErrorKind::Interrupted);
        assert_eq!(
            Error::io(Doing::ReadingSite, Path::new("/s"), other).hint(),
            None
        );
    }
}
