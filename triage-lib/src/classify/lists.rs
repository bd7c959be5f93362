//! The frame lists that steer signatures and blame: data files of `MODULE!FUNCTION` globs.
//!
//! A list file is TOML with up to four arrays, `skip`, `prefix`, `sentinel` and `allocator`
//! (see the README). The built-in lists are such files, compiled in; users add entries with
//! more files, never by editing code.

use std::path::Path;

use serde::Deserialize;

use super::function_name::normalize_function;
use crate::data_file::{read_text, toml_files, DataFileError, Diagnostic, Located, Source};
use crate::frame_glob::FrameGlob;
use crate::model::Frame;

/// The built-in list files, as `(name, TOML)`.
const BUILTIN: &[(&str, &str)] = &[
    ("skip.toml", include_str!("../../classify/skip.toml")),
    ("prefix.toml", include_str!("../../classify/prefix.toml")),
    (
        "sentinel.toml",
        include_str!("../../classify/sentinel.toml"),
    ),
    (
        "allocator.toml",
        include_str!("../../classify/allocator.toml"),
    ),
];

/// List files failed to load: the data-file error every data file gives.
pub type ListError = DataFileError;

/// The on-disk shape of a list file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    #[serde(default)]
    skip: Vec<Located<String>>,
    #[serde(default)]
    prefix: Vec<Located<String>>,
    #[serde(default)]
    sentinel: Vec<Located<String>>,
    #[serde(default)]
    allocator: Vec<Located<String>>,
}

/// One list of frame globs.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrameList {
    globs: Vec<FrameGlob>,
}

impl FrameList {
    /// Whether a symbolized frame matches an entry, comparing its normalized function
    /// (arguments and templates dropped); unsymbolized frames match nothing.
    pub(crate) fn matches(&self, frame: &Frame) -> bool {
        let (Some(_), Some(function)) = (&frame.module, &frame.function) else {
            return false;
        };
        let function = normalize_function(function);
        self.globs
            .iter()
            .any(|glob| glob.module_fits(frame) && glob.function_fits(&function))
    }

    /// Adds entries that [`check`] accepted.
    fn extend(&mut self, globs: Vec<String>) {
        let compiled = globs
            .iter()
            .map(|text| FrameGlob::parse(text).expect("entries are checked before they are added"));
        self.globs.extend(compiled);
    }
}

/// The four lists a [`super::Classifier`] consults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lists {
    /// Frames passed over as if absent: waits, exception dispatch.
    pub(crate) skip: FrameList,
    /// Frames kept in a signature that do not end it: asserts, memcpy.
    pub(crate) prefix: FrameList,
    /// Frames a signature starts at wherever they are on the stack: `_purecall`.
    pub(crate) sentinel: FrameList,
    /// Heap code and its wrappers: a fault there is heap corruption.
    pub(crate) allocator: FrameList,
}

impl Lists {
    /// The built-in lists.
    pub(crate) fn builtin() -> Lists {
        let mut lists = Lists::default();
        for (name, text) in BUILTIN {
            lists
                .add_text(text, Path::new(&format!("builtin:{name}")))
                .expect("built-in lists are checked by the test suite");
        }
        lists
    }

    /// Whether a signature that reached `frame` goes on past it: prefix frames, and
    /// allocator and sentinel frames, which explain a crash only together with their caller.
    pub(crate) fn continues_signature(&self, frame: &Frame) -> bool {
        self.prefix.matches(frame) || self.allocator.matches(frame) || self.sentinel.matches(frame)
    }

    /// Adds the entries of a `.toml` file, or of every `.toml` file in a directory (sorted).
    /// Nothing is added from a file with errors.
    pub(crate) fn load(&mut self, path: &Path) -> Result<(), ListError> {
        let mut problems = Vec::new();
        for file in toml_files(path).map_err(|d| DataFileError(vec![d]))? {
            let added = read_text(&file)
                .map_err(|d| DataFileError(vec![d]))
                .and_then(|text| self.add_text(&text, &file));
            if let Err(DataFileError(mut found)) = added {
                problems.append(&mut found);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(DataFileError(problems))
        }
    }

    /// Parses list-file text and adds its entries; `file` only labels diagnostics.
    pub(crate) fn add_text(&mut self, text: &str, file: &Path) -> Result<(), ListError> {
        let source = Source { text, file };
        let parsed: ListFile = source.parse().map_err(|d| DataFileError(vec![d]))?;
        let entries = [
            parsed.skip,
            parsed.prefix,
            parsed.sentinel,
            parsed.allocator,
        ];
        let problems: Vec<Diagnostic> = entries
            .iter()
            .flatten()
            .filter_map(|entry| {
                check(entry.get_ref())
                    .err()
                    .map(|message| source.at(entry.span().start, message))
            })
            .collect();
        if !problems.is_empty() {
            return Err(DataFileError(problems));
        }
        let [skip, prefix, sentinel, allocator]: [Vec<String>; 4] =
            entries.map(|list| list.into_iter().map(Located::into_inner).collect());
        self.skip.extend(skip);
        self.prefix.extend(prefix);
        self.sentinel.extend(sentinel);
        self.allocator.extend(allocator);
        Ok(())
    }
}

/// An entry must be a valid [`FrameGlob`].
fn check(text: &str) -> Result<(), String> {
    FrameGlob::parse(text).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Addr;

    fn frame(module: &str, function: Option<&str>) -> Frame {
        Frame {
            module: Some(module.to_string()),
            function: function.map(str::to_string),
            module_offset: Some(Addr(0x10)),
            ..Frame::default()
        }
    }

    #[test]
    fn entries_match_case_insensitively_with_or_without_extension() {
        let mut lists = Lists::default();
        let text = "skip = [\"NTDLL!ZwWaitFor*\"]\nallocator = [\"*!operator new*\"]\n";
        lists.add_text(text, Path::new("t.toml")).unwrap();
        assert!(lists
            .skip
            .matches(&frame("ntdll.dll", Some("zwwaitforsingleobject"))));
        assert!(lists
            .skip
            .matches(&frame("NTDLL", Some("ZwWaitForMultipleObjects"))));
        assert!(!lists
            .skip
            .matches(&frame("kernel32.dll", Some("ZwWaitForSingleObject"))));
        assert!(
            lists
                .allocator
                .matches(&frame("msvcr90.dll", Some("operator new(unsigned int)"))),
            "entries match the normalized name, without arguments"
        );
        assert!(!lists.skip.matches(&frame("ntdll.dll", None)));
        assert!(!lists
            .prefix
            .matches(&frame("ntdll.dll", Some("ZwWaitForSingleObject"))));
    }

    #[test]
    fn bad_entries_are_reported_by_line_and_nothing_is_added() {
        let mut lists = Lists::default();
        let text = "prefix = [\n  \"a!b\",\n  \"no-bang\",\n  \"x![z\",\n]\n";
        let DataFileError(problems) = lists.add_text(text, Path::new("bad.toml")).unwrap_err();
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4]);
        assert!(problems[0].to_string().starts_with("bad.toml:3: "));
        assert!(!lists.prefix.matches(&frame("a", Some("b"))));

        let DataFileError(unknown) = lists
            .add_text("skip = []\nskp = [\"a!b\"]\n", Path::new("k.toml"))
            .unwrap_err();
        assert_eq!(unknown[0].line, 2, "{}", unknown[0]);
    }

    #[test]
    fn loading_a_directory_adds_to_the_builtin_lists() {
        let dir = std::env::temp_dir().join(format!("triage-lists-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("mine.toml"), "skip = [\"myapp!LogAndWait\"]\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "not a list").unwrap();
        let mut lists = Lists::builtin();
        let loaded = lists.load(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        loaded.unwrap();
        assert!(lists.skip.matches(&frame("myapp.exe", Some("LogAndWait"))));
        assert!(lists
            .skip
            .matches(&frame("ntdll.dll", Some("NtWaitForSingleObject"))));
    }
}
