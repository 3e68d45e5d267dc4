use chrono::{TimeDelta, TimeZone};
use proptest::prelude::*;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0)
        .single()
        .expect("a valid time")
}

fn filters(q: &str) -> Vec<(bool, Filter)> {
    parse(q, now())
        .expect("parses")
        .clauses
        .into_iter()
        .map(|c| (c.negated, c.filter))
        .collect()
}

fn error(q: &str) -> QueryError {
    parse(q, now()).expect_err("refused")
}

#[test]
fn words_phrases_and_numbers() {
    assert_eq!(
        filters(r#"webhook "bad gateway" 502 -spam retry*"#),
        vec![
            (false, Filter::Text(TextField::Any, Text::Word("webhook".into()))),
            (false, Filter::Text(TextField::Any, Text::Phrase("bad gateway".into()))),
            (false, Filter::Number(502)),
            (true, Filter::Text(TextField::Any, Text::Word("spam".into()))),
            (false, Filter::Text(TextField::Any, Text::Word("retry".into()))),
        ]
    );
    // Short words match only whole.
    assert_eq!(
        filters("ab* x"),
        vec![
            (false, Filter::Text(TextField::Any, Text::Phrase("ab".into()))),
            (false, Filter::Text(TextField::Any, Text::Phrase("x".into()))),
        ]
    );
    // Punctuation alone searches nothing; a URL is a word, not a keyword; 007 is a word.
    assert_eq!(filters("-- !!! ..."), vec![]);
    assert_eq!(
        filters("https://acme.example/x 007"),
        vec![
            (
                false,
                Filter::Text(TextField::Any, Text::Word("https://acme.example/x".into()))
            ),
            (false, Filter::Text(TextField::Any, Text::Word("007".into()))),
        ]
    );
}

#[test]
fn clauses_keep_their_text() {
    let q = parse(r#"  webhook -organization:"Acme Inc"  status<solved"#, now()).expect("parses");
    let sources: Vec<&str> = q.clauses.iter().map(|c| c.source.as_str()).collect();
    assert_eq!(sources, vec!["webhook", "-organization:\"Acme Inc\"", "status<solved"]);
}

#[test]
fn keywords() {
    let q = parse(
        r#"type:ticket status<solved priority>=HIGH organization:"Acme Integrations" requester:bob@acme.example
           assignee:none assignee:me group:Partners -tags:spam form:Partner via:mail subject:outage
           description:"stack trace" escalated:true order_by:updated sort:asc"#,
        now(),
    )
    .expect("parses");
    assert_eq!(q.result_type, Some(ResultType::Ticket));
    assert_eq!(q.sort_field, Some(SortField::Updated));
    assert_eq!(q.descending, Some(false));
    let got: Vec<_> = q.clauses.iter().map(|c| (c.negated, c.filter.clone())).collect();
    assert_eq!(
        got,
        vec![
            (false, Filter::Status(Cmp::Lt, TicketStatus::Solved)),
            (false, Filter::Priority(Cmp::Ge, Priority::High)),
            (false, Filter::Organization(Person::Named("Acme Integrations".into()))),
            (false, Filter::Requester(Person::Named("bob@acme.example".into()))),
            (false, Filter::Assignee(Person::Nobody)),
            (false, Filter::Assignee(Person::Me)),
            (false, Filter::Group(Person::Named("Partners".into()))),
            (true, Filter::Tag("spam".into())),
            (false, Filter::Form("Partner".into())),
            (false, Filter::Via("email".into())),
            (false, Filter::Text(TextField::Subject, Text::Word("outage".into()))),
            (
                false,
                Filter::Text(TextField::Description, Text::Phrase("stack trace".into()))
            ),
            (false, Filter::Escalated(true)),
        ]
    );
}

#[test]
fn dates() {
    let day = |d: u32| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).single();
    let bound = |q: &str| match filters(q).pop() {
        Some((_, Filter::Created(b) | Filter::Updated(b) | Filter::Solved(b))) => b,
        other => panic!("not a date filter: {other:?}"),
    };
    assert_eq!(bound("created>2026-01-01"), DateBound { from: day(2), to: None });
    assert_eq!(bound("created>=2026-01-01"), DateBound { from: day(1), to: None });
    assert_eq!(bound("created<2026-01-02"), DateBound { from: None, to: day(2) });
    assert_eq!(bound("solved<=2026-01-01"), DateBound { from: None, to: day(2) });
    assert_eq!(
        bound("created:2026-01-01"),
        DateBound {
            from: day(1),
            to: day(2)
        }
    );
    let three_days_ago = now() - TimeDelta::days(3);
    assert_eq!(
        bound("updated<3days"),
        DateBound {
            from: None,
            to: Some(three_days_ago)
        }
    );
    assert_eq!(
        bound("updated>3days"),
        DateBound {
            from: Some(three_days_ago),
            to: None
        }
    );
    assert_eq!(bound("updated>90minutes").from, Some(now() - TimeDelta::minutes(90)));
    assert_eq!(bound("updated>1hour").from, Some(now() - TimeDelta::hours(1)));
    assert_eq!(bound("updated>2weeks").from, Some(now() - TimeDelta::weeks(2)));
    assert_eq!(
        bound("updated>1month").from,
        Utc.with_ymd_and_hms(2026, 11, 4, 12, 0, 0).single()
    );
    assert_eq!(
        bound("updated>2years").from,
        Utc.with_ymd_and_hms(2024, 12, 4, 12, 0, 0).single()
    );
    let moment = Utc.with_ymd_and_hms(2026, 1, 1, 9, 30, 0).single().expect("valid");
    assert_eq!(
        bound("created>=2026-01-01T09:30:00Z"),
        DateBound {
            from: Some(moment),
            to: None
        }
    );
}

#[test]
fn other_keywords_are_field_keys() {
    assert_eq!(
        filters(r#"type:organization support_level:gold partner_track:"Technology Partner""#),
        vec![
            (false, Filter::Field("support_level".into(), "gold".into())),
            (
                false,
                Filter::Field("partner_track".into(), "Technology Partner".into())
            ),
        ]
    );
    // Keywords are read in lower case, as keys are; one too long to be a key is refused here.
    assert_eq!(
        filters("Tier:Gold"),
        vec![(false, Filter::Field("tier".into(), "Gold".into()))]
    );
    let e = error(&format!("webhook {}:red", "k".repeat(65)));
    assert_eq!(e.position, 9);
    assert!(e.message.contains("unknown keyword"), "{e}");
}

#[test]
fn errors_say_where_and_what() {
    let e = error("status:opened");
    assert_eq!(e.position, 8);
    assert!(e.message.contains("a status expected"), "{e}");
    let e = error(r#"subject:"half open"#);
    assert_eq!(e.position, 9);
    assert!(e.message.contains("closing"), "{e}");
    assert_eq!(error("created>yesterday").position, 9);
    assert_eq!(error("created>3fortnights").position, 9);
    assert_eq!(error("tags: x").position, 6);
    assert_eq!(error("a - b").position, 3);
    assert!(error("organization<acme").message.contains("takes ':'"));
    assert!(error("-type:ticket").message.contains("cannot be negated"));
    assert!(error("type:group").message.contains("ticket, user, organization"));
    assert!(error("sort:up").message.contains("asc or desc"));
    assert!(error(&"a ".repeat(40)).message.contains("at most 32 terms"));
    assert_eq!(error(&"x".repeat(1001)).position, 1001);
    assert_eq!(error("a\u{0}b").position, 2);
    assert!(error("tags:x\u{7}").message.contains("control characters"));
    // Positions count characters, not bytes.
    assert_eq!(error("ünïcødé status:red").position, 16);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// No input makes the parser panic, and a refusal points inside the query (or just after it).
    #[test]
    fn never_panics(input in "\\PC{0,80}") {
        if let Err(e) = parse(&input, now()) {
            prop_assert!(e.position >= 1 && e.position <= input.chars().count() + 1, "{e:?} for {input:?}");
        }
    }

    /// Queries built from the language's own pieces parse, or are refused with a position.
    #[test]
    fn grammar_pieces(pieces in prop::collection::vec(prop_oneof![
        Just("status:open".to_owned()), Just("status<solved".to_owned()), Just("-tags:x".to_owned()),
        Just("\"a phrase\"".to_owned()), Just("created>3days".to_owned()), Just("priority>=high".to_owned()),
        Just("-".to_owned()), Just("\"".to_owned()), Just(":".to_owned()), Just("<=".to_owned()),
        Just("organization:".to_owned()), "[a-z:<>=\"*-]{1,8}".prop_map(|s| s),
    ], 0..12)) {
        let input = pieces.join(" ");
        if let Err(e) = parse(&input, now()) {
            prop_assert!(e.position >= 1 && e.position <= input.chars().count() + 1, "{e:?} for {input:?}");
        }
    }
}
