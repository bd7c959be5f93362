//! Every crash gets a class, a stable signature, a bucket id and a frame to blame, whether
//! or not a known-issue rule matched, so that a scan of many dumps can group them and
//! recognize a new issue the second time it shows up.
//!
//! [`Classifier::classify`] is the entry point. What counts as noise, as a prefix, as a
//! sentinel or as allocator code is data (the `lists` module), not code: built-in TOML files that
//! users extend with [`Classifier::load`].

mod class;
mod function_name;
mod lists;
mod signature;

use std::path::Path;

pub use lists::ListError;

use crate::model::{Blame, CrashClass, Frame, Report};
use lists::Lists;

/// Classifies reports with frame lists: [`Classifier::builtin`] starts from the built-in
/// lists, `Classifier::default()` from none, for users who want only their own.
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    lists: Lists,
}

/// What [`Classifier::classify`] found; the same values land in the report's `class`,
/// `signature`, `bucket` and `blame`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// Kind of crash.
    pub class: CrashClass,
    /// `frame | frame | ...` from the blamed frame on; `None` without frames.
    pub signature: Option<String>,
    /// `<CLASS>_<code>_<module>!<function>` of the blamed frame; `None` without frames.
    pub bucket: Option<String>,
    /// The frame the signature starts at, with advice where that frame is only a victim.
    pub blame: Option<Blame>,
}

impl Classifier {
    /// The built-in lists (`triage-lib/classify/*.toml`).
    pub fn builtin() -> Self {
        Classifier {
            lists: Lists::builtin(),
        }
    }

    /// Adds the entries of a list file, or of every `.toml` file in a directory. A file
    /// with errors adds nothing; all problems are reported with their lines.
    pub fn load(&mut self, path: &Path) -> Result<(), ListError> {
        self.lists.load(path)
    }

    /// Classifies the crashing thread, or the first thread when none is marked crashed
    /// (text stacks).
    pub fn classify(&self, report: &Report) -> Classification {
        let thread = report.crashing_thread().or_else(|| report.threads.first());
        let frames = thread.map_or(&[][..], |thread| thread.frames.as_slice());
        let innermost = frames.iter().find(|frame| !self.lists.skip.matches(frame));
        let faulted_in_heap = innermost.is_some_and(|frame| self.lists.allocator.matches(frame));
        let class = class::crash_class(report.crash.as_ref(), faulted_in_heap);
        let Some((position, blamed)) = self.blamed_frame(frames, class) else {
            return Classification {
                class,
                signature: None,
                bucket: None,
                blame: None,
            };
        };
        let code = report.crash.as_ref().map(|crash| crash.code.0);
        Classification {
            class,
            signature: Some(signature::signature(frames, position, &self.lists)),
            bucket: Some(signature::bucket(class, code, blamed)),
            blame: Some(Blame {
                thread_id: thread.map_or(0, |thread| thread.thread_id),
                frame: blamed.index,
                module: blamed.module.clone(),
                function: blamed.function.clone(),
                note: (class == CrashClass::HeapCorruption).then(|| page_heap_note(report)),
            }),
        }
    }

    /// The frame to blame and its position: the first frame that is not skipped, from the
    /// first sentinel on (else from the top); for heap corruption, past the allocator stack.
    fn blamed_frame<'f>(
        &self,
        frames: &'f [Frame],
        class: CrashClass,
    ) -> Option<(usize, &'f Frame)> {
        let start = frames
            .iter()
            .position(|frame| self.lists.sentinel.matches(frame))
            .unwrap_or(0);
        let mut relevant = frames
            .iter()
            .enumerate()
            .skip(start)
            .filter(|(_, frame)| !self.lists.skip.matches(frame));
        if class == CrashClass::HeapCorruption {
            // The victim: the code that asked the damaged heap for memory.
            let victim = relevant
                .clone()
                .find(|(_, frame)| !self.lists.allocator.matches(frame));
            if victim.is_some() {
                return victim;
            }
        }
        relevant.next()
    }
}

/// Why the blamed frame of a heap corruption is only the victim, and how to catch the
/// real culprit: full page heap makes the corrupting write fault where it happens.
fn page_heap_note(report: &Report) -> String {
    let exe = report
        .modules
        .iter()
        .map(|module| module.name.as_str())
        .find(|name| name.to_ascii_lowercase().ends_with(".exe"))
        .unwrap_or("<exe>");
    format!(
        "this frame is the victim: other code corrupted the heap earlier. Enable full page \
         heap (gflags /p /enable {exe} /full) and reproduce to catch the corrupting write"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Addr, Crash, ExceptionCode, Module, SymbolState, Thread};

    /// The crashing stack of Microsoft KB Q269588, innermost first.
    const Q269588: &[(&str, &str)] = &[
        ("ntdll.dll", "RtlpFindAndCommitPages"),
        ("ntdll.dll", "RtlpExtendHeap"),
        ("ntdll.dll", "RtlAllocateHeap"),
        ("EXCHMEM.DLL", "MpHeapAlloc"),
        ("EXCHMEM.DLL", "ExchMHeapAlloc"),
        ("MAPI32.dll", "LH_IntHeapAlloc"),
        ("MAPI32.dll", "LH_ExtHeapAlloc"),
        ("MAPI32.dll", "MAPIAllocateBufferExt"),
        ("MAPI32.dll", "MAPIAllocateBuffer"),
        ("emsmta.exe", "HrStrAToStrW"),
        ("emsmta.exe", "HrTrackWriteLogA"),
    ];

    fn thread(id: u32, crashed: bool, stack: &[(&str, &str)]) -> Thread {
        let frames = stack
            .iter()
            .enumerate()
            .map(|(index, (module, function))| Frame {
                index,
                address: Some(Addr(0x7700_0000 + 0x100 * index as u64)),
                module: Some(module.to_string()),
                function: Some(function.to_string()),
                module_offset: Some(Addr(0x100 * index as u64)),
                frame_base: Some(Addr(0x0514_ef90 + 0x20 * index as u64)),
                ..Frame::default()
            })
            .collect();
        Thread {
            thread_id: id,
            crashed,
            frames,
            ..Thread::default()
        }
    }

    fn module(name: &str, base: u64) -> Module {
        Module {
            name: name.to_string(),
            path: format!("C:\\WINNT\\system32\\{name}"),
            base: Addr(base),
            size: 0x1000,
            version: None,
            debug_file: None,
            debug_id: None,
            code_id: None,
            symbols: SymbolState::Loaded,
        }
    }

    fn av_report(stack: &[(&str, &str)], access: &str, address: u64) -> Report {
        Report {
            crash: Some(Crash {
                thread_id: 1240,
                code: ExceptionCode(0xc000_0005),
                reason: format!("EXCEPTION_ACCESS_VIOLATION_{access}"),
                address: Addr(address),
            }),
            modules: vec![
                module("ntdll.dll", 0x77f6_0000),
                module("emsmta.exe", 0x40_0000),
            ],
            threads: vec![
                thread(1092, false, &[("ntdll.dll", "ZwWaitForMultipleObjects")]),
                thread(1240, true, stack),
            ],
            ..Report::default()
        }
    }

    #[test]
    fn a_heap_corruption_victim_is_blamed_past_the_allocator_stack() {
        let report = av_report(Q269588, "READ", 0x4053_0000);
        let found = Classifier::builtin().classify(&report);
        assert_eq!(found.class, CrashClass::HeapCorruption);
        assert_eq!(found.signature.as_deref(), Some("HrStrAToStrW"));
        assert_eq!(
            found.bucket.as_deref(),
            Some("HEAP_CORRUPTION_c0000005_emsmta.exe!HrStrAToStrW")
        );
        let blame = found.blame.unwrap();
        assert_eq!((blame.thread_id, blame.frame), (1240, 9));
        assert_eq!(blame.module.as_deref(), Some("emsmta.exe"));
        assert!(blame
            .note
            .unwrap()
            .contains("gflags /p /enable emsmta.exe /full"));
    }

    #[test]
    fn heap_corruption_beats_a_null_dereference_which_beats_read_and_write() {
        let classifier = Classifier::builtin();
        let in_heap = av_report(Q269588, "WRITE", 0x8);
        assert_eq!(
            classifier.classify(&in_heap).class,
            CrashClass::HeapCorruption
        );
        let plain = &[("emsmta.exe", "HrLoadRoutingEntry"), ("emsmta.exe", "Main")];
        for access in ["READ", "WRITE"] {
            let near_null = classifier.classify(&av_report(plain, access, 0x8));
            assert_eq!(near_null.class, CrashClass::NullDereference, "{access}");
            assert_eq!(near_null.blame.unwrap().note, None);
        }
        let far = classifier.classify(&av_report(plain, "WRITE", 0x4e3c9));
        assert_eq!(far.class, CrashClass::WriteAccessViolation);
        assert_eq!(far.signature.as_deref(), Some("HrLoadRoutingEntry"));
    }

    #[test]
    fn the_page_heap_note_names_a_placeholder_without_an_exe() {
        let mut report = av_report(Q269588, "READ", 0x4053_0000);
        report.modules.retain(|m| !m.name.ends_with(".exe"));
        let note = Classifier::builtin().classify(&report).blame.unwrap().note;
        assert!(note.unwrap().contains("gflags /p /enable <exe> /full"));
    }

    #[test]
    fn a_sentinel_starts_the_signature_and_leads_on_to_its_caller() {
        let stack = &[
            ("ntdll.dll", "ZwWaitForSingleObject"),
            ("app.exe", "ReportCrash"),
            ("msvcr90.dll", "_purecall"),
            ("app.exe", "Widget::Draw(int)"),
            ("app.exe", "main"),
        ];
        let found = Classifier::builtin().classify(&av_report(stack, "READ", 0x4242_4242));
        assert_eq!(found.signature.as_deref(), Some("_purecall | Widget::Draw"));
        assert_eq!(found.blame.unwrap().frame, 2);
    }

    #[test]
    fn text_stacks_without_a_crash_use_the_first_thread() {
        let mut report = av_report(Q269588, "READ", 0);
        report.crash = None;
        report.threads.iter_mut().for_each(|t| t.crashed = false);
        report.threads.reverse();
        let found = Classifier::builtin().classify(&report);
        assert_eq!(found.class, CrashClass::HeapCorruption);
        assert_eq!(
            found.bucket.as_deref(),
            Some("HEAP_CORRUPTION_emsmta.exe!HrStrAToStrW")
        );
    }

    #[test]
    fn no_frames_still_give_a_class() {
        let mut report = av_report(&[], "READ", 0);
        report.threads.clear();
        let found = Classifier::builtin().classify(&report);
        assert_eq!(found.class, CrashClass::NullDereference);
        assert_eq!(
            (found.signature, found.bucket, found.blame),
            (None, None, None)
        );
    }

    /// The same crash in another process: every absolute address, module base, frame base
    /// and thread id moved, module offsets and names unchanged.
    fn relocated(report: &Report) -> Report {
        let shift = |address: Addr| Addr(address.0 + 0x0123_0000);
        let mut moved = report.clone();
        for module in &mut moved.modules {
            module.base = shift(module.base);
        }
        for thread in &mut moved.threads {
            thread.thread_id += 4000;
            for frame in &mut thread.frames {
                frame.address = frame.address.map(shift);
                frame.frame_base = frame.frame_base.map(shift);
            }
        }
        if let Some(crash) = &mut moved.crash {
            crash.thread_id += 4000;
            crash.address = shift(crash.address);
        }
        moved
    }

    #[test]
    fn signatures_survive_new_addresses_bases_and_thread_ids() {
        let mut report = av_report(Q269588, "READ", 0x4053_0000);
        // Unsymbolized callers, as when symbols are missing for the exe.
        for frame in &mut report.threads[1].frames[9..] {
            frame.function = None;
        }
        let moved = relocated(&report);
        assert_ne!(
            moved.threads[1].frames[9].address,
            report.threads[1].frames[9].address
        );
        let classifier = Classifier::builtin();
        let (before, after) = (classifier.classify(&report), classifier.classify(&moved));
        assert_eq!(before.signature.as_deref(), Some("emsmta.exe@0x900"));
        assert_eq!(after.signature, before.signature);
        assert_eq!(after.bucket, before.bucket);
        assert_eq!(after.class, before.class);
    }
}
