//! Compiles the project's own source files into the binary, so that the
//! rules' code identity is a hash of all of them (see `src/engine/rule.rs`):
//! whatever a rule's output depends on in verso's source reaches its key,
//! with no list to keep.

use std::fmt::Write;
use std::path::Path;

fn collect(dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("source folder")
        .map(|e| e.expect("source entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=src");
    let mut files = Vec::new();
    collect(Path::new("src"), &mut files);
    let mut code = String::from(
        "/// Every source file: (path, text).\npub const SOURCES: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        writeln!(
            code,
            "    ({file:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{file}\"))),"
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(Path::new(&out).join("sources.rs"), code).expect("sources.rs");
}
