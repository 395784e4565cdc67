//! Loading workflow definitions: one file's text parsed and validated, the built-in files, or a
//! folder of them, every problem of every file reported with its file name instead of stopping
//! at the first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::definition::{Definition, DefinitionFile, Definitions, Problem};
use super::validate::validate;

/// Parses and validates one workflow file's text.
pub fn parse(file: &Path, text: &str) -> Result<Definition, Vec<Problem>> {
    let problem = |message: String| Problem {
        file: file.to_path_buf(),
        message,
    };
    let spec: DefinitionFile = toml::from_str(text).map_err(|e| vec![problem(one_line(&e))])?;
    validate(spec).map_err(|messages| messages.into_iter().map(problem).collect())
}

/// The workflow files shipped with plusflow (every `workflows/*.toml`), built into the binary:
/// an installed binary runs anywhere, and a configured folder overrides them. A new kind's file
/// is picked up without being listed (a test holds these to the folder).
#[derive(rust_embed::Embed)]
#[folder = "workflows/"]
struct BuiltIn;

/// The shipped definitions (see [`BuiltIn`]), validated like a folder's.
pub fn load_built_in() -> Result<Definitions, Vec<Problem>> {
    let mut names: Vec<_> = BuiltIn::iter().filter(|name| name.ends_with(".toml")).collect();
    names.sort();
    let files = names
        .into_iter()
        .map(|name| {
            let text = BuiltIn::get(&name)
                .ok_or_else(|| "listed but not embedded".to_string())
                .and_then(|file| {
                    String::from_utf8(file.data.into_owned()).map_err(|e| format!("not UTF-8: {e}"))
                });
            (Path::new("built-in").join(name.as_ref()), text)
        })
        .collect();
    load_files(files)
}

/// The definitions of `dir`, or the built-in ones when `dir` is empty.
pub fn load(dir: &Path) -> Result<Definitions, Vec<Problem>> {
    if dir.as_os_str().is_empty() {
        load_built_in()
    } else {
        load_dir(dir)
    }
}

/// Loads every `*.toml` of a folder; all problems of all files, or all definitions.
pub fn load_dir(dir: &Path) -> Result<Definitions, Vec<Problem>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![Problem {
            file: dir.to_path_buf(),
            message: format!("cannot read the workflow folder: {e}"),
        }]
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(vec![Problem {
            file: dir.to_path_buf(),
            message: "no workflow files (*.toml)".into(),
        }]);
    }
    let files = files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read: {e}"));
            (file, text)
        })
        .collect();
    load_files(files)
}

/// Parses and validates each file's text (or reports why it could not be read); all problems
/// of all files, or all definitions.
fn load_files(files: Vec<(PathBuf, Result<String, String>)>) -> Result<Definitions, Vec<Problem>> {
    let mut definitions = Definitions::default();
    let mut problems = Vec::new();
    let mut seen: HashMap<(String, u32), PathBuf> = HashMap::new();
    for (file, text) in files {
        let text = match text {
            Ok(text) => text,
            Err(message) => {
                problems.push(Problem { file, message });
                continue;
            }
        };
        match parse(&file, &text) {
            Ok(definition) => {
                let key = (definition.kind.clone(), definition.version);
                if let Some(other) = seen.insert(key, file.clone()) {
                    problems.push(Problem {
                        file,
                        message: format!(
                            "kind '{}' version {} is also defined in {}",
                            definition.kind,
                            definition.version,
                            other.display()
                        ),
                    });
                } else {
                    definitions.insert(definition);
                }
            }
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(definitions)
    } else {
        Err(problems)
    }
}

/// toml's errors span several lines with a source excerpt; keep the message on one line.
fn one_line(error: &toml::de::Error) -> String {
    let mut message = error.message().to_string();
    if let Some(span) = error.span() {
        message = format!("at byte {}..{}: {message}", span.start, span.end);
    }
    let rendered = error.to_string();
    match rendered.lines().next() {
        Some(first) if first.contains("line") => {
            format!("{} {}", first.trim_end_matches(':'), error.message())
        }
        _ => message,
    }
}
