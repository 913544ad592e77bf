//! `weightguard._native`: the extension module under the Python package `weightguard`.
//!
//! Each function here takes the flags of one command as plain arguments, calls the same library
//! function the CLI calls for `--json` (`weightguard::reports`), and returns the very lines the
//! CLI prints; `weightguard/__init__.py` parses them with `json.loads`. So a Python caller and
//! the CLI cannot disagree about a result: there is one code path that builds it.
//!
//! The GIL is released while a command works (reading headers, hashing gigabytes), so other
//! Python threads run meanwhile. Failures raise `weightguard.WeightguardError` (defined in
//! Python, `weightguard/errors.py`) with the file and the reason apart; bad argument values
//! raise its subclass `weightguard.UsageError`, also a `ValueError`.

// No unsafe code here: what the bindings need is pyo3's.
#![forbid(unsafe_code)]

use pyo3::prelude::*;
use std::ffi::OsString;
use std::path::PathBuf;
use weightguard::artifact_set;
use weightguard::digest;
use weightguard::policy::{Date, countries};
use weightguard::reports::{self, Failure, Training};

/// A `WeightguardError` (or `UsageError`) from `weightguard.errors`, carrying the file, the
/// reason and the hint as attributes.
fn raise(py: Python<'_>, class: &str, f: &Failure) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let errors = py.import("weightguard.errors")?;
        let file = f.file.as_ref().map(|p| p.display().to_string());
        let value = errors
            .getattr(class)?
            .call1((f.message.as_str(), file, f.reason(), f.hint))?;
        Ok(PyErr::from_value(value))
    })();
    made.unwrap_or_else(|e| e)
}

fn failed(py: Python<'_>, f: Failure) -> PyErr {
    raise(py, "WeightguardError", &f)
}

/// A value of an argument that the CLI would refuse as a usage error (exit 2).
fn usage(py: Python<'_>, argument: &str, message: String) -> PyErr {
    raise(
        py,
        "UsageError",
        &Failure::new(format!("{argument}: {message}"), None),
    )
}

/// Serialising the reports cannot fail for their plain values; if it ever did, it is an error
/// of weightguard, said as such.
fn serialisation(py: Python<'_>, e: serde_json::Error) -> PyErr {
    failed(
        py,
        Failure::new(format!("cannot serialise the report: {e}"), None),
    )
}

/// The artifact set's selection flags (`--exclude`, `--no-default-excludes`,
/// `--follow-external-links`, `--revision`).
fn selection(
    exclude: Vec<String>,
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Option<String>,
) -> artifact_set::Options {
    artifact_set::Options {
        excludes: exclude,
        no_default_excludes,
        follow_external_links,
        revision,
        lenient: false,
    }
}

/// `tokens=`: a number, or a count as the CLI writes it (`15.6T`, `300B`, `2e12`).
#[derive(FromPyObject)]
enum Count {
    Number(f64),
    Text(String),
}

fn training(
    py: Python<'_>,
    training_record: Option<PathBuf>,
    tokens: Option<Count>,
    accelerators: Option<PathBuf>,
    disagreement_factor: f64,
) -> PyResult<Training> {
    let tokens = match tokens {
        None => None,
        Some(Count::Number(n)) if n.is_finite() && n >= 0.0 => Some(n),
        Some(Count::Number(n)) => {
            return Err(usage(
                py,
                "tokens",
                format!("{n} is not a count of tokens (a finite number, 0 or more)"),
            ));
        }
        Some(Count::Text(s)) => {
            Some(reports::inputs::parse_count(&s).map_err(|e| usage(py, "tokens", e))?)
        }
    };
    Ok(Training {
        record: training_record,
        tokens,
        accelerators,
        disagreement_factor,
    })
}

fn date(py: Python<'_>, as_of: Option<String>) -> PyResult<Option<Date>> {
    as_of
        .map(|s| Date::parse(&s).map_err(|e| usage(py, "as_of", e)))
        .transpose()
}

fn country(py: Python<'_>, argument: &str, cc: &str) -> PyResult<String> {
    countries::parse(cc).map_err(|e| usage(py, argument, e))
}

/// `inspect --json`: one line per model of `path`.
#[pyfunction]
#[pyo3(signature = (path, exclude, no_default_excludes, follow_external_links, revision, hash))]
fn inspect(
    py: Python<'_>,
    path: PathBuf,
    exclude: Vec<String>,
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Option<String>,
    hash: bool,
) -> PyResult<Vec<String>> {
    let set = selection(
        exclude,
        no_default_excludes,
        follow_external_links,
        revision,
    );
    py.detach(|| reports::inspect::inspect(&path, &set, hash)?.json_lines())
        .map_err(|f| failed(py, f))
}

/// `hash --json`: the line of `path`.
#[pyfunction]
#[pyo3(signature = (path, exclude, no_default_excludes, follow_external_links, revision, b3sum, no_mmap))]
#[allow(clippy::too_many_arguments)] // the command's flags, one argument each
fn hash(
    py: Python<'_>,
    path: PathBuf,
    exclude: Vec<String>,
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Option<String>,
    b3sum: bool,
    no_mmap: bool,
) -> PyResult<String> {
    let set = selection(
        exclude,
        no_default_excludes,
        follow_external_links,
        revision,
    );
    let options = digest::Options {
        whole_file: b3sum,
        read: if no_mmap {
            digest::ReadMode::Buffered
        } else {
            digest::ReadMode::Auto
        },
    };
    let report = py
        .detach(|| reports::hash::hash(&path, &set, &options, &|_| {}))
        .map_err(|f| failed(py, f))?;
    reports::hash::json_line(&report).map_err(|e| serialisation(py, e))
}

/// `estimate --json`: one line per model of `path`.
#[pyfunction]
#[pyo3(signature = (path, exclude, no_default_excludes, follow_external_links, revision, training_record, tokens, accelerators, disagreement_factor, policy))]
#[allow(clippy::too_many_arguments)] // the command's flags, one argument each
fn estimate(
    py: Python<'_>,
    path: PathBuf,
    exclude: Vec<String>,
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Option<String>,
    training_record: Option<PathBuf>,
    tokens: Option<Count>,
    accelerators: Option<PathBuf>,
    disagreement_factor: f64,
    policy: String,
) -> PyResult<Vec<String>> {
    let set = selection(
        exclude,
        no_default_excludes,
        follow_external_links,
        revision,
    );
    let training = training(
        py,
        training_record,
        tokens,
        accelerators,
        disagreement_factor,
    )?;
    let models = py
        .detach(|| reports::estimate::estimate(&path, &set, &training, &policy))
        .map_err(|f| failed(py, f))?;
    reports::estimate::json_lines(&models).map_err(|e| serialisation(py, e))
}

/// `classify --json`: the line of the set.
#[pyfunction]
#[pyo3(signature = (path, exclude, no_default_excludes, follow_external_links, revision, training_record, tokens, accelerators, disagreement_factor, policy, as_of))]
#[allow(clippy::too_many_arguments)] // the command's flags, one argument each
fn classify(
    py: Python<'_>,
    path: PathBuf,
    exclude: Vec<String>,
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Option<String>,
    training_record: Option<PathBuf>,
    tokens: Option<Count>,
    accelerators: Option<PathBuf>,
    disagreement_factor: f64,
    policy: String,
    as_of: Option<String>,
) -> PyResult<String> {
    let set = selection(
        exclude,
        no_default_excludes,
        follow_external_links,
        revision,
    );
    let training = training(
        py,
        training_record,
        tokens,
        accelerators,
        disagreement_factor,
    )?;
    let as_of = date(py, as_of)?;
    let classified = py
        .detach(|| reports::classify::classify(&path, &set, &training, &policy, as_of))
        .map_err(|f| failed(py, f))?;
    classified.json_line().map_err(|e| serialisation(py, e))
}

/// `gate --json`: the line of the transfer.
#[pyfunction]
#[pyo3(signature = (path, exclude, no_default_excludes, follow_external_links, revision, training_record, tokens, accelerators, disagreement_factor, policy, as_of, destination, holder_hq, licenses))]
#[allow(clippy::too_many_arguments)] // the command's flags, one argument each
fn gate(
    py: Python<'_>,
    path: PathBuf,
    exclude: Vec<String>,
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Option<String>,
    training_record: Option<PathBuf>,
    tokens: Option<Count>,
    accelerators: Option<PathBuf>,
    disagreement_factor: f64,
    policy: String,
    as_of: Option<String>,
    destination: String,
    holder_hq: Option<String>,
    licenses: Option<PathBuf>,
) -> PyResult<String> {
    let set = selection(
        exclude,
        no_default_excludes,
        follow_external_links,
        revision,
    );
    let training = training(
        py,
        training_record,
        tokens,
        accelerators,
        disagreement_factor,
    )?;
    let as_of = date(py, as_of)?;
    let destination = country(py, "destination", &destination)?;
    let holder_hq = holder_hq
        .map(|h| country(py, "holder_hq", &h))
        .transpose()?;
    let decided = py
        .detach(|| {
            reports::gate::decide(&reports::gate::Request {
                path: &path,
                destination: &destination,
                holder_hq: holder_hq.as_deref(),
                licenses: licenses.as_deref(),
                training: &training,
                set: &set,
                policy: &policy,
                as_of,
            })
        })
        .map_err(|f| failed(py, f))?;
    decided.json_line().map_err(|e| serialisation(py, e))
}

/// The `weightguard` console command: runs the CLI in this process with `argv` (the command's
/// own name first) and returns its exit status. The CLI installs its signal handlers (Ctrl-C
/// removes every temporary and exits 130), as the binary does.
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    py.detach(|| weightguard::cli::run_from(&argv))
}

/// The policy the functions decide by unless `policy=` names another.
const DEFAULT_POLICY: &str = weightguard::policy::DEFAULT_POLICY;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(hash, m)?)?;
    m.add_function(wrap_pyfunction!(estimate, m)?)?;
    m.add_function(wrap_pyfunction!(classify, m)?)?;
    m.add_function(wrap_pyfunction!(gate, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    m.add("DEFAULT_POLICY", DEFAULT_POLICY)?;
    m.add(
        "DEFAULT_DISAGREEMENT_FACTOR",
        reports::inputs::DEFAULT_DISAGREEMENT_FACTOR,
    )?;
    m.add("SCHEMA_VERSION", weightguard::schema::SCHEMA_VERSION)?;
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
