//! `--help` examples for every command, kept in one table so they read as one set and a test can
//! check that every command has some (`weightguard CMD --help` ends with them).

/// (subcommand, examples shown after its options).
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "inspect",
        "weightguard inspect llama-3.1-8b/                 # a model directory: shards, config, totals
  weightguard inspect --json model.gguf | jq .parameters
  weightguard inspect --hash model.safetensors       # also the model root digest
  weightguard inspect a.safetensors b.pt c.gguf      # several paths (pre-commit passes them so)",
    ),
    (
        "estimate",
        "weightguard estimate llama-3.1-8b/ --tokens 15.6e12
  weightguard estimate model/ --training-record training-record.toml --json",
    ),
    (
        "classify",
        "weightguard classify model/ --tokens 15.6e12
  weightguard classify model/ --training-record record.toml --as-of 2026-06-01 --json
  weightguard classify model/ --policy policies/examples/acme-internal.toml",
    ),
    (
        "gate",
        "weightguard gate model/ --destination DE --tokens 15.6e12     # exit 0 allowed, 3, 4, 5
  weightguard gate model/ --destination CN --holder-hq US --json
  weightguard gate model/ --destination AE --licenses licenses.toml",
    ),
    (
        "hash",
        "weightguard hash model/                    # per-tensor digests and the model root
  weightguard hash --b3sum model.safetensors # whole-file digests, b3sum's format
  weightguard hash --json model/ > model.digests.json",
    ),
    (
        "keygen",
        "weightguard keygen --out keys     # keys/identity.txt, recipient.txt, signing.key, signing.pub
  weightguard keygen --out keys --pq  # a post-quantum identity (age1pq1… recipient)",
    ),
    (
        "seal",
        "weightguard seal model/ -r keys/recipient.txt --destination DE --site fra-1 \\
      --signing-key keys/signing.key -o model.age --tokens 1e24
  weightguard seal model/ -r age1… --destination JP --signing-key sealer.key \\
      -o s3://bucket/model.age --expires 2027-01-01",
    ),
    (
        "verify",
        "weightguard verify model.age --signer keys/signing.pub       # no decryption key needed
  weightguard verify s3://bucket/model.age --json",
    ),
    (
        "open",
        "weightguard open model.age -i keys/identity.txt --signer keys/signing.pub \\
      --site-country DE --site fra-1 -o model/",
    ),
    (
        "sign",
        "openssl ecparam -genkey -name prime256v1 -out ec.pem && openssl ec -in ec.pem -pubout -out ec.pub
  weightguard sign model/ --key ec.pem -o model/model.sig     # model_signing verify key accepts it
  weightguard sign model/ --key ec.pem -o model.sig --digest blake3",
    ),
    (
        "verify-signature",
        "weightguard verify-signature model/ --bundle model/model.sig --public-key ec.pub
  weightguard open model.age … -o opened/ && \\
      weightguard verify-signature opened/ --bundle opened/model.sig --public-key ec.pub",
    ),
    (
        "policy",
        "weightguard policy list
  weightguard policy show us-ear-4e091
  weightguard policy validate my-policy.toml",
    ),
    (
        "demo",
        "weightguard demo
  weightguard demo --keep /tmp/weightguard-demo",
    ),
    (
        "audit",
        "weightguard audit /data/models                          # a table; exit 6 on high findings
  weightguard audit s3://bucket/models --format sarif -o audit.sarif
  weightguard audit /data --shard 2/8 --format jsonl -o part-2.jsonl
  weightguard audit s3://bucket/models --shard-from-env --format jsonl  # a Kubernetes Indexed Job
  weightguard audit --parent-dirs a/model.safetensors b/model.gguf       # as the pre-commit hook does
  weightguard audit merge part-*.jsonl --format html -o audit.html",
    ),
    (
        "completions",
        "weightguard completions bash > /etc/bash_completion.d/weightguard
  weightguard completions zsh > \"${fpath[1]}/_weightguard\"
  weightguard completions fish > ~/.config/fish/completions/weightguard.fish",
    ),
    (
        "manpage",
        "weightguard manpage > weightguard.1 && man ./weightguard.1
  weightguard manpage --dir /usr/local/share/man/man1   # one page per command",
    ),
];

/// `cmd` with each subcommand's examples after its help.
pub fn add(mut cmd: clap::Command) -> clap::Command {
    for (name, text) in EXAMPLES {
        cmd = cmd.mut_subcommand(*name, |c| c.after_help(format!("Examples:\n  {text}")));
    }
    cmd
}
