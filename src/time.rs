//! UTC timestamps: milliseconds since the Unix epoch, shown as RFC 3339 and stored as
//! `DATETIME(3)` in UTC (every connection runs with `time_zone = '+00:00'`).

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_millis() as i64)
    }

    pub fn from_unix_seconds(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Civil date and time in UTC: (year, month, day, hour, minute, second, millisecond).
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let ms = self.0.rem_euclid(1000) as u32;
        let secs = self.0.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, sod / 3600, (sod / 60) % 60, sod % 60, ms)
    }

    pub fn from_civil(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> Self {
        let days = days_from_civil(y, mo, d);
        Timestamp(
            ((days * 86_400) + (h as i64) * 3600 + (mi as i64) * 60 + s as i64) * 1000 + ms as i64,
        )
    }

    /// `2024-11-25T13:45:11.000Z`
    /// `2026-11-25T09:30:00Z`, `...+03:00`, with or without fractions.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        s.trim()
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| Timestamp(t.as_millisecond()))
    }

    pub fn to_rfc3339(self) -> String {
        let (y, mo, d, h, mi, s, ms) = self.to_civil();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    pub fn to_mysql(self) -> mysql::Value {
        let (y, mo, d, h, mi, s, ms) = self.to_civil();
        mysql::Value::Date(
            y as u16,
            mo as u8,
            d as u8,
            h as u8,
            mi as u8,
            s as u8,
            ms * 1000,
        )
    }

    pub fn from_mysql(v: &mysql::Value) -> Option<Self> {
        match v {
            mysql::Value::Date(y, mo, d, h, mi, s, us) => {
                if *y == 0 {
                    return None; // zero dates exist in host tables
                }
                Some(Self::from_civil(
                    *y as i64,
                    *mo as u32,
                    *d as u32,
                    *h as u32,
                    *mi as u32,
                    *s as u32,
                    us / 1000,
                ))
            }
            mysql::Value::Bytes(b) => parse_mysql_text(std::str::from_utf8(b).ok()?),
            _ => None,
        }
    }
}

fn parse_mysql_text(s: &str) -> Option<Timestamp> {
    // "YYYY-MM-DD HH:MM:SS[.ffffff]" as the text protocol sends it.
    let (date, time) = s.split_once(' ').unwrap_or((s, "00:00:00"));
    let mut dp = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, mo, d) = (dp.next()??, dp.next()??, dp.next()??);
    if y == 0 {
        return None;
    }
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut tp = hms.split(':').map(|p| p.parse::<u32>().ok());
    let (h, mi, sec) = (tp.next()??, tp.next()??, tp.next()??);
    let ms = format!("{frac:0<3}")[..3].parse::<u32>().ok()?;
    Some(Timestamp::from_civil(
        y, mo as u32, d as u32, h, mi, sec, ms,
    ))
}

/// Reads `DATETIME` values (binary or text protocol); a NULL or zero date is refused.
pub struct TimestampIr(Timestamp);

impl TryFrom<mysql::Value> for TimestampIr {
    type Error = mysql::FromValueError;
    fn try_from(v: mysql::Value) -> Result<Self, Self::Error> {
        Timestamp::from_mysql(&v)
            .map(TimestampIr)
            .ok_or(mysql::FromValueError(v))
    }
}

impl From<TimestampIr> for Timestamp {
    fn from(ir: TimestampIr) -> Self {
        ir.0
    }
}

impl mysql::prelude::FromValue for Timestamp {
    type Intermediate = TimestampIr;
}

impl From<Timestamp> for mysql::Value {
    fn from(t: Timestamp) -> Self {
        t.to_mysql()
    }
}

// Howard Hinnant's algorithms (public domain), exact for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_a_known_instant() {
        assert_eq!(
            Timestamp::from_unix_seconds(1732542311).to_rfc3339(),
            "2024-11-25T13:45:11.000Z"
        );
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn civil_round_trip_over_leap_years() {
        for ms in [
            0i64,
            951_782_400_123,
            1_709_164_800_999,
            4_102_444_799_000,
            -86_400_000,
        ] {
            let (y, mo, d, h, mi, s, m) = Timestamp(ms).to_civil();
            assert_eq!(Timestamp::from_civil(y, mo, d, h, mi, s, m), Timestamp(ms));
        }
    }

    #[test]
    fn mysql_text_datetime_parses_and_zero_date_is_none() {
        assert_eq!(
            parse_mysql_text("2024-11-25 13:45:11.250"),
            Some(Timestamp(1732542311250))
        );
        assert_eq!(parse_mysql_text("0000-00-00 00:00:00"), None);
    }
}
