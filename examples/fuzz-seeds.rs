//! Writes the seed corpus of the fuzz targets (`fuzz/seeds/<target>/`) with the project's own
//! writers: the fixture generator (safetensors, shard index, config), a small GGUF writer, and
//! the envelope sealer with the fuzzing keys of `weightguard::fuzz_api`. Run by `scripts/fuzz
//! seeds`, which adds the pickle, zip and TOML seeds; every seed is a few KB at most.
//!
//! `cargo run --example fuzz-seeds -- fuzz/seeds`

use std::path::{Path, PathBuf};
use weightguard::envelope;
use weightguard::fixture::{DataFill, ModelSpec, WriteOptions, write_model};
use weightguard::fuzz_api;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: fuzz-seeds OUT_DIR")?);
    let work = tempfile::tempdir()?;

    // A two-shard model of a few hundred parameters: safetensors files, index, config.
    let model = work.path().join("model");
    let written = write_model(
        &ModelSpec::llama(16, 8, 2, 2, 1, 16),
        &model,
        WriteOptions {
            fill: DataFill::Pattern(1),
            max_shard_bytes: Some(400),
        },
    )?;
    let st = out.join("safetensors");
    for (i, f) in written.files.iter().take(2).enumerate() {
        seed(&st, &format!("shard-{i}"), 0, &std::fs::read(f)?)?;
    }
    if let Some(index) = &written.index {
        seed(&st, "index", 1, &std::fs::read(index)?)?;
    }
    seed(&st, "config", 2, &std::fs::read(model.join("config.json"))?)?;

    let gguf = out.join("gguf");
    seed(&gguf, "llama", 0xff, &gguf_file(3))?;
    seed(&gguf, "v2", 0xff, &gguf_file(2))?;

    // Envelopes of a small tree and of the model, sealed for the fuzzing site.
    let tree = work.path().join("tree");
    std::fs::create_dir_all(tree.join("sub"))?;
    std::fs::write(tree.join("README.md"), b"weights\n")?;
    std::fs::write(tree.join("sub/notes.txt"), b"x".repeat(700))?;
    let open_dir = out.join("open");
    let header_dir = out.join("envelope_header");
    let payload_dir = out.join("open_payload");
    for (name, input) in [("tree", &tree), ("model", &model)] {
        let env = work.path().join(format!("{name}.age"));
        let recipients = envelope::keys::parse_recipients(fuzz_api::FUZZ_RECIPIENT)?;
        envelope::seal(
            input,
            &env,
            &recipients,
            &fuzz_api::signing_key(),
            &fuzz_api::seal_terms(),
            false,
        )?;
        let bytes = std::fs::read(&env)?;
        seed(&open_dir, name, 0xff, &bytes)?;
        seed(&payload_dir, name, 0xff, &plaintext(&bytes)?)?;
        let header = envelope::header::parse(&bytes).map_err(|e| e.what)?;
        seed(
            &header_dir,
            &format!("header-{name}"),
            0,
            &bytes[..header.len],
        )?;
    }
    // A model signature of the small tree, signed with the fuzzing EC key; the keys; the
    // statement on its own.
    let sig_dir = out.join("model_signature");
    let key = weightguard::signing::PrivateKey::from_pem(fuzz_api::FUZZ_EC_KEY_SEC1)?;
    let set = weightguard::artifact_set::collect(&tree, &Default::default())?;
    let signed = weightguard::signing::sign(
        &set,
        &key,
        weightguard::signing::HashType::Sha256,
        &tree.join("model.sig"),
        &|_| {},
    )?;
    seed(&sig_dir, "bundle", 0, &signed.bundle)?;
    seed(
        &sig_dir,
        "key-sec1",
        1,
        fuzz_api::FUZZ_EC_KEY_SEC1.as_bytes(),
    )?;
    seed(
        &sig_dir,
        "key-pkcs8",
        1,
        fuzz_api::FUZZ_EC_KEY_PKCS8.as_bytes(),
    )?;
    seed(&sig_dir, "public", 2, fuzz_api::FUZZ_EC_PUBLIC.as_bytes())?;
    seed(&sig_dir, "statement", 3, &signed.statement.to_json())?;
    // Post-quantum keys: the fuzzing recipient, an identity file with both kinds of identity,
    // a stanza wrapped for the fuzzing post-quantum identity.
    let pq_dir = out.join("age_pq");
    let pq_id: envelope::pq::Identity = fuzz_api::FUZZ_PQ_IDENTITY.parse()?;
    let pq_recipient = pq_id.to_public();
    seed(&pq_dir, "recipient", 0, pq_recipient.to_string().as_bytes())?;
    let ids = format!(
        "# post-quantum and X25519\n{}\n{}",
        fuzz_api::FUZZ_PQ_IDENTITY,
        fuzz_api::FUZZ_IDENTITY
    );
    seed(&pq_dir, "identities", 1, ids.as_bytes())?;
    let file_key = age_core::format::FileKey::new(Box::new([0x5a; 16]));
    let (stanzas, _) = age::Recipient::wrap_file_key(&pq_recipient, &file_key)?;
    let mut stanza = format!("{} {}\n", stanzas[0].tag, stanzas[0].args.join(" ")).into_bytes();
    stanza.extend_from_slice(&stanzas[0].body);
    seed(&pq_dir, "stanza", 2, &stanza)?;
    // Key files (the `keys` target; scripts/fuzz adds keys made by ssh-keygen): ours, and an
    // identity file with an X25519 and a plugin identity.
    let keys_dir = out.join("keys");
    seed(
        &keys_dir,
        "weightguard-private",
        0,
        fuzz_api::FUZZ_SIGNING_KEY.as_bytes(),
    )?;
    seed(
        &keys_dir,
        "weightguard-public",
        1,
        fuzz_api::signer().to_string().as_bytes(),
    )?;
    let plugin = age::plugin::Identity::default_for_plugin("nosuchplugin")?;
    let ids = format!("# x25519 and plugin\n{}{plugin}\n", fuzz_api::FUZZ_IDENTITY);
    seed(&keys_dir, "identity-file", 2, ids.as_bytes())?;
    // A `hash` output of the small tree, whole-file lines and a root line (the `hash_check` target).
    let report = weightguard::digest::hash_path(
        &tree,
        &weightguard::digest::Options {
            whole_file: true,
            read: weightguard::digest::ReadMode::Buffered,
        },
        &|_| {},
    )?;
    let mut lines = String::new();
    for f in &report.files {
        if let Some(d) = f.blake3 {
            // Named from the work directory, so that the seed is the same on every run.
            let name = f.path.strip_prefix(work.path())?.display().to_string();
            lines.push_str(&weightguard::digest::check::b3sum_line(d, &name));
            lines.push('\n');
        }
    }
    // A model root line (the tree holds no weights: a made-up digest).
    lines.push_str(&format!(
        "{}  tree  (model root: 1 tensors, 1 files, 1 B)\n",
        "1".repeat(64)
    ));
    lines.push_str(&format!("\\{}  a\\\\b\\nc.bin:(header)\n", "0".repeat(64)));
    seed(
        &out.join("hash_check"),
        "hash-output",
        0xff,
        lines.as_bytes(),
    )?;
    let mut block = envelope::tar::file_header("sub/notes.txt", 700).map_err(|e| e.to_string())?;
    seed(&header_dir, "tar", 2, &block)?;
    block = envelope::tar::file_header(&format!("{}/{}", "d".repeat(120), "f".repeat(90)), 1)
        .map_err(|e| e.to_string())?;
    seed(&header_dir, "tar-prefix", 2, &block)?;
    Ok(())
}

/// The plaintext of an envelope sealed for the fuzzing recipient (its tar stream), decrypted by
/// the `age` crate.
fn plaintext(envelope: &[u8]) -> Res<Vec<u8>> {
    use std::io::Read;
    let identity: age::x25519::Identity = fuzz_api::FUZZ_IDENTITY.trim().parse()?;
    let decryptor = age::Decryptor::new(envelope)?;
    let mut out = Vec::new();
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))?
        .read_to_end(&mut out)?;
    Ok(out)
}

/// Writes `bytes` as seed `name` of a target, after the selector byte (none if 0xff).
fn seed(dir: &Path, name: &str, selector: u8, bytes: &[u8]) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    let mut data = Vec::with_capacity(bytes.len() + 1);
    if selector != 0xff {
        data.push(selector);
    }
    data.extend_from_slice(bytes);
    std::fs::write(dir.join(name), data)?;
    Ok(())
}

/// A small GGUF (version 2 or 3): every metadata value type, a nested array, and three tensors
/// (F32, F16, Q4_0) with their data 32-byte aligned.
fn gguf_file(version: u32) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    fn kv(out: &mut Vec<u8>, key: &str, ty: u32, value: &[u8]) {
        string(out, key);
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(value);
    }
    let mut s = Vec::new();
    string(&mut s, "llama");
    let mut tokens = Vec::new();
    tokens.extend_from_slice(&8u32.to_le_bytes());
    tokens.extend_from_slice(&3u64.to_le_bytes());
    for t in ["<s>", "a", "b"] {
        string(&mut tokens, t);
    }
    let mut nested = Vec::new();
    nested.extend_from_slice(&9u32.to_le_bytes());
    nested.extend_from_slice(&2u64.to_le_bytes());
    for items in [&[1u32, 2][..], &[3]] {
        nested.extend_from_slice(&4u32.to_le_bytes());
        nested.extend_from_slice(&(items.len() as u64).to_le_bytes());
        for i in items {
            nested.extend_from_slice(&i.to_le_bytes());
        }
    }
    let kvs: Vec<(&str, u32, Vec<u8>)> = vec![
        ("general.architecture", 8, s),
        ("general.alignment", 4, 32u32.to_le_bytes().to_vec()),
        ("llama.block_count", 4, 2u32.to_le_bytes().to_vec()),
        ("llama.embedding_length", 10, 32u64.to_le_bytes().to_vec()),
        ("llama.rope.freq_base", 6, 10000f32.to_le_bytes().to_vec()),
        ("general.flag", 7, vec![1]),
        ("general.i8", 1, vec![0xff]),
        ("general.i16", 3, (-2i16).to_le_bytes().to_vec()),
        ("general.i64", 11, (-3i64).to_le_bytes().to_vec()),
        ("general.f64", 12, 0.5f64.to_le_bytes().to_vec()),
        ("tokenizer.ggml.tokens", 9, tokens),
        ("x.nested", 9, nested),
    ];
    // (name, dims, ggml type, data bytes)
    let tensors: [(&str, &[u64], u32, u64); 3] = [
        ("token_embd.weight", &[32, 3], 0, 32 * 3 * 4),
        ("blk.0.attn_norm.weight", &[32], 1, 32 * 2),
        ("blk.0.ffn_up.weight", &[32, 2], 2, 2 * 18),
    ];
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(kvs.len() as u64).to_le_bytes());
    for (k, ty, v) in &kvs {
        kv(&mut out, k, *ty, v);
    }
    let mut offset = 0u64;
    for (name, dims, ty, len) in &tensors {
        string(&mut out, name);
        out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in *dims {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        offset += len.div_ceil(32) * 32;
    }
    out.resize(out.len().div_ceil(32) * 32, 0);
    let data_start = out.len();
    out.resize(data_start + offset as usize, 0x3c);
    out
}
