//! Intake rules I1–I5 and I7 through the public API: `validate`, `form::decode`.

use crate::common::{day, flatten, form_body, remove, set, today, valid_application};
use certflow_domain::intake::application::{CertificateStatus, LegalIdType, StandardCode};
use certflow_domain::intake::readiness::FlagCode;
use certflow_domain::{Accepted, ErrorCode, FieldError, IntakeConfig, intake::form, validate};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn accept(doc: &Value) -> Result<Accepted, String> {
    validate(doc, today(), &IntakeConfig::default()).map_err(|e| format!("{e:#?}"))
}

fn errors(doc: &Value) -> Vec<FieldError> {
    match validate(doc, today(), &IntakeConfig::default()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    }
}

/// `(field, code, rule)` of every error, in order.
fn summary(doc: &Value) -> Vec<(String, ErrorCode, &'static str)> {
    errors(doc)
        .into_iter()
        .map(|e| (e.field, e.code, e.rule))
        .collect()
}

fn one(field: &str, code: ErrorCode, rule: &'static str) -> Vec<(String, ErrorCode, &'static str)> {
    vec![(field.to_owned(), code, rule)]
}

fn with(changes: &[(&str, Value)]) -> Value {
    let mut doc = valid_application();
    for (pointer, value) in changes {
        set(&mut doc, pointer, value.clone());
    }
    doc
}

fn without(pointers: &[&str]) -> Value {
    let mut doc = valid_application();
    for pointer in pointers {
        remove(&mut doc, pointer);
    }
    doc
}

#[test]
fn design_example_is_accepted() -> TestResult {
    let accepted = accept(&valid_application())?;
    assert!(accepted.flags.is_empty());
    assert_eq!(accepted.validated_on, today());
    let app = &accepted.application;
    assert_eq!(app.organization.legal_id.kind, LegalIdType::Uscc);
    assert_eq!(app.standards[1].code, StandardCode::Iso27701);
    assert_eq!(app.sites[0].personnel.headcount(), 138);
    assert_eq!(app.management_system.operating_since, day(2026, 1, 15));
    assert_eq!(app.transfer, None);
    assert!(app.previous_certifications.is_empty());
    Ok(())
}

#[test]
fn i1_uscc_checksum() {
    // The DESIGN page's own example number fails the GB 32100-2015 check.
    let doc = with(&[(
        "/organization/legal_id/number",
        json!(crate::common::DESIGN_USCC),
    )]);
    let errs = errors(&doc);
    assert_eq!(errs.len(), 1);
    assert_eq!(
        (errs[0].field.as_str(), errs[0].code),
        ("/organization/legal_id/number", ErrorCode::InvalidChecksum)
    );
    assert!(errs[0].message.contains("give 7"), "{}", errs[0].message);
    for bad in [
        "91310000MA1FL8XQ3",
        "91310000ma1fl8xq37",
        "913100O0MA1FL8XQ37",
    ] {
        let doc = with(&[("/organization/legal_id/number", json!(bad))]);
        assert_eq!(
            summary(&doc),
            one(
                "/organization/legal_id/number",
                ErrorCode::InvalidFormat,
                "I1"
            ),
            "{bad}"
        );
    }
}

#[test]
fn i1_other_legal_id_types_need_only_a_number() {
    let doc = with(&[(
        "/organization/legal_id",
        json!({ "type": "business_registration", "number": "HRB 12345" }),
    )]);
    assert_eq!(summary(&doc), []);
    let doc = with(&[(
        "/organization/legal_id",
        json!({ "type": "passport", "number": " " }),
    )]);
    assert_eq!(
        summary(&doc),
        [
            (
                "/organization/legal_id/type".to_owned(),
                ErrorCode::InvalidValue,
                "I1"
            ),
            (
                "/organization/legal_id/number".to_owned(),
                ErrorCode::Required,
                "I1"
            ),
        ]
    );
}

#[test]
fn i1_every_required_field_reported_on_an_empty_object() {
    let fields: Vec<String> = errors(&json!({})).into_iter().map(|e| e.field).collect();
    let expected = [
        "/organization",
        "/contact",
        "/standards",
        "/scope",
        "/sites",
        "/management_system",
        "/restricted_records",
        "/declarations",
        "/language",
    ];
    assert_eq!(fields, expected);
}

#[test]
fn i1_every_nested_required_field_reported() {
    let doc = json!({
        "organization": { "legal_id": {}, "address": {} }, "contact": {},
        "standards": [ {} ], "sites": [ { "address": {}, "personnel": { "part_time": [ {} ] } } ],
        "management_system": {}, "restricted_records": {}, "declarations": {},
        "consultancy": [ {} ], "transfer": {}, "previous_certifications": [ {} ],
        "repetitive_groups": [ {} ], "scope": "x", "language": "en"
    });
    let fields: Vec<String> = errors(&doc)
        .into_iter()
        .filter(|e| e.code == ErrorCode::Required)
        .map(|e| e.field)
        .collect();
    for expected in [
        "/organization/legal_name",
        "/organization/legal_id/type",
        "/organization/legal_id/number",
        "/organization/address/street",
        "/organization/address/city",
        "/organization/address/country",
        "/contact/name",
        "/contact/email",
        "/contact/phone",
        "/standards/0/code",
        "/standards/0/edition",
        "/sites/0/name",
        "/sites/0/central",
        "/sites/0/address/street",
        "/sites/0/activities",
        "/sites/0/personnel/full_time",
        "/sites/0/personnel/part_time/0/count",
        "/sites/0/personnel/part_time/0/weekly_hours",
        "/sites/0/personnel/temporary",
        "/sites/0/personnel/contractors",
        "/sites/0/shifts",
        "/repetitive_groups/0/description",
        "/repetitive_groups/0/site",
        "/repetitive_groups/0/count",
        "/management_system/operating_since",
        "/consultancy/0/provider",
        "/consultancy/0/person",
        "/consultancy/0/ended_on",
        "/restricted_records/present",
        "/transfer/previous_cb",
        "/transfer/certificate_number",
        "/transfer/status",
        "/transfer/expires_on",
        "/transfer/issuing_cb_ceased",
        "/previous_certifications/0/certification_body",
        "/previous_certifications/0/certificate_number",
        "/previous_certifications/0/status",
        "/declarations/not_on_serious_illegal_list",
        "/declarations/no_business_suspension_order",
        "/declarations/no_withdrawal_for_own_fault_in_last_12_months",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} not reported in {fields:#?}"
        );
    }
}

#[test]
fn i1_document_must_be_an_object() {
    for doc in [json!(null), json!([]), json!("application"), json!(42)] {
        let errs = errors(&doc);
        assert_eq!(errs.len(), 1, "{doc}");
        assert_eq!(errs[0].field, "");
        assert_eq!(
            errs[0].code,
            if doc.is_null() {
                ErrorCode::Required
            } else {
                ErrorCode::InvalidType
            }
        );
    }
}

#[test]
fn i1_unknown_fields_rejected_with_a_hint() {
    let mut doc = valid_application();
    set(&mut doc, "/sites/0/personel", json!({}));
    set(&mut doc, "/extra/field", json!(1));
    set(&mut doc, "/a~b", json!(1));
    let errs = errors(&doc);
    let got: Vec<(&str, ErrorCode)> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
    assert_eq!(
        got,
        [
            ("/sites/0/personel", ErrorCode::UnknownField),
            ("/a~0b", ErrorCode::UnknownField),
            ("/extra", ErrorCode::UnknownField)
        ]
    );
    assert!(
        errs[0].message.contains("did you mean `personnel`?"),
        "{}",
        errs[0].message
    );
}

#[test]
fn i1_strings_are_trimmed_and_control_characters_rejected() -> TestResult {
    let doc = with(&[(
        "/organization/legal_name",
        json!("  Acme Data Co., Ltd.\t "),
    )]);
    assert_eq!(
        accept(&doc)?.application.organization.legal_name,
        "Acme Data Co., Ltd."
    );
    let doc = with(&[
        ("/organization/legal_name", json!("Acme\u{0}Data")),
        ("/contact/name", json!("Li\nWei")),
    ]);
    assert_eq!(
        summary(&doc),
        [
            (
                "/organization/legal_name".to_owned(),
                ErrorCode::InvalidFormat,
                "I1"
            ),
            ("/contact/name".to_owned(), ErrorCode::InvalidFormat, "I1"),
        ]
    );
    // Free text may span lines.
    let doc = with(&[
        ("/scope", json!("Line one\nLine two")),
        ("/sites/0/activities", json!("a\r\n\tb")),
    ]);
    assert_eq!(summary(&doc), []);
    Ok(())
}

#[test]
fn i1_length_caps() {
    let doc = with(&[
        ("/organization/legal_name", json!("x".repeat(201))),
        ("/scope", json!("s".repeat(2001))),
    ]);
    assert_eq!(
        summary(&doc),
        [
            (
                "/organization/legal_name".to_owned(),
                ErrorCode::TooLong,
                "I1"
            ),
            ("/scope".to_owned(), ErrorCode::TooLong, "I1"),
        ]
    );
    // Characters, not bytes: 200 Chinese characters fit a 200-character name.
    assert_eq!(
        summary(&with(&[(
            "/organization/legal_name",
            json!("数".repeat(200))
        )])),
        []
    );
    // The scope cap is [cfg].
    let config = IntakeConfig {
        max_scope_len: 10,
        ..IntakeConfig::default()
    };
    let result = validate(&with(&[("/scope", json!("eleven char"))]), today(), &config);
    assert_eq!(result.err().map(|e| e[0].code), Some(ErrorCode::TooLong));
    let too_many: Vec<Value> = (0..101).map(|i| json!(format!("process {i}"))).collect();
    assert_eq!(
        summary(&with(&[("/outsourced_processes", json!(too_many))])),
        one("/outsourced_processes", ErrorCode::TooLong, "I1")
    );
}

#[test]
fn i1_address_country_is_iso_3166_alpha_2() {
    for bad in ["cn", "CHN", "XX", "China"] {
        let doc = with(&[("/organization/address/country", json!(bad))]);
        assert_eq!(
            summary(&doc),
            one(
                "/organization/address/country",
                ErrorCode::InvalidFormat,
                "I1"
            ),
            "{bad}"
        );
    }
    assert_eq!(
        summary(&with(&[("/sites/0/address/country", json!("DE"))])),
        []
    );
    assert_eq!(summary(&without(&["/organization/address/postcode"])), []);
}

#[test]
fn i1_contact_email_and_phone() {
    let doc = with(&[
        ("/contact/email", json!("li.wei@")),
        ("/contact/phone", json!("call me")),
    ]);
    assert_eq!(
        summary(&doc),
        [
            ("/contact/email".to_owned(), ErrorCode::InvalidFormat, "I1"),
            ("/contact/phone".to_owned(), ErrorCode::InvalidFormat, "I1"),
        ]
    );
    assert_eq!(
        summary(&with(&[("/contact/phone", json!("021-5555-0100"))])),
        []
    );
    assert_eq!(
        summary(&with(&[("/organization/website", json!("acme.example"))])),
        one("/organization/website", ErrorCode::InvalidFormat, "I1")
    );
    assert_eq!(summary(&with(&[("/organization/website", json!(""))])), []);
}

#[test]
fn i1_standards_non_empty_without_duplicates() {
    assert_eq!(
        summary(&with(&[("/standards", json!([]))])),
        one("/standards", ErrorCode::Required, "I1")
    );
    let doc = with(&[(
        "/standards/1",
        json!({ "code": "ISO/IEC 27001", "edition": "2013" }),
    )]);
    assert_eq!(
        summary(&doc),
        [
            ("/standards/1/code".to_owned(), ErrorCode::Duplicate, "I1"),
            (
                "/standards/1/edition".to_owned(),
                ErrorCode::EditionNotAccepted,
                "I3"
            ),
        ]
    );
    assert_eq!(
        summary(&with(&[("/standards", json!("ISO/IEC 27001"))])),
        one("/standards", ErrorCode::InvalidType, "I1")
    );
}

#[test]
fn i3_editions_checked_on_today() {
    let doc = with(&[(
        "/standards",
        json!([{ "code": "ISO/IEC 27001", "edition": "2013" }, { "code": "ISO 9001", "edition": "2015" }]),
    )]);
    assert_eq!(
        summary(&doc),
        [
            (
                "/standards/0/edition".to_owned(),
                ErrorCode::EditionNotAccepted,
                "I3"
            ),
            (
                "/standards/1/code".to_owned(),
                ErrorCode::StandardNotAccepted,
                "I3"
            ),
        ]
    );
    // Before 2024-05-01 the 2013 edition was still accepted.
    let mut old = with(&[(
        "/standards",
        json!([{ "code": "ISO/IEC 27001", "edition": "2013" }]),
    )]);
    for (p, d) in [
        ("operating_since", "2023-06-01"),
        ("last_internal_audit", "2024-01-10"),
        ("last_management_review", "2024-02-01"),
    ] {
        set(&mut old, &format!("/management_system/{p}"), json!(d));
    }
    assert!(validate(&old, day(2024, 4, 30), &IntakeConfig::default()).is_ok());
    assert!(validate(&old, day(2024, 5, 1), &IntakeConfig::default()).is_err());
    let alone = with(&[(
        "/standards",
        json!([{ "code": "ISO/IEC 27701", "edition": "2019" }]),
    )]);
    assert_eq!(
        summary(&alone),
        one("/standards/0", ErrorCode::RequiresStandard, "I3")
    );
    let bcms = with(&[(
        "/standards",
        json!([{ "code": "ISO 22301", "edition": "2019" }, { "code": "GB/T 30146", "edition": "2023" }]),
    )]);
    assert_eq!(summary(&bcms), []);
}

#[test]
fn i1_exactly_one_central_site() {
    let none = with(&[("/sites/0/central", json!(false))]);
    assert_eq!(summary(&none), one("/sites", ErrorCode::Required, "I1"));
    let mut two = valid_application();
    let site = two.pointer("/sites/0").cloned().unwrap_or_default();
    set(&mut two, "/sites/1", site.clone());
    set(&mut two, "/sites/2", site);
    assert_eq!(
        summary(&two),
        [
            ("/sites/1/central".to_owned(), ErrorCode::Duplicate, "I1"),
            ("/sites/2/central".to_owned(), ErrorCode::Duplicate, "I1"),
        ]
    );
    // A missing `central` is reported once, as required, not again as "no central site".
    assert_eq!(
        summary(&without(&["/sites/0/central"])),
        one("/sites/0/central", ErrorCode::Required, "I1")
    );
    assert_eq!(
        summary(&with(&[("/sites", json!([]))])),
        one("/sites", ErrorCode::Required, "I1")
    );
}

#[test]
fn i1_personnel_figures() {
    let doc = with(&[
        ("/sites/0/personnel/full_time", json!(-1)),
        ("/sites/0/personnel/temporary", json!(2.5)),
        ("/sites/0/personnel/contractors", json!("3")),
        ("/sites/0/personnel/part_time/0/weekly_hours", json!(0)),
        ("/sites/0/shifts", json!(0)),
    ]);
    assert_eq!(
        summary(&doc),
        [
            (
                "/sites/0/personnel/full_time".to_owned(),
                ErrorCode::OutOfRange,
                "I1"
            ),
            (
                "/sites/0/personnel/part_time/0/weekly_hours".to_owned(),
                ErrorCode::OutOfRange,
                "I1"
            ),
            (
                "/sites/0/personnel/temporary".to_owned(),
                ErrorCode::InvalidType,
                "I1"
            ),
            (
                "/sites/0/personnel/contractors".to_owned(),
                ErrorCode::InvalidType,
                "I1"
            ),
            ("/sites/0/shifts".to_owned(), ErrorCode::OutOfRange, "I1"),
        ]
    );
    let hours = |h: f64| {
        summary(&with(&[(
            "/sites/0/personnel/part_time/0/weekly_hours",
            json!(h),
        )]))
    };
    assert_eq!(hours(168.0), []);
    assert_eq!(hours(0.5), []);
    assert_eq!(
        hours(168.5),
        one(
            "/sites/0/personnel/part_time/0/weekly_hours",
            ErrorCode::OutOfRange,
            "I1"
        )
    );
    // 120.0 is a whole number.
    assert_eq!(
        summary(&with(&[("/sites/0/personnel/full_time", json!(120.0))])),
        []
    );
    assert_eq!(
        summary(&with(&[("/sites/0/personnel/full_time", json!(1_000_001))])),
        one("/sites/0/personnel/full_time", ErrorCode::OutOfRange, "I1")
    );
    assert_eq!(
        summary(&with(&[("/sites/0/personnel/full_time", json!(u64::MAX))])),
        one("/sites/0/personnel/full_time", ErrorCode::OutOfRange, "I1")
    );
    // Nobody at all.
    let empty = with(&[
        (
            "/sites/0/personnel",
            json!({ "full_time": 0, "temporary": 0, "contractors": 0 }),
        ),
        ("/repetitive_groups", json!([])),
    ]);
    assert_eq!(summary(&empty), one("/sites", ErrorCode::OutOfRange, "I1"));
}

#[test]
fn i1_repetitive_groups_refer_to_sites_and_fit_them() {
    let doc = with(&[("/repetitive_groups/0/site", json!(1))]);
    assert_eq!(
        summary(&doc),
        one(
            "/repetitive_groups/0/site",
            ErrorCode::InvalidReference,
            "I1"
        )
    );
    assert_eq!(
        summary(&with(&[("/repetitive_groups/0/count", json!(138))])),
        []
    );
    assert_eq!(
        summary(&with(&[("/repetitive_groups/0/count", json!(139))])),
        one("/repetitive_groups/0/count", ErrorCode::OutOfRange, "I1")
    );
    // Together the groups of one site may not exceed it either.
    let doc = with(&[(
        "/repetitive_groups/1",
        json!({ "description": "Packers", "site": 0, "count": 100 }),
    )]);
    assert_eq!(
        summary(&doc),
        one("/repetitive_groups/1/count", ErrorCode::OutOfRange, "I1")
    );
}

#[test]
fn i1_dates_are_valid_and_not_in_the_future() {
    let doc = with(&[
        ("/management_system/operating_since", json!("2026-02-30")),
        ("/consultancy/0/ended_on", json!("1 Dec 2025")),
    ]);
    assert_eq!(
        summary(&doc),
        [
            (
                "/management_system/operating_since".to_owned(),
                ErrorCode::InvalidFormat,
                "I1"
            ),
            (
                "/consultancy/0/ended_on".to_owned(),
                ErrorCode::InvalidFormat,
                "I1"
            ),
        ]
    );
    let doc = with(&[(
        "/management_system/last_management_review",
        json!("2026-11-24"),
    )]);
    assert_eq!(
        summary(&doc),
        one(
            "/management_system/last_management_review",
            ErrorCode::OutOfRange,
            "I1"
        )
    );
    assert_eq!(
        summary(&with(&[(
            "/management_system/last_management_review",
            json!("2026-11-23")
        )])),
        []
    );
    // A consultancy may still be running: its planned end is in the future.
    assert_eq!(
        summary(&with(&[("/consultancy/0/ended_on", json!("2027-03-01"))])),
        []
    );
}

#[test]
fn i1_restricted_records_described_when_present() {
    let doc = with(&[("/restricted_records/present", json!(true))]);
    assert_eq!(
        summary(&doc),
        one("/restricted_records/description", ErrorCode::Required, "I1")
    );
    let doc = with(&[(
        "/restricted_records",
        json!({ "present": true, "description": "Classified customer contracts" }),
    )]);
    assert_eq!(summary(&doc), []);
    assert_eq!(
        summary(&with(&[("/restricted_records/present", json!("no"))])),
        one("/restricted_records/present", ErrorCode::InvalidType, "I1")
    );
}

#[test]
fn i1_transfer_when_present() -> TestResult {
    let transfer = json!({ "previous_cb": "Other CB", "certificate_number": "OCB-27001-1", "status": "active",
                           "expires_on": "2027-06-30", "issuing_cb_ceased": false });
    let accepted = accept(&with(&[("/transfer", transfer.clone())]))?;
    assert_eq!(
        accepted.application.transfer.map(|t| t.status),
        Some(CertificateStatus::Active)
    );
    let mut bad = transfer;
    set(&mut bad, "/status", json!("valid"));
    set(&mut bad, "/issuing_cb_ceased", json!("no"));
    assert_eq!(
        summary(&with(&[("/transfer", bad)])),
        [
            ("/transfer/status".to_owned(), ErrorCode::InvalidValue, "I1"),
            (
                "/transfer/issuing_cb_ceased".to_owned(),
                ErrorCode::InvalidType,
                "I1"
            ),
        ]
    );
    Ok(())
}

#[test]
fn i1_language_and_optional_lists() {
    assert_eq!(
        summary(&with(&[("/language", json!("fr"))])),
        one("/language", ErrorCode::InvalidValue, "I1")
    );
    assert_eq!(summary(&with(&[("/language", json!("en"))])), []);
    let doc = without(&[
        "/repetitive_groups",
        "/outsourced_processes",
        "/consultancy",
        "/transfer",
        "/organization/website",
        "/sites/0/virtual",
    ]);
    assert_eq!(summary(&doc), []);
    let doc = with(&[
        ("/repetitive_groups", json!([])),
        ("/outsourced_processes", json!(null)),
        ("/consultancy", json!([])),
    ]);
    assert_eq!(summary(&doc), []);
    assert_eq!(
        summary(&with(&[("/outsourced_processes", json!(["Hosting", ""]))])),
        one("/outsourced_processes/1", ErrorCode::Required, "I1")
    );
}

#[test]
fn i2_all_errors_reported_at_once() {
    let doc = with(&[
        ("/contact/email", json!("not an email")),
        ("/standards/0/edition", json!("2013")),
        ("/sites/0/personnel/full_time", json!("many")),
        ("/management_system/last_internal_audit", json!(null)),
        ("/declarations/no_business_suspension_order", json!(false)),
    ]);
    assert_eq!(
        summary(&doc),
        [
            ("/contact/email".to_owned(), ErrorCode::InvalidFormat, "I1"),
            (
                "/sites/0/personnel/full_time".to_owned(),
                ErrorCode::InvalidType,
                "I1"
            ),
            (
                "/standards/0/edition".to_owned(),
                ErrorCode::EditionNotAccepted,
                "I3"
            ),
            (
                "/management_system/last_internal_audit".to_owned(),
                ErrorCode::NotReady,
                "I4"
            ),
            (
                "/declarations/no_business_suspension_order".to_owned(),
                ErrorCode::Refused,
                "I5"
            ),
        ]
    );
    for e in errors(&doc) {
        assert!(!e.message.is_empty());
    }
}

#[test]
fn i2_errors_serialise_with_field_code_message_rule() -> TestResult {
    let errs = errors(&with(&[("/language", json!("fr"))]));
    assert_eq!(
        serde_json::to_value(&errs)?,
        json!([{ "field": "/language", "code": "invalid_value", "message": "must be one of: zh, en", "rule": "I1" }])
    );
    Ok(())
}

#[test]
fn i4_young_system_is_accepted_with_a_flag() -> TestResult {
    let doc = with(&[
        ("/management_system/operating_since", json!("2026-09-01")),
        (
            "/management_system/last_internal_audit",
            json!("2026-10-15"),
        ),
        (
            "/management_system/last_management_review",
            json!("2026-11-01"),
        ),
    ]);
    let accepted = accept(&doc)?;
    assert_eq!(accepted.flags.len(), 1);
    assert_eq!(accepted.flags[0].code, FlagCode::NotReadyForAudit);
    assert_eq!(accepted.flags[0].earliest_audit_date, day(2026, 12, 1));
    assert_eq!(accepted.flags[0].rule, "I4");
    Ok(())
}

#[test]
fn i4_exactly_three_months_is_ready() -> TestResult {
    let ready = with(&[
        ("/management_system/operating_since", json!("2026-08-23")),
        (
            "/management_system/last_internal_audit",
            json!("2026-10-15"),
        ),
        (
            "/management_system/last_management_review",
            json!("2026-11-01"),
        ),
    ]);
    assert!(accept(&ready)?.flags.is_empty());
    let mut one_day_short = ready;
    set(
        &mut one_day_short,
        "/management_system/operating_since",
        json!("2026-08-24"),
    );
    assert_eq!(accept(&one_day_short)?.flags.len(), 1);
    Ok(())
}

#[test]
fn i4_missing_internal_audit_or_review_is_not_ready() {
    let doc = without(&[
        "/management_system/last_internal_audit",
        "/management_system/last_management_review",
    ]);
    assert_eq!(
        summary(&doc),
        [
            (
                "/management_system/last_internal_audit".to_owned(),
                ErrorCode::NotReady,
                "I4"
            ),
            (
                "/management_system/last_management_review".to_owned(),
                ErrorCode::NotReady,
                "I4"
            ),
        ]
    );
    // An empty string is missing too; a malformed date is reported once, as malformed.
    let doc = with(&[
        ("/management_system/last_internal_audit", json!("")),
        ("/management_system/last_management_review", json!("soon")),
    ]);
    assert_eq!(
        summary(&doc),
        [
            (
                "/management_system/last_management_review".to_owned(),
                ErrorCode::InvalidFormat,
                "I1"
            ),
            (
                "/management_system/last_internal_audit".to_owned(),
                ErrorCode::NotReady,
                "I4"
            ),
        ]
    );
}

#[test]
fn i4_audit_and_review_after_operating_since() {
    let doc = with(&[
        (
            "/management_system/last_internal_audit",
            json!("2026-01-14"),
        ),
        (
            "/management_system/last_management_review",
            json!("2026-01-15"),
        ),
    ]);
    assert_eq!(
        summary(&doc),
        one(
            "/management_system/last_internal_audit",
            ErrorCode::OutOfRange,
            "I4"
        )
    );
}

#[test]
fn i5_false_declarations_are_refused() {
    let doc = with(&[
        ("/declarations/not_on_serious_illegal_list", json!(false)),
        ("/declarations/no_business_suspension_order", json!(false)),
        (
            "/declarations/no_withdrawal_for_own_fault_in_last_12_months",
            json!(false),
        ),
    ]);
    let errs = errors(&doc);
    assert_eq!(errs.len(), 3);
    assert!(errs.iter().all(|e| e.code == ErrorCode::Refused
        && e.rule == "I5"
        && e.message.contains("cannot be certified")));
    assert_eq!(
        summary(&without(&["/declarations/no_business_suspension_order"])),
        one(
            "/declarations/no_business_suspension_order",
            ErrorCode::Required,
            "I1"
        )
    );
}

fn previous(status: &str, changed_on: &str, own_fault: bool) -> Value {
    json!([{ "certification_body": "Other CB", "certificate_number": "OCB-1", "status": status,
             "status_changed_on": changed_on, "own_fault": own_fault }])
}

#[test]
fn i5_refusal_window_boundary() {
    // Withdrawn for own fault exactly 12 months before today: may apply.
    assert_eq!(
        summary(&with(&[(
            "/previous_certifications",
            previous("withdrawn", "2025-11-23", true)
        )])),
        []
    );
    // One day later: within the window, refused.
    let doc = with(&[(
        "/previous_certifications",
        previous("withdrawn", "2025-11-24", true),
    )]);
    let errs = errors(&doc);
    assert_eq!(errs.len(), 1);
    assert_eq!(
        (errs[0].field.as_str(), errs[0].code, errs[0].rule),
        ("/previous_certifications/0", ErrorCode::Refused, "I5")
    );
    assert!(
        errs[0].message.contains("2026-11-24"),
        "{}",
        errs[0].message
    );
    // Not the applicant's fault, or merely expired: no refusal.
    assert_eq!(
        summary(&with(&[(
            "/previous_certifications",
            previous("suspended", "2026-10-01", false)
        )])),
        []
    );
    assert_eq!(
        summary(&with(&[(
            "/previous_certifications",
            previous("expired", "2026-10-01", true)
        )])),
        []
    );
    assert_eq!(
        summary(&with(&[(
            "/previous_certifications",
            previous("suspended", "2026-10-01", true)
        )]))
        .len(),
        1
    );
    // The window is [cfg].
    let config = IntakeConfig {
        refusal_window_months: 6,
        ..IntakeConfig::default()
    };
    assert!(
        validate(
            &with(&[(
                "/previous_certifications",
                previous("withdrawn", "2026-05-23", true)
            )]),
            today(),
            &config
        )
        .is_ok()
    );
}

#[test]
fn i5_suspension_needs_date_and_fault() {
    let doc = with(&[(
        "/previous_certifications",
        json!([{ "certification_body": "Other CB", "certificate_number": "OCB-1", "status": "suspended" }]),
    )]);
    assert_eq!(
        summary(&doc),
        [
            (
                "/previous_certifications/0/status_changed_on".to_owned(),
                ErrorCode::Required,
                "I5"
            ),
            (
                "/previous_certifications/0/own_fault".to_owned(),
                ErrorCode::Required,
                "I5"
            ),
        ]
    );
    let doc = with(&[(
        "/previous_certifications",
        json!([{ "certification_body": "Other CB", "certificate_number": "OCB-1", "status": "active" }]),
    )]);
    assert_eq!(summary(&doc), []);
    let future = with(&[(
        "/previous_certifications",
        previous("suspended", "2026-12-01", false),
    )]);
    assert_eq!(
        summary(&future),
        one(
            "/previous_certifications/0/status_changed_on",
            ErrorCode::OutOfRange,
            "I1"
        )
    );
}

#[test]
fn i5_suspended_transfer_must_be_listed() {
    let transfer = json!({ "previous_cb": "Other CB", "certificate_number": "OCB-1", "status": "suspended",
                           "expires_on": "2027-06-30", "issuing_cb_ceased": false });
    assert_eq!(
        summary(&with(&[("/transfer", transfer.clone())])),
        one("/previous_certifications", ErrorCode::Required, "I5")
    );
    let listed = with(&[
        ("/transfer", transfer),
        (
            "/previous_certifications",
            previous("suspended", "2026-01-10", false),
        ),
    ]);
    assert_eq!(summary(&listed), []);
}

#[test]
fn i7_identical_submissions_share_canonical_json() -> TestResult {
    let a = accept(&valid_application())?.application.canonical_json()?;
    let padded = with(&[
        (
            "/scope",
            json!("  Design, development and operation of the Acme cloud payroll service "),
        ),
        ("/transfer", Value::Null),
    ]);
    let b = accept(&padded)?.application.canonical_json()?;
    assert_eq!(a, b);
    let c = accept(&with(&[("/language", json!("en"))]))?
        .application
        .canonical_json()?;
    assert_ne!(a, c);
    Ok(())
}

#[test]
fn accepted_round_trips_through_json() -> TestResult {
    let accepted = accept(&with(&[(
        "/management_system/operating_since",
        json!("2026-09-01"),
    )]))?;
    let text = serde_json::to_string(&accepted)?;
    let back: Accepted = serde_json::from_str(&text)?;
    assert_eq!(back, accepted);
    Ok(())
}

#[test]
fn i1_form_body_validates_like_json() -> TestResult {
    let json_app = accept(&valid_application())?.application;
    let body = form_body(&flatten(&valid_application()));
    let decoded = form::decode(body.as_bytes()).map_err(|e| format!("{e:?}"))?;
    let form_app = accept(&decoded)?.application;
    assert_eq!(form_app, json_app);
    Ok(())
}

#[test]
fn i1_form_text_in_a_numeric_field_is_a_field_error() -> TestResult {
    let mut fields = flatten(&valid_application());
    for (name, value) in &mut fields {
        if name == "sites[0].personnel.full_time" {
            *value = "abc".into();
        }
    }
    let decoded = form::decode(form_body(&fields).as_bytes()).map_err(|e| format!("{e:?}"))?;
    assert_eq!(
        summary(&decoded),
        one("/sites/0/personnel/full_time", ErrorCode::InvalidType, "I1")
    );
    assert_eq!(
        form::field_name("/sites/0/personnel/full_time"),
        "sites[0].personnel.full_time"
    );
    Ok(())
}

#[test]
fn i5_unticked_form_declaration_is_refused() -> TestResult {
    let fields: Vec<(String, String)> = flatten(&valid_application())
        .into_iter()
        .filter(|(name, _)| name != "declarations.not_on_serious_illegal_list")
        .collect();
    let decoded = form::decode(form_body(&fields).as_bytes()).map_err(|e| format!("{e:?}"))?;
    assert_eq!(
        summary(&decoded),
        one(
            "/declarations/not_on_serious_illegal_list",
            ErrorCode::Refused,
            "I5"
        )
    );
    Ok(())
}

#[test]
fn i1_unknown_fields_are_counted_beyond_twenty() {
    let mut doc = valid_application();
    for i in 0..30 {
        set(&mut doc, &format!("/contact/x{i:02}"), json!(i));
    }
    let errs = errors(&doc);
    assert_eq!(errs.len(), 21);
    assert_eq!(
        (errs[20].field.as_str(), errs[20].code),
        ("/contact", ErrorCode::UnknownField)
    );
    assert!(errs[20].message.contains("10 more"), "{}", errs[20].message);
}
