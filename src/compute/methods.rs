//! The two ways to estimate training operations, each returning low / point / high with the
//! inputs it used.
//!
//! **Operation counting**: C = 6·N·D (2N forward + 4N backward per token; N active parameters for
//! a mixture of experts). With N counted from the weights and D declared, the range reflects only
//! the approximation: the low end counts N without the input embedding (the Kaplan et al.
//! convention: an embedding lookup is not a matrix multiply), the high end adds the attention
//! score and value products that 6·N·D leaves out, 12·L·S·d_attn per token (forward and
//! backward) for sequence length S. For Llama 3.1 405B at S = 8192 the range is about −0.5% to
//! +8%.
//!
//! **Hardware time**: C = accelerator-hours × 3600 × peak FLOP/s × utilization. Utilization is
//! rarely known well: undeclared, 0.3 (Epoch AI's default for language models) within 0.2–0.5;
//! declared as a single value, ±10% around it; declared as a range, that range.

use super::accelerators::AcceleratorTable;
use super::record::{Hardware, Stage};
use serde::Serialize;
use std::collections::BTreeMap;

/// Operations as low / point / high. `high` is infinite when an input is unbounded (serialised
/// as `null`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    pub low: f64,
    #[serde(rename = "estimate")]
    pub point: f64,
    pub high: f64,
}

impl Range {
    pub fn exact(v: f64) -> Range {
        Range {
            low: v,
            point: v,
            high: v,
        }
    }

    pub fn zero() -> Range {
        Range::exact(0.0)
    }

    // A named method rather than `impl Add`: ranges add end by end, which `+` would hide.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, other: Range) -> Range {
        Range {
            low: self.low + other.low,
            point: self.point + other.point,
            high: self.high + other.high,
        }
    }
}

/// One method applied to one stage: its name, the inputs it used, and its result.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    pub name: &'static str,
    pub stage: String,
    pub inputs: BTreeMap<String, String>,
    pub result: Range,
    pub note: String,
}

/// What the model contributes to operation counting.
#[derive(Debug, Clone, Copy)]
pub struct ModelShape {
    /// Parameters used per token.
    pub active: u64,
    /// Input embedding parameters.
    pub embedding: u64,
    /// Layers and attention width (heads × head dim), for the attention term; `None` if unknown.
    pub layers: Option<u64>,
    pub attention_width: Option<u64>,
}

/// Sequence length assumed when a stage does not declare one.
pub const DEFAULT_SEQUENCE_LENGTH: u64 = 8192;

/// 6·N·D for one stage's tokens.
pub fn operation_counting(stage: &Stage, tokens: f64, model: &ModelShape) -> Method {
    let n = model.active as f64;
    let point = 6.0 * n * tokens;
    let low = 6.0 * (model.active.saturating_sub(model.embedding)) as f64 * tokens;
    let (seq, seq_note) = match stage.sequence_length {
        Some(s) => (s, "declared"),
        None => (DEFAULT_SEQUENCE_LENGTH, "assumed"),
    };
    let mut inputs = BTreeMap::from([
        ("N (active parameters)".to_owned(), format!("{n:.4e}")),
        ("D (tokens)".to_owned(), format!("{tokens:.4e}")),
    ]);
    let high = match (model.layers, model.attention_width) {
        (Some(l), Some(w)) => {
            inputs.insert(
                "attention term 12·L·S·d_attn".to_owned(),
                format!("L={l}, S={seq} ({seq_note}), d_attn={w}"),
            );
            point + 12.0 * l as f64 * seq as f64 * w as f64 * tokens
        }
        _ => {
            inputs.insert(
                "attention term".to_owned(),
                "architecture unknown: +10% allowed instead".to_owned(),
            );
            point * 1.1
        }
    };
    Method {
        name: "operation_counting",
        stage: stage.name.clone(),
        inputs,
        result: Range { low, point, high },
        note: "6·N·D; low excludes the input embedding, high adds attention products".into(),
    }
}

/// Accelerator-hours × peak × utilization for one stage.
pub fn hardware_time(
    stage: &Stage,
    hw: &Hardware,
    table: &AcceleratorTable,
) -> Result<Method, String> {
    let field = format!("stage `{}`: hardware.accelerator", stage.name);
    let Some(acc) = table.find(&hw.accelerator) else {
        return Err(format!(
            "{field}: `{}` is not in the accelerator table (known: {})",
            hw.accelerator,
            table.names().join(", ")
        ));
    };
    let precision = hw
        .precision
        .as_deref()
        .unwrap_or("bf16")
        .to_ascii_lowercase();
    let Some(tflops) = acc.tflops.get(&precision) else {
        return Err(format!(
            "stage `{}`: hardware.precision: {} has no `{precision}` figure in the table (has: {})",
            stage.name,
            acc.name,
            acc.tflops.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    };
    let (low_u, point_u, high_u, u_note) =
        match (hw.utilization_low, hw.utilization, hw.utilization_high) {
            (Some(lo), p, Some(hi)) => (lo, p.unwrap_or((lo + hi) / 2.0), hi, "declared range"),
            (lo, Some(p), hi) => (
                lo.unwrap_or(p * 0.9),
                p,
                hi.unwrap_or((p * 1.1).min(1.0)),
                "declared, ±10%",
            ),
            (lo, None, hi) => (
                lo.unwrap_or(0.2),
                0.3,
                hi.unwrap_or(0.5),
                "not declared: 0.3 (Epoch AI default), range 0.2–0.5",
            ),
        };
    let peak = tflops * 1e12;
    let seconds = hw.hours * 3600.0;
    Ok(Method {
        name: "hardware_time",
        stage: stage.name.clone(),
        inputs: BTreeMap::from([
            ("accelerator".into(), acc.name.clone()),
            ("accelerator-hours".into(), format!("{:.4e}", hw.hours)),
            (
                format!("peak {precision}"),
                format!("{tflops} TFLOP/s ({})", acc.source),
            ),
            (
                "utilization".into(),
                format!("{point_u} [{low_u}–{high_u}] ({u_note})"),
            ),
        ]),
        result: Range {
            low: seconds * peak * low_u,
            point: seconds * peak * point_u,
            high: seconds * peak * high_u,
        },
        note: "accelerator-hours × 3600 × peak dense FLOP/s × utilization".into(),
    })
}
