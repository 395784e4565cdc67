//! The Alipay+ protocol: wire types ([`wire`]), signatures ([`signing`]), the ACQP -> Alipay+
//! [`client`] with its one result mapping, the receiving side of signed calls ([`inbound`]), and
//! the settlement report files ([`reports`]), and the reference table of wallets ([`wallets`]).
//! The simulator speaks the same protocol with the same pieces, from the other side.

pub mod client;
pub mod inbound;
pub mod reports;
pub mod sftp;
pub mod signing;
pub mod wallets;
pub mod wire;

/// `path` (absolute, e.g. `/aps/api/v1/payments/pay`) under `base`, keeping the base's own path
/// (`https://host/prefix` + `/x` = `https://host/prefix/x`, where `Url::join` would drop the
/// prefix). Query and fragment of the base are dropped.
pub fn url_under(base: &url::Url, path: &str) -> url::Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url.set_query(None);
    url.set_fragment(None);
    url
}

#[cfg(test)]
mod tests {
    use super::url_under;

    #[test]
    fn a_base_url_keeps_its_path_prefix() {
        let under = |base: &str| url_under(&base.parse().unwrap(), "/aps/api/v1/payments/pay").to_string();
        assert_eq!(
            under("https://gw.example"),
            "https://gw.example/aps/api/v1/payments/pay"
        );
        assert_eq!(
            under("https://gw.example/"),
            "https://gw.example/aps/api/v1/payments/pay"
        );
        assert_eq!(
            under("https://gw.example/sandbox"),
            "https://gw.example/sandbox/aps/api/v1/payments/pay"
        );
        assert_eq!(
            under("https://gw.example/sandbox/"),
            "https://gw.example/sandbox/aps/api/v1/payments/pay"
        );
        assert_eq!(
            under("http://127.0.0.1:9/a/b?x=1"),
            "http://127.0.0.1:9/a/b/aps/api/v1/payments/pay"
        );
    }
}
