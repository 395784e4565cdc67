//! Alipay+'s SFTP (ALIPAYPLUS.md 7.1): the report files of the last days fetched into the drop
//! folder, where the scheduled reconciliation reads them (`jobs::report_intake`). One
//! connection a fetch: the server must show the public key configured for it
//! (`host_key_file`), the user signs in with its private key (`key_file`, read from the file,
//! never logged). Remote `<clearing_dir>/<YYYYMMDD>/` lands in `<drop>/<YYYYMMDD>/`,
//! `<settlement_dir>/<YYYYMMDD>/` in `<drop>/settlement/<YYYYMMDD>/`; only dated folders within
//! the retention and regular files named like reports, at most `max_bytes` each, are taken. A
//! file already there with the same size is not fetched again; a new one is written beside its
//! place and renamed into it whole, so a reader never sees half a file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use russh::client;
use russh::keys::{PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::reports::ReportName;
use crate::config::SftpConfig;

/// A fetch that takes longer than this is given up (tried again next scan).
const FETCH_TIMEOUT: Duration = Duration::from_secs(300);
/// Connecting and signing in.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot reach {0}: {1}")]
    Unreachable(String, String),
    #[error("{0} did not accept the configured key for user {1}")]
    Refused(String, String),
    #[error("{0}")]
    Failed(String),
}

fn failed(error: impl std::fmt::Display) -> FetchError {
    FetchError::Failed(error.to_string())
}

/// The server must show `expected`, or the connection is dropped.
struct KnownHost {
    expected: PublicKey,
}

impl client::Handler for KnownHost {
    type Error = russh::Error;

    async fn check_server_key(&mut self, shown: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(
            matches!(shown, PublicKeyOrCertificate::PublicKey { key, .. } if key.key_data() == self.expected.key_data()),
        )
    }
}

/// Where fetched files go: the drop folder's dated folders of clearing files, and its folder
/// of settlement files' dated folders.
pub struct Local<'a> {
    pub clearing: &'a Path,
    pub settlement: &'a Path,
}

/// Fetches into `local` what the server has of dates from `oldest` (YYYYMMDD) on that the
/// folders lack; the files written.
pub async fn fetch(
    config: &SftpConfig,
    local: Local<'_>,
    oldest: &str,
    max_bytes: u64,
) -> Result<Vec<PathBuf>, FetchError> {
    tokio::time::timeout(FETCH_TIMEOUT, fetch_within(config, local, oldest, max_bytes))
        .await
        .map_err(|_| failed(format!("the fetch took longer than {FETCH_TIMEOUT:?}")))?
}

async fn fetch_within(
    config: &SftpConfig,
    local: Local<'_>,
    oldest: &str,
    max_bytes: u64,
) -> Result<Vec<PathBuf>, FetchError> {
    let sftp = tokio::time::timeout(CONNECT_TIMEOUT, connect(config))
        .await
        .map_err(|_| FetchError::Unreachable(address(config), "no answer".into()))??;
    let mut written = Vec::new();
    for (remote_root, local_root) in [
        (&config.clearing_dir, local.clearing),
        (&config.settlement_dir, local.settlement),
    ] {
        let Ok(days) = sftp.read_dir(remote_root.as_str()).await else {
            tracing::warn!(folder = %remote_root, "no such folder on Alipay+'s SFTP");
            continue;
        };
        for day in days {
            let name = day.file_name();
            let dated = chrono::NaiveDate::parse_from_str(&name, "%Y%m%d").is_ok();
            if !day.file_type().is_dir() || !dated || name.as_str() < oldest {
                continue;
            }
            let remote = format!("{}/{name}", remote_root.trim_end_matches('/'));
            let local = local_root.join(&name);
            written.extend(fetch_day(&sftp, &remote, &local, max_bytes).await?);
        }
    }
    sftp.close().await.ok();
    Ok(written)
}

fn address(config: &SftpConfig) -> String {
    format!("{}:{}", config.host, config.port)
}

async fn connect(config: &SftpConfig) -> Result<SftpSession, FetchError> {
    let expected = russh::keys::load_public_key(&config.host_key_file).map_err(|e| {
        failed(format!(
            "reconciliation.sftp.host_key_file {}: {e}",
            config.host_key_file.display()
        ))
    })?;
    let key = russh::keys::load_secret_key(&config.key_file, None).map_err(|e| {
        failed(format!(
            "reconciliation.sftp.key_file {}: {e}",
            config.key_file.display()
        ))
    })?;
    let client_config = Arc::new(client::Config {
        inactivity_timeout: Some(Duration::from_secs(60)),
        ..client::Config::default()
    });
    let mut session = client::connect(
        client_config,
        (config.host.as_str(), config.port),
        KnownHost { expected },
    )
    .await
    .map_err(|e| FetchError::Unreachable(address(config), e.to_string()))?;
    let hash = session.best_supported_rsa_hash().await.map_err(failed)?.flatten();
    let signed_in = session
        .authenticate_publickey(&config.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
        .map_err(failed)?;
    if !signed_in.success() {
        return Err(FetchError::Refused(address(config), config.user.clone()));
    }
    let channel = session.channel_open_session().await.map_err(failed)?;
    channel.request_subsystem(true, "sftp").await.map_err(failed)?;
    SftpSession::new(channel.into_stream()).await.map_err(failed)
}

/// The report files of remote folder `remote` that `local` lacks (or has at another size).
async fn fetch_day(
    sftp: &SftpSession,
    remote: &str,
    local: &Path,
    max_bytes: u64,
) -> Result<Vec<PathBuf>, FetchError> {
    let mut written = Vec::new();
    for entry in sftp.read_dir(remote).await.map_err(failed)? {
        let name = entry.file_name();
        let size = entry.metadata().len();
        if !entry.file_type().is_file() || ReportName::parse(&name).is_none() || size > max_bytes {
            continue;
        }
        let target = local.join(&name);
        if tokio::fs::metadata(&target)
            .await
            .is_ok_and(|held| held.len() == size)
        {
            continue;
        }
        tokio::fs::create_dir_all(local).await.map_err(failed)?;
        let partial = local.join(format!(".{name}.part"));
        let mut source = sftp.open(format!("{remote}/{name}")).await.map_err(failed)?;
        let mut sink = tokio::fs::File::create(&partial).await.map_err(failed)?;
        let copied = tokio::io::copy(&mut (&mut source).take(max_bytes), &mut sink)
            .await
            .map_err(failed)?;
        sink.flush().await.map_err(failed)?;
        sink.sync_all().await.map_err(failed)?;
        if copied != size {
            tokio::fs::remove_file(&partial).await.ok();
            return Err(failed(format!("{remote}/{name}: {copied} bytes read of {size}")));
        }
        tokio::fs::rename(&partial, &target).await.map_err(failed)?;
        written.push(target);
    }
    Ok(written)
}
