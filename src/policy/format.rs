//! The policy file: TOML schema and validation.
//!
//! The format is specified field by field in `docs/policy-format.md`. Parsing refuses unknown
//! fields (a misspelt `until` must not silently drop an end date) and validation checks what
//! serde cannot — citations present, fractions in range, every group and country referenced
//! exists, date ranges in order — with errors that name the line.

use super::countries;
use super::date::Date;
use super::decision::GateOutcome;
use crate::compute::record::StageKind;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use toml::Spanned;

/// Largest policy file accepted.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

/// Identity of a policy.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub id: String,
    pub title: String,
    pub version: String,
    /// The classification a controlled model gets (`4E091`); absent for a policy of its own.
    pub eccn: Option<String>,
    /// The legal instrument the policy encodes.
    pub rule: Option<String>,
    pub note: Option<String>,
}

/// Whether the rule is law and whether it is enforced.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    pub codified: bool,
    pub enforced: bool,
    pub effective: Option<Date>,
    pub compliance: Option<Date>,
    pub not_enforced_since: Option<Date>,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Comparison {
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = ">")]
    Above,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub operations: f64,
    pub comparison: Comparison,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

impl Threshold {
    pub fn reached(&self, ops: f64) -> bool {
        match self.comparison {
            Comparison::AtLeast => ops >= self.operations,
            Comparison::Above => ops > self.operations,
        }
    }
}

/// A rule that only needs its citation (and can be switched off by leaving it out).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cited {
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

/// Which total the derived-model fraction is taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FractionOf {
    /// The derived model's whole lineage (base + additional training).
    TotalLineage,
    /// The published base model's training operations.
    BaseModel,
    /// Evaluate both readings; when they disagree the decision is `needs_review`.
    Ambiguous,
    /// Evaluate both readings and take the one that excludes less.
    Conservative,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedFromPublished {
    /// Additional training above max(absolute_operations, fraction × total) makes it controlled.
    pub absolute_operations: f64,
    pub fraction: f64,
    pub fraction_of: FractionOf,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityFloor {
    /// Below this many operations a model is excluded; absent = no number published.
    pub operations: Option<f64>,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusions {
    pub published: Option<Cited>,
    pub derived_from_published: Option<DerivedFromPublished>,
    pub capability_floor: Option<CapabilityFloor>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StageKindRule {
    pub kind: StageKind,
    pub counts: bool,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

/// Which passing generators' training operations count (see [`SyntheticDataRule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeneratorsTraining {
    /// Every passing generator with unpublished weights (stricter than the text).
    All,
    /// The generator whose data took the largest share of training.
    MostUsed,
    /// The generator whose own training used the most operations.
    Largest,
    /// Both readings, and the one that adds more (the conservative reading of an ambiguity).
    LargerOfReadings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticDataRule {
    /// A generator counts when its unpublished data took more than this share of training.
    pub share_above: f64,
    pub add_generation_operations: bool,
    pub add_generator_training_if_unpublished: bool,
    /// When several generators pass, whose training operations are added: the text says "the
    /// data-generation model using the most training operations", ambiguous between the one
    /// used most and the largest [U].
    pub generators_training: GeneratorsTraining,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LineageRule {
    /// Add an unpublished base model's operations to this model's.
    pub add_unpublished_base: bool,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Counting {
    #[serde(rename = "stage_kind")]
    pub stage_kinds: Vec<StageKindRule>,
    pub synthetic_data: Option<SyntheticDataRule>,
    pub lineage: LineageRule,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

/// A member of a group for a period: `since` inclusive, `until` the first day it is no longer
/// a member.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatedMember {
    pub country: String,
    pub since: Option<Date>,
    pub until: Option<Date>,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default, rename = "dated_member")]
    pub dated_members: Vec<DatedMember>,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

impl Group {
    /// Whether `country` is a member on `date`; with the dated entry that decided, if any.
    pub fn member(&self, country: &str, date: Date) -> (bool, Option<&DatedMember>) {
        if self.members.iter().any(|m| m == country) {
            return (true, None);
        }
        match self.dated_members.iter().find(|d| d.country == country) {
            Some(d) => (
                d.since.is_none_or(|s| date >= s) && d.until.is_none_or(|u| date < u),
                Some(d),
            ),
            None => (false, None),
        }
    }
}

/// One destination rule. Rules are tried in file order; the first that matches decides.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationRule {
    pub id: String,
    /// Group ids or country codes the destination must be in (empty: any destination).
    #[serde(default)]
    pub destination_in: Vec<String>,
    /// Group ids or country codes the destination must not be in.
    #[serde(default)]
    pub destination_not_in: Vec<String>,
    /// Group ids or country codes the holder's headquarters must be in (empty: any).
    #[serde(default)]
    pub holder_hq_in: Vec<String>,
    pub decision: GateOutcome,
    /// For `allowed`: the authorization used (e.g. `AIA`).
    pub authorization: Option<String>,
    /// Whether a licence from the licences file can authorize what this rule does not allow
    /// (default: yes unless the decision is `denied`).
    pub licence_can_authorize: Option<bool>,
    /// Conditions an `allowed` answer under this rule is subject to and that nobody verified:
    /// reported with the answer (and sealed with it), or, per
    /// `destinations.unverified_conditions`, a reason for review.
    #[serde(default)]
    pub conditions: Vec<String>,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

impl DestinationRule {
    pub fn licence_can_authorize(&self) -> bool {
        self.licence_can_authorize
            .unwrap_or(self.decision != GateOutcome::Denied)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Destinations {
    /// The policy's own country: a transfer within it is not an export (`US`).
    pub home: Option<String>,
    /// What a controlled model gets where no rule matches.
    pub default: GateOutcome,
    #[serde(default, rename = "rule")]
    pub rules: Vec<DestinationRule>,
    /// What every `allowed` answer covers, said with it ("NLR under ECCN 4E091; sanctions …").
    pub scope: Option<String>,
    /// What to do with an `allowed` answer whose rule has unverified conditions.
    pub unverified_conditions: UnverifiedConditions,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

/// A company-specific order naming models, regardless of threshold.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub id: String,
    pub title: String,
    /// Model names, as declared in the training record's `[model] name`.
    pub models: Vec<String>,
    /// The developer the order was sent to: it binds that developer's named models only, so a
    /// model whose name is not declared is not held for review because of it.
    pub developer: Option<String>,
    /// The order reaches foreign persons in the policy's own country too (a release to a
    /// holder headquartered abroad there is in scope).
    #[serde(default)]
    pub foreign_persons_at_home: bool,
    /// Group ids or country codes; empty: every destination outside the United States.
    #[serde(default)]
    pub destinations: Vec<String>,
    pub decision: GateOutcome,
    pub from: Date,
    /// First day the order no longer applies.
    pub until: Option<Date>,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

impl Order {
    pub fn in_force(&self, date: Date) -> bool {
        date >= self.from && self.until.is_none_or(|u| date < u)
    }
}

/// An evidentiary presumption a policy may carry (not a rule of the regulation): evaluated only
/// when no training at all is declared. A model that would need more training tokens than
/// `max_training_tokens` to reach the threshold is presumed not controlled.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Plausibility {
    pub max_training_tokens: f64,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

/// A destination rule that applies whatever the classification (comprehensive embargoes of
/// 15 CFR part 746): unpublished weights that are not controlled under the ECCN are still
/// subject to the EAR there. Published weights are not subject to the EAR at all.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Embargo {
    pub id: String,
    /// Group ids or country codes.
    pub destination_in: Vec<String>,
    /// `license_required` or `denied`.
    pub decision: GateOutcome,
    pub citation: String,
    pub confidence: String,
    pub note: Option<String>,
}

/// What an `allowed` answer does when its rule carries conditions nobody has verified (AIA's
/// § 740.27(a)(3) conditions): report them as obligations, or turn the answer into review.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnverifiedConditions {
    #[default]
    Report,
    NeedsReview,
}

/// A validated policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyData {
    pub policy: Identity,
    pub status: Status,
    pub threshold: Threshold,
    pub exclusions: Exclusions,
    pub counting: Counting,
    pub groups: Vec<Group>,
    pub destinations: Destinations,
    pub orders: Vec<Order>,
    pub plausibility: Option<Plausibility>,
    pub embargoes: Vec<Embargo>,
}

/// The file as written, with the position of each part for error messages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    policy: Spanned<Identity>,
    status: Spanned<Status>,
    threshold: Spanned<Threshold>,
    #[serde(default)]
    exclusions: RawExclusions,
    counting: Spanned<Counting>,
    #[serde(default, rename = "group")]
    groups: Vec<Spanned<Group>>,
    destinations: Spanned<RawDestinations>,
    #[serde(default, rename = "order")]
    orders: Vec<Spanned<Order>>,
    plausibility: Option<Spanned<Plausibility>>,
    #[serde(default, rename = "embargo")]
    embargoes: Vec<Spanned<Embargo>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExclusions {
    published: Option<Spanned<Cited>>,
    derived_from_published: Option<Spanned<DerivedFromPublished>>,
    capability_floor: Option<Spanned<CapabilityFloor>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestinations {
    home: Option<String>,
    default: GateOutcome,
    #[serde(default, rename = "rule")]
    rules: Vec<Spanned<DestinationRule>>,
    scope: Option<String>,
    #[serde(default)]
    unverified_conditions: UnverifiedConditions,
    citation: String,
    confidence: String,
    note: Option<String>,
}

/// Why a policy file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    pub origin: String,
    /// 1-based line of the part at fault, when known.
    pub line: Option<usize>,
    pub message: String,
}

fn at<T>(s: &Spanned<T>) -> std::ops::Range<usize> {
    s.span()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

const CONFIDENCE: &[&str] = &["P", "S", "U", "P/S", "S/U", "P/U", "P/S/U"];

/// Parses and validates a policy; `origin` names it in errors.
pub fn parse(origin: &str, text: &str) -> Result<PolicyData, PolicyError> {
    let fail = |span: Option<std::ops::Range<usize>>, message: String| PolicyError {
        origin: origin.to_owned(),
        line: span.map(|s| line_of(text, s.start)),
        message,
    };
    if text.len() > MAX_POLICY_BYTES {
        return Err(fail(
            None,
            format!("{} bytes, over the limit of {MAX_POLICY_BYTES}", text.len()),
        ));
    }
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let message = e.message().trim_end().replace('\n', " ");
        fail(e.span(), message)
    })?;
    let mut v = Validator {
        groups: raw.groups.iter().map(|g| g.get_ref().id.clone()).collect(),
        errors: vec![],
    };

    let p = raw.policy.get_ref();
    v.check(
        at(&raw.policy),
        !p.id.is_empty()
            && p.id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        || {
            format!(
                "policy.id: lowercase letters, digits and `-`, found `{}`",
                p.id
            )
        },
    );
    v.check(at(&raw.policy), !p.version.trim().is_empty(), || {
        "policy.version: empty".into()
    });
    // The id and version are signed into every envelope's claims: printable text only.
    if let Err(e) = crate::text::printable(&p.version) {
        v.check(at(&raw.policy), false, || format!("policy.version: {e}"));
    }

    let s = raw.status.get_ref();
    v.cited(at(&raw.status), "status", &s.citation, &s.confidence);
    v.check(
        at(&raw.status),
        s.enforced || s.not_enforced_since.is_some() || !s.codified,
        || "status: codified but not enforced needs `not_enforced_since`".into(),
    );
    if let (Some(e), Some(c)) = (s.effective, s.compliance) {
        v.check(at(&raw.status), e <= c, || {
            format!("status.compliance {c} is before status.effective {e}")
        });
    }

    let t = raw.threshold.get_ref();
    v.cited(at(&raw.threshold), "threshold", &t.citation, &t.confidence);
    v.check(
        at(&raw.threshold),
        t.operations.is_finite() && t.operations > 0.0,
        || {
            format!(
                "threshold.operations: must be a positive number, found {}",
                t.operations
            )
        },
    );

    let x = &raw.exclusions;
    if let Some(p) = &x.published {
        let (span, p) = (at(p), p.get_ref());
        v.cited(span, "exclusions.published", &p.citation, &p.confidence);
    }
    if let Some(d) = &x.derived_from_published {
        let (span, d) = (at(d), d.get_ref());
        v.cited(
            span.clone(),
            "exclusions.derived_from_published",
            &d.citation,
            &d.confidence,
        );
        v.check(span.clone(), d.absolute_operations.is_finite() && d.absolute_operations >= 0.0,
            || format!("exclusions.derived_from_published.absolute_operations: must be a non-negative number, found {}", d.absolute_operations));
        v.check(span, (0.0..=1.0).contains(&d.fraction), || {
            format!(
                "exclusions.derived_from_published.fraction: a fraction in [0, 1], found {}",
                d.fraction
            )
        });
    }
    if let Some(c) = &x.capability_floor {
        let (span, c) = (at(c), c.get_ref());
        v.cited(
            span.clone(),
            "exclusions.capability_floor",
            &c.citation,
            &c.confidence,
        );
        if let Some(o) = c.operations {
            v.check(span, o.is_finite() && o > 0.0, || {
                format!("exclusions.capability_floor.operations: must be positive, found {o}")
            });
        }
    }
    let exclusions = Exclusions {
        published: raw.exclusions.published.map(Spanned::into_inner),
        derived_from_published: raw
            .exclusions
            .derived_from_published
            .map(Spanned::into_inner),
        capability_floor: raw.exclusions.capability_floor.map(Spanned::into_inner),
    };

    let c = raw.counting.get_ref();
    v.cited(at(&raw.counting), "counting", &c.citation, &c.confidence);
    v.cited(
        at(&raw.counting),
        "counting.lineage",
        &c.lineage.citation,
        &c.lineage.confidence,
    );
    let mut kinds = HashSet::new();
    for k in &c.stage_kinds {
        v.cited(
            at(&raw.counting),
            "counting.stage_kind",
            &k.citation,
            &k.confidence,
        );
        v.check(at(&raw.counting), kinds.insert(k.kind), || {
            format!("counting.stage_kind: `{:?}` listed twice", k.kind)
        });
    }
    if let Some(sd) = &c.synthetic_data {
        v.cited(
            at(&raw.counting),
            "counting.synthetic_data",
            &sd.citation,
            &sd.confidence,
        );
        v.check(
            at(&raw.counting),
            (0.0..1.0).contains(&sd.share_above),
            || {
                format!(
                    "counting.synthetic_data.share_above: a fraction in [0, 1), found {}",
                    sd.share_above
                )
            },
        );
    }

    let mut ids = HashSet::new();
    for g in &raw.groups {
        let span = at(g);
        let g = g.get_ref();
        let name = format!("group `{}`", g.id);
        v.cited(span.clone(), &name, &g.citation, &g.confidence);
        v.check(span.clone(), !g.id.is_empty() && g.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'),
            || format!("{name}: ids are lowercase (`d5`, `aia`) so they cannot be mistaken for country codes"));
        v.check(span.clone(), ids.insert(g.id.clone()), || {
            format!("{name}: a second group has this id")
        });
        let mut seen = HashSet::new();
        for m in g
            .members
            .iter()
            .chain(g.dated_members.iter().map(|d| &d.country))
        {
            v.country(span.clone(), &name, m);
            v.check(span.clone(), seen.insert(m.clone()), || {
                format!("{name}: `{m}` listed twice")
            });
        }
        for d in &g.dated_members {
            v.cited(
                span.clone(),
                &format!("{name} member `{}`", d.country),
                &d.citation,
                &d.confidence,
            );
            if let (Some(a), Some(b)) = (d.since, d.until) {
                v.check(span.clone(), a < b, || {
                    format!(
                        "{name} member `{}`: since {a} is not before until {b}",
                        d.country
                    )
                });
            }
        }
    }

    let d = raw.destinations.get_ref();
    v.cited(
        at(&raw.destinations),
        "destinations",
        &d.citation,
        &d.confidence,
    );
    v.check(at(&raw.destinations), d.default != GateOutcome::Allowed,
        || "destinations.default: `allowed` would let controlled weights go anywhere without an authorization; use license_required, denied or needs_review".into());
    let mut rule_ids = HashSet::new();
    if let Some(h) = &d.home {
        v.country(at(&raw.destinations), "destinations.home", h);
    }
    for r in &d.rules {
        let span = at(r);
        let r = r.get_ref();
        let name = format!("destinations.rule `{}`", r.id);
        v.cited(span.clone(), &name, &r.citation, &r.confidence);
        v.check(span.clone(), rule_ids.insert(r.id.clone()), || {
            format!("{name}: a second rule has this id")
        });
        for x in r
            .destination_in
            .iter()
            .chain(&r.destination_not_in)
            .chain(&r.holder_hq_in)
        {
            v.reference(span.clone(), &name, x);
        }
        v.check(
            span.clone(),
            (r.decision == GateOutcome::Allowed) == r.authorization.is_some(),
            || format!("{name}: `authorization` is required with decision `allowed` and only then"),
        );
        if let Some(Err(e)) = r.authorization.as_deref().map(crate::text::printable) {
            v.check(span.clone(), false, || {
                format!("{name}: `authorization` {e}")
            });
        }
    }

    let mut order_ids = HashSet::new();
    for o in &raw.orders {
        let span = at(o);
        let o = o.get_ref();
        let name = format!("order `{}`", o.id);
        v.cited(span.clone(), &name, &o.citation, &o.confidence);
        v.check(span.clone(), order_ids.insert(o.id.clone()), || {
            format!("{name}: a second order has this id")
        });
        v.check(
            span.clone(),
            matches!(
                o.decision,
                GateOutcome::LicenseRequired | GateOutcome::Denied
            ),
            || format!("{name}: decision must be license_required or denied"),
        );
        for x in &o.destinations {
            v.reference(span.clone(), &name, x);
        }
        if let Some(u) = o.until {
            v.check(span.clone(), o.from < u, || {
                format!("{name}: from {} is not before until {u}", o.from)
            });
        }
    }

    if let Some(p) = &raw.plausibility {
        let (span, p) = (at(p), p.get_ref());
        v.cited(span.clone(), "plausibility", &p.citation, &p.confidence);
        v.check(
            span,
            p.max_training_tokens.is_finite() && p.max_training_tokens > 0.0,
            || {
                format!(
                    "plausibility.max_training_tokens: must be a positive number, found {}",
                    p.max_training_tokens
                )
            },
        );
    }
    let mut embargo_ids = HashSet::new();
    for e in &raw.embargoes {
        let span = at(e);
        let e = e.get_ref();
        let name = format!("embargo `{}`", e.id);
        v.cited(span.clone(), &name, &e.citation, &e.confidence);
        v.check(span.clone(), embargo_ids.insert(e.id.clone()), || {
            format!("{name}: a second embargo has this id")
        });
        v.check(span.clone(), !e.destination_in.is_empty(), || {
            format!("{name}: `destination_in` is empty")
        });
        for x in &e.destination_in {
            v.reference(span.clone(), &name, x);
        }
        v.check(
            span,
            matches!(
                e.decision,
                GateOutcome::LicenseRequired | GateOutcome::Denied
            ),
            || format!("{name}: decision must be license_required or denied"),
        );
    }

    if let Some((span, message)) = v.errors.into_iter().next() {
        return Err(fail((span != (0..0)).then_some(span), message));
    }
    Ok(PolicyData {
        policy: raw.policy.into_inner(),
        status: raw.status.into_inner(),
        threshold: raw.threshold.into_inner(),
        exclusions,
        counting: raw.counting.into_inner(),
        groups: raw.groups.into_iter().map(Spanned::into_inner).collect(),
        destinations: {
            let d = raw.destinations.into_inner();
            Destinations {
                home: d.home,
                default: d.default,
                rules: d.rules.into_iter().map(Spanned::into_inner).collect(),
                scope: d.scope,
                unverified_conditions: d.unverified_conditions,
                citation: d.citation,
                confidence: d.confidence,
                note: d.note,
            }
        },
        orders: raw.orders.into_iter().map(Spanned::into_inner).collect(),
        plausibility: raw.plausibility.map(Spanned::into_inner),
        embargoes: raw.embargoes.into_iter().map(Spanned::into_inner).collect(),
    })
}

struct Validator {
    groups: HashSet<String>,
    errors: Vec<(std::ops::Range<usize>, String)>,
}

impl Validator {
    fn check(&mut self, span: std::ops::Range<usize>, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.errors.push((span, message()));
        }
    }

    fn cited(
        &mut self,
        span: std::ops::Range<usize>,
        what: &str,
        citation: &str,
        confidence: &str,
    ) {
        self.check(span.clone(), !citation.trim().is_empty(), || {
            format!("{what}: `citation` is empty; every rule says where it comes from")
        });
        self.check(span, CONFIDENCE.contains(&confidence), || {
            format!(
                "{what}: confidence `{confidence}`, expected one of {}",
                CONFIDENCE.join(", ")
            )
        });
    }

    fn country(&mut self, span: std::ops::Range<usize>, what: &str, code: &str) {
        self.check(span, countries::name(code).is_some(), || {
            format!("{what}: `{code}` is not an ISO 3166-1 alpha-2 code (uppercase, e.g. DE)")
        });
    }

    /// A group id or a country code.
    fn reference(&mut self, span: std::ops::Range<usize>, what: &str, x: &str) {
        let ok = self.groups.contains(x) || countries::name(x).is_some();
        self.check(span, ok, || {
            format!("{what}: `{x}` is neither a group id of this policy nor a country code")
        });
    }
}
