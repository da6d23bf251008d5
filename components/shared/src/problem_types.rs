//! The problem-type catalog: every RFC 9457 `type` a certflow component can answer with, and
//! its title in English (`en`) and Chinese (`zh`), kept as data in `i18n/problems.json`:
//! `{"https://certflow.dev/problems/<slug>": {"en": "<title>", "zh": "<标题>"}, ...}`.
//!
//! The pages localize problem documents from it and the OpenAPI document (`GET /openapi.json`)
//! lists its types. A unit test scans the sources of `components/` and `crates/` for
//! `Problem::new(<status>, "<slug>", ...)` and fails when a type used there is missing from
//! the catalog, or when the catalog lists one no source uses.

/// The catalog as JSON text (an object keyed by the full problem `type` URI; each value has
/// the string members `en` and `zh`).
pub const CATALOG_JSON: &str = include_str!("../i18n/problems.json");

/// The prefix every problem `type` starts with; the slug follows it.
pub const TYPE_PREFIX: &str = "https://certflow.dev/problems/";

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    const CONSTRUCTOR: &str = "Problem::new(";

    type Catalog = BTreeMap<String, BTreeMap<String, String>>;

    fn catalog() -> Result<Catalog, String> {
        serde_json::from_str(CATALOG_JSON).map_err(|e| format!("i18n/problems.json: {e}"))
    }

    /// Every `.rs` file under `dir`, skipping build output (`target`) and hidden directories.
    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    rust_files(&path, found)?;
                }
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
        Ok(())
    }

    /// The slug of each `Problem::new(<status>, "<slug>", ...)` in `source`: the string literal
    /// after the status (whitespace and line breaks allowed). A second argument that is not a
    /// literal is an error: the catalog could not be checked against it.
    fn slugs_in(source: &str, file: &Path) -> Result<Vec<String>, String> {
        let mut slugs = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find(CONSTRUCTOR) {
            rest = &rest[at + CONSTRUCTOR.len()..];
            let args = rest.trim_start();
            let status_len = args.chars().take_while(|c| c.is_ascii_digit()).count();
            if status_len == 0 {
                return Err(format!(
                    "{}: `{CONSTRUCTOR}` without a literal status: {:?}",
                    file.display(),
                    args.chars().take(40).collect::<String>()
                ));
            }
            let after_status = args[status_len..].trim_start();
            let literal = after_status
                .strip_prefix(',')
                .map(str::trim_start)
                .and_then(|s| s.strip_prefix('"'))
                .and_then(|s| s.split_once('"'))
                .map(|(slug, _)| slug);
            match literal {
                Some(slug) if !slug.is_empty() => slugs.push(slug.to_string()),
                _ => {
                    return Err(format!(
                        "{}: `{CONSTRUCTOR}` whose type is not a string literal: {:?}",
                        file.display(),
                        args.chars().take(60).collect::<String>()
                    ));
                }
            }
        }
        Ok(slugs)
    }

    /// The slug of each row `=> (<status>, "<slug>", "<title>")` of the local host's own
    /// problem table (`crates/spin-host/src/problem.rs`, `HostProblem::parts`): the replies
    /// the host makes itself share this catalog, so clients branch on one set of types.
    fn host_slugs_in(source: &str) -> Vec<String> {
        source
            .split("=> (")
            .skip(1)
            .filter_map(|row| {
                let (status, rest) = row.split_once(',')?;
                status.trim().parse::<u16>().ok()?;
                let (slug, _) = rest.trim_start().strip_prefix('"')?.split_once('"')?;
                Some(slug.to_string())
            })
            .collect()
    }

    /// The problem types the sources of `components/` and `crates/` construct.
    fn used_types() -> Result<BTreeSet<String>, String> {
        let components = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("the shared crate has no parent directory")?;
        let root = components.parent().ok_or("components/ has no parent")?;
        let mut files = Vec::new();
        rust_files(components, &mut files)?;
        rust_files(&root.join("crates"), &mut files)?;
        let this_file = Path::new(file!())
            .file_name()
            .ok_or("this file has no name")?;
        let mut used = BTreeSet::new();
        for file in files {
            // This file names the constructor in its own text.
            if file.file_name() == Some(this_file) && file.starts_with(components) {
                continue;
            }
            let source =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            for slug in slugs_in(&source, &file)? {
                used.insert(format!("{TYPE_PREFIX}{slug}"));
            }
            if file.ends_with("crates/spin-host/src/problem.rs") {
                for slug in host_slugs_in(&source) {
                    used.insert(format!("{TYPE_PREFIX}{slug}"));
                }
            }
        }
        Ok(used)
    }

    #[test]
    fn rfc9457_every_problem_type_used_in_the_sources_is_in_the_catalog() -> Result<(), String> {
        let used = used_types()?;
        if used.len() < 20 {
            return Err(format!(
                "the scan found only {} problem types; is it reading the sources? {used:?}",
                used.len()
            ));
        }
        let catalog = catalog()?;
        let listed: BTreeSet<String> = catalog.keys().cloned().collect();
        let missing: Vec<&String> = used.difference(&listed).collect();
        let unused: Vec<&String> = listed.difference(&used).collect();
        if !missing.is_empty() || !unused.is_empty() {
            return Err(format!(
                "components/shared/i18n/problems.json: missing {missing:?}; listed but never used {unused:?}"
            ));
        }
        Ok(())
    }

    #[test]
    fn rfc9457_every_catalog_entry_has_an_english_and_a_chinese_title() -> Result<(), String> {
        for (kind, titles) in catalog()? {
            if !kind.starts_with(TYPE_PREFIX) {
                return Err(format!("{kind}: not under {TYPE_PREFIX}"));
            }
            let mut languages: Vec<&str> = titles.keys().map(String::as_str).collect();
            languages.sort_unstable();
            if languages != ["en", "zh"] {
                return Err(format!("{kind}: languages {languages:?}, want en and zh"));
            }
            if titles.values().any(|t| t.trim().is_empty()) {
                return Err(format!("{kind}: an empty title"));
            }
        }
        Ok(())
    }

    #[test]
    fn the_scan_reads_calls_across_lines_and_refuses_non_literal_types() -> Result<(), String> {
        let file = Path::new("example.rs");
        let found = slugs_in(
            "Problem::new(\n    409,\n    \"invalid-transition\",\n    \"t\")\nProblem::new(404, \"not-found\", \"Not found\")",
            file,
        )?;
        if found != ["invalid-transition", "not-found"] {
            return Err(format!("found {found:?}"));
        }
        if slugs_in("Problem::new(404, kind, \"t\")", file).is_ok() {
            return Err("a non-literal type passed the scan".into());
        }
        Ok(())
    }
}
