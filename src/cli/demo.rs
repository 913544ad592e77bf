//! `weightguard demo`: the tool's flow on generated models, offline, in a temporary directory.

use super::Exit;
use super::output::{out, outln};
use super::render::{self, Style};
use std::path::Path;
use std::time::Instant;
use weightguard::artifact;
use weightguard::compute::{self, AcceleratorTable, EstimateInput, TrainingRecord};
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};
use weightguard::policy::{self, Date, Policy, Transfer};

/// Generate small and huge synthetic models in a temporary directory and show what weightguard
/// does with them. Needs no network and no arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the generated models in this directory instead of a temporary one.
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
}

pub fn run(args: &Args) -> Exit {
    match demo(args) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            render::error(&e, None);
            Exit::Error
        }
    }
}

fn demo(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let root = args.keep.as_deref().unwrap_or(tmp.path());
    let style = Style::stdout();
    let step = |title: &str| outln!("\n{}", style.bold(&format!("== {title}")));

    step("A small Llama-style model, real bytes");
    let small = root.join("tiny-llama");
    write_model(
        &ModelSpec::tiny_llama(),
        &small,
        WriteOptions {
            fill: DataFill::Pattern(1),
            max_shard_bytes: None,
        },
    )?;
    inspect(&small, style)?;

    step("A DeepSeek-style mixture of experts (routed + shared experts, latent attention)");
    let moe = root.join("tiny-deepseek");
    write_model(
        &ModelSpec::tiny_deepseek(),
        &moe,
        WriteOptions {
            fill: DataFill::Pattern(2),
            max_shard_bytes: Some(4 << 20),
        },
    )?;
    inspect(&moe, style)?;

    step("Llama 3.1 405B's exact layout: 812 GB of BF16 weights in sparse shards");
    let big = root.join("llama-405b-sparse");
    write_model(
        &ModelSpec::llama31_405b(),
        &big,
        WriteOptions {
            fill: DataFill::Sparse,
            max_shard_bytes: Some(5_000_000_000),
        },
    )?;
    let started = Instant::now();
    inspect(&big, style)?;
    outln!(
        "  {}",
        style.dim(&format!(
            "inspected in {:.1} ms: headers only, never the weights",
            started.elapsed().as_secs_f64() * 1e3
        ))
    );

    step("Estimate, classify and gate it, with a SAMPLE training record (a made-up declaration)");
    policy_steps(&big, style)?;

    step("Seal the small model for a site in Germany, verify it without a key, open it");
    envelope_steps(root, &small, style)?;

    if let Some(dir) = &args.keep {
        outln!("\nmodels kept in {}", dir.display());
    }
    Ok(())
}

fn inspect(path: &Path, style: Style) -> Result<(), artifact::ArtifactError> {
    outln!(
        "{}",
        style.dim(&format!("$ weightguard inspect {}", path.display()))
    );
    let a = artifact::open(path)?;
    out!("{}", super::inspect::human(&a.report(), style));
    Ok(())
}

/// A sample declaration: not the real Llama 3.1 405B (3.8e25 FLOP) but a made-up successor
/// trained further, to show a controlled model's path through the gate.
const SAMPLE_RECORD: &str = r#"# SAMPLE training record for the demo: made-up facts, not a real model's.
evidence = ["weightguard demo: a sample declaration"]
[model]
name = "sample-frontier"
published = false
[[stage]]
name = "pre-training"
kind = "pretraining"
tokens = 15.6e12
[[stage]]
name = "reinforcement learning"
kind = "rl"
operations = 7e25
"#;

/// The demo's evaluation date, fixed so the output does not change from day to day.
const DEMO_DATE: &str = "2026-07-23";

fn policy_steps(model: &Path, style: Style) -> Result<(), Box<dyn std::error::Error>> {
    let record_path = model.join("training-record.toml");
    std::fs::write(&record_path, SAMPLE_RECORD)?;
    outln!("{}", style.dim(&format!("$ cat {}", record_path.display())));
    out!("{SAMPLE_RECORD}");
    let (policy, est) = sample_estimate(model)?;
    let as_of = Date::parse(DEMO_DATE)?;
    let classified = policy::classify(&policy, &est, as_of);
    outln!(
        "{}",
        style.dim(&format!(
            "\n$ weightguard classify {} --as-of {DEMO_DATE}",
            model.display()
        ))
    );
    out!(
        "{}",
        super::classify::human(
            &super::classify::Output {
                name: &model.display().to_string(),
                path: model,
                training_record: Some(record_path.clone()),
                classified: &classified,
                suggested: None,
            },
            style
        )
    );
    for (dest, hq) in [("DE", None), ("IN", None), ("IN", Some("FR")), ("CN", None)] {
        let g = policy::gate(
            &policy,
            &est,
            &Transfer {
                destination: dest,
                holder_hq: hq,
                licences: &[],
                model_ids: &[],
            },
            as_of,
        )?;
        let flag = hq.map_or(String::new(), |h| format!(" --holder-hq {h}"));
        let decided = g
            .reasons
            .iter()
            .rev()
            .find(|r| r.rule.starts_with("destination") || r.rule.starts_with("license"))
            .map_or(String::new(), |r| format!("[{}] {}", r.rule, r.citation));
        outln!(
            "{}",
            style.dim(&format!(
                "\n$ weightguard gate {} --destination {dest}{flag} --as-of {DEMO_DATE}   # exit {}",
                model.display(),
                super::gate::exit(g.decision) as u8
            ))
        );
        outln!(
            "  {} {}{}",
            style.bold(&format!("{dest}:")),
            g.decision.as_str(),
            g.authorization
                .as_ref()
                .map_or(String::new(), |a| format!(" under {a}"))
        );
        outln!("    {}", style.dim(&decided));
    }
    Ok(())
}

/// Keys, a gated seal for Germany, a keyless verify, a refused open in France, an open in
/// Germany: the envelope flow on the small model with the same sample declaration.
fn envelope_steps(
    root: &Path,
    model: &Path,
    style: Style,
) -> Result<(), Box<dyn std::error::Error>> {
    use weightguard::envelope::{self, Claims, SigningKey, Site, keys};
    let cmd = |s: String| outln!("{}", style.dim(&format!("$ {s}")));
    std::fs::write(model.join("training-record.toml"), SAMPLE_RECORD)?;
    let (policy, est) = sample_estimate(model)?;
    let as_of = Date::parse(DEMO_DATE)?;
    let g = policy::gate(
        &policy,
        &est,
        &Transfer {
            destination: "DE",
            holder_hq: None,
            licences: &[],
            model_ids: &[],
        },
        as_of,
    )?;
    let (identity, recipient) = keys::generate_identity();
    let key = SigningKey::generate()?;
    let identity_path = root.join("identity.txt");
    // Secret: mode 0600 whatever the umask, as `keygen` writes it.
    keys::write_key_files(
        root,
        &[keys::KeyFile {
            name: "identity.txt",
            text: &identity,
            secret: true,
        }],
    )?;
    cmd(format!(
        "weightguard keygen --out {}   # an age identity and an Ed25519 signing key",
        root.display()
    ));
    outln!("  recipient {recipient}\n  signer    {}", key.public());
    let env = root.join("tiny-llama.age");
    cmd(format!(
        "weightguard seal {} -r {recipient} --destination DE --site fra-1 --signing-key signing.key -o {}",
        model.display(),
        env.display()
    ));
    let terms = super::seal::terms(
        &g,
        &policy,
        Some("fra-1".into()),
        Some("2099-12-31".into()),
        DEMO_DATE.into(),
    )?;
    let sealed = envelope::seal(
        model,
        &env,
        &keys::parse_recipients(&recipient)?,
        &key,
        &terms,
        false,
    )?;
    outln!(
        "  gate: {} under {}; sealed {} files ({}) with per-tensor digests in a signed manifest",
        g.decision.as_str(),
        g.authorization.as_deref().unwrap_or("-"),
        sealed.files,
        super::render::bytes(sealed.bytes)
    );
    cmd(format!(
        "weightguard verify {}   # no key needed",
        env.display()
    ));
    let v = envelope::verify(&env, Some(&key.public()))?;
    outln!(
        "  signed by the expected sealer for {} site {}, {} recipient, expires {}",
        v.claims.destination,
        v.claims.site.as_deref().unwrap_or("-"),
        v.recipients,
        v.claims.expires.as_deref().unwrap_or("never")
    );
    let ids = keys::read_identities(&identity_path)?;
    let allow = |_: &Claims| Ok(());
    let site = |country: &str| Site {
        country: country.into(),
        site: Some("fra-1".into()),
        today: DEMO_DATE.into(),
        policy: &allow,
    };
    let out = root.join("opened");
    cmd(format!(
        "weightguard open {} --site-country FR --site fra-1 -o {} …",
        env.display(),
        out.display()
    ));
    match envelope::open(&env, &ids, Some(&key.public()), &site("FR"), &out, false) {
        Err(e) => outln!("  {} {e} (nothing written)", style.warn("refused:")),
        Ok(_) => return Err("the envelope opened in the wrong country".into()),
    }
    cmd(format!(
        "weightguard open {} --site-country DE --site fra-1 -o {} …",
        env.display(),
        out.display()
    ));
    let opened = envelope::open(&env, &ids, Some(&key.public()), &site("DE"), &out, false)?;
    outln!(
        "  {} files, {}: every file and tensor matched the signed manifest",
        opened.files,
        super::render::bytes(opened.bytes)
    );
    Ok(())
}

/// The built-in policy and the estimate of `model` under the sample training record.
fn sample_estimate(
    model: &Path,
) -> Result<(Policy, compute::Estimate), Box<dyn std::error::Error>> {
    let policy = Policy::builtin(policy::DEFAULT_POLICY).ok_or("built-in policy missing")??;
    let a = artifact::open(model)?;
    let record = TrainingRecord::parse("training-record.toml", SAMPLE_RECORD)?;
    let est = compute::estimate(&EstimateInput {
        artifact: Some(&a),
        config: None,
        record: Some(&record),
        tokens: None,
        accelerators: &AcceleratorTable::builtin(),
        disagreement_factor: 2.0,
        threshold: Some(policy.data.threshold.operations),
    })?;
    Ok((policy, est))
}
