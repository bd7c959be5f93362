//! The rule-file parser and checker on arbitrary text; accepted rules are also matched.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(rules) = triage::rules::parse_rules(text, std::path::Path::new("fuzz.toml")) {
        for rule in &rules {
            let _ = triage::rules::to_toml(&rule.rule);
        }
    }
});
