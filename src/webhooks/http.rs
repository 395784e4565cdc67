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

/// Whether `ip` is an address on the public internet: not in IANA's special-purpose address
/// registries as not globally reachable (RFC 6890 and its updates), nor multicast; an IPv6
/// address that embeds an IPv4 one (mapped, compatible, translated, NAT64, 6to4) is judged by
/// the IPv4 address it reaches.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match embedded_v4(ip) {
            Some(inner) => is_public_v4(inner),
            None => is_public_v6(ip),
        },
    }
}

/// IANA IPv4 Special-Purpose Address Registry entries not globally reachable (192.0.0.9 and
/// 192.0.0.10 are, and are let through), with multicast: (network, prefix length).
const NOT_GLOBAL_V4: [([u8; 4], u8); 17] = [
    ([0, 0, 0, 0], 8),
    ([10, 0, 0, 0], 8),
    ([100, 64, 0, 0], 10),
    ([127, 0, 0, 0], 8),
    ([169, 254, 0, 0], 16),
    ([172, 16, 0, 0], 12),
    ([192, 0, 0, 0], 24),
    ([192, 0, 2, 0], 24),
    ([192, 31, 196, 0], 24),
    ([192, 52, 193, 0], 24),
    ([192, 88, 99, 0], 24),
    ([192, 168, 0, 0], 16),
    ([192, 175, 48, 0], 24),
    ([198, 18, 0, 0], 15),
    ([198, 51, 100, 0], 24),
    ([203, 0, 113, 0], 24),
    ([224, 0, 0, 0], 3),
];

fn in_v4(ip: Ipv4Addr, (network, length): ([u8; 4], u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(length)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(network)) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let globally_reachable_exceptions = [Ipv4Addr::new(192, 0, 0, 9), Ipv4Addr::new(192, 0, 0, 10)];
    globally_reachable_exceptions.contains(&ip) || !NOT_GLOBAL_V4.iter().any(|range| in_v4(ip, *range))
}

/// The IPv4 address an IPv6 one reaches, where it embeds one: IPv4-mapped (`::ffff:0:0/96`),
/// IPv4-compatible (`::/96`, deprecated), IPv4-translated (`::ffff:0:0:0/96`), NAT64
/// (`64:ff9b::/96`, `64:ff9b:1::/48`) and 6to4 (`2002::/16`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let last = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(last(hi, lo)),
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(last(hi, lo)),
        // `::` and `::1` are themselves (unspecified, loopback), not IPv4-compatible.
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(last(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(last(hi, lo)),
        [0x64, 0xff9b, 1, ..] => Some(last(s[6], s[7])),
        [0x2002, hi, lo, ..] => Some(last(hi, lo)),
        _ => None,
    }
}

/// IANA IPv6 Special-Purpose Address Registry entries not globally reachable (the IPv4-embedding
/// ones are judged by their IPv4 address; `2001::/23` holds Teredo, ORCHID and the other IETF
/// assignments), with site-local (deprecated), multicast and the reserved `::/8` (loopback and
/// unspecified among them): (first segments, prefix length).
const NOT_GLOBAL_V6: [([u16; 2], u8); 10] = [
    ([0x0000, 0], 8),
    ([0x0100, 0], 64),
    ([0x2001, 0], 23),
    ([0x2001, 0x0db8], 32),
    ([0x3fff, 0], 20),
    ([0x5f00, 0], 16),
    ([0xfc00, 0], 7),
    ([0xfe80, 0], 10),
    ([0xfec0, 0], 10),
    ([0xff00, 0], 8),
];

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    !NOT_GLOBAL_V6.iter().any(|([a, b], length)| {
        let network = (u128::from(*a) << 112) | (u128::from(*b) << 96);
        let mask = u128::MAX.checked_shl(128 - u32::from(*length)).unwrap_or(0);
        bits & mask == network & mask
    })
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
            // Issue 29, item 9: special-purpose ranges and IPv4 inside IPv6.
            "192.0.0.170",
            "192.88.99.1",
            "::a9fe:a9fe",
            "::127.0.0.1",
            "::ffff:0:7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "fec0::1",
            "2001:db8::1",
            "2001:2::1",
            "100::1",
            "ff02::1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private} is not public");
        }
        for public in [
            "8.8.8.8",
            "203.0.114.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "192.0.0.9",
        ] {
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
