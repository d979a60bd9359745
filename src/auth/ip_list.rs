//! The addresses the master key is accepted from (`--master-key-ips`, Parse Server's
//! `masterKeyIps`): single IPs and CIDR blocks, IPv4 and IPv6. A leaked master key is then
//! useless from anywhere but the operator's own machines.

use std::net::IpAddr;

/// An entry of the list that does not read as an IP or a CIDR block.
#[derive(Debug, thiserror::Error)]
pub enum IpListError {
    #[error("{0:?} is not an IP address or a CIDR block (e.g. 10.0.0.0/8, ::1)")]
    BadEntry(String),
    #[error("{0:?}: the prefix length must be at most 32 for IPv4 and 128 for IPv6")]
    BadPrefix(String),
    #[error("the list is empty; give 127.0.0.1,::1 for loopback only or 0.0.0.0/0,::/0 for everyone")]
    Empty,
}

/// One CIDR block; a single address is a block of its full length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    network: IpAddr,
    prefix: u8,
}

impl Block {
    fn parse(entry: &str) -> Result<Block, IpListError> {
        let bad = || IpListError::BadEntry(entry.to_string());
        let (address, prefix) = match entry.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (entry, None),
        };
        let written: IpAddr = address.parse().map_err(|_| bad())?;
        let network = written.to_canonical();
        let bits = bits_of(network);
        let prefix = match prefix {
            // `::ffff:10.0.0.0/104` is written in IPv6 bits; it means 10.0.0.0/8.
            Some(p) if written != network => p.parse::<u8>().map_err(|_| bad())?.saturating_sub(96),
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => bits,
        };
        if prefix > bits {
            return Err(IpListError::BadPrefix(entry.to_string()));
        }
        Ok(Block { network, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32),
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(u128::from(net), u128::from(ip), self.prefix, 128),
            _ => false,
        }
    }
}

fn bits_of(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// Whether the first `prefix` of `width` bits of `a` and `b` agree.
fn same_prefix(a: u128, b: u128, prefix: u8, width: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(width - prefix);
    (a >> shift) == (b >> shift)
}

/// The parsed `--master-key-ips`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpList(Vec<Block>);

impl IpList {
    /// Reads a comma-separated list; blanks around entries are ignored.
    pub fn parse(list: &str) -> Result<IpList, IpListError> {
        let blocks = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(Block::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if blocks.is_empty() {
            return Err(IpListError::Empty);
        }
        Ok(IpList(blocks))
    }

    /// Whether `peer` is in the list. An IPv4 peer seen through a dual-stack socket
    /// (`::ffff:10.1.2.3`) is matched as the IPv4 address it is.
    pub fn allows(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|block| block.contains(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_is_loopback_only() {
        let list = IpList::parse("127.0.0.1,::1").unwrap();
        assert!(list.allows(ip("127.0.0.1")));
        assert!(list.allows(ip("::1")));
        assert!(list.allows(ip("::ffff:127.0.0.1")));
        assert!(!list.allows(ip("127.0.0.2")));
        assert!(!list.allows(ip("10.0.0.1")));
        assert!(!list.allows(ip("::2")));
    }

    #[test]
    fn cidr_blocks_match_their_prefix() {
        let list = IpList::parse(" 10.0.0.0/8 , 192.168.1.0/24, fd00::/8").unwrap();
        assert!(list.allows(ip("10.255.1.2")));
        assert!(!list.allows(ip("11.0.0.1")));
        assert!(list.allows(ip("192.168.1.77")));
        assert!(!list.allows(ip("192.168.2.1")));
        assert!(list.allows(ip("fd12:3456::1")));
        assert!(!list.allows(ip("fe80::1")));
        assert!(!list.allows(ip("127.0.0.1")));
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_entries_and_not_ipv6_ones() {
        let list = IpList::parse("10.0.0.0/8").unwrap();
        assert!(list.allows(ip("::ffff:10.1.2.3")));
        assert!(!list.allows(ip("::ffff:11.1.2.3")));
        let mapped_entry = IpList::parse("::ffff:10.0.0.1").unwrap();
        assert!(mapped_entry.allows(ip("10.0.0.1")));
        assert!(IpList::parse("::ffff:10.0.0.0/104").unwrap().allows(ip("10.9.9.9")));
        assert!(!IpList::parse("::/0").unwrap().allows(ip("10.0.0.1")));
    }

    #[test]
    fn zero_prefixes_allow_everyone_of_their_family() {
        let list = IpList::parse("0.0.0.0/0,::/0").unwrap();
        for peer in ["1.2.3.4", "255.255.255.255", "2001:db8::1", "::ffff:8.8.8.8"] {
            assert!(list.allows(ip(peer)), "{peer}");
        }
        assert!(!IpList::parse("0.0.0.0/0").unwrap().allows(ip("2001:db8::1")));
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(matches!(IpList::parse("10.0.0.0/33"), Err(IpListError::BadPrefix(_))));
        assert!(matches!(IpList::parse("::/129"), Err(IpListError::BadPrefix(_))));
        assert!(matches!(IpList::parse("localhost"), Err(IpListError::BadEntry(_))));
        assert!(matches!(IpList::parse("10.0.0.0/x"), Err(IpListError::BadEntry(_))));
        assert!(matches!(IpList::parse(" , "), Err(IpListError::Empty)));
    }
}
