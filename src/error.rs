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
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cache {}: {message}", path.display())]
    Store { path: PathBuf, message: String },
    /// The store's database could not read or write its files.
    #[error("{}: could not save or read the cache: {source}", path.display())]
    CacheIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the cache {} is in use by another verso build; wait for it to finish", path.display())]
    Locked { path: PathBuf },
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
    /// The process exit code that SPEC assigns to this kind of failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Usage(_) => 2,
            Error::Interrupted => 130,
            _ => 1,
        }
    }
    /// What to do about a failure of the machine rather than of the input.
    pub fn hint(&self) -> Option<&'static str> {
        let disk_full = matches!(
            self,
            Error::Io { source, .. } | Error::CacheIo { source, .. }
                if source.kind() == std::io::ErrorKind::StorageFull
        );
        disk_full.then_some(
            "the disk is full: free some space and rerun; the pages already written are kept and the build resumes",
        )
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
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

/// Attach a path to an I/O result.
pub trait IoContext<T> {
    fn at(self, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
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
