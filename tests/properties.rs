//! Round trips as properties (proptest): the generator's models read back as generated, sealed
//! trees open to the same bytes, and no single-byte change to an envelope gets through `open`.
//! Case counts stay small so the suite stays fast on two cores.

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use weightguard::artifact::{self, Dtype, TensorType};
use weightguard::envelope::{self, Claims, PolicyRef, SealTerms, SigningKey, Site};
use weightguard::fixture::{DataFill, Family, ModelSpec, MoeSpec, WriteOptions, write_model};

fn spec() -> impl Strategy<Value = ModelSpec> {
    (
        (1u64..64, 1u64..4, 1u64..4, 1u64..8, 1u64..48),
        (
            any::<bool>(),
            prop::sample::select(vec![Dtype::Bf16, Dtype::F16, Dtype::F32]),
        ),
        prop::option::of((2u64..5, 1u64..3, 0u64..2, 1u64..16, 0u64..2)),
    )
        .prop_map(
            |((vocab, layers, kv_heads, head_dim, inter), (tie, dtype), moe)| {
                let heads = kv_heads * 2;
                let mut s =
                    ModelSpec::llama(vocab, heads * head_dim, layers, heads, kv_heads, inter);
                s.tie_embeddings = tie;
                s.dtype = dtype;
                if let Some((experts, per_token, shared, expert_intermediate, first_dense)) = moe {
                    s.family = Family::Mixtral;
                    s.moe = Some(MoeSpec {
                        experts,
                        experts_per_token: per_token.min(experts),
                        shared_experts: shared,
                        expert_intermediate,
                        first_dense_layers: first_dense.min(layers - 1),
                    });
                }
                s
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Generator → parser: every tensor comes back with its name, dtype, shape and data bytes.
    #[test]
    fn generated_models_read_back_as_generated(
        spec in spec(),
        shard in prop::option::of(64u64..4096),
        seed in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m");
        let written = write_model(&spec, &model, WriteOptions {
            fill: DataFill::Pattern(seed),
            max_shard_bytes: shard,
        }).unwrap();
        let a = artifact::open(&model).unwrap();
        let expected: BTreeMap<String, (TensorType, Vec<u64>)> = spec
            .tensors()
            .into_iter()
            .map(|t| (t.name, (TensorType::Dtype(t.dtype), t.shape)))
            .collect();
        let found: BTreeMap<String, (TensorType, Vec<u64>)> = a
            .tensors
            .iter()
            .map(|t| (t.name.clone(), (t.dtype, t.shape.clone())))
            .collect();
        prop_assert_eq!(a.tensors.len(), expected.len());
        prop_assert_eq!(found, expected);
        prop_assert_eq!(a.files.len(), written.files.len());
        let data: u64 = a.files.iter().map(|f| f.data_bytes).sum();
        prop_assert_eq!(data, written.data_bytes);
        prop_assert_eq!(a.report().parameters.total, written.parameters);
    }
}

// ---- envelopes ----

struct Keys {
    identity: PathBuf,
    recipient: String,
    key: SigningKey,
    _dir: tempfile::TempDir,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (identity_text, recipient) = envelope::keys::generate_identity();
        let identity = dir.path().join("identity.txt");
        std::fs::write(&identity, identity_text).unwrap();
        Keys {
            identity,
            recipient,
            key: SigningKey::generate().unwrap(),
            _dir: dir,
        }
    })
}

fn terms() -> SealTerms {
    SealTerms {
        destination: "DE".into(),
        site: Some("fra-1".into()),
        holder_hq: Some("DE".into()),
        decision: "allowed".into(),
        authorization: Some("AIA".into()),
        classification: "controlled".into(),
        policy: PolicyRef {
            id: "us-ear-4e091".into(),
            version: "test".into(),
            digest: format!("blake3:{}", "00".repeat(32)),
        },
        expires: None,
        sealed_on: "2026-11-23".into(),
        gate: serde_json::json!({"decision": "allowed"}),
    }
}

fn allow(_: &Claims) -> Result<(), String> {
    Ok(())
}

fn seal(input: &Path, out: &Path) {
    let k = keys();
    let recipients = envelope::keys::parse_recipients(&k.recipient).unwrap();
    envelope::seal(input, out, &recipients, &k.key, &terms(), false).unwrap();
}

fn open(env: &Path, out: &Path) -> Result<envelope::OpenReport, envelope::EnvelopeError> {
    let k = keys();
    let ids = envelope::keys::read_identities(&k.identity).unwrap();
    let site = Site {
        country: "DE".into(),
        site: Some("fra-1".into()),
        today: "2026-11-23".into(),
        policy: &allow,
    };
    envelope::open(env, &ids, Some(&k.key.public()), &site, out, false)
}

/// Relative paths of every file under `root`, with their bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn files() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    prop::collection::btree_map(
        "(sub/)?[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,11}",
        prop::collection::vec(any::<u8>(), 0..3000),
        1..5,
    )
    // A file and a directory of the same name cannot both exist.
    .prop_filter("no file named like the directory", |m| {
        !m.contains_key("sub")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Seal → open gives back every file, byte for byte, and nothing else.
    #[test]
    fn seal_then_open_gives_back_the_tree(files in files()) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        for (name, bytes) in &files {
            let p = input.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        let env = dir.path().join("e.age");
        seal(&input, &env);
        let out = dir.path().join("out");
        open(&env, &out).unwrap();
        prop_assert_eq!(tree(&out), files);
    }
}

/// One small envelope, sealed once for all the mutation cases.
fn sealed() -> &'static Vec<u8> {
    static SEALED: OnceLock<Vec<u8>> = OnceLock::new();
    SEALED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        write_model(
            &ModelSpec::llama(16, 8, 1, 2, 1, 16),
            &input,
            WriteOptions {
                fill: DataFill::Pattern(3),
                max_shard_bytes: None,
            },
        )
        .unwrap();
        std::fs::write(input.join("notes.txt"), b"n".repeat(70_000)).unwrap();
        let env = dir.path().join("e.age");
        seal(&input, &env);
        std::fs::read(env).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any single-byte change anywhere in an envelope is refused, and nothing is written.
    #[test]
    fn any_single_byte_change_is_refused(at in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let mut bytes = sealed().clone();
        let i = at.index(bytes.len());
        bytes[i] ^= xor;
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("e.age");
        std::fs::write(&env, &bytes).unwrap();
        let out = dir.path().join("out");
        let result = open(&env, &out);
        prop_assert!(result.is_err(), "byte {} ^ {:#04x} was accepted", i, xor);
        prop_assert!(!out.exists());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        prop_assert_eq!(left.len(), 1, "only the envelope is left");
    }
}

/// The unmodified envelope opens (so the refusals above are the mutation's doing).
#[test]
fn the_unmutated_envelope_opens() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("e.age");
    std::fs::write(&env, sealed()).unwrap();
    open(&env, &dir.path().join("out")).unwrap();
}
