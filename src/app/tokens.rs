//! The secrets plusflow makes up (merchants' API keys, operators' keys, webhook secrets): 24
//! random bytes from the OS, hex, after a prefix saying what they are. Each is shown once.

pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random generator");
    format!("{prefix}{}", hex::encode(bytes))
}
