//! Parameters from `config.json` alone: total and active per token, with the fields used.
//!
//! The formulas follow the Hugging Face implementation of each family, tensor by tensor, so the
//! count is exact for a checkpoint of that architecture (the tests hold it within 1% of each
//! developer's published figure). Used when only a config is at hand, and to cross-check the
//! count from tensors.

use crate::artifact::ModelConfig;
use serde::Serialize;
use serde_json::Value;

/// Parameters counted from a config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigCount {
    pub total: u64,
    /// Parameters used per token (routed experts not selected are left out).
    pub active: u64,
    /// Input token (and learned position) embeddings, for the non-embedding convention.
    pub embedding: u64,
    /// Which formula was applied.
    pub formula: &'static str,
    /// The config fields read, as `key=value`.
    pub fields: Vec<String>,
    /// Defaults assumed where the config was silent.
    pub assumptions: Vec<String>,
}

/// Why a config could not be counted.
pub type ConfigCountError = String;

/// Counts parameters from `config`.
pub fn count(config: &ModelConfig) -> Result<ConfigCount, ConfigCountError> {
    let mut c = Cfg::new(&config.raw);
    let model_type = c.string("model_type").unwrap_or_default();
    let result = match model_type.as_str() {
        "gpt2" => gpt2(&mut c),
        "falcon" | "RefinedWeb" | "RefinedWebModel" => falcon(&mut c),
        "dbrx" => dbrx(&mut c),
        "deepseek_v2" | "deepseek_v3" | "kimi_k2" => decoder(&mut c, &model_type, true),
        _ => decoder(&mut c, &model_type, false),
    }?;
    let (total, active, embedding, formula) = result;
    Ok(ConfigCount {
        total,
        active,
        embedding,
        formula,
        fields: c.used,
        assumptions: c.assumed,
    })
}

type Counted = (u64, u64, u64, &'static str);

/// Reads config fields, preferring a nested `text_config`, and remembers which were used.
struct Cfg<'a> {
    top: &'a Value,
    text: Option<&'a Value>,
    used: Vec<String>,
    assumed: Vec<String>,
}

impl<'a> Cfg<'a> {
    fn new(raw: &'a Value) -> Self {
        Cfg {
            top: raw,
            text: raw.get("text_config").filter(|t| t.is_object()),
            used: Vec::new(),
            assumed: Vec::new(),
        }
    }

    /// The value at a dotted path, in `text_config` first, then at the top level.
    fn lookup(&self, key: &str) -> Option<(String, &'a Value)> {
        let scopes = [(self.text, "text_config."), (Some(self.top), "")];
        for (scope, prefix) in scopes {
            let Some(mut v) = scope else { continue };
            let mut found = true;
            for part in key.split('.') {
                match v.get(part) {
                    Some(next) => v = next,
                    None => {
                        found = false;
                        break;
                    }
                }
            }
            if found && !v.is_null() {
                return Some((format!("{prefix}{key}"), v));
            }
        }
        None
    }

    fn u64(&mut self, keys: &[&str]) -> Result<Option<u64>, String> {
        for key in keys {
            if let Some((name, v)) = self.lookup(key) {
                let Some(n) = v.as_u64() else {
                    return Err(format!(
                        "`{name}` should be a non-negative integer, found {v}"
                    ));
                };
                self.used.push(format!("{name}={n}"));
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    fn need(&mut self, keys: &[&str]) -> Result<u64, String> {
        self.u64(keys)?
            .ok_or_else(|| format!("config.json has none of {}", keys.join(", ")))
    }

    fn or(&mut self, keys: &[&str], default: u64, why: &str) -> Result<u64, String> {
        match self.u64(keys)? {
            Some(v) => Ok(v),
            None => {
                self.assumed
                    .push(format!("{} = {default} ({why})", keys[0]));
                Ok(default)
            }
        }
    }

    fn bool(&mut self, key: &str) -> Option<bool> {
        let (name, v) = self.lookup(key)?;
        let b = v.as_bool()?;
        self.used.push(format!("{name}={b}"));
        Some(b)
    }

    fn string(&mut self, key: &str) -> Option<String> {
        let (name, v) = self.lookup(key)?;
        let s = v.as_str()?.to_owned();
        self.used.push(format!("{name}={s}"));
        Some(s)
    }

    fn u64_list(&mut self, key: &str) -> Vec<u64> {
        match self.lookup(key) {
            Some((name, Value::Array(items))) => {
                let list: Vec<u64> = items.iter().filter_map(Value::as_u64).collect();
                self.used.push(format!("{name}={list:?}"));
                list
            }
            _ => Vec::new(),
        }
    }

    /// Whether the output head shares the input embedding. Families disagree on the default.
    fn tied(&mut self, model_type: &str) -> bool {
        if let Some(t) = self.bool("tie_word_embeddings") {
            return t;
        }
        let default = matches!(
            model_type,
            "gemma" | "gemma2" | "gemma3" | "gemma3_text" | "falcon" | "gpt2" | "bloom" | "opt"
        );
        self.assumed.push(format!(
            "tie_word_embeddings = {default} (the {model_type} default)"
        ));
        default
    }
}

/// Checked arithmetic on config-declared sizes: a hostile config must not wrap around.
fn mul(xs: &[u64]) -> Result<u64, String> {
    xs.iter()
        .try_fold(1u64, |a, &x| a.checked_mul(x))
        .ok_or_else(|| "config sizes overflow a 64-bit parameter count".to_owned())
}

fn add(xs: &[u64]) -> Result<u64, String> {
    xs.iter()
        .try_fold(0u64, |a, &x| a.checked_add(x))
        .ok_or_else(|| "config sizes overflow a 64-bit parameter count".to_owned())
}

const LAYERS: &[&str] = &["num_hidden_layers", "n_layer", "num_layers", "n_layers"];
const HIDDEN: &[&str] = &["hidden_size", "n_embd", "d_model"];
const HEADS: &[&str] = &["num_attention_heads", "n_head", "n_heads"];
const VOCAB: &[&str] = &["vocab_size", "padded_vocab_size"];

/// Decoder-only transformers in the Llama lineage: Llama 2/3/4, Mistral, Mixtral, Qwen2/2.5/3
/// (dense and MoE), Gemma 1/2/3, DeepSeek-V2/V3 (multi-head latent attention), Phi-3, OLMo…
fn decoder(c: &mut Cfg, model_type: &str, mla: bool) -> Result<Counted, String> {
    let h = c.need(HIDDEN)?;
    let layers = c.need(LAYERS)?;
    let heads = c.need(HEADS)?;
    let vocab = c.need(VOCAB)?;
    let kv = c.or(
        &["num_key_value_heads", "num_kv_heads"],
        heads,
        "no GQA field: one KV head per query head",
    )?;
    let head_dim = match c.u64(&["head_dim"])? {
        Some(d) => d,
        None => h / heads.max(1),
    };
    let qwen = model_type.starts_with("qwen2");
    let attention_bias = c.bool("attention_bias").unwrap_or(false);
    let qkv_bias = qwen || attention_bias;
    let qk_norm = matches!(model_type, "qwen3" | "qwen3_moe" | "gemma3" | "gemma3_text");
    let norms_per_layer = if model_type.starts_with("gemma2") || model_type.starts_with("gemma3") {
        4
    } else {
        2
    };

    // Attention
    let attention = if mla {
        let q_lora = c.u64(&["q_lora_rank"])?;
        let kv_lora = c.need(&["kv_lora_rank"])?;
        let nope = c.need(&["qk_nope_head_dim"])?;
        let rope = c.need(&["qk_rope_head_dim"])?;
        let v = c.need(&["v_head_dim"])?;
        let q = match q_lora {
            // DeepSeek-V2-Lite projects queries directly.
            None => mul(&[h, heads, nope + rope])?,
            Some(r) => add(&[mul(&[h, r])?, r, mul(&[r, heads, nope + rope])?])?,
        };
        add(&[
            q,
            mul(&[h, kv_lora + rope])?,
            kv_lora,
            mul(&[kv_lora, heads, nope + v])?,
            mul(&[heads, v, h])?,
        ])?
    } else {
        let q = mul(&[h, heads, head_dim])?;
        let k = mul(&[h, kv, head_dim])?;
        let o = mul(&[heads, head_dim, h])?;
        let mut a = add(&[q, k, k, o])?;
        if qkv_bias {
            a = add(&[a, mul(&[heads, head_dim])?, mul(&[2, kv, head_dim])?])?;
        }
        if attention_bias {
            a = add(&[a, h])?;
        }
        if qk_norm {
            a = add(&[a, 2 * head_dim])?;
        }
        a
    };
    let norms = mul(&[norms_per_layer, h])?;

    // MLP: gated (gate, up, down) everywhere in this lineage.
    let mlp_bias = c.bool("mlp_bias").unwrap_or(false);
    let gated = |width: u64| -> Result<u64, String> {
        let w = mul(&[3, h, width])?;
        if mlp_bias {
            add(&[w, mul(&[2, width])?, h])
        } else {
            Ok(w)
        }
    };
    let experts = c.u64(&["num_local_experts", "n_routed_experts", "num_experts"])?;
    let dense_width = match model_type {
        "llama4" | "llama4_text" => c.u64(&["intermediate_size_mlp"])?,
        _ => None,
    };
    let dense_width = match dense_width {
        Some(w) => w,
        None => c.need(&["intermediate_size"])?,
    };
    let dense_layer = add(&[attention, norms, gated(dense_width)?])?;

    let (mut total, mut active) = (0u64, 0u64);
    match experts.filter(|&e| e > 0) {
        None => {
            total = mul(&[layers, dense_layer])?;
            active = total;
        }
        Some(e) => {
            let k = c.need(&["num_experts_per_tok", "moe_topk", "num_experts_per_token"])?;
            if k > e {
                return Err(format!(
                    "{k} experts per token but only {e} experts: the config contradicts itself"
                ));
            }
            let width = match c.u64(&["moe_intermediate_size"])? {
                Some(w) => w,
                None => dense_width_for_experts(c, model_type)?,
            };
            let expert = gated(width)?;
            let mut shared = 0u64;
            if let Some(n) = c.u64(&["n_shared_experts"])? {
                shared = add(&[shared, mul(&[n, expert])?])?;
            }
            if let Some(w) = c.u64(&["shared_expert_intermediate_size"])?
                && w > 0
            {
                // Qwen-MoE: one shared expert and a sigmoid gate on it.
                shared = add(&[shared, gated(w)?, h])?;
            }
            if model_type.starts_with("llama4") {
                shared = add(&[shared, gated(c.need(&["intermediate_size"])?)?])?;
            }
            let mut router = mul(&[e, h])?;
            if model_type == "deepseek_v3" || model_type == "kimi_k2" {
                router = add(&[router, e])?; // e_score_correction_bias
            }
            let moe_layer = add(&[attention, norms, router, shared, mul(&[e, expert])?])?;
            let idle = mul(&[e - k, expert])?;
            let is_moe = moe_layer_rule(c, model_type, layers)?;
            for layer in 0..layers {
                if is_moe(layer) {
                    total = add(&[total, moe_layer])?;
                    active = add(&[active, moe_layer - idle])?;
                } else {
                    total = add(&[total, dense_layer])?;
                    active = add(&[active, dense_layer])?;
                }
            }
        }
    }

    let embedding = mul(&[vocab, h])?;
    let head = if c.tied(model_type) { 0 } else { embedding };
    let rest = add(&[embedding, head, h])?; // embeddings, output head, final norm
    let formula = match (mla, experts.is_some_and(|e| e > 0)) {
        (true, _) => "decoder with multi-head latent attention and routed experts",
        (false, true) => "decoder with routed experts",
        (false, false) => "dense decoder",
    };
    Ok((
        add(&[total, rest])?,
        add(&[active, rest])?,
        embedding,
        formula,
    ))
}

/// Expert width where the config has no `moe_intermediate_size` (Mixtral, Llama 4 use
/// `intermediate_size`).
fn dense_width_for_experts(c: &mut Cfg, _model_type: &str) -> Result<u64, String> {
    c.need(&["intermediate_size"])
}

/// Which layers carry experts, per family.
fn moe_layer_rule(
    c: &mut Cfg,
    model_type: &str,
    layers: u64,
) -> Result<Box<dyn Fn(u64) -> bool>, String> {
    Ok(match model_type {
        "deepseek_v2" | "deepseek_v3" | "kimi_k2" => {
            let first_dense = c.u64(&["first_k_dense_replace"])?.unwrap_or(0);
            let freq = c.u64(&["moe_layer_freq"])?.unwrap_or(1).max(1);
            Box::new(move |l| l >= first_dense && l % freq == 0)
        }
        "qwen2_moe" | "qwen3_moe" => {
            let step = c.u64(&["decoder_sparse_step"])?.unwrap_or(1).max(1);
            let dense_only = c.u64_list("mlp_only_layers");
            Box::new(move |l| !dense_only.contains(&l) && (l + 1) % step == 0)
        }
        "llama4" | "llama4_text" => {
            let step = c.u64(&["interleave_moe_layer_step"])?.unwrap_or(1).max(1);
            Box::new(move |l| (l + 1) % step == 0 && l < layers)
        }
        _ => Box::new(|_| true),
    })
}

/// GPT-2 and GPT-3: learned positions, LayerNorm with biases, a 4h MLP with biases, tied head.
fn gpt2(c: &mut Cfg) -> Result<Counted, String> {
    let h = c.need(HIDDEN)?;
    let layers = c.need(LAYERS)?;
    let vocab = c.need(VOCAB)?;
    let positions = c.or(&["n_positions", "n_ctx"], 1024, "the GPT-2 default")?;
    let inner = c.or(&["n_inner"], 4 * h, "4 × hidden, the GPT-2 default")?;
    let layer = add(&[
        mul(&[h, 3 * h])?,
        3 * h,
        mul(&[h, h])?,
        h,
        mul(&[h, inner])?,
        inner,
        mul(&[inner, h])?,
        h,
        4 * h,
    ])?;
    let embedding = add(&[mul(&[vocab, h])?, mul(&[positions, h])?])?;
    let total = add(&[mul(&[layers, layer])?, embedding, 2 * h])?;
    Ok((total, total, embedding, "GPT-2/GPT-3 decoder"))
}

/// Falcon: multi-query or grouped attention over a fused QKV, a 4h MLP, no biases by default.
fn falcon(c: &mut Cfg) -> Result<Counted, String> {
    let h = c.need(HIDDEN)?;
    let layers = c.need(LAYERS)?;
    let heads = c.need(HEADS)?;
    let vocab = c.need(VOCAB)?;
    let head_dim = h / heads.max(1);
    let new_arch = c.bool("new_decoder_architecture").unwrap_or(false);
    let multi_query = c.bool("multi_query").unwrap_or(true);
    let kv = if new_arch {
        c.need(&["num_kv_heads", "n_head_kv"])?
    } else if multi_query {
        1
    } else {
        heads
    };
    let bias = c.bool("bias").unwrap_or(false);
    let ffn = c.or(
        &["ffn_hidden_size"],
        4 * h,
        "4 × hidden, the Falcon default",
    )?;
    let qkv_out = mul(&[heads + 2 * kv, head_dim])?;
    let mut layer = add(&[mul(&[h, qkv_out])?, mul(&[h, h])?, mul(&[2, h, ffn])?])?;
    if bias {
        layer = add(&[layer, qkv_out, h, ffn, h])?;
    }
    // LayerNorm weight and bias: one before the parallel block, or one each (ln_attn, ln_mlp).
    let norms = if new_arch { 4 * h } else { 2 * h };
    layer = add(&[layer, norms])?;
    let embedding = mul(&[vocab, h])?;
    let head = if c.tied("falcon") { 0 } else { embedding };
    let total = add(&[mul(&[layers, layer])?, embedding, head, 2 * h])?;
    Ok((total, total, embedding, "Falcon decoder"))
}

/// DBRX: fused QKV with GQA, 16 gated experts (4 per token), LayerNorm without bias.
fn dbrx(c: &mut Cfg) -> Result<Counted, String> {
    let h = c.need(&["d_model"])?;
    let layers = c.need(&["n_layers"])?;
    let heads = c.need(&["n_heads"])?;
    let vocab = c.need(&["vocab_size"])?;
    let kv = c.need(&["attn_config.kv_n_heads"])?;
    let ffn = c.need(&["ffn_config.ffn_hidden_size"])?;
    let e = c.need(&["ffn_config.moe_num_experts"])?;
    let k = c.need(&["ffn_config.moe_top_k"])?;
    if k > e {
        return Err(format!("moe_top_k {k} exceeds moe_num_experts {e}"));
    }
    let head_dim = h / heads.max(1);
    let attention = add(&[mul(&[h, heads + 2 * kv, head_dim])?, mul(&[h, h])?])?;
    let expert = mul(&[3, h, ffn])?;
    let layer = add(&[attention, 2 * h, mul(&[e, h])?, mul(&[e, expert])?])?;
    let idle = mul(&[e - k, expert])?;
    let embedding = mul(&[vocab, h])?;
    let head = if c.tied("dbrx") { 0 } else { embedding };
    let rest = add(&[embedding, head, h])?;
    let total = add(&[mul(&[layers, layer])?, rest])?;
    let active = add(&[mul(&[layers, layer - idle])?, rest])?;
    Ok((total, active, embedding, "DBRX decoder with routed experts"))
}
