//! Identifiers and timestamps in the exact shapes Parse clients expect.
//!
//! The SDKs parse `createdAt`/`updatedAt` with fixed-format parsers and some of them compare
//! object ids and session tokens by shape, so these are generated to match Parse Server
//! byte for byte rather than with whatever a UUID library would produce. Dates keep JavaScript's
//! `toISOString` shape (which no stock format string of the `time` crate prints for expanded
//! years), so the text is laid out here and the calendar arithmetic is the `time` crate's.

use rand::distr::Alphanumeric;
use rand::Rng;
use time::{Date, Month, OffsetDateTime};

/// Length of an object id, as Parse Server generates them.
const OBJECT_ID_LEN: usize = 10;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// The Julian day number of 1970-01-01, to turn `time`'s day numbers into days since the epoch.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The furthest a JavaScript `Date` reaches either side of the epoch (±100,000,000 days).
const JS_DATE_LIMIT_MS: i64 = 8_640_000_000_000_000;

/// A fresh object id: 10 characters from `[A-Za-z0-9]`.
///
/// Parse Server's ids have this shape and some clients (and Parse's own `userIdRegEx` for
/// class-level permissions) only accept it, so UUIDs are not an option.
pub fn new_object_id() -> String {
    rand::rng().sample_iter(&Alphanumeric).take(OBJECT_ID_LEN).map(char::from).collect()
}

/// `len` random characters from `[A-Za-z0-9]` (a generated username, a one-time token).
pub fn random_string(len: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// A fresh session token: `r:` followed by 32 lowercase hex digits.
///
/// The `r:` prefix is how Parse marks revocable sessions; SDKs look for it to decide whether
/// a token needs upgrading, so it is part of the format and not decoration.
pub fn new_session_token() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    let mut token = String::with_capacity(2 + 2 * bytes.len());
    token.push_str("r:");
    for byte in bytes {
        token.push(hex_digit(byte >> 4));
        token.push(hex_digit(byte & 0x0f));
    }
    token
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

/// The current time as a Parse ISO string (`2015-03-24T20:19:00.542Z`).
pub fn now_iso() -> String {
    iso_from_millis(now_millis())
}

/// The server's one clock: milliseconds since the Unix epoch (negative before 1970, so
/// timestamps stay ordered even on a clock set far back).
pub fn now_millis() -> i64 {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos.div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.
///
/// Years outside 0..=9999 use JavaScript's expanded form (`+010000-01-01T…`, `-000001-…`),
/// which is what `Date.prototype.toISOString` prints and what [`millis_from_iso`] reads back.
/// Instants beyond JavaScript's own range (±8.64e15 ms) are written as its last instant, since
/// no client could hold them anyway.
pub fn iso_from_millis(ms: i64) -> String {
    let ms = ms.clamp(-JS_DATE_LIMIT_MS, JS_DATE_LIMIT_MS);
    let date = Date::from_julian_day(i32::try_from(ms.div_euclid(MILLIS_PER_DAY) + UNIX_EPOCH_JULIAN_DAY).unwrap_or(0))
        .unwrap_or(Date::MIN);
    let in_day = ms.rem_euclid(MILLIS_PER_DAY);
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (second, milli) = (in_day / 1000 % 60, in_day % 1000);
    let year = date.year();
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", year.unsigned_abs())
    } else {
        format!("+{year:06}")
    };
    let (month, day) = (u8::from(date.month()), date.day());
    format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// Parses a Parse/ISO-8601 UTC timestamp into milliseconds since the Unix epoch.
///
/// Accepts what Parse clients actually send: `YYYY-MM-DDTHH:MM:SS` with an optional fraction
/// of any length (digits past milliseconds are truncated, as JavaScript's `Date.parse` does),
/// ending in `Z` or a `±HH:MM` offset; a bare `YYYY-MM-DD` (midnight UTC, as in JavaScript);
/// and the expanded `±YYYYYY` years [`iso_from_millis`] writes. Anything else, including
/// out-of-range fields such as `2015-02-30`, is `None`.
pub fn millis_from_iso(s: &str) -> Option<i64> {
    let mut cursor = Cursor { rest: s.as_bytes() };
    let year = match cursor.peek() {
        Some(b'+') => {
            cursor.bump();
            cursor.digits(6)?
        }
        Some(b'-') => {
            cursor.bump();
            -cursor.digits(6)?
        }
        _ => cursor.digits(4)?,
    };
    cursor.eat(b'-')?;
    let month = cursor.digits(2)?;
    cursor.eat(b'-')?;
    let day = cursor.digits(2)?;
    let days = days_since_epoch(year, month, day)?;
    if cursor.rest.is_empty() {
        return days.checked_mul(MILLIS_PER_DAY);
    }
    cursor.eat(b'T')?;
    let hour = cursor.digits(2)?;
    cursor.eat(b':')?;
    let minute = cursor.digits(2)?;
    cursor.eat(b':')?;
    let second = cursor.digits(2)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut milli = 0;
    if cursor.peek() == Some(b'.') {
        cursor.bump();
        let fraction = cursor.take_digits();
        if fraction.is_empty() {
            return None;
        }
        for place in 0..3 {
            milli = milli * 10 + fraction.get(place).map_or(0, |d| i64::from(d - b'0'));
        }
    }
    let offset_minutes = match cursor.peek()? {
        b'Z' => {
            cursor.bump();
            0
        }
        sign @ (b'+' | b'-') => {
            cursor.bump();
            let hours = cursor.digits(2)?;
            cursor.eat(b':')?;
            let minutes = cursor.digits(2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let total = hours * 60 + minutes;
            if sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    if !cursor.rest.is_empty() {
        return None;
    }
    let seconds_in_day = hour * 3600 + minute * 60 + second - offset_minutes * 60;
    days.checked_mul(MILLIS_PER_DAY)?.checked_add(seconds_in_day * 1000 + milli)
}

/// A byte cursor for [`millis_from_iso`]; the format is fixed-width, so this is simpler and
/// stricter than splitting on separators.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn bump(&mut self) {
        self.rest = &self.rest[1.min(self.rest.len())..];
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.bump())
    }

    /// Exactly `count` ASCII digits as a number.
    fn digits(&mut self, count: usize) -> Option<i64> {
        let digits = self.rest.get(..count)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.rest = &self.rest[count..];
        Some(digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    }

    /// All leading ASCII digits, however many.
    fn take_digits(&mut self) -> &'a [u8] {
        let len = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (digits, rest) = self.rest.split_at(len);
        self.rest = rest;
        digits
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date, or `None` when the date does not exist
/// (`2015-02-30`, month 13).
fn days_since_epoch(year: i64, month: i64, day: i64) -> Option<i64> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    Some(i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_ten_alphanumerics_and_differ() {
        let ids: Vec<String> = (0..200).map(|_| new_object_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 10, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn session_tokens_are_r_colon_and_32_lowercase_hex() {
        let a = new_session_token();
        let b = new_session_token();
        for token in [&a, &b] {
            let hex = token.strip_prefix("r:").expect(token);
            assert_eq!(hex.len(), 32, "{token}");
            assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
        assert_ne!(a, b);
    }

    #[test]
    fn formats_millis_as_parse_iso() {
        let cases: &[(i64, &str)] = &[
            (0, "1970-01-01T00:00:00.000Z"),
            (1_427_228_340_542, "2015-03-24T20:19:00.542Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_709_164_800_001, "2024-02-29T00:00:00.001Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
            (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (253_402_300_800_000, "+010000-01-01T00:00:00.000Z"),
            (-62_198_755_200_000, "-000001-01-01T00:00:00.000Z"),
            (4_102_444_799_000, "2099-12-31T23:59:59.000Z"),
        ];
        for &(ms, iso) in cases {
            assert_eq!(iso_from_millis(ms), iso, "{ms}");
            assert_eq!(millis_from_iso(iso), Some(ms), "{iso}");
        }
    }

    #[test]
    fn parses_the_variants_clients_send() {
        let base = 1_427_228_340_000;
        let cases: &[(&str, Option<i64>)] = &[
            ("2015-03-24T20:19:00.542Z", Some(base + 542)),
            ("2015-03-24T20:19:00Z", Some(base)),
            ("2015-03-24T20:19:00.5Z", Some(base + 500)),
            ("2015-03-24T20:19:00.54Z", Some(base + 540)),
            ("2015-03-24T20:19:00.542999Z", Some(base + 542)),
            ("2015-03-24T20:19:00.000000001Z", Some(base)),
            ("2015-03-24T22:19:00.542+02:00", Some(base + 542)),
            ("2015-03-24T18:49:00.542-01:30", Some(base + 542)),
            ("2015-03-24", Some(1_427_155_200_000)),
            ("1969-12-31T23:59:59.999Z", Some(-1)),
        ];
        for &(iso, want) in cases {
            assert_eq!(millis_from_iso(iso), want, "{iso}");
        }
    }

    #[test]
    fn rejects_malformed_timestamps() {
        let cases = [
            "",
            "2015",
            "2015-03-24T",
            "2015-03-24 20:19:00Z",
            "2015-03-24T20:19:00",
            "2015-03-24T20:19:00.Z",
            "2015-03-24T20:19:00.542",
            "2015-03-24T20:19:00.542ZZ",
            "2015-03-24T20:19Z",
            "2015-3-24T20:19:00Z",
            "2015-13-01T00:00:00Z",
            "2015-00-01T00:00:00Z",
            "2015-02-29T00:00:00Z",
            "2015-04-31T00:00:00Z",
            "2015-03-00T00:00:00Z",
            "2015-03-24T24:00:00Z",
            "2015-03-24T20:60:00Z",
            "2015-03-24T20:19:60Z",
            "2015-03-24T20:19:00+2:00",
            "2015-03-24T20:19:00+24:00",
            "2015-03-24T20:19:00.5x2Z",
            "２015-03-24T20:19:00Z",
            "abcd-ef-ghTij:kl:mnZ",
        ];
        for iso in cases {
            assert_eq!(millis_from_iso(iso), None, "{iso}");
        }
    }

    #[test]
    fn leap_days_follow_the_gregorian_rules() {
        for (year, leap) in [(2000, true), (1900, false), (2024, true), (2023, false), (0, true)] {
            let iso = format!("{year:04}-02-29");
            assert_eq!(millis_from_iso(&iso).is_some(), leap, "{iso}");
        }
        assert!(millis_from_iso("-000004-02-29").is_some());
        assert!(millis_from_iso("-000001-02-29").is_none());
    }

    #[test]
    fn instants_beyond_javascript_dates_are_clamped() {
        assert_eq!(iso_from_millis(i64::MAX), "+275760-09-13T00:00:00.000Z");
        assert_eq!(iso_from_millis(i64::MIN), "-271821-04-20T00:00:00.000Z");
    }

    #[test]
    fn now_is_a_parseable_recent_timestamp() {
        let now = now_iso();
        let ms = millis_from_iso(&now).expect(&now);
        assert!(ms > 1_700_000_000_000, "{now}");
        assert!(now_millis() >= ms, "{now}");
        assert_eq!(iso_from_millis(ms), now);
    }
}
