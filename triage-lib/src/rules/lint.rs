//! Warnings about rules that load fine but are too generic to trust: a rule that matches
//! many unrelated crashes names the wrong known issue, which is worse than naming none.
//! `triage rules check` prints them; they never stop a rule from loading.

use super::pattern::CompiledPattern;
use super::Rule;
use crate::data_file::name_glob;

/// A rule needs at least this many frames: shorter stacks recur in unrelated crashes.
pub const MIN_SPECIFIC_FRAMES: usize = 3;

/// Modules of the operating system and the C and C++ runtimes, as case-insensitive globs
/// over a module name without its extension. Nearly every Windows stack passes through
/// them, so a rule whose frames are all in these modules matches crashes of any program:
/// a rule needs at least one frame in the product it is about.
pub const SYSTEM_MODULES: &[&str] = &[
    // The NT layer and the Win32 base.
    "ntdll",
    "kernel32",
    "kernelbase",
    "ntoskrnl",
    // Windowing, graphics and shell.
    "user32",
    "win32u",
    "gdi32",
    "gdi32full",
    "comctl32",
    "shell32",
    "shlwapi",
    // Security, RPC and COM.
    "advapi32",
    "sechost",
    "rpcrt4",
    "combase",
    "ole32",
    "oleaut32",
    // Networking.
    "ws2_32",
    "mswsock",
    // C and C++ runtimes: msvcrt, msvcr71, msvcp140, ucrtbase, vcruntime140, ...
    "msvcrt",
    "msvcr*",
    "msvcp*",
    "ucrtbase",
    "vcruntime*",
    // API sets and the WoW64 layer.
    "api-ms-win-*",
    "wow64",
    "wow64cpu",
    "wow64win",
];

/// Whether `module` (any case, with or without extension) is one of [`SYSTEM_MODULES`].
pub fn is_system_module(module: &str) -> bool {
    let stem = module.rsplit_once('.').map_or(module, |(stem, _)| stem);
    SYSTEM_MODULES.iter().any(|pattern| {
        name_glob(pattern)
            .map(|glob| glob.compile_matcher().is_match(stem))
            .unwrap_or(false)
    })
}

/// Why `rule` is too generic to trust, each reason at the offset of its first frame.
pub(super) fn warnings(rule: &Rule, pattern: &CompiledPattern) -> super::Problems {
    let at = rule.frames.first().map_or(0, |frame| frame.span().start);
    let mut found = Vec::new();
    if pattern.len() < MIN_SPECIFIC_FRAMES {
        found.push((
            at,
            format!(
                "warning: rule {} is too generic to trust: {} frame(s), fewer than {MIN_SPECIFIC_FRAMES}; \
                 a stack this short recurs in unrelated crashes",
                rule.id,
                pattern.len()
            ),
        ));
    }
    let mut modules: Vec<&str> = Vec::new();
    for module in pattern.module_keys() {
        if !modules.contains(&module) {
            modules.push(module);
        }
    }
    if modules.iter().all(|module| is_system_module(module)) {
        found.push((
            at,
            format!(
                "warning: rule {} is too generic to trust: its frames are only in system modules ({}), \
                 which are on most stacks; add a frame of the product's own code",
                rule.id,
                modules.join(", ")
            ),
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_modules_match_by_name_and_family() {
        for module in [
            "ntdll",
            "kernelbase",
            "msvcr71",
            "msvcp140",
            "api-ms-win-core-heap-l1-1-0",
            "KERNEL32.dll",
        ] {
            assert!(is_system_module(module), "{module}");
        }
        for module in ["mapi32", "emsmta.exe", "exchmem", "ntdllx", "kernel"] {
            assert!(!is_system_module(module), "{module}");
        }
    }
}
