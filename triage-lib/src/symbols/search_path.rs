//! `--symbols` arguments and `_NT_SYMBOL_PATH`, in WinDbg's `;`-separated syntax.

use std::path::PathBuf;

use super::{ServerSettings, SymbolDir, SymbolServer, SymbolSource};

/// What entries with an empty store (`srv**URL`, `cache*`) and server entries need.
#[derive(Debug, Clone, Default)]
pub struct SearchSettings {
    /// Network use and timeouts of `srv*` entries.
    pub server: ServerSettings,
    /// The store used when an entry leaves it empty; `None` makes such entries unusable.
    pub default_store: Option<PathBuf>,
}

/// A parsed symbol search path.
#[derive(Debug, Default)]
pub struct SearchPath {
    /// Sources in search order.
    pub sources: Vec<Box<dyn SymbolSource>>,
    /// Entries that could not be used (unknown `*` syntax, no default store), kept so
    /// callers can say so.
    pub unsupported: Vec<String>,
}

/// Parses `;`-separated entries:
/// - `DIR`: a [`SymbolDir`];
/// - `cache*DIR`: `DIR` is searched here, and is the store of later `srv*` entries that
///   leave theirs empty (`cache*` alone means the default store);
/// - `srv*DIR*URL`, `srv**URL`, `srv*URL`, `srv*DIR1*DIR2*URL`: a [`SymbolServer`] whose
///   downloads land in the first store (empty: the `cache*` store, else the default one);
///   `symsrv*symsrv.dll*...` is the same;
/// - `srv*DIR1*DIR2` (no URL): the stores as directories.
pub fn parse_search_path<'a>(
    entries: impl IntoIterator<Item = &'a str>,
    settings: &SearchSettings,
) -> SearchPath {
    let mut path = SearchPath::default();
    let mut cache_store: Option<PathBuf> = None;
    for entry in entries.into_iter().flat_map(|list| list.split(';')) {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let Some((kind, rest)) = entry.split_once('*') else {
            path.sources.push(Box::new(SymbolDir::new(entry)));
            continue;
        };
        let default_store = cache_store
            .clone()
            .or_else(|| settings.default_store.clone());
        let store = |part: &str| match part {
            "" => default_store.clone(),
            dir => Some(PathBuf::from(dir)),
        };
        let parts: Vec<&str> = match kind.to_ascii_lowercase().as_str() {
            "srv" => rest.split('*').collect(),
            "symsrv" => rest.split('*').skip(1).collect(),
            "cache" => {
                match store(rest) {
                    Some(dir) => {
                        path.sources.push(Box::new(SymbolDir::new(dir.clone())));
                        cache_store = Some(dir);
                    }
                    None => path.unsupported.push(entry.to_string()),
                }
                continue;
            }
            _ => {
                path.unsupported.push(entry.to_string());
                continue;
            }
        };
        let (url, store_parts) = match parts.split_last() {
            Some((last, stores)) if is_url(last) => (Some(*last), stores.to_vec()),
            _ => (None, parts),
        };
        let store_parts = if url.is_some() && store_parts.is_empty() {
            vec![""]
        } else {
            store_parts
        };
        let Some(stores) = store_parts
            .iter()
            .map(|part| store(part))
            .collect::<Option<Vec<_>>>()
        else {
            path.unsupported.push(entry.to_string());
            continue;
        };
        match url {
            Some(url) => {
                path.sources
                    .push(Box::new(SymbolServer::new(url, stores, settings.server)))
            }
            None => path.sources.extend(
                stores
                    .into_iter()
                    .map(|dir| Box::new(SymbolDir::new(dir)) as Box<dyn SymbolSource>),
            ),
        }
    }
    path
}

fn is_url(part: &str) -> bool {
    let lower = part.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(path: &SearchPath) -> Vec<String> {
        path.sources
            .iter()
            .map(|source| format!("{source:?}"))
            .collect()
    }

    #[test]
    fn plain_directories_servers_and_caches() {
        let settings = SearchSettings {
            default_store: Some("/default".into()),
            ..SearchSettings::default()
        };
        let path = parse_search_path(
            [
                "/a;;srv*/sym*https://msdl.example/",
                "srv**http://127.0.0.1:1/x",
                "cache*/c;srv*http://127.0.0.1:2",
                "SRV*/d*/e",
                "symsrv*symsrv.dll*/f*http://127.0.0.1:3",
            ],
            &settings,
        );
        assert!(path.unsupported.is_empty(), "{:?}", path.unsupported);
        let sources = described(&path);
        let expected = [
            "SymbolDir { root: \"/a\" }",
            "url: \"https://msdl.example\", stores: [SymbolDir { root: \"/sym\" }]",
            "url: \"http://127.0.0.1:1/x\", stores: [SymbolDir { root: \"/default\" }]",
            "SymbolDir { root: \"/c\" }",
            "url: \"http://127.0.0.1:2\", stores: [SymbolDir { root: \"/c\" }]",
            "SymbolDir { root: \"/d\" }",
            "SymbolDir { root: \"/e\" }",
            "url: \"http://127.0.0.1:3\", stores: [SymbolDir { root: \"/f\" }]",
        ];
        assert_eq!(sources.len(), expected.len(), "{sources:#?}");
        for (source, expected) in sources.iter().zip(expected) {
            assert!(source.contains(expected), "{source} lacks {expected}");
        }
    }

    #[test]
    fn unknown_syntax_and_missing_default_stores_are_reported() {
        let path = parse_search_path(
            ["what*ever;srv**https://msdl.example;/ok"],
            &SearchSettings::default(),
        );
        assert_eq!(path.unsupported, ["what*ever", "srv**https://msdl.example"]);
        assert_eq!(path.sources.len(), 1);
    }
}
