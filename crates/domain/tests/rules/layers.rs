//! The domain crate's layering (issue 15, "make room"): the shared pieces, then one folder per
//! step in the order an application meets them, each importing only the layers before it, so
//! no two steps import each other. Read from the sources: a `crate::<layer>` path outside a
//! comment is an import of that layer.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The layers in order, as `lib.rs` declares them: each may use only those before it.
const LAYERS: [&str; 10] = [
    "shared",
    "intake",
    "review",
    "people",
    "audit",
    "decision",
    "certificate",
    "cycle",
    "webhooks",
    "record",
];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            sources(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The layer a source file belongs to: its folder, or its file name at the top.
fn layer_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// Every `crate::<name>` used in `text` outside comments.
fn imported_layers(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
            rest = after;
        }
    }
    found
}

#[test]
fn layers_import_only_the_layers_before_them() -> Result<(), Box<dyn std::error::Error>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files)?;
    let rank: BTreeMap<&str, usize> = LAYERS.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let mut breaks = Vec::new();
    for file in &files {
        let Some(layer) = layer_of(&src, file) else {
            continue;
        };
        if layer == "lib" {
            continue;
        }
        let Some(&own) = rank.get(layer.as_str()) else {
            breaks.push(format!("{}: not in a declared layer", file.display()));
            continue;
        };
        for used in imported_layers(&fs::read_to_string(file)?) {
            // Root re-exports (`crate::Application`, ...) and the shared modules the root
            // re-exports are the shared layer's or intake's vocabulary.
            let used_rank = match rank.get(used.as_str()) {
                Some(&r) => r,
                None => continue,
            };
            if used_rank > own {
                breaks.push(format!(
                    "{} ({layer}) imports crate::{used}, a later layer",
                    file.display()
                ));
            }
        }
    }
    assert!(breaks.is_empty(), "{}", breaks.join("\n"));
    Ok(())
}
