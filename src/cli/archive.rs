//! `plusflow archive verify DIR` (the chain of manifests and every part's digest; needs no
//! database) and `plusflow archive restore ID` (one archived object back, read-only, printed as
//! JSON and kept for operators: `archivedObject(id)`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::app::archive::{self, files};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Checks an archive folder: each day's manifest chains to the day before, each part has
    /// its SHA-256 and its count of objects. Prints one JSON line; non-zero exit on a problem,
    /// naming the file.
    Verify {
        /// The archive folder (`archive.dir`).
        dir: PathBuf,
    },
    /// Brings archived object ID (a payment, bulk action...) back read-only from `archive.dir`:
    /// prints it (its rows by table) as one JSON line; operators read it as `archivedObject`.
    Restore {
        /// The object's id (its workflow's).
        id: uuid::Uuid,
    },
}

/// `archive verify`, which reads only the folder.
pub fn verify(dir: &std::path::Path) -> ExitCode {
    match files::verify(dir) {
        Ok(verified) => {
            let line = serde_json::json!({
                "verified": true, "days": verified.days, "parts": verified.parts,
                "objects": verified.objects, "headSha256": verified.head_sha256,
            });
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            println!("{}", serde_json::json!({ "verified": false, "problem": problem }));
            ExitCode::FAILURE
        }
    }
}

/// `archive restore ID`.
pub async fn restore(config: &Config, id: uuid::Uuid) -> anyhow::Result<ExitCode> {
    let Some(archive) = &config.retention.archive else {
        anyhow::bail!("archive.dir is not set: there is no archive to restore from");
    };
    let engine = super::compose::open_existing(config).await?;
    let object = archive::restore(&engine, archive, id).await?;
    println!("{object}");
    Ok(ExitCode::SUCCESS)
}
