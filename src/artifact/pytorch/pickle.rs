//! A symbolic pickle machine: it reads a pickle's opcodes and builds inert values, never calling,
//! importing or evaluating anything.
//!
//! A state dict needs a handful of globals (tensor rebuilders, storage types, `OrderedDict`).
//! Those are interpreted symbolically: a call of `torch._utils._rebuild_tensor_v2` becomes a
//! [`TensorRef`]; everything else a pickle names (`os.system`, `builtins.getattr`,
//! `torch.utils.collect_env.run`…) is recorded as a [`Finding`] with the opcode's offset, and the
//! machine carries on with an opaque value so that every such global in the file is reported, not
//! just the first. An allow-list, not a deny-list: whatever is not known to be needed is flagged.
//!
//! Every cost is capped (input size, stack, memo, container nesting, integer width); values are
//! reference-counted so a memo `GET` repeated a million times costs a pointer copy, not a copy of
//! the structure.

use crate::artifact::limits::*;
use std::collections::HashMap;
use std::rc::Rc;

mod ops;

/// Globals a state dict may name but never call: torch's dtypes and quantization schemes,
/// beside the storage and tensor classes matched by [`storage_dtype`] and [`is_tensor_class`].
const ALLOWED_NAMES: &[&str] = &[
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
    "torch.per_tensor_affine",
    "torch.per_tensor_symmetric",
    "torch.per_channel_affine",
    "torch.per_channel_symmetric",
    "torch.per_channel_affine_float_qparams",
];

/// torch's dtypes by their `str()` (how a pickle names them), for `torch.<name>`.
const DTYPES: &[&str] = &[
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "complex32",
    "complex64",
    "complex128",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
    "qint8",
    "quint8",
    "qint32",
    "quint4x2",
    "quint2x4",
    "float8_e5m2",
    "float8_e4m3fn",
    "float8_e5m2fnuz",
    "float8_e4m3fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn_x2",
    "uint16",
    "uint32",
    "uint64",
    "uint1",
    "uint2",
    "uint3",
    "uint4",
    "uint5",
    "uint6",
    "uint7",
    "int1",
    "int2",
    "int3",
    "int4",
    "int5",
    "int6",
    "int7",
    "bits8",
    "bits16",
    "bits1x8",
    "bits2x4",
    "bits4x2",
];

/// Callables torch's weights-only unpickler calls (REDUCE, NEWOBJ), interpreted symbolically
/// here: tensor rebuilders become [`TensorRef`]s, dict constructors dicts, and the rest (sets,
/// bytes, devices, layouts) inert values.
const ALLOWED_CALLS: &[&str] = &[
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._tensor._rebuild_from_type_v2",
    "torch.nn.parameter.Parameter",
    "torch.Tensor",
    "torch.Size",
    "torch.device",
    "torch.serialization._get_layout",
    "collections.OrderedDict",
    "collections.Counter",
    "_codecs.encode",
    "builtins.set",
    "builtins.bytearray",
    "builtins.complex",
];

/// Element type of a tensor class's name stem (`Float` for `torch.FloatTensor`).
const TENSOR_STEMS: &[&str] = &[
    "Float",
    "Double",
    "Half",
    "BFloat16",
    "Byte",
    "Char",
    "Short",
    "Int",
    "Long",
    "Bool",
    "ComplexFloat",
    "ComplexDouble",
];

/// `torch.FloatTensor`, `torch.cuda.HalfTensor`, `torch.sparse.LongTensor`…: legacy tensor
/// classes, which torch's weights-only unpickler allows.
fn is_tensor_class(g: &str) -> bool {
    let Some(rest) = g.strip_prefix("torch.") else {
        return false;
    };
    let rest = rest
        .strip_prefix("cuda.sparse.")
        .or_else(|| rest.strip_prefix("cuda."))
        .or_else(|| rest.strip_prefix("sparse."))
        .unwrap_or(rest);
    rest.strip_suffix("Tensor")
        .is_some_and(|stem| TENSOR_STEMS.contains(&stem))
}

/// The name a pickle gives, as Python 3 resolves it: Python 2 writers name `__builtin__` and
/// `copy_reg`.
pub fn canonical_global(module: &str, name: &str) -> String {
    let module = match module {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        m => m,
    };
    format!("{module}.{name}")
}

/// Element width in bytes and dtype name of torch's storage classes (`torch.<Name>Storage`,
/// `torch.cuda.<Name>Storage`; quantized storages hold their integer type).
pub fn storage_dtype(class: &str) -> Option<(crate::artifact::Dtype, u64)> {
    use crate::artifact::Dtype::*;
    let rest = class.strip_prefix("torch.")?;
    let rest = rest.strip_prefix("cuda.").unwrap_or(rest);
    let d = match rest {
        "FloatStorage" => F32,
        "DoubleStorage" => F64,
        "HalfStorage" => F16,
        "BFloat16Storage" => Bf16,
        "LongStorage" => I64,
        "IntStorage" | "QInt32Storage" => I32,
        "ShortStorage" => I16,
        "CharStorage" | "QInt8Storage" => I8,
        "ByteStorage"
        | "UntypedStorage"
        | "storage.UntypedStorage"
        | "QUInt8Storage"
        | "QUInt4x2Storage"
        | "QUInt2x4Storage" => U8,
        "BoolStorage" => Bool,
        "ComplexFloatStorage" => C64,
        "UInt16Storage" => U16,
        "UInt32Storage" => U32,
        "UInt64Storage" => U64,
        "Float8_e4m3fnStorage" => F8E4M3,
        "Float8_e5m2Storage" => F8E5M2,
        "Float8_e4m3fnuzStorage" => F8E4M3Fnuz,
        "Float8_e5m2fnuzStorage" => F8E5M2Fnuz,
        "Float8_e8m0fnuStorage" => F8E8M0,
        _ => return None,
    };
    Some((d, d.bits() / 8))
}

fn is_allowed_call(g: &str) -> bool {
    ALLOWED_CALLS.contains(&g) || is_tensor_class(g)
}

fn is_allowed_name(g: &str) -> bool {
    ALLOWED_NAMES.contains(&g)
        || is_allowed_call(g)
        || storage_dtype(g).is_some()
        || g.strip_prefix("torch.")
            .is_some_and(|d| DTYPES.contains(&d))
}

/// An inert value on the machine's stack. Containers live in the [`Arena`] and are referred to
/// by index: no value owns another, so cycles and deep nesting cost nothing to drop.
#[derive(Debug, Clone)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer wider than 64 bits (its value is not kept).
    BigInt,
    Float(f64),
    Str(Rc<str>),
    /// Bytes of this length (their content is not kept).
    Bytes(u64),
    Global(Rc<str>),
    Tuple(usize),
    List(usize),
    Dict(usize),
    /// A persistent id (arena index of a one-item sequence holding the id): in a checkpoint,
    /// `('storage', type, key, location, numel)`.
    PersId(usize),
    Tensor(Rc<TensorRef>),
    /// The result of anything not interpreted (a flagged call, an object).
    Opaque,
}

/// The containers a pickle built.
#[derive(Debug, Default)]
pub struct Arena {
    pub seqs: Vec<Vec<Value>>,
    pub maps: Vec<Vec<(Value, Value)>>,
}

/// A tensor as `_rebuild_tensor_v2` would build it: a view of a storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorRef {
    /// `torch.FloatStorage`…
    pub storage_type: String,
    pub key: String,
    pub location: String,
    /// Storage length in elements of its type.
    pub storage_numel: u64,
    /// View offset, in elements.
    pub offset: u64,
    pub size: Vec<u64>,
    pub stride: Vec<u64>,
}

/// A global outside the allow-list, or a call of something that is not an allowed callable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub offset: u64,
    pub opcode: &'static str,
    pub global: Option<String>,
    pub message: String,
}

/// What went wrong, where (offset in the pickle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleError {
    pub offset: u64,
    pub message: String,
    /// The pickle ran past the end of the bytes given (a reader may retry with more).
    pub truncated: bool,
}

/// The result of running one pickle.
#[derive(Debug)]
pub struct Outcome {
    pub root: Value,
    pub arena: Arena,
    pub findings: Vec<Finding>,
    /// Offset just past STOP (the next pickle of a legacy file starts there), or where the scan
    /// stopped on an error.
    pub end: usize,
    /// Why the scan stopped before a STOP: a malformed or truncated pickle, or a cap reached.
    /// Python's unpickler runs every call before the bad byte, so `findings` (made before it)
    /// stand, and a pickle that cannot be scanned to its end is unsafe in itself.
    pub error: Option<PickleError>,
}

type Res<T> = Result<T, PickleError>;

fn err<T>(offset: usize, message: impl Into<String>) -> Res<T> {
    Err(PickleError {
        offset: offset as u64,
        message: message.into(),
        truncated: false,
    })
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of the opcode being run.
    op_at: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    arena: Arena,
    findings: Vec<Finding>,
    findings_dropped: u64,
    /// Values held in containers; with the stack and memo caps, this bounds the memory held.
    held: usize,
}

/// Runs the pickle at the start of `data`, up to and including its STOP; an error (with the
/// findings made before it) is an `Err`.
pub fn run(data: &[u8]) -> Res<Outcome> {
    let o = scan(data);
    match o.error {
        Some(e) => Err(e),
        None => Ok(o),
    }
}

/// Runs the pickle at the start of `data` as far as it goes: up to and including its STOP, or
/// up to the first error, which [`Outcome::error`] then holds beside the findings made before it.
pub fn scan(data: &[u8]) -> Outcome {
    let _budget = super::budget::reserve(data.len());
    let mut m = Machine {
        data,
        pos: 0,
        op_at: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        arena: Arena::default(),
        findings: Vec::new(),
        findings_dropped: 0,
        held: 0,
    };
    let error = m.run_to_stop().err();
    if m.findings_dropped > 0 {
        let n = m.findings_dropped;
        m.findings.push(Finding {
            offset: m.op_at as u64,
            opcode: "STOP",
            global: None,
            message: format!("{n} more findings not listed"),
        });
    }
    let root = if error.is_none() {
        m.stack.pop().unwrap_or(Value::None)
    } else {
        Value::None
    };
    Outcome {
        root,
        arena: m.arena,
        findings: m.findings,
        end: m.pos,
        error,
    }
}

/// Whether `head`, the first bytes of a file, begins a pickle that Python's unpickler would
/// read (any protocol, with or without PROTO): the machine runs over it without an error other
/// than running out of bytes. Protocols 0 and 1 have no magic number; this is what tells them
/// from text that happens to start with an opcode's letter.
pub fn plausible_start(head: &[u8]) -> bool {
    // What Python's writers put first: PROTO, MARK, GLOBAL, an empty container, or a value.
    const FIRST: &[u8] = b"\x80(c}])NILFSVJKMGUTX";
    match head {
        // PROTO and an opcode after it (every opcode is at least `(`): a pickle, however it
        // goes on, since the unpickler runs whatever precedes a bad byte.
        [0x80, proto, rest @ ..] => *proto <= 5 && rest.first().is_none_or(|&op| op >= b'('),
        [first, ..] if FIRST.contains(first) => {
            let o = scan(head);
            match o.error {
                None => true,
                // A global outside the allow-list before the error is a payload, not text.
                Some(e) => (e.truncated && o.end > 0) || !o.findings.is_empty(),
            }
        }
        _ => false,
    }
}

impl Machine<'_> {
    fn run_to_stop(&mut self) -> Res<()> {
        loop {
            self.op_at = self.pos;
            let op = self.byte("an opcode")?;
            if op == b'.' {
                return Ok(());
            }
            self.step(op)?;
            if self.stack.len() > MAX_PICKLE_STACK || self.marks.len() > MAX_PICKLE_STACK {
                return err(self.op_at, format!("stack deeper than {MAX_PICKLE_STACK}"));
            }
            if self.arena.seqs.len() + self.arena.maps.len() > MAX_PICKLE_CONTAINERS {
                return err(
                    self.op_at,
                    format!("more than {MAX_PICKLE_CONTAINERS} containers"),
                );
            }
        }
    }

    fn take(&mut self, n: u64, what: &str) -> Res<&[u8]> {
        let left = (self.data.len() - self.pos) as u64;
        if n > left {
            return Err(PickleError {
                offset: self.op_at as u64,
                message: format!("{what} needs {n} bytes but only {left} remain"),
                truncated: true,
            });
        }
        let start = self.pos;
        self.pos += n as usize; // n <= left, which fits in usize
        Ok(&self.data[start..self.pos])
    }

    fn byte(&mut self, what: &str) -> Res<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn le(&mut self, n: u64, what: &str) -> Res<u64> {
        let b = self.take(n, what)?;
        Ok(b.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// A text argument up to its newline (protocol 0 opcodes).
    fn line(&mut self, what: &str) -> Res<String> {
        let rest = &self.data[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return Err(PickleError {
                offset: self.op_at as u64,
                message: format!("{what} has no terminating newline"),
                truncated: true,
            });
        };
        let text = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(text)
    }

    fn pop(&mut self) -> Res<Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return err(self.op_at, "stack underflow");
        }
        Ok(self.stack.pop().unwrap_or(Value::None))
    }

    fn pop_mark(&mut self) -> Res<Vec<Value>> {
        let Some(mark) = self.marks.pop() else {
            return err(self.op_at, "no MARK to pop to");
        };
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn top(&mut self) -> Res<&mut Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return err(self.op_at, "stack underflow");
        }
        match self.stack.last_mut() {
            Some(v) => Ok(v),
            None => err(self.op_at, "stack underflow"),
        }
    }

    /// Counts `n` more values held in containers, refusing before they are stored when that
    /// would pass [`MAX_PICKLE_VALUES`].
    fn hold(&mut self, n: usize) -> Res<()> {
        self.held = self.held.saturating_add(n);
        if self.held > MAX_PICKLE_VALUES {
            return err(
                self.op_at,
                format!("more than {MAX_PICKLE_VALUES} values held in containers"),
            );
        }
        Ok(())
    }

    fn seq(&mut self, items: Vec<Value>) -> Res<usize> {
        self.hold(items.len())?;
        self.arena.seqs.push(items);
        Ok(self.arena.seqs.len() - 1)
    }

    fn map(&mut self, items: Vec<(Value, Value)>) -> Res<usize> {
        self.hold(items.len().saturating_mul(2))?;
        self.arena.maps.push(items);
        Ok(self.arena.maps.len() - 1)
    }

    fn finding(&mut self, opcode: &'static str, global: Option<&str>, message: String) {
        if self.findings.len() >= MAX_FINDINGS_PER_FILE {
            self.findings_dropped += 1;
            return;
        }
        self.findings.push(Finding {
            offset: self.op_at as u64,
            opcode,
            global: global.map(str::to_owned),
            message,
        });
    }

    /// A global named by GLOBAL, STACK_GLOBAL or INST: flagged unless on the allow-list.
    fn global(&mut self, opcode: &'static str, module: &str, name: &str) -> Value {
        // Checked as Python 3 resolves it, reported as the file names it.
        let full = canonical_global(module, name);
        if !is_allowed_name(&full) {
            let message = "imports a global that a state dict never needs; loading the file with pickle would import it".to_owned();
            self.finding(opcode, Some(&format!("{module}.{name}")), message);
        }
        Value::Global(full.into())
    }

    fn memo_put(&mut self, key: u32) -> Res<()> {
        let v = self.top()?.clone();
        if self.memo.len() >= MAX_PICKLE_MEMO && !self.memo.contains_key(&key) {
            return err(
                self.op_at,
                format!("memo larger than {MAX_PICKLE_MEMO} entries"),
            );
        }
        self.memo.insert(key, v);
        Ok(())
    }

    fn memo_get(&mut self, key: u32) -> Res<()> {
        match self.memo.get(&key) {
            Some(v) => {
                let v = v.clone();
                self.stack.push(v);
                Ok(())
            }
            None => err(self.op_at, format!("memo key {key} was never stored")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage_pid() -> Vec<u8> {
        // ('storage', torch.FloatStorage, '0', 'cpu', 4) then BINPERSID
        b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ".to_vec()
    }

    #[test]
    fn rebuild_from_type_v2_wraps_a_tensor() {
        let mut p = b"\x80\x02ctorch._tensor\n_rebuild_from_type_v2\n(".to_vec();
        p.extend_from_slice(
            b"ctorch._utils\n_rebuild_tensor_v2\nctorch.nn.parameter\nParameter\n(",
        );
        p.extend(storage_pid());
        // (storage, offset 0, size (4,), stride (1,), False, {}), then the state {}: the
        // arguments of _rebuild_from_type_v2 are (func, type, args, state).
        p.extend_from_slice(b"K\x00K\x04\x85K\x01\x85\x89}t}tR.");
        let o = run(&p).unwrap();
        assert!(o.findings.is_empty(), "{:?}", o.findings);
        let Value::Tensor(t) = o.root else {
            panic!("{:?}", o.root)
        };
        assert_eq!((t.size.clone(), t.storage_numel), (vec![4], 4));
    }

    #[test]
    fn protocol_zero_text_opcodes_are_read() {
        let p = b"(dp0\nS'a'\np1\nI12\nsS'b'\np2\nF1.5\nsg1\nL7L\ns.";
        let o = run(p).unwrap();
        let Value::Dict(id) = o.root else { panic!() };
        assert_eq!(o.arena.maps[id].len(), 3);
        assert!(o.findings.is_empty());
    }

    #[test]
    fn every_finding_is_kept_and_scanning_goes_on() {
        let p = b"\x80\x02cos\nsystem\n0cnt\nsystem\n0cbuiltins\nexec\n0N.";
        let o = run(p).unwrap();
        let globals: Vec<_> = o
            .findings
            .iter()
            .map(|f| f.global.clone().unwrap())
            .collect();
        assert_eq!(globals, ["os.system", "nt.system", "builtins.exec"]);
        assert_eq!(o.findings[1].offset, 14);
    }
}
