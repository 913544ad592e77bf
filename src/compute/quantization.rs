//! Logical parameters of packed quantized weights.
//!
//! Quantizers pack several low-bit values into each stored element: GPTQ and AWQ put 32/bits
//! values in an I32, bitsandbytes NF4 and MXFP4 put two 4-bit values in a U8, compressed-tensors
//! packs into I32. A weight file of a model quantized from 405 B parameters must still count as
//! 405 B, so each packed tensor is scaled by storage bits / value bits. The value width comes from
//! `quantization_config` when present; otherwise 4 bits is assumed, and the estimate says so.

use crate::artifact::ModelConfig;
use serde::Serialize;
use serde_json::Value;

/// How the weights were quantized, as far as the config says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuantScheme {
    /// `quant_method` (gptq, awq, bitsandbytes, fp8, mxfp4, compressed-tensors…), or `unknown`.
    pub method: String,
    /// Bits per packed value.
    pub bits: u64,
    /// Where `bits` came from (a config field, or the assumption).
    pub bits_source: String,
}

/// The scheme from `config.quantization_config` (or MLX's `quantization`), if any.
pub fn scheme(config: Option<&ModelConfig>) -> Option<QuantScheme> {
    let raw = &config?.raw;
    let (q, prefix) = match (raw.get("quantization_config"), raw.get("quantization")) {
        (Some(q), _) if q.is_object() => (q, "quantization_config"),
        (_, Some(q)) if q.is_object() => (q, "quantization"),
        _ => return None,
    };
    let method = q
        .get("quant_method")
        .and_then(Value::as_str)
        .unwrap_or(if prefix == "quantization" {
            "mlx"
        } else {
            "unknown"
        })
        .to_owned();
    let field = |path: &[&str]| -> Option<u64> {
        let mut v = q;
        for p in path {
            v = v.get(p)?;
        }
        v.as_u64()
    };
    let found = |bits: u64, key: &str| {
        Some(QuantScheme {
            method: method.clone(),
            bits,
            bits_source: format!("{prefix}.{key}"),
        })
    };
    if let Some(b) = field(&["bits"]) {
        return found(b, "bits");
    }
    if q.get("load_in_4bit").and_then(Value::as_bool) == Some(true) {
        return found(4, "load_in_4bit");
    }
    if q.get("load_in_8bit").and_then(Value::as_bool) == Some(true) {
        return found(8, "load_in_8bit");
    }
    if let Some(groups) = q.get("config_groups").and_then(Value::as_object) {
        for (name, g) in groups {
            if let Some(b) = g
                .get("weights")
                .and_then(|w| w.get("num_bits"))
                .and_then(Value::as_u64)
            {
                return found(b, &format!("config_groups.{name}.weights.num_bits"));
            }
        }
    }
    let by_method = match method.as_str() {
        "mxfp4" | "nvfp4" => Some(4),
        "fp8" | "fbgemm_fp8" => Some(8),
        _ => None,
    };
    Some(QuantScheme {
        bits: by_method.unwrap_or(4),
        bits_source: match by_method {
            Some(_) => format!("{prefix}.quant_method={method}"),
            None => "assumed 4 bits: the config does not say".to_owned(),
        },
        method,
    })
}

/// Logical values stored in a packed tensor of `elements` elements of `storage_bits` each.
pub fn logical_elements(elements: u64, storage_bits: u64, scheme: Option<&QuantScheme>) -> u64 {
    let bits = scheme.map_or(4, |s| s.bits).clamp(1, storage_bits.max(1));
    let factor = (storage_bits / bits).max(1);
    elements.saturating_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(json: &str) -> ModelConfig {
        ModelConfig::parse(Path::new("config.json"), json.as_bytes()).unwrap()
    }

    #[test]
    fn schemes_from_the_common_configs() {
        let gptq =
            config(r#"{"quantization_config":{"quant_method":"gptq","bits":4,"group_size":128}}"#);
        let s = scheme(Some(&gptq)).unwrap();
        assert_eq!((s.method.as_str(), s.bits), ("gptq", 4));
        assert_eq!(logical_elements(100, 32, Some(&s)), 800);

        let bnb = config(
            r#"{"quantization_config":{"quant_method":"bitsandbytes","load_in_4bit":true}}"#,
        );
        assert_eq!(logical_elements(100, 8, scheme(Some(&bnb)).as_ref()), 200);

        let ct = config(
            r#"{"quantization_config":{"quant_method":"compressed-tensors","config_groups":{"group_0":{"weights":{"num_bits":4}}}}}"#,
        );
        assert_eq!(scheme(Some(&ct)).unwrap().bits, 4);

        let mx = config(r#"{"quantization_config":{"quant_method":"mxfp4"}}"#);
        assert_eq!(logical_elements(10, 8, scheme(Some(&mx)).as_ref()), 20);

        let int8 = config(
            r#"{"quantization_config":{"quant_method":"bitsandbytes","load_in_8bit":true}}"#,
        );
        assert_eq!(logical_elements(10, 8, scheme(Some(&int8)).as_ref()), 10);

        assert_eq!(scheme(Some(&config("{}"))), None);
        assert_eq!(logical_elements(10, 32, None), 80);
    }
}
