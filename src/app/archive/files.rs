//! The archive on disk: under `archive.dir`, one folder per day archived (`YYYY-MM-DD`) holding
//! parts (`part-NNNNNNNN.jsonl.gz`: one archived object a line, gzip) and the day's
//! `manifest.json`: each part's objects, rows and SHA-256, and the SHA-256 of the previous
//! day's manifest, so the days form a chain: a changed byte in a part fails its digest, a
//! changed manifest fails the next day's link (the newest manifest's digest is also kept in the
//! database, `archive_state.head_sha256`, and printed by `verify` to compare).
//!
//! Files are written before the transaction that removes their objects from the database
//! commits: a crash between leaves a part (and a manifest entry) that the next run writes
//! again under the same name with the same objects, never a removed object missing from the
//! archive. Writes go to a temporary file, synced, then renamed over the old one.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Each day's manifest file name.
pub const MANIFEST: &str = "manifest.json";

/// A day's manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub day: String,
    /// SHA-256 (hex) of the previous day's manifest file; `None` for the first day.
    pub previous: Option<String>,
    pub parts: Vec<Part>,
}

/// One part file of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub file: String,
    pub objects: u64,
    pub rows: u64,
    pub sha256: String,
}

/// The name of the part numbered `number`.
pub fn part_name(number: i64) -> String {
    format!("part-{number:08}.jsonl.gz")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` to `path` whole or not at all: a synced temporary file renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path.parent().expect("an archive file has a folder");
    std::fs::create_dir_all(folder)?;
    let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(folder)?.sync_all()
}

/// Writes the part `name` of `day` holding `objects` (one JSON line each) of `rows` rows, and
/// records it in the day's manifest (replacing a part of that name written before a crash),
/// chained to `previous`. Answers the manifest's SHA-256.
pub fn write_part(
    dir: &Path,
    day: &str,
    name: &str,
    objects: &[Value],
    rows: u64,
    previous: Option<&str>,
) -> std::io::Result<String> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    for object in objects {
        serde_json::to_writer(&mut encoder, object)?;
        encoder.write_all(b"\n")?;
    }
    let compressed = encoder.finish()?;
    write_atomically(&dir.join(day).join(name), &compressed)?;
    let mut manifest = read_manifest(dir, day).unwrap_or_else(|_| Manifest {
        day: day.to_string(),
        previous: previous.map(str::to_string),
        parts: Vec::new(),
    });
    manifest.parts.retain(|part| part.file != name);
    manifest.parts.push(Part {
        file: name.to_string(),
        objects: objects.len() as u64,
        rows,
        sha256: sha256_hex(&compressed),
    });
    let bytes = serde_json::to_vec_pretty(&manifest)?;
    write_atomically(&dir.join(day).join(MANIFEST), &bytes)?;
    Ok(sha256_hex(&bytes))
}

/// The manifest of `day`.
pub fn read_manifest(dir: &Path, day: &str) -> std::io::Result<Manifest> {
    let bytes = std::fs::read(dir.join(day).join(MANIFEST))?;
    serde_json::from_slice(&bytes).map_err(std::io::Error::other)
}

/// The SHA-256 of `day`'s manifest file, as the next day chains to it.
pub fn manifest_digest(dir: &Path, day: &str) -> std::io::Result<String> {
    Ok(sha256_hex(&std::fs::read(dir.join(day).join(MANIFEST))?))
}

/// What a verified archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub days: u64,
    pub parts: u64,
    pub objects: u64,
    /// The newest manifest's SHA-256 (compare with the database's `archive_state.head_sha256`).
    pub head_sha256: Option<String>,
}

/// The day folders of `dir`, oldest first.
fn days(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut days: Vec<(String, PathBuf)> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            chrono::NaiveDate::parse_from_str(&name, "%Y-%m-%d").ok()?;
            Some((name, entry.path()))
        })
        .collect();
    days.sort();
    Ok(days)
}

/// Checks the whole archive in `dir`: every day's manifest chains to the day before, every part
/// listed is there with its digest and its count of objects. The first problem found is the
/// error, naming the file.
pub fn verify(dir: &Path) -> Result<Verified, String> {
    let days = days(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut verified = Verified {
        days: 0,
        parts: 0,
        objects: 0,
        head_sha256: None,
    };
    for (day, folder) in days {
        let manifest_path = folder.join(MANIFEST);
        let bytes = std::fs::read(&manifest_path).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a manifest ({e})", manifest_path.display()))?;
        if manifest.day != day {
            return Err(format!("{}: names day {}", manifest_path.display(), manifest.day));
        }
        if manifest.previous != verified.head_sha256 {
            return Err(format!(
                "{}: chains to {:?}, but the day before's manifest is {:?}",
                manifest_path.display(),
                manifest.previous,
                verified.head_sha256
            ));
        }
        for part in &manifest.parts {
            let objects = read_part(&folder, part)?.len() as u64;
            if objects != part.objects {
                return Err(format!(
                    "{day}/{}: {objects} objects, the manifest says {}",
                    part.file, part.objects
                ));
            }
            verified.parts += 1;
            verified.objects += objects;
        }
        verified.days += 1;
        verified.head_sha256 = Some(sha256_hex(&bytes));
    }
    Ok(verified)
}

/// The objects of `part` in `folder`, once its digest is checked against the manifest's.
fn read_part(folder: &Path, part: &Part) -> Result<Vec<Value>, String> {
    let path = folder.join(&part.file);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if sha256_hex(&bytes) != part.sha256 {
        return Err(format!(
            "{}: its SHA-256 is not the manifest's: changed since it was written",
            path.display()
        ));
    }
    BufReader::new(GzDecoder::new(&bytes[..]))
        .lines()
        .map(|line| {
            let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&line).map_err(|e| format!("{}: {e}", path.display()))
        })
        .collect()
}

/// The archived object `id` from the part `file` of `day`, its digest checked.
pub fn find_object(dir: &Path, day: &str, file: &str, id: &str) -> Result<Value, String> {
    let manifest =
        read_manifest(dir, day).map_err(|e| format!("{}/{MANIFEST}: {e}", dir.join(day).display()))?;
    let part = manifest
        .parts
        .iter()
        .find(|part| part.file == file)
        .ok_or_else(|| format!("{day}/{file} is not in its day's manifest"))?;
    read_part(&dir.join(day), part)?
        .into_iter()
        .find(|object| object["id"] == id)
        .ok_or_else(|| format!("{id} is not in {day}/{file}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn days_chain_and_a_changed_byte_or_link_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        write_part(
            dir.path(),
            "2027-01-01",
            &part_name(1),
            &[json!({ "id": "a" }), json!({ "id": "z" })],
            5,
            None,
        )
        .unwrap();
        // A part written again (after a crash, maybe with other objects) replaces its entry.
        let first = write_part(
            dir.path(),
            "2027-01-01",
            &part_name(1),
            &[json!({ "id": "a" })],
            3,
            None,
        )
        .unwrap();
        assert_eq!(manifest_digest(dir.path(), "2027-01-01").unwrap(), first);
        let manifest = read_manifest(dir.path(), "2027-01-01").unwrap();
        assert_eq!((manifest.parts.len(), manifest.parts[0].objects), (1, 1));
        let objects = [json!({ "id": "b" }), json!({ "id": "c" })];
        let head = write_part(dir.path(), "2027-01-02", &part_name(2), &objects, 5, Some(&first)).unwrap();
        let verified = verify(dir.path()).unwrap();
        assert_eq!((verified.days, verified.parts, verified.objects), (2, 2, 3));
        assert_eq!(verified.head_sha256, Some(head));
        assert_eq!(
            find_object(dir.path(), "2027-01-02", &part_name(2), "c").unwrap(),
            json!({ "id": "c" })
        );

        let part = dir.path().join("2027-01-02").join(part_name(2));
        let mut bytes = std::fs::read(&part).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&part, &bytes).unwrap();
        let error = verify(dir.path()).unwrap_err();
        assert!(
            error.contains("part-00000002.jsonl.gz") && error.contains("SHA-256"),
            "{error}"
        );
        bytes[last] ^= 1;
        std::fs::write(&part, &bytes).unwrap();
        assert!(verify(dir.path()).is_ok());

        let manifest = dir.path().join("2027-01-01").join(MANIFEST);
        let text = std::fs::read_to_string(&manifest)
            .unwrap()
            .replace("\"rows\": 3", "\"rows\": 4");
        std::fs::write(&manifest, text).unwrap();
        let error = verify(dir.path()).unwrap_err();
        assert!(
            error.contains("2027-01-02") && error.contains("chains to"),
            "{error}"
        );
    }
}
