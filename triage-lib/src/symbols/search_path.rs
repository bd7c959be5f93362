//! `--symbols` arguments and `_NT_SYMBOL_PATH`, in WinDbg's `;`-separated syntax.

use std::path::PathBuf;

use super::{SymbolDir, SymbolSource};

/// A parsed symbol search path.
#[derive(Debug, Default)]
pub struct SearchPath {
    /// Sources in search order.
    pub sources: Vec<Box<dyn SymbolSource>>,
    /// Entries this build cannot use yet (`srv*`, `cache*`, ...), kept so callers can say so.
    pub unsupported: Vec<String>,
}

/// Parses `;`-separated entries. Plain directories become [`SymbolDir`]s; symbol-server and
/// cache entries (anything with `*`) are listed in [`SearchPath::unsupported`].
pub fn parse_search_path<'a>(entries: impl IntoIterator<Item = &'a str>) -> SearchPath {
    let mut path = SearchPath::default();
    for entry in entries.into_iter().flat_map(|list| list.split(';')) {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        if entry.contains('*') {
            path.unsupported.push(entry.to_string());
        } else {
            path.sources
                .push(Box::new(SymbolDir::new(PathBuf::from(entry))));
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plain_directories_and_keeps_server_entries_aside() {
        let path = parse_search_path(["/a;;srv*c:\\sym*https://msdl.example/", "/b"]);
        assert_eq!(path.sources.len(), 2);
        assert_eq!(path.unsupported, ["srv*c:\\sym*https://msdl.example/"]);
    }
}
