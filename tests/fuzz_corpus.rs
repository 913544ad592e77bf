//! Replays every committed fuzz input through the fuzz targets' own entry point: the seeds
//! (`fuzz/seeds/<target>/`) and the inputs that once crashed a target (`fuzz/regressions/`).
//! This is the CI's share of fuzzing: cheap, always run, no nightly flags. Long runs are
//! `scripts/fuzz` (docs/fuzzing.md).

use std::path::Path;
use weightguard::fuzz_api;

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_str().unwrap().starts_with('.'))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn every_seed_and_regression_runs_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut seeds = 0;
    for target in fuzz_api::TARGETS {
        let found = inputs(&root.join("seeds").join(target));
        assert!(!found.is_empty(), "no seeds for fuzz target {target}");
        seeds += found.len();
        for (name, data) in found
            .iter()
            .chain(&inputs(&root.join("regressions").join(target)))
        {
            let result = std::panic::catch_unwind(|| fuzz_api::run(target, data));
            assert!(result.is_ok(), "fuzz target {target} panicked on {name}");
        }
    }
    assert!(seeds >= 2 * fuzz_api::TARGETS.len());
}

/// The seed envelopes open: mutations of them start from an envelope that gets past every check.
#[test]
fn seed_envelopes_are_intact_for_the_fuzzing_keys() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/open");
    for (name, data) in inputs(&dir) {
        let scratch = tempfile::tempdir().unwrap();
        assert!(
            fuzz_api::open_envelope(&data, scratch.path()),
            "{name} does not open"
        );
        let env = scratch.path().join("e.age");
        std::fs::write(&env, &data).unwrap();
        let v = weightguard::envelope::verify(&env, Some(&fuzz_api::signer()));
        assert!(v.is_ok(), "{name}: {:?}", v.err());
    }
}

/// The seed payloads open when sealed (their manifests re-signed for the new claims, as the
/// `open_payload` target does): mutations of them start from a tar stream and manifest that get
/// past every check, so they reach the digest checks.
#[test]
fn seed_payloads_are_the_sealers_tar_streams() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/open_payload");
    for (name, data) in inputs(&dir) {
        let scratch = tempfile::tempdir().unwrap();
        assert!(
            fuzz_api::open_payload(&data, scratch.path()),
            "{name} does not open"
        );
        // Unchanged (the manifest still names the claims of the seal it came from), refused.
        let env = scratch.path().join("e.age");
        fuzz_api::seal_payload(&data, &env).unwrap();
        let e = fuzz_api::open_at_fuzz_site(&env, &scratch.path().join("out"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("signed for other claims"), "{name}: {e}");
    }
}

/// Through the re-signing, a changed file byte in a seed payload reaches the digest check.
#[test]
fn mutated_seed_payloads_reach_the_digest_checks() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/open_payload/tree");
    let mut data = std::fs::read(seed).unwrap();
    let at = data.windows(8).position(|w| w == b"weights\n").unwrap();
    data[at] ^= 0x20;
    let scratch = tempfile::tempdir().unwrap();
    let env = scratch.path().join("e.age");
    fuzz_api::seal_payload_with(|claims| fuzz_api::resign_manifest(&data, claims), &env).unwrap();
    let e = fuzz_api::open_at_fuzz_site(&env, &scratch.path().join("out"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`README.md`: digest does not match the manifest"),
        "{e}"
    );
}
