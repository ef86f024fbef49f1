//! JSON Schemas of what safeexec writes for programs to read, derived from
//! the Rust types that write it (schemars), so that they cannot drift:
//! the JSON report ([`crate::report::JsonReport`],
//! `docs/report.schema.json`) and trace records
//! ([`crate::trace::Record`], `docs/trace.schema.json`). A test keeps the
//! committed files equal to these.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;

fn generate<T: JsonSchema>() -> String {
    // for_serialize: the schema of what safeexec writes (an Option written
    // as null is a required field that may be null).
    let gen = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let schema = gen.into_root_schema_for::<T>();
    // A schema is plain data with string keys: serialising cannot fail.
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

/// The JSON Schema (draft 2020-12) of `--report json`.
pub fn report() -> String {
    generate::<crate::report::JsonReport<'static>>()
}

/// The JSON Schema (draft 2020-12) of one line of a `--trace` file.
pub fn trace() -> String {
    generate::<crate::trace::Record>()
}
