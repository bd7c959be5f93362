//! HTTP symbol servers (`srv*DIR*URL`), the way WinDbg uses them: local downstream stores
//! are searched first, and a file the server has lands in the first of them, written to a
//! temporary file and renamed, so that an interrupted download never looks complete.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::cache::write_atomically;
use super::symstore::{store_paths, under};
use super::{SymbolDir, SymbolIdentity, SymbolSource};

/// Largest file downloaded; a server (or whoever sits in between) could send without end.
const MAX_DOWNLOAD_BYTES: u64 = 4 << 30;

/// How symbol servers may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSettings {
    /// No network: only the local stores of `srv*` entries are searched.
    pub offline: bool,
    /// Bound on connecting, on waiting for an answer and on each read of a download. A
    /// server that misses it is not asked again during the run.
    pub timeout: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            offline: false,
            timeout: crate::DEFAULT_SYMBOL_TIMEOUT,
        }
    }
}

/// A symbol server with its downstream stores.
pub struct SymbolServer {
    url: String,
    stores: Vec<SymbolDir>,
    download_root: PathBuf,
    /// `None` when offline, or without a store to download into.
    agent: Option<ureq::Agent>,
    /// Set after a timeout or a connection failure, so a dead server costs one timeout per
    /// run, not one per module.
    unreachable: AtomicBool,
}

impl SymbolServer {
    /// The server at `url` (`http://` or `https://`), with local `stores` searched first.
    /// Downloads land in the first store; with none, the server is not asked.
    pub fn new(url: &str, stores: Vec<PathBuf>, settings: ServerSettings) -> Self {
        let download_root = stores.first().cloned().unwrap_or_default();
        let agent = (!settings.offline && !stores.is_empty()).then(|| {
            let timeout = Some(settings.timeout);
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_resolve(timeout)
                .timeout_connect(timeout)
                .timeout_send_request(timeout)
                .timeout_recv_response(timeout)
                .timeout_per_read(timeout)
                .user_agent(concat!("triage/", env!("CARGO_PKG_VERSION")))
                .build()
                .into()
        });
        SymbolServer {
            url: url.trim_end_matches('/').to_string(),
            stores: stores.into_iter().map(SymbolDir::new).collect(),
            download_root,
            agent,
            unreachable: AtomicBool::new(false),
        }
    }

    /// Fetches `parts` (a store path) into the download root: `Ok(None)` when the server
    /// does not have it, `Err` when the server could not be asked.
    fn download(&self, agent: &ureq::Agent, parts: &[String]) -> Result<Option<PathBuf>, String> {
        let encoded: Vec<String> = parts.iter().map(|part| percent_encode(part)).collect();
        let url = format!("{}/{}", self.url, encoded.join("/"));
        let mut response = agent
            .get(&url)
            .call()
            .map_err(|error| format!("{url}: {error}"))?;
        match response.status().as_u16() {
            200 => {}
            404 | 410 => return Ok(None),
            status => {
                tracing::warn!("{url}: HTTP {status}");
                return Ok(None);
            }
        }
        let target = under(&self.download_root, parts);
        let mut body = response
            .body_mut()
            .with_config()
            .limit(MAX_DOWNLOAD_BYTES)
            .reader();
        write_atomically(&target, true, |file| io::copy(&mut body, file).map(drop))
            .map_err(|error| format!("{url}: {error}"))?;
        Ok(Some(target))
    }
}

impl SymbolSource for SymbolServer {
    fn find(&self, identity: &SymbolIdentity) -> Option<PathBuf> {
        if let Some(found) = self.find_present(identity) {
            return Some(found);
        }
        let agent = self.agent.as_ref()?;
        for parts in store_paths(identity, false) {
            if self.unreachable.load(Ordering::Relaxed) {
                return None;
            }
            match self.download(agent, &parts) {
                Ok(Some(path)) => return Some(path),
                Ok(None) => {}
                Err(error) => {
                    if !self.unreachable.swap(true, Ordering::Relaxed) {
                        tracing::warn!("symbol server not used for the rest of the run: {error}");
                    }
                    return None;
                }
            }
        }
        None
    }

    /// What the local stores hold; nothing is downloaded.
    fn find_present(&self, identity: &SymbolIdentity) -> Option<PathBuf> {
        self.stores
            .iter()
            .find_map(|store| store.find_in_store(identity))
    }
}

impl fmt::Debug for SymbolServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SymbolServer")
            .field("url", &self.url)
            .field("stores", &self.stores)
            .field("download_root", &self.download_root)
            .field("offline", &self.agent.is_none())
            .finish()
    }
}

/// Escapes everything but unreserved URL characters, so that a name from a dump (`#`, `?`,
/// `%`, spaces) stays one path segment.
fn percent_encode(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_one_url_segment() {
        assert_eq!(percent_encode("crash.pdb"), "crash.pdb");
        assert_eq!(percent_encode("a b#?%/"), "a%20b%23%3F%25%2F");
    }

    #[test]
    fn offline_servers_search_only_their_stores() {
        let store = tempfile::tempdir().unwrap();
        let identity = SymbolIdentity {
            debug_file: "crash.pdb".into(),
            debug_id: "ABC1".into(),
            code_file: None,
            code_id: None,
        };
        let server = SymbolServer::new(
            // Nothing listens on port 9 (discard); offline, nothing is asked either.
            "http://127.0.0.1:9",
            vec![store.path().to_path_buf()],
            ServerSettings {
                offline: true,
                ..ServerSettings::default()
            },
        );
        assert_eq!(server.find(&identity), None);
        let stored = store.path().join("crash.pdb/ABC1/crash.pdb");
        std::fs::create_dir_all(stored.parent().unwrap()).unwrap();
        std::fs::write(&stored, b"pdb").unwrap();
        assert_eq!(server.find(&identity), Some(stored));
    }
}
