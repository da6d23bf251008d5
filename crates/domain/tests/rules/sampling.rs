//! Rule A6: multi-site sampling (IAF MD1): sample sizes, the central function, the random
//! part and its seed, the "sampling not appropriate" mode, and the CB's choices.

use certflow_domain::ErrorCode;
use certflow_domain::intake::application::{Address, Personnel, Site};
use certflow_domain::review::sampling::{
    AuditKind, Method, SamplingRequest, SiteSample, random_minimum, sample_cycle, sample_sites,
    sample_size,
};
use proptest::prelude::*;

type TestResult = Result<(), String>;

fn site(name: &str, central: bool, is_virtual: bool) -> Site {
    Site {
        name: name.to_string(),
        central,
        is_virtual,
        address: Address {
            street: "1 Main St".into(),
            city: "Shenzhen".into(),
            postcode: None,
            country: "CN".into(),
        },
        activities: "operations".into(),
        personnel: Personnel {
            full_time: 10,
            part_time: Vec::new(),
            temporary: 0,
            contractors: 0,
        },
        shifts: 1,
    }
}

/// `others` sites besides the central function, which sits at index `central`.
fn sites(others: usize, central: usize) -> Vec<Site> {
    (0..=others)
        .map(|i| site(&format!("site {i}"), i == central, false))
        .collect()
}

fn request(audit: AuditKind, method: Method, seed: u64, chosen: &[usize]) -> SamplingRequest {
    SamplingRequest {
        audit,
        method,
        seed,
        chosen_by_cb: chosen.to_vec(),
    }
}

fn sample(sites: &[Site], request: &SamplingRequest) -> Result<SiteSample, String> {
    sample_sites(sites, request)
        .map(|e| e.value)
        .map_err(|e| format!("{e:?}"))
}

/// An independent formulation: the MD1 formula in floats, nudged down by a tolerance so that
/// 0.6·sqrt(25) = 3.0000000000000004 still rounds up to 3.
fn float_size(audit: AuditKind, method: Method, n: usize) -> usize {
    let nf = n as f64;
    let raw = match (method, audit) {
        (Method::Sampling, AuditKind::Initial) => nf.sqrt(),
        (Method::Sampling, AuditKind::Surveillance) => 0.6 * nf.sqrt(),
        (Method::Sampling, AuditKind::Recertification) => 0.8 * nf.sqrt(),
        (Method::SamplingNotAppropriate, AuditKind::Surveillance) => 0.3 * nf,
        (Method::SamplingNotAppropriate, _) => nf,
    };
    ((raw - 1e-9).ceil() as usize).min(n)
}

#[test]
fn a6_md1_sample_sizes_1_to_200() {
    for method in [Method::Sampling, Method::SamplingNotAppropriate] {
        for audit in AuditKind::ALL {
            for n in 1..=200 {
                assert_eq!(
                    sample_size(audit, method, n),
                    float_size(audit, method, n),
                    "{method:?} {audit:?} n = {n}"
                );
            }
        }
    }
}

#[test]
fn a6_md1_sample_sizes_hand_picked() {
    // n, initial ceil(sqrt n), surveillance ceil(0.6 sqrt n), recertification ceil(0.8 sqrt n)
    let table = [
        (0, 0, 0, 0),
        (1, 1, 1, 1),
        (2, 2, 1, 2),
        (3, 2, 2, 2),
        (4, 2, 2, 2),
        (5, 3, 2, 2),
        (9, 3, 2, 3),
        (10, 4, 2, 3),
        (16, 4, 3, 4),
        (17, 5, 3, 4),
        (25, 5, 3, 4), // 0.6·5 and 0.8·5 are whole: no rounding up
        (100, 10, 6, 8),
        (101, 11, 7, 9),
    ];
    for (n, initial, surveillance, recertification) in table {
        let sizes = AuditKind::ALL.map(|a| sample_size(a, Method::Sampling, n));
        assert_eq!(sizes, [initial, surveillance, recertification], "n = {n}");
    }
}

#[test]
fn a6_md1_sample_sizes_huge_n_do_not_overflow() {
    for audit in AuditKind::ALL {
        let size = sample_size(audit, Method::Sampling, usize::MAX);
        assert!(size > 0 && size < usize::MAX);
        assert!(sample_size(audit, Method::SamplingNotAppropriate, usize::MAX) > 0);
    }
    assert_eq!(
        sample_size(AuditKind::Initial, Method::Sampling, usize::MAX),
        1 << (usize::BITS / 2)
    );
}

#[test]
fn a6_ea_faq_46_5_central_plus_two_sites() -> TestResult {
    let sites = sites(2, 0);
    let expected = [
        (AuditKind::Initial, 3),
        (AuditKind::Surveillance, 2),
        (AuditKind::Recertification, 3),
    ];
    for (audit, visited) in expected {
        let s = sample(&sites, &request(audit, Method::Sampling, 7, &[]))?;
        assert_eq!(s.visited().len(), visited, "{audit:?}");
        assert!(s.visited().contains(&0));
    }
    Ok(())
}

#[test]
fn a6_central_function_always_audited_never_sampled() -> TestResult {
    for others in [0, 1, 2, 5, 17, 40] {
        for central in [0, others / 2, others] {
            let sites = sites(others, central);
            for method in [Method::Sampling, Method::SamplingNotAppropriate] {
                for audit in AuditKind::ALL {
                    let s = sample(&sites, &request(audit, method, 99, &[]))?;
                    assert_eq!(s.central, central);
                    assert!(s.visited().contains(&central));
                    assert!(!s.sites.contains(&central));
                    assert_eq!(s.sites.len(), sample_size(audit, method, others));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn a6_single_site_visits_only_the_central_function() -> TestResult {
    let s = sample(
        &sites(0, 0),
        &request(AuditKind::Initial, Method::Sampling, 1, &[]),
    )?;
    assert_eq!(s.visited(), vec![0]);
    assert!(s.sites.is_empty() && s.random.is_empty());
    Ok(())
}

#[test]
fn a6_at_least_a_quarter_of_the_sample_is_random() -> TestResult {
    for others in 2..=60 {
        let sites = sites(others, 0);
        for audit in AuditKind::ALL {
            let size = sample_size(audit, Method::Sampling, others);
            if size == others {
                continue; // every site audited: nothing to draw
            }
            let most_cb = size - random_minimum(size);
            let chosen: Vec<usize> = (1..=most_cb).collect();
            let s = sample(&sites, &request(audit, Method::Sampling, 5, &chosen))?;
            assert!(s.random.len() >= size.div_ceil(4), "n = {others} {audit:?}");
            assert_eq!(s.chosen_by_cb, chosen);
            assert_eq!(s.random.len() + s.chosen_by_cb.len(), size);
            let none_chosen = sample(&sites, &request(audit, Method::Sampling, 5, &[]))?;
            assert_eq!(none_chosen.random, none_chosen.sites);
        }
    }
    Ok(())
}

#[test]
fn a6_cb_choosing_fewer_is_filled_at_random() -> TestResult {
    // n = 20: initial sample ceil(sqrt 20) = 5, at least 2 random, so the CB may choose 3.
    let sites = sites(20, 0);
    let s = sample(
        &sites,
        &request(AuditKind::Initial, Method::Sampling, 3, &[7]),
    )?;
    assert_eq!(s.sites.len(), 5);
    assert_eq!(s.chosen_by_cb, vec![7]);
    assert_eq!(s.random.len(), 4);
    assert!(s.sites.contains(&7) && !s.random.contains(&7));
    Ok(())
}

#[test]
fn a6_seed_reproduces_the_selection() -> TestResult {
    let sites = sites(50, 10);
    for audit in AuditKind::ALL {
        let r = request(audit, Method::Sampling, 424_242, &[3]);
        assert_eq!(sample(&sites, &r)?, sample(&sites, &r)?);
    }
    let draws: Vec<Vec<usize>> = (0..10)
        .map(|seed| {
            sample(
                &sites,
                &request(AuditKind::Initial, Method::Sampling, seed, &[]),
            )
        })
        .map(|s| s.map(|s| s.sites))
        .collect::<Result<_, _>>()?;
    assert!(
        draws.iter().any(|d| *d != draws[0]),
        "seeds make no difference"
    );
    Ok(())
}

/// Pins the draw itself: a rand or rand_chacha upgrade that changes which sites a recorded
/// seed selects fails here, instead of silently changing stored samples.
#[test]
fn a6_seed_draw_is_pinned() -> TestResult {
    let sites = sites(30, 0);
    let drawn = AuditKind::ALL
        .map(|audit| sample(&sites, &request(audit, Method::Sampling, 20_261_123, &[])))
        .map(|s| s.map(|s| s.sites));
    let [Ok(initial), Ok(surveillance), Ok(recertification)] = drawn else {
        return Err(format!("{drawn:?}"));
    };
    assert_eq!(initial, PINNED_INITIAL.to_vec());
    assert_eq!(surveillance, PINNED_SURVEILLANCE.to_vec());
    assert_eq!(recertification, PINNED_RECERTIFICATION.to_vec());
    Ok(())
}
const PINNED_INITIAL: [usize; 6] = [2, 11, 20, 25, 26, 29];
const PINNED_SURVEILLANCE: [usize; 4] = [5, 8, 15, 22];
const PINNED_RECERTIFICATION: [usize; 5] = [17, 18, 22, 24, 29];

#[test]
fn a6_sampling_not_appropriate_all_sites_or_30_percent() -> TestResult {
    let sites = sites(10, 4);
    let all: Vec<usize> = (0..=10).filter(|&i| i != 4).collect();
    for audit in [AuditKind::Initial, AuditKind::Recertification] {
        let s = sample(
            &sites,
            &request(audit, Method::SamplingNotAppropriate, 1, &[]),
        )?;
        assert_eq!(s.sites, all);
        assert!(s.random.is_empty() && s.chosen_by_cb.is_empty());
        assert_eq!(s.visited().len(), 11);
    }
    let s = sample(
        &sites,
        &request(
            AuditKind::Surveillance,
            Method::SamplingNotAppropriate,
            1,
            &[2],
        ),
    )?;
    assert_eq!(s.sites.len(), 3); // ceil(30% of 10)
    assert_eq!(s.chosen_by_cb, vec![2]);
    assert_eq!(s.random.len(), 2);
    for (n, expected) in [(1, 1), (2, 1), (3, 1), (4, 2), (10, 3), (11, 4)] {
        assert_eq!(
            sample_size(AuditKind::Surveillance, Method::SamplingNotAppropriate, n),
            expected
        );
    }
    Ok(())
}

#[test]
fn a6_virtual_sites_count_as_sites() -> TestResult {
    let mut sites = sites(4, 0);
    sites[2].is_virtual = true;
    sites[3].is_virtual = true;
    let explained = sample_sites(
        &sites,
        &request(AuditKind::Initial, Method::Sampling, 1, &[]),
    )
    .map_err(|e| format!("{e:?}"))?;
    assert_eq!(explained.value.other_sites, 4);
    assert_eq!(explained.value.sites.len(), 2);
    assert!(explained.steps[0].effect.contains("2 of them virtual"));
    Ok(())
}

#[test]
fn a6_cb_choices_are_checked_all_at_once() -> TestResult {
    // n = 20, initial sample 5, the CB may choose 3.
    let sites = sites(20, 0);
    let Err(errors) = sample_sites(
        &sites,
        &request(
            AuditKind::Initial,
            Method::Sampling,
            1,
            &[21, 0, 5, 5, 6, 7, 8],
        ),
    ) else {
        return Err("bad choices accepted".into());
    };
    let got: Vec<(&str, ErrorCode)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
    assert_eq!(
        got,
        vec![
            ("/chosen_by_cb/0", ErrorCode::InvalidReference),
            ("/chosen_by_cb/1", ErrorCode::CentralFunctionChosen),
            ("/chosen_by_cb/3", ErrorCode::Duplicate),
            ("/chosen_by_cb", ErrorCode::TooManyChosen),
        ]
    );
    assert!(errors.iter().all(|e| e.rule == "A6"));
    Ok(())
}

#[test]
fn a6_far_more_choices_than_sites_is_one_error() -> TestResult {
    let chosen = vec![1; 100_000];
    let Err(errors) = sample_sites(
        &sites(3, 0),
        &request(AuditKind::Initial, Method::Sampling, 1, &chosen),
    ) else {
        return Err("accepted".into());
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, ErrorCode::TooManyChosen);
    Ok(())
}

#[test]
fn a6_no_or_two_central_functions_are_errors() -> TestResult {
    let mut none = sites(3, 0);
    none[0].central = false;
    let mut two = sites(3, 0);
    two[2].central = true;
    let r = request(AuditKind::Initial, Method::Sampling, 1, &[]);
    let (Err(e1), Err(e2), Err(e3)) = (
        sample_sites(&none, &r),
        sample_sites(&two, &r),
        sample_sites(&[], &r),
    ) else {
        return Err("accepted".into());
    };
    assert_eq!(
        (e1[0].field.as_str(), e1[0].code),
        ("/sites", ErrorCode::Required)
    );
    assert_eq!(
        (e2[0].field.as_str(), e2[0].code),
        ("/sites/2/central", ErrorCode::Duplicate)
    );
    assert_eq!(e3[0].code, ErrorCode::Required);
    Ok(())
}

#[test]
fn a6_sample_cycle_and_steps_cite_a6() -> TestResult {
    let cycle = sample_cycle(&sites(9, 0), Method::Sampling, 11).map_err(|e| format!("{e:?}"))?;
    let sizes: Vec<usize> = cycle.iter().map(|e| e.value.sites.len()).collect();
    assert_eq!(sizes, vec![3, 2, 3]);
    for explained in &cycle {
        assert!(!explained.steps.is_empty());
        assert!(explained.steps.iter().all(|s| s.rule == "A6"));
    }
    Ok(())
}

#[test]
fn a6_sample_and_request_round_trip_through_json() -> Result<(), Box<dyn std::error::Error>> {
    let explained = sample_sites(
        &sites(12, 0),
        &request(AuditKind::Surveillance, Method::Sampling, u64::MAX, &[4]),
    )
    .map_err(|e| format!("{e:?}"))?;
    let text = serde_json::to_string(&explained)?;
    let back: certflow_domain::explain::Explained<SiteSample> = serde_json::from_str(&text)?;
    assert_eq!(back, explained);
    let r: SamplingRequest =
        serde_json::from_value(serde_json::json!({ "audit": "recertification", "seed": 5 }))?;
    assert_eq!(r.method, Method::Sampling);
    assert!(
        serde_json::from_value::<SamplingRequest>(
            serde_json::json!({ "audit": "initial", "seed": 5, "sede": 1 })
        )
        .is_err()
    );
    Ok(())
}

fn any_audit() -> impl Strategy<Value = AuditKind> {
    prop_oneof![
        Just(AuditKind::Initial),
        Just(AuditKind::Surveillance),
        Just(AuditKind::Recertification)
    ]
}

fn any_method() -> impl Strategy<Value = Method> {
    prop_oneof![Just(Method::Sampling), Just(Method::SamplingNotAppropriate)]
}

proptest! {
    #[test]
    fn a6_sample_size_monotone_and_at_most_n(
        n in 0usize..2_000_000,
        audit in any_audit(),
        method in any_method(),
    ) {
        let size = sample_size(audit, method, n);
        prop_assert!(size <= n);
        prop_assert!(size <= sample_size(audit, method, n + 1));
        prop_assert!(n == 0 || size >= 1);
    }

    #[test]
    fn a6_selection_never_repeats_nor_includes_central(
        others in 0usize..80,
        central_at in 0usize..80,
        seed in any::<u64>(),
        audit in any_audit(),
        method in any_method(),
        picks in proptest::collection::vec(0usize..80, 0..6),
    ) {
        let central = central_at % (others + 1);
        let sites = sites(others, central);
        let size = sample_size(audit, method, others);
        // Valid CB choices: distinct, in range, not central, within the CB's share.
        let mut chosen: Vec<usize> = Vec::new();
        for p in picks {
            let p = p % (others + 1);
            if p != central && !chosen.contains(&p) && chosen.len() < size - random_minimum(size) {
                chosen.push(p);
            }
        }
        let result = sample_sites(&sites, &request(audit, method, seed, &chosen));
        prop_assert!(result.is_ok(), "{:?}", result);
        let Ok(explained) = result else { return Ok(()) };
        let s = explained.value;
        let mut distinct = s.sites.clone();
        distinct.dedup();
        prop_assert_eq!(distinct.len(), s.sites.len());
        prop_assert!(s.sites.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(!s.sites.contains(&central));
        prop_assert_eq!(s.sites.len(), size);
        prop_assert!(s.random.iter().all(|i| s.sites.contains(i) && !s.chosen_by_cb.contains(i)));
        prop_assert!(s.chosen_by_cb.iter().all(|i| s.sites.contains(i)));
        if size < others {
            prop_assert!(s.random.len() >= random_minimum(size));
        }
    }
}
