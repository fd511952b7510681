#!/usr/bin/python3
"""PyTorch reference outputs for the nn tests (tests/nn/test-parity.c).

Run with Debian's Python (torch 1.13, h5py, numpy):

    ck-weights random --seed 7 -o /tmp/vgg16-seed7.h5
    /usr/bin/python3 tests/reference/make_fixtures.py /tmp/vgg16-seed7.h5 tests/fixtures/nn

Writes two safetensors files (read in C with ck/safetensors.h):
  layers.safetensors  every layer's forward output and gradients on small
                      seeded shapes, plus optimizer steps;
  vgg16.safetensors   a VGG16 forward (32x32, batch 2) from the Keras-layout
                      weights file, the head's weights, and one training
                      step's loss and gradients (block5 trainable).
The C test regenerates the same weights file with
ck_weights_write_random_h5(path, 7, 0). Inputs come from
numpy.random.RandomState(2024) and are saved too, so the C side never
re-creates them. The references are computed in float64 (the exact answer
for the float32 inputs) and stored as float32.
"""
import json
import struct
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.set_grad_enabled(True)
DT = torch.float64
rs = np.random.RandomState(2024)
out = {}


def f32(a):
    return np.asarray(a, dtype=np.float32)


def randn(*shape, scale=1.0):
    return f32(rs.standard_normal(shape) * scale)


def T(a, grad=False):
    t = torch.tensor(np.asarray(a), dtype=DT)
    if grad:
        t.requires_grad_(True)
    return t


def fixture_array(a):
    """A tensor or array as a fixture stores it: float32, at least 1-D."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    if a.ndim == 0:
        a = a.reshape(1)
    return np.ascontiguousarray(a)


def put(name, a):
    out[name] = fixture_array(a)


def save_safetensors(path, tensors):
    codes = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8"}
    # Largest elements first keeps every tensor aligned (as ck's writer).
    items = sorted(tensors.items(), key=lambda kv: -kv[1].dtype.itemsize)
    header, blobs, off = {}, [], 0
    for name, a in items:
        b = a.tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---- Philox4x32-10, as ck/rng.h (for the dropout mask) -----------------------
def philox(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        n0 = ((p1 >> 32) ^ c1 ^ k0) & 0xFFFFFFFF
        n2 = ((p0 >> 32) ^ c3 ^ k1) & 0xFFFFFFFF
        c1, c3, c0, c2 = p1 & 0xFFFFFFFF, p0 & 0xFFFFFFFF, n0, n2
        k0 = (k0 + 0x9E3779B9) & 0xFFFFFFFF
        k1 = (k1 + 0xBB67AE85) & 0xFFFFFFFF
    return [c0, c1, c2, c3]


def dropout_mask(n, rate, seed, step):
    key = [seed & 0xFFFFFFFF, seed >> 32]
    m = np.zeros(n, np.uint8)
    for i in range(n):
        r = philox([step, i // 4, 0, 0x636B0001], key)[i % 4]
        m[i] = np.float32((r >> 8) * (1.0 / 16777216.0)) >= np.float32(rate)
    return m


def nhwc_to_nchw(t):
    return t.permute(0, 3, 1, 2)


def nchw_to_nhwc(t):
    return t.permute(0, 2, 3, 1)


def hwio_to_oihw(w):
    return w.permute(3, 2, 0, 1)


# ---- layers -------------------------------------------------------------------
def conv_case():
    x, w, b = randn(2, 6, 5, 4), randn(3, 3, 4, 5, scale=0.3), randn(5)
    dy = randn(2, 6, 5, 5)
    tx, tw, tb = T(x, True), T(w, True), T(b, True)
    y = nchw_to_nhwc(F.conv2d(nhwc_to_nchw(tx), hwio_to_oihw(tw), tb, padding=1))
    (y * T(dy)).sum().backward()
    for k, v in dict(x=x, w=w, b=b, dy=dy, y=y, y_relu=torch.relu(y), dx=tx.grad, dw=tw.grad, db=tb.grad).items():
        put("conv/" + k, v)
    # First-layer shape (3 input channels) with ReLU, forward only.
    x3, w3, b3 = randn(1, 4, 4, 3, scale=50), randn(3, 3, 3, 8, scale=0.05), randn(8)
    y3 = torch.relu(nchw_to_nhwc(F.conv2d(nhwc_to_nchw(T(x3)), hwio_to_oihw(T(w3)), T(b3), padding=1)))
    for k, v in dict(x=x3, w=w3, b=b3, y=y3).items():
        put("conv3/" + k, v)


def pool_case():
    x = randn(2, 4, 6, 3)
    x[0, 0, 0, :] = x[0, 0, 1, :] = x[0, 1, 0, :] = 5.0  # ties: the first wins
    x[1, 2:4, 2:4, 1] = 0.0                               # an all-equal window
    dy = randn(2, 2, 3, 3)
    tx = T(x, True)
    y = nchw_to_nhwc(F.max_pool2d(nhwc_to_nchw(tx), 2))
    (y * T(dy)).sum().backward()
    for k, v in dict(x=x, dy=dy, y=y, dx=tx.grad).items():
        put("maxpool/" + k, v)
    x = randn(2, 3, 4, 5)
    dy = randn(2, 5)
    tx = T(x, True)
    y = tx.mean(dim=(1, 2))
    (y * T(dy)).sum().backward()
    for k, v in dict(x=x, dy=dy, y=y, dx=tx.grad).items():
        put("gap/" + k, v)


def dense_case():
    x, w, b, dy = randn(4, 7), randn(7, 3), randn(3), randn(4, 3)
    tx, tw, tb = T(x, True), T(w, True), T(b, True)
    y = tx @ tw + tb
    (y * T(dy)).sum().backward()
    for k, v in dict(x=x, w=w, b=b, dy=dy, y=y, dx=tx.grad, dw=tw.grad, db=tb.grad).items():
        put("dense/" + k, v)


def xent_case():
    z = randn(6, 5, scale=2.0)
    labels = np.array([0, 3, 4, 1, 3, 2], np.int32)
    cw = f32([0.5, 1.0, 2.0, 1.5, 0.25])
    put("xent/logits", z)
    put("xent/labels", labels)
    put("xent/weights", cw)
    put("xent/probs", torch.softmax(T(z), 1))
    for tag, weight, smooth in [("plain", None, 0.0), ("w", cw, 0.0), ("s", None, 0.1), ("ws", cw, 0.2)]:
        tz = T(z, True)
        loss = F.cross_entropy(tz, torch.tensor(labels, dtype=torch.long),
                               weight=None if weight is None else T(weight), label_smoothing=smooth)
        loss.backward()
        put("xent/%s/loss" % tag, loss)
        put("xent/%s/dlogits" % tag, tz.grad)


def bn_case():
    x, g, b, dy = randn(6, 4, scale=3.0) + 1.0, randn(4), randn(4), randn(6, 4)
    rm, rv = randn(4, scale=0.1), f32(rs.uniform(0.5, 2.0, 4))
    momentum, eps = 0.1, 1e-3
    tx, tg, tb = T(x, True), T(g, True), T(b, True)
    trm, trv = T(rm), T(rv)
    y = F.batch_norm(tx, trm, trv, tg, tb, training=True, momentum=momentum, eps=eps)
    (y * T(dy)).sum().backward()
    for k, v in dict(x=x, gamma=g, beta=b, dy=dy, rm=rm, rv=rv, y=y, rm_new=trm, rv_new=trv, dx=tx.grad,
                     dgamma=tg.grad, dbeta=tb.grad).items():
        put("bn/" + k, v)
    y_eval = F.batch_norm(T(x), T(rm), T(rv), T(g), T(b), training=False, eps=eps)
    put("bn/y_eval", y_eval)


def dropout_case():
    n, rate, seed, step = 37, 0.3, 0x123456789ABCDEF, 7
    x, dy = randn(n), randn(n)
    m = dropout_mask(n, rate, seed, step)
    put("dropout/x", x)
    put("dropout/dy", dy)
    put("dropout/mask", m)
    put("dropout/y", T(x) * T(m.astype(np.float64)) / (1 - rate))
    put("dropout/dx", T(dy) * T(m.astype(np.float64)) / (1 - rate))


def optim_case():
    p0, g1, g2 = randn(10), randn(10), randn(10)
    put("optim/p0", p0)
    put("optim/g1", g1)
    put("optim/g2", g2)
    cases = {
        "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
        "sgd_mom": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
        "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        "sgd_wd": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
        "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
        "adam_wd": lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1),
        "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
        "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-7, weight_decay=0.01),
    }
    for name, make in cases.items():
        p = T(p0, True)
        opt = make([p])
        for k, g in enumerate([g1, g2]):
            p.grad = T(g)
            opt.step()
            put("optim/%s/p%d" % (name, k + 1), p)


# ---- VGG16 -------------------------------------------------------------------------
def load_keras_h5(path):
    weights = {}
    with h5py.File(path, "r") as f:
        for layer in f.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            g = f[layer]
            names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
            if names:
                weights[layer + "/kernel"] = np.array(g[names[0]], np.float32)
                weights[layer + "/bias"] = np.array(g[names[1]], np.float32)
    return weights


def vgg_case(h5path):
    W = load_keras_h5(h5path)
    imgs = rs.randint(0, 256, size=(2, 32, 32, 3)).astype(np.uint8)
    labels = np.array([3, 1], np.int32)
    mean = torch.tensor([103.939, 116.779, 123.68], dtype=DT)
    x = T(imgs[..., ::-1].copy()) - mean
    x = nhwc_to_nchw(x)
    params = {}
    convs = [2, 2, 3, 3, 3]
    res = {"images": imgs, "labels": labels}
    for b in range(5):
        for k in range(convs[b]):
            name = "block%d_conv%d" % (b + 1, k + 1)
            trainable = b == 4
            w, bias = T(W[name + "/kernel"], trainable), T(W[name + "/bias"], trainable)
            params[name] = (w, bias)
            x = torch.relu(F.conv2d(x, hwio_to_oihw(w), bias, padding=1))
        x = F.max_pool2d(x, 2)
        res["block%d_pool" % (b + 1)] = nchw_to_nhwc(x)
    feat = nchw_to_nhwc(x).reshape(2, -1)  # Keras' Flatten order (NHWC)
    # Head weights scaled so that the logits are O(1).
    fstd = float(feat.detach().std()) + 1e-12
    d1 = T(randn(512, 16) / (np.sqrt(512) * fstd), True)
    d1b = T(randn(16, scale=0.1), True)
    pk = T(randn(16, 5, scale=1.0 / np.sqrt(16)), True)
    pb = T(randn(5, scale=0.1), True)
    h = torch.relu(feat @ d1 + d1b)
    z = h @ pk + pb
    loss = F.cross_entropy(z, torch.tensor(labels, dtype=torch.long))
    loss.backward()
    res.update({
        "dense_1/kernel": d1, "dense_1/bias": d1b, "predictions/kernel": pk, "predictions/bias": pb,
        "probs": torch.softmax(z, 1), "loss": loss,
        "grad/predictions/kernel": pk.grad, "grad/predictions/bias": pb.grad,
        "grad/dense_1/kernel": d1.grad, "grad/dense_1/bias": d1b.grad,
        "grad/block5_conv3/bias": params["block5_conv3"][1].grad,
        "grad/block5_conv1/bias": params["block5_conv1"][1].grad,
        # A corner of each big kernel gradient plus its full sum of squares.
        "grad/block5_conv1/kernel_corner": params["block5_conv1"][0].grad[:, :, :8, :8],
        "grad/block5_conv3/kernel_corner": params["block5_conv3"][0].grad[:, :, :8, :8],
    })
    for name in ("block5_conv1", "block5_conv2", "block5_conv3"):
        res["grad/%s/kernel_sumsq" % name] = (params[name][0].grad ** 2).sum()
    for k, v in res.items():
        put(k, v)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_fixtures.py WEIGHTS.h5 OUTDIR")
    torch.manual_seed(0)
    conv_case()
    pool_case()
    dense_case()
    xent_case()
    bn_case()
    dropout_case()
    optim_case()
    save_safetensors(sys.argv[2] + "/layers.safetensors", dict(out))
    out.clear()
    vgg_case(sys.argv[1])
    save_safetensors(sys.argv[2] + "/vgg16.safetensors", dict(out))


if __name__ == "__main__":
    main()
