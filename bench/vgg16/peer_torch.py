#!/usr/bin/python3
"""peer_torch.py — the PyTorch peer of bench-vgg16: same rows, same threads.

Why several configurations: the comparison must be against PyTorch at its
best, so each row is timed in every configuration (plain NCHW, channels_last,
TorchScript-frozen) under inference_mode, and the fastest median is reported.
Malloc/OpenBLAS tuning is done by run.sh in the environment (it must be set
before the process starts).

Output, one line per row and configuration (tab-separated):
    torch  <row>  <config>  <images/s median>  <images/s min>  <images/s max>
and a final "torch  <row>  best  ..." line per row.
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn

CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
ROWS = {  # name: (size, batch, kind)
    "fwd224b1": (224, 1, "fwd"),
    "fwd224b16": (224, 16, "fwd"),
    "fwd64b64": (64, 64, "fwd"),
    "fwd32b64": (32, 64, "fwd"),
    "ft224b16": (224, 16, "ft"),
}


def vgg16_blocks():
    """VGG16 conv base split into blocks 1-4 and block 5 (torchvision layout)."""
    layers, cin = [], 3
    for v in CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
            cin = v
    # block5 = the last three convolutions and the last pool (7 modules)
    return nn.Sequential(*layers[:-7]), nn.Sequential(*layers[-7:])


def head(classes=20, size=224):
    feat = 512 * (size // 32) ** 2
    return nn.Sequential(nn.Flatten(), nn.Linear(feat, 256), nn.ReLU(inplace=True),
                         nn.Dropout(0.5), nn.Linear(256, classes))


def time_it(step, batch, repeats, warmup):
    for _ in range(warmup):
        step()
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        rates.append(batch / (time.perf_counter() - t0))
    return rates


def fwd_configs(size, batch):
    frozen, b5 = vgg16_blocks()
    base = nn.Sequential(*frozen, *b5).eval()
    x = torch.randn(batch, 3, size, size)
    out = {}

    def plain():
        with torch.inference_mode():
            base(x)
    out["nchw"] = plain

    base_cl = nn.Sequential(*frozen, *b5).eval().to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def cl():
        with torch.inference_mode():
            base_cl(x_cl)
    out["channels_last"] = cl

    with torch.no_grad():
        traced = torch.jit.freeze(torch.jit.trace(base, x).eval())

    def jit():
        with torch.no_grad():
            traced(x)
    out["jit_frozen"] = jit
    return out


def ft_configs(size, batch):
    out = {}
    for fmt in ("nchw", "channels_last"):
        frozen, b5 = vgg16_blocks()
        hd = head(20, size)
        frozen.eval()
        for p in frozen.parameters():
            p.requires_grad_(False)
        mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
        frozen = frozen.to(memory_format=mf)
        b5 = b5.to(memory_format=mf)
        params = list(b5.parameters()) + list(hd.parameters())
        opt = torch.optim.SGD(params, lr=1e-4, momentum=0.9)
        x = torch.randn(batch, 3, size, size).contiguous(memory_format=mf)
        y = torch.randint(0, 20, (batch,))
        lossf = nn.CrossEntropyLoss()

        def step(frozen=frozen, b5=b5, hd=hd, opt=opt, x=x, y=y, lossf=lossf):
            with torch.inference_mode():
                f = frozen(x)
            f = f.clone()  # inference tensors cannot enter autograd
            loss = lossf(hd(b5(f)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        out[fmt] = step
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="all")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--configs", default="all", help="comma list or all")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rows = list(ROWS) if a.rows == "all" else a.rows.split(",")
    for r in rows:
        if r not in ROWS:
            sys.exit("peer_torch.py: unknown row %r" % r)
        size, batch, kind = ROWS[r]
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
            if best is None or med > best[1]:
                best = (name, med)
        print("torch\t%s\tbest\t%.3f\t%s" % (r, best[1], best[0]), flush=True)


if __name__ == "__main__":
    main()
