//! Entry points for the fuzz targets (`fuzz/`) and the tests that replay their corpora.
//!
//! Each function hands arbitrary bytes to one parser exactly as the CLI would, and panics only
//! if the code under test does (or if a property that must hold on every input is broken, such
//! as `open` leaving files behind after refusing). Results are dropped: on hostile input, any
//! `Ok` or `Err` is fine; a panic, a hang or unbounded memory is the bug. Not a stable API.

use crate::artifact::{self, ModelConfig, read::MeteredFile, sharded};
use crate::compute::TrainingRecord;
use crate::envelope::{
    self, Claims, PolicyRef, SealTerms, SignerKey, SigningKey, Site, claims, header, manifest, tar,
};
use crate::policy::Policy;
use std::path::Path;

/// The fuzzing signing key: a fixed, public, test-only Ed25519 seed (bytes 0..32). The seed
/// envelopes are sealed with it so that mutations of them reach past the signature checks.
pub const FUZZ_SIGNING_KEY: &str =
    "weightguard-signing-key-v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The fuzzing age identity (test-only, public) and its recipient.
pub const FUZZ_IDENTITY: &str =
    "AGE-SECRET-KEY-1MK7PP9F4RK4H2CQ9Z9VUYRPY7R8SMNK5C6ZDPTR3JGJ3MLN6XEYQLRQZ3Y\n";
pub const FUZZ_RECIPIENT: &str = "age1r29n8nzw8kh8tz808ga8452srl98s6kkqtny9hn7sgp6698rqyyq224f3z";

/// The fuzzing post-quantum identity (test-only, public: the seed is bytes 0..32). The seed
/// stanza is wrapped for its recipient, so that mutations of it reach the decryption.
pub const FUZZ_PQ_IDENTITY: &str =
    "AGE-SECRET-KEY-PQ-1QQQSYQCYQ5RQWZQFPG9SCRGWPUGPZYSNZS23V9CCRYDPK8QARC0S5DYVQQ";

/// Country, site and date the seed envelopes are sealed for and opened at.
pub const FUZZ_COUNTRY: &str = "DE";
pub const FUZZ_SITE: &str = "fra-1";
pub const FUZZ_TODAY: &str = "2026-11-23";

/// The fuzz targets, each named after what it feeds (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &[
    "safetensors",
    "gguf",
    "pytorch_zip",
    "pickle",
    "training_record",
    "policy",
    "envelope_header",
    "open",
    "open_payload",
    "age_pq",
    "model_signature",
    "keys",
    "hash_check",
];

/// Runs the fuzz target `target` on `data`: what `cargo fuzz run <target>` runs on each input,
/// and what the corpus replay test runs on each committed seed and regression.
pub fn run(target: &str, data: &[u8]) {
    // Targets taking several inputs pick one with the first byte.
    let split = || data.split_first().map(|(&b, rest)| (b % 3, rest));
    match target {
        "safetensors" => match split() {
            Some((0, rest)) => model_file("model.safetensors", rest),
            Some((1, rest)) => shard_index(rest),
            Some((_, rest)) => model_config(rest),
            None => {}
        },
        "gguf" => model_file("model.gguf", data),
        "pytorch_zip" => model_file("pytorch_model.bin", data),
        "pickle" => {
            pickle(data);
            // A legacy checkpoint when it starts with torch's magic number, else a bare pickle.
            model_file("model.pt", data);
        }
        "training_record" => training_record(data),
        "policy" => policy(data),
        "envelope_header" => match split() {
            Some((0, rest)) => envelope_header(rest),
            Some((1, rest)) => manifest(rest),
            Some((_, rest)) => tar_header(rest),
            None => {}
        },
        "open" => {
            let scratch = tempfile::tempdir().expect("a scratch directory");
            open_envelope(data, scratch.path());
        }
        "open_payload" => {
            let scratch = tempfile::tempdir().expect("a scratch directory");
            open_payload(data, scratch.path());
        }
        "model_signature" => model_signature(data),
        "keys" => keys(data),
        "hash_check" => hash_check(data),
        "age_pq" => age_pq(data),
        _ => panic!("unknown fuzz target {target:?}"),
    }
}

/// The fuzzing model-signing key (EC P-256, test-only, public): SEC1 as `openssl ecparam
/// -genkey` writes it, the same key in PKCS#8, and its public key. The seed bundle is signed
/// with it, so that mutations of the bundle reach past the key checks.
pub const FUZZ_EC_KEY_SEC1: &str = "-----BEGIN EC PARAMETERS-----
BggqhkjOPQMBBw==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIDKGmk+DzJbkccrILOwMyoxgVqiNxuhGWPyYkh6EUvuvoAoGCCqGSM49
AwEHoUQDQgAE6V5Prz/rXxsc5hvXNwFqxyGLFvWCRfiTwlGw46O4Zfeiz/EMSgGZ
amYho41UBaw2qNqQBGJDxpdfLW+R952Jyw==
-----END EC PRIVATE KEY-----
";
pub const FUZZ_EC_KEY_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMoaaT4PMluRxysgs
7AzKjGBWqI3G6EZY/JiSHoRS+6+hRANCAATpXk+vP+tfGxzmG9c3AWrHIYsW9YJF
+JPCUbDjo7hl96LP8QxKAZlqZiGjjVQFrDao2pAEYkPGl18tb5H3nYnL
-----END PRIVATE KEY-----
";
pub const FUZZ_EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6V5Prz/rXxsc5hvXNwFqxyGLFvWC
RfiTwlGw46O4Zfeiz/EMSgGZamYho41UBaw2qNqQBGJDxpdfLW+R952Jyw==
-----END PUBLIC KEY-----
";

/// The model-signature parsers, picked by the first byte % 4: a Sigstore bundle (parsed,
/// verified under the fuzzing EC key, its payload parsed as a statement whether or not the
/// signature held), a PEM private key, a PEM public key, an in-toto statement.
pub fn model_signature(data: &[u8]) {
    use crate::signing::{Bundle, PrivateKey, PublicKey, Statement};
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(bundle) = Bundle::parse(rest) {
                let key = PublicKey::from_pem(FUZZ_EC_PUBLIC).expect("the fuzzing EC key parses");
                let _ = bundle.verify(&key);
                if let Ok(st) = Statement::parse(&bundle.payload) {
                    // A parsed statement writes back to one that parses the same.
                    assert_eq!(Statement::parse(&st.to_json()).as_ref(), Ok(&st));
                }
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(key) = PrivateKey::from_pem(text)
            {
                let _ = key.public().hint();
            }
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(key) = PublicKey::from_pem(text)
            {
                let _ = key.hint();
            }
        }
        _ => {
            let _ = Statement::parse(rest);
        }
    }
}

/// The post-quantum hybrid keys and stanzas (`envelope::pq`), picked by the first byte % 3: a
/// recipient string (one that parses writes back to itself and wraps a file key), an identity
/// file (post-quantum lines among age's), a `mlkem768x25519` stanza (`TYPE ARGS…` on the first
/// line, the body after it) unwrapped with the fuzzing post-quantum identity.
pub fn age_pq(data: &[u8]) {
    use age::{Identity as _, Recipient as _};
    use envelope::pq;
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(r) = text.parse::<pq::Recipient>()
            {
                let again = r.to_string().parse::<pq::Recipient>();
                assert_eq!(again.map(|a| a.to_string()), Ok(r.to_string()));
                let key = age_core::format::FileKey::new(Box::new([0x5a; 16]));
                let _ = r.wrap_file_key(&key);
            }
        }
        1 => {
            let _ = pq::take_identities(rest);
            let _ = envelope::keys::read_identities_from(rest);
        }
        _ => {
            let (line, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &[][..]),
            };
            let line = String::from_utf8_lossy(line);
            let mut words = line.split(' ').map(str::to_owned);
            let stanza = age_core::format::Stanza {
                tag: words.next().unwrap_or_default(),
                args: words.collect(),
                body: body.to_vec(),
            };
            let id: pq::Identity = FUZZ_PQ_IDENTITY
                .parse()
                .expect("the fuzzing post-quantum identity parses");
            let _ = id.unwrap_stanza(&stanza);
        }
    }
}

pub fn signing_key() -> SigningKey {
    // A constant that parses: checked by the tests replaying the corpus.
    SigningKey::parse(FUZZ_SIGNING_KEY).expect("the fuzzing signing key parses")
}

pub fn signer() -> SignerKey {
    signing_key().public()
}

/// The terms the seed envelopes are sealed under: for the fuzzing site, allowed, no expiry.
pub fn seal_terms() -> SealTerms {
    SealTerms {
        destination: FUZZ_COUNTRY.into(),
        site: Some(FUZZ_SITE.into()),
        holder_hq: Some(FUZZ_COUNTRY.into()),
        decision: "allowed".into(),
        authorization: Some("AIA".into()),
        classification: "controlled".into(),
        policy: PolicyRef {
            id: "us-ear-4e091".into(),
            version: "fuzz".into(),
            digest: format!("blake3:{}", "00".repeat(32)),
        },
        expires: None,
        sealed_on: FUZZ_TODAY.into(),
        gate: serde_json::json!({"decision": "allowed"}),
    }
}

/// Seals `payload` as the whole plaintext of the new envelope `output`, for the fuzzing
/// recipient, signer and site (see [`envelope::seal::seal_raw_payload`]).
pub fn seal_payload(payload: &[u8], output: &Path) -> Result<u64, envelope::EnvelopeError> {
    seal_payload_with(|_| payload.to_vec(), output)
}

/// As [`seal_payload`], the plaintext made by `payload` from the digest of the new claims.
pub fn seal_payload_with(
    payload: impl FnOnce(&str) -> Vec<u8>,
    output: &Path,
) -> Result<u64, envelope::EnvelopeError> {
    let recipients = envelope::keys::parse_recipients(FUZZ_RECIPIENT)?;
    envelope::seal::seal_raw_payload(payload, output, &recipients, &signing_key(), &seal_terms())
}

/// A model file of any format, detected by content and then by the extension of `name`
/// (`model.safetensors`, `model.gguf`, `pytorch_model.bin`, `model.pt`, …).
pub fn model_file(name: &str, data: &[u8]) {
    if let Ok(a) = artifact::open_bytes(Path::new(name), data.to_vec()) {
        // Rendering walks every value the parsers produced.
        let _ = a.report();
    }
}

/// `model.safetensors.index.json`.
pub fn shard_index(data: &[u8]) {
    let mut f = MeteredFile::from_bytes(Path::new("model.safetensors.index.json"), data.to_vec());
    let _ = sharded::read_index(&mut f);
}

/// `config.json`.
pub fn model_config(data: &[u8]) {
    let _ = ModelConfig::parse(Path::new("config.json"), data);
}

/// The symbolic pickle machine and the tensor walker, on one bare pickle.
pub fn pickle(data: &[u8]) {
    if let Ok(outcome) = artifact::pytorch::pickle::run(data) {
        let mut warnings = Vec::new();
        let _ = artifact::pytorch::tensors::collect(&outcome, &mut warnings);
    }
}

/// A training record (TOML); bytes that are not UTF-8 never reach the parser (the CLI reads
/// the file as a string and refuses them).
pub fn training_record(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = TrainingRecord::parse("record.toml", text);
    }
}

/// A policy file (TOML).
pub fn policy(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Policy::parse("policy.toml", text);
    }
}

/// An envelope's header, MAC and claims stanza, read as `verify` reads them (no key).
pub fn envelope_header(data: &[u8]) {
    let Ok(h) = header::parse(data) else { return };
    let _ = header::verify_mac(&[0u8; 16], data, &h);
    if let Ok(Some((signed, at))) = claims::find(&h.stanzas) {
        let _ = signed.signature_valid();
        let _ = signed.digest();
        let _ = claims::recipients_digest(&h.stanzas[..at]);
    }
}

/// The manifest entry, checked under the fuzzing signer.
pub fn manifest(data: &[u8]) {
    let _ = manifest::verify(data, &signer());
}

/// One ustar header block.
pub fn tar_header(data: &[u8]) {
    if let Some(block) = data.first_chunk::<{ tar::BLOCK }>() {
        let _ = tar::parse_header(block);
    }
}

fn allow(_: &Claims) -> Result<(), String> {
    Ok(())
}

/// `open` on an envelope of arbitrary bytes, with the fuzzing identity, signer and site, in the
/// empty directory `scratch`. Fails closed: whenever `open` refuses, nothing but the envelope
/// may be left in `scratch`; when it succeeds, the output is a directory, and it is removed.
/// Returns whether it opened.
pub fn open_envelope(data: &[u8], scratch: &Path) -> bool {
    let env = scratch.join("envelope.age");
    std::fs::write(&env, data).expect("write the envelope to the scratch directory");
    open_sealed(scratch)
}

/// `open` on an authentic envelope, sealed for the fuzzing site, whose plaintext is `payload`:
/// what `open` does after decryption (the tar reader, the manifest, the digests), with the same
/// fail-closed checks as [`open_envelope`]. Returns whether it opened.
///
/// A manifest in the payload is first re-signed for the new envelope's claims
/// ([`resign_manifest`]), so that mutated files and manifests reach the manifest's parsing and
/// every digest check, not only the signature check a fuzzer cannot pass.
pub fn open_payload(payload: &[u8], scratch: &Path) -> bool {
    seal_payload_with(
        |claims| resign_manifest(payload, claims),
        &scratch.join("envelope.age"),
    )
    .expect("seal the payload");
    open_sealed(scratch)
}

/// `payload` (a tar stream, or anything) with its manifest entry, when it has one that parses
/// as a manifest, signed again by the fuzzing key for the claims whose digest is `claims`: what
/// a sealer holding the trusted key would write. Anything else is returned unchanged.
pub fn resign_manifest(payload: &[u8], claims: &str) -> Vec<u8> {
    let mut at = 0usize;
    while let Some(block) = payload
        .get(at..)
        .and_then(|rest| rest.first_chunk::<{ tar::BLOCK }>())
    {
        let Ok(tar::Entry::File { name, size }) = tar::parse_header(block) else {
            break;
        };
        let Some(end) = usize::try_from(size)
            .ok()
            .and_then(|size| (at + tar::BLOCK).checked_add(size))
            .filter(|&end| end <= payload.len())
        else {
            break;
        };
        let data = &payload[at + tar::BLOCK..end];
        if name == manifest::ENTRY_NAME {
            let Some(mut m) = serde_json::from_slice::<serde_json::Value>(data)
                .ok()
                .and_then(|v| {
                    serde_json::from_value::<manifest::Manifest>(v["manifest"].clone()).ok()
                })
            else {
                break;
            };
            m.claims_blake3 = claims.to_owned();
            let signed = manifest::sign(&m, &signing_key());
            let Ok(head) = tar::file_header(manifest::ENTRY_NAME, signed.len() as u64) else {
                break;
            };
            let after = end.saturating_add(tar::padding(size)).min(payload.len());
            let mut out = payload[..at].to_vec();
            out.extend_from_slice(&head);
            out.extend_from_slice(&signed);
            out.resize(out.len() + tar::padding(signed.len() as u64), 0);
            out.extend_from_slice(&payload[after..]);
            return out;
        }
        at = end.saturating_add(tar::padding(size));
    }
    payload.to_vec()
}

/// `open` of the envelope `env` into `out`, with the fuzzing identity, signer and site, under a
/// policy that allows everything.
pub fn open_at_fuzz_site(
    env: &Path,
    out: &Path,
) -> Result<envelope::OpenReport, envelope::EnvelopeError> {
    let ids = envelope::keys::read_identities_from(FUZZ_IDENTITY.as_bytes())?;
    let site = Site {
        country: FUZZ_COUNTRY.into(),
        site: Some(FUZZ_SITE.into()),
        today: FUZZ_TODAY.into(),
        policy: &allow,
    };
    envelope::open(env, &ids, Some(&signer()), &site, out, false)
}

/// Opens `scratch/envelope.age` into `scratch/out`, checks that a refusal left nothing behind,
/// and removes both.
fn open_sealed(scratch: &Path) -> bool {
    let env = scratch.join("envelope.age");
    let out = scratch.join("out");
    let result = open_at_fuzz_site(&env, &out);
    let left: Vec<_> = std::fs::read_dir(scratch)
        .expect("list the scratch directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n != "envelope.age" && n != "out")
        .collect();
    assert!(left.is_empty(), "open left {left:?} behind ({result:?})");
    let opened = match result {
        Ok(_) => {
            assert!(out.is_dir(), "open succeeded without an output directory");
            std::fs::remove_dir_all(&out).expect("remove the opened output");
            true
        }
        Err(e) => {
            assert!(
                !out.exists(),
                "open refused ({e}) but wrote {}",
                out.display()
            );
            false
        }
    };
    std::fs::remove_file(&env).expect("remove the envelope");
    opened
}

/// The key-file parsers, picked by the first byte % 3: a signing key (`weightguard-signing-key-v1:`
/// or an OpenSSH private key, `envelope::openssh`), a signer key line (ours or `ssh-ed25519 …`),
/// an identity file (age lines, plugin lines, an SSH key). A signing key that parses must sign
/// what its public key verifies.
pub fn keys(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(key) = SigningKey::parse(text)
            {
                let sig = key.sign(b"fuzz");
                assert!(key.public().verify(b"fuzz", &sig));
                // Its public key, written out, parses back to the same key.
                assert_eq!(
                    key.public().to_string().parse::<SignerKey>().ok(),
                    Some(key.public())
                );
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(key) = text.parse::<SignerKey>()
            {
                let _ = key.describe();
            }
        }
        _ => {
            let _ = envelope::keys::read_identities_from(rest);
        }
    }
}

/// A `hash --check` file: parsed line by line (nothing is read from disk); every parsed name is
/// shown escaped.
pub fn hash_check(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(lines) = crate::digest::check::parse(text)
    {
        for l in lines {
            assert!(!l.shown().contains('\n'));
        }
    }
}
