//! The CB's review settings: every value RULES.md marks [cfg] for application review (A1–A7)
//! and the remote-share flag (M5), shipped with documented defaults and replaceable without a
//! rebuild (a JSON document, e.g. in a Spin variable). [`Settings::from_json`] checks a whole
//! document and reports every problem at once; absent keys keep their default, so `{}` is
//! [`Settings::default`]. Refusing a bad document and keeping the old one is the component's
//! job.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::quantity::{AuditDays, Hours};
use super::reader::{Known, Reader, child, field};
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::settings::{CertificateSettings, Jurisdiction, RecertificationNumbering};

/// The review's [cfg] values (A1, A2, A3, A5, A7, M5) and the jurisdiction.
///
/// Read a CB's document with [`Settings::from_json`]. serde's `Deserialize` is for reading
/// back a document stored after it passed `from_json`: it does not check the bands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// A1: hours of a full-time week, 20 to 60 with at most two decimals; part-time staff
    /// count `weekly_hours / full_time_hours` people. Default 40 (RULES A1; China's statutory
    /// 8 h × 5 days).
    pub full_time_hours: Hours,
    /// A2: ISMS initial audit time (stage 1 + stage 2) by effective personnel. Default: the
    /// 27006-1 Annex C table as RULES A2 lists it, with the progression above 10 700 people
    /// described at [`Progression`].
    pub isms_time_table: TimeTable,
    /// A5: BCMS (ISO 22301, GB/T 30146) time table. No public table was confirmed, so the
    /// default is the ISMS table (RULES A5); replace it with the CB's own.
    pub bcms_time_table: TimeTable,
    /// A5: PIMS (ISO/IEC 27701) time table; default the ISMS table, as for BCMS.
    pub pims_time_table: TimeTable,
    /// A3: adjustment by business and IT complexity, in percent.
    pub complexity_percent: ComplexityPercent,
    /// A3: largest total reduction of the table time, in percent. Default 30 (27006-1, IAF MD5).
    pub max_reduction_percent: u32,
    /// A3: least on-site share of each audit, in percent. Default 80 (RULES A3), unless the
    /// remote-audit assessment (M1–M4) allows more remote time.
    pub min_onsite_percent: u32,
    /// M5: a remote share above this percentage of an audit is flagged. Default 30.
    pub remote_share_flag_percent: u32,
    /// A7: largest reduction for an integrated audit of several schemes, in percent. Default
    /// 20 (IAF MD11).
    pub max_integration_reduction_percent: u32,
    /// Which national [cfg] variants apply. The review rules A1–A7 are the same in both; C3,
    /// C4 and C5 differ (the certificate component reads it). Default `iaf`.
    pub jurisdiction: Jurisdiction,
    /// C1–C5: the certificate's settings (number format, CB, surveillance gaps, suspension
    /// limit); the certificate component reads them with the jurisdiction.
    pub certificate: CertificateSettings,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            full_time_hours: Hours::FORTY,
            isms_time_table: TimeTable::isms(),
            bcms_time_table: TimeTable::isms(),
            pims_time_table: TimeTable::isms(),
            complexity_percent: ComplexityPercent::default(),
            max_reduction_percent: 30,
            min_onsite_percent: 80,
            remote_share_flag_percent: 30,
            max_integration_reduction_percent: 20,
            jurisdiction: Jurisdiction::Iaf,
            certificate: CertificateSettings::default(),
        }
    }
}

/// An audit-time table (A2, A5): contiguous bands of effective personnel, then a progression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimeTable {
    /// Bands from 1 person up, contiguous, with days that never decrease.
    pub bands: Vec<Band>,
    /// How the time grows above the last band.
    pub progression: Progression,
}

/// One band of a time table: `from..=to` effective personnel need `days` (stage 1 + stage 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Least effective personnel of the band.
    pub from: u32,
    /// Most effective personnel of the band.
    pub to: u32,
    /// Initial audit time, stage 1 + stage 2.
    pub days: AuditDays,
}

/// Above the last band, every `personnel_per_step` people started add `days_per_step`.
///
/// Default (A2 "continue the progression"): 2 200 people and 1 day, the width and increment
/// of the table's last band (8 501–10 700: 28), so 10 701–12 900 is 29 days, 12 901–15 100 is
/// 30. Why: it is the plainest reading of "continue the progression", and since the table's
/// bands keep widening, repeating the last width never gives less time than a widening
/// extrapolation would (the conservative side for audit effectiveness). A CB with another
/// documented progression replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Progression {
    /// People per step (at least 1).
    pub personnel_per_step: u32,
    /// Days each step adds (at least 0.5).
    pub days_per_step: AuditDays,
}

impl Default for Progression {
    fn default() -> Progression {
        Progression {
            personnel_per_step: 2200,
            days_per_step: AuditDays::from_days(1),
        }
    }
}

/// A2: the ISMS table of 27006-1 Annex C (27006:2015 Annex B): `(from, to, half days)`.
const ISMS_BANDS: [(u32, u32, u32); 22] = [
    (1, 10, 10),
    (11, 15, 12),
    (16, 25, 14),
    (26, 45, 17),
    (46, 65, 20),
    (66, 85, 22),
    (86, 125, 24),
    (126, 175, 26),
    (176, 275, 28),
    (276, 425, 30),
    (426, 625, 33),
    (626, 875, 35),
    (876, 1175, 37),
    (1176, 1550, 39),
    (1551, 2025, 42),
    (2026, 2675, 44),
    (2676, 3450, 46),
    (3451, 4350, 48),
    (4351, 5450, 50),
    (5451, 6800, 52),
    (6801, 8500, 54),
    (8501, 10700, 56),
];

impl TimeTable {
    /// A2: the ISMS table (27006-1 Annex C) with the default [`Progression`].
    pub fn isms() -> TimeTable {
        TimeTable {
            bands: ISMS_BANDS
                .iter()
                .map(|&(from, to, half_days)| Band {
                    from,
                    to,
                    days: AuditDays::from_half_days(half_days),
                })
                .collect(),
            progression: Progression::default(),
        }
    }
}

impl Default for TimeTable {
    fn default() -> TimeTable {
        TimeTable::isms()
    }
}

/// A3: the adjustment, in percent, for each pair of business and IT complexity levels.
///
/// 27006-1 Annex C (27006:2015 Annex C) grades six factors 1–3, adds the three business
/// grades and the three IT grades (3–4 low, 5–6 medium, 7–9 high) and gives a range per pair:
///
/// | business \ IT | low | medium | high |
/// |---|---|---|---|
/// | high | +5 to +20 | +10 to +50 | +20 to +100 |
/// | medium | −5 to −10 | 0 | +10 to +50 |
/// | low | −10 to −30 | −5 to −10 | 0 |
///
/// The CB fixes one value per pair. Default: the middle of each range, rounded to a multiple
/// of 5 towards more audit time (−7.5 → −5, +12.5 → +15): so all grades 2 is 0%, and no
/// default reaches the 30% cap on its own. A CB with other documented values replaces them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplexityPercent {
    /// Business complexity low (sum 3–4).
    pub business_low: ItPercent,
    /// Business complexity medium (sum 5–6).
    pub business_medium: ItPercent,
    /// Business complexity high (sum 7–9).
    pub business_high: ItPercent,
}

impl Default for ComplexityPercent {
    fn default() -> ComplexityPercent {
        ComplexityPercent {
            business_low: ItPercent {
                it_low: -20,
                it_medium: -5,
                it_high: 0,
            },
            business_medium: ItPercent {
                it_low: -5,
                it_medium: 0,
                it_high: 30,
            },
            business_high: ItPercent {
                it_low: 15,
                it_medium: 30,
                it_high: 60,
            },
        }
    }
}

/// A3: one row of [`ComplexityPercent`], by IT complexity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ItPercent {
    /// IT complexity low (sum 3–4).
    pub it_low: i32,
    /// IT complexity medium (sum 5–6).
    pub it_medium: i32,
    /// IT complexity high (sum 7–9).
    pub it_high: i32,
}

/// A1: the full-time week, in hundredths of an hour: 20 to 60 hours (statutory full-time
/// weeks lie well within; a shorter one would multiply part-time staff into more effective
/// personnel than the site has people).
const MIN_FULL_TIME_HOURS: u32 = 20 * 100;
const MAX_FULL_TIME_HOURS: u32 = 60 * 100;
/// Most bands a table may have.
const MAX_BANDS: usize = 100;
/// Most people a band bound or progression step may name.
const MAX_PERSONNEL: u32 = 1_000_000_000;
/// Most auditor-days a band or step may name.
const MAX_DAYS: AuditDays = AuditDays::from_days(1000);
/// Least days of a band or step: non-positive days are refused.
const MIN_DAYS: AuditDays = AuditDays::from_half_days(1);
/// Complexity percentages: at most a full reduction, at most tripling.
const MIN_COMPLEXITY_PERCENT: i64 = -100;
const MAX_COMPLEXITY_PERCENT: i64 = 200;

const FIELDS: [Known; 11] = [
    ("full_time_hours", "A1"),
    ("isms_time_table", "A2"),
    ("bcms_time_table", "A5"),
    ("pims_time_table", "A5"),
    ("complexity_percent", "A3"),
    ("max_reduction_percent", "A3"),
    ("min_onsite_percent", "A3"),
    ("remote_share_flag_percent", "M5"),
    ("max_integration_reduction_percent", "A7"),
    ("jurisdiction", "C3"),
    ("certificate", "C1"),
];

impl Settings {
    /// Checks a whole settings document (rules cited per field) and returns every problem at
    /// once: unknown fields, wrong types, out-of-range percentages, bands that do not start at
    /// 1, leave gaps, overlap or lose days, non-positive days. Absent (or null) keys keep their
    /// default.
    pub fn from_json(value: &Value) -> Result<Settings, Vec<FieldError>> {
        let mut reader = Reader::default();
        let mut settings = Settings::default();
        if let Some(map) = reader.object(value, "", &FIELDS, "A2") {
            settings.read(&mut reader, map);
        }
        reader.finish(settings)
    }

    fn read(&mut self, r: &mut Reader, map: &Map<String, Value>) {
        let percent =
            |r: &mut Reader, key: &str, max: u32, rule: &'static str, target: &mut u32| {
                if let Some(v) = field(map, key)
                    && let Some(p) = r.unsigned(v, &child("", key), 0, max, rule)
                {
                    *target = p;
                }
            };
        if let Some(v) = field(map, "full_time_hours")
            && let Some(h) = r.hours(v, "/full_time_hours", "A1")
        {
            if (MIN_FULL_TIME_HOURS..=MAX_FULL_TIME_HOURS).contains(&h.centi()) {
                self.full_time_hours = h;
            } else {
                r.error(
                    "/full_time_hours",
                    ErrorCode::OutOfRange,
                    "a full-time week is 20 to 60 hours",
                    "A1",
                );
            }
        }
        for (key, rule, table) in [
            ("isms_time_table", "A2", &mut self.isms_time_table),
            ("bcms_time_table", "A5", &mut self.bcms_time_table),
            ("pims_time_table", "A5", &mut self.pims_time_table),
        ] {
            if let Some(v) = field(map, key) {
                read_table(r, v, &child("", key), rule, table);
            }
        }
        if let Some(v) = field(map, "complexity_percent") {
            read_complexity(r, v, &mut self.complexity_percent);
        }
        // A total reduction of 100% would leave no audit; 99 is the most a document may ask.
        percent(
            r,
            "max_reduction_percent",
            99,
            "A3",
            &mut self.max_reduction_percent,
        );
        percent(
            r,
            "min_onsite_percent",
            100,
            "A3",
            &mut self.min_onsite_percent,
        );
        percent(
            r,
            "remote_share_flag_percent",
            100,
            "M5",
            &mut self.remote_share_flag_percent,
        );
        percent(
            r,
            "max_integration_reduction_percent",
            99,
            "A7",
            &mut self.max_integration_reduction_percent,
        );
        if let Some(v) = field(map, "jurisdiction") {
            match v.as_str() {
                Some("iaf") => self.jurisdiction = Jurisdiction::Iaf,
                Some("cn") => self.jurisdiction = Jurisdiction::Cn,
                Some(_) => r.error(
                    "/jurisdiction",
                    ErrorCode::InvalidValue,
                    "must be one of: iaf, cn",
                    "C3",
                ),
                None => r.error(
                    "/jurisdiction",
                    ErrorCode::InvalidType,
                    "expected text",
                    "C3",
                ),
            }
        }
        if let Some(v) = field(map, "certificate") {
            read_certificate(r, v, &mut self.certificate);
        }
    }
}

/// C1–C5, C7: the certificate section, every member read at its own JSON pointer (absent or
/// null keys keep their default, as everywhere in the document): unknown members (also in
/// `certification_body` and `accreditation_body`) are `unknown_field` where they are, whole
/// numbers are read exactly ([`crate::shared::number`]: `6.0` and `90.0` are 6 and 90; `6.5`,
/// `1e-400`, `-1` and `4294967296` are refused at their field), texts must be text and
/// `accredited` a boolean; then every out-of-range value at once
/// ([`CertificateSettings::check`]). Nothing is left to serde's message about the whole
/// section.
fn read_certificate(r: &mut Reader, value: &Value, target: &mut CertificateSettings) {
    const PATH: &str = "/certificate";
    let errors_before = r.errors.len();
    let Some(map) = r.object(value, PATH, &CERTIFICATE_KEYS, "C1") else {
        return;
    };
    let mut section = Map::new();
    for (key, rule) in CERTIFICATE_COUNTS {
        if let Some(v) = field(map, key)
            && let Some(n) = r.integer(v, &child(PATH, key), 0, 1_000, rule)
        {
            section.insert(key.to_owned(), Value::from(n));
        }
    }
    if let Some(v) = field(map, "recertification_numbering") {
        match v.as_str() {
            Some(name) if RecertificationNumbering::NAMES.contains(&name) => {
                section.insert("recertification_numbering".to_owned(), Value::from(name));
            }
            _ => r.error(
                &child(PATH, "recertification_numbering"),
                ErrorCode::InvalidValue,
                "expected \"revision\" or \"new_number\"",
                "S5",
            ),
        }
    }
    if let Some(v) = field(map, "number_prefix") {
        match v.as_str() {
            Some(prefix) => {
                section.insert("number_prefix".to_owned(), Value::from(prefix));
            }
            None => r.error(
                &child(PATH, "number_prefix"),
                ErrorCode::InvalidType,
                "expected text",
                "C1",
            ),
        }
    }
    for (key, members, rule) in [
        ("certification_body", &CERTIFICATION_BODY_KEYS[..], "C1"),
        ("accreditation_body", &ACCREDITATION_BODY_KEYS[..], "C7"),
    ] {
        if let Some(v) = field(map, key)
            && let Some(body) = read_body(r, v, &child(PATH, key), members, rule)
        {
            section.insert(key.to_owned(), Value::Object(body));
        }
    }
    if r.errors.len() > errors_before {
        return;
    }
    match CertificateSettings::deserialize(Value::Object(section)) {
        Ok(settings) => {
            let errors = settings.check();
            if errors.is_empty() {
                *target = settings;
            }
            for mut e in errors {
                e.field = format!("{PATH}{}", e.field);
                r.errors.push(e);
            }
        }
        // Unreachable: every member was checked above; kept so nothing is ever accepted
        // unread.
        Err(e) => r.error(PATH, ErrorCode::InvalidValue, e.to_string(), "C1"),
    }
}

/// C1, C7: the members of the CB (`certification_body`) or the accreditation body
/// (`accreditation_body`) at `path`, each at its own pointer: unknown members refused, texts
/// trimmed, `accredited` a boolean; null members keep their default.
fn read_body(
    r: &mut Reader,
    value: &Value,
    path: &str,
    members: &[Known],
    rule: &'static str,
) -> Option<Map<String, Value>> {
    let errors_before = r.errors.len();
    let map = r.object(value, path, members, rule)?;
    let mut body = Map::new();
    for (key, _) in members {
        let Some(v) = field(map, key) else { continue };
        let at = child(path, key);
        if *key == "accredited" {
            match v.as_bool() {
                Some(b) => {
                    body.insert((*key).to_owned(), Value::from(b));
                }
                None => r.error(&at, ErrorCode::InvalidType, "expected true or false", rule),
            }
        } else {
            match v.as_str() {
                Some(text) => {
                    body.insert((*key).to_owned(), Value::from(text.trim()));
                }
                None => r.error(&at, ErrorCode::InvalidType, "expected text", rule),
            }
        }
    }
    (r.errors.len() == errors_before).then_some(body)
}

/// The members of the certificate section, with the rule each cites.
const CERTIFICATE_KEYS: [Known; 11] = [
    ("number_prefix", "C1"),
    ("number_digits", "C1"),
    ("suspension_months", "C5"),
    ("max_gap_months", "C3"),
    ("cn_max_gap_months", "C3"),
    ("recertification_application_months", "C4"),
    ("restore_after_expiry_months", "C4"),
    ("certification_body", "C1"),
    ("effective_within_days", "C2"),
    ("accreditation_body", "C7"),
    ("recertification_numbering", "S5"),
];

/// The members of `certificate.certification_body` (C1).
const CERTIFICATION_BODY_KEYS: [Known; 3] = [("name", "C1"), ("address", "C1"), ("mark", "C1")];

/// The members of `certificate.accreditation_body` (C7).
const ACCREDITATION_BODY_KEYS: [Known; 3] =
    [("name", "C7"), ("acronym", "C7"), ("accredited", "C7")];

/// The whole-number keys of the certificate section, with the rule each cites (their bands
/// are [`CertificateSettings::check`]'s).
const CERTIFICATE_COUNTS: [Known; 7] = [
    ("number_digits", "C1"),
    ("suspension_months", "C5"),
    ("max_gap_months", "C3"),
    ("cn_max_gap_months", "C3"),
    ("recertification_application_months", "C4"),
    ("restore_after_expiry_months", "C4"),
    ("effective_within_days", "C2"),
];

/// A2, A5: reads a time table over `table` (absent keys keep its values) and checks its bands.
fn read_table(
    r: &mut Reader,
    value: &Value,
    path: &str,
    rule: &'static str,
    table: &mut TimeTable,
) {
    let known = [("bands", rule), ("progression", rule)];
    let Some(map) = r.object(value, path, &known, rule) else {
        return;
    };
    if let Some(v) = field(map, "bands")
        && let Some(bands) = read_bands(r, v, &child(path, "bands"), rule)
    {
        table.bands = bands;
    }
    if let Some(v) = field(map, "progression") {
        let path = child(path, "progression");
        let known = [("personnel_per_step", rule), ("days_per_step", rule)];
        if let Some(map) = r.object(v, &path, &known, rule) {
            if let Some(v) = field(map, "personnel_per_step")
                && let Some(n) = r.unsigned(
                    v,
                    &child(&path, "personnel_per_step"),
                    1,
                    MAX_PERSONNEL,
                    rule,
                )
            {
                table.progression.personnel_per_step = n;
            }
            if let Some(v) = field(map, "days_per_step")
                && let Some(d) = r.days(v, &child(&path, "days_per_step"), MIN_DAYS, MAX_DAYS, rule)
            {
                table.progression.days_per_step = d;
            }
        }
    }
}

/// A2, A5: bands start at 1, each starts right after the previous one ends, none ends before
/// it starts, and days never decrease (so audit time never falls as personnel grows).
fn read_bands(r: &mut Reader, value: &Value, path: &str, rule: &'static str) -> Option<Vec<Band>> {
    let items = r.list(value, path, MAX_BANDS, rule)?;
    if items.is_empty() {
        r.error(path, ErrorCode::Required, "at least one band", rule);
        return None;
    }
    let errors_before = r.errors.len();
    let known = [("from", rule), ("to", rule), ("days", rule)];
    // `Some(None)` before the first band; `None` after a band that could not be read.
    let mut previous: Option<Option<Band>> = Some(None);
    let mut bands = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = child(path, &i.to_string());
        let band = r.object(item, &path, &known, rule).and_then(|map| {
            let number = |key: &str, r: &mut Reader| {
                r.required(map, &path, key, rule)
                    .and_then(|v| r.unsigned(v, &child(&path, key), 1, MAX_PERSONNEL, rule))
            };
            let from = number("from", r);
            let to = number("to", r);
            let days = r
                .required(map, &path, "days", rule)
                .and_then(|v| r.days(v, &child(&path, "days"), MIN_DAYS, MAX_DAYS, rule));
            Some(Band {
                from: from?,
                to: to?,
                days: days?,
            })
        });
        if let Some(band) = band {
            if let Some(previous) = previous {
                check_band(r, &path, rule, previous, band);
            }
            bands.push(band);
        }
        previous = band.map(Some);
    }
    (r.errors.len() == errors_before).then_some(bands)
}

fn check_band(r: &mut Reader, path: &str, rule: &'static str, previous: Option<Band>, band: Band) {
    let expected_from = match previous {
        None => Some(1),
        Some(p) => p.to.checked_add(1),
    };
    match (previous, expected_from) {
        (_, Some(from)) if band.from == from => {}
        (None, _) => r.error(
            &child(path, "from"),
            ErrorCode::InvalidTable,
            "the first band must start at 1",
            rule,
        ),
        (Some(p), _) => r.error(
            &child(path, "from"),
            ErrorCode::InvalidTable,
            format!(
                "must be {}, right after the previous band's `to` (bands may not leave gaps or overlap)",
                u64::from(p.to) + 1
            ),
            rule,
        ),
    }
    if band.to < band.from {
        r.error(
            &child(path, "to"),
            ErrorCode::InvalidTable,
            format!("must not be below `from` ({})", band.from),
            rule,
        );
    }
    if let Some(p) = previous
        && band.days < p.days
    {
        r.error(
            &child(path, "days"),
            ErrorCode::InvalidTable,
            format!("must not be less than the previous band's {} days", p.days),
            rule,
        );
    }
}

/// A3: reads the complexity percentages over `target` (absent keys keep their values).
fn read_complexity(r: &mut Reader, value: &Value, target: &mut ComplexityPercent) {
    const ROWS: [Known; 3] = [
        ("business_low", "A3"),
        ("business_medium", "A3"),
        ("business_high", "A3"),
    ];
    const CELLS: [Known; 3] = [("it_low", "A3"), ("it_medium", "A3"), ("it_high", "A3")];
    let Some(map) = r.object(value, "/complexity_percent", &ROWS, "A3") else {
        return;
    };
    let rows = [
        &mut target.business_low,
        &mut target.business_medium,
        &mut target.business_high,
    ];
    for ((row_key, _), row) in ROWS.iter().zip(rows) {
        let Some(v) = field(map, row_key) else {
            continue;
        };
        let path = child("/complexity_percent", row_key);
        let Some(cells) = r.object(v, &path, &CELLS, "A3") else {
            continue;
        };
        let targets = [&mut row.it_low, &mut row.it_medium, &mut row.it_high];
        for ((cell_key, _), cell) in CELLS.iter().zip(targets) {
            if let Some(v) = field(cells, cell_key)
                && let Some(p) = r.integer(
                    v,
                    &child(&path, cell_key),
                    MIN_COMPLEXITY_PERCENT,
                    MAX_COMPLEXITY_PERCENT,
                    "A3",
                )
                && let Ok(p) = i32::try_from(p)
            {
                *cell = p;
            }
        }
    }
}
