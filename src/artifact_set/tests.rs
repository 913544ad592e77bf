//! The set's rules, one test each, on small trees made here (the CLI-level tests are in
//! `tests/artifact_set.rs`).

use super::*;
use std::os::unix::fs::symlink;

fn st(path: &Path, params: usize) {
    let header = format!(
        r#"{{"w":{{"dtype":"F32","shape":[{params}],"data_offsets":[0,{}]}}}}"#,
        params * 4
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + params * 4, 0);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn rels(set: &ArtifactSet) -> Vec<String> {
    set.files
        .iter()
        .map(|f| f.rel.display().to_string())
        .collect()
}

fn names(set: &ArtifactSet) -> Vec<String> {
    set.models.iter().map(|m| m.name.clone()).collect()
}

#[test]
fn every_weight_file_at_any_depth_belongs_to_a_model() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    st(&m.join("model.safetensors"), 4);
    st(&m.join("checkpoints/step-1000/model.safetensors"), 8);
    std::fs::write(m.join("README.md"), "hi").unwrap();
    let set = collect(&m, &Options::default()).unwrap();
    assert_eq!(
        rels(&set),
        [
            "README.md",
            "checkpoints/step-1000/model.safetensors",
            "model.safetensors"
        ]
    );
    let shown = m.display().to_string();
    assert_eq!(
        names(&set),
        [shown.clone(), format!("{shown}/checkpoints/step-1000")]
    );
}

#[test]
fn a_second_name_for_a_file_is_listed_but_counted_once() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    st(&m.join("step-1000/model.safetensors"), 4);
    // A link to a directory inside the root: followed (not dropped), its file an alias.
    symlink("step-1000", m.join("latest")).unwrap();
    let set = collect(&m, &Options::default()).unwrap();
    assert_eq!(
        rels(&set),
        ["latest/model.safetensors", "step-1000/model.safetensors"]
    );
    assert_eq!(set.files[0].alias_of, None);
    assert_eq!(
        set.files[1].alias_of.as_deref(),
        Some(Path::new("latest/model.safetensors"))
    );
    assert_eq!(set.models.len(), 1, "{:?}", names(&set));
}

#[test]
fn links_leaving_the_root_loops_and_special_files_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    st(&m.join("model.safetensors"), 4);
    std::fs::write(d.path().join("secret.key"), "k").unwrap();
    symlink("../secret.key", m.join("tokenizer.model")).unwrap();
    let e = collect(&m, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("tokenizer.model is a symbolic link to"), "{e}");
    assert!(e.contains("secret.key"), "{e}");
    assert!(e.contains("--follow-external-links"), "{e}");
    let follow = Options {
        follow_external_links: true,
        ..Default::default()
    };
    let set = collect(&m, &follow).unwrap();
    assert!(rels(&set).contains(&"tokenizer.model".to_owned()));
    std::fs::remove_file(m.join("tokenizer.model")).unwrap();

    symlink(".", m.join("loop")).unwrap();
    let e = collect(&m, &Options::default()).unwrap_err().to_string();
    assert!(
        e.contains("loop") && e.contains("symbolic link loop"),
        "{e}"
    );
    std::fs::remove_file(m.join("loop")).unwrap();

    symlink("nowhere", m.join("dangling")).unwrap();
    let e = collect(&m, &Options::default()).unwrap_err().to_string();
    assert!(
        e.contains("dangling is a symbolic link to nowhere, which does not exist"),
        "{e}"
    );
    // Lenient (audit): each refusal is a problem, the rest is listed.
    let lenient = Options {
        lenient: true,
        ..Default::default()
    };
    let set = collect(&m, &lenient).unwrap();
    assert_eq!(set.problems.len(), 1);
    assert_eq!(set.models.len(), 1);
    std::fs::remove_file(m.join("dangling")).unwrap();

    let ok = std::process::Command::new("mkfifo")
        .arg(m.join("pipe"))
        .status()
        .unwrap();
    assert!(ok.success());
    let e = collect(&m, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("pipe is a named pipe (FIFO)"), "{e}");
}

#[test]
fn ignored_paths_are_recorded_with_their_rule() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    st(&m.join("model.safetensors"), 4);
    st(&m.join(".git/lfs/objects/ab/cd/abcd"), 4);
    std::fs::write(m.join(".gitattributes"), "*.safetensors filter=lfs").unwrap();
    st(&m.join("optimizer/state.safetensors"), 4);
    let opts = Options {
        excludes: vec!["optimizer".into()],
        ..Default::default()
    };
    let set = collect(&m, &opts).unwrap();
    assert_eq!(rels(&set), ["model.safetensors"]);
    let ignored: Vec<(String, String)> = set
        .ignored
        .iter()
        .map(|i| (i.path.clone(), i.rule.clone()))
        .collect();
    assert_eq!(
        ignored,
        [
            (".git/".to_owned(), "default".to_owned()),
            (".gitattributes".to_owned(), "default".to_owned()),
            ("optimizer/".to_owned(), "--exclude optimizer".to_owned()),
        ]
    );
    let all = Options {
        no_default_excludes: true,
        ..Default::default()
    };
    assert_eq!(collect(&m, &all).unwrap().models.len(), 3);
}

#[test]
fn recheck_finds_what_appeared_changed_or_disappeared() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    st(&m.join("model.safetensors"), 4);
    let set = collect(&m, &Options::default()).unwrap();
    set.recheck().unwrap();
    std::fs::write(m.join("new.bin"), "x").unwrap();
    let e = set.recheck().unwrap_err().to_string();
    assert!(e.contains("new.bin") && e.contains("it appeared"), "{e}");
    std::fs::remove_file(m.join("new.bin")).unwrap();
    st(&m.join("model.safetensors"), 5);
    let e = set.recheck().unwrap_err().to_string();
    assert!(
        e.contains("model.safetensors") && e.contains("length"),
        "{e}"
    );
    std::fs::remove_file(m.join("model.safetensors")).unwrap();
    let e = set.recheck().unwrap_err().to_string();
    assert!(e.contains("it disappeared"), "{e}");
}

#[test]
fn an_index_names_its_shards_and_a_named_file_stays_itself() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    st(&m.join("a-00001-of-00002.safetensors"), 4);
    st(&m.join("a-00002-of-00002.safetensors"), 4);
    st(&m.join("other.safetensors"), 4);
    std::fs::write(
        m.join("model.safetensors.index.json"),
        r#"{"weight_map":{"w":"a-00001-of-00002.safetensors","v":"a-00002-of-00002.safetensors"}}"#,
    )
    .unwrap();
    let set = collect(&m.join("model.safetensors.index.json"), &Options::default()).unwrap();
    assert_eq!(
        rels(&set),
        [
            "a-00001-of-00002.safetensors",
            "a-00002-of-00002.safetensors",
            "model.safetensors.index.json"
        ]
    );
    // The directory: the index's model, and the file it does not name as a second model.
    let set = collect(&m, &Options::default()).unwrap();
    assert_eq!(set.models.len(), 2, "{:?}", names(&set));
    let set = collect(&m.join("other.safetensors"), &Options::default()).unwrap();
    assert_eq!(rels(&set), ["other.safetensors"]);
}

#[test]
fn a_weight_file_named_like_json_is_still_counted() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    st(&m.join("model.safetensors"), 4);
    // Renamed to pass as a side file: told by its content, it is a second model.
    st(&m.join("tokenizer.json"), 1000);
    std::fs::write(m.join("special_tokens_map.json"), "{}").unwrap();
    let set = collect(&m, &Options::default()).unwrap();
    let opened = set.open_models();
    let counted: Vec<u64> = opened
        .iter()
        .map(|(_, a)| a.as_ref().unwrap().as_ref().unwrap().parameters().total)
        .collect();
    assert_eq!(counted, [1004], "{:?}", names(&set));
}

#[test]
fn a_link_bomb_is_an_error_not_an_endless_walk() {
    // d0 holds two links to d1, d1 two to d2, … d40: 2^40 paths, no file, all inside the root.
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    for i in 0..=40 {
        std::fs::create_dir_all(m.join(format!("d{i}"))).unwrap();
    }
    for i in 0..40 {
        for l in ["a", "b"] {
            symlink(format!("../d{}", i + 1), m.join(format!("d{i}/{l}"))).unwrap();
        }
    }
    let t = std::time::Instant::now();
    let e = collect(&m, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("directories walked"), "{e}");
    assert!(t.elapsed().as_secs() < 120, "took {:?}", t.elapsed());
}
