//! Which addresses partnerdesk may send a partner bucket's requests to: never this machine, its networks or
//! addresses that are not for unicast on the internet (an admin could otherwise point a "bucket" at a service
//! inside the vendor's network). An endpoint is checked when it is saved and before each use, and host names are
//! resolved for the connection by `PublicOnly`, so the address connected to is one that was checked: a name that
//! resolves to a public address when checked and to an internal one a moment later (DNS rebinding) gets nowhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::buckets::client::parse_endpoint;
use crate::context::Settings;
use crate::error::AppError;

/// Part of the resolver's error, so that the connection test can say what happened.
pub(crate) const REFUSED: &str = "resolves only to internal addresses";

fn internal_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0 // 0.0.0.0/8: "this network"
        || a >= 240 // 240.0.0.0/4: reserved
        || (a == 100 && (b & 0xc0) == 64) // 100.64.0.0/10: carrier-grade NAT
        || (a == 198 && (b & 0xfe) == 18) // 198.18.0.0/15: benchmarking
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24: protocol assignments
        || (a == 192 && b == 88 && c == 99) // 192.88.99.0/24: 6to4 relays
}

/// The IPv4 address an IPv6 address stands for, where it embeds one: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`), NAT64's well-known prefix (`64:ff9b::/96`) and 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0; 6] {
        return Some(low(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        return Some(low(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(low(s[1], s[2]));
    }
    None
}

fn internal_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    if let Some(v4) = embedded_v4(v6) {
        return internal_v4(v4);
    }
    v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7: unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10: link-local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10: site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // 2001:db8::/32: documentation
        || (s[0] == 0x2001 && s[1] == 0) // 2001::/32: Teredo (the IPv4 behind it is hidden)
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // 100::/64: discard
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // 64:ff9b:1::/48: local-use NAT64, where anything may sit
}

/// Whether an address is one partnerdesk must not be sent to on a partner's behalf.
pub fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

/// Refuses endpoints that resolve to internal addresses unless the deployment allows them (tests, a MinIO on the
/// same network). Checked when a connection is saved and before each use; an IP address written in the URL is
/// only checked here (no name is resolved for it). Behind an egress proxy (`PARTNERDESK_BUCKET_PROXY`) names are
/// resolved by the proxy, which must enforce the same rules; only addresses written in the URL are checked here.
pub async fn check_endpoint(endpoint: &str, settings: &Settings) -> Result<(), AppError> {
    check(
        endpoint,
        settings.allow_private_bucket_endpoints,
        settings.bucket_proxy.is_some(),
    )
    .await
}

async fn check(endpoint: &str, allow_private: bool, proxied: bool) -> Result<(), AppError> {
    if allow_private {
        return Ok(());
    }
    let u = parse_endpoint(endpoint)?;
    let host = match u.host() {
        Some(url::Host::Ipv4(v4)) => v4.to_string(),
        Some(url::Host::Ipv6(v6)) => v6.to_string(),
        Some(url::Host::Domain(_)) if proxied => return Ok(()),
        Some(url::Host::Domain(d)) => d.to_owned(),
        None => String::new(),
    };
    let port = u.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(a) => a.collect(),
        // An unknown host is reported by the connection test as `dns`.
        Err(_) => return Ok(()),
    };
    if addrs.iter().any(|a| internal(a.ip())) {
        return Err(AppError::invalid(
            "endpoint",
            "InvalidValue",
            format!(
                "{host} is an internal address; partner buckets must be reachable on the internet (set PARTNERDESK_BUCKET_ALLOW_PRIVATE_ENDPOINTS=true to allow)"
            ),
        ));
    }
    Ok(())
}

/// The resolver of the partner-bucket client: a host name's public addresses, or an error when it has none.
pub(crate) struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| !internal(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} {REFUSED}").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn internal_and_public_addresses() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.1.2.3",
            "198.18.0.1",
            "198.19.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::7f00:1",
            "64:ff9b:1:7f00:1::",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2001:db8::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(internal(ip), "{bad} passed as public");
        }
        for good in [
            "52.219.170.1",
            "8.8.8.8",
            "198.20.0.1",
            "2a05:d018::1",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
        ] {
            let ip: IpAddr = good.parse().unwrap();
            assert!(!internal(ip), "{good} refused");
        }
    }

    #[tokio::test]
    async fn literal_endpoints_are_checked() {
        for bad in [
            "http://[64:ff9b::7f00:1]:9000",
            "http://[::127.0.0.1]",
            "http://[::ffff:7f00:1]",
            "http://198.18.0.1",
            "http://0.0.0.0:9000",
            "http://224.0.0.1",
            "http://localhost:9000",
        ] {
            assert!(check(bad, false, false).await.is_err(), "{bad} accepted");
        }
        assert!(check("http://127.0.0.1:9000", true, false).await.is_ok());
        // Behind a proxy, names are the proxy's to resolve and check; written addresses are still refused here.
        assert!(check("http://localhost:9000", false, true).await.is_ok());
        assert!(check("http://127.0.0.1:9000", false, true).await.is_err());
    }

    /// The client itself refuses names that resolve to internal addresses, whatever was checked before: the
    /// address connected to is the address checked.
    #[tokio::test]
    async fn the_client_connects_only_to_public_addresses() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut request = [0u8; 1024];
                let _ = sock.read(&mut request).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                    .await;
            }
        });
        let url = format!("http://localhost:{port}/");
        let refused = crate::buckets::client::http_client(false, None).get(&url).send().await;
        let e = refused.expect_err("connected to an internal address");
        let mut chain = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            chain.push_str(&s.to_string());
            source = s.source();
        }
        assert!(chain.contains(REFUSED), "{chain}");
        // Allowed on purpose, the same request goes through.
        let allowed = crate::buckets::client::http_client(true, None)
            .get(&url)
            .send()
            .await
            .unwrap();
        assert_eq!(allowed.status(), 200);
    }
}
