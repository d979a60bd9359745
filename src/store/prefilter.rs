//! A test on a stored document's bytes that a scan runs before decoding it: the byte
//! sequences that must occur in the encoding of any document the query can match. A document
//! that fails it is skipped undecoded, which is most of what an unindexed equality costs; one
//! that passes is decoded and matched in full, so the prefilter may accept too much but must
//! never refuse a match. The data layer builds it from a compiled query (it knows how the store
//! spells values: compact `serde_json`); a store that cannot read its own bytes ignores it.

use memchr::memmem::Finder;

/// Which byte sequences a matching document's encoding must contain.
#[derive(Debug, Clone)]
pub enum Prefilter {
    /// Every part holds.
    All(Vec<Prefilter>),
    /// At least one part holds.
    Any(Vec<Prefilter>),
    /// The bytes occur somewhere in the encoding.
    Contains(Box<Finder<'static>>),
}

impl Prefilter {
    /// A test for `needle` occurring in the bytes.
    pub fn contains(needle: &[u8]) -> Prefilter {
        Prefilter::Contains(Box::new(Finder::new(needle).into_owned()))
    }

    /// Can the document encoded as `bytes` match?
    pub fn accepts(&self, bytes: &[u8]) -> bool {
        match self {
            Prefilter::All(parts) => parts.iter().all(|part| part.accepts(bytes)),
            Prefilter::Any(parts) => parts.iter().any(|part| part.accepts(bytes)),
            Prefilter::Contains(finder) => finder.find(bytes).is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_any_and_contains_combine() {
        let name = Prefilter::contains(br#""name":"a""#);
        let array = Prefilter::All(vec![Prefilter::contains(br#""name":["#), Prefilter::contains(br#""a""#)]);
        let either = Prefilter::Any(vec![name, array]);
        assert!(either.accepts(br#"{"name":"a"}"#));
        assert!(either.accepts(br#"{"name":["b","a"]}"#));
        assert!(!either.accepts(br#"{"name":"ab"}"#));
        assert!(!either.accepts(br#"{"name":["b"],"x":"c"}"#));
        assert!(Prefilter::All(Vec::new()).accepts(b""));
        assert!(!Prefilter::Any(Vec::new()).accepts(b"{}"));
    }
}
