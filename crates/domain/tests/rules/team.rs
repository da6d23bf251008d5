//! Rules T1–T4: the audit team's composition (docs/CYCLE.md), at the boundaries: exactly one
//! lead, competence through the counting roles only, a technical expert who is also an auditor
//! or goes unaccompanied, a trainee with and without an evaluator, and every broken rule at
//! once when an audit is recorded.

use crate::common::cb::{STANDARDS, areas, audit_body, person, person_json, request, with_context};
use certflow_domain::audit::team::compose;
use certflow_domain::audit::{Role, TeamMember, record_audit};
use certflow_domain::intake::application::StandardCode;
use certflow_domain::people::Person;
use certflow_domain::violation::Violation;
use serde_json::{Value, json};

type TestResult = Result<(), String>;

/// A register entry competent for ISO/IEC 27001 in `areas`.
fn competent(name: &str, areas: &[&str]) -> Result<Person, String> {
    let mut v = person_json(name);
    v["competences"] = json!([{ "standard": "ISO/IEC 27001", "technical_areas": areas }]);
    person(&v)
}

/// Everyone competent for ISO/IEC 27001 in IAF 33, except `p-novice` (IAF 1 only) and
/// `p-pims` (ISO/IEC 27701 only).
fn register() -> Result<Vec<(String, Person)>, String> {
    let mut pims = person_json("Pi Ms");
    pims["competences"] = json!([{ "standard": "ISO/IEC 27701", "technical_areas": ["IAF 33"] }]);
    Ok(vec![
        ("p-lead".into(), competent("Li Lei", &["IAF 33"])?),
        ("p-auditor".into(), competent("Zhang Wei", &["IAF 33"])?),
        ("p-expert".into(), competent("Sun Yu", &["IAF 33"])?),
        ("p-novice".into(), competent("Ma Jun", &["IAF 1"])?),
        ("p-trainee".into(), competent("Xu Lin", &["IAF 33"])?),
        ("p-eval".into(), competent("Hu Bo", &["IAF 33"])?),
        ("p-eval2".into(), competent("He Qi", &["IAF 33"])?),
        ("p-pims".into(), person(&pims)?),
    ])
}

fn team(members: Value) -> Result<Vec<TeamMember>, String> {
    serde_json::from_value(members).map_err(|e| e.to_string())
}

/// The team checked against [`register`], ISO/IEC 27001 and IAF 33.
fn check(members: Value) -> Result<Result<Vec<TeamMember>, Vec<Violation>>, String> {
    Ok(compose(team(members)?, &register()?, STANDARDS, &areas()))
}

fn rules(v: &[Violation]) -> Vec<&str> {
    v.iter().map(|x| x.rule.as_str()).collect()
}

fn m(person: &str, role: &str) -> Value {
    json!({ "person": person, "role": role })
}

#[test]
fn t1_one_lead_per_team() -> TestResult {
    let one = check(json!([m("p-lead", "lead"), m("p-auditor", "auditor")]))?;
    assert!(one.is_ok(), "{one:?}");
    // No lead (the auditor alone covers T2).
    let Err(v) = check(json!([m("p-auditor", "auditor")]))? else {
        return Err("a team without a lead was accepted".into());
    };
    assert_eq!(rules(&v), ["T1"], "{v:?}");
    // Two leads, each named.
    let Err(v) = check(json!([m("p-lead", "lead"), m("p-auditor", "lead")]))? else {
        return Err("a team with two leads was accepted".into());
    };
    assert_eq!(rules(&v), ["T1"], "{v:?}");
    assert!(
        v[0].found.contains("p-lead") && v[0].found.contains("p-auditor"),
        "{v:?}"
    );
    Ok(())
}

#[test]
fn t2_every_standard_and_accepted_area_is_covered() -> TestResult {
    // A lead competent only in IAF 1 leaves IAF 33 uncovered; an auditor in IAF 33 covers it.
    let Err(v) = check(json!([m("p-novice", "lead")]))? else {
        return Err("a team without IAF 33 was accepted".into());
    };
    assert_eq!(rules(&v), ["T2"], "{v:?}");
    assert!(v[0].found.contains("IAF 33"), "{v:?}");
    assert!(check(json!([m("p-novice", "lead"), m("p-auditor", "auditor")]))?.is_ok());
    // A technical expert counts toward the team's competence.
    assert!(
        check(json!([
            m("p-novice", "lead"),
            m("p-expert", "technical_expert")
        ]))?
        .is_ok()
    );
    // Every standard: ISO/IEC 27701 needs its own record; a standard no one holds is one
    // violation, not one per area.
    let both = [StandardCode::Iso27001, StandardCode::Iso27701];
    let lead_only = team(json!([m("p-lead", "lead")]))?;
    let Err(v) = compose(lead_only.clone(), &register()?, &both, &areas()) else {
        return Err("a team without ISO/IEC 27701 was accepted".into());
    };
    assert!(
        rules(&v) == ["T2"] && v[0].found.contains("ISO/IEC 27701"),
        "{v:?}"
    );
    let mut with_pims = lead_only;
    with_pims.extend(team(json!([m("p-pims", "auditor")]))?);
    assert!(compose(with_pims, &register()?, &both, &areas()).is_ok());
    Ok(())
}

#[test]
fn t2_an_area_covered_only_by_a_trainee_or_evaluator_does_not_count() -> TestResult {
    for role in ["trainee", "evaluator"] {
        let mut members = vec![m("p-novice", "lead"), m("p-trainee", role)];
        if role == "trainee" {
            members.push(m("p-eval", "evaluator"));
        }
        let Err(v) = check(json!(members))? else {
            return Err(format!("IAF 33 covered by a {role} alone was accepted"));
        };
        let t2: Vec<&Violation> = v.iter().filter(|x| x.rule == "T2").collect();
        assert_eq!(t2.len(), 1, "{v:?}");
        assert!(t2[0].found.contains("only"), "{v:?}");
        // Without any other broken rule.
        assert_eq!(rules(&v), ["T2"], "{role}: {v:?}");
    }
    Ok(())
}

#[test]
fn t2_someone_missing_from_the_register_covers_nothing() -> TestResult {
    let Err(v) = check(json!([m("p-nobody", "lead")]))? else {
        return Err("an unregistered lead covered the standard".into());
    };
    assert_eq!(rules(&v), ["T2"], "{v:?}");
    Ok(())
}

#[test]
fn t3_a_technical_expert_who_is_also_an_auditor_is_refused() -> TestResult {
    for role in ["auditor", "lead"] {
        let mut members = vec![m("p-expert", "technical_expert"), m("P-EXPERT ", role)];
        if role == "auditor" {
            members.push(m("p-lead", "lead"));
        }
        let Err(v) = check(json!(members))? else {
            return Err(format!("a technical expert acting as {role} was accepted"));
        };
        assert!(rules(&v).contains(&"T3"), "{v:?}");
        assert!(
            v.iter()
                .all(|x| x.rule != "D1" && (x.rule != "T1" || role == "lead")),
            "{v:?}"
        );
    }
    Ok(())
}

#[test]
fn t3_a_technical_expert_is_accompanied_by_an_auditor() -> TestResult {
    // With a lead: accompanied.
    assert!(
        check(json!([
            m("p-lead", "lead"),
            m("p-expert", "technical_expert")
        ]))?
        .is_ok()
    );
    // Alone (and so without a lead): T1 and T3 at once.
    let Err(v) = check(json!([m("p-expert", "technical_expert")]))? else {
        return Err("a technical expert alone was accepted".into());
    };
    assert_eq!(rules(&v), ["T1", "T3"], "{v:?}");
    Ok(())
}

#[test]
fn t4_a_trainee_without_an_evaluator_is_refused() -> TestResult {
    let Err(v) = check(json!([m("p-lead", "lead"), m("p-trainee", "trainee")]))? else {
        return Err("a trainee without an evaluator was accepted".into());
    };
    assert_eq!(rules(&v), ["T4"], "{v:?}");
    Ok(())
}

#[test]
fn t4_the_evaluator_is_not_the_trainee() -> TestResult {
    let Err(v) = check(json!([
        m("p-lead", "lead"),
        m("p-trainee", "trainee"),
        m("p-trainee", "evaluator")
    ]))?
    else {
        return Err("a trainee evaluating themselves was accepted".into());
    };
    assert!(!v.is_empty() && v.iter().all(|x| x.rule == "T4"), "{v:?}");
    // Naming themselves on their entry, beside a real evaluator, is refused too.
    let Err(v) = check(json!([
        m("p-lead", "lead"),
        { "person": "p-trainee", "role": "trainee", "evaluator": "p-trainee" },
        m("p-eval", "evaluator")
    ]))?
    else {
        return Err("a trainee naming themselves as evaluator was accepted".into());
    };
    assert_eq!(rules(&v), ["T4"], "{v:?}");
    Ok(())
}

#[test]
fn t4_the_record_names_the_evaluator_responsible_for_the_trainee() -> TestResult {
    // One evaluator: named in the record.
    let named = check(json!([
        m("p-lead", "lead"),
        m("p-trainee", "trainee"),
        m("p-eval", "evaluator")
    ]))?
    .map_err(|v| format!("{v:?}"))?;
    let trainee = named
        .iter()
        .find(|t| t.role == Role::Trainee)
        .ok_or("trainee")?;
    assert_eq!(trainee.evaluator.as_deref(), Some("p-eval"));
    // Two evaluators: the trainee's entry must say which.
    let two = |trainee: Value| {
        check(json!([
            m("p-lead", "lead"),
            trainee,
            m("p-eval", "evaluator"),
            m("p-eval2", "evaluator")
        ]))
    };
    let Err(v) = two(m("p-trainee", "trainee"))? else {
        return Err("an ambiguous evaluator was accepted".into());
    };
    assert_eq!(rules(&v), ["T4"], "{v:?}");
    let chosen = two(json!({ "person": "p-trainee", "role": "trainee", "evaluator": "P-Eval2" }))?
        .map_err(|v| format!("{v:?}"))?;
    assert!(
        chosen
            .iter()
            .any(|t| t.role == Role::Trainee && t.evaluator.as_deref() == Some("p-eval2")),
        "{chosen:?}"
    );
    // Naming someone who is not an evaluator of the team, or naming one on a non-trainee.
    let Err(v) = two(json!({ "person": "p-trainee", "role": "trainee", "evaluator": "p-lead" }))?
    else {
        return Err("the lead named as evaluator was accepted".into());
    };
    assert_eq!(rules(&v), ["T4"], "{v:?}");
    let Err(v) = check(json!([
        { "person": "p-lead", "role": "lead", "evaluator": "p-eval" },
        m("p-eval", "evaluator")
    ]))?
    else {
        return Err("an evaluator named on the lead's entry was accepted".into());
    };
    assert_eq!(rules(&v), ["T4"], "{v:?}");
    Ok(())
}

#[test]
fn d1_a_person_twice_in_other_roles_is_one_role_each() -> TestResult {
    let Err(v) = check(json!([m("p-lead", "lead"), m("p-lead", "auditor")]))? else {
        return Err("a person twice was accepted".into());
    };
    assert_eq!(rules(&v), ["D1"], "{v:?}");
    Ok(())
}

#[test]
fn t1_t4_d4_every_broken_rule_at_once_when_an_audit_is_recorded() -> TestResult {
    // No lead (T1), IAF 33 covered only by a trainee (T2), a technical expert acting as auditor
    // (T3), the trainee without an evaluator (T4), someone not in the register (D4).
    let mut body = audit_body();
    body["team"] = json!([
        m("p-novice", "auditor"),
        m("p-novice", "technical_expert"),
        m("p-trainee", "trainee"),
        m("p-ghost", "auditor")
    ]);
    let register = register()?;
    let request = request(&body)?;
    let Err(v) = with_context(chrono::NaiveDate::MIN, &register, &[], |ctx| {
        record_audit(request, "audit-1".into(), ctx)
    }) else {
        return Err("the team was accepted".into());
    };
    let mut got = rules(&v);
    got.sort_unstable();
    got.dedup();
    assert_eq!(got, ["D4", "T1", "T2", "T3", "T4"], "{v:?}");
    Ok(())
}
