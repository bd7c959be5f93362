//! The KB importer on arbitrary text; an imported rule must survive a TOML round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(rule) = triage::rules::import_kb(text) {
        let toml = triage::rules::to_toml(&rule);
        triage::rules::parse_rules(&toml, std::path::Path::new("imported.toml"))
            .expect("an imported rule reads back");
    }
});
