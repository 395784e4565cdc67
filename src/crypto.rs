//! Personal data at rest: the data keys (`crypto.key_file`, or `crypto.keys` from the
//! environment) and the sealed form of a value encrypted with one of them.
//!
//! A sealed value is `pf1.<key id>.<base64 of nonce, ciphertext and tag>`: AES-256-GCM (aws-lc,
//! already the TLS and signing provider) with a random 96-bit nonce, and the row's own id as
//! associated data, so a value copied onto another row does not open. The key id beside each
//! value lets keys rotate: new values are sealed with the last key listed, older ones still open
//! with theirs until the key is dropped from the list.
//!
//! The key list is one key per line, `<id>=<base64 of 32 random bytes>` (`#` starts a comment),
//! e.g. from `echo "2026-12=$(openssl rand -base64 32)"`.

use std::collections::HashMap;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// What a sealed value starts with.
const PREFIX: &str = "pf1";
/// The id of the development key, used in simulator mode when no key is configured.
pub const DEVELOPMENT_KEY_ID: &str = "development-only";

/// Why a key list or a sealed value is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("line {line}: {problem}")]
    KeyList { line: usize, problem: String },
    #[error("no key in the list")]
    NoKey,
    #[error("sealed with key '{0}', which is not in the key list")]
    UnknownKey(String),
    #[error("not a sealed value")]
    Malformed,
    #[error("the value does not open (wrong key or row, or changed)")]
    DoesNotOpen,
}

/// The data keys: every listed key opens values sealed with it; the last one seals new ones.
pub struct DataKeys {
    keys: HashMap<String, LessSafeKey>,
    current: String,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("DataKeys")
            .field("ids", &ids)
            .field("current", &self.current)
            .finish()
    }
}

impl DataKeys {
    /// The keys of a key list (see the module documentation).
    pub fn parse(list: &str) -> Result<Self, CryptoError> {
        let mut keys = HashMap::new();
        let mut current = None;
        for (index, line) in list.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let problem = |problem: &str| CryptoError::KeyList {
                line: index + 1,
                problem: problem.into(),
            };
            let (id, encoded) = line
                .split_once('=')
                .ok_or_else(|| problem("expected <id>=<base64 key>"))?;
            let id = id.trim();
            if id.is_empty() || id.contains('.') || !id.is_ascii() {
                return Err(problem("a key id is ASCII, not empty, without '.'"));
            }
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| problem("the key is not base64"))?;
            let key = UnboundKey::new(&AES_256_GCM, &bytes)
                .map_err(|_| problem("a key is 32 bytes (openssl rand -base64 32)"))?;
            if keys.insert(id.to_string(), LessSafeKey::new(key)).is_some() {
                return Err(problem("this key id is listed twice"));
            }
            current = Some(id.to_string());
        }
        let current = current.ok_or(CryptoError::NoKey)?;
        Ok(Self { keys, current })
    }

    /// The key list in `file`.
    pub fn from_file(file: &Path) -> Result<Self, String> {
        let list = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        Self::parse(&list).map_err(|e| format!("{}: {e}", file.display()))
    }

    /// A fixed key for development and tests (simulator mode only): it is in the source, so it
    /// protects nothing; production configures its own (`crypto.key_file`).
    pub fn development() -> Self {
        Self::parse(&format!(
            "{DEVELOPMENT_KEY_ID}={}",
            STANDARD.encode(*b"plusflow development data key!!!")
        ))
        .expect("the development key is well formed")
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> &str {
        &self.current
    }

    /// `plaintext` sealed with the current key for the row `row`.
    pub fn seal(&self, plaintext: &str, row: &[u8]) -> String {
        let key = &self.keys[&self.current];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the system's random numbers");
        let mut sealed = plaintext.as_bytes().to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(row), &mut sealed)
            .expect("AES-GCM seals any length we store");
        let mut body = nonce.to_vec();
        body.extend_from_slice(&sealed);
        format!("{PREFIX}.{}.{}", self.current, STANDARD.encode(body))
    }

    /// The plaintext of `sealed`, sealed for the row `row`.
    pub fn open(&self, sealed: &str, row: &[u8]) -> Result<String, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(PREFIX), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CryptoError::Malformed);
        };
        let key = self
            .keys
            .get(id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?;
        let mut body = STANDARD.decode(body).map_err(|_| CryptoError::Malformed)?;
        if body.len() < NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let nonce =
            Nonce::try_assume_unique_for_key(&body[..NONCE_LEN]).map_err(|_| CryptoError::Malformed)?;
        let opened = key
            .open_in_place(nonce, Aad::from(row), &mut body[NONCE_LEN..])
            .map_err(|_| CryptoError::DoesNotOpen)?;
        String::from_utf8(opened.to_vec()).map_err(|_| CryptoError::DoesNotOpen)
    }

    /// The plaintext of a stored value: opened if sealed, as it is if stored clear (written
    /// before values were sealed).
    pub fn reveal(&self, stored: &str, row: &[u8]) -> Result<String, CryptoError> {
        match stored.strip_prefix(PREFIX) {
            Some(rest) if rest.starts_with('.') => self.open(stored, row),
            _ => Ok(stored.to_string()),
        }
    }
}

/// `value` with all but its last 4 characters masked (`**************1234`); a value of 4
/// characters or fewer is masked whole.
pub fn mask_last4(value: &str) -> String {
    let count = value.chars().count();
    let shown = if count > 4 { 4 } else { 0 };
    let tail: String = value.chars().skip(count - shown).collect();
    format!("{}{tail}", "*".repeat(count - shown))
}

/// A name with only its first character shown (`Z**`), as receipts print a buyer's name.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[(&str, u8)]) -> DataKeys {
        let list: Vec<String> = list
            .iter()
            .map(|(id, byte)| format!("{id}={}", STANDARD.encode([*byte; 32])))
            .collect();
        DataKeys::parse(&list.join("\n")).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_for_its_row_only_and_hides_its_plaintext() {
        let keys = keys(&[("k1", 1)]);
        let sealed = keys.seal("110101199003078515", b"row-1");
        assert!(!sealed.contains("110101199003078515"));
        assert!(sealed.starts_with("pf1.k1."), "{sealed}");
        assert_ne!(
            sealed,
            keys.seal("110101199003078515", b"row-1"),
            "a fresh nonce each time"
        );
        assert_eq!(keys.open(&sealed, b"row-1").unwrap(), "110101199003078515");
        assert_eq!(keys.open(&sealed, b"row-2"), Err(CryptoError::DoesNotOpen));
        let mut changed = sealed.clone().into_bytes();
        let last = changed.len() - 3;
        changed[last] = if changed[last] == b'A' { b'B' } else { b'A' };
        assert!(
            keys.open(std::str::from_utf8(&changed).unwrap(), b"row-1")
                .is_err()
        );
        assert_eq!(keys.reveal(&sealed, b"row-1").unwrap(), "110101199003078515");
        assert_eq!(
            keys.reveal("E1234567", b"row-1").unwrap(),
            "E1234567",
            "stored clear"
        );
    }

    #[test]
    fn keys_rotate_new_values_take_the_last_key_and_old_ones_still_open() {
        let old = keys(&[("k1", 1)]);
        let sealed_before = old.seal("E12345678", b"r");
        let rotated = keys(&[("k1", 1), ("k2", 2)]);
        assert_eq!(rotated.current_id(), "k2");
        assert_eq!(rotated.open(&sealed_before, b"r").unwrap(), "E12345678");
        assert!(rotated.seal("E12345678", b"r").starts_with("pf1.k2."));
        let dropped = keys(&[("k2", 2)]);
        assert_eq!(
            dropped.open(&sealed_before, b"r"),
            Err(CryptoError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn a_bad_key_list_names_its_line() {
        for (list, line) in [
            ("k1", 1),
            ("# comment\nk1=short", 2),
            ("k.1=AAAA", 1),
            (&format!("a={0}\na={0}", STANDARD.encode([0u8; 32])), 2),
        ] {
            match DataKeys::parse(list) {
                Err(CryptoError::KeyList { line: found, .. }) => assert_eq!(found, line, "{list}"),
                other => panic!("{list}: {other:?}"),
            }
        }
        assert_eq!(DataKeys::parse("# none\n").unwrap_err(), CryptoError::NoKey);
    }

    #[test]
    fn masks_keep_the_last_four_or_the_first_character() {
        assert_eq!(mask_last4("110101199003078515"), "**************8515");
        assert_eq!(mask_last4("1234"), "****");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("Zhang San"), "Z********");
        assert_eq!(mask_name("Z"), "Z*");
    }
}
