//! Rule A6: which sites of a multi-site client are audited (IAF MD1).
//!
//! n is the number of sites other than the central function; virtual sites count as sites
//! (MD1 treats a virtual site as one site). The central function is audited every time, in
//! addition to the sample. With sampling (MD1 6.1) the sample is ceil(sqrt(n)) sites at the
//! initial audit, ceil(0.6 sqrt(n)) at surveillance and ceil(0.8 sqrt(n)) at recertification,
//! never more than n; the sizes are computed in integers (no float rounding at perfect
//! squares). Where sampling is not appropriate (MD1 6.2) every site is audited at the initial
//! audit and at recertification, and ceil(30% of n) sites per surveillance.
//!
//! At least 25% of the sample (rounded up) is chosen at random, the rest by the CB for its
//! own reasons (risk, complaints, changes); when the CB names fewer, the rest is random too.
//! The random draw is ChaCha8 seeded from a recorded `u64`, one stream per audit type, so the
//! same seed always gives the same sites (a test pins the draw against library upgrades).
//! When every site is audited there is nothing to draw.

use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::intake::application::Site;
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::explain::{Explained, Step};

/// A6: an audit of the certification cycle, as far as sampling goes. Each surveillance audit
/// draws its own sample: record a seed per audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// The initial certification audit (stage 2 visits the sample).
    Initial,
    /// A surveillance audit.
    Surveillance,
    /// The recertification audit.
    Recertification,
}

impl AuditKind {
    /// Every audit type, in cycle order.
    pub const ALL: [AuditKind; 3] = [Self::Initial, Self::Surveillance, Self::Recertification];

    /// The contract's name, e.g. `"surveillance"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Surveillance => "surveillance",
            Self::Recertification => "recertification",
        }
    }

    /// The MD1 factor on sqrt(n) as a fraction (1, 0.6 = 3/5, 0.8 = 4/5) and how it reads.
    const fn factor(self) -> (u128, u128, &'static str) {
        match self {
            Self::Initial => (1, 1, "ceil(sqrt(n))"),
            Self::Surveillance => (3, 5, "ceil(0.6 sqrt(n))"),
            Self::Recertification => (4, 5, "ceil(0.8 sqrt(n))"),
        }
    }

    /// The ChaCha stream of this audit type: one recorded seed gives independent draws.
    const fn stream(self) -> u64 {
        match self {
            Self::Initial => 0,
            Self::Surveillance => 1,
            Self::Recertification => 2,
        }
    }
}

/// A6: how the sample is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// MD1 6.1: square-root sampling.
    #[default]
    Sampling,
    /// MD1 6.2: sampling is not appropriate: all sites at initial and recertification, 30%
    /// (rounded up) per surveillance.
    SamplingNotAppropriate,
}

/// A6: how many sites other than the central function an audit visits, out of `n`.
pub fn sample_size(audit: AuditKind, method: Method, n: usize) -> usize {
    let n_wide = n as u128; // usize is at most 64 bits: every product below fits in u128
    let size = match (method, audit) {
        (Method::Sampling, _) => {
            let (num, den, _) = audit.factor();
            ceil_scaled_sqrt(n_wide, num, den)
        }
        (Method::SamplingNotAppropriate, AuditKind::Surveillance) => (3 * n_wide).div_ceil(10),
        (Method::SamplingNotAppropriate, _) => n_wide,
    };
    usize::try_from(size.min(n_wide)).unwrap_or(n)
}

/// A6: the fewest sites of a sample of `size` chosen at random: 25%, rounded up.
pub const fn random_minimum(size: usize) -> usize {
    size.div_ceil(4)
}

/// The smallest k with k >= (num/den)·sqrt(n), i.e. (den·k)² >= num²·n. With r the smallest
/// integer whose square is at least num²·n, that is the smallest k with den·k >= r.
fn ceil_scaled_sqrt(n: u128, num: u128, den: u128) -> u128 {
    let target = num * num * n;
    let root = target.isqrt();
    let root = if root * root == target {
        root
    } else {
        root + 1
    };
    root.div_ceil(den)
}

/// A6: what the CB asks for one audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingRequest {
    /// The audit the sample is for.
    pub audit: AuditKind,
    /// Sampling (default) or not appropriate.
    #[serde(default)]
    pub method: Method,
    /// The recorded seed of the random draw.
    pub seed: u64,
    /// Sites (indexes into the application's `sites`) the CB picks for its own reasons;
    /// never the central function, at most the sample less its random part.
    #[serde(default)]
    pub chosen_by_cb: Vec<usize>,
}

/// A6: the sites one audit visits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSample {
    /// The audit.
    pub audit: AuditKind,
    /// How the sample was sized.
    pub method: Method,
    /// The central function's site index: audited every time, in addition to `sites`.
    pub central: usize,
    /// n: sites other than the central function, virtual sites included.
    pub other_sites: usize,
    /// The sampled sites other than the central function, ascending.
    pub sites: Vec<usize>,
    /// The part of `sites` drawn at random, ascending (empty when every site is audited).
    pub random: Vec<usize>,
    /// The part of `sites` the CB chose, ascending (empty when every site is audited).
    pub chosen_by_cb: Vec<usize>,
    /// The seed the random part was drawn with.
    pub seed: u64,
}

impl SiteSample {
    /// Every site the audit visits: the central function and the sample, ascending.
    pub fn visited(&self) -> Vec<usize> {
        let mut all = self.sites.clone();
        all.push(self.central);
        all.sort_unstable();
        all
    }
}

/// A6: the samples of a whole cycle at once (initial, surveillance, recertification), all
/// random beyond no CB choice: what review shows at screening, before the CB picks sites.
pub fn sample_cycle(
    sites: &[Site],
    method: Method,
    seed: u64,
) -> Result<Vec<Explained<SiteSample>>, Vec<FieldError>> {
    AuditKind::ALL
        .into_iter()
        .map(|audit| {
            sample_sites(
                sites,
                &SamplingRequest {
                    audit,
                    method,
                    seed,
                    chosen_by_cb: Vec::new(),
                },
            )
        })
        .collect()
}

/// A6: the sites `request.audit` visits. Errors (all at once): no site, no or two central
/// functions (`/sites`), and CB choices out of range, the central function, repeated, or too
/// many (`/chosen_by_cb`).
pub fn sample_sites(
    sites: &[Site],
    request: &SamplingRequest,
) -> Result<Explained<SiteSample>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let central = central_function(sites, &mut errors);
    let chosen = check_choices(sites, central, &request.chosen_by_cb, &mut errors);
    let n = sites.len().saturating_sub(1);
    let size = sample_size(request.audit, request.method, n);
    let everything = size == n;
    let random_min = random_minimum(size);
    let cb_max = size.saturating_sub(random_min);
    if !everything && chosen.len() > cb_max {
        errors.push(FieldError::new(
            "/chosen_by_cb",
            ErrorCode::TooManyChosen,
            format!(
                "the CB may choose at most {cb_max} of the {size} sites: at least {random_min} are chosen at random (A6)"
            ),
            "A6",
        ));
    }
    let Some(central) = central.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };

    let virtual_count = sites
        .iter()
        .enumerate()
        .filter(|(i, s)| *i != central && s.is_virtual)
        .count();
    let (_, _, formula) = request.audit.factor();
    let mut steps = vec![Step::new(
        "A6",
        format!("{} sites, central function site {central}", sites.len()),
        format!(
            "n = {n} sites other than the central function ({virtual_count} of them virtual, counted as sites)"
        ),
    )];
    steps.push(match request.method {
        Method::Sampling => Step::new(
            "A6",
            format!(
                "{} audit, n = {n}, sampling (IAF MD1 6.1)",
                request.audit.as_str()
            ),
            format!("sample {formula} = {size} sites, never more than n"),
        ),
        Method::SamplingNotAppropriate => Step::new(
            "A6",
            format!(
                "{} audit, n = {n}, sampling not appropriate (IAF MD1 6.2)",
                request.audit.as_str()
            ),
            match request.audit {
                AuditKind::Surveillance => format!("30% of n, rounded up: {size} sites"),
                _ => format!("every site: {size} sites"),
            },
        ),
    });

    let (mut sampled, mut random, mut by_cb) = if everything {
        steps.push(Step::new(
            "A6",
            format!("sample {size} of {n}"),
            "every site is audited: nothing is chosen, by the CB or at random",
        ));
        (
            (0..sites.len()).filter(|&i| i != central).collect(),
            Vec::new(),
            Vec::new(),
        )
    } else {
        let random = draw(sites.len(), central, &chosen, size, request);
        steps.push(Step::new(
            "A6",
            format!("sample {size}, the CB chose {}: {}", chosen.len(), list(&chosen)),
            format!(
                "at least {random_min} (25%, rounded up) at random; {} drawn with seed {} (ChaCha8): {}",
                random.len(),
                request.seed,
                list(&random)
            ),
        ));
        let mut sampled = chosen.clone();
        sampled.extend_from_slice(&random);
        (sampled, random, chosen)
    };
    sampled.sort_unstable();
    random.sort_unstable();
    by_cb.sort_unstable();
    steps.push(Step::new(
        "A6",
        format!("sample {}", list(&sampled)),
        format!(
            "the central function (site {central}) is audited in addition: {} sites visited",
            sampled.len() + 1
        ),
    ));
    Ok(Explained {
        value: SiteSample {
            audit: request.audit,
            method: request.method,
            central,
            other_sites: n,
            sites: sampled,
            random,
            chosen_by_cb: by_cb,
            seed: request.seed,
        },
        steps,
    })
}

/// The one central function, or errors under `/sites`.
fn central_function(sites: &[Site], errors: &mut Vec<FieldError>) -> Option<usize> {
    let marked: Vec<usize> = (0..sites.len()).filter(|&i| sites[i].central).collect();
    match marked.as_slice() {
        [one] => Some(*one),
        [] => {
            errors.push(FieldError::new(
                "/sites",
                ErrorCode::Required,
                "one site must be the central function; it is audited every time (A6)",
                "A6",
            ));
            None
        }
        [first, rest @ ..] => {
            for i in rest {
                errors.push(FieldError::new(
                    format!("/sites/{i}/central"),
                    ErrorCode::Duplicate,
                    format!("only one site can be the central function; site {first} already is"),
                    "A6",
                ));
            }
            None
        }
    }
}

/// The CB's valid choices, in the order given; errors for the others.
fn check_choices(
    sites: &[Site],
    central: Option<usize>,
    chosen: &[usize],
    errors: &mut Vec<FieldError>,
) -> Vec<usize> {
    if chosen.len() > sites.len() {
        // Necessarily repeats or invents sites; one error, not one per entry of a huge list.
        errors.push(FieldError::new(
            "/chosen_by_cb",
            ErrorCode::TooManyChosen,
            format!(
                "{} choices for {} sites: each site can be chosen once",
                chosen.len(),
                sites.len()
            ),
            "A6",
        ));
        return Vec::new();
    }
    let mut seen = vec![false; sites.len()];
    let mut valid: Vec<usize> = Vec::new();
    for (at, &site) in chosen.iter().enumerate() {
        let field = format!("/chosen_by_cb/{at}");
        let problem = if site >= sites.len() {
            Some((
                ErrorCode::InvalidReference,
                format!(
                    "there is no site {site}: the application has {} sites",
                    sites.len()
                ),
            ))
        } else if Some(site) == central {
            Some((
                ErrorCode::CentralFunctionChosen,
                format!(
                    "site {site} is the central function: it is audited every time, in addition to the sample"
                ),
            ))
        } else if seen[site] {
            Some((ErrorCode::Duplicate, format!("site {site} is chosen twice")))
        } else {
            seen[site] = true;
            None
        };
        match problem {
            Some((code, message)) => errors.push(FieldError::new(field, code, message, "A6")),
            None => valid.push(site),
        }
    }
    valid
}

/// The random part: `size - chosen` sites drawn from those neither central nor chosen.
fn draw(
    site_count: usize,
    central: usize,
    chosen: &[usize],
    size: usize,
    request: &SamplingRequest,
) -> Vec<usize> {
    let mut taken = vec![false; site_count];
    for &site in chosen.iter().chain([&central]) {
        if let Some(t) = taken.get_mut(site) {
            *t = true;
        }
    }
    let pool: Vec<usize> = (0..site_count).filter(|&i| !taken[i]).collect();
    // The callers' checks keep this within the pool; `min` keeps `index::sample` from panicking.
    let amount = size.saturating_sub(chosen.len()).min(pool.len());
    let mut rng = ChaCha8Rng::seed_from_u64(request.seed);
    rng.set_stream(request.audit.stream());
    index::sample(&mut rng, pool.len(), amount)
        .into_iter()
        .map(|at| pool[at])
        .collect()
}

/// `sites 1, 4, 7`, or `no site`.
fn list(sites: &[usize]) -> String {
    let mut sorted = sites.to_vec();
    sorted.sort_unstable();
    let numbers: Vec<String> = sorted.iter().map(usize::to_string).collect();
    match numbers.len() {
        0 => "no site".to_string(),
        1 => format!("site {}", numbers.join("")),
        _ => format!("sites {}", numbers.join(", ")),
    }
}
