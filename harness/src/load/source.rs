//! Local source addresses of load connections (`--source-addr 127.0.0.2-127.0.0.9` or a comma
//! list): connections are bound to them in turn before connecting, so that a run is not held to
//! one address's ephemeral ports (about 28,000 on Linux by default: `ip_local_port_range`).
//! Pure: parsing and the list; [`super::net::endpoint`] binds.

use std::net::IpAddr;

/// The most addresses one `--source-addr` may name (a typo in a range must not allocate
/// millions).
pub const MAX_SOURCES: u128 = 4096;

/// The local addresses connections are bound to in turn; empty: the system chooses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceAddrs(pub Vec<IpAddr>);

impl SourceAddrs {
    /// Parses a comma list of addresses and ranges (`FIRST-LAST`, both included, one family):
    /// `127.0.0.2-127.0.0.9`, `10.0.0.1,10.0.0.2`, `::1`. The error says what is wrong.
    pub fn parse(text: &str) -> Result<SourceAddrs, String> {
        let mut addrs = Vec::new();
        for item in text.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(format!(
                    "{text:?}: an empty item (write e.g. 127.0.0.2-127.0.0.9 or 10.0.0.1,10.0.0.2)"
                ));
            }
            let address = |part: &str| {
                part.trim().parse::<IpAddr>().map_err(|_| {
                    format!("{part:?} is not an IP address (write e.g. 127.0.0.2-127.0.0.9)")
                })
            };
            let Some((first, last)) = item.split_once('-') else {
                addrs.push(address(item)?);
                continue;
            };
            let (first, last) = (address(first)?, address(last)?);
            let (from, to) = match (first, last) {
                (IpAddr::V4(a), IpAddr::V4(b)) => {
                    (u128::from(u32::from(a)), u128::from(u32::from(b)))
                }
                (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
                _ => return Err(format!("{item:?}: both ends of a range are of one family")),
            };
            if to < from {
                return Err(format!("{item:?}: the range ends before it starts"));
            }
            if to - from >= MAX_SOURCES || addrs.len() as u128 + (to - from) >= MAX_SOURCES {
                return Err(format!("{text:?}: more than {MAX_SOURCES} addresses"));
            }
            for n in from..=to {
                addrs.push(match first {
                    IpAddr::V4(_) => IpAddr::from((n as u32).to_be_bytes()),
                    IpAddr::V6(_) => IpAddr::from(n.to_be_bytes()),
                });
            }
        }
        if addrs.iter().any(IpAddr::is_ipv4) && addrs.iter().any(IpAddr::is_ipv6) {
            return Err(format!(
                "{text:?}: IPv4 and IPv6 addresses mixed (a target has one family)"
            ));
        }
        Ok(SourceAddrs(addrs))
    }

    /// Whether the system chooses (no address given).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    #[test]
    fn ranges_and_lists() {
        assert_eq!(
            SourceAddrs::parse("127.0.0.2-127.0.0.4").unwrap().0,
            ips(&["127.0.0.2", "127.0.0.3", "127.0.0.4"])
        );
        assert_eq!(
            SourceAddrs::parse("10.0.0.255-10.0.1.0, 10.0.0.7")
                .unwrap()
                .0,
            ips(&["10.0.0.255", "10.0.1.0", "10.0.0.7"])
        );
        assert_eq!(SourceAddrs::parse("::1").unwrap().0, ips(&["::1"]));
    }

    #[test]
    fn refusals_say_why() {
        let refused = |text: &str| SourceAddrs::parse(text).unwrap_err();
        assert!(refused("127.0.0.300").contains("is not an IP address"));
        assert!(refused("127.0.0.9-127.0.0.2").contains("ends before it starts"));
        assert!(refused("127.0.0.1-::1").contains("one family"));
        assert!(refused("127.0.0.1,::1").contains("mixed"));
        assert!(refused("10.0.0.0-10.1.0.0").contains("more than 4096"));
        assert!(refused("127.0.0.1,").contains("empty item"));
    }
}
