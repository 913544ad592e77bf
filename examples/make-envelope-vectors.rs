//! Regenerates the envelope test vectors in tests/vectors/envelope-v1/ (see
//! docs/envelope-format.md §6): `cargo run --example make-envelope-vectors`.

use std::path::Path;
use weightguard::artifact::Dtype;
use weightguard::envelope::{self, PolicyRef, SealTerms, SigningKey, keys};
use weightguard::fixture::{DataFill, TensorSpec, write_safetensors};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelope-v1");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let expected = dir.join("expected");
    std::fs::create_dir_all(&expected)?;
    let tensors = [
        TensorSpec {
            name: "embed.weight".into(),
            dtype: Dtype::Bf16,
            shape: vec![64, 32],
        },
        TensorSpec {
            name: "norm.weight".into(),
            dtype: Dtype::F32,
            shape: vec![32],
        },
    ];
    write_safetensors(
        &expected.join("model.safetensors"),
        &tensors,
        &serde_json::json!({"format": "pt"}),
        DataFill::Pattern(2026),
    )?;
    std::fs::write(
        expected.join("config.json"),
        "{\"model_type\": \"llama\", \"hidden_size\": 32}\n",
    )?;
    let (identity, recipient) = keys::generate_identity();
    std::fs::write(dir.join("identity.txt"), identity)?;
    let key = SigningKey::generate()?;
    std::fs::write(dir.join("signing.pub"), format!("{}\n", key.public()))?;
    std::fs::write(dir.join("site.txt"), "DE fra-1\n")?;
    let terms = SealTerms {
        destination: "DE".into(),
        site: Some("fra-1".into()),
        holder_hq: Some("DE".into()),
        decision: "allowed".into(),
        authorization: Some("AIA".into()),
        classification: "controlled".into(),
        policy: PolicyRef {
            id: "us-ear-4e091".into(),
            version: "2026-07-23".into(),
            digest: "blake3:test-vector".into(),
        },
        expires: Some("2099-12-31".into()),
        sealed_on: "2026-11-23".into(),
        gate: serde_json::json!({"decision": "allowed", "authorization": "AIA"}),
    };
    let recipients = keys::parse_recipients(&recipient)?;
    envelope::seal(
        &expected,
        &dir.join("good.age"),
        &recipients,
        &key,
        &terms,
        false,
    )?;
    println!("wrote {}", dir.display());
    Ok(())
}
