# Writes checkpoints in the exact layout torch.save uses, without torch: a fake `torch` module
# tree in sys.modules gives pickle the same GLOBAL names torch's own objects reduce to, and the
# zip is written like torch's writer (stored, `archive/` root, data 64-byte aligned).
import sys, types, io, pickle, struct, zipfile, collections

def _module(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    return m

torch = _module("torch")
torch._utils = _module("torch._utils")
torch.storage = _module("torch.storage")

def _rebuild_tensor_v2(*a): raise RuntimeError("never called")
def _rebuild_parameter(*a): raise RuntimeError("never called")
_rebuild_tensor_v2.__module__ = "torch._utils"
_rebuild_parameter.__module__ = "torch._utils"
torch._utils._rebuild_tensor_v2 = _rebuild_tensor_v2
torch._utils._rebuild_parameter = _rebuild_parameter

# storage class name -> (struct format char for filling, element size)
STORAGES = {"FloatStorage": ("f", 4), "HalfStorage": ("e", 2), "BFloat16Storage": ("H", 2),
            "DoubleStorage": ("d", 8), "LongStorage": ("q", 8), "IntStorage": ("i", 4),
            "ShortStorage": ("h", 2), "CharStorage": ("b", 1), "ByteStorage": ("B", 1),
            "BoolStorage": ("?", 1), "Float8_e4m3fnStorage": ("B", 1), "QInt8Storage": ("b", 1)}
for _name in STORAGES:
    _cls = type(_name, (), {"__module__": "torch"})
    setattr(torch, _name, _cls)

class Storage:
    def __init__(self, key, kind, numel):
        self.key, self.kind, self.numel = str(key), kind, numel
    def raw(self):
        return bytes((i * 7) % 256 for i in range(self.numel * STORAGES[self.kind][1]))

class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)
    def __reduce__(self):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, False,
                                     collections.OrderedDict()))

def _global(module, name):
    """An object that pickles as the global `module.name` (a torch dtype, a function)."""
    obj = type(name, (), {"__module__": module, "__qualname__": name})
    setattr(sys.modules.setdefault(module, _module(module)) if module not in sys.modules
            else sys.modules[module], name, obj)
    return obj

def _rebuild_qtensor(*a): raise RuntimeError("never called")
_rebuild_qtensor.__module__ = "torch._utils"
torch._utils._rebuild_qtensor = _rebuild_qtensor
def _rebuild_tensor(*a): raise RuntimeError("never called")
_rebuild_tensor.__module__ = "torch._utils"
torch._utils._rebuild_tensor = _rebuild_tensor

class QTensor(Tensor):
    """A quantized tensor as torch pickles it: `_rebuild_qtensor` with per-tensor affine
    quantizer parameters."""
    def __reduce__(self):
        return (_rebuild_qtensor, (self.storage, self.offset, self.size, self.stride,
                                   (_global("torch", "per_tensor_affine"), 0.1, 0), False,
                                   collections.OrderedDict()))

class OldTensor(Tensor):
    """torch <= 0.3: `_rebuild_tensor(storage, offset, size, stride)`."""
    def __reduce__(self):
        return (_rebuild_tensor, (self.storage, self.offset, self.size, self.stride))

class PairsDict:
    """A Python 2-era OrderedDict: built from a list of [key, value] pairs."""
    def __init__(self, items): self.items = items
    def __reduce__(self):
        return (collections.OrderedDict, ([[k, v] for k, v in self.items],))

class Parameter:
    def __init__(self, tensor): self.tensor = tensor
    def __reduce__(self):
        return (_rebuild_parameter, (self.tensor, True, collections.OrderedDict()))

def contiguous(storage, size, offset=0):
    stride, acc = [], 1
    for d in reversed(size):
        stride.insert(0, acc); acc *= d
    return Tensor(storage, offset, size, stride)

class _Pickler(pickle.Pickler):
    legacy = False
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            pid = ("storage", getattr(torch, obj.kind), obj.key, "cpu", obj.numel)
            return pid + (None,) if self.legacy else pid
        return None

def dumps(obj, legacy=False):
    buf = io.BytesIO()
    p = _Pickler(buf, protocol=2)
    p.legacy = legacy
    p.dump(obj)
    return buf.getvalue()

def storages_of(obj, out):
    if isinstance(obj, Storage): out.setdefault(obj.key, obj)
    elif isinstance(obj, Tensor): storages_of(obj.storage, out)
    elif isinstance(obj, Parameter): storages_of(obj.tensor, out)
    elif isinstance(obj, PairsDict): [storages_of(v, out) for _, v in obj.items]
    elif isinstance(obj, dict): [storages_of(v, out) for v in obj.values()]
    elif isinstance(obj, (list, tuple)): [storages_of(v, out) for v in obj]
    return out

def write_zip(path, members, root="archive", align=64, compress=()):
    """members: list of (name under root, bytes); stored and aligned like torch's writer."""
    with open(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            full = f"{root}/{name}" if root else name
            info = zipfile.ZipInfo(full, date_time=(1980, 1, 1, 0, 0, 0))
            if name in compress:
                info.compress_type = zipfile.ZIP_DEFLATED
            header_end = f.tell() + 30 + len(full.encode()) + 4
            pad = (-header_end) % align
            info.extra = b"FB" + struct.pack("<H", pad) + b"\0" * pad
            z.writestr(info, data)

def save(obj, path, extra_members=(), data_pkl=None, root="archive", compress=()):
    """torch.save's zip layout."""
    members = [("data.pkl", data_pkl if data_pkl is not None else dumps(obj)),
               (".format_version", b"1"), (".storage_alignment", b"64"), ("byteorder", b"little")]
    for key, s in sorted(storages_of(obj, {}).items(), key=lambda kv: int(kv[0])):
        members.append((f"data/{key}", s.raw()))
    members += [("version", b"3\n"), (".data/serialization_id", b"1234567890")]
    members += list(extra_members)
    write_zip(path, members, root=root, compress=compress)

def save_legacy(obj, path, sys_info_pkl=None):
    """The pre-1.6 format: five pickles, then each storage as u64 numel + bytes."""
    sys_info = {"protocol_version": 1001, "little_endian": True,
                "type_sizes": {"short": 2, "int": 4, "long": 4}}
    stor = storages_of(obj, {})
    with open(path, "wb") as f:
        f.write(pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2))
        f.write(pickle.dumps(1001, protocol=2))
        f.write(sys_info_pkl if sys_info_pkl is not None else pickle.dumps(sys_info, protocol=2))
        f.write(dumps(obj, legacy=True))
        keys = sorted(stor, key=int)
        f.write(pickle.dumps(keys, protocol=2))
        for k in keys:
            f.write(struct.pack("<q", stor[k].numel))
            f.write(stor[k].raw())

def state_dict():
    """Parameters, buffers, tied weights, views and a Parameter wrapper, in torch's dtypes."""
    s = [Storage(0, "FloatStorage", 1600), Storage(1, "BFloat16Storage", 256),
         Storage(2, "HalfStorage", 16), Storage(3, "FloatStorage", 512),
         Storage(4, "LongStorage", 1), Storage(5, "FloatStorage", 8),
         Storage(6, "FloatStorage", 64), Storage(7, "BoolStorage", 16),
         Storage(8, "DoubleStorage", 10)]
    sd = collections.OrderedDict()
    sd["embed.weight"] = contiguous(s[0], (100, 16))
    sd["layers.0.q.weight"] = contiguous(s[1], (16, 16))
    sd["layers.0.q.bias"] = contiguous(s[2], (16,))
    sd["layers.0.k.weight"] = contiguous(s[3], (16, 16), offset=256)
    sd["layers.0.v.weight"] = Tensor(s[3], 0, (16, 16), (1, 16))
    sd["bn.num_batches_tracked"] = Tensor(s[4], 0, (), ())
    sd["rotary.inv_freq"] = contiguous(s[5], (8,))
    sd["layers.0.gate.weight"] = Parameter(contiguous(s[6], (4, 16)))
    sd["layers.0.attn.bias"] = contiguous(s[7], (4, 4))
    sd["head.w"] = contiguous(s[8], (2, 3), offset=4)
    sd["lm_head.weight"] = contiguous(s[0], (100, 16))
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd
