//! `MODULE!FUNCTION` globs, the one frame pattern of every data file: rule frames and
//! signature-list entries are both written and matched this way.

use globset::GlobMatcher;

use crate::data_file::name_glob;
use crate::model::Frame;
use crate::module_name;

/// One `MODULE!FUNCTION` glob. The module part fits a frame's module with or without its
/// extension; both parts are case-insensitive (see [`name_glob`]).
#[derive(Debug, Clone)]
pub(crate) struct FrameGlob {
    text: String,
    /// The module part, lowercase and without extension: what tells modules apart.
    module_key: String,
    module: GlobMatcher,
    function: GlobMatcher,
}

impl FrameGlob {
    /// Compiles `MODULE!FUNCTION`; both parts must be non-empty valid globs.
    pub(crate) fn parse(text: &str) -> Result<FrameGlob, String> {
        let (module, function) = text
            .split_once('!')
            .filter(|(m, f)| !m.is_empty() && !f.is_empty())
            .ok_or_else(|| format!("{text:?} is not MODULE!FUNCTION"))?;
        let compile = |part: &str| name_glob(part).map(|glob| glob.compile_matcher());
        Ok(FrameGlob {
            text: text.to_string(),
            module_key: module_name::stem(module).to_ascii_lowercase(),
            module: compile(module)?,
            function: compile(function)?,
        })
    }

    /// The glob as written.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The module part, lowercase and without extension.
    pub(crate) fn module_key(&self) -> &str {
        &self.module_key
    }

    /// Whether the frame is in a module this glob names. `*!Method` also fits a named frame
    /// without a module (managed code, as SOS prints it).
    pub(crate) fn module_fits(&self, frame: &Frame) -> bool {
        match frame.module.as_deref() {
            Some(name) => {
                self.module.is_match(name) || self.module.is_match(module_name::stem(name))
            }
            None => self.text.starts_with("*!") && frame.function.is_some(),
        }
    }

    /// Whether `function` (as the caller spells it: raw or normalized) fits the function part.
    pub(crate) fn function_fits(&self, function: &str) -> bool {
        self.function.is_match(function)
    }

    /// Whether a named frame fits both parts.
    pub(crate) fn fits(&self, frame: &Frame) -> bool {
        self.module_fits(frame)
            && frame
                .function
                .as_deref()
                .is_some_and(|function| self.function_fits(function))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(module: Option<&str>, function: &str) -> Frame {
        Frame {
            module: module.map(str::to_string),
            function: Some(function.to_string()),
            ..Frame::default()
        }
    }

    #[test]
    fn modules_fit_with_or_without_extension_and_case() {
        let glob = FrameGlob::parse("MAPI32!MAPIAllocate*").unwrap();
        assert!(glob.fits(&frame(Some("mapi32.dll"), "MAPIAllocateBuffer")));
        assert!(glob.fits(&frame(Some("MAPI32"), "mapiallocatebufferext")));
        assert!(!glob.fits(&frame(Some("mapi.dll"), "MAPIAllocateBuffer")));
        assert!(!glob.fits(&frame(None, "MAPIAllocateBuffer")));
        assert_eq!(glob.module_key(), "mapi32");
    }

    #[test]
    fn a_star_module_fits_managed_frames() {
        let glob = FrameGlob::parse("*!System.Threading.Monitor.Enter*").unwrap();
        assert!(glob.fits(&frame(
            None,
            "System.Threading.Monitor.Enter(System.Object)"
        )));
    }

    #[test]
    fn malformed_globs_are_refused() {
        for text in ["MAPI32", "!Foo", "MAPI32!", "MAPI32!Foo[", ""] {
            assert!(FrameGlob::parse(text).is_err(), "{text}");
        }
    }
}
