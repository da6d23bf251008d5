//! How every JSON body is read (issue 11, item 4): a member given twice is refused with its
//! JSON pointer (RFC 8259 §4, RFC 7493 §2.3); a number is read exactly from its text and
//! refused at its field when it cannot be held exactly or lies outside its bound; a body in
//! another charset or content coding is a 415 (RFC 9110); a required text that is only
//! whitespace is refused (C1, A9).

use crate::common::{today, valid_application};
use certflow_domain::intake::form::parse_json;
use certflow_domain::media::readable_media_type;
use certflow_domain::review::{ReviewRequest, Settings};
use certflow_domain::{ErrorCode, FieldError, IntakeConfig, validate};
use proptest::prelude::*;
use serde_json::{Value, json};

fn duplicate_at(text: &str) -> Option<String> {
    parse_json(text.as_bytes()).err().and_then(|e| e.duplicate)
}

fn parsed(text: &str) -> Value {
    parse_json(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

fn fields(errors: &[FieldError]) -> Vec<(&str, ErrorCode)> {
    errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
}

#[test]
fn rfc8259_duplicate_member_is_refused_with_its_pointer() {
    for (text, pointer) in [
        (r#"{"a": 1, "a": 1}"#, "/a"),
        (r#"{"a": 1, "b": 2, "a": 3}"#, "/a"),
        (
            r#"{"organization": {"legal_name": "A", "legal_name": "B"}}"#,
            "/organization/legal_name",
        ),
        (
            r#"{"sites": [{"personnel": {"full_time": 120, "temporary": 5, "full_time": 5000}}]}"#,
            "/sites/0/personnel/full_time",
        ),
        (r#"[{"a": 1}, {"a": 1, "a": 2}]"#, "/1/a"),
        (
            r#"[[[{"x": {"y": [0, {"z": 1, "z": 1}]}}]]]"#,
            "/0/0/0/x/y/1/z",
        ),
        // Names compare after unescaping.
        (r#"{"scope": "a", "sc\u006fpe": "b"}"#, "/scope"),
        (r#"{"": 1, "": 2}"#, "/"),
        (r#"{"o": {"a": {}, "a": []}}"#, "/o/a"),
    ] {
        assert_eq!(duplicate_at(text).as_deref(), Some(pointer), "{text}");
    }
}

#[test]
fn rfc6901_the_duplicate_pointer_escapes_tilde_and_slash() {
    assert_eq!(
        duplicate_at(r#"{"a/b": {"m~n": 1, "m~n": 2}}"#).as_deref(),
        Some("/a~1b/m~0n")
    );
    assert_eq!(
        duplicate_at(r#"{"~1": {"/": 1, "/": 2}}"#).as_deref(),
        Some("/~01/~1")
    );
}

#[test]
fn rfc8259_the_same_name_in_different_objects_is_fine() {
    assert_eq!(
        parsed(r#"{"a": {"name": 1}, "b": {"name": 1}, "c": [{"name": 1}, {"name": 2}]}"#),
        json!({"a": {"name": 1}, "b": {"name": 1}, "c": [{"name": 1}, {"name": 2}]})
    );
    let application = valid_application();
    assert_eq!(parsed(&application.to_string()), application);
}

#[test]
fn rfc8259_syntax_errors_keep_their_position_and_have_no_pointer() {
    let e = parse_json(b"{\n  \"a\": ,\n}").err();
    assert_eq!(
        e.as_ref().map(|e| (e.line, e.column, e.duplicate.clone())),
        Some((2, 8, None))
    );
    // The first problem in the text is the one reported.
    let e = parse_json(br#"{"a": 1, "a": 2, oops}"#).err();
    assert_eq!(e.and_then(|e| e.duplicate).as_deref(), Some("/a"));
    let e = parse_json(br#"{"a": oops, "a": 2}"#).err();
    assert_eq!(e.map(|e| e.duplicate), Some(None));
}

proptest! {
    /// Any object whose members are named from a small alphabet: refused exactly when a name
    /// repeats, at the first repeated name.
    #[test]
    fn rfc8259_an_object_is_refused_iff_a_name_repeats(
        names in proptest::collection::vec("[ab~/]{0,2}", 0..6),
        nested in any::<bool>(),
    ) {
        let members: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{}: {i}", Value::from(n.as_str())))
            .collect();
        let object = format!("{{{}}}", members.join(", "));
        let text = if nested { format!("[0, {{\"k\": {object}}}]") } else { object };
        let first_repeat = names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
            .map(|(_, n)| n.replace('~', "~0").replace('/', "~1"));
        let expected = first_repeat.map(|n| {
            if nested { format!("/1/k/{n}") } else { format!("/{n}") }
        });
        prop_assert_eq!(duplicate_at(&text), expected);
    }
}

/// The example application with `from` replaced by `to` in its text, parsed.
fn application_with(from: &str, to: &str) -> Value {
    let text = valid_application().to_string();
    assert!(text.contains(from), "{from}");
    parsed(&text.replacen(from, to, 1))
}

#[test]
fn i1_numbers_that_cannot_be_held_exactly_are_refused_at_their_field() {
    let full_time = "/sites/0/personnel/full_time";
    let hours = "/sites/0/personnel/part_time/0/weekly_hours";
    for (from, to, field, code) in [
        (
            r#""full_time":120"#,
            r#""full_time":1e-400"#,
            full_time,
            ErrorCode::InvalidType,
        ),
        (
            r#""full_time":120"#,
            r#""full_time":0.5"#,
            full_time,
            ErrorCode::InvalidType,
        ),
        (
            r#""full_time":120"#,
            r#""full_time":120.00000000000000000001"#,
            full_time,
            ErrorCode::InvalidType,
        ),
        (
            r#""full_time":120"#,
            r#""full_time":4294967295"#,
            full_time,
            ErrorCode::OutOfRange,
        ),
        (
            r#""full_time":120"#,
            r#""full_time":1e400"#,
            full_time,
            ErrorCode::OutOfRange,
        ),
        (
            r#""weekly_hours":20"#,
            r#""weekly_hours":1e-28"#,
            hours,
            ErrorCode::InvalidValue,
        ),
        (
            r#""weekly_hours":20"#,
            r#""weekly_hours":1e-400"#,
            hours,
            ErrorCode::InvalidValue,
        ),
        (
            r#""weekly_hours":20"#,
            r#""weekly_hours":20.125"#,
            hours,
            ErrorCode::InvalidValue,
        ),
        (
            r#""weekly_hours":20"#,
            r#""weekly_hours":168.01"#,
            hours,
            ErrorCode::OutOfRange,
        ),
        (
            r#""weekly_hours":20"#,
            r#""weekly_hours":0"#,
            hours,
            ErrorCode::OutOfRange,
        ),
    ] {
        let errors = validate(
            &application_with(from, to),
            today(),
            &IntakeConfig::default(),
        )
        .err()
        .unwrap_or_default();
        assert!(fields(&errors).contains(&(field, code)), "{to}: {errors:?}");
    }
}

#[test]
fn i1_a_site_has_at_most_a_million_people_in_all() {
    // Every figure within its own bound, the site's sum beyond one million.
    let doc = application_with(r#""full_time":120"#, r#""full_time":1000000"#);
    let errors = validate(&doc, today(), &IntakeConfig::default())
        .err()
        .unwrap_or_default();
    assert_eq!(
        fields(&errors),
        vec![("/sites/0/personnel", ErrorCode::OutOfRange)],
        "{errors:?}"
    );
    let mut doc = valid_application();
    crate::common::set(&mut doc, "/sites/0/personnel/full_time", json!(999_982));
    assert!(validate(&doc, today(), &IntakeConfig::default()).is_ok());
}

#[test]
fn i1_exact_forms_of_numbers_are_read() {
    let doc = application_with(r#""full_time":120"#, r#""full_time":1.2e2"#);
    let doc = parsed(&doc.to_string().replacen(
        r#""weekly_hours":20"#,
        r#""weekly_hours":37.50"#,
        1,
    ));
    let accepted = validate(&doc, today(), &IntakeConfig::default());
    let site = accepted
        .as_ref()
        .ok()
        .map(|a| &a.application.sites[0].personnel);
    assert_eq!(site.map(|p| p.full_time), Some(120), "{accepted:?}");
    assert_eq!(site.map(|p| p.part_time[0].weekly_hours), Some(37.5));
}

#[test]
fn a1_settings_numbers_that_cannot_be_held_exactly_are_refused_at_their_field() {
    for (text, field, code) in [
        (
            r#"{"full_time_hours": 1e-28}"#,
            "/full_time_hours",
            ErrorCode::InvalidValue,
        ),
        (
            r#"{"full_time_hours": 1e-400}"#,
            "/full_time_hours",
            ErrorCode::InvalidValue,
        ),
        (
            r#"{"full_time_hours": 37.555}"#,
            "/full_time_hours",
            ErrorCode::InvalidValue,
        ),
        (
            r#"{"full_time_hours": 1e400}"#,
            "/full_time_hours",
            ErrorCode::OutOfRange,
        ),
        // What 1e-28 used to be read as: a week too short to convert part-time staff with.
        (
            r#"{"full_time_hours": 0.01}"#,
            "/full_time_hours",
            ErrorCode::OutOfRange,
        ),
        (
            r#"{"full_time_hours": 61}"#,
            "/full_time_hours",
            ErrorCode::OutOfRange,
        ),
        (
            r#"{"max_reduction_percent": 1e-400}"#,
            "/max_reduction_percent",
            ErrorCode::InvalidType,
        ),
        (
            r#"{"max_reduction_percent": 4294967295}"#,
            "/max_reduction_percent",
            ErrorCode::OutOfRange,
        ),
        (
            r#"{"isms_time_table": {"progression": {"days_per_step": 1e-400}}}"#,
            "/isms_time_table/progression/days_per_step",
            ErrorCode::InvalidValue,
        ),
        (
            r#"{"isms_time_table": {"progression": {"days_per_step": 0.50000000000000000001}}}"#,
            "/isms_time_table/progression/days_per_step",
            ErrorCode::InvalidValue,
        ),
        (
            r#"{"isms_time_table": {"progression": {"personnel_per_step": 4294967295}}}"#,
            "/isms_time_table/progression/personnel_per_step",
            ErrorCode::OutOfRange,
        ),
        (
            r#"{"certificate": {"suspension_months": 6.5}}"#,
            "/certificate/suspension_months",
            ErrorCode::InvalidType,
        ),
        (
            r#"{"certificate": {"max_gap_months": 4294967311}}"#,
            "/certificate/max_gap_months",
            ErrorCode::OutOfRange,
        ),
    ] {
        let errors = Settings::from_json(&parsed(text)).err().unwrap_or_default();
        assert_eq!(fields(&errors), vec![(field, code)], "{text}: {errors:?}");
    }
    let exact = Settings::from_json(&parsed(
        r#"{"full_time_hours": 37.50, "max_reduction_percent": 3.0e1,
            "certificate": {"suspension_months": 6.0}}"#,
    ));
    assert_eq!(
        exact.map(|s| (
            s.full_time_hours.centi(),
            s.max_reduction_percent,
            s.certificate.suspension_months
        )),
        Ok((3750, 30, 6))
    );
}

#[test]
fn c1_settings_refuse_a_blank_cb_name_and_address() {
    let errors = Settings::from_json(&json!({
        "certificate": {"certification_body": {"name": " ", "address": "", "mark": "\t"}}
    }))
    .err()
    .unwrap_or_default();
    assert_eq!(
        fields(&errors),
        vec![
            ("/certificate/certification_body/name", ErrorCode::Required),
            (
                "/certificate/certification_body/address",
                ErrorCode::Required
            ),
            ("/certificate/certification_body/mark", ErrorCode::Required),
        ]
    );
    assert!(errors.iter().all(|e| e.rule == "C1"));
    // Kept trimmed when given.
    let settings = Settings::from_json(&json!({
        "certificate": {"certification_body": {"name": " Acme CB ", "address": "1 Road, Shanghai"}}
    }));
    assert_eq!(
        settings.map(|s| s.certificate.certification_body.name),
        Ok("Acme CB".to_owned())
    );
}

#[test]
fn a9_a_reviewer_that_is_only_whitespace_is_required() {
    let errors = ReviewRequest::from_json(&json!({
        "decision": "reject", "reviewer": " \t ", "reasons": ["out of scope"]
    }))
    .err()
    .unwrap_or_default();
    assert_eq!(fields(&errors), vec![("/reviewer", ErrorCode::Required)]);
}

#[test]
fn rfc9110_content_type_parameters_are_parsed() {
    let media = |ct: &str| readable_media_type(Some(ct), &[]).map_err(|p| p.status);
    for ok in [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/json ; CHARSET=\"utf-8\"",
        "application/json; charset=\"utf\\-8\"",
        "application/json;",
        "application/json; foo=\"a;b\"; charset=utf-8",
    ] {
        assert_eq!(media(ok), Ok("application/json".into()), "{ok}");
    }
    for refused in [
        "application/json; charset=utf-16",
        "application/json; charset=\"UTF-16LE\"",
        "application/json; charset=latin1",
        "application/json; charset=utf-8; charset=gbk",
        "application/json; charset",
        "application/json; charset=\"utf-8",
        "application/json; charset=utf-8 x",
        "application json",
        "/json",
    ] {
        assert_eq!(media(refused), Err(415), "{refused}");
    }
    assert_eq!(readable_media_type(None, &[]).ok(), Some(String::new()));
}

#[test]
fn rfc9110_content_codings_other_than_identity_are_refused() {
    let json = Some("application/json");
    assert!(readable_media_type(json, &["identity"]).is_ok());
    assert!(readable_media_type(json, &["Identity", ""]).is_ok());
    for codings in [
        &["gzip"][..],
        &["identity, gzip"],
        &["identity", "br"],
        &["x-gzip"],
    ] {
        let problem = readable_media_type(json, codings).err();
        assert_eq!(
            problem.map(|p| (p.status, p.kind)),
            Some((
                415,
                "https://certflow.dev/problems/unsupported-content-encoding".to_owned()
            )),
            "{codings:?}"
        );
    }
}
