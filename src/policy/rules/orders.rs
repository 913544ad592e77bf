//! Company-specific orders: a letter naming a developer's models requires a licence (or denies)
//! regardless of the threshold, while in force, within its destinations.

use crate::policy::format::PolicyData;
use crate::policy::gate::in_any;
use crate::policy::{Date, GateOutcome, Reason};

/// What the orders in the policy say about one model: a reason per order, the strongest outcome
/// of those that apply, and whether an order in force could not be ruled out for want of a name.
pub struct Orders {
    pub reasons: Vec<Reason>,
    pub outcome: Option<(GateOutcome, String)>,
    pub unknown_name: bool,
}

/// Evaluates every order for a model known by `model_ids`, to `dest` for a holder headquartered
/// in `hq`; `home` says whether `dest` is the policy's own country.
pub fn evaluate(
    d: &PolicyData,
    model_ids: &[String],
    dest: &str,
    hq: &str,
    home: bool,
    as_of: Date,
) -> Orders {
    let mut order_reasons = Vec::new();
    let mut order_outcome: Option<(GateOutcome, String)> = None;
    let mut unknown_name = false;
    for o in &d.orders {
        if !o.in_force(as_of) {
            order_reasons.push(Reason::new(
                format!("order.{}", o.id),
                "not_in_force",
                format!(
                    "{}: in force from {}{}, not on {as_of}",
                    o.title,
                    o.from,
                    o.until.map_or(String::new(), |u| format!(" until {u}"))
                ),
                &o.citation,
                &o.confidence,
            ));
            continue;
        }
        if o.models.is_empty() {
            order_reasons.push(Reason::new(
                format!("order.{}", o.id),
                "names_no_models",
                format!(
                    "{}: in force, but the policy lists no model names for it",
                    o.title
                ),
                &o.citation,
                &o.confidence,
            ));
            continue;
        }
        let named = o.models.iter().any(|m| model_ids.contains(m));
        let in_scope = if o.destinations.is_empty() {
            !home || (o.foreign_persons_at_home && hq != dest)
        } else {
            in_any(d, &o.destinations, dest, as_of).is_some()
        };
        if model_ids.is_empty()
            && let Some(dev) = &o.developer
        {
            // An order binds its developer's named models: an unnamed model is not held for it.
            order_reasons.push(Reason::new(
                format!("order.{}", o.id),
                "not_applicable",
                format!(
                    "{}: binds {dev}'s models {}; this model's name is not declared: if it is one of them, declare [model] name in the training record",
                    o.title,
                    o.models.join(", ")
                ),
                &o.citation,
                &o.confidence,
            ));
        } else if model_ids.is_empty() {
            unknown_name = true;
            order_reasons.push(Reason::new(format!("order.{}", o.id), "unknown_model",
                format!("{}: in force and names models, but this model's name is not declared ([model] name in the training record), so the order cannot be ruled out", o.title),
                &o.citation, &o.confidence));
        } else if named && in_scope {
            order_reasons.push(Reason::new(
                format!("order.{}", o.id),
                "applies",
                format!(
                    "{}: names this model; {} for {dest}, regardless of the threshold",
                    o.title,
                    o.decision.as_str()
                ),
                &o.citation,
                &o.confidence,
            ));
            if order_outcome.as_ref().is_none_or(|(x, _)| o.decision > *x) {
                order_outcome = Some((o.decision, o.id.clone()));
            }
        } else {
            order_reasons.push(Reason::new(
                format!("order.{}", o.id),
                "not_applicable",
                format!(
                    "{}: {}",
                    o.title,
                    if named {
                        "this destination is outside its scope"
                    } else {
                        "does not name this model"
                    }
                ),
                &o.citation,
                &o.confidence,
            ));
        }
    }
    Orders {
        reasons: order_reasons,
        outcome: order_outcome,
        unknown_name,
    }
}
