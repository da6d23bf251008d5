//! T1–T4: the audit team's composition, checked for every audit, initial ones included
//! (docs/CYCLE.md; ISO/IEC 17021-1:2015 9.2.2; seed ZBT-TP-036 §5.2.2.1).
//!
//! [`compose`] checks a team against the people register and returns it with each trainee's
//! evaluator named (T4), or every broken rule at once; [`crate::audit::record_audit`] adds
//! them to D4 and M1/M2.
//!
//! Choices where the rules are silent:
//! - People compare by id, trimmed, case-insensitive (as D4 finds them in the register).
//! - T2: a (standard, technical area) pair is covered when one lead, auditor or technical
//!   expert is competent for it by D2's own check ([`Person::competent_for`]); a standard no
//!   counting member has any competence record for is reported once, not once per area.
//!   Someone missing from the register covers nothing (D4 reports them).
//! - T3: the technical expert's companion is a lead or auditor who is someone else.
//! - T4: a trainee's entry may name its evaluator (`"evaluator": "<person id>"`); without it,
//!   the one evaluator of the team who is not the trainee is named in the record; with
//!   several, the entry must say which. Only a trainee's entry names an evaluator.
//! - A person listed twice is a technical expert acting as an auditor (T3), a trainee who is
//!   their own evaluator (T4), or otherwise twice in one team (D1: one role each).

use crate::audit::{Role, TeamMember};
use crate::intake::application::StandardCode;
use crate::people::Person;
use crate::shared::violation::Violation;

/// Whether two person ids name the same person (trimmed, case-insensitive).
pub fn same_person(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The register entry of person `id` (D4's lookup), if any.
pub fn register_entry<'a>(register: &'a [(String, Person)], id: &str) -> Option<&'a Person> {
    register
        .iter()
        .find(|(pid, _)| same_person(pid, id))
        .map(|(_, person)| person)
}

/// T2: whether `role` counts toward the team's competence (trainees and evaluators do not).
pub const fn counts_for_competence(role: Role) -> bool {
    matches!(role, Role::Lead | Role::Auditor | Role::TechnicalExpert)
}

/// The role as messages name it.
pub const fn role_name(role: Role) -> &'static str {
    match role {
        Role::Lead => "lead",
        Role::Auditor => "auditor",
        Role::TechnicalExpert => "technical expert",
        Role::Trainee => "trainee",
        Role::Evaluator => "evaluator",
    }
}

/// T1–T4 (and D1's one role each): checks `team` (the audit body's members, in order) against
/// `register` (register entries by person id; at least the team's), `standards` (the
/// application's) and `technical_areas` (the review's accepted areas, A9). Returns the team as
/// recorded, each trainee's entry naming the evaluator responsible for their findings (T4), or
/// every violation at once, each naming the people concerned:
/// - T1: no lead, or more than one;
/// - T2: a standard, or a (standard, technical area) pair, no lead, auditor or technical
///   expert is competent for (trainees and evaluators do not count);
/// - T3: a technical expert who is also the lead or an auditor, or technical experts without
///   a lead or auditor to accompany them;
/// - T4: a trainee without an evaluator in the team who is not the trainee, an evaluator named
///   who is not an evaluator of the team, several evaluators and none named, a person both
///   trainee and evaluator, an `evaluator` on an entry that is not a trainee's;
/// - D1: a person listed twice otherwise.
pub fn compose(
    team: Vec<TeamMember>,
    register: &[(String, Person)],
    standards: &[StandardCode],
    technical_areas: &[String],
) -> Result<Vec<TeamMember>, Vec<Violation>> {
    let mut violations = Vec::new();
    check_leads(&team, &mut violations);
    check_competence(&team, register, standards, technical_areas, &mut violations);
    check_twice(&team, &mut violations);
    check_accompanied(&team, &mut violations);
    let team = name_evaluators(team, &mut violations);
    if violations.is_empty() {
        Ok(team)
    } else {
        Err(violations)
    }
}

/// The people of `team` in `role`.
fn in_role(team: &[TeamMember], role: Role) -> impl Iterator<Item = &TeamMember> {
    team.iter().filter(move |m| m.role == role)
}

/// T1: exactly one lead.
fn check_leads(team: &[TeamMember], violations: &mut Vec<Violation>) {
    let leads: Vec<&str> = in_role(team, Role::Lead).map(|m| m.person.trim()).collect();
    match leads.len() {
        1 => {}
        0 => violations.push(Violation::new(
            "T1",
            "the team has no lead auditor: one lead per audit team",
        )),
        n => violations.push(Violation::new(
            "T1",
            format!(
                "the team has {n} lead auditors ({}): one lead per audit team",
                leads.join(", ")
            ),
        )),
    }
}

/// T2: every standard and every accepted technical area covered by a counting member.
fn check_competence(
    team: &[TeamMember],
    register: &[(String, Person)],
    standards: &[StandardCode],
    technical_areas: &[String],
    violations: &mut Vec<Violation>,
) {
    /// The members (id, register entry) who count toward competence, or who do not.
    fn entries<'a>(
        team: &'a [TeamMember],
        register: &'a [(String, Person)],
        counting: bool,
    ) -> Vec<(&'a str, &'a Person)> {
        team.iter()
            .filter(|m| counts_for_competence(m.role) == counting)
            .filter_map(|m| register_entry(register, &m.person).map(|p| (m.person.trim(), p)))
            .collect()
    }
    /// Those of `people` competent (D2) for `standard`, in `area` when given.
    fn holders<'a>(
        people: &[(&'a str, &Person)],
        standard: StandardCode,
        area: Option<&String>,
    ) -> Vec<&'a str> {
        let areas: &[String] = area.map(std::slice::from_ref).unwrap_or_default();
        people
            .iter()
            .filter(|(_, p)| p.competent_for(&[standard], areas).is_empty())
            .map(|(id, _)| *id)
            .collect()
    }
    let counting = entries(team, register, true);
    let others = entries(team, register, false);
    let only = |names: Vec<&str>| {
        if names.is_empty() {
            String::new()
        } else {
            format!(
                " (only {} of the trainees and evaluators, who do not count)",
                names.join(", ")
            )
        }
    };
    for &standard in standards {
        if holders(&counting, standard, None).is_empty() {
            violations.push(Violation::new(
                "T2",
                format!(
                    "no lead, auditor or technical expert of the team holds a competence for {}{}",
                    standard.as_str(),
                    only(holders(&others, standard, None))
                ),
            ));
            continue;
        }
        for area in technical_areas {
            if holders(&counting, standard, Some(area)).is_empty() {
                violations.push(Violation::new(
                    "T2",
                    format!(
                        "no lead, auditor or technical expert of the team is competent for {} in technical area {}{}",
                        standard.as_str(),
                        area.trim(),
                        only(holders(&others, standard, Some(area)))
                    ),
                ));
            }
        }
    }
}

/// T3, T4, D1: each person listed twice, once.
fn check_twice(team: &[TeamMember], violations: &mut Vec<Violation>) {
    for (i, member) in team.iter().enumerate() {
        if team[..i]
            .iter()
            .any(|earlier| same_person(&earlier.person, &member.person))
        {
            continue; // Reported at its first entry.
        }
        let roles: Vec<Role> = team[i..]
            .iter()
            .filter(|m| same_person(&m.person, &member.person))
            .map(|m| m.role)
            .collect();
        if roles.len() < 2 {
            continue;
        }
        let has = |role: Role| roles.contains(&role);
        let who = member.person.trim();
        let listed = roles
            .iter()
            .map(|r| role_name(*r))
            .collect::<Vec<_>>()
            .join(" and ");
        if has(Role::TechnicalExpert) && (has(Role::Lead) || has(Role::Auditor)) {
            violations.push(Violation::new(
                "T3",
                format!("{who} is listed as {listed}: a technical expert never acts as an auditor"),
            ));
        } else if has(Role::Trainee) && has(Role::Evaluator) {
            violations.push(Violation::new(
                "T4",
                format!("{who} is listed as {listed}: a trainee's evaluator is not the trainee"),
            ));
        } else {
            violations.push(Violation::new(
                "D1",
                format!("{who} is listed as {listed}: one role each in a team"),
            ));
        }
    }
}

/// T3: technical experts are accompanied by a lead or auditor who is someone else.
fn check_accompanied(team: &[TeamMember], violations: &mut Vec<Violation>) {
    let experts: Vec<&str> = in_role(team, Role::TechnicalExpert)
        .map(|m| m.person.trim())
        .collect();
    if experts.is_empty() {
        return;
    }
    let accompanied = team.iter().any(|m| {
        matches!(m.role, Role::Lead | Role::Auditor)
            && !experts.iter().any(|e| same_person(e, &m.person))
    });
    if !accompanied {
        violations.push(Violation::new(
            "T3",
            format!(
                "technical expert {} has no lead or auditor to accompany them",
                experts.join(", ")
            ),
        ));
    }
}

/// T4: each trainee's evaluator, named on the trainee's entry as recorded.
fn name_evaluators(mut team: Vec<TeamMember>, violations: &mut Vec<Violation>) -> Vec<TeamMember> {
    let evaluators: Vec<String> = in_role(&team, Role::Evaluator)
        .map(|m| m.person.trim().to_string())
        .collect();
    for member in &mut team {
        let who = member.person.trim().to_string();
        if member.role != Role::Trainee {
            if let Some(named) = &member.evaluator {
                violations.push(Violation::new(
                    "T4",
                    format!(
                        "{who} ({}) names evaluator {}: only a trainee's entry names the evaluator responsible for their findings",
                        role_name(member.role),
                        named.trim()
                    ),
                ));
            }
            continue;
        }
        let others: Vec<&String> = evaluators
            .iter()
            .filter(|e| !same_person(e, &who))
            .collect();
        let resolved = match member.evaluator.as_deref() {
            Some(named) if same_person(named, &who) => {
                violations.push(Violation::new(
                    "T4",
                    format!("trainee {who} names themselves as evaluator: the evaluator is not the trainee"),
                ));
                None
            }
            Some(named) => match others.iter().find(|e| same_person(e, named)) {
                Some(e) => Some((*e).clone()),
                None => {
                    violations.push(Violation::new(
                        "T4",
                        format!(
                            "trainee {who} names evaluator {}, who is not an evaluator in the team",
                            named.trim()
                        ),
                    ));
                    None
                }
            },
            None => match others.as_slice() {
                [one] => Some((*one).clone()),
                [] => {
                    violations.push(Violation::new(
                        "T4",
                        format!(
                            "trainee {who} takes part without an evaluator in the team (someone other than the trainee)"
                        ),
                    ));
                    None
                }
                several => {
                    violations.push(Violation::new(
                        "T4",
                        format!(
                            "trainee {who}: the team has evaluators {}; name the one responsible for the trainee's findings (\"evaluator\" on the trainee's entry)",
                            several.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                    None
                }
            },
        };
        if resolved.is_some() {
            member.evaluator = resolved;
        }
    }
    team
}
