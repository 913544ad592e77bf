//! The opcodes of pickle protocols 0 to 5, each run symbolically, and the interpretation of the
//! allow-listed calls a state dict makes.

use super::{Machine, Res, TensorRef, Value, err, is_allowed_call, is_allowed_name};
use crate::artifact::limits::{MAX_PICKLE_LONG_BYTES, MAX_PICKLE_REBUILD_NESTING};
use std::rc::Rc;

impl Machine<'_> {
    pub(super) fn step(&mut self, op: u8) -> Res<()> {
        match op {
            0x80 => {
                let p = self.byte("the protocol")?;
                if p > 5 {
                    return err(self.op_at, format!("unsupported protocol {p}"));
                }
            }
            0x95 => {
                // FRAME: a length hint for buffering; the frame's opcodes follow inline.
                self.le(8, "the frame length")?;
            }
            b'(' => self.marks.push(self.stack.len()),
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let v = self.top()?.clone();
                self.stack.push(v);
            }
            b'N' => self.stack.push(Value::None),
            0x88 => self.stack.push(Value::Bool(true)),
            0x89 => self.stack.push(Value::Bool(false)),
            b'J' => {
                let v = self.le(4, "BININT")? as u32 as i32;
                self.stack.push(Value::Int(v.into()));
            }
            b'K' => {
                let v = self.le(1, "BININT1")?;
                self.stack.push(Value::Int(v as i64));
            }
            b'M' => {
                let v = self.le(2, "BININT2")?;
                self.stack.push(Value::Int(v as i64));
            }
            b'I' | b'L' => {
                let text = self.line("INT/LONG")?;
                let text = text.trim_end_matches('L');
                let v = match text {
                    "01" => Value::Bool(true),
                    "00" => Value::Bool(false),
                    t => match t.parse::<i64>() {
                        Ok(n) => Value::Int(n),
                        Err(_)
                            if t.trim_start_matches('-')
                                .bytes()
                                .all(|b| b.is_ascii_digit()) =>
                        {
                            Value::BigInt
                        }
                        Err(_) => return err(self.op_at, format!("invalid integer {t:?}")),
                    },
                };
                self.stack.push(v);
            }
            0x8a | 0x8b => {
                let n = if op == 0x8a {
                    self.le(1, "LONG1 length")?
                } else {
                    self.le(4, "LONG4 length")?
                };
                if n > MAX_PICKLE_LONG_BYTES {
                    return err(
                        self.op_at,
                        format!("integer of {n} bytes, over the limit of {MAX_PICKLE_LONG_BYTES}"),
                    );
                }
                let b = self.take(n, "a long integer")?;
                let v = if n == 0 {
                    Value::Int(0)
                } else if n <= 8 {
                    let neg = b[b.len() - 1] & 0x80 != 0;
                    let mut buf = [if neg { 0xff } else { 0 }; 8];
                    buf[..b.len()].copy_from_slice(b);
                    Value::Int(i64::from_le_bytes(buf))
                } else {
                    Value::BigInt
                };
                self.stack.push(v);
            }
            b'F' => {
                let text = self.line("FLOAT")?;
                let v = text.trim().parse::<f64>().unwrap_or(f64::NAN);
                self.stack.push(Value::Float(v));
            }
            b'G' => {
                let b = self.take(8, "BINFLOAT")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                self.stack.push(Value::Float(f64::from_be_bytes(a)));
            }
            b'X' | 0x8c | 0x8d | b'T' | b'U' => {
                let width = match op {
                    b'X' | b'T' => 4,
                    0x8d => 8,
                    _ => 1,
                };
                let n = self.le(width, "a string length")?;
                let b = self.take(n, "a string")?;
                let s: Rc<str> = String::from_utf8_lossy(b).into();
                self.stack.push(Value::Str(s));
            }
            b'V' | b'S' => {
                let text = self.line("a text string")?;
                let text = text.trim_matches(|c| c == '\'' || c == '"');
                self.stack.push(Value::Str(text.into()));
            }
            b'B' | b'C' | 0x8e | 0x96 => {
                let width = match op {
                    b'B' => 4,
                    b'C' => 1,
                    _ => 8,
                };
                let n = self.le(width, "a bytes length")?;
                self.take(n, "bytes")?;
                self.stack.push(Value::Bytes(n));
            }
            0x97 => self.stack.push(Value::Bytes(0)),
            0x98 => {}
            b')' => {
                let id = self.seq(Vec::new())?;
                self.stack.push(Value::Tuple(id));
            }
            b't' => {
                let items = self.pop_mark()?;
                let id = self.seq(items)?;
                self.stack.push(Value::Tuple(id));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.pop()?);
                }
                items.reverse();
                let id = self.seq(items)?;
                self.stack.push(Value::Tuple(id));
            }
            b']' | 0x8f => {
                let id = self.seq(Vec::new())?;
                self.stack.push(Value::List(id));
            }
            b'l' | 0x91 => {
                let items = self.pop_mark()?;
                let id = self.seq(items)?;
                self.stack.push(Value::List(id));
            }
            b'a' => {
                let v = self.pop()?;
                self.extend_top(vec![v])?;
            }
            b'e' | 0x90 => {
                let items = self.pop_mark()?;
                self.extend_top(items)?;
            }
            b'}' => {
                let id = self.map(Vec::new())?;
                self.stack.push(Value::Dict(id));
            }
            b'd' => {
                let items = self.pop_mark()?;
                let pairs = pairs(items, self.op_at)?;
                let id = self.map(pairs)?;
                self.stack.push(Value::Dict(id));
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                self.set_items(vec![(k, v)])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                let pairs = pairs(items, self.op_at)?;
                self.set_items(pairs)?;
            }
            b'p' => {
                let text = self.line("PUT")?;
                let key = text
                    .parse::<u32>()
                    .or_else(|_| err(self.op_at, format!("invalid memo key {text:?}")))?;
                self.memo_put(key)?;
            }
            b'q' => {
                let key = self.le(1, "BINPUT")? as u32;
                self.memo_put(key)?;
            }
            b'r' => {
                let key = self.le(4, "LONG_BINPUT")? as u32;
                self.memo_put(key)?;
            }
            0x94 => {
                let key = u32::try_from(self.memo.len()).unwrap_or(u32::MAX);
                self.memo_put(key)?;
            }
            b'g' => {
                let text = self.line("GET")?;
                let key = text
                    .parse::<u32>()
                    .or_else(|_| err(self.op_at, format!("invalid memo key {text:?}")))?;
                self.memo_get(key)?;
            }
            b'h' => {
                let key = self.le(1, "BINGET")? as u32;
                self.memo_get(key)?;
            }
            b'j' => {
                let key = self.le(4, "LONG_BINGET")? as u32;
                self.memo_get(key)?;
            }
            b'c' => {
                let module = self.line("GLOBAL module")?;
                let name = self.line("GLOBAL name")?;
                self.check_dotted(&module, &name)?;
                let v = self.global("GLOBAL", &module, &name);
                self.stack.push(v);
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let v = match (module, name) {
                    (Value::Str(m), Value::Str(n)) => self.global("STACK_GLOBAL", &m, &n),
                    _ => {
                        self.finding(
                            "STACK_GLOBAL",
                            None,
                            "imports a global whose name is not a plain string".into(),
                        );
                        Value::Opaque
                    }
                };
                self.stack.push(v);
            }
            b'i' => {
                let module = self.line("INST module")?;
                let name = self.line("INST name")?;
                self.check_dotted(&module, &name)?;
                let args = self.pop_mark()?;
                let class = self.global("INST", &module, &name);
                let args = Value::Tuple(self.seq(args)?);
                let v = self.call("INST", class, args, 0)?;
                self.stack.push(v);
            }
            b'o' => {
                let mut items = self.pop_mark()?;
                if items.is_empty() {
                    return err(self.op_at, "OBJ without a class");
                }
                let class = items.remove(0);
                let args = Value::Tuple(self.seq(items)?);
                let v = self.call("OBJ", class, args, 0)?;
                self.stack.push(v);
            }
            b'R' => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let v = self.call("REDUCE", callable, args, 0)?;
                self.stack.push(v);
            }
            0x81 => {
                let args = self.pop()?;
                let class = self.pop()?;
                let v = self.call("NEWOBJ", class, args, 0)?;
                self.stack.push(v);
            }
            0x92 => {
                self.pop()?; // keyword arguments
                let args = self.pop()?;
                let class = self.pop()?;
                let v = self.call("NEWOBJ_EX", class, args, 0)?;
                self.stack.push(v);
            }
            b'b' => {
                // BUILD sets state (OrderedDict `_metadata`, a Parameter's attributes). On an
                // interpreted value that is data; on anything else the class was flagged already.
                self.pop()?;
                self.top()?;
            }
            b'P' => {
                let text = self.line("PERSID")?;
                let id = self.seq(vec![Value::Str(text.into())])?;
                self.stack.push(Value::PersId(id));
            }
            b'Q' => {
                let v = self.pop()?;
                let id = self.seq(vec![v])?;
                self.stack.push(Value::PersId(id));
            }
            0x82..=0x84 => {
                let width = [1, 2, 4][(op - 0x82) as usize];
                let code = self.le(width, "an extension code")?;
                self.finding(
                    "EXT",
                    None,
                    format!("extension code {code} imports a global through the copyreg registry"),
                );
                self.stack.push(Value::Opaque);
            }
            _ => return err(self.op_at, format!("unknown opcode 0x{op:02x}")),
        }
        Ok(())
    }

    /// A GLOBAL or INST names a module and an attribute, both dotted identifiers; anything else
    /// fails Python's import before it runs, so it is no pickle (text that starts with `c`).
    fn check_dotted(&self, module: &str, name: &str) -> Res<()> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.split('.').all(|part| {
                    part.chars().next().is_some_and(|c| !c.is_ascii_digit())
                        && part.chars().all(|c| c == '_' || c.is_alphanumeric())
                })
        };
        if ok(module) && ok(name) {
            Ok(())
        } else {
            err(
                self.op_at,
                format!("GLOBAL names {module:?} {name:?}, not a module and an attribute"),
            )
        }
    }

    fn extend_top(&mut self, items: Vec<Value>) -> Res<()> {
        self.hold(items.len())?;
        match self.top()? {
            Value::List(id) => {
                let id = *id;
                self.arena.seqs[id].extend(items);
            }
            // An object of a flagged class: its `append` would be the class's own; already flagged.
            Value::Opaque => {}
            _ => return err(self.op_at, "APPEND to something that is not a list"),
        }
        Ok(())
    }

    fn set_items(&mut self, pairs: Vec<(Value, Value)>) -> Res<()> {
        self.hold(pairs.len().saturating_mul(2))?;
        match self.top()? {
            Value::Dict(id) => {
                let id = *id;
                self.arena.maps[id].extend(pairs);
            }
            Value::Opaque => {}
            _ => return err(self.op_at, "SETITEM on something that is not a dict"),
        }
        Ok(())
    }

    /// A call (REDUCE, NEWOBJ, INST, OBJ): interpreted for the allow-listed callables, a finding
    /// for anything else. Never executed.
    /// `depth` counts `_rebuild_from_type_v2` wrappers, which nest calls without opcodes.
    fn call(
        &mut self,
        opcode: &'static str,
        callable: Value,
        args: Value,
        depth: usize,
    ) -> Res<Value> {
        let name = match &callable {
            Value::Global(g) => g.clone(),
            Value::Opaque => return Ok(Value::Opaque), // flagged where it was made
            _ => {
                self.finding(opcode, None, "calls a value that is not a global".into());
                return Ok(Value::Opaque);
            }
        };
        if !is_allowed_call(&name) {
            if is_allowed_name(&name) {
                let message = "calls a global that a state dict never calls".to_owned();
                self.finding(opcode, Some(&name), message);
            }
            // Not allowed at all: flagged where it was imported.
            return Ok(Value::Opaque);
        }
        let args = match args {
            Value::Tuple(id) => self.arena.seqs[id].clone(),
            // torch's loader calls these with whatever argument value the pickle gives; a
            // non-tuple fails there, harmlessly.
            _ => return Ok(Value::Opaque),
        };
        Ok(match name.as_ref() {
            "collections.OrderedDict" | "collections.Counter" | "builtins.dict" => {
                // `OrderedDict()` or, from Python 2-era writers, `OrderedDict([[k, v], …])`.
                let pairs = match args.first() {
                    Some(Value::List(id) | Value::Tuple(id)) => self.arena.seqs[*id]
                        .iter()
                        .filter_map(|p| match p {
                            Value::List(p) | Value::Tuple(p) => {
                                match self.arena.seqs[*p].as_slice() {
                                    [k, v] => Some((k.clone(), v.clone())),
                                    _ => None,
                                }
                            }
                            _ => None,
                        })
                        .collect(),
                    Some(Value::Dict(id)) => self.arena.maps[*id].clone(),
                    _ => Vec::new(),
                };
                Value::Dict(self.map(pairs)?)
            }
            "torch.Size" => args.into_iter().next().unwrap_or(Value::Opaque),
            "torch._utils._rebuild_parameter"
            | "torch._utils._rebuild_parameter_with_state"
            | "torch.nn.parameter.Parameter"
            | "torch._utils._rebuild_device_tensor_from_cpu_tensor" => {
                args.into_iter().next().unwrap_or(Value::Opaque)
            }
            "torch._tensor._rebuild_from_type_v2" => {
                let mut it = args.into_iter();
                let (Some(func), _, Some(inner)) = (it.next(), it.next(), it.next()) else {
                    return err(self.op_at, "_rebuild_from_type_v2 needs (func, type, args)");
                };
                if depth >= MAX_PICKLE_REBUILD_NESTING {
                    return err(
                        self.op_at,
                        format!(
                            "_rebuild_from_type_v2 nested deeper than {MAX_PICKLE_REBUILD_NESTING}"
                        ),
                    );
                }
                self.call(opcode, func, inner, depth + 1)?
            }
            // v3 adds (dtype, metadata) after the hooks; the storage's type still decides the
            // element width of the bytes.
            "torch._utils._rebuild_tensor"
            | "torch._utils._rebuild_tensor_v2"
            | "torch._utils._rebuild_tensor_v3"
            | "torch._utils._rebuild_qtensor" => {
                Value::Tensor(Rc::new(self.rebuild_tensor(&args)?))
            }
            // Allowed by torch and harmless: sets, bytes, devices, complex numbers, layouts,
            // tensors without storage. Nothing to count.
            _ => Value::Opaque,
        })
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks, …)`.
    fn rebuild_tensor(&self, args: &[Value]) -> Res<TensorRef> {
        let bad = |what: &str| err(self.op_at, format!("_rebuild_tensor_v2: {what}"));
        let [storage, offset, size, stride, ..] = args else {
            return bad("needs at least (storage, offset, size, stride)");
        };
        let Value::PersId(pid) = storage else {
            return bad("the storage is not a persistent id");
        };
        let Some(Value::Tuple(t)) = self.arena.seqs[*pid].first() else {
            return bad("the persistent id is not a tuple");
        };
        let (storage_type, key, location, numel) = match self.arena.seqs[*t].as_slice() {
            [
                Value::Str(tag),
                Value::Global(ty),
                Value::Str(key),
                Value::Str(loc),
                Value::Int(n),
                ..,
            ] if tag.as_ref() == "storage" && *n >= 0 => {
                (ty.to_string(), key.to_string(), loc.to_string(), *n as u64)
            }
            _ => return bad("the persistent id is not ('storage', type, key, location, numel)"),
        };
        let Value::Int(offset) = offset else {
            return bad("the storage offset is not an integer");
        };
        let ints = |v: &Value| -> Option<Vec<u64>> {
            let Value::Tuple(id) = v else { return None };
            self.arena.seqs[*id]
                .iter()
                .map(|x| match x {
                    Value::Int(n) => u64::try_from(*n).ok(),
                    _ => None,
                })
                .collect()
        };
        let (Some(size), Some(stride)) = (ints(size), ints(stride)) else {
            return bad("size and stride must be tuples of non-negative integers");
        };
        if size.len() != stride.len() {
            return bad("size and stride differ in length");
        }
        Ok(TensorRef {
            storage_type,
            key,
            location,
            storage_numel: numel,
            offset: u64::try_from(*offset)
                .or_else(|_| err(self.op_at, "_rebuild_tensor_v2: negative storage offset"))?,
            size,
            stride,
        })
    }
}

/// Alternating keys and values into pairs.
fn pairs(items: Vec<Value>, at: usize) -> Res<Vec<(Value, Value)>> {
    if !items.len().is_multiple_of(2) {
        return err(at, "odd number of items for a dict");
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}
