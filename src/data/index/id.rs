//! An object as an index entry holds it: two numbers, 16 bytes and no allocation, where a
//! `createdAt NUL objectId` string cost ~60 bytes an entry. Both numbers preserve the order of
//! the text they come from, so entries still sort in the natural order (createdAt, objectId).
//!
//! Only Parse's own shapes pack: a `createdAt` of JavaScript's `toISOString` form
//! (`2015-03-24T20:19:00.542Z`) and an objectId of 10 characters from `[0-9A-Za-z]`, which is
//! what this server generates. An object of another shape (a custom objectId, an imported date)
//! has no [`Id`], and the index of its class then stays unusable: queries scan, as they must
//! rather than answer in a wrong order.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::data::acl::{self, Principal};

const OBJECT_ID_LEN: usize = 10;
/// `2015-03-24T20:19:00.542Z`: 17 digits between fixed separators.
const CREATED_LEN: usize = 24;
const SEPARATORS: [(usize, u8); 7] = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')];
/// Base of an objectId character: `[0-9A-Za-z]`, numbered in ASCII order.
const BASE: u64 = 62;

/// One object in an index: its natural position, and whether anyone may read it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Id {
    /// The createdAt's 17 digits as one decimal number, shifted left once; the low bit says
    /// whether the object is public.
    created: u64,
    /// The objectId in base 62, digits in ASCII order (so numbers sort as the text does).
    object: u64,
}

impl PartialEq for Id {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Id {}

/// By position only: the public bit is data, so an entry is found again after its ACL changed.
impl Ord for Id {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.created >> 1, self.object).cmp(&(other.created >> 1, other.object))
    }
}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An objectId unpacked on the stack, to look the object up by.
pub(super) struct ObjectId([u8; OBJECT_ID_LEN]);

impl ObjectId {
    pub(super) fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever written into it.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl Id {
    /// The entry of `object`, or None when its createdAt or objectId is not in Parse's shape.
    pub(super) fn of(object: &Map<String, Value>) -> Option<Id> {
        let created = pack_created(object.get("createdAt")?.as_str()?)?;
        let object_id = pack_object_id(object.get("objectId")?.as_str()?)?;
        let public = acl::can_read(object, &Principal { user_id: None, roles: &[] });
        Some(Id { created: created << 1 | u64::from(public), object: object_id })
    }

    pub(super) fn public(&self) -> bool {
        self.created & 1 == 1
    }

    pub(super) fn object_id(&self) -> ObjectId {
        let mut out = [0u8; OBJECT_ID_LEN];
        let mut rest = self.object;
        for slot in out.iter_mut().rev() {
            *slot = character(rest % BASE);
            rest /= BASE;
        }
        ObjectId(out)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` → the number its 17 digits spell.
pub(super) fn pack_created(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() != CREATED_LEN || SEPARATORS.iter().any(|(at, separator)| bytes[*at] != *separator) {
        return None;
    }
    let mut number = 0u64;
    for (at, byte) in bytes[..CREATED_LEN - 1].iter().enumerate() {
        if SEPARATORS.iter().any(|(separator_at, _)| *separator_at == at) {
            continue;
        }
        if !byte.is_ascii_digit() {
            return None;
        }
        number = number * 10 + u64::from(byte - b'0');
    }
    Some(number)
}

/// The text [`pack_created`] packed into `number`.
pub(super) fn unpack_created(mut number: u64) -> [u8; CREATED_LEN] {
    let mut text = [0u8; CREATED_LEN];
    for (at, slot) in text.iter_mut().enumerate().rev() {
        if let Some((_, separator)) = SEPARATORS.iter().find(|(separator_at, _)| *separator_at == at) {
            *slot = *separator;
        } else {
            // A digit: below 10.
            *slot = b'0' + (number % 10) as u8;
            number /= 10;
        }
    }
    text
}

fn pack_object_id(text: &str) -> Option<u64> {
    if text.len() != OBJECT_ID_LEN {
        return None;
    }
    text.bytes().try_fold(0u64, |number, byte| Some(number * BASE + digit(byte)?))
}

fn digit(byte: u8) -> Option<u64> {
    match byte {
        b'0'..=b'9' => Some(u64::from(byte - b'0')),
        b'A'..=b'Z' => Some(u64::from(byte - b'A') + 10),
        b'a'..=b'z' => Some(u64::from(byte - b'a') + 36),
        _ => None,
    }
}

fn character(digit: u64) -> u8 {
    // `digit` is below BASE, so each arm's offset fits a byte.
    match digit {
        0..=9 => b'0' + digit as u8,
        10..=35 => b'A' + (digit - 10) as u8,
        _ => b'a' + (digit - 36) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(created: &str, object_id: &str) -> Option<Id> {
        Id::of(json!({"createdAt": created, "objectId": object_id}).as_object().unwrap())
    }

    #[test]
    fn ids_sort_as_their_text_and_unpack_to_it() {
        let texts = [
            ("2020-01-01T00:00:00.000Z", "0000000000"),
            ("2020-01-01T00:00:00.000Z", "000000000A"),
            ("2020-01-01T00:00:00.000Z", "000000000a"),
            ("2020-01-01T00:00:00.000Z", "zzzzzzzzzz"),
            ("2020-01-01T00:00:00.001Z", "AAAAAAAAAA"),
            ("2026-12-31T23:59:59.999Z", "aB3dE5gH7j"),
        ];
        let ids: Vec<Id> = texts.iter().map(|(created, object_id)| id(created, object_id).unwrap()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1]);
        }
        for (id, (_, object_id)) in ids.iter().zip(texts) {
            assert_eq!(id.object_id().as_str(), object_id);
            assert!(id.public(), "no ACL: public");
        }
    }

    #[test]
    fn dates_unpack_to_their_text() {
        for text in ["2020-01-01T00:00:00.000Z", "2026-12-31T23:59:59.999Z", "0000-00-00T00:00:00.000Z", "9999-99-99T99:99:99.999Z"] {
            assert_eq!(unpack_created(pack_created(text).unwrap()), text.as_bytes());
        }
        assert!(pack_created("2020-01-01T00:00:00.000").is_none());
        assert!(pack_created("2020-01-01 00:00:00.000Z").is_none());
    }

    #[test]
    fn other_shapes_have_no_id_and_acls_do_not_move_an_entry() {
        assert!(id("2020-01-01", "0000000000").is_none());
        assert!(id("+010000-01-01T00:00:00.000Z", "0000000000").is_none());
        assert!(id("2020-01-01T00:00:00.000Z", "short").is_none());
        assert!(id("2020-01-01T00:00:00.000Z", "has-a-dash").is_none());
        let private = Id::of(json!({"createdAt": "2020-01-01T00:00:00.000Z", "objectId": "0000000000", "ACL": {"u": {"read": true}}}).as_object().unwrap()).unwrap();
        assert!(!private.public());
        assert_eq!(private, id("2020-01-01T00:00:00.000Z", "0000000000").unwrap());
    }
}
