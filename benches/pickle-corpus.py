# Writes the scanner comparison corpus into DIR/malicious and DIR/benign: pickle-based files built
# from published scanner bypass techniques, and benign files that torch's weights-only loader
# accepts (or that hold no pickle). Payloads name harmful callables but nothing is ever loaded.
# Uses only the standard library and numpy, plus tests/common/torch_like.py for torch's layouts.
import sys, os, io, gzip, bz2, lzma, zlib, tarfile, pickle, collections
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
exec(open(os.path.join(here, "..", "tests", "common", "torch_like.py")).read())

out = sys.argv[1]
MAL, BEN = os.path.join(out, "malicious"), os.path.join(out, "benign")
os.makedirs(MAL, exist_ok=True)
os.makedirs(BEN, exist_ok=True)

def w(d, name, data):
    open(os.path.join(d, name), "wb").write(data)

def g(module, name, arg="id", proto=2):
    """GLOBAL module.name, (arg,), REDUCE."""
    s = arg.encode()
    return bytes([0x80, proto]) + f"c{module}\n{name}\n".encode() + b"X" + len(s).to_bytes(4, "little") + s + b"\x85R"

def sg(module, name, arg="id"):
    """STACK_GLOBAL (protocol 4)."""
    def u(t):
        t = t.encode()
        return b"\x8c" + bytes([len(t)]) + t
    return b"\x80\x04" + u(module) + u(name) + b"\x93" + u(arg) + b"\x85R"

# --- malicious: one file per technique ---
calls = [("os", "system"), ("posix", "system"), ("nt", "system"), ("subprocess", "Popen"),
         ("subprocess", "check_output"), ("runpy", "_run_code"), ("torch.utils.collect_env", "run"),
         ("multiprocessing.util", "spawnv_passfds"), ("pty", "spawn"), ("bdb", "Bdb.run"),
         ("pdb", "Pdb.run"), ("webbrowser", "open"), ("pydoc", "pipepager"), ("pip", "main"),
         ("code", "InteractiveInterpreter.runcode"), ("idlelib.pyshell", "ModifiedInterpreter.runcode"),
         ("asyncio.unix_events", "_UnixSubprocessTransport._start"), ("operator", "methodcaller"),
         ("functools", "partial"), ("importlib", "import_module"), ("ctypes", "CDLL"),
         ("shutil", "rmtree"), ("numpy.testing._private.utils", "runstring"), ("timeit", "timeit"),
         ("cProfile", "run"), ("profile", "run"), ("trace", "Trace.run"), ("doctest", "debug_script"),
         ("_posixsubprocess", "fork_exec"), ("torch.serialization", "load")]
for m, n in calls:
    w(MAL, f"call-{m}.{n}.pkl", g(m, n) + b".")
w(MAL, "stack-global-exec.pkl", sg("builtins", "exec", "import os") + b".")
w(MAL, "stack-global-eval.pkl", sg("builtins", "eval", "1") + b".")
w(MAL, "builtin-py2-eval.pkl", g("__builtin__", "eval", "1") + b".")
chain = b"\x80\x02c__builtin__\ngetattr\nc__builtin__\n__import__\nX\x02\x00\x00\x00os\x85RX\x06\x00\x00\x00system\x86RX\x02\x00\x00\x00id\x85R."
w(MAL, "getattr-chain.pkl", chain)
w(MAL, "inst.pkl", b"\x80\x02(X\x02\x00\x00\x00idisubprocess\ncheck_output\n.")
w(MAL, "obj.pkl", b"\x80\x02(cbuiltins\nexec\nX\x01\x00\x00\x001o.")
w(MAL, "ext1-copyreg.pkl", b"\x80\x02\x82\x01)R.")
w(MAL, "protocol0.pkl", b"cos\nsystem\n(S'id'\ntR.")
w(MAL, "protocol1.bin", b"cos\nsystem\nq\x00(X\x02\x00\x00\x00idq\x01tq\x02Rq\x03.")
w(MAL, "proto1.pkl", b"\x80\x01cos\nsystem\n(X\x02\x00\x00\x00idtR.")
EVIL = g("os", "system")
w(MAL, "nullifai-bad-opcode.pkl", EVIL + b"\xff.")
w(MAL, "nullifai-truncated.pkl", EVIL + b"X\xff\x00\x00\x00ab")
w(MAL, "nullifai-bad-memo.pkl", EVIL + b"h\x07.")
w(MAL, "nullifai-no-stop.pkl", EVIL)
w(MAL, "second-pickle.pkl", b"\x80\x02}." + EVIL + b".")
w(MAL, "evil.pkl.gz", gzip.compress(EVIL + b"."))
w(MAL, "evil.pkl.bz2", bz2.compress(EVIL + b"."))
w(MAL, "evil.pkl.xz", lzma.compress(EVIL + b"."))
w(MAL, "evil.joblib", zlib.compress(EVIL + b"."))
w(MAL, "evil-lzma.joblib", lzma.compress(EVIL + b".", format=lzma.FORMAT_ALONE))

class Evil:
    def __reduce__(self):
        return (os.system, ("id",))
arr = np.empty(2, dtype=object)
arr[0] = Evil()
np.save(os.path.join(MAL, "objects.npy"), arr, allow_pickle=True)
np.savez(os.path.join(MAL, "objects.npz"), a=arr)

def tar_of(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name); info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
evil_tar = tar_of([("sys_info", pickle.dumps({"protocol_version": 1001}, protocol=2)),
                   ("pickle", EVIL + b"."), ("storages", pickle.dumps(0, protocol=2)),
                   ("tensors", pickle.dumps(0, protocol=2))])
w(MAL, "legacy-tar.pt", evil_tar)
w(MAL, "legacy-tar.pt.gz", gzip.compress(evil_tar))

save(state_dict(), os.path.join(MAL, "zip-data-pkl.bin"), data_pkl=EVIL + b".")
save(state_dict(), os.path.join(MAL, "zip-nullifai.bin"), data_pkl=EVIL + b"\xff")
save(state_dict(), os.path.join(MAL, "zip-hidden-storage.bin"), extra_members=[("data/99", EVIL + b".")])
save(state_dict(), os.path.join(MAL, "zip-extra-pkl.bin"), extra_members=[("extra.pkl", EVIL + b".")])
save(state_dict(), os.path.join(MAL, "zip-trailing-pickle.bin"), data_pkl=dumps(state_dict()) + EVIL + b".")
write_zip(os.path.join(MAL, "zip-two-roots.bin"), [("evil/data.pkl", EVIL + b"."), ("archive/data.pkl", b"\x80\x02}.")], root="")
save_legacy(state_dict(), os.path.join(MAL, "legacy-sys-info.pt"), sys_info_pkl=EVIL + b".")

# --- benign ---
save(state_dict(), os.path.join(BEN, "state-dict.bin"))
save_legacy(state_dict(), os.path.join(BEN, "legacy.pt"))
s = [Storage(0, "QInt8Storage", 16), Storage(1, "FloatStorage", 6)]
q = collections.OrderedDict()
q["q.weight"] = QTensor(s[0], 0, (4, 4), (4, 1))
q["old.weight"] = OldTensor(s[1], 0, (2, 3), (3, 1))
save(q, os.path.join(BEN, "quantized.bin"))
s2 = [Storage(0, "FloatStorage", 12)]
save(PairsDict([("fc.weight", contiguous(s2[0], (3, 4)))]), os.path.join(BEN, "py2-pairs.bin"))
save({"state_dict": state_dict(), "bytes": b"\x00abc", "set": {1, 2},
      "counter": collections.Counter(a=1), "dtype": _global("torch", "bfloat16")},
     os.path.join(BEN, "extras.bin"))
dev = b"\x80\x02}X\x01\x00\x00\x00dctorch\ndevice\nX\x03\x00\x00\x00cpu\x85Rs."
save({}, os.path.join(BEN, "device.bin"), data_pkl=dev)
w(BEN, "plain-dict.pkl", pickle.dumps({"lr": 0.1, "steps": [1, 2, 3]}, protocol=2))
w(BEN, "plain-dict-p0.pkl", pickle.dumps({"lr": 0.1, "steps": [1, 2, 3]}, protocol=0))
w(BEN, "plain-list-p4.pkl", pickle.dumps([1, 2.5, "x", None, True], protocol=4))
w(BEN, "ordered-dict.pkl", pickle.dumps(collections.OrderedDict(a=1), protocol=2))
w(BEN, "plain.pkl.gz", gzip.compress(pickle.dumps({"a": 1}, protocol=2)))
np.save(os.path.join(BEN, "plain.npy"), np.arange(16, dtype=np.float32))
np.savez(os.path.join(BEN, "plain.npz"), a=np.arange(4), b=np.ones(3))
w(BEN, "clean-tar.pt", tar_of([("sys_info", pickle.dumps({"protocol_version": 1001}, protocol=2)),
                               ("pickle", pickle.dumps({"a": 1}, protocol=2))]))
st = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
w(BEN, "model.safetensors", len(st).to_bytes(8, "little") + st + b"\0" * 8)
print(len(os.listdir(MAL)), "malicious,", len(os.listdir(BEN)), "benign")
