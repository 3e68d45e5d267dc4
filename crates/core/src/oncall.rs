//! Who is on call: one rotation of support managers handing over every `period_days` at a local wall-clock time
//! in a time zone (so a weekly Monday 09:00 Berlin hand-off stays at 09:00 across daylight-saving changes),
//! overrides on top (holidays, swaps; the most recently created override wins where they overlap), and a
//! fallback manager for any gap (before the rotation starts, or with nobody in it).

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::ids::UserId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// In hand-off order.
    pub members: Vec<UserId>,
    /// The first hand-off, as local wall-clock time in `time_zone`.
    pub starts: NaiveDateTime,
    pub time_zone: Tz,
    pub period_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub user: UserId,
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
    /// Creation order: a later override wins where two overlap.
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule {
    pub rotation: Option<Rotation>,
    pub overrides: Vec<Override>,
    pub fallback: Option<UserId>,
}

/// Why a person is on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Override,
    /// The rotation, in the given shift (0 = the first shift after `starts`).
    Rotation {
        shift: i64,
    },
    Fallback,
}

impl Rotation {
    /// The shift `t` falls in, counted in local wall-clock time; `None` before the rotation starts.
    pub fn shift_at(&self, t: DateTime<Utc>) -> Option<i64> {
        if self.period_days == 0 {
            return None;
        }
        let local = t.with_timezone(&self.time_zone).naive_local();
        if local < self.starts {
            return None;
        }
        let period = TimeDelta::days(i64::from(self.period_days));
        Some((local - self.starts).num_seconds().div_euclid(period.num_seconds()))
    }

    pub fn member(&self, shift: i64) -> Option<UserId> {
        if self.members.is_empty() {
            return None;
        }
        self.members
            .get(shift.rem_euclid(self.members.len() as i64) as usize)
            .copied()
    }
}

impl Schedule {
    /// Who is on call at `t`, and why; `None` only when there is nobody at all (no fallback either).
    pub fn on_call_at(&self, t: DateTime<Utc>) -> Option<(UserId, Reason)> {
        if let Some(o) = self
            .overrides
            .iter()
            .filter(|o| o.starts <= t && t < o.ends)
            .max_by_key(|o| o.seq)
        {
            return Some((o.user, Reason::Override));
        }
        if let Some(r) = &self.rotation
            && let Some(shift) = r.shift_at(t)
            && let Some(user) = r.member(shift)
        {
            return Some((user, Reason::Rotation { shift }));
        }
        self.fallback.map(|u| (u, Reason::Fallback))
    }

    /// Whom an escalation raised at `t` goes to, in order, while nobody acknowledges it: every distinct candidate
    /// of the override on call, the rotation's manager now, the rotation's next manager and the fallback (each
    /// person once). An override does not push the rotation's current manager out of the chain.
    pub fn chain_at(&self, t: DateTime<Utc>) -> Vec<UserId> {
        let mut chain = Vec::new();
        let mut push = |u: Option<UserId>| {
            if let Some(u) = u
                && !chain.contains(&u)
            {
                chain.push(u);
            }
        };
        push(self.on_call_at(t).map(|(u, _)| u));
        if let Some(r) = &self.rotation {
            match r.shift_at(t) {
                Some(shift) => {
                    push(r.member(shift));
                    push(r.member(shift + 1));
                }
                // Before the rotation starts, its first manager is the next one.
                None => push(r.member(0)),
            }
        }
        push(self.fallback);
        chain
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};
    use proptest::prelude::*;

    use super::*;

    fn berlin_weekly(members: &[i64]) -> Rotation {
        Rotation {
            members: members.iter().map(|m| UserId(*m)).collect(),
            // Monday 2026-01-05 09:00 in Berlin.
            starts: NaiveDate::from_ymd_opt(2026, 1, 5)
                .and_then(|d| d.and_hms_opt(9, 0, 0))
                .unwrap_or_default(),
            time_zone: chrono_tz::Europe::Berlin,
            period_days: 7,
        }
    }

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, m, d, h, min, 0)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn hand_off_stays_at_local_time_across_dst() {
        let s = Schedule {
            rotation: Some(berlin_weekly(&[1, 2, 3])),
            overrides: vec![],
            fallback: Some(UserId(9)),
        };
        let berlin = chrono_tz::Europe::Berlin;
        // DST starts on 2026-03-29 in Europe. The Monday 09:00 hand-offs before and after it are both at 09:00 local.
        let (before, after) = (at(berlin, 2026, 3, 23, 9, 0), at(berlin, 2026, 3, 30, 9, 0));
        assert_eq!(
            (after - before).num_hours(),
            7 * 24 - 1,
            "one hour less across the change"
        );
        let who = |t| s.on_call_at(t).map(|(u, _)| u);
        assert_ne!(who(before - TimeDelta::minutes(1)), who(before));
        assert_ne!(who(after - TimeDelta::minutes(1)), who(after));
        assert_eq!(who(after - TimeDelta::minutes(1)), who(before));
        // In UTC the hand-off moved from 08:00 to 07:00.
        assert_eq!(after.format("%H:%M").to_string(), "07:00");
    }

    #[test]
    fn gaps_fall_back() {
        let berlin = chrono_tz::Europe::Berlin;
        let s = Schedule {
            rotation: Some(berlin_weekly(&[1, 2])),
            overrides: vec![],
            fallback: Some(UserId(9)),
        };
        assert_eq!(
            s.on_call_at(at(berlin, 2025, 12, 31, 12, 0)),
            Some((UserId(9), Reason::Fallback))
        );
        let empty = Schedule {
            rotation: Some(berlin_weekly(&[])),
            overrides: vec![],
            fallback: Some(UserId(9)),
        };
        assert_eq!(
            empty.on_call_at(at(berlin, 2026, 6, 1, 12, 0)),
            Some((UserId(9), Reason::Fallback))
        );
        assert_eq!(Schedule::default().on_call_at(Utc::now()), None);
    }

    #[test]
    fn escalation_chain_is_on_call_then_next_then_fallback() {
        let berlin = chrono_tz::Europe::Berlin;
        let t = at(berlin, 2026, 1, 6, 12, 0);
        let s = Schedule {
            rotation: Some(berlin_weekly(&[1, 2, 3])),
            overrides: vec![],
            fallback: Some(UserId(9)),
        };
        assert_eq!(s.chain_at(t), vec![UserId(1), UserId(2), UserId(9)]);
        let solo = Schedule {
            rotation: Some(berlin_weekly(&[1])),
            overrides: vec![],
            fallback: Some(UserId(9)),
        };
        assert_eq!(solo.chain_at(t), vec![UserId(1), UserId(9)]);
        let covered = Schedule {
            overrides: vec![Override {
                user: UserId(7),
                starts: t - TimeDelta::hours(1),
                ends: t + TimeDelta::hours(1),
                seq: 1,
            }],
            ..s.clone()
        };
        assert_eq!(covered.chain_at(t), vec![UserId(7), UserId(1), UserId(2), UserId(9)]);
        // The override puts the rotation's *next* manager on call: the current one still follows.
        let swapped = Schedule {
            overrides: vec![Override {
                user: UserId(2),
                starts: t - TimeDelta::hours(1),
                ends: t + TimeDelta::hours(1),
                seq: 1,
            }],
            rotation: Some(berlin_weekly(&[1, 2])),
            fallback: None,
        };
        assert_eq!(swapped.chain_at(t), vec![UserId(2), UserId(1)]);
    }

    fn zones() -> impl Strategy<Value = Tz> {
        prop::sample::select(vec![
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Sydney,
            chrono_tz::Asia::Kolkata,
            chrono_tz::UTC,
        ])
    }

    proptest! {
        /// Every shift belongs to the member whose turn it is, at the same local time, whatever the zone and DST.
        #[test]
        fn shifts_follow_local_wall_clock(tz in zones(), n in 1usize..6, period in 1u32..15, shift in 0i64..200, minute in 1i64..(24 * 60)) {
            let members: Vec<UserId> = (1..=n as i64).map(UserId).collect();
            let start = NaiveDate::from_ymd_opt(2026, 1, 5).and_then(|d| d.and_hms_opt(9, 0, 0)).unwrap_or_default();
            let rotation = Rotation { members: members.clone(), starts: start, time_zone: tz, period_days: period };
            let s = Schedule { rotation: Some(rotation), overrides: vec![], fallback: Some(UserId(99)) };
            // A local time inside the shift (minutes after its hand-off, before the next one).
            let local = start + TimeDelta::days(shift * i64::from(period)) + TimeDelta::minutes(minute.min(i64::from(period) * 24 * 60 - 1));
            if let Some(t) = tz.from_local_datetime(&local).earliest() {
                let got = s.on_call_at(t.with_timezone(&Utc));
                prop_assert_eq!(got.map(|g| g.0), Some(members[(shift as usize) % n]));
            }
        }

        /// Overrides win over the rotation; where they overlap, the latest created wins; outside them the rotation holds.
        #[test]
        fn overrides_layer(a_start in 0i64..500, a_len in 1i64..500, b_start in 0i64..500, b_len in 1i64..500, probe in 0i64..1000) {
            let base = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).single().unwrap_or_default();
            let h = |x: i64| base + TimeDelta::hours(x);
            let a = Override { user: UserId(50), starts: h(a_start), ends: h(a_start + a_len), seq: 1 };
            let b = Override { user: UserId(60), starts: h(b_start), ends: h(b_start + b_len), seq: 2 };
            let s = Schedule { rotation: Some(berlin_weekly(&[1, 2, 3])), overrides: vec![a.clone(), b.clone()], fallback: Some(UserId(9)) };
            let t = h(probe);
            let inside = |o: &Override| o.starts <= t && t < o.ends;
            let got = s.on_call_at(t).map(|g| g.0);
            if inside(&b) {
                prop_assert_eq!(got, Some(UserId(60)));
            } else if inside(&a) {
                prop_assert_eq!(got, Some(UserId(50)));
            } else {
                prop_assert!(matches!(got, Some(UserId(1..=3))));
            }
        }

        /// Over random rotations and overrides: the chain starts with whoever is on call, never repeats a person,
        /// always holds the rotation's current manager, and is empty only when the schedule names nobody.
        #[test]
        fn chains_are_complete_and_distinct(
            members in prop::collection::vec(1i64..6, 0..5),
            overrides in prop::collection::vec((1i64..8, 0i64..500, 1i64..300), 0..4),
            fallback in prop::option::of(1i64..8),
            probe in -200i64..1000,
        ) {
            let base = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).single().unwrap_or_default();
            let h = |x: i64| base + TimeDelta::hours(x);
            let s = Schedule {
                rotation: Some(berlin_weekly(&members)),
                overrides: overrides.iter().enumerate().map(|(i, (u, start, len))| Override {
                    user: UserId(*u), starts: h(*start), ends: h(start + len), seq: i as i64,
                }).collect(),
                fallback: fallback.map(UserId),
            };
            let t = h(probe);
            let chain = s.chain_at(t);
            let mut distinct = chain.clone();
            distinct.sort();
            distinct.dedup();
            prop_assert_eq!(distinct.len(), chain.len(), "a person repeats: {:?}", chain);
            // Before the rotation starts with no fallback nobody is on call, but the rotation's first manager is told.
            if let Some((on_call, _)) = s.on_call_at(t) {
                prop_assert_eq!(chain.first().copied(), Some(on_call));
            }
            let rotation = s.rotation.as_ref().map(|r| r.member(r.shift_at(t).unwrap_or(0)));
            if let Some(Some(current)) = rotation {
                prop_assert!(chain.contains(&current), "{:?} lacks {:?}", chain, current);
            }
            let anybody = !members.is_empty() || fallback.is_some()
                || s.overrides.iter().any(|o| o.starts <= t && t < o.ends);
            prop_assert_eq!(chain.is_empty(), !anybody);
        }

        /// Somebody is always on call when there is a fallback.
        #[test]
        fn never_nobody_with_a_fallback(secs in -100_000_000i64..100_000_000i64, n in 0usize..4) {
            let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default() + TimeDelta::seconds(secs);
            let members: Vec<i64> = (1..=n as i64).collect();
            let s = Schedule { rotation: Some(berlin_weekly(&members)), overrides: vec![], fallback: Some(UserId(9)) };
            prop_assert!(s.on_call_at(t).is_some());
        }
    }
}
