//! Examining one unit of work: which of its files are weights or envelopes (by content), what
//! the weights are and whether they are controlled, what the envelopes claim — and the
//! findings that follow.

use super::fingerprint::{self, Fingerprints};
use super::listing::{Listing, Unit, display_key, is_side_file};
use super::render::count;
use super::store::Store;
use super::{
    ArtifactKind, ArtifactResult, EnvelopeInfo, Finding, FingerprintMatch, Rule, Severity,
};
use crate::artifact::detect::{self, Kind};
use crate::artifact::model_card::{self, Suggestions};
use crate::artifact::read::MeteredFile;
use crate::artifact::tree::Tree;
use crate::artifact::{self, Artifact, Format};
use crate::artifact_set::{ModelFiles, group};
use crate::compute::{self, AcceleratorTable, EstimateInput, TrainingRecord};
use crate::envelope::{self, EnvelopeError};
use crate::policy::{self, Classification, Date, Policy};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Training tokens beyond any run known today (100 T; the largest published runs are in the
/// tens of trillions): weights that would need more to reach the threshold get a
/// `needs-review-unencrypted` finding of medium severity rather than high.
pub const PLAUSIBLE_TOKENS: f64 = 1e14;

/// The first line of every age file.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";
/// Bytes read first from an envelope: enough for the header of an envelope with a handful of
/// recipients and its signed claims; a longer header is read up to its limit.
const ENVELOPE_FIRST_READ: u64 = 16 * 1024;

/// What every unit's examination shares.
pub struct Context {
    pub store: Arc<dyn Store>,
    pub listing: Arc<Listing>,
    pub policy: Policy,
    pub as_of: Date,
    /// `--store-country`: where the store is; envelopes sealed elsewhere are findings.
    pub store_country: Option<String>,
    /// `--signer`: the sealers whose envelopes are trusted; empty means any valid signature.
    pub trusted_signers: Vec<envelope::SignerKey>,
    pub fingerprints: Option<Arc<Fingerprints>>,
    pub accelerators: AcceleratorTable,
}

/// What a file's first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Weights,
    Envelope,
    Other,
}

/// File names that promise weights: a file so named that is none is reported.
fn looks_like_weights(key: &Path) -> bool {
    let name = key.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    [
        ".safetensors",
        ".gguf",
        ".bin",
        ".pt",
        ".pth",
        ".ckpt",
        ".pkl",
        ".pickle",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

fn sniff(tree: &dyn Tree, key: &Path) -> Result<Sniffed, String> {
    let mut f = MeteredFile::open_in(tree, key).map_err(|e| e.to_string())?;
    let head = f
        .head(AGE_MAGIC.len().max(detect::HEAD_BYTES))
        .map_err(|e| e.to_string())?;
    if head.starts_with(AGE_MAGIC) {
        return Ok(Sniffed::Envelope);
    }
    Ok(
        match detect::sniff_file(&mut f).map_err(|e| e.to_string())? {
            Kind::Unknown => Sniffed::Other,
            _ => Sniffed::Weights,
        },
    )
}

/// Examines a unit; every artifact in it gets one result.
pub fn examine(ctx: &Context, unit: &Unit) -> Vec<ArtifactResult> {
    let fetched = Arc::new(AtomicU64::new(0));
    let tree = ctx.store.view(ctx.listing.clone(), fetched.clone());
    let tree = tree.as_ref();
    let files: Vec<PathBuf> = match unit {
        Unit::File(key) => vec![key.clone()],
        Unit::ModelDir(dir) => ctx.listing.dirs.get(dir).cloned().unwrap_or_default(),
        Unit::Remnant(key) => {
            let mut r = ArtifactResult::new(
                ctx.listing.display_name(key),
                ctx.store.uri(key),
                ArtifactKind::Unreadable,
            );
            r.findings.push(Finding::new(
                Rule::DecryptedRemnant,
                "decrypted, unverified weights left by an interrupted `weightguard open` (killed before it could clean up): remove it; the next `open` in that directory removes it when its process no longer runs",
            ));
            return vec![r];
        }
        Unit::Problem(key) => {
            let what = ctx.listing.problems.get(key).cloned().unwrap_or_default();
            let mut r = ArtifactResult::new(
                ctx.listing.display_name(key),
                ctx.store.uri(key),
                ArtifactKind::Unreadable,
            );
            r.findings.push(Finding::new(Rule::UnreadPath, what));
            return vec![r];
        }
    };
    let mut out = Vec::new();
    let mut weights = Vec::new();
    // Bytes read so far that belong to the weights' result (their detection).
    let mut weights_bytes = 0;
    for key in files.iter().filter(|k| !is_side_file(k)) {
        let before = fetched.load(Ordering::Relaxed);
        let kind = sniff(tree, key);
        let cost = fetched.load(Ordering::Relaxed) - before;
        match kind {
            Ok(Sniffed::Envelope) => {
                let mut r = examine_envelope(ctx, tree, key);
                r.bytes_read = fetched.load(Ordering::Relaxed) - before;
                out.push(r);
            }
            Ok(Sniffed::Weights) => {
                weights_bytes += cost;
                weights.push(key.clone());
            }
            Ok(Sniffed::Other) if looks_like_weights(key) => {
                let mut r = unreadable(ctx, key, Severity::Low, "named like weights but its content is no weight format (no safetensors header, GGUF magic, zip archive or pickle at its start)".into());
                r.size = ctx.listing.size(key).unwrap_or(0);
                r.bytes_read = cost;
                out.push(r);
            }
            Ok(Sniffed::Other) => {}
            Err(e) => {
                let mut r = unreadable(
                    ctx,
                    key,
                    Severity::Medium,
                    format!("could not be read: {e}"),
                );
                r.bytes_read = cost;
                out.push(r);
            }
        }
    }
    if !weights.is_empty() {
        let dir = match unit {
            Unit::ModelDir(dir) => dir.clone(),
            _ => weights[0].parent().unwrap_or(Path::new("")).to_owned(),
        };
        // The same grouping as every other command: a GGUF beside safetensors, two indexes, a
        // PyTorch checkpoint beside safetensors are each a model of their own.
        let before = fetched.load(Ordering::Relaxed);
        let mut side = 0;
        let mut files = weights.clone();
        files.extend(
            ctx.listing
                .dirs
                .get(&dir)
                .into_iter()
                .flatten()
                .filter(|f| is_side_file(f) && matches!(unit, Unit::ModelDir(_)))
                .cloned(),
        );
        match group::group_dir(tree, &dir, &files, &mut side) {
            Ok(models) => {
                let n = models.len();
                for (i, mut m) in models.into_iter().enumerate() {
                    if let Unit::File(key) = unit {
                        // A unit of one file: the model is that file, named by it.
                        m.file = Some(key.clone());
                    }
                    let start = fetched.load(Ordering::Relaxed);
                    let mut r = examine_weights(ctx, tree, &m, &weights);
                    r.bytes_read = fetched.load(Ordering::Relaxed) - start;
                    if i + 1 == n {
                        // Detection and grouping reads are charged to the last model.
                        r.bytes_read += weights_bytes + (start - before);
                    }
                    out.push(r);
                }
            }
            Err(e) => {
                let mut r = unreadable(
                    ctx,
                    &dir,
                    Severity::Medium,
                    format!("its weight files could not be grouped into models: {e}"),
                );
                r.bytes_read = weights_bytes + fetched.load(Ordering::Relaxed) - before;
                out.push(r);
            }
        }
    }
    out
}

fn unreadable(ctx: &Context, key: &Path, severity: Severity, why: String) -> ArtifactResult {
    let mut r = ArtifactResult::new(
        display_key(key),
        ctx.store.uri(key),
        ArtifactKind::Unreadable,
    );
    r.files = 1;
    r.size = ctx.listing.size(key).unwrap_or(0);
    let mut f = Finding::new(Rule::ParseFailure, why);
    f.severity = severity;
    r.findings.push(f);
    r
}

fn format_id(f: Format) -> &'static str {
    match f {
        Format::Safetensors => "safetensors",
        Format::Gguf => "gguf",
        Format::Pytorch => "pytorch",
        Format::PytorchLegacy => "pytorch_legacy",
        Format::Pickle => "pickle",
        Format::Container => "container",
    }
}

/// One model of a unit (`artifact_set::group`); `files` are the weight files detected in the
/// unit.
fn examine_weights(
    ctx: &Context,
    tree: &dyn Tree,
    model: &ModelFiles,
    files: &[PathBuf],
) -> ArtifactResult {
    let path = model.path();
    let name = ctx.listing.display_name(path);
    let a = match artifact::open_model(tree, model, &name) {
        Ok(Some(a)) => a,
        Ok(None) => {
            let mut r = unreadable(
                ctx,
                path,
                Severity::Low,
                "a zip archive named or stored like weights, but no PyTorch checkpoint".into(),
            );
            r.files = model.files.len();
            return r;
        }
        Err(e) => {
            // A pickle that cannot be scanned may run code when loaded: as unsafe as one that
            // would, so high.
            let severity = if e.leaves_pickle_unscanned() {
                Severity::High
            } else {
                Severity::Medium
            };
            let mut r = unreadable(
                ctx,
                path,
                severity,
                format!("its content looks like weights but does not parse: {e}"),
            );
            r.files = files.len();
            r.size = files.iter().filter_map(|f| ctx.listing.size(f)).sum();
            return r;
        }
    };
    let mut r = ArtifactResult::new(name, ctx.store.uri(path), ArtifactKind::Weights);
    r.format = Some(format_id(a.format).to_owned());
    r.files = a.files.len();
    r.size = a.files.iter().map(|f| f.size).sum();
    r.safe = Some(a.safe());
    if !a.safe() {
        let first = &a.security_findings[0];
        let what = first.global.clone().map_or_else(
            || first.message.clone(),
            |g| format!("{} ({g})", first.message),
        );
        r.findings.push(Finding::new(
            Rule::UnsafePickle,
            format!(
                "{} pickle finding(s), first in {}: {what}",
                a.security_findings.len(),
                display_key(&first.file)
            ),
        ));
    }
    // A bare pickle holds no tensors: there is nothing to classify, only code to report.
    if !a.tensors.is_empty() {
        let config = a.config.as_ref().zip(model.config.as_deref());
        let suggested = model_card::suggest(tree, Some(&model.dir), config);
        classify(ctx, tree, path, &a, &suggested, &mut r);
    }
    if let Some(fp) = &ctx.fingerprints {
        match fingerprint::region_digests(tree, &a) {
            Ok(digests) => {
                if let Some((model, matched, total)) = fp.best_match(&digests) {
                    r.findings.push(Finding::new(
                        Rule::FingerprintMatch,
                        format!(
                            "{matched} of its {} tensors match the fingerprint of controlled model {model} ({total} tensors)",
                            digests.len()
                        ),
                    ));
                    r.fingerprint = Some(FingerprintMatch {
                        model,
                        matched_tensors: matched,
                        model_tensors: total,
                    });
                }
            }
            Err(e) => r.findings.push(Finding::new(
                Rule::ParseFailure,
                format!("its tensor data could not be read for fingerprinting: {e}"),
            )),
        }
    }
    r
}

/// The training record beside the weights, if any.
fn record(tree: &dyn Tree, path: &Path) -> Option<(PathBuf, Result<TrainingRecord, String>)> {
    let dir = if tree.is_dir(path) {
        path.to_owned()
    } else {
        path.parent().unwrap_or(Path::new("")).to_owned()
    };
    let key = dir.join("training-record.toml");
    if !tree.is_file(&key) {
        return None;
    }
    let read = || -> Result<TrainingRecord, String> {
        let mut f = MeteredFile::open_in(tree, &key).map_err(|e| e.to_string())?;
        let bytes = f
            .read_all_limited("training record", compute::record::MAX_RECORD_BYTES as u64)
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
        TrainingRecord::parse(&display_key(&key), &text).map_err(|e| e.to_string())
    };
    Some((key.clone(), read()))
}

fn classify(
    ctx: &Context,
    tree: &dyn Tree,
    path: &Path,
    a: &Artifact,
    suggested: &Suggestions,
    r: &mut ArtifactResult,
) {
    let mut rec = None;
    if let Some((key, result)) = record(tree, path) {
        match result {
            Ok(t) => {
                r.training_record = Some(display_key(&key));
                rec = Some(t);
            }
            Err(e) => r.findings.push(Finding::new(
                Rule::ParseFailure,
                format!("the training record beside the weights does not parse (classified without it): {e}"),
            )),
        }
    }
    let threshold = ctx.policy.data.threshold.operations;
    let est = match compute::estimate(&EstimateInput {
        artifact: Some(a),
        config: None,
        record: rec.as_ref(),
        tokens: None,
        accelerators: &ctx.accelerators,
        disagreement_factor: 2.0,
        threshold: Some(threshold),
    }) {
        Ok(e) => e,
        Err(e) => {
            r.findings.push(Finding::new(
                Rule::NeedsReviewUnencrypted,
                format!("no estimate of its training could be made ({e}); stored unencrypted"),
            ));
            r.classification = Some(Classification::NeedsReview.as_str().into());
            return;
        }
    };
    r.parameters = Some(est.parameters.total);
    r.active_parameters = est.parameters.active;
    r.training_operations = est.training_operations.as_ref().map(|o| o.point);
    r.tokens_to_threshold = est.threshold.as_ref().map(|t| t.tokens_to_reach);
    let c = policy::classify(&ctx.policy, &est, ctx.as_of);
    r.classification = Some(c.decision.as_str().into());
    // Suggested lineage is shown, never decided on: set after the decision, from its outcome.
    if !suggested.is_empty() {
        r.suggested = Some(if c.decision == Classification::NeedsReview {
            suggested.for_review()
        } else {
            suggested.clone()
        });
    }
    let params = format!("{} parameters", count(est.parameters.total));
    let facts = match (&r.training_record, &est.training_operations, &est.threshold) {
        (Some(rec), Some(ops), _) => {
            format!("{params}, {:.2e} training operations per {rec}", ops.point)
        }
        (_, _, Some(t)) => format!(
            "{params} and no training record: 6·N·D reaches the {:.0e} threshold at {:.3e} training tokens",
            t.operations, t.tokens_to_reach
        ),
        _ => params,
    };
    let id = &ctx.policy.data.policy.id;
    match c.decision {
        Classification::Controlled => r.findings.push(Finding::new(
            Rule::ControlledUnencrypted,
            format!(
                "controlled under {id}{} and stored unencrypted: {facts}",
                c.eccn
                    .as_ref()
                    .map_or(String::new(), |e| format!(" (ECCN {e})"))
            ),
        )),
        Classification::NeedsReview => {
            let hint = r
                .suggested
                .as_ref()
                .and_then(|s| s.hint.as_ref())
                .map_or(String::new(), |h| format!("; {h}"));
            let mut f = Finding::new(
                Rule::NeedsReviewUnencrypted,
                format!(
                    "classification under {id} needs review and it is stored unencrypted: {facts}{hint}"
                ),
            );
            // Only a run beyond any known one could make these weights controlled.
            if r.training_record.is_none()
                && est
                    .threshold
                    .as_ref()
                    .is_some_and(|t| t.tokens_to_reach > PLAUSIBLE_TOKENS)
            {
                f.severity = Severity::Medium;
            }
            r.findings.push(f);
        }
        Classification::NotControlled | Classification::Excluded => {}
    }
}

fn examine_envelope(ctx: &Context, tree: &dyn Tree, key: &Path) -> ArtifactResult {
    let mut r = ArtifactResult::new(display_key(key), ctx.store.uri(key), ArtifactKind::Envelope);
    r.format = Some("age".into());
    r.files = 1;
    r.size = ctx.listing.size(key).unwrap_or(0);
    let parsed = read_envelope_header(tree, key).and_then(|(bytes, len)| {
        envelope::inspect::parse(key, bytes, len, None).map_err(|e| (e, true))
    });
    let env = match parsed {
        Ok(env) => env,
        Err((e, _)) => {
            let (rule, why) = match &e {
                EnvelopeError::BadSignature { .. }
                | EnvelopeError::Claims { .. }
                | EnvelopeError::UntrustedSigner { .. } => {
                    (Rule::EnvelopeUnverified, e.to_string())
                }
                _ => (
                    Rule::ParseFailure,
                    format!("an age file that does not parse: {e}"),
                ),
            };
            r.findings.push(Finding::new(rule, why));
            return r;
        }
    };
    // What follows the header must be ciphertext (one ranged read of the first chunk).
    let payload_len = env.file_len.saturating_sub(env.header.len as u64);
    let want = payload_len.min(envelope::inspect::PAYLOAD_SAMPLE as u64) as usize;
    let mut sample = vec![0u8; want];
    let sampled = MeteredFile::open_in(tree, key)
        .and_then(|mut f| f.read_exact_at(env.header.len as u64, &mut sample))
        .map_err(|e| e.to_string())
        .and_then(|()| envelope::inspect::check_ciphertext(&sample, payload_len));
    if let Err(why) = sampled {
        r.findings.push(Finding::new(Rule::EnvelopeCleartext, why));
    }
    let Some(signed) = env.claims else {
        r.findings.push(Finding::new(
            Rule::EnvelopeNoClaims,
            "an age file without signed destination claims: where it may be opened is unknown",
        ));
        return r;
    };
    let c = &signed.claims;
    if !ctx.trusted_signers.is_empty() && !ctx.trusted_signers.contains(&signed.signer) {
        r.findings.push(Finding::new(
            Rule::EnvelopeUnverified,
            format!(
                "signed by {}, which is not among the trusted signers (--signer)",
                c.sealer
            ),
        ));
    }
    r.classification = Some(c.classification.clone());
    r.envelope = Some(EnvelopeInfo {
        destination: Some(c.destination.clone()),
        site: c.site.clone(),
        expires: c.expires.clone(),
        classification: Some(c.classification.clone()),
        sealer: Some(c.sealer.clone()),
        signature_valid: true,
    });
    if let Some(here) = &ctx.store_country
        && !c.destination.eq_ignore_ascii_case(here)
    {
        r.findings.push(Finding::new(
            Rule::DestinationMismatch,
            format!(
                "sealed for {}{} but stored in {here}",
                c.destination,
                c.site
                    .as_ref()
                    .map_or(String::new(), |s| format!(" (site {s})"))
            ),
        ));
    }
    if let Some(exp) = &c.expires
        && let Ok(d) = Date::parse(exp)
        && d.to_string() < ctx.as_of.to_string()
    {
        r.findings.push(Finding::new(
            Rule::EnvelopeExpired,
            format!("expired on {exp} (audited as of {})", ctx.as_of),
        ));
    }
    r
}

type EnvErr = (EnvelopeError, bool);

/// The envelope's first bytes: one read of [`ENVELOPE_FIRST_READ`], more only if the header
/// goes on (up to the header limit).
fn read_envelope_header(tree: &dyn Tree, key: &Path) -> Result<(Vec<u8>, u64), EnvErr> {
    let io = |e: artifact::ArtifactError| {
        (
            EnvelopeError::io(key)(std::io::Error::other(e.to_string())),
            false,
        )
    };
    let mut f = MeteredFile::open_in(tree, key).map_err(io)?;
    let len = f.len();
    let mut want = len.min(ENVELOPE_FIRST_READ);
    loop {
        let mut buf = vec![0u8; want as usize];
        f.read_exact_at(0, &mut buf).map_err(io)?;
        let max = envelope::header::MAX_HEADER_BYTES as u64 + 1;
        if contains(&buf, b"\n--- ") || want >= len.min(max) {
            return Ok((buf, len));
        }
        want = len.min(max);
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
