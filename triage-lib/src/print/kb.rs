//! WinDbg `~*kb` layout: x86 `ChildEBP RetAddr Args to Child`, x64 `Child-SP RetAddr Call Site`.

use std::fmt::Write;

use super::{frame_symbol, ModuleStyle};
use crate::model::{Addr, Frame, Report, Thread, Trust};

/// Every thread the way WinDbg's `~*kb` prints it. Values the dump did not save print as
/// zeros, as WinDbg does for argument slots it cannot read.
pub fn kb(report: &Report) -> String {
    let wide = report.system.as_ref().is_some_and(|s| s.cpu != "x86");
    let mut out = String::new();
    for (ordinal, thread) in report.threads.iter().enumerate() {
        if ordinal > 0 {
            out.push('\n');
        }
        let marker = if thread.crashed { '#' } else { ' ' };
        let pid = report.process_id.unwrap_or(0);
        let _ = writeln!(
            out,
            "{marker}{ordinal:3}  Id: {pid:x}.{:x}",
            thread.thread_id
        );
        if wide {
            write_x64(&mut out, thread);
        } else {
            write_x86(&mut out, thread);
        }
    }
    out
}

fn write_x86(out: &mut String, thread: &Thread) {
    out.push_str("ChildEBP RetAddr  Args to Child              \n");
    for frame in &thread.frames {
        let symbol = frame_symbol(frame, ModuleStyle::WinDbg);
        if frame.trust == Trust::Inline {
            let _ = writeln!(out, "(Inline) -------- -------- -------- -------- {symbol}");
            continue;
        }
        let args: Vec<String> = (0..3)
            .map(|i| {
                let word = frame
                    .args
                    .as_ref()
                    .and_then(|args| args.get(i).copied().flatten());
                format!("{:08x}", or_zero(word))
            })
            .collect();
        let _ = writeln!(
            out,
            "{:08x} {:08x} {} {symbol}",
            or_zero(frame.frame_base),
            return_address(thread, frame),
            args.join(" ")
        );
    }
}

fn write_x64(out: &mut String, thread: &Thread) {
    out.push_str("Child-SP          RetAddr           Call Site\n");
    for frame in &thread.frames {
        let symbol = frame_symbol(frame, ModuleStyle::WinDbg);
        if frame.trust == Trust::Inline {
            let _ = writeln!(out, "(Inline Function) --------`-------- {symbol}");
            continue;
        }
        let _ = writeln!(
            out,
            "{} {} {symbol}",
            backtick(or_zero(frame.frame_base)),
            backtick(return_address(thread, frame))
        );
    }
}

/// The caller's address, i.e. where this frame returns to; zero for the outermost frame.
fn return_address(thread: &Thread, frame: &Frame) -> u64 {
    thread.frames[frame.index + 1..]
        .iter()
        .find(|caller| caller.trust != Trust::Inline)
        .map_or(0, |caller| or_zero(caller.address))
}

fn backtick(value: u64) -> String {
    format!("{:08x}`{:08x}", value >> 32, value & 0xffff_ffff)
}

/// WinDbg prints a value it does not know as zeros.
fn or_zero(value: Option<Addr>) -> u64 {
    value.map_or(0, |value| value.0)
}
