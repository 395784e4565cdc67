//! Alipay+ message signatures (ALIPAYPLUS.md 1.4): RSA PKCS#1 v1.5 with SHA-256 over
//! `<METHOD> <URI>\n<Client-Id>.<Time>.<Body>`, base64, then form URL-encoded, carried in
//! `Signature: algorithm=RSA256,keyVersion=<n>,signature=<value>`. We always sign the exact
//! bytes we send and verify the exact bytes we received.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPublicKey};
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} holds no RSA {kind} key in PEM (PKCS#8 or PKCS#1)")]
    Format { path: String, kind: &'static str },
    #[error("{path} holds a {bits}-bit RSA key; Alipay+ keys have at least 2048 bits")]
    TooShort { path: String, bits: usize },
}

/// The bytes that are signed: `<METHOD> <URI>\n<Client-Id>.<Time>.<Body>`.
pub fn content_to_sign(method: &str, uri: &str, client_id: &str, time: &str, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{method} {uri}\n{client_id}.{time}.").into_bytes();
    content.extend_from_slice(body);
    content
}

/// Our private key, with the `keyVersion` Alipay+ knows its public half by. `rsa` reads and
/// makes keys; aws-lc signs (several times faster, and PKCS#1 v1.5 gives the same bytes).
#[derive(Clone)]
pub struct SigningKey {
    key: PrivateKey,
    signer: Arc<RsaKeyPair>,
    pub key_version: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKey(keyVersion={}, private key redacted)",
            self.key_version
        )
    }
}

impl SigningKey {
    pub fn new(key: PrivateKey, key_version: impl Into<String>) -> Self {
        let der = key.to_pkcs8_der().expect("an RSA key encodes as PKCS#8");
        let signer = RsaKeyPair::from_pkcs8(der.as_bytes()).expect("aws-lc accepts the PKCS#8 rsa wrote");
        Self {
            key,
            signer: Arc::new(signer),
            key_version: key_version.into(),
        }
    }

    /// Reads a PEM private key, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem_file(path: &Path, key_version: &str) -> Result<Self, KeyError> {
        let pem = read(path)?;
        let key = PrivateKey::from_pkcs8_pem(&pem)
            .ok()
            .or_else(|| PrivateKey::from_pkcs1_pem(&pem).ok())
            .ok_or_else(|| KeyError::Format {
                path: path.display().to_string(),
                kind: "private",
            })?;
        // Checked here, not left to aws-lc: it refuses such keys, and `new` would panic.
        let bits = rsa::traits::PublicKeyParts::size(&key) * 8;
        if bits < 2048 {
            return Err(KeyError::TooShort {
                path: path.display().to_string(),
                bits,
            });
        }
        Ok(Self::new(key, key_version))
    }

    /// A fresh 2048-bit key, for development and the built-in simulator.
    pub fn generate(key_version: &str) -> Self {
        let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
        let key = PrivateKey::new(&mut rng, 2048).expect("RSA key generation");
        Self::new(key, key_version)
    }

    pub fn public_key(&self) -> PublicKey {
        self.key.to_public_key()
    }

    /// The signature value as it goes into the header: url-encoded base64.
    pub fn sign(&self, content: &[u8]) -> String {
        let mut signature = vec![0; self.signer.public_modulus_len()];
        self.signer
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), content, &mut signature)
            .expect("a 2048-bit key signs SHA-256");
        url::form_urlencoded::byte_serialize(BASE64.encode(signature).as_bytes()).collect()
    }

    /// The whole `Signature` header value for `content`.
    pub fn signature_header(&self, content: &[u8]) -> String {
        SignatureHeader {
            algorithm: "RSA256".into(),
            key_version: Some(self.key_version.clone()),
            signature: self.sign(content),
        }
        .to_string()
    }
}

/// The counterpart's public keys, by `keyVersion`, for rotation. A header without
/// `keyVersion` is checked against the default key. `rsa` reads the keys; aws-lc checks the
/// signatures (rsa's constant-time arithmetic made verifying cost a third of signing), with each
/// key parsed once (parsing it for every call cost about as much as the check itself).
#[derive(Clone, Debug)]
pub struct VerifyingKeys {
    by_version: BTreeMap<String, ParsedPublicKey>,
    default_version: String,
}

impl VerifyingKeys {
    pub fn single(key: PublicKey, key_version: &str) -> Self {
        let mut keys = Self {
            by_version: BTreeMap::new(),
            default_version: key_version.into(),
        };
        keys.add(key_version, key);
        keys
    }

    pub fn add(&mut self, key_version: &str, key: PublicKey) -> &mut Self {
        let der = key.to_pkcs1_der().expect("an RSA public key encodes as PKCS#1");
        let verifier = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_bytes())
            .expect("aws-lc accepts the PKCS#1 public key rsa wrote");
        self.by_version.insert(key_version.to_string(), verifier);
        self
    }

    /// Reads a PEM public key: SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`), of
    /// at least 2048 bits (what Alipay+ issues; shorter keys are refused here, not at each call).
    pub fn read_pem(path: &Path) -> Result<PublicKey, KeyError> {
        let pem = read(path)?;
        let key = PublicKey::from_public_key_pem(&pem)
            .ok()
            .or_else(|| PublicKey::from_pkcs1_pem(&pem).ok())
            .ok_or_else(|| KeyError::Format {
                path: path.display().to_string(),
                kind: "public",
            })?;
        let bits = key.size() * 8;
        if bits < 2048 {
            return Err(KeyError::TooShort {
                path: path.display().to_string(),
                bits,
            });
        }
        Ok(key)
    }

    /// Whether `header` is a valid RSA256 signature of `content` by one of our keys.
    pub fn verify(&self, header: &SignatureHeader, content: &[u8]) -> Result<(), VerifyError> {
        if !header.algorithm.eq_ignore_ascii_case("RSA256") {
            return Err(VerifyError::Algorithm(header.algorithm.clone()));
        }
        let version = header.key_version.as_deref().unwrap_or(&self.default_version);
        let key = self
            .by_version
            .get(version)
            .ok_or_else(|| VerifyError::UnknownKey(version.to_string()))?;
        let encoded = percent_encoding::percent_decode_str(&header.signature)
            .decode_utf8()
            .map_err(|_| VerifyError::Encoding)?;
        let signature = BASE64
            .decode(encoded.trim().as_bytes())
            .map_err(|_| VerifyError::Encoding)?;
        key.verify_sig(content, &signature)
            .map_err(|_| VerifyError::Mismatch)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the Signature header is missing or malformed")]
    Header,
    #[error("unsupported signature algorithm '{0}'")]
    Algorithm(String),
    #[error("no public key for keyVersion '{0}'")]
    UnknownKey(String),
    #[error("the signature is not valid base64")]
    Encoding,
    #[error("the signature does not match the message")]
    Mismatch,
}

/// `algorithm=RSA256,keyVersion=1,signature=...`, parsed tolerantly (spaces after commas or not,
/// any key order and case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub algorithm: String,
    pub key_version: Option<String>,
    pub signature: String,
}

impl std::str::FromStr for SignatureHeader {
    type Err = VerifyError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (mut algorithm, mut key_version, mut signature) = (None, None, None);
        for part in value.split(',') {
            let Some((name, value)) = part.trim().split_once('=') else {
                continue;
            };
            let value = value.trim().to_string();
            match name.trim().to_ascii_lowercase().as_str() {
                "algorithm" => algorithm = Some(value),
                "keyversion" => key_version = Some(value),
                "signature" => signature = Some(value),
                _ => {}
            }
        }
        Ok(SignatureHeader {
            algorithm: algorithm.ok_or(VerifyError::Header)?,
            key_version,
            signature: signature.filter(|s| !s.is_empty()).ok_or(VerifyError::Header)?,
        })
    }
}

impl std::fmt::Display for SignatureHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "algorithm={}", self.algorithm)?;
        if let Some(version) = &self.key_version {
            write!(f, ",keyVersion={version}")?;
        }
        write!(f, ",signature={}", self.signature)
    }
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// The current time as Alipay+ writes it: ISO 8601 with offset.
pub fn timestamp(now: chrono::DateTime<chrono::Utc>) -> String {
    now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// [`timestamp`] to the second, as in Alipay+'s own examples: what answers carry, so that the
/// same answer within a second is the same signed content.
pub fn timestamp_to_the_second(now: chrono::DateTime<chrono::Utc>) -> String {
    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
