//! What the user-written data files (rule files, signature lists) share: TOML read with
//! line-located diagnostics, `MODULE!FUNCTION` name globs, and "a file, or every `.toml`
//! file in a directory".

use std::ops::Range;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder};

/// A value read from a data file with the byte range it was written at, so that a
/// diagnostic about it can name its line. This crate's own type, so the TOML reader behind
/// it is not part of the API. Two values are equal when their values are, wherever written.
#[derive(Debug, Clone, Default)]
pub struct Located<T> {
    value: T,
    span: Range<usize>,
}

impl<T> Located<T> {
    /// A value written at `span` (`0..0` for one made in code).
    pub fn new(span: Range<usize>, value: T) -> Self {
        Located { value, span }
    }

    /// The value.
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// Where the value was written, in bytes from the start of its file.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The value, without its place.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: PartialEq> PartialEq for Located<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Located<T> {}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Located<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = toml::Spanned::<T>::deserialize(deserializer)?;
        Ok(Located::new(spanned.span(), spanned.into_inner()))
    }
}

impl<T: serde::Serialize> serde::Serialize for Located<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// Data files failed to load; every problem found is listed, one per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct DataFileError(pub Vec<Diagnostic>);

/// A problem in a data file, located by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem is the whole file (e.g. unreadable).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.message),
            line => write!(f, "{}:{line}: {}", self.file.display(), self.message),
        }
    }
}

impl Diagnostic {
    /// A problem with the whole file.
    pub(crate) fn whole_file(file: &Path, message: String) -> Diagnostic {
        Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            message,
        }
    }
}

/// A data file's text, for turning byte offsets into line-numbered diagnostics.
pub(crate) struct Source<'a> {
    pub(crate) text: &'a str,
    pub(crate) file: &'a Path,
}

impl Source<'_> {
    /// A diagnostic at byte `offset`.
    pub(crate) fn at(&self, offset: usize, message: String) -> Diagnostic {
        let line = self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1;
        Diagnostic {
            file: self.file.to_path_buf(),
            line,
            message,
        }
    }

    /// Deserializes the TOML, locating a syntax or shape error by line.
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        toml::from_str(self.text).map_err(|error| {
            let offset = error.span().map_or(0, |span| span.start);
            self.at(offset, error.message().to_string())
        })
    }
}

/// Reads a data file, reporting an unreadable one as a whole-file diagnostic.
pub(crate) fn read_text(file: &Path) -> Result<String, Diagnostic> {
    std::fs::read_to_string(file)
        .map_err(|e| Diagnostic::whole_file(file, format!("cannot read: {e}")))
}

/// `path` itself, or every `.toml` file in it (sorted, so load order is stable).
pub(crate) fn toml_files(path: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| Diagnostic::whole_file(path, e.to_string()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// A case-insensitive glob in which `*` also crosses `/` (it is a name, not a path) and `\`
/// is an ordinary character on every platform (escape with brackets: `[*]`).
pub(crate) fn name_glob(text: &str) -> Result<Glob, String> {
    GlobBuilder::new(text)
        .case_insensitive(true)
        .literal_separator(false)
        .backslash_escape(false)
        .build()
        .map_err(|e| format!("bad glob {text:?}: {e}"))
}
