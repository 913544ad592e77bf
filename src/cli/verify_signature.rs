//! `weightguard verify-signature PATH --bundle model.sig --public-key EC.pub`: checks an OpenSSF
//! model signature (as `model_signing sign key` makes it) and holds the model's files against
//! it: every changed, missing and extra file is named.

use super::Exit;
use super::progress::ByteProgress;
use super::render::{self, Style, escape};
use super::selection::{self, SetArgs};
use std::path::{Path, PathBuf};
use weightguard::artifact_set::ArtifactSet;
use weightguard::signing::{self, Comparison, PublicKey, Statement};

/// Verify a model directory against an OpenSSF model signature made with an EC P-256 key
/// (`model_signing sign key`, or `weightguard sign`): the bundle's signature under the public
/// key, then every file's digest. Files the signature's ignore paths name are left out, as
/// model_signing leaves them out; the bundle itself is left out when it lies in the directory.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model directory.
    path: PathBuf,
    /// The signature: a Sigstore bundle (JSON).
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    /// The signer's EC P-256 public key, PEM (`openssl ec -in KEY -pubout`).
    #[arg(long, value_name = "EC.pub")]
    public_key: PathBuf,
    #[command(flatten)]
    set: SetArgs,
}

pub fn run(args: &Args) -> Exit {
    let set = match selection::collect(&args.path, &args.set) {
        Ok(s) => s,
        Err((msg, hint)) => {
            render::error(&msg, hint);
            return Exit::Error;
        }
    };
    if !set.is_dir {
        render::error(
            &format!(
                "{}: a model signature covers a directory",
                args.path.display()
            ),
            Some("name the model's directory"),
        );
        return Exit::Usage;
    }
    let checked = check(&set, &args.bundle, &args.public_key);
    let Checked {
        statement,
        cmp,
        key_hint,
    } = match checked {
        Ok(c) => c,
        Err(e) => {
            render::error(&e, None);
            return Exit::Error;
        }
    };
    let style = Style::stdout();
    let shown = escape(&args.path.display().to_string()).into_owned();
    if cmp.matches(true) {
        println!(
            "{}  {}",
            style.bold(&shown),
            style.dim("signature verified")
        );
        println!(
            "  {:<13} {}, {} files, {}",
            "model",
            escape(&statement.model_name),
            cmp.matched,
            statement.hash.as_str()
        );
        println!("  {:<13} {key_hint}", "key hint");
        if !cmp.left_out.is_empty() {
            println!(
                "  {:<13} {} files by the signature's ignore paths ({})",
                "left out",
                cmp.left_out.len(),
                style.dim(&names(&cmp.left_out))
            );
        }
        if let Some(b) = &cmp.bundle {
            println!("  {:<13} {} (the signature itself)", "bundle", escape(b));
        }
        return Exit::Ok;
    }
    println!(
        "{}  {}",
        style.bold(&shown),
        style.error("does not match the signature")
    );
    print!("{}", mismatch_lines(&cmp, false));
    render::error(
        &format!(
            "{}: {} against {}",
            args.path.display(),
            summary(&cmp, false),
            args.bundle.display()
        ),
        Some("the files are not the ones the publisher signed; do not use them as signed"),
    );
    Exit::Error
}

/// A verified bundle's statement and how the files compare with it.
pub struct Checked {
    pub statement: Statement,
    pub cmp: Comparison,
    /// The public key's hint (as the bundle names its key).
    pub key_hint: String,
}

/// Reads the key and the bundle, verifies the bundle and compares `set` with its statement
/// (shared with `seal --require-signature`).
pub fn check(
    set: &ArtifactSet,
    bundle_path: &Path,
    public_key: &Path,
) -> Result<Checked, signing::SigningError> {
    let key: PublicKey = signing::read_public_key(public_key)?;
    let bundle = signing::read_bundle(bundle_path)?;
    let statement = signing::verify_bundle(&bundle, bundle_path, &key)?;
    let bar = ByteProgress::start("verifying", set.bytes());
    let cmp = signing::files::compare(set, &statement, bundle_path, &|n| bar.add(n));
    bar.finish();
    let cmp = cmp?;
    set.recheck().map_err(|e| signing::SigningError::Model {
        path: set.path.clone(),
        what: e.to_string(),
    })?;
    Ok(Checked {
        statement,
        cmp,
        key_hint: key.hint(),
    })
}

/// `  changed       a.safetensors` … one line per file that does not match.
pub fn mismatch_lines(cmp: &Comparison, left_out_refused: bool) -> String {
    let mut out = String::new();
    let mut group = |what: &str, list: &[String]| {
        for n in list {
            out.push_str(&format!("  {what:<13} {}\n", escape(n)));
        }
    };
    group("changed", &cmp.changed);
    group("missing", &cmp.missing);
    group("extra", &cmp.extra);
    if left_out_refused {
        group("not signed", &cmp.left_out);
    }
    out
}

/// `2 files changed, 1 missing, 1 extra`.
pub fn summary(cmp: &Comparison, left_out_refused: bool) -> String {
    let mut parts = Vec::new();
    if !cmp.changed.is_empty() {
        parts.push(format!("{} changed", cmp.changed.len()));
    }
    if !cmp.missing.is_empty() {
        parts.push(format!("{} missing", cmp.missing.len()));
    }
    if !cmp.extra.is_empty() {
        parts.push(format!("{} extra (not signed)", cmp.extra.len()));
    }
    if left_out_refused && !cmp.left_out.is_empty() {
        parts.push(format!(
            "{} left out of the signature by its ignore paths",
            cmp.left_out.len()
        ));
    }
    format!("files {}", parts.join(", "))
}

fn names(list: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut parts: Vec<String> = list
        .iter()
        .take(SHOWN)
        .map(|n| escape(n).into_owned())
        .collect();
    if list.len() > SHOWN {
        parts.push(format!("and {} more", list.len() - SHOWN));
    }
    parts.join(", ")
}

/// `seal --require-signature BUNDLE --public-key PUB`: the files about to be sealed (exactly
/// `set`) must be the ones the publisher signed, each with its signed digest, with none left
/// out by the signature's ignore paths; and the bundle must be one of the files, so that it
/// travels in the envelope and the destination can verify it after `open`. Returns the line
/// that says so.
pub fn require_for_seal(
    set: &ArtifactSet,
    bundle: &Path,
    public_key: &Path,
) -> Result<String, super::inputs::Failure> {
    // Where the bundle lies is known before any file is read.
    if !set
        .files
        .iter()
        .any(|f| signing::files::is_same_file(f, bundle))
    {
        return Err((
            format!(
                "not sealed: {} lies outside {}, so it would not travel in the envelope",
                bundle.display(),
                set.path.display()
            ),
            Some(
                "copy the bundle into the model directory (model_signing's model.sig) and seal again",
            ),
        ));
    }
    let Checked {
        statement,
        cmp,
        key_hint,
    } = check(set, bundle, public_key).map_err(|e| (e.to_string(), None))?;
    if !cmp.matches(false) {
        eprint!("{}", mismatch_lines(&cmp, true));
        return Err((
            format!(
                "not sealed: {}: {} against the publisher's signature {}",
                set.path.display(),
                summary(&cmp, true),
                bundle.display()
            ),
            Some("seal exactly the files the publisher signed (--exclude leaves files out)"),
        ));
    }
    let name = cmp.bundle.unwrap_or_default();
    Ok(format!(
        "publisher signature {} verified: {} files match ({}, key hint {key_hint})",
        escape(&name),
        cmp.matched,
        statement.hash.as_str(),
    ))
}
