//! Every documented limit (docs/limits.md) exceeded by the smallest input that does it, and the
//! clear error it gives. Inputs declare sizes rather than carry them where the limit is checked
//! before anything is read; files that must be large are sparse.

mod common;
use common::*;
use std::path::Path;
use weightguard::artifact::{self, limits::*, read::MeteredFile};
use weightguard::envelope::{claims, header, tar};

fn open_err(name: &str, bytes: Vec<u8>) -> String {
    match artifact::open_bytes(Path::new(name), bytes) {
        Ok(_) => panic!("{name}: accepted"),
        Err(e) => e.to_string(),
    }
}

fn assert_names_limit(msg: &str, limit: impl std::fmt::Display) {
    assert!(
        msg.contains(&limit.to_string()),
        "the error should name the limit {limit}: {msg}"
    );
}

/// A file of `len` bytes starting with `head`, the rest a sparse hole.
fn sparse(dir: &Path, name: &str, head: &[u8], len: u64) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, head).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(len)
        .unwrap();
    p
}

// ---- safetensors, index, config ----

#[test]
fn safetensors_header_over_max_safetensors_header_bytes() {
    let mut b = (MAX_SAFETENSORS_HEADER_BYTES + 1).to_le_bytes().to_vec();
    b.extend_from_slice(b"{}");
    let msg = open_err("model.safetensors", b);
    assert_names_limit(&msg, MAX_SAFETENSORS_HEADER_BYTES);
}

#[test]
fn index_over_max_index_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = sparse(dir.path(), "m.index.json", b"{", MAX_INDEX_BYTES + 1);
    let err = sharded_read(&p).unwrap_err().to_string();
    assert_names_limit(&err, MAX_INDEX_BYTES);
}

fn sharded_read(p: &Path) -> Result<artifact::ShardIndex, artifact::ArtifactError> {
    artifact::sharded::read_index(&mut MeteredFile::open(p).unwrap())
}

#[test]
fn index_naming_more_than_max_shards() {
    let map: Vec<String> = (0..=MAX_SHARDS)
        .map(|i| format!("\"t{i}\":\"s{i}.safetensors\""))
        .collect();
    let json = format!("{{\"weight_map\":{{{}}}}}", map.join(","));
    let mut f = MeteredFile::from_bytes(Path::new("x.index.json"), json.into_bytes());
    let err = artifact::sharded::read_index(&mut f)
        .unwrap_err()
        .to_string();
    assert_names_limit(&err, MAX_SHARDS);
}

#[test]
fn config_over_max_config_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = sparse(dir.path(), "config.json", b"{", MAX_CONFIG_BYTES + 1);
    let err = artifact::ModelConfig::read(&mut MeteredFile::open(&p).unwrap())
        .unwrap_err()
        .to_string();
    assert_names_limit(&err, MAX_CONFIG_BYTES);
}

#[test]
fn json_nested_deeper_than_max_json_nesting() {
    let deep = format!(
        "{}{}",
        "[".repeat(MAX_JSON_NESTING + 1),
        "]".repeat(MAX_JSON_NESTING + 1)
    );
    let json = format!("{{\"hidden_size\": {deep}}}");
    let err = artifact::ModelConfig::parse(Path::new("config.json"), json.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("recursion limit"), "{err}");
    // One level less is only JSON, whatever it then means.
    let ok = "[".repeat(MAX_JSON_NESTING - 2) + &"]".repeat(MAX_JSON_NESTING - 2);
    assert!(artifact::strict_json::parse(ok.as_bytes()).is_ok());
}

// ---- GGUF ----

fn gguf(tensors: u64, kvs: u64, rest: &[u8]) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&tensors.to_le_bytes());
    b.extend_from_slice(&kvs.to_le_bytes());
    b.extend_from_slice(rest);
    b
}

fn gguf_string(s: &[u8]) -> Vec<u8> {
    let mut b = (s.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(s);
    b
}

#[test]
fn gguf_over_max_gguf_metadata_entries() {
    let msg = open_err("m.gguf", gguf(0, MAX_GGUF_METADATA_ENTRIES + 1, &[]));
    assert!(msg.contains("metadata count"), "{msg}");
    assert_names_limit(&msg, MAX_GGUF_METADATA_ENTRIES);
}

#[test]
fn gguf_over_max_gguf_tensors() {
    let msg = open_err("m.gguf", gguf(MAX_GGUF_TENSORS + 1, 0, &[]));
    assert!(msg.contains("tensor count"), "{msg}");
    assert_names_limit(&msg, MAX_GGUF_TENSORS);
}

#[test]
fn gguf_string_over_max_gguf_string_bytes() {
    let mut rest = (MAX_GGUF_STRING_BYTES + 1).to_le_bytes().to_vec();
    rest.extend_from_slice(b"general.name");
    let msg = open_err("m.gguf", gguf(0, 1, &rest));
    assert_names_limit(&msg, MAX_GGUF_STRING_BYTES);
}

#[test]
fn gguf_array_over_max_gguf_array_len() {
    let mut rest = gguf_string(b"tokenizer.ggml.tokens");
    rest.extend_from_slice(&9u32.to_le_bytes()); // array
    rest.extend_from_slice(&4u32.to_le_bytes()); // of u32
    rest.extend_from_slice(&(MAX_GGUF_ARRAY_LEN + 1).to_le_bytes());
    rest.resize(rest.len() + 64, 0);
    let msg = open_err("m.gguf", gguf(0, 1, &rest));
    assert_names_limit(&msg, MAX_GGUF_ARRAY_LEN);
}

#[test]
fn gguf_arrays_nested_deeper_than_max_gguf_nesting() {
    let mut rest = gguf_string(b"x.deep");
    rest.extend_from_slice(&9u32.to_le_bytes());
    for _ in 0..=MAX_GGUF_NESTING {
        rest.extend_from_slice(&9u32.to_le_bytes()); // an array of arrays…
        rest.extend_from_slice(&1u64.to_le_bytes()); // …of one
    }
    rest.extend_from_slice(&4u32.to_le_bytes());
    rest.extend_from_slice(&1u64.to_le_bytes());
    rest.extend_from_slice(&7u32.to_le_bytes());
    let msg = open_err("m.gguf", gguf(0, 1, &rest));
    assert_names_limit(&msg, MAX_GGUF_NESTING);
}

#[test]
fn gguf_tensor_over_max_gguf_dims() {
    let mut rest = gguf_string(b"t.weight");
    rest.extend_from_slice(&(MAX_GGUF_DIMS + 1).to_le_bytes());
    rest.resize(rest.len() + 8 * (MAX_GGUF_DIMS as usize + 1) + 12, 1);
    let msg = open_err("m.gguf", gguf(1, 0, &rest));
    assert_names_limit(&msg, MAX_GGUF_DIMS);
}

// ---- zip ----

fn eocd(entries: u16, cd_size: u32) -> Vec<u8> {
    let mut b = b"PK\x03\x04".to_vec();
    b.resize(64, 0);
    b.extend_from_slice(b"PK\x05\x06");
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&entries.to_le_bytes());
    b.extend_from_slice(&entries.to_le_bytes());
    b.extend_from_slice(&cd_size.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b
}

/// A ZIP64 end record declaring `entries` and `cd_size`.
fn zip64(entries: u64, cd_size: u64) -> Vec<u8> {
    let mut b = b"PK\x03\x04".to_vec();
    b.resize(64, 0);
    let rec_at = b.len() as u64;
    b.extend_from_slice(b"PK\x06\x06");
    b.resize(b.len() + 28, 0);
    b.extend_from_slice(&entries.to_le_bytes());
    b.extend_from_slice(&cd_size.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(b"PK\x06\x07");
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&rec_at.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    let mut e = eocd(0xffff, 0xffff_ffff);
    e.drain(..64);
    b.extend_from_slice(&e);
    b
}

#[test]
fn zip_over_max_zip_entries() {
    assert!(
        MAX_ZIP_ENTRIES > u64::from(u16::MAX),
        "ZIP64 needed to exceed it"
    );
    let msg = open_err("m.bin", zip64(MAX_ZIP_ENTRIES + 1, 0));
    assert!(msg.contains("zip entry count"), "{msg}");
    assert_names_limit(&msg, MAX_ZIP_ENTRIES);
    // The plain end record is parsed the same way.
    let msg = open_err("m.bin", eocd(1, 0));
    assert!(!msg.contains("limit"), "{msg}");
}

#[test]
fn zip_over_max_zip_central_directory_bytes() {
    let msg = open_err("m.bin", zip64(1, MAX_ZIP_CENTRAL_DIRECTORY_BYTES + 1));
    assert!(msg.contains("central directory size"), "{msg}");
    assert_names_limit(&msg, MAX_ZIP_CENTRAL_DIRECTORY_BYTES);
}

// ---- pickle ----

fn pickle_err(data: &[u8]) -> String {
    match artifact::pytorch::pickle::run(data) {
        Ok(_) => panic!("pickle accepted"),
        Err(e) => format!("{e:?}"),
    }
}

#[test]
fn pickle_over_max_pickle_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = sparse(dir.path(), "big.pkl", b"\x80\x02N", MAX_PICKLE_BYTES + 1);
    let msg = artifact::open(&p).unwrap_err().to_string();
    assert_names_limit(&msg, MAX_PICKLE_BYTES);
}

#[test]
fn pickle_stack_over_max_pickle_stack() {
    let mut p = b"\x80\x02".to_vec();
    p.resize(2 + MAX_PICKLE_STACK + 2, b'N'); // NONE pushes one value
    p.push(b'.');
    assert_names_limit(&pickle_err(&p), MAX_PICKLE_STACK);
}

#[test]
fn pickle_memo_over_max_pickle_memo() {
    let mut p = b"\x80\x04N".to_vec();
    p.resize(3 + MAX_PICKLE_MEMO + 1, 0x94); // MEMOIZE: a new memo entry each time
    p.push(b'.');
    assert_names_limit(&pickle_err(&p), MAX_PICKLE_MEMO);
}

#[test]
fn pickle_integer_over_max_pickle_long_bytes() {
    let n = MAX_PICKLE_LONG_BYTES as usize + 1;
    let mut p = vec![0x80, 0x02, 0x8a, n as u8];
    p.resize(p.len() + n, 1);
    p.push(b'.');
    assert_names_limit(&pickle_err(&p), MAX_PICKLE_LONG_BYTES);
}

#[test]
fn pickle_containers_over_max_pickle_containers() {
    // EMPTY_LIST then POP, so only the container count grows.
    let mut p = b"\x80\x02".to_vec();
    for _ in 0..=MAX_PICKLE_CONTAINERS {
        p.extend_from_slice(b"]0");
    }
    p.extend_from_slice(b"N.");
    assert_names_limit(&pickle_err(&p), MAX_PICKLE_CONTAINERS);
}

#[test]
fn pickle_nested_deeper_than_max_pickle_nesting_is_reported_not_walked() {
    // MAX_PICKLE_NESTING + 1 lists, each appended into the one before.
    let mut p = b"\x80\x02".to_vec();
    p.resize(2 + MAX_PICKLE_NESTING + 1, b']');
    p.resize(p.len() + MAX_PICKLE_NESTING, b'a');
    p.push(b'.');
    let outcome = artifact::pytorch::pickle::run(&p).unwrap();
    let mut warnings = Vec::new();
    artifact::pytorch::tensors::collect(&outcome, &mut warnings);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&MAX_PICKLE_NESTING.to_string())),
        "{warnings:?}"
    );
}

#[test]
fn findings_over_max_findings_per_file_are_counted() {
    let mut p = b"\x80\x02".to_vec();
    for _ in 0..MAX_FINDINGS_PER_FILE + 5 {
        p.extend_from_slice(b"cos\nsystem\n0");
    }
    p.extend_from_slice(b"N.");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil.pkl");
    std::fs::write(&path, &p).unwrap();
    let a = artifact::open(&path).unwrap();
    // The kept findings, then one that counts the rest.
    assert_eq!(a.security_findings.len(), MAX_FINDINGS_PER_FILE + 1);
    let last = a.security_findings.last().unwrap().describe();
    assert!(last.contains("5 more findings"), "{last}");
}

// ---- envelope ----

#[test]
fn envelope_header_over_max_header_bytes() {
    let mut b = format!("{}\n-> X25519 ", header::VERSION_LINE).into_bytes();
    b.resize(header::MAX_HEADER_BYTES + 10, b'a');
    let e = header::parse(&b).unwrap_err();
    assert_names_limit(&e.what, header::MAX_HEADER_BYTES);
}

#[test]
fn envelope_header_over_max_stanzas() {
    let mut b = format!("{}\n", header::VERSION_LINE);
    for _ in 0..=header::MAX_STANZAS {
        b.push_str("-> x\n\n");
    }
    b.push_str("--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    let e = header::parse(b.as_bytes()).unwrap_err();
    assert_names_limit(&e.what, header::MAX_STANZAS);
}

#[test]
fn claims_over_max_claims_bytes() {
    let s = header::Stanza {
        tag: claims::TAG.into(),
        args: vec![claims::VERSION_ARG.into()],
        body: vec![b' '; claims::MAX_CLAIMS_BYTES + 65],
    };
    let e = claims::find(&[s]).err().unwrap();
    assert!(e.contains("wrong size"), "{e}");
}

#[test]
fn tar_names_over_max_name() {
    let long = "a/".repeat(tar::MAX_NAME / 2) + "bc";
    assert!(long.len() > tar::MAX_NAME);
    assert!(tar::file_header(&long, 1).is_err());
    assert_names_limit(&tar::check_name(&long).unwrap_err(), tar::MAX_NAME);
}

#[test]
fn manifest_over_max_manifest_bytes() {
    use weightguard::envelope::manifest;
    use weightguard::fuzz_api;
    // An authentic envelope whose payload's tar header declares a manifest one byte over the
    // cap: refused from the header, before the manifest's bytes are buffered (there are none).
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("big-manifest.age");
    let head = tar::file_header(manifest::ENTRY_NAME, manifest::MAX_MANIFEST_BYTES + 1).unwrap();
    fuzz_api::seal_payload(&head, &env).unwrap();
    let out = dir.path().join("out");
    let e = fuzz_api::open_at_fuzz_site(&env, &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("big-manifest.age"), "{e}");
    assert_names_limit(&e, manifest::MAX_MANIFEST_BYTES);
    assert!(!out.exists());
}

#[test]
fn seal_refuses_a_manifest_open_would_refuse() {
    use weightguard::{artifact_set, envelope, fuzz_api};
    // Issue 17: `seal` wrote envelopes whose manifest exceeded `open`'s cap. The same cap holds
    // at seal: here a small cap (the refusal is the same code path as at MAX_MANIFEST_BYTES),
    // met by the third of five files; nothing is written.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    for i in 0..5 {
        std::fs::write(model.join(format!("part-{i}.txt")), "x").unwrap();
    }
    let set = artifact_set::collect(&model, &Default::default()).unwrap();
    let recipients = envelope::keys::parse_recipients(fuzz_api::FUZZ_RECIPIENT).unwrap();
    let out = dir.path().join("m.age");
    let e = envelope::seal::seal_set_capped(
        &set,
        &out,
        &recipients,
        &fuzz_api::signing_key(),
        &fuzz_api::seal_terms(),
        false,
        &|_| {},
        300,
    )
    .unwrap_err()
    .to_string();
    assert_names_limit(&e, 300);
    assert!(e.contains("part-2.txt"), "{e}");
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the model: {left:?}");
    // With room, the same set seals.
    let set = artifact_set::collect(&model, &Default::default()).unwrap();
    envelope::seal::seal_set_capped(
        &set,
        &out,
        &recipients,
        &fuzz_api::signing_key(),
        &fuzz_api::seal_terms(),
        false,
        &|_| {},
        envelope::manifest::MAX_MANIFEST_BYTES,
    )
    .unwrap();
}

// ---- training records, policies, licences (read by the CLI) ----

#[test]
fn record_policy_licences_and_accelerators_over_their_limits() {
    use weightguard::compute::{accelerators::MAX_ACCELERATORS_BYTES, record::MAX_RECORD_BYTES};
    use weightguard::policy::{format::MAX_POLICY_BYTES, licences::MAX_LICENCES_BYTES};
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    weightguard::fixture::write_model(
        &weightguard::fixture::ModelSpec::llama(16, 8, 2, 2, 1, 16),
        &model,
        weightguard::fixture::WriteOptions {
            fill: weightguard::fixture::DataFill::Pattern(1),
            max_shard_bytes: None,
        },
    )
    .unwrap();
    let m = model.to_str().unwrap();
    let record = sparse(dir.path(), "r.toml", b"#", MAX_RECORD_BYTES as u64 + 1);
    let policy = sparse(dir.path(), "p.toml", b"#", MAX_POLICY_BYTES as u64 + 1);
    let licences = sparse(dir.path(), "l.toml", b"#", MAX_LICENCES_BYTES as u64 + 1);
    let table = sparse(
        dir.path(),
        "a.toml",
        b"#",
        MAX_ACCELERATORS_BYTES as u64 + 1,
    );
    for (args, limit) in [
        (
            vec!["estimate", m, "--training-record", record.to_str().unwrap()],
            MAX_RECORD_BYTES,
        ),
        (
            vec!["policy", "validate", policy.to_str().unwrap()],
            MAX_POLICY_BYTES,
        ),
        (
            vec!["gate", m, "--destination", "DE", "--tokens", "1e12"]
                .into_iter()
                .chain(["--licenses", licences.to_str().unwrap()])
                .collect(),
            MAX_LICENCES_BYTES,
        ),
        (
            vec!["classify", m, "--tokens", "1e12", "--accelerators"]
                .into_iter()
                .chain([table.to_str().unwrap()])
                .collect(),
            MAX_ACCELERATORS_BYTES,
        ),
    ] {
        let o = weightguard(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert_names_limit(&stderr(&o), limit);
    }
}

#[test]
fn toml_nested_deeper_than_the_parser_allows_is_an_error() {
    let deep = format!(
        "x = {}{}\n",
        "[".repeat(MAX_TOML_NESTING + 1),
        "]".repeat(MAX_TOML_NESTING + 1)
    );
    assert!(weightguard::compute::TrainingRecord::parse("r.toml", &deep).is_err());
    assert!(weightguard::policy::Policy::parse("p.toml", &deep).is_err());
    let inline = format!(
        "x = {}{}\n",
        "{a = ".repeat(MAX_TOML_NESTING + 1),
        "}".repeat(MAX_TOML_NESTING + 1)
    );
    assert!(weightguard::compute::TrainingRecord::parse("r.toml", &inline).is_err());
}

#[test]
fn key_files_over_max_key_file_bytes() {
    use weightguard::envelope::keys::{self, MAX_KEY_FILE_BYTES};
    use weightguard::envelope::{SignerKey, SigningKey};
    let dir = tempfile::tempdir().unwrap();
    let big = sparse(dir.path(), "key", b"#", MAX_KEY_FILE_BYTES + 1);
    let errors = [
        keys::read_identities(&big).err().map(|e| e.to_string()),
        SigningKey::read(&big).err().map(|e| e.to_string()),
        SignerKey::parse_or_read(big.to_str().unwrap())
            .err()
            .map(|e| e.to_string()),
        keys::parse_recipients(big.to_str().unwrap())
            .err()
            .map(|e| e.to_string()),
    ];
    for e in errors {
        let e = e.expect("refused");
        assert!(e.contains("bytes, over the limit"), "{e}");
        assert_names_limit(&e, MAX_KEY_FILE_BYTES);
    }
}

#[test]
fn audit_state_and_reports_over_their_limits() {
    use weightguard::audit::run::{MAX_REPORT_BYTES, MAX_STATE_BYTES};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let header = format!(
        "{{\"weightguard_audit_state\":1,\"root\":\"{}\"}}\n",
        store.display()
    );
    let state = sparse(dir.path(), "state", header.as_bytes(), MAX_STATE_BYTES + 1);
    let o = weightguard(&[
        "audit",
        store.to_str().unwrap(),
        "--resume",
        state.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("audit state file is"), "{}", stderr(&o));
    assert_names_limit(&stderr(&o), MAX_STATE_BYTES);
    assert_eq!(
        std::fs::metadata(&state).unwrap().len(),
        MAX_STATE_BYTES + 1
    );

    let report = sparse(dir.path(), "r.jsonl", b"{", MAX_REPORT_BYTES + 1);
    let o = weightguard(&["audit", "merge", report.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("audit report is"), "{}", stderr(&o));
    assert_names_limit(&stderr(&o), MAX_REPORT_BYTES);

    use weightguard::audit::fingerprint::MAX_FINGERPRINT_BYTES;
    let prints = sparse(
        dir.path(),
        "prints.jsonl",
        b"{",
        MAX_FINGERPRINT_BYTES as u64 + 1,
    );
    let o = weightguard(&[
        "audit",
        store.to_str().unwrap(),
        "--fingerprints",
        prints.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("fingerprints file is"),
        "{}",
        stderr(&o)
    );
    assert_names_limit(&stderr(&o), MAX_FINGERPRINT_BYTES);
}

/// Issue 14 item 6: a pickle of one-byte values appended to a list stops at
/// MAX_PICKLE_VALUES instead of growing to 24 bytes per input byte.
#[test]
fn pickle_values_over_max_pickle_values() {
    let mut p = b"\x80\x02]".to_vec();
    for _ in 0..=MAX_PICKLE_VALUES {
        p.extend_from_slice(b"Na");
    }
    p.push(b'.');
    assert_names_limit(&pickle_err(&p), MAX_PICKLE_VALUES);
}

#[test]
fn model_card_caps_are_warnings_not_errors() {
    use weightguard::artifact::model_card::*;
    // MAX_CARD_BYTES: a front matter that has not closed by then is not read, and no more of the
    // card is read than the cap.
    let mut card = b"---\n".to_vec();
    card.extend(b"tags: [x]\n".repeat(MAX_CARD_BYTES as usize / 10 + 1));
    card.extend(b"base_model: a/b\n---\n");
    let mut f = MeteredFile::from_bytes(Path::new("README.md"), card);
    let (bytes, whole) = read_front_matter(&mut f).unwrap();
    assert_eq!(f.bytes_read(), MAX_CARD_BYTES);
    let facts = parse_front_matter(&bytes, whole);
    assert!(facts.base_models.is_empty());
    assert_names_limit(&facts.warnings.join(" "), MAX_CARD_BYTES);
    // MAX_CARD_LIST_ITEMS and MAX_CARD_STRING_BYTES: the key is left out, the others read.
    let names: Vec<String> = (0..=MAX_CARD_LIST_ITEMS)
        .map(|i| format!("o/m{i}"))
        .collect();
    let long = "a".repeat(MAX_CARD_STRING_BYTES + 1);
    for (body, limit) in [
        (
            format!("base_model: [{}]", names.join(", ")),
            MAX_CARD_LIST_ITEMS,
        ),
        (format!("base_model: {long}"), MAX_CARD_STRING_BYTES),
    ] {
        let facts =
            parse_front_matter(format!("---\n{body}\nlicense: mit\n---\n").as_bytes(), true);
        assert!(facts.base_models.is_empty());
        assert_eq!(facts.license.as_deref(), Some("mit"));
        assert_names_limit(&facts.warnings.join(" "), limit);
    }
}
