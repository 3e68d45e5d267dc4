//! Date values of `created`, `updated` and `solved`: a day (`2026-01-31`), a moment (`2026-01-31T09:30:00Z`) or a
//! time back from now (`3days`, `12hours`), turned into the range of moments a filter accepts.
//!
//! A relative value names a moment (`3days` is three days before now), compared like any date:
//! `updated<3days` is "last updated before three days ago" (stale tickets), `created>2hours` "created in the
//! last two hours". `created:3days` means the same as `created>3days` (since then).

use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};

use super::Cmp;

/// The moments a date filter accepts: `from <= t < to`, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateBound {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl DateBound {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| f <= t) && self.to.is_none_or(|to| t < to)
    }
}

const UNITS: &str = "minutes, hours, days, weeks, months, years";

/// The moment `amount` `unit`s before `now`.
fn back(now: DateTime<Utc>, amount: u32, unit: &str) -> Option<DateTime<Utc>> {
    let minutes = |n: i64| now.checked_sub_signed(TimeDelta::try_minutes(n)?);
    match unit.trim_end_matches('s') {
        "minute" | "min" => minutes(i64::from(amount)),
        "hour" => minutes(i64::from(amount) * 60),
        "day" => minutes(i64::from(amount) * 60 * 24),
        "week" => minutes(i64::from(amount) * 60 * 24 * 7),
        "month" => now.checked_sub_months(Months::new(amount)),
        "year" => now.checked_sub_months(Months::new(amount.checked_mul(12)?)),
        _ => None,
    }
}

/// The range `cmp value` accepts; the message says what was expected.
pub(super) fn bound(cmp: Cmp, value: &str, now: DateTime<Utc>) -> Result<DateBound, String> {
    let expected = || format!("a date expected: YYYY-MM-DD, an RFC 3339 time, or a number of {UNITS} (e.g. 3days)");
    let range = |start: DateTime<Utc>, end: DateTime<Utc>| {
        Ok(match cmp {
            Cmp::Eq => DateBound {
                from: Some(start),
                to: Some(end),
            },
            Cmp::Lt => DateBound {
                from: None,
                to: Some(start),
            },
            Cmp::Le => DateBound {
                from: None,
                to: Some(end),
            },
            Cmp::Gt => DateBound {
                from: Some(end),
                to: None,
            },
            Cmp::Ge => DateBound {
                from: Some(start),
                to: None,
            },
        })
    };
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let start = day.and_hms_opt(0, 0, 0).ok_or_else(expected)?.and_utc();
        let end = day
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .ok_or_else(expected)?
            .and_utc();
        return range(start, end);
    }
    if let Ok(moment) = DateTime::parse_from_rfc3339(value) {
        let start = moment.with_timezone(&Utc);
        let end = start
            .checked_add_signed(TimeDelta::microseconds(1))
            .ok_or_else(expected)?;
        return range(start, end);
    }
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 6 {
        return Err(expected());
    }
    let amount: u32 = value[..digits].parse().map_err(|_| expected())?;
    let moment = back(now, amount, &value[digits..]).ok_or_else(expected)?;
    Ok(match cmp {
        Cmp::Eq | Cmp::Gt | Cmp::Ge => DateBound {
            from: Some(moment),
            to: None,
        },
        Cmp::Lt | Cmp::Le => DateBound {
            from: None,
            to: Some(moment),
        },
    })
}
