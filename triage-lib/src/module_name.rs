//! Module names as dumps, symbol files, rules and pasted text spell them: `MAPI32.dll`,
//! `mapi32.DLL`, `MAPI32`. One comparison for all of them, so rules, signature lists, version
//! lookups and text stacks never disagree about which module a name means.

/// The name without its extension: `MAPI32.dll` → `MAPI32`. A name without a dot is its
/// own stem.
pub fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

/// Whether two spellings name the same module: equal ignoring case, with or without the
/// extension on either side.
pub fn same_module(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || stem(a).eq_ignore_ascii_case(stem(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_and_case_do_not_matter() {
        assert!(same_module("MAPI32.dll", "mapi32"));
        assert!(same_module("mapi32.DLL", "MAPI32.dll"));
        assert!(same_module("ntdll", "NTDLL"));
        assert!(!same_module("mapi32.dll", "mapi"));
        assert!(!same_module("kernel32.dll", "kernelbase.dll"));
        assert_eq!(stem("emsmta.exe"), "emsmta");
        assert_eq!(stem("libc.so.6"), "libc.so");
    }
}
