#!/usr/bin/python3
"""peer_torch.py — ck-finetune's recipe in PyTorch, for parity and speed.

The same recipe as ck-finetune's defaults: the conv base from the same
weights file (frozen; --arch vgg16 or resnet50, see below), caffe
preprocessing (RGB->BGR minus 103.939/116.779/123.68) for Keras-layout
files, torch preprocessing (x/255 minus 0.485/0.456/0.406 over
0.229/0.224/0.225) for torchvision ones, PIL bilinear resize (ck's resize is PIL-compatible),
head flatten -> dense 256 relu -> dropout 0.5 -> dense C (Glorot-uniform
kernels, zero biases, as Keras), softmax cross-entropy, Adam (torch defaults
= ck's: betas 0.9/0.999, eps 1e-8), constant lr, no augmentation; the train
rows of --train in ck's per-epoch order (see ck_order below); validation on
--val: plain multi-class log loss and accuracy, as ck reports them.

The tricks, with ck-finetune's definitions (docs/workflow.md):
  --schedule onecycle  lr and beta1 of each step from the fractional epoch
                  (epoch - 1 + batch / batches) as lib/nn/lr_schedule.c:
                  warm-up a quarter of --epochs, lr/25 -> lr -> lr/1e4 and
                  beta1 0.95 -> 0.85 -> 0.95 along half cosines
  --ema DECAY     after each step avg <- DECAY avg + (1 - DECAY) w over the
                  head's weights and BN statistics, from the initial ones
                  (as ck_ema_update); validation uses the average
  --mixup A       each batch of cached features mixed with a shuffle of
                  itself, lam ~ Beta(A, A) folded to >= 0.5, loss
                  lam CE(y) + (1 - lam) CE(y_partner); the training accuracy
                  counts the dominant label. The draws are torch's, not
                  ck's Philox streams: parity is statistical

The backbones (--arch, --layout; as ck/arch.h builds them):
  vgg16           the 13 convolutions of a Keras notop .h5 (HWIO -> OIHW)
  resnet50 keras  Keras' ResNet50 from a Keras-layout .h5 (ck-weights random
                  --arch resnet50): conv biases, the stride in the first 1x1
                  conv of a stage's first block, BN eps 1.001e-5 (eval mode),
                  conv1 7x7/2 pad 3, max-pool 3x3/2 pad 1; up to
                  conv5_block3_out
  resnet50 torchvision  torchvision's resnet50 (v1.5: stride in the 3x3) from
                  a torchvision-layout .safetensors, up to layer4
The base ends at the last stage (ck-finetune's default --features); its
NCHW output is flattened (ck flattens NHWC: the same numbers in another
order, which only permutes the head's inputs; at input 32 it is 1x1 anyway).

Two ways to run the frozen base:
  --base once     compute the frozen features once (what ck's feature cache
                  does; the parity run, and the like-for-like speed run:
                  run.sh's default)
  --base every    recompute the frozen base for every batch of every epoch
                  and for the validation set every epoch, as Keras'
                  model.fit does with a frozen base (run.sh with BASE=every)

--features PATH keeps the frozen features of --base once in a file (loaded
when it exists: the caller keys it by weights, split, size and backbone).

--time-epochs K stops after K epochs and prints the wall time extrapolated to
--epochs (the data load + setup counted once, epochs ×(epochs/K)).

Output: "seed S T" (order seed, torch seed) before each run, one line per
epoch on stdout
    epoch  E  train_loss  train_acc  val_loss  val_acc  seconds
then "total_seconds S" (and "extrapolated_seconds S" with --time-epochs).
"""
import argparse
import csv
import math
import os
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

CFG = [(1, 2), (2, 2), (3, 3), (4, 3), (5, 3)]  # (block, convolutions)
MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)
STREAM_ORDER = 0x6F726465  # ck's "orde" stream (lib/train/trainer.c)
M32 = 0xFFFFFFFF


# --- ck's sample order: Philox4x32-10 (ck/rng.h) + Fisher-Yates ------------

def philox(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        n0 = (p1 >> 32) ^ c1 ^ k0
        n2 = (p0 >> 32) ^ c3 ^ k1
        c1, c3, c0, c2 = p1 & M32, p0 & M32, n0, n2
        k0 = (k0 + 0x9E3779B9) & M32
        k1 = (k1 + 0xBB67AE85) & M32
    return [c0, c1, c2, c3]


class CkRng:
    """ck_rng_make(seed, item, copy) with copy < 2^32 and item < 2^32."""

    def __init__(self, seed, item, copy):
        self.key = [seed & M32, (seed >> 32) & M32]
        self.ctr = [item & M32, copy & M32, 0, 0]
        self.out, self.used = [0] * 4, 4

    def u32(self):
        if self.used >= 4:
            self.out = philox(self.ctr, self.key)
            self.ctr[2] = (self.ctr[2] + 1) & M32
            self.used = 0
        self.used += 1
        return self.out[self.used - 1]

    def below(self, n):  # Lemire's multiply-shift with rejection, as ck_rng_below
        m = self.u32() * n
        low = m & M32
        if low < n:
            t = ((-n) & M32) % n
            while low < t:
                m = self.u32() * n
                low = m & M32
        return m >> 32


def ck_order(seed, epoch, n):
    """Order of the training rows in ck-finetune's epoch `epoch` (1-based)."""
    a = list(range(n))
    r = CkRng(seed, epoch, STREAM_ORDER)
    for i in range(n - 1, 0, -1):
        j = r.below(i + 1)
        a[i], a[j] = a[j], a[i]
    return a


# --- data --------------------------------------------------------------------

def read_table(path):
    """(file, label) rows of a tab- or comma-separated table with a header."""
    with open(path, newline="") as f:
        text = f.read()
    delim = "\t" if "\t" in text.splitlines()[0] else ","
    rows = list(csv.reader(text.splitlines(), delimiter=delim))
    return [(r[0], r[1]) for r in rows[1:] if r]


def class_index(labels_path):
    ids = sorted((r[0] for r in read_table(labels_path)), key=lambda s: (float(s), s))
    return {lab: k for k, lab in enumerate(ids)}


def load_images(rows, images, size):
    """uint8 N×size×size×3 RGB, resized with PIL bilinear like ck."""
    out = np.empty((len(rows), size, size, 3), dtype=np.uint8)
    for i, (name, _) in enumerate(rows):
        im = Image.open(f"{images}/{name}").convert("RGB")
        if im.size != (size, size):
            im = im.resize((size, size), Image.BILINEAR)
        out[i] = np.asarray(im)
    return out


def preprocess(rgb_u8, channels_last, kind="caffe"):
    """caffe: RGB->BGR minus the ImageNet mean; torch: RGB, x/255 normalized
    by torchvision's mean and std (ck folds it into (x - 255 m) / (255 s));
    NCHW float32."""
    if kind == "caffe":
        x = torch.from_numpy(rgb_u8[..., ::-1].astype(np.float32) - MEAN_BGR)
    else:
        m, sd = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
        x = torch.from_numpy(((rgb_u8.astype(np.float32) - (255 * m).astype(np.float32))
                              * (1.0 / (255 * sd)).astype(np.float32)).astype(np.float32))
    x = x.permute(0, 3, 1, 2)
    return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


# --- model -------------------------------------------------------------------

def vgg16_base(h5path):
    """The 13 convolutions from a Keras-layout notop file (HWIO -> OIHW)."""
    layers, cin = [], 3
    with h5py.File(h5path, "r") as f:
        for block, nconv in CFG:
            for c in range(1, nconv + 1):
                name = f"block{block}_conv{c}"
                g = f[name]
                w = np.asarray(g[f"{name}_W_1:0"], dtype=np.float32)  # H W I O
                b = np.asarray(g[f"{name}_b_1:0"], dtype=np.float32)
                conv = nn.Conv2d(cin, w.shape[3], 3, padding=1)
                with torch.no_grad():
                    conv.weight.copy_(torch.from_numpy(w.transpose(3, 2, 0, 1).copy()))
                    conv.bias.copy_(torch.from_numpy(b))
                layers += [conv, nn.ReLU(inplace=True)]
                cin = w.shape[3]
            layers.append(nn.MaxPool2d(2, 2))
    base = nn.Sequential(*layers).eval()
    for p in base.parameters():
        p.requires_grad_(False)
    return base


def _h5_tensor(f, layer, kind):
    """A Keras 2 tensor "layer/kind:0" (datasets in a nested group), as float32."""
    return torch.from_numpy(np.asarray(f[layer][layer][f"{kind}:0"], dtype=np.float32).copy())


class KerasBottleneck(nn.Module):
    """conv{S}_block{B}: Keras' v1 bottleneck (stride in the first 1x1)."""

    def __init__(self, f, prefix, cin, filters, stride, shortcut_conv):
        super().__init__()
        self.c1 = _keras_conv(f, f"{prefix}_1", 1, stride, 0)
        self.c2 = _keras_conv(f, f"{prefix}_2", 3, 1, 1)
        self.c3 = _keras_conv(f, f"{prefix}_3", 1, 1, 0)
        self.b1, self.b2, self.b3 = (_keras_bn(f, f"{prefix}_{k}") for k in (1, 2, 3))
        self.c0 = _keras_conv(f, f"{prefix}_0", 1, stride, 0) if shortcut_conv else None
        self.b0 = _keras_bn(f, f"{prefix}_0") if shortcut_conv else None

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = F.relu(self.b2(self.c2(y)))
        y = self.b3(self.c3(y))
        s = self.b0(self.c0(x)) if self.c0 is not None else x
        return F.relu(s + y)


def _keras_conv(f, prefix, k, stride, pad):
    w = _h5_tensor(f, f"{prefix}_conv", "kernel")  # H W I O
    conv = nn.Conv2d(w.shape[2], w.shape[3], k, stride=stride, padding=pad)
    with torch.no_grad():
        conv.weight.copy_(w.permute(3, 2, 0, 1))
        conv.bias.copy_(_h5_tensor(f, f"{prefix}_conv", "bias"))
    return conv


def _keras_bn(f, prefix):
    g = _h5_tensor(f, f"{prefix}_bn", "gamma")
    bn = nn.BatchNorm2d(g.shape[0], eps=1.001e-5)  # Keras ResNet50's epsilon
    with torch.no_grad():
        bn.weight.copy_(g)
        bn.bias.copy_(_h5_tensor(f, f"{prefix}_bn", "beta"))
        bn.running_mean.copy_(_h5_tensor(f, f"{prefix}_bn", "moving_mean"))
        bn.running_var.copy_(_h5_tensor(f, f"{prefix}_bn", "moving_variance"))
    return bn


def resnet50_keras_base(h5path):
    """Keras' ResNet50 up to conv5_block3_out. Keras pads explicitly with
    zeros (conv1_pad 3, pool1_pad 1); padding the pool with zeros equals
    torch's -inf padding because its input is a ReLU output (>= 0)."""
    with h5py.File(h5path, "r") as f:
        layers = [_keras_conv(f, "conv1", 7, 2, 3), _keras_bn(f, "conv1"), nn.ReLU(inplace=True),
                  nn.MaxPool2d(3, 2, padding=1)]
        cin = 64
        for s, (blocks, filters) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
            for b in range(blocks):
                stride = 2 if b == 0 and s > 0 else 1
                layers.append(KerasBottleneck(f, f"conv{s + 2}_block{b + 1}", cin, filters, stride, b == 0))
                cin = 4 * filters
    return _frozen(nn.Sequential(*layers))


def read_safetensors(path):
    """{name: float32 tensor} of a .safetensors file (8-byte header length,
    JSON header, raw little-endian data); the Debian python has no
    safetensors package."""
    import json
    with open(path, "rb") as fh:
        hlen = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(hlen))
        data = fh.read()
    dtypes = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}
    out = {}
    for name, d in header.items():
        if name == "__metadata__":
            continue
        a, b = d["data_offsets"]
        if d["dtype"] == "BF16":  # the high half of a float32
            u = np.frombuffer(data[a:b], dtype=np.uint16).astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(data[a:b], dtype=dtypes[d["dtype"]]).astype(np.float32)
        out[name] = torch.from_numpy(arr.reshape(d["shape"]).copy())
    return out


def resnet50_torchvision_base(path):
    """torchvision's resnet50 (v1.5) up to layer4, from the file's tensors."""
    import torchvision
    m = torchvision.models.resnet50()
    sd = read_safetensors(path)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked") and not k.startswith("fc.")]
    if missing or unexpected:
        sys.exit(f"peer_torch.py: {path}: missing {missing[:4]}, unexpected {unexpected[:4]}")
    return _frozen(nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4))


def _frozen(base):
    base = base.eval()
    for p in base.parameters():
        p.requires_grad_(False)
    return base


def make_head(features, classes, hidden, dropout, batchnorm=False):
    """ck's head: dense -> [BN (Keras momentum 0.99, eps 1e-3)] -> relu -> dropout -> dense."""
    bn = [nn.BatchNorm1d(hidden, eps=1e-3, momentum=0.01)] if batchnorm else []
    head = nn.Sequential(nn.Flatten(), nn.Linear(features, hidden), *bn, nn.ReLU(),
                         nn.Dropout(dropout), nn.Linear(hidden, classes))
    for m in head:
        if isinstance(m, nn.Linear):  # Keras: glorot_uniform kernel, zero bias
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return head


def run_base(base, x, batch):
    with torch.inference_mode():
        return torch.cat([base(x[i:i + batch]) for i in range(0, len(x), batch)]).clone()


def evaluate(head, feats_fn, y, batch):
    head.eval()
    loss, correct = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(y), batch):
            logits = head(feats_fn(i, i + batch))
            loss += F.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(y), correct / len(y)


def onecycle(lr, epochs, pos):
    """(lr, beta1) at the fractional epoch pos, as ck_lr_get / ck_lr_momentum."""
    w = 0.25 * epochs
    cos_between = lambda a, b, p: b + (a - b) * 0.5 * (1.0 + math.cos(math.pi * min(p, 1.0)))
    if pos < w:
        p = pos / w
        return cos_between(lr / 25.0, lr, p), cos_between(0.95, 0.85, p)
    p = (pos - w) / (epochs - w)
    return cos_between(lr, lr / 1e4, p), cos_between(0.85, 0.95, p)


def averaged(head):
    """The tensors ck's EMA averages: weights and BN statistics (float)."""
    return [t for t in head.state_dict().values() if t.is_floating_point()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--arch", choices=["vgg16", "resnet50"], default="vgg16")
    ap.add_argument("--layout", choices=["keras", "torchvision"], default="keras",
                    help="resnet50: a Keras .h5 or a torchvision .safetensors")
    ap.add_argument("--input-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--batchnorm", action="store_true", help="as ck-finetune --batchnorm")
    ap.add_argument("--seed", type=int, default=1, help="ck's --seed: the sample order")
    ap.add_argument("--torch-seed", type=int, default=None, help="head init and dropout (default --seed)")
    ap.add_argument("--seeds", default=None,
                    help="e.g. 1,2,3: one run per seed (order, init, dropout), same features")
    ap.add_argument("--schedule", choices=["constant", "onecycle"], default="constant")
    ap.add_argument("--ema", type=float, default=0.0, help="as ck-finetune --ema DECAY")
    ap.add_argument("--mixup", type=float, default=0.0, help="as ck-finetune --mixup A (cached features)")
    ap.add_argument("--base", choices=["once", "every"], default="once")
    ap.add_argument("--features", default=None,
                    help="--base once: load the frozen features from this file when it exists, "
                         "else compute and save them (several recipes on the same weights, "
                         "split and size share them)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--time-epochs", type=int, default=0)
    ap.add_argument("--order", choices=["ck", "torch"], default="ck",
                    help="ck: ck-finetune's order for --seed; torch: torch.randperm")
    a = ap.parse_args()
    if a.arch == "vgg16" and a.layout != "keras":
        sys.exit("peer_torch.py: vgg16 is read from Keras-layout files only")
    if a.mixup > 0 and a.base != "once":
        sys.exit("peer_torch.py: --mixup mixes cached features: needs --base once")

    torch.set_num_threads(a.threads)
    # As ck's CPU backend: denormals flushed to zero (Adam's moments of dead
    # units decay into them and every operation on one is ~100x slower).
    torch.set_flush_denormal(True)
    t_start = time.perf_counter()
    cls = class_index(a.labels)
    tr_rows, va_rows = read_table(a.train), read_table(a.val)
    ytr = torch.tensor([cls[l] for _, l in tr_rows])
    yva = torch.tensor([cls[l] for _, l in va_rows])
    pre = "torch" if a.layout == "torchvision" else "caffe"
    xtr = preprocess(load_images(tr_rows, a.images, a.input_size), a.channels_last, pre)
    xva = preprocess(load_images(va_rows, a.images, a.input_size), a.channels_last, pre)
    if a.arch == "vgg16":
        base = vgg16_base(a.weights)
    elif a.layout == "keras":
        base = resnet50_keras_base(a.weights)
    else:
        base = resnet50_torchvision_base(a.weights)
    if a.channels_last:
        base = base.to(memory_format=torch.channels_last)
    with torch.inference_mode():  # the flattened size of the base's output
        fdim = base(xtr[:1]).numel()
    B = 64  # batch of the frozen-only passes (inference)

    if a.base == "once":
        if a.features and os.path.exists(a.features):
            ftr, fva = torch.load(a.features)
        else:
            ftr, fva = run_base(base, xtr, B), run_base(base, xva, B)
            if a.features:
                torch.save((ftr, fva), a.features)
        if ftr.shape[0] != len(ytr) or fva.shape[0] != len(yva) or ftr[0].numel() != fdim:
            sys.exit(f"peer_torch.py: {a.features} holds features of other data or another base")
        feats_tr = lambda idx: ftr[idx]
        feats_va = lambda i, j: fva[i:j]
    else:
        fmt = torch.channels_last if a.channels_last else torch.contiguous_format

        def feats_tr(idx):
            with torch.no_grad():
                return base(xtr[idx].contiguous(memory_format=fmt))
        feats_va = lambda i, j: run_base(base, xva[i:j], B)
    t_setup = time.perf_counter() - t_start
    print(f"setup_seconds\t{t_setup:.1f}", flush=True)

    n = len(ytr)
    epochs_run = a.time_epochs if 0 < a.time_epochs < a.epochs else a.epochs
    if a.seeds:  # one run per seed, as ck-finetune --seed S: order, init and dropout
        runs = [(int(v), int(v)) for v in a.seeds.split(",")]
    else:
        runs = [(a.seed, a.seed if a.torch_seed is None else a.torch_seed)]
    for oseed, ts in runs:  # every run on the same frozen features
        torch.manual_seed(ts)
        head = make_head(fdim, len(cls), a.hidden, a.dropout, a.batchnorm)
        opt = torch.optim.Adam(head.parameters(), lr=a.lr)
        ema = [t.detach().clone() for t in averaged(head)] if a.ema > 0 else None
        gmix = torch.Generator().manual_seed(ts)
        rmix = np.random.default_rng(ts)
        nb = (n + a.batch - 1) // a.batch
        print(f"seed\t{oseed}\t{ts}", flush=True)
        epoch_s = []
        for epoch in range(1, epochs_run + 1):
            t0 = time.perf_counter()
            order = ck_order(oseed, epoch, n) if a.order == "ck" else torch.randperm(n).tolist()
            order = torch.tensor(order)
            head.train()
            tl, tc = 0.0, 0
            for b, i in enumerate(range(0, n, a.batch)):
                idx = order[i:i + a.batch]
                x, y = feats_tr(idx), ytr[idx]
                if a.mixup > 0:
                    lam = float(rmix.beta(a.mixup, a.mixup))
                    lam = max(lam, 1.0 - lam)
                    perm = torch.randperm(len(idx), generator=gmix)
                    x = lam * x + (1.0 - lam) * x[perm]
                logits = head(x)
                loss = F.cross_entropy(logits, y)
                if a.mixup > 0:
                    loss = lam * loss + (1.0 - lam) * F.cross_entropy(logits, y[perm])
                if a.schedule == "onecycle":
                    lr, beta1 = onecycle(a.lr, a.epochs, epoch - 1 + b / nb)
                    for g in opt.param_groups:
                        g["lr"], g["betas"] = lr, (beta1, g["betas"][1])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if ema is not None:
                    with torch.no_grad():
                        for avg, w in zip(ema, averaged(head)):
                            avg.mul_(a.ema).add_(w, alpha=1.0 - a.ema)
                tl += loss.item() * len(idx)
                tc += (logits.argmax(1) == ytr[idx]).sum().item()
            if ema is not None:  # validate the average, keep training the weights
                trained = [t.clone() for t in averaged(head)]
                with torch.no_grad():
                    for w, avg in zip(averaged(head), ema):
                        w.copy_(avg)
            vl, vacc = evaluate(head, feats_va, yva, B)
            if ema is not None:
                with torch.no_grad():
                    for w, t in zip(averaged(head), trained):
                        w.copy_(t)
            s = time.perf_counter() - t0
            epoch_s.append(s)
            print(f"epoch\t{epoch}\t{tl / n:.4f}\t{tc / n:.4f}\t{vl:.4f}\t{vacc:.4f}\t{s:.1f}", flush=True)
            if not math.isfinite(vl):
                sys.exit("peer_torch.py: the loss diverged")
    total = time.perf_counter() - t_start
    print(f"total_seconds\t{total:.1f}")
    if epochs_run < a.epochs:
        extra = (a.epochs - epochs_run) * sum(epoch_s) / len(epoch_s)
        print(f"extrapolated_seconds\t{total + extra:.1f}\t(timed {epochs_run} of {a.epochs} epochs)")


if __name__ == "__main__":
    main()
