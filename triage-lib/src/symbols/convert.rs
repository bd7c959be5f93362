//! PDB, PE, ELF and Mach-O files turned into Breakpad symbol text in memory, the way
//! `dump_syms` does, so that they reach the walker through the same `SymbolFile` parser as
//! `.sym` files: names, line records, inline frames, parameter sizes and unwind rules in
//! one go.
//!
//! What comes from where:
//! - `FUNC` and line records from `symbolic`'s debug session. PDB names follow Microsoft's
//!   `dump_syms` (DIA): functions with a C++-mangled public symbol get the MSVC-demangled
//!   name with parameters; the others (C, static functions) the bare name.
//! - `INLINE_ORIGIN`/`INLINE` records from the inlinees `symbolic` reports; the call site of
//!   an inlinee is its parent's line at the inlinee's address.
//! - `PUBLIC` records from the symbol table (a PE image's exports), x86 decorations removed.
//! - `STACK WIN` (x86 PDB FPO and frame data) and `STACK CFI` (x64 PE unwind info, DWARF
//!   CFI) from `symbolic_cfi::AsciiCfiWriter`. A FUNC's parameter size is the one of the
//!   frame-data record at its start, as DIA reports it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use symbolic_cfi::AsciiCfiWriter;
use symbolic_common::{ByteView, Language, Name, NameMangling};
use symbolic_debuginfo::{FileFormat, Function, LineInfo, Object};
use symbolic_demangle::{Demangle, DemangleOptions};

use super::SymbolIdentity;

/// Bumped whenever the text produced for the same input changes; part of the cache path,
/// so that an older conversion is never reused.
pub(super) const CONVERTER_VERSION: u32 = 1;

/// Longest chain of x64 `UNWIND_INFO` records followed for one function. Real chains are a
/// few links long; a crafted image can make a cycle, which `AsciiCfiWriter` would otherwise
/// follow forever. Past the bound the writer fails and the image gets no CFI.
const MAX_UNWIND_CHAIN_LEN: usize = 32;

/// Converts the object file in `data` to Breakpad text, after checking that it is the build
/// `identity` names.
pub(super) fn to_breakpad(data: &[u8], identity: &SymbolIdentity) -> io::Result<Vec<u8>> {
    let object = Object::parse(data).map_err(invalid)?;
    if !is_build_of(&object, identity) {
        return Err(invalid(format!(
            "{} is build {}, not {}",
            identity.debug_file,
            object.debug_id().breakpad(),
            identity.debug_id
        )));
    }
    Converter::new(&object).write(identity)
}

/// The identity an object file gives itself: its debug id, filed under `file_name` (the
/// name it was found by), for indexing a file that no module asked for.
pub(super) fn identity_of(data: &[u8], file_name: &str) -> io::Result<SymbolIdentity> {
    let object = Object::parse(data).map_err(invalid)?;
    SymbolIdentity {
        debug_file: file_name.to_string(),
        debug_id: object.debug_id().breakpad().to_string(),
        code_file: None,
        code_id: object.code_id().map(|id| id.as_str().to_string()),
    }
    .checked()
    .ok_or_else(|| invalid("the object names no usable debug id"))
}

/// Whether the object file at `path` is the build `identity` names; for flat directories,
/// where the path carries no id.
pub(super) fn file_is_build_of(path: &Path, identity: &SymbolIdentity) -> bool {
    let Ok(view) = ByteView::open(path) else {
        return false;
    };
    Object::parse(&view).is_ok_and(|object| is_build_of(&object, identity))
}

/// Same debug id, or (for images, filed by code id) the same code id.
fn is_build_of(object: &Object<'_>, identity: &SymbolIdentity) -> bool {
    let debug_id = object.debug_id().breakpad().to_string();
    let same_code_id = match (object.code_id(), &identity.code_id) {
        (Some(found), Some(wanted)) => found.as_str().eq_ignore_ascii_case(wanted),
        _ => false,
    };
    debug_id.eq_ignore_ascii_case(&identity.debug_id) || same_code_id
}

fn invalid(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

struct Converter<'o, 'data> {
    object: &'o Object<'data>,
    /// 32-bit Windows, where C names carry `_`/`@N` decorations.
    decorated: bool,
    files: Interner,
    origins: Interner,
    /// Parameter sizes of the frame-data records, by start address.
    parameter_sizes: HashMap<u64, u32>,
}

impl<'o, 'data> Converter<'o, 'data> {
    fn new(object: &'o Object<'data>) -> Self {
        let windows = matches!(object.file_format(), FileFormat::Pdb | FileFormat::Pe);
        Converter {
            object,
            decorated: windows && object.arch().cpu_family().pointer_size() == Some(4),
            files: Interner::default(),
            origins: Interner::default(),
            parameter_sizes: HashMap::new(),
        }
    }

    fn write(mut self, identity: &SymbolIdentity) -> io::Result<Vec<u8>> {
        let unwind = unwind_records(self.object);
        self.parameter_sizes = stack_win_parameter_sizes(&unwind);
        let publics: BTreeMap<u64, String> = self
            .object
            .symbols()
            .filter_map(|symbol| Some((symbol.address, symbol.name?.into_owned())))
            .collect();

        let mut functions = String::new();
        let mut function_starts = HashSet::new();
        let session = self.object.debug_session().map_err(invalid)?;
        for function in session.functions() {
            let function = function.map_err(invalid)?;
            if function.size == 0 {
                continue;
            }
            function_starts.insert(function.address);
            self.write_function(&mut functions, &function, publics.get(&function.address));
        }

        let mut text = String::new();
        let os = match self.object.file_format() {
            FileFormat::Elf => "Linux",
            FileFormat::MachO => "mac",
            _ => "windows",
        };
        let arch = self.object.arch().name();
        let debug_id = self.object.debug_id().breakpad().to_string();
        let _ = writeln!(
            text,
            "MODULE {os} {arch} {debug_id} {}",
            identity.debug_file
        );
        for (id, name) in self.files.names.iter().enumerate() {
            let _ = writeln!(text, "FILE {id} {name}");
        }
        for (id, name) in self.origins.names.iter().enumerate() {
            let _ = writeln!(text, "INLINE_ORIGIN {id} {name}");
        }
        text.push_str(&functions);
        let mut seen = HashSet::new();
        for (&address, raw) in &publics {
            if function_starts.contains(&address) || !seen.insert(address) {
                continue;
            }
            let (name, decorated_size) = self.public_name(raw);
            let size = self
                .parameter_sizes
                .get(&address)
                .copied()
                .or(decorated_size)
                .unwrap_or(0);
            let _ = writeln!(text, "PUBLIC {address:x} {size:x} {}", one_line(&name));
        }
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(&unwind);
        Ok(bytes)
    }

    /// A `FUNC` record with its `INLINE` records and innermost line records.
    fn write_function(
        &mut self,
        out: &mut String,
        function: &Function<'_>,
        public: Option<&String>,
    ) {
        let (name, decorated_size) = self.function_name(function, public);
        let parameter_size = self
            .parameter_sizes
            .get(&function.address)
            .copied()
            .or(decorated_size)
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "FUNC {:x} {:x} {parameter_size:x} {}",
            function.address,
            function.size,
            one_line(&name)
        );
        for inlinee in &function.inlinees {
            self.write_inlinee(out, function, inlinee, 0);
        }
        let mut lines = InnermostLines::default();
        self.paint_lines(&mut lines, function);
        for (start, (end, file, line)) in lines.ranges {
            let _ = writeln!(out, "{start:x} {:x} {line} {file}", end - start);
        }
    }

    fn write_inlinee(
        &mut self,
        out: &mut String,
        parent: &Function<'_>,
        inlinee: &Function<'_>,
        depth: usize,
    ) {
        if inlinee.size > 0 {
            if let Some(call_site) = line_at(&parent.lines, inlinee.address) {
                let file = self.files.id(&call_site.file.path_str());
                let origin = self.origins.id(&one_line(
                    &inlinee
                        .name
                        .try_demangle(DemangleOptions::name_only().parameters(true)),
                ));
                let _ = writeln!(
                    out,
                    "INLINE {depth} {} {file} {origin} {:x} {:x}",
                    call_site.line, inlinee.address, inlinee.size
                );
            }
        }
        for nested in &inlinee.inlinees {
            self.write_inlinee(out, inlinee, nested, depth + 1);
        }
    }

    /// Paints `function`'s lines, then its inlinees' over them: each address ends up with
    /// the line of the innermost inlined call, as Breakpad line records expect.
    fn paint_lines(&mut self, lines: &mut InnermostLines, function: &Function<'_>) {
        let end = function.end_address();
        for (index, record) in function.lines.iter().enumerate() {
            let next = function
                .lines
                .get(index + 1)
                .map_or(end, |next| next.address);
            let size = record
                .size
                .unwrap_or_else(|| next.saturating_sub(record.address));
            let start = record.address.max(function.address);
            let stop = record.address.saturating_add(size).min(end);
            let file = self.files.id(&record.file.path_str());
            lines.paint(start, stop, file, record.line);
        }
        for inlinee in &function.inlinees {
            self.paint_lines(lines, inlinee);
        }
    }

    /// The FUNC name and, from an x86 `@N` decoration, a parameter size.
    fn function_name(
        &self,
        function: &Function<'_>,
        public: Option<&String>,
    ) -> (String, Option<u32>) {
        if self.object.file_format() != FileFormat::Pdb {
            let name = function
                .name
                .try_demangle(DemangleOptions::name_only().parameters(true));
            return (name.into_owned(), None);
        }
        match public {
            Some(mangled) if mangled.starts_with('?') => self.public_name(mangled),
            Some(decorated) => {
                let (_, size) = self.public_name(decorated);
                (without_parameters(function.name.as_str()).to_string(), size)
            }
            None => (without_parameters(function.name.as_str()).to_string(), None),
        }
    }

    /// A public symbol's readable name and, from an x86 `@N` decoration, its parameter size.
    fn public_name(&self, raw: &str) -> (String, Option<u32>) {
        if raw.starts_with('?') {
            let name = Name::new(raw, NameMangling::Mangled, Language::Cpp);
            return (
                name.try_demangle(DemangleOptions::name_only().parameters(true))
                    .into_owned(),
                None,
            );
        }
        if self.decorated {
            if let Some(undecorated) = undecorate_x86(raw) {
                return undecorated;
            }
        }
        let name = Name::from(raw);
        (
            name.try_demangle(DemangleOptions::name_only().parameters(true))
                .into_owned(),
            None,
        )
    }
}

/// Removes x86 C decorations: `_name` (cdecl), `_name@N` (stdcall), `@name@N` (fastcall).
fn undecorate_x86(raw: &str) -> Option<(String, Option<u32>)> {
    let rest = raw.strip_prefix('_').or_else(|| raw.strip_prefix('@'))?;
    if let Some((name, size)) = rest.rsplit_once('@') {
        if let Ok(size) = size.parse::<u32>() {
            return Some((name.to_string(), Some(size)));
        }
    }
    raw.starts_with('_').then(|| (rest.to_string(), None))
}

/// `name(args) const` → `name`: DIA names C and static functions without parameters.
fn without_parameters(name: &str) -> &str {
    let trimmed = name.trim_end();
    let body = [" const", " volatile"]
        .iter()
        .fold(trimmed, |body, qualifier| {
            body.strip_suffix(qualifier).unwrap_or(body)
        });
    if !body.ends_with(')') {
        return name;
    }
    let mut depth = 0usize;
    for (index, c) in body.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return if index == 0 { name } else { &body[..index] };
                }
            }
            _ => {}
        }
    }
    name
}

/// The record of `lines` covering `address`, else the last one before it.
fn line_at<'a, 'd>(lines: &'a [LineInfo<'d>], address: u64) -> Option<&'a LineInfo<'d>> {
    let covering = lines.iter().find(|line| {
        line.address <= address
            && line
                .size
                .is_some_and(|size| address < line.address.saturating_add(size))
    });
    covering.or_else(|| {
        lines
            .iter()
            .filter(|line| line.address <= address)
            .max_by_key(|line| line.address)
    })
}

/// STACK WIN / STACK CFI text; empty when the unwind data cannot be read.
fn unwind_records(object: &Object<'_>) -> Vec<u8> {
    let mut writer =
        AsciiCfiWriter::new(Vec::new()).max_unwind_chain_len(Some(MAX_UNWIND_CHAIN_LEN));
    match writer.process(object) {
        Ok(()) => writer.into_inner(),
        Err(error) => {
            tracing::warn!("unwind information left out: {error}");
            Vec::new()
        }
    }
}

/// `STACK WIN type rva code_size prolog epilog params ...` → parameter size by rva.
fn stack_win_parameter_sizes(unwind: &[u8]) -> HashMap<u64, u32> {
    let mut sizes = HashMap::new();
    for line in String::from_utf8_lossy(unwind).lines() {
        let fields: Vec<&str> = line.split_whitespace().take(8).collect();
        if let ["STACK", "WIN", _, rva, _, _, _, params] = fields[..] {
            if let (Ok(rva), Ok(params)) = (
                u64::from_str_radix(rva, 16),
                u32::from_str_radix(params, 16),
            ) {
                sizes.entry(rva).or_insert(params);
            }
        }
    }
    sizes
}

/// A name or path as one record field: control characters would break the line format.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Numbers FILE and INLINE_ORIGIN names in order of first use.
#[derive(Default)]
struct Interner {
    names: Vec<String>,
    ids: HashMap<String, usize>,
}

impl Interner {
    fn id(&mut self, name: &str) -> usize {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len();
        self.names.push(one_line(name));
        self.ids.insert(name.to_string(), id);
        id
    }
}

/// Non-overlapping line ranges where a later paint wins: start → (end, file, line).
#[derive(Default)]
struct InnermostLines {
    ranges: BTreeMap<u64, (u64, usize, u64)>,
}

impl InnermostLines {
    fn paint(&mut self, start: u64, end: u64, file: usize, line: u64) {
        if start >= end {
            return;
        }
        let overlapping: Vec<u64> = self
            .ranges
            .range(..end)
            .rev()
            .take_while(|(_, (old_end, ..))| *old_end > start)
            .map(|(&old_start, _)| old_start)
            .collect();
        for old_start in overlapping {
            let Some((old_end, old_file, old_line)) = self.ranges.remove(&old_start) else {
                continue;
            };
            if old_start < start {
                self.ranges.insert(old_start, (start, old_file, old_line));
            }
            if old_end > end {
                self.ranges.insert(end, (old_end, old_file, old_line));
            }
        }
        self.ranges.insert(start, (end, file, line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_paints_split_earlier_lines() {
        let mut lines = InnermostLines::default();
        lines.paint(0x10, 0x40, 0, 1);
        lines.paint(0x20, 0x28, 1, 2);
        let ranges: Vec<_> = lines.ranges.into_iter().collect();
        assert_eq!(
            ranges,
            [
                (0x10, (0x20, 0, 1)),
                (0x20, (0x28, 1, 2)),
                (0x28, (0x40, 0, 1))
            ]
        );
    }

    #[test]
    fn x86_decorations_are_removed() {
        assert_eq!(
            undecorate_x86("_CxxThrowException@8"),
            Some(("CxxThrowException".into(), Some(8)))
        );
        assert_eq!(
            undecorate_x86("@__security_check_cookie@4"),
            Some(("__security_check_cookie".into(), Some(4)))
        );
        assert_eq!(
            undecorate_x86("___CxxFrameHandler3"),
            Some(("__CxxFrameHandler3".into(), None))
        );
        assert_eq!(undecorate_x86("memset"), None);
    }

    #[test]
    fn parameters_are_cut_at_the_last_balanced_group() {
        assert_eq!(without_parameters("main(int, char**)"), "main");
        assert_eq!(
            without_parameters("a::operator()(int) const"),
            "a::operator()"
        );
        assert_eq!(
            without_parameters("f<void (*)(int)>(int)"),
            "f<void (*)(int)>"
        );
        assert_eq!(without_parameters("plain"), "plain");
    }

    /// ELF with DWARF, built here when a C compiler is at hand (no ELF is in the corpus).
    #[test]
    fn an_elf_debug_file_gives_functions_lines_and_cfi() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("tiny.c");
        std::fs::write(
            &source,
            "int add_one(int x) { return x + 1; }\nint main(void) { return add_one(1); }\n",
        )
        .unwrap();
        let binary = dir.path().join("tiny");
        let built = std::process::Command::new("cc")
            .args(["-g", "-O0", "-o"])
            .arg(&binary)
            .arg(&source)
            .status();
        if !built.is_ok_and(|status| status.success()) {
            eprintln!("SKIPPED: no C compiler to build an ELF file");
            return;
        }
        let data = std::fs::read(&binary).unwrap();
        let debug_id = Object::parse(&data)
            .unwrap()
            .debug_id()
            .breakpad()
            .to_string();
        let identity = SymbolIdentity {
            debug_file: "tiny".into(),
            debug_id,
            code_file: None,
            code_id: None,
        };
        let text = String::from_utf8(to_breakpad(&data, &identity).unwrap()).unwrap();
        assert!(text.starts_with("MODULE Linux "), "{text}");
        let function = text
            .lines()
            .find(|line| line.starts_with("FUNC ") && line.ends_with(" add_one"));
        assert!(function.is_some(), "{text}");
        assert!(
            text.lines().any(|line| line.ends_with(" 1 0")),
            "no line 1: {text}"
        );
        assert!(text.contains("STACK CFI INIT "), "{text}");

        let other_build = SymbolIdentity {
            debug_id: "0".repeat(33),
            ..identity
        };
        assert!(to_breakpad(&data, &other_build).is_err());
    }

    #[test]
    fn stack_win_records_give_parameter_sizes() {
        let text = b"STACK WIN 4 2910 15e 6 0 8 0 4 0 1 $T0 .raSearch =\nSTACK CFI INIT 10 4\n";
        assert_eq!(stack_win_parameter_sizes(text).get(&0x2910), Some(&8));
    }
}
