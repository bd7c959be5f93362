//! The symbol-store layout (`symstore.exe`, Microsoft's and Mozilla's servers): where a
//! module's files sit relative to a store root, in the order they are tried.

use std::path::PathBuf;

use super::SymbolIdentity;

/// Paths relative to a store root, best first: Breakpad text, the debug file (PDB, or an
/// ELF/Mach-O debug file), its CAB-compressed form (`.pd_`), then the image filed by code
/// id (`name.dll/<TIMESTAMP><SIZEOFIMAGE>/name.dll`) for its exports and unwind data.
/// Every component comes from a checked [`SymbolIdentity`], so none can leave the root.
pub(super) fn store_paths(identity: &SymbolIdentity, with_xz: bool) -> Vec<Vec<String>> {
    let in_dir = |file: String| vec![identity.debug_file.clone(), identity.debug_id.clone(), file];
    let sym = identity.sym_file_name();
    let mut paths = vec![in_dir(sym.clone())];
    if with_xz {
        paths.push(in_dir(format!("{sym}.xz")));
    }
    paths.push(in_dir(identity.debug_file.clone()));
    if let Some(compressed) = compressed_name(&identity.debug_file) {
        paths.push(in_dir(compressed));
    }
    if let (Some(code_file), Some(code_id)) = (&identity.code_file, &identity.code_id) {
        paths.push(vec![code_file.clone(), code_id.clone(), code_file.clone()]);
    }
    paths
}

/// `crash.pdb` → `crash.pd_`: the name `symstore /compress` and `makecab` give a file.
pub(super) fn compressed_name(file: &str) -> Option<String> {
    let (stem, extension) = file.rsplit_once('.')?;
    let mut extension = extension.to_string();
    (!stem.is_empty() && extension.len() >= 2 && extension.pop() != Some('_'))
        .then(|| format!("{stem}.{extension}_"))
}

/// Joins `components` under `root`.
pub(super) fn under(root: &std::path::Path, components: &[String]) -> PathBuf {
    components
        .iter()
        .fold(root.to_path_buf(), |path, part| path.join(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_store_layout_in_lookup_order() {
        let identity = SymbolIdentity {
            debug_file: "crash.pdb".into(),
            debug_id: "ABC1".into(),
            code_file: Some("crash.exe".into()),
            code_id: Some("5AB380779000".into()),
        };
        let joined: Vec<String> = store_paths(&identity, true)
            .iter()
            .map(|parts| parts.join("/"))
            .collect();
        assert_eq!(
            joined,
            [
                "crash.pdb/ABC1/crash.sym",
                "crash.pdb/ABC1/crash.sym.xz",
                "crash.pdb/ABC1/crash.pdb",
                "crash.pdb/ABC1/crash.pd_",
                "crash.exe/5AB380779000/crash.exe",
            ]
        );
    }

    #[test]
    fn compressed_names_replace_the_last_character() {
        assert_eq!(compressed_name("crash.pdb").as_deref(), Some("crash.pd_"));
        assert_eq!(compressed_name("crash.pd_"), None);
        assert_eq!(compressed_name("libc.so.6"), None);
        assert_eq!(compressed_name("noext"), None);
    }
}
