//! The HTTP client merchant webhooks are sent with, and what it refuses to reach. A merchant
//! names its webhook URL, so without limits it could make plusflow call the ACQP's own network
//! (a database admin page, a cloud metadata service at 169.254.169.254): server-side request
//! forgery. So:
//! - only http and https URLs, redirects are never followed (a 3xx is a failed delivery), and no
//!   proxy from the environment is used (it would resolve and reach the target unchecked);
//! - the target's addresses are checked after DNS resolution, by the client's own resolver, so a
//!   name that resolves to a private address is refused and the connection goes to the very
//!   address that was checked (no second lookup to rebind); an IP literal is checked before
//!   sending, since it is never resolved;
//! - loopback, private (RFC 1918, CGNAT, IPv6 unique local), link-local, unspecified, broadcast,
//!   multicast and documentation addresses are refused unless `webhooks.allow_private_targets`
//!   (tests and local development, whose receivers are on 127.0.0.1).
//!
//! A failed delivery is recorded and retried with a fixed description of what failed ("could
//! not connect", "timed out"...): the merchant's API never shows a URL or a network error text.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a delivery could not be made, as recorded and retried.
pub const TARGET_NOT_ALLOWED: &str = "the webhook target is not a public address";

/// The client webhooks are sent with.
pub fn client(allow_private_targets: bool, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    // No proxy from the environment either: a proxy would resolve (and reach) the target itself.
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if allow_private_targets {
        builder.build()
    } else {
        builder.dns_resolver(Arc::new(PublicOnly)).build()
    }
}

/// Whether a delivery to `url` may be attempted (scheme, and an IP literal's address).
pub fn check_target(url: &url::Url, allow_private_targets: bool) -> Result<(), &'static str> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the webhook URL is not http or https");
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
        None => return Err("the webhook URL has no host"),
    };
    match literal {
        Some(ip) if !allow_private_targets && !is_public(ip) => Err(TARGET_NOT_ALLOWED),
        _ => Ok(()),
    }
}

/// What failed, in words that reveal nothing about the target.
pub fn describe_failure(error: &reqwest::Error) -> &'static str {
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    let mut refused_by_resolver = false;
    while let Some(error) = cause {
        refused_by_resolver |= error.to_string() == TARGET_NOT_ALLOWED;
        cause = error.source();
    }
    if refused_by_resolver {
        TARGET_NOT_ALLOWED
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the delivery failed in transport"
    }
}

/// Resolves with the system resolver and keeps only public addresses.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = resolved.filter(|address| is_public(address.ip())).collect();
            if public.is_empty() {
                return Err(TARGET_NOT_ALLOWED.into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => is_public_v4(mapped),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let carrier_grade_nat = a == 100 && (64..128).contains(&b);
    let benchmarking = a == 198 && (b == 18 || b == 19);
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || carrier_grade_nat
        || benchmarking
        || a == 0
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || documentation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_webhook_targets() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private} is not public");
        }
        for public in ["8.8.8.8", "203.0.114.1", "2606:4700::1111", "::ffff:1.1.1.1"] {
            assert!(is_public(public.parse().unwrap()), "{public} is public");
        }
    }

    #[test]
    fn a_literal_address_or_another_scheme_is_checked_before_sending() {
        let check = |url: &str, allow| check_target(&url.parse().unwrap(), allow);
        assert_eq!(
            check("http://127.0.0.1:8080/hook", false),
            Err(TARGET_NOT_ALLOWED)
        );
        assert_eq!(check("http://[::1]/hook", false), Err(TARGET_NOT_ALLOWED));
        assert_eq!(
            check("http://169.254.169.254/latest/meta-data", false),
            Err(TARGET_NOT_ALLOWED)
        );
        assert!(check("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(
            check("https://shop.example/hook", false).is_ok(),
            "names are checked when resolved"
        );
        assert!(check("file:///etc/passwd", true).is_err());
        assert!(check("gopher://shop.example/", true).is_err());
    }
}
