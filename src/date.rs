//! ISO 8601 creation dates: `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` or a bare
//! `YYYY-MM-DD`, as seconds since the Unix epoch in UTC (no offset means UTC).

/// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count from 1970-01-01 (the
/// inverse of `days_from_civil`, from the same algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The first instant (UTC) of the calendar month holding `time` (seconds
/// since the epoch).
pub fn start_of_month(time: i64) -> i64 {
    let (y, m, _) = civil_from_days(time.div_euclid(86_400));
    days_from_civil(y, m, 1) * 86_400
}

/// The first instant (UTC) of the calendar month after the one holding `time`.
pub fn start_of_next_month(time: i64) -> i64 {
    let (y, m, _) = civil_from_days(time.div_euclid(86_400));
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(y, m, 1) * 86_400
}

/// The first instant (UTC) of the calendar year holding `time`.
pub fn start_of_year(time: i64) -> i64 {
    let (y, _, _) = civil_from_days(time.div_euclid(86_400));
    days_from_civil(y, 1, 1) * 86_400
}

/// The first instant (UTC) of the calendar year after the one holding `time`.
pub fn start_of_next_year(time: i64) -> i64 {
    let (y, _, _) = civil_from_days(time.div_euclid(86_400));
    days_from_civil(y + 1, 1, 1) * 86_400
}

/// `time` as an RFC 3339 instant in UTC: `YYYY-MM-DDTHH:MM:SSZ` (Atom's
/// dates).
pub fn rfc3339(time: i64) -> String {
    let (y, m, d) = civil_from_days(time.div_euclid(86_400));
    let s = time.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The UTC day of `time` as `YYYY-MM-DD` (a sitemap's `lastmod`).
pub fn day(time: i64) -> String {
    let (y, m, d) = civil_from_days(time.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

fn number(s: &str, digits: usize) -> Option<i64> {
    (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

/// Parse a creation date; `None` when it is not one of the accepted forms.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = match text.find(['T', ' ']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let y = number(parts.next()?, 4)?;
    let m = number(parts.next()?, 2)?;
    let d = number(parts.next()?, 2)?;
    if parts.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut seconds = days_from_civil(y, m, d) * 86_400;
    if let Some(time) = rest {
        let (clock, offset) = split_offset(time)?;
        let clock = match clock.find('.') {
            Some(i)
                if clock[i + 1..].bytes().all(|b| b.is_ascii_digit()) && i + 1 < clock.len() =>
            {
                &clock[..i]
            }
            Some(_) => return None,
            None => clock,
        };
        let mut fields = clock.split(':');
        let h = number(fields.next()?, 2)?;
        let min = number(fields.next()?, 2)?;
        let s = match fields.next() {
            Some(s) => number(s, 2)?,
            None => 0,
        };
        if fields.next().is_some() || h > 23 || min > 59 || s > 60 {
            return None;
        }
        seconds += h * 3600 + min * 60 + s - offset;
    }
    Some(seconds)
}

/// Split `HH:MM:SS±HH:MM` / `...Z` into the clock and the offset in seconds.
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    match time.rfind(['+', '-']) {
        Some(i) => {
            let sign = if &time[i..=i] == "-" { -1 } else { 1 };
            let off = &time[i + 1..];
            let (h, m) = match off.split_once(':') {
                Some((h, m)) => (number(h, 2)?, number(m, 2)?),
                None if off.len() == 4 => (number(&off[..2], 2)?, number(&off[2..], 2)?),
                None => (number(off, 2)?, 0),
            };
            if h > 23 || m > 59 {
                return None;
            }
            Some((&time[..i], sign * (h * 3600 + m * 60)))
        }
        None => Some((time, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_days_are_written_back_in_utc() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "1969-12-31T12:30:05Z",
        ] {
            assert_eq!(rfc3339(parse(text).unwrap()), text);
        }
        assert_eq!(
            rfc3339(parse("2024-03-01T01:00:00+02:00").unwrap()),
            "2024-02-29T23:00:00Z"
        );
        assert_eq!(day(parse("2024-02-29T23:59:59Z").unwrap()), "2024-02-29");
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(parse("1970-01-01"), Some(0));
        assert_eq!(parse("1970-01-01T00:00:01"), Some(1));
        assert_eq!(parse("1970-01-01T00:00:01Z"), Some(1));
        assert_eq!(parse("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse("1969-12-31T23:00:00-01:00"), Some(0));
        assert_eq!(
            parse("2023-04-20T05:22:03.250"),
            parse("2023-04-20T05:22:03")
        );
        assert_eq!(parse("2000-03-01"), Some(951_868_800));
        assert_eq!(parse("2024-02-29"), Some(1_709_164_800));
    }

    #[test]
    fn month_and_year_starts() {
        let at = |t: &str| parse(t).unwrap();
        assert_eq!(
            start_of_next_month(at("2023-04-20T05:22:03")),
            at("2023-05-01")
        );
        assert_eq!(
            start_of_next_month(at("2023-12-31T23:59:59")),
            at("2024-01-01")
        );
        assert_eq!(start_of_next_month(at("2024-02-01")), at("2024-03-01"));
        assert_eq!(
            start_of_next_month(at("1969-12-31T12:00:00")),
            at("1970-01-01")
        );
        assert_eq!(start_of_next_month(at("1900-02-10")), at("1900-03-01"));
        assert_eq!(start_of_month(at("2023-04-20T05:22:03")), at("2023-04-01"));
        assert_eq!(start_of_month(at("2023-04-01")), at("2023-04-01"));
        assert_eq!(start_of_month(at("1969-12-31T12:00:00")), at("1969-12-01"));
        assert_eq!(start_of_year(at("2023-12-31T23:59:59")), at("2023-01-01"));
        assert_eq!(start_of_year(at("1969-06-30")), at("1969-01-01"));
        assert_eq!(start_of_next_year(at("2023-01-01")), at("2024-01-01"));
        assert_eq!(
            start_of_next_year(at("1969-12-31T23:59:59")),
            at("1970-01-01")
        );
        for days in -800_000..800_000i64 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            "2023",
            "2023-13-01",
            "2023-02-30",
            "2023-04-20T25:00:00",
            "yesterday",
            "2023-4-1",
            "2023-04-20T05:22:03+99:00",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
