//! The holder's licences (a declared fact from `--licenses`): the first that covers the
//! destination, the holder and the model on the date authorizes a transfer the policy lets a
//! licence authorize; every other one is listed with why it does not fit.

use crate::policy::licences::{Fit, Licence};
use crate::policy::{Date, Reason};

/// The id of the licence that authorizes the transfer (if any, and if `licensable`), and a
/// reason per licence considered.
pub fn evaluate(
    licences: &[Licence],
    dest: &str,
    hq: &str,
    model_ids: &[String],
    licensable: bool,
    as_of: Date,
) -> (Option<String>, Vec<Reason>) {
    let mut reasons = Vec::new();
    for l in licences {
        let fit = l.fit(dest, hq, model_ids, as_of);
        let cite = format!("licence {} (holder's licences file, a declared fact)", l.id);
        let why = match fit {
            Fit::Covers if licensable => {
                reasons.push(Reason::new(
                    format!("license.{}", l.id),
                    "covers",
                    format!("covers {dest} and this model, valid through {}", l.expires),
                    cite,
                    "S",
                ));
                return (Some(l.id.clone()), reasons);
            }
            Fit::Covers => {
                "covers the transfer, but the policy does not let a licence authorize this destination"
                    .to_owned()
            }
            Fit::Expired => format!("expired {}", l.expires),
            Fit::NotYetIssued => format!(
                "not valid before {}",
                l.issued.map_or("—".into(), |i| i.to_string())
            ),
            Fit::OtherDestination => {
                format!("does not list {dest} (lists {})", l.destinations.join(", "))
            }
            Fit::OtherModel => "does not list this model".to_owned(),
            Fit::OtherHolder => format!(
                "is for a holder headquartered in {}",
                l.holder_hq.as_deref().unwrap_or("?")
            ),
        };
        reasons.push(Reason::new(
            format!("license.{}", l.id),
            "not_applicable",
            why,
            cite,
            "S",
        ));
    }
    (None, reasons)
}
