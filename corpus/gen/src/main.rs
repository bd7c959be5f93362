//! `triage-corpus OUT_DIR` writes the whole corpus; `triage-corpus --example DIR` writes only
//! the main case, i.e. refreshes `corpus/examples/`.

use anyhow::bail;
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cases = match args.as_slice() {
        [flag, dir] if flag == "--example" => {
            vec![triage_corpus::generate_example(Path::new(dir))?]
        }
        [dir] if !dir.starts_with('-') => triage_corpus::generate(Path::new(dir))?,
        _ => bail!("usage: triage-corpus OUT_DIR | triage-corpus --example DIR"),
    };
    for case in cases {
        println!("{:<32} {}", case.file_name, case.description);
    }
    Ok(())
}
