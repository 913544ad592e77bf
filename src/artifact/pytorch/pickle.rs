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

/// Globals a state dict may reference but never call.
const ALLOWED_NAMES: &[&str] = &[
    "torch.Tensor",
    "torch.nn.parameter.Parameter",
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
];

/// Callables a state dict needs, interpreted symbolically here.
const ALLOWED_CALLS: &[&str] = &[
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._tensor._rebuild_from_type_v2",
    "collections.OrderedDict",
    "torch.Size",
];

/// Element width in bytes and dtype name of torch's storage classes (`torch.<Name>Storage`).
pub fn storage_dtype(class: &str) -> Option<(crate::artifact::Dtype, u64)> {
    use crate::artifact::Dtype::*;
    let d = match class.strip_prefix("torch.")? {
        "FloatStorage" => F32,
        "DoubleStorage" => F64,
        "HalfStorage" => F16,
        "BFloat16Storage" => Bf16,
        "LongStorage" => I64,
        "IntStorage" => I32,
        "ShortStorage" => I16,
        "CharStorage" => I8,
        "ByteStorage" | "UntypedStorage" | "storage.UntypedStorage" => U8,
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

fn is_allowed_name(g: &str) -> bool {
    ALLOWED_NAMES.contains(&g) || ALLOWED_CALLS.contains(&g) || storage_dtype(g).is_some()
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
    /// Offset just past STOP (the next pickle of a legacy file starts there).
    pub end: usize,
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
}

/// Runs the pickle at the start of `data`, up to and including its STOP.
pub fn run(data: &[u8]) -> Res<Outcome> {
    if data.len() as u64 > MAX_PICKLE_BYTES {
        return err(
            0,
            format!("{} bytes, over the limit of {MAX_PICKLE_BYTES}", data.len()),
        );
    }
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
    };
    loop {
        m.op_at = m.pos;
        let op = m.byte("an opcode")?;
        if op == b'.' {
            break;
        }
        m.step(op)?;
        if m.stack.len() > MAX_PICKLE_STACK || m.marks.len() > MAX_PICKLE_STACK {
            return err(m.op_at, format!("stack deeper than {MAX_PICKLE_STACK}"));
        }
        if m.arena.seqs.len() + m.arena.maps.len() > MAX_PICKLE_CONTAINERS {
            return err(
                m.op_at,
                format!("more than {MAX_PICKLE_CONTAINERS} containers"),
            );
        }
    }
    if m.findings_dropped > 0 {
        let n = m.findings_dropped;
        m.findings.push(Finding {
            offset: m.op_at as u64,
            opcode: "STOP",
            global: None,
            message: format!("{n} more findings not listed"),
        });
    }
    let root = m.stack.pop().unwrap_or(Value::None);
    Ok(Outcome {
        root,
        arena: m.arena,
        findings: m.findings,
        end: m.pos,
    })
}

impl Machine<'_> {
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

    fn seq(&mut self, items: Vec<Value>) -> usize {
        self.arena.seqs.push(items);
        self.arena.seqs.len() - 1
    }

    fn map(&mut self, items: Vec<(Value, Value)>) -> usize {
        self.arena.maps.push(items);
        self.arena.maps.len() - 1
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
        let full = format!("{module}.{name}");
        if !is_allowed_name(&full) {
            let message = "imports a global that a state dict never needs; loading the file with pickle would import it".to_owned();
            self.finding(opcode, Some(&full), message);
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
