"""peer_onnx.py — the OpenVINO and ONNX Runtime peers of bench-vgg16's
forward rows: the conv base exported to ONNX by peer_torch.py --export-onnx
(same network, same fixed batch and size), same thread count.

Runs in a venv of its own (these wheels are not in Debian):
    python3 -m venv /tmp/ck-peers && /tmp/ck-peers/bin/pip install openvino onnxruntime
    /tmp/ck-peers/bin/python peer_onnx.py --onnx DIR --arch resnet50 --rows fwd224b16

Configurations, each timed on the same input batch after a warm-up:
  openvino   INFERENCE_PRECISION_HINT bf16 and f32 (bf16 only where the CPU
             has AVX512_BF16 or AMX: elsewhere OpenVINO would silently run
             f32), INFERENCE_NUM_THREADS = --threads, and
               latency     PERFORMANCE_HINT LATENCY, one synchronous request
                           per batch (what ck does);
               throughput  PERFORMANCE_HINT THROUGHPUT, its optimal number
                           of requests in flight (each a whole batch);
                           images/s = images done / wall time. For batch 1
                           this runs several images at once: it is the
                           peer's best rate, not the same latency.
  onnxruntime  CPUExecutionProvider, f32, intra_op_num_threads = --threads,
               inter_op 1, sequential, ORT_ENABLE_ALL graph optimisations.

Output, one line per row and configuration (tab-separated):
    <openvino_bf16|openvino_f32|onnxruntime>  <row>  <config>  <images/s median>  <min>  <max>
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

ROWS = {"fwd224b1": (224, 1), "fwd224b16": (224, 16), "fwd64b64": (64, 64), "fwd32b64": (32, 64)}


def has_bf16():
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def rates(step, images, repeats, warmup):
    for _ in range(warmup):
        step()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        out.append(images / (time.perf_counter() - t0))
    return out


def emit(peer, row, cfg, r):
    print("%s\t%s\t%s\t%.3f\t%.3f\t%.3f" % (peer, row, cfg, statistics.median(r), min(r), max(r)), flush=True)


def run_openvino(path, row, x, threads, repeats, warmup, precisions):
    import openvino as ov
    core = ov.Core()
    model = core.read_model(path)
    for prec in precisions:
        for hint in ("LATENCY", "THROUGHPUT"):
            cm = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": prec,
                                                   "INFERENCE_NUM_THREADS": threads,
                                                   "PERFORMANCE_HINT": hint})
            # what it really compiled (it falls back to f32 without a warning)
            print("# openvino %s %s %s: precision %s, streams %s, threads %s" % (
                ov.__version__, prec, hint, cm.get_property("INFERENCE_PRECISION_HINT"),
                cm.get_property("NUM_STREAMS"), cm.get_property("INFERENCE_NUM_THREADS")), file=sys.stderr)
            if hint == "LATENCY":
                req = cm.create_infer_request()
                req.set_input_tensor(ov.Tensor(x))

                def step(req=req):
                    req.infer()
                r = rates(step, x.shape[0], repeats, warmup)
                cfg = "latency"
            else:
                nreq = int(cm.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
                q = ov.AsyncInferQueue(cm, nreq)
                t = ov.Tensor(x)

                def step(q=q, nreq=nreq, t=t):
                    for _ in range(nreq):
                        q.start_async({0: t})
                    q.wait_all()
                r = rates(step, x.shape[0] * nreq, repeats, warmup)
                cfg = "throughput/%dreq" % nreq
            emit("openvino_" + prec, row, cfg, r)
            del cm


def run_onnxruntime(path, row, x, threads, repeats, warmup):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    def step():
        sess.run(None, {"x": x})
    emit("onnxruntime", row, "f32", rates(step, x.shape[0], repeats, warmup))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", required=True, help="folder of peer_torch.py --export-onnx")
    ap.add_argument("--arch", default="vgg16")
    ap.add_argument("--rows", default="fwd224b1,fwd224b16,fwd64b64,fwd32b64")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--peers", default="openvino,onnxruntime")
    a = ap.parse_args()
    peers = a.peers.split(",")
    precisions = (["bf16"] if has_bf16() else []) + ["f32"]
    for row in a.rows.split(","):
        if row not in ROWS:
            continue  # the fine-tuning rows have no inference peer
        size, batch = ROWS[row]
        path = os.path.join(a.onnx, "%s_%s.onnx" % (a.arch, row))
        if not os.path.exists(path):
            sys.exit("peer_onnx.py: %s missing (peer_torch.py --export-onnx)" % path)
        x = np.random.default_rng(1).standard_normal((batch, 3, size, size), dtype=np.float32)
        # small rows run fast: repeat enough to get stable medians (as peer_torch.py)
        n = a.repeats * (4 if batch * size * size < 16 * 224 * 224 // 4 else 1)
        if "openvino" in peers:
            run_openvino(path, row, x, a.threads, n, a.warmup, precisions)
        if "onnxruntime" in peers:
            run_onnxruntime(path, row, x, a.threads, n, a.warmup)


if __name__ == "__main__":
    main()
