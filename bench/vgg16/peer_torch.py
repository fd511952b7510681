#!/usr/bin/python3
"""peer_torch.py — the PyTorch peer of bench-vgg16: same rows, same threads.

--arch vgg16|vgg19|resnet50 (torchvision's networks: ResNet50 is v1.5, so
bench-vgg16 runs with --layout torchvision against it). The conv base is
VGG's `features` / ResNet50 up to layer4 (no global pool, no fc), the
output ck's features are. The fine-tuning step trains stage 5 (VGG's last
block, ResNet's layer4 in train mode: BN batch statistics, as ck) + the
head (Flatten, Linear 256, ReLU, Dropout 0.5, Linear 20) with SGD momentum
0.9; the frozen stages run in eval mode under inference_mode.

--export-onnx DIR writes DIR/<arch>_<row>.onnx for the forward rows (the
conv base at the row's fixed batch and size, eval mode) for peer_onnx.py,
and exits.

Why several configurations: the comparison must be against PyTorch at its
best, so each row is timed in every configuration (plain NCHW, channels_last,
TorchScript-frozen) under inference_mode, and the fastest median is reported.
Malloc/OpenBLAS tuning is done by run.sh in the environment (it must be set
before the process starts).

With --device cuda (the GPU rows fwd224b64, fwd224b256, ft224b64): cuDNN
autotuning on (cudnn.benchmark), TF32 allowed, and the configurations are
TF32 NCHW, TF32 channels_last and bf16 autocast channels_last; for the
fine-tuning step also bf16 autocast of the frozen blocks only (what ck's
--conv-algo bf16 does). Each step ends with a device synchronize.

Output, one line per row and configuration (tab-separated):
    torch  <row>  <config>  <images/s median>  <images/s min>  <images/s max>
and a final "torch  <row>  best  ..." line per row.
"""
import argparse
import copy
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

CFGS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}
ARCH = "vgg16"
ROWS = {  # name: (size, batch, kind)
    "fwd224b1": (224, 1, "fwd"),
    "fwd224b16": (224, 16, "fwd"),
    "fwd64b64": (64, 64, "fwd"),
    "fwd32b64": (32, 64, "fwd"),
    "ft224b16": (224, 16, "ft"),
    "fwd224b64": (224, 64, "fwd"),
    "fwd224b256": (224, 256, "fwd"),
    "ft224b64": (224, 64, "ft"),
}
GPU_ROWS = ["fwd224b64", "fwd224b256", "ft224b64"]
DEV = torch.device("cpu")


def sync():
    if DEV.type == "cuda":
        torch.cuda.synchronize()


def base_blocks():
    """The conv base of ARCH split into stages 1-4 (frozen when fine-tuning)
    and stage 5, with the channels of its output."""
    if ARCH == "resnet50":
        import torchvision
        r = torchvision.models.resnet50()
        return (nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3),
                nn.Sequential(r.layer4), 2048)
    layers, cin = [], 3
    for v in CFGS[ARCH]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
            cin = v
    # block5 = the last 3 (vgg19: 4) convolutions + ReLUs and the last pool
    k = 2 * (4 if ARCH == "vgg19" else 3) + 1
    return nn.Sequential(*layers[:-k]), nn.Sequential(*layers[-k:]), 512


def head(channels, classes=20, size=224):
    feat = channels * (size // 32) ** 2
    return nn.Sequential(nn.Flatten(), nn.Linear(feat, 256), nn.ReLU(inplace=True),
                         nn.Dropout(0.5), nn.Linear(256, classes))


def time_it(step, batch, repeats, warmup):
    for _ in range(warmup):
        step()
    sync()
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        sync()
        rates.append(batch / (time.perf_counter() - t0))
    return rates


def fwd_configs(size, batch):
    frozen, b5, _ = base_blocks()
    base = nn.Sequential(*frozen, *b5).eval().to(DEV)
    x = torch.randn(batch, 3, size, size, device=DEV)
    out = {}

    def plain():
        with torch.inference_mode():
            base(x)
    out["nchw"] = plain

    # a copy: .to(memory_format) converts the modules in place
    base_cl = copy.deepcopy(base).to(DEV, memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def cl():
        with torch.inference_mode():
            base_cl(x_cl)
    out["channels_last"] = cl

    if DEV.type == "cuda":
        def bf16():
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                base_cl(x_cl)
        out["bf16_channels_last"] = bf16
        return out

    with torch.no_grad():
        traced = torch.jit.freeze(torch.jit.trace(base, x).eval())

    def jit():
        with torch.no_grad():
            traced(x)
    out["jit_frozen"] = jit
    return out


def ft_configs(size, batch):
    out = {}
    variants = [("nchw", None), ("channels_last", None)]
    if DEV.type == "cuda":
        variants = [("channels_last", None), ("bf16frozen_channels_last", "frozen"),
                    ("bf16_channels_last", "all")]
    for name, amp in variants:
        fmt = "nchw" if name == "nchw" else "channels_last"
        frozen, b5, ch = base_blocks()
        hd = head(ch, 20, size)
        frozen.eval()
        for p in frozen.parameters():
            p.requires_grad_(False)
        mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
        frozen = frozen.to(DEV, memory_format=mf)
        b5 = b5.to(DEV, memory_format=mf)
        hd = hd.to(DEV)
        params = list(b5.parameters()) + list(hd.parameters())
        opt = torch.optim.SGD(params, lr=1e-4, momentum=0.9)
        x = torch.randn(batch, 3, size, size, device=DEV).contiguous(memory_format=mf)
        y = torch.randint(0, 20, (batch,), device=DEV)
        lossf = nn.CrossEntropyLoss()

        def step(frozen=frozen, b5=b5, hd=hd, opt=opt, x=x, y=y, lossf=lossf, amp=amp):
            with torch.inference_mode(), torch.autocast(DEV.type, dtype=torch.bfloat16, enabled=amp is not None):
                f = frozen(x)
            f = f.float().clone()  # inference tensors cannot enter autograd
            with torch.autocast(DEV.type, dtype=torch.bfloat16, enabled=amp == "all"):
                loss = lossf(hd(b5(f)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        out[name] = step
    return out


def export_onnx(path, size, batch):
    """The conv base in eval mode at a fixed shape (what OpenVINO and ONNX
    Runtime compile best), NCHW float32 input "x", output "features"."""
    frozen, b5, _ = base_blocks()
    base = nn.Sequential(*frozen, *b5).eval()
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        torch.onnx.export(base, x, path, input_names=["x"], output_names=["features"], opset_version=13,
                          do_constant_folding=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="all")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--configs", default="all", help="comma list or all")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--arch", default="vgg16", choices=["vgg16", "vgg19", "resnet50"])
    ap.add_argument("--export-onnx", metavar="DIR")
    a = ap.parse_args()
    global DEV, ARCH
    DEV = torch.device(a.device)
    ARCH = a.arch
    torch.set_num_threads(a.threads)
    if DEV.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = True
        print("# torch %s, cuDNN %s, %s" % (torch.__version__, torch.backends.cudnn.version(),
                                            torch.cuda.get_device_name()), file=sys.stderr)
    if a.rows == "all":
        rows = [r for r in ROWS if r not in GPU_ROWS]
    elif a.rows == "gpu":
        rows = GPU_ROWS
    else:
        rows = a.rows.split(",")
    for r in rows:
        if r not in ROWS:
            sys.exit("peer_torch.py: unknown row %r" % r)
        size, batch, kind = ROWS[r]
        if a.export_onnx:
            if kind == "fwd":
                export_onnx(os.path.join(a.export_onnx, "%s_%s.onnx" % (ARCH, r)), size, batch)
            continue
        cfgs = fwd_configs(size, batch) if kind == "fwd" else ft_configs(size, batch)
        best = None
        for name, fn in cfgs.items():
            if a.configs != "all" and name not in a.configs.split(","):
                continue
            # small rows run fast: repeat enough to get stable medians
            n = a.repeats * (4 if batch * size * size < 16 * 224 * 224 // 4 else 1)
            rates = time_it(fn, batch, n, a.warmup)
            med = statistics.median(rates)
            print("torch\t%s\t%s\t%.3f\t%.3f\t%.3f" % (r, name, med, min(rates), max(rates)), flush=True)
            if DEV.type == "cuda":
                torch.cuda.empty_cache()
            if best is None or med > best[1]:
                best = (name, med)
        print("torch\t%s\tbest\t%.3f\t%s" % (r, best[1], best[0]), flush=True)


if __name__ == "__main__":
    main()
