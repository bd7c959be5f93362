//! The committed JSON Schema must be exactly what the report types generate.

#[test]
fn committed_schema_matches_the_report_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/report.schema.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        committed == triage::model::report_schema(),
        "schema/report.schema.json is stale: run `cargo run --bin triage -- schema > schema/report.schema.json`"
    );
}
