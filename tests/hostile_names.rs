//! Issue 17, "nothing forged on the screen or in a report": names of files and tensors, and the
//! strings of an envelope's claims, are written by whoever wrote the file. None of them may add a
//! line to `hash`, a row to the audit table or a "(the expected signer)" to `verify`, reach the
//! terminal as an escape sequence, run as a spreadsheet formula, or break a SARIF URI or the HTML
//! report. Every fixture here is built for real: hostile names on disk, in a safetensors header,
//! in signed claims.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use weightguard::envelope::{SigningKey, claims, header};
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};

/// A name that, printed raw, would end the line, forge a digest line of its own, clear the screen
/// and reverse what follows.
const FORGED_DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn assert_inert(what: &str, out: &str) {
    assert!(
        !out.contains('\x1b'),
        "{what}: a raw ESC reached the output:\n{out}"
    );
    assert!(
        !out.contains('\u{202e}'),
        "{what}: a raw RLO reached the output:\n{out}"
    );
    assert!(
        !out.contains('\r'),
        "{what}: a raw CR reached the output:\n{out}"
    );
}

/// A safetensors file of two F32 scalars, one named plainly and one hostile.
fn hostile_safetensors(path: &Path, tensor: &str) {
    let header = serde_json::json!({
        "ok.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
        tensor: {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
    })
    .to_string();
    std::fs::write(path, safetensors_bytes(&header, 8)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// hash

#[test]
fn hash_escapes_file_and_tensor_names_as_b3sum_does() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    let tensor = format!("x\n{FORGED_DIGEST}  forged.safetensors:evil\x1b[2J\u{202e}");
    let file = model.join("m\nfake\\.safetensors");
    hostile_safetensors(&file, &tensor);

    let json = weightguard(&["hash", "--json", "--b3sum", s(&model)]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    let f = &report["files"][0];
    assert_eq!(f["path"], s(&file), "JSON keeps the name as it is");
    let whole = f["blake3"].as_str().unwrap();
    let t = f["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == tensor.as_str())
        .expect("JSON keeps the tensor name as it is");
    let tensor_digest = t["blake3"].as_str().unwrap();

    let out = weightguard(&["hash", "--b3sum", s(&model)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_inert("hash", &text);
    // One line per digest: whole file, header, two tensors, root. No name adds one.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    for l in &lines {
        let digest = l.strip_prefix('\\').unwrap_or(l);
        assert!(
            digest.len() > 66
                && digest[..64].bytes().all(|b| b.is_ascii_hexdigit())
                && &digest[64..66] == "  ",
            "not a digest line: {l:?}"
        );
    }
    assert!(!lines.iter().any(|l| l.starts_with(FORGED_DIGEST)));
    // b3sum's rule: an escaped name's line starts with `\`; `\` is `\\`, a newline `\n`.
    let escaped_file = format!("{}/m\\nfake\\\\.safetensors", s(&model));
    assert_eq!(lines[0], format!("\\{whole}  {escaped_file}"));
    assert_eq!(
        lines[3],
        format!(
            "\\{tensor_digest}  {escaped_file}:x\\n{FORGED_DIGEST}  forged.safetensors:evil\\x1b[2J\\u{{202e}}"
        )
    );
    // The root line names the (plain) directory: not escaped, no backslash.
    assert!(lines[4].contains("(model root: 2 tensors, 1 files, "));
    assert!(!lines[4].starts_with('\\'));

    // A plain name's lines are as before: no backslash.
    let plain = dir.path().join("plain.safetensors");
    hostile_safetensors(&plain, "layers.0.weight");
    let out = weightguard(&["hash", s(&plain)]);
    assert!(stdout(&out).lines().all(|l| !l.starts_with('\\')));
}

#[test]
fn inspect_escapes_what_the_config_and_the_weights_say() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m\n  parameters    999 T");
    std::fs::create_dir(&model).unwrap();
    hostile_safetensors(&model.join("model.safetensors"), "layers.0.weight");
    std::fs::write(
        model.join("config.json"),
        serde_json::json!({
            "model_type": "llama\n  parameters    405.9 T\x1b[2J",
            "quantization_config": {"quant_method": "gptq\u{202e}"},
            "num_hidden_layers": 1,
        })
        .to_string(),
    )
    .unwrap();
    let out = weightguard(&["inspect", s(&model)]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_inert("inspect", &text);
    let parameters: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("parameters"))
        .collect();
    assert_eq!(parameters, ["  parameters    2 (2)"], "{text}");
    assert!(
        text.contains("m\\n  parameters    999 T  safetensors"),
        "{text}"
    );
    assert!(text.contains("architecture  llama\\n  parameters    405.9 T\\x1b[2J: layers 1"));
    assert!(text.contains("quantized     gptq\\u{202e}"));
}

// ---------------------------------------------------------------------------------------------
// audit

/// A store whose file names try every trick on the table, CSV, SARIF and HTML.
fn hostile_store(root: &Path) -> Vec<&'static str> {
    std::fs::create_dir(root).unwrap();
    // Garbage named like weights: each a low-severity `parse-failure` finding.
    let names = [
        // forges a critical row under a summary that says 0 critical
        "x\ncritical  controlled-unencrypted  frontier  unencrypted controlled weights\x1b[2J.safetensors",
        // reverses the rest of the row
        "a\u{202e}txt.safetensors",
        // spreadsheet formulas
        "=HYPERLINK(\"http:\\\\evil\",\"click\").safetensors",
        "+1+2.safetensors",
        "-2+3.safetensors",
        "@SUM(1).safetensors",
        "\t=1.safetensors",
        "\r=1.safetensors",
        // CSV quoting
        "a,b \"quoted\".safetensors",
        // HTML and URI
        "<img src=x onerror=alert(1)> & 'q' 100% #1?.safetensors",
    ];
    for n in names {
        std::fs::write(root.join(n), b"garbage, not weights").unwrap();
    }
    names.to_vec()
}

fn audit(root: &Path, args: &[&str]) -> std::process::Output {
    let mut a = vec!["audit", s(root)];
    a.extend_from_slice(args);
    weightguard(&a)
}

#[test]
fn audit_table_forges_no_row_and_passes_no_control_character() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let names = hostile_store(&root);
    let out = audit(&root, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}{text}", stderr(&out));
    assert_inert("audit table", &text);
    assert!(text.contains("findings: 10 (0 critical, 0 high, 0 medium, 10 low, 0 info)"));
    // Heading, summary, blank, column titles, then exactly one row per finding, each starting
    // with its real severity.
    let rows: Vec<&str> = text.lines().skip(4).collect();
    assert_eq!(rows.len(), names.len(), "{text}");
    for r in &rows {
        assert!(
            r.starts_with("low       parse-failure"),
            "a forged row: {r:?}\n{text}"
        );
    }
    assert!(!text.lines().any(|l| l.starts_with("critical")), "{text}");
    assert!(text.contains(
        "x\\ncritical  controlled-unencrypted  frontier  unencrypted controlled weights\\x1b[2J.safetensors"
    ));
    assert!(text.contains("a\\u{202e}txt.safetensors"));
    assert!(text.contains("\\t=1.safetensors") && text.contains("\\r=1.safetensors"));
}

/// Parses CSV with Python's `csv` module (an independent reader); rows as lists of cells.
fn python_csv(csv: &str) -> Vec<Vec<String>> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), csv).unwrap();
    let out = run_python(
        "import csv, json, sys\nprint(json.dumps(list(csv.reader(open(sys.argv[1], newline='')))))",
        &[file.path()],
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn audit_csv_neutralises_formulas_and_quotes_every_cell_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let names = hostile_store(&root);
    let out = audit(&root, &["--format", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = python_csv(&stdout(&out));
    assert_eq!(rows[0][0], "path");
    assert_eq!(rows.len(), 1 + names.len(), "{rows:?}");
    let paths: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    for r in &rows {
        assert_eq!(r.len(), 13, "{r:?}");
        for cell in r {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would run: {cell:?}"
            );
        }
    }
    for n in names {
        let formula = n.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let expected = if formula {
            format!("'{n}")
        } else {
            n.to_owned()
        };
        assert!(
            paths.contains(&expected.as_str()),
            "{expected:?} not among {paths:?}"
        );
    }
}

/// RFC 3986 URI-reference characters: unreserved, reserved, and `%` only before two hex digits.
fn is_uri_reference(uri: &str) -> bool {
    let b = uri.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if !(i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

#[test]
fn audit_sarif_uris_are_percent_encoded_uri_references() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let names = hostile_store(&root);
    let out = audit(&root, &["--format", "sarif"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), names.len());
    let uris: Vec<String> = results
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for u in &uris {
        assert!(is_uri_reference(u), "not an RFC 3986 URI reference: {u:?}");
        assert!(
            !u.contains(['?', '#']),
            "a path read as query or fragment: {u}"
        );
    }
    for r in results {
        let text = r["message"]["text"].as_str().unwrap();
        assert_inert("SARIF message", text);
        assert!(!text.contains('\n'), "{text:?}");
    }
    // Decoded (by Python's urllib, independently), each URI is the file's path again.
    let list = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(list.path(), serde_json::to_string(&uris).unwrap()).unwrap();
    let decoded: Vec<String> = serde_json::from_str(&run_python(
        "import json, sys, urllib.parse\nprint(json.dumps([urllib.parse.unquote(u, errors='strict') for u in json.load(open(sys.argv[1]))]))",
        &[list.path()],
    ))
    .unwrap();
    for n in names {
        let path = root.join(n);
        assert!(
            decoded.iter().any(|d| d == s(&path)),
            "{path:?} not among {decoded:?}"
        );
    }
}

#[test]
fn audit_html_escapes_hostile_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    hostile_store(&root);
    let out = audit(&root, &["--format", "html"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = stdout(&out);
    assert_inert("HTML", &html);
    assert!(!html.contains("<img"), "markup from a file name");
    assert!(!html.contains("<script"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &#39;q&#39; 100% #1?"));
    assert!(html.contains("a\\u{202e}txt.safetensors"));
    assert!(html.contains("x\\ncritical"));
}

// ---------------------------------------------------------------------------------------------
// seal, verify, open

const RECORD: &str = r#"
[model]
name = "acme-frontier"
published = false

[[stage]]
name = "pre-training"
kind = "pretraining"
operations = 2e26
"#;

/// A sealable controlled model and a key set; returns (dir, model, keys).
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    write_model(
        &ModelSpec::tiny_llama(),
        &model,
        WriteOptions {
            fill: DataFill::Pattern(5),
            max_shard_bytes: None,
        },
    )
    .unwrap();
    std::fs::write(model.join("training-record.toml"), RECORD).unwrap();
    let keys = dir.path().join("keys");
    let out = weightguard(&["keygen", "--out", s(&keys)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (dir, model, keys)
}

fn seal(model: &Path, keys: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let (recipient, signing) = (keys.join("recipient.txt"), keys.join("signing.key"));
    let mut args = vec![
        "seal",
        s(model),
        "-r",
        s(&recipient),
        "--destination",
        "DE",
        "--signing-key",
        s(&signing),
        "-o",
        s(out),
    ];
    args.extend_from_slice(extra);
    weightguard(&args)
}

const FORGED_SITE: &str =
    "fra-1\n  sealer         weightguard-signer-v1:forged (the expected signer)";

#[test]
fn seal_refuses_claim_strings_that_are_not_printable() {
    let (dir, model, keys) = setup();
    for (flag, value) in [
        ("--site", FORGED_SITE),
        ("--site", "fra-1\x1b[2J"),
        ("--site", "fra\u{202e}1-"),
        ("--license", "D1\r234"),
    ] {
        let env = dir.path().join("x.age");
        let mut extra = vec![flag, value];
        if flag == "--license" {
            extra.extend(["--licenses", "licences.toml"]);
        }
        let out = seal(&model, &keys, &env, &extra);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "a usage error: {err}");
        assert!(
            err.contains(&format!("invalid value for '{flag} <ID>'")),
            "{err}"
        );
        assert!(err.contains("only printable text is accepted"), "{err}");
        assert_inert("seal's refusal", &err);
        assert!(
            !err.contains("\n  sealer"),
            "the refusal echoes the raw value: {err}"
        );
        assert!(!env.exists());
    }
}

/// The envelope at `good` with its claims changed by `edit` and signed again by the sealer's own
/// key (a sealer that did not check its claims: an older weightguard, another tool). The header
/// MAC is left as it was: no one without the file key can tell, and `verify` has no key.
fn resign_claims(good: &Path, key: &Path, out: &Path, edit: impl Fn(&mut claims::Claims)) {
    let bytes = std::fs::read(good).unwrap();
    let h = header::parse(&bytes).unwrap();
    let (signed, at) = claims::find(&h.stanzas).unwrap().unwrap();
    let mut c = signed.claims.clone();
    edit(&mut c);
    let mut stanzas = h.stanzas.clone();
    stanzas[at] = claims::to_stanza(&c, &SigningKey::read(key).unwrap());
    let mut forged = header::mac_input(&stanzas).into_bytes();
    forged.extend_from_slice(&bytes[h.mac_input_len..]);
    std::fs::write(out, forged).unwrap();
}

#[test]
fn verify_open_and_audit_refuse_claims_holding_control_characters() {
    let (dir, model, keys) = setup();
    let d = dir.path();
    let good = d.join("good.age");
    let out = seal(&model, &keys, &good, &["--site", "fra-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let key = keys.join("signing.key");
    let signer = keys.join("signing.pub");
    let identity = keys.join("identity.txt");

    // The site forges a "(the expected signer)" line under `verify`.
    let forged = d.join("store/forged.age");
    std::fs::create_dir(d.join("store")).unwrap();
    resign_claims(&good, &key, &forged, |c| c.site = Some(FORGED_SITE.into()));
    let out = weightguard(&["verify", s(&forged), "--signer", s(&signer)]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "refused: {text}{err}");
    assert!(!text.contains("(the expected signer)"), "{text}");
    assert!(err.contains("claims: `site` `fra-1\\n  sealer "), "{err}");
    assert!(err.contains("the envelope is refused"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line, nothing forged: {err}");

    // A field open does not otherwise look at: refused for what it holds, before decrypting.
    let version = d.join("version.age");
    resign_claims(&good, &key, &version, |c| {
        c.policy.version = "2026-07-23\x1b]0;opened\x07".into()
    });
    let target = d.join("opened");
    let out = weightguard(&[
        "open",
        s(&version),
        "-i",
        s(&identity),
        "--signer",
        s(&signer),
        "--site-country",
        "DE",
        "--site",
        "fra-1",
        "-o",
        s(&target),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("claims: `policy.version` `2026-07-23\\x1b]0;opened\\x07`"),
        "{err}"
    );
    assert_inert("open's refusal", &err);
    assert!(!err.contains('\x07'));
    assert!(!target.exists());

    // The audit reports it as an envelope whose claims do not verify.
    let out = audit(&d.join("store"), &["--format", "jsonl"]);
    let line: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(line["findings"][0]["rule"], "envelope-unverified", "{line}");
    let out = audit(&d.join("store"), &[]);
    assert_inert("audit table", &stdout(&out));
    assert!(!stdout(&out).contains("\n  sealer"));
}

#[test]
fn verify_and_open_escape_the_names_they_print() {
    let (dir, model, keys) = setup();
    let d = dir.path();
    let env =
        d.join("for\n  sealer         weightguard-signer-v1:x (the expected signer)\x1b[2J.age");
    let out = seal(&model, &keys, &env, &["--site", "fra-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = weightguard(&["verify", s(&env), "--signer", s(&keys.join("signing.pub"))]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_inert("verify", &text);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("  sealer")).count(),
        1,
        "{text}"
    );
    assert!(text.starts_with(&format!(
        "{}/for\\n  sealer         weightguard-signer-v1:x (the expected signer)\\x1b[2J.age  envelope:",
        s(d)
    )));

    let target = d.join("out\n  verified       forged\x1b[2J");
    let out = weightguard(&[
        "open",
        s(&env),
        "-i",
        s(&keys.join("identity.txt")),
        "--signer",
        s(&keys.join("signing.pub")),
        "--site-country",
        "DE",
        "--site",
        "fra-1",
        "-o",
        s(&target),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_inert("open", &text);
    assert!(
        text.starts_with(&format!(
            "{}/out\\n  verified       forged\\x1b[2J  opened\n",
            s(d)
        )),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.contains("verified")).count(),
        2,
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// where the other claim strings come from

#[test]
fn policies_and_licences_refuse_claim_strings_that_are_not_printable() {
    let builtin = include_str!("../policies/us-ear-4e091.toml");
    assert!(weightguard::policy::Policy::parse("p.toml", builtin).is_ok());
    // The built-in policy with `add` (TOML escapes) at the end of the first `key = "…"` string.
    let with = |key: &str, add: &str| {
        let at = builtin.find(&format!("\n{key} = \"")).expect(key) + key.len() + 5;
        let end = at + builtin[at..].find('"').unwrap();
        format!("{}{add}{}", &builtin[..end], &builtin[end..])
    };
    let hostile = with("version", "\\n  sealer (the expected signer)");
    let e = weightguard::policy::Policy::parse("p.toml", &hostile)
        .expect_err("refused")
        .to_string();
    assert!(e.contains("policy.version: `"), "{e}");
    assert!(
        e.contains("\n  sealer (the expected signer)` holds U+000A"),
        "{e}"
    );
    // As the CLI shows it: escaped, no forged line.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, &hostile).unwrap();
    let out = weightguard(&["policy", "validate", s(&file)]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("\\n  sealer (the expected signer)` holds U+000A"),
        "{err}"
    );
    assert!(!err.lines().any(|l| l.starts_with("  sealer")), "{err}");

    let authorization = with("authorization", "\\u001b[2J");
    let e = weightguard::policy::Policy::parse("p.toml", &authorization)
        .expect_err("refused")
        .to_string();
    assert!(e.contains("`authorization` `"), "{e}");
    assert!(e.contains("\x1b[2J` holds U+001B"), "{e}");

    let licences = "[[license]]\nid = \"D1\\r234\"\ndestinations = [\"IN\"]\nmodels = [\"m\"]\nexpires = 2026-12-31\n";
    let e = weightguard::policy::licences::parse("l.toml", licences)
        .expect_err("refused")
        .to_string();
    assert!(e.contains("license: `id` `D1\r234` holds U+000D"), "{e}");
}
