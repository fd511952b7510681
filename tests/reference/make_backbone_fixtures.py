#!/usr/bin/python3
"""PyTorch references for the ResNet50 and VGG19 backbones
(tests/nn/test-backbones-reference.c).

Run with Debian's Python (torch 1.13, torchvision, h5py, numpy):

    ck-weights random --arch resnet50 --layout keras --seed 21 -o /tmp/r50k.h5
    ck-weights random --arch resnet50 --layout torchvision --seed 22 -o /tmp/r50t.safetensors
    ck-weights random --arch vgg19 --layout keras --seed 23 -o /tmp/v19k.h5
    ck-weights random --arch vgg19 --layout torchvision --seed 24 -o /tmp/v19t.safetensors
    /usr/bin/python3 tests/reference/make_backbone_fixtures.py /tmp/r50k.h5 /tmp/r50t.safetensors \\
        /tmp/v19k.h5 /tmp/v19t.safetensors tests/fixtures/nn/backbones.safetensors

The C test regenerates the same four files with ck_weights_write_random
(same archs, layouts and seeds). Cases, each under its prefix:
  r50k  ResNet50 v1 as Keras builds it (stride in a stage's first 1x1 conv,
        conv biases, BN eps 1.001e-5, caffe input): a small module here,
        loaded from the Keras HDF5 (layer_names / weight_names);
  r50t  torchvision's resnet50() (v1.5), strict load of the state_dict
        (fc dropped), torch input;
  v19k  VGG19 features from the Keras HDF5, caffe input;
  v19t  torchvision's vgg19().features, strict load, torch input.
Stored per case (NHWC, Keras names):
  <case>/features32, <case>/features64  the backbone's last output
        (conv5_block3_out / block5_pool) for images32 / images64 [2,S,S,3];
  <case>/gap64/<stage end>  the global average of every stage's output at
        64 px (only to locate a divergence);
  r50*/tiny_var/pool1_pool  pool1 at 32 px with conv1_bn's moving variance
        set to 1e-6 * (1 + c) (tiny_var_case: tells BN eps 1e-5 from 1.001e-5);
ResNet cases also hold one training step at 64 px, batch 2: stages below
conv5 in eval mode (moving statistics), conv5 in train mode (batch
statistics, momentum 0.01 as ck, unbiased running variance), global average
pooling, Linear(2048 -> 4) stored as ck's head (<case>/predictions/kernel
[2048,4], /bias), mean cross-entropy against `labels`. It is done twice:
  from_input     from images64 through the whole network: <case>/from_input/
                 loss, grad/<param>/sumsq (each gradient's sum of squares),
                 after/<bn>/moving_mean and /moving_variance;
  from_features  from conv5's input <case>/conv5_input [2,4,4,1024] (conv4's
                 output rounded to float32, so both sides start from the same
                 values): the same, plus grad/<param>/sample, every
                 grad/<param>/stride-th element of the gradient in ck's
                 layout (HWIO kernels).
Why both: conv5 sees only 8 positions per channel in train mode, so its
gradients are ill-conditioned (a relative change of 1e-9 in its input moves
them by 1e-6, about 1000x) and a ReLU within float32 rounding of its kink
flips and moves them by a whole contribution. From the images, ck's
rounding in 40 frozen layers reaches conv5, so only robust sums are
compared; from the stored input, element by element. images64 is the draw
(of CANDIDATES) whose conv5 ReLUs stay farthest from their kinks
(<case>/relu_margin: smallest |input| / channel rms).
Inputs come from numpy.random.RandomState(2026) and are stored, so the C
side never re-creates them. Everything is computed in float64 from the
float32 weights and stored as float32. The script also checks its own Keras
module: built as v1.5 it must reproduce torchvision's resnet50 exactly.
"""
import copy
import json
import struct
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from make_fixtures import fixture_array, save_safetensors  # as the other fixtures

DT = torch.float64
rs = np.random.RandomState(2026)
out = {}

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN, TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
BN_MOMENTUM = 0.01   # PyTorch convention (Keras' 0.99), as ck
# Gradient tensors compared in the C test (ck's names), and the stride of
# the stored sample (1 = all of it) that keeps the fixture small.
GRADS = [("conv5_block1_0_conv/kernel", 997), ("conv5_block1_2_conv/kernel", 499),
         ("conv5_block3_3_conv/kernel", 499), ("conv5_block1_1_bn/gamma", 1),
         ("conv5_block3_3_bn/gamma", 1), ("conv5_block3_3_bn/beta", 1),
         ("predictions/kernel", 1), ("predictions/bias", 1)]
AFTER = ["conv5_block1_1_bn", "conv5_block3_3_bn"]
CANDIDATES = 16  # image draws tried for the training step (relu_margin)


def put(name, a):
    assert name not in out, name
    out[name] = fixture_array(a)


def load_safetensors(path):
    """A torchvision state_dict (float32 tensors, int64 counters)."""
    types = {"F32": np.float32, "I64": np.int64}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    sd = {}
    for name, d in header.items():
        if name == "__metadata__":
            continue
        a, b = d["data_offsets"]
        sd[name] = torch.from_numpy(np.frombuffer(data[a:b], types[d["dtype"]]).reshape(d["shape"]).copy())
    return sd


def load_keras_h5(path):
    """Canonical name ("conv1_bn/gamma") -> float32 array, following the
    file's layer_names and each layer's weight_names (Keras 1 names
    "block1_conv1_W_1:0" and Keras 2 names "conv1_bn/gamma:0" alike)."""
    kinds = {"W": "kernel", "b": "bias"}
    weights = {}
    with h5py.File(path, "r") as f:
        for layer in f.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            g = f[layer]
            for wn in g.attrs["weight_names"]:
                wn = wn.decode() if isinstance(wn, bytes) else wn
                base = wn.split(":")[0]
                kind = base.split("/")[-1] if "/" in base else kinds[base[len(layer) + 1:].split("_")[0]]
                weights[layer + "/" + kind] = np.array(g[wn], np.float32)
    return weights


def nhwc(t):
    return t.permute(0, 2, 3, 1)


def hwio_to_oihw(a):
    return torch.tensor(a, dtype=DT).permute(3, 2, 0, 1).contiguous()


def preprocess(imgs, kind):
    x = torch.tensor(imgs, dtype=DT)
    if kind == "caffe":
        x = x[..., [2, 1, 0]] - torch.tensor(CAFFE_MEAN_BGR, dtype=DT)
    else:
        x = (x / 255.0 - torch.tensor(TORCH_MEAN, dtype=DT)) / torch.tensor(TORCH_STD, dtype=DT)
    return x.permute(0, 3, 1, 2).contiguous()


# ---- ResNet50 as Keras builds it ---------------------------------------------
class Block(nn.Module):
    """Bottleneck; v1 strides the first 1x1 conv, v1.5 the 3x3."""

    def __init__(self, cin, f, stride, project, v15, bias, eps):
        super().__init__()
        s1, s2 = (1, stride) if v15 else (stride, 1)
        bn = lambda c: nn.BatchNorm2d(c, eps=eps, momentum=BN_MOMENTUM)
        self.c1, self.b1 = nn.Conv2d(cin, f, 1, s1, 0, bias=bias), bn(f)
        self.c2, self.b2 = nn.Conv2d(f, f, 3, s2, 1, bias=bias), bn(f)
        self.c3, self.b3 = nn.Conv2d(f, 4 * f, 1, 1, 0, bias=bias), bn(4 * f)
        self.c0 = nn.Conv2d(cin, 4 * f, 1, stride, 0, bias=bias) if project else None
        self.b0 = bn(4 * f) if project else None
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(self.b1(self.c1(x)))
        y = self.relu(self.b2(self.c2(y)))
        y = self.b3(self.c3(y))
        s = self.b0(self.c0(x)) if self.c0 is not None else x
        return self.relu(s + y)


class KerasResNet50(nn.Module):
    def __init__(self, v15=False, bias=True, eps=1.001e-5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=bias)
        self.bn1 = nn.BatchNorm2d(64, eps=eps, momentum=BN_MOMENTUM)
        stages, cin = [], 64
        for s, (n, f) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
            blocks = []
            for b in range(n):
                blocks.append(Block(cin, f, 2 if b == 0 and s > 0 else 1, b == 0, v15, bias, eps))
                cin = 4 * f
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)

    def modules_by_keras_name(self):
        """Keras layer name -> module."""
        m = {"conv1_conv": self.conv1, "conv1_bn": self.bn1}
        for s, stage in enumerate(self.stages):
            for b, blk in enumerate(stage):
                for k in range(4):
                    conv, bn = getattr(blk, "c%d" % k), getattr(blk, "b%d" % k)
                    if conv is not None:
                        m["conv%d_block%d_%d_conv" % (s + 2, b + 1, k)] = conv
                        m["conv%d_block%d_%d_bn" % (s + 2, b + 1, k)] = bn
        return m

    def load_canonical(self, W):
        used = set()
        with torch.no_grad():
            for name, mod in self.modules_by_keras_name().items():
                if isinstance(mod, nn.Conv2d):
                    mod.weight.copy_(hwio_to_oihw(W[name + "/kernel"]))
                    used.add(name + "/kernel")
                    if mod.bias is not None:
                        mod.bias.copy_(torch.tensor(W[name + "/bias"]))
                        used.add(name + "/bias")
                else:
                    for attr, kind in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                                       ("running_var", "moving_variance")):
                        getattr(mod, attr).copy_(torch.tensor(W[name + "/" + kind]))
                        used.add(name + "/" + kind)
        assert used == set(W), sorted(set(W) ^ used)[:5]

    def stage_outputs(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        outs = [x]
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs

    def trained_stage(self):
        return self.stages[3]


class TorchvisionResNet50:
    """torchvision's resnet50 with ck's names for what the test reads."""

    def __init__(self, sd):
        self.net = torchvision.models.resnet50()
        self.net.fc = nn.Identity()
        self.net.load_state_dict({k: v for k, v in sd.items() if not k.startswith("fc.")}, strict=True)
        for mod in self.net.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.momentum = BN_MOMENTUM
        self.net.double()

    def modules_by_keras_name(self):
        n = self.net
        m = {"conv1_conv": n.conv1, "conv1_bn": n.bn1}
        for s in range(4):
            for b, blk in enumerate(getattr(n, "layer%d" % (s + 1))):
                for k in range(1, 4):
                    m["conv%d_block%d_%d_conv" % (s + 2, b + 1, k)] = getattr(blk, "conv%d" % k)
                    m["conv%d_block%d_%d_bn" % (s + 2, b + 1, k)] = getattr(blk, "bn%d" % k)
                if blk.downsample is not None:
                    m["conv%d_block%d_0_conv" % (s + 2, b + 1)] = blk.downsample[0]
                    m["conv%d_block%d_0_bn" % (s + 2, b + 1)] = blk.downsample[1]
        return m

    def stage_outputs(self, x):
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        outs = [x]
        for s in range(4):
            x = getattr(n, "layer%d" % (s + 1))(x)
            outs.append(x)
        return outs

    def trained_stage(self):
        return self.net.layer4

    def eval(self):
        self.net.eval()

    def parameters(self):
        return self.net.parameters()


def tv_to_canonical(sd):
    """torchvision ResNet50 state_dict -> canonical (HWIO) dict."""
    tmp = TorchvisionResNet50(sd)
    W = {}
    for name, mod in tmp.modules_by_keras_name().items():
        if isinstance(mod, nn.Conv2d):
            W[name + "/kernel"] = mod.weight.detach().permute(2, 3, 1, 0).float().numpy()
        else:
            for attr, kind in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                               ("running_var", "moving_variance")):
                W[name + "/" + kind] = getattr(mod, attr).detach().float().numpy()
    return W


RESNET_STAGE_ENDS = ["pool1_pool", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out"]
VGG_STAGE_ENDS = ["block%d_pool" % (b + 1) for b in range(5)]


def features_case(tag, stage_outputs, ends, pre, images32, images64):
    with torch.no_grad():
        put(tag + "/features32", nhwc(stage_outputs(preprocess(images32, pre))[-1]))
        outs = stage_outputs(preprocess(images64, pre))
        put(tag + "/features64", nhwc(outs[-1]))
        for name, o in zip(ends, outs):
            put("%s/gap64/%s" % (tag, name), o.mean(dim=(2, 3)))


def tiny_var_case(tag, model, pre, images32):
    """pool1 at 32 px with conv1_bn's moving variance set to TINY_VAR(c):
    next to so small a variance, Keras' eps 1.001e-5 and torchvision's 1e-5
    differ by ~4e-4 in the BN scale (with the files' variances, 0.5..1.5, by
    ~1e-8: below float32 rounding), so the test can tell the two eps apart."""
    bn = model.modules_by_keras_name()["conv1_bn"]
    saved = bn.running_var.clone()
    with torch.no_grad():
        bn.running_var.copy_(torch.tensor(tiny_var(bn.num_features), dtype=DT))
        put(tag + "/tiny_var/pool1_pool", nhwc(model.stage_outputs(preprocess(images32, pre))[0]))
        bn.running_var.copy_(saved)


def tiny_var(c):
    """1e-6, 2e-6, ... (float32), as the C test sets them."""
    return np.float32(1e-6 * (1 + np.arange(c)))


def relu_margin(stage, h):
    """Smallest |input| / (its channel's rms) over every ReLU of the trained
    stage in train mode, from conv5's input h. A ReLU that close to its kink
    may flip under float32 rounding, and a flipped unit moves the gradients
    by a whole contribution (an eighth of a channel's, at 2x2 and batch 2)."""
    pres = []
    hooks = [mod.register_forward_pre_hook(lambda mod, i: pres.append(i[0].detach().clone()))
             for mod in stage.modules() if isinstance(mod, nn.ReLU)]
    start, was = copy.deepcopy(stage.state_dict()), stage.training
    stage.train()
    with torch.no_grad():
        stage(h)
    stage.load_state_dict(start)
    stage.train(was)
    for hook in hooks:
        hook.remove()
    return min(float((p.abs() / p.pow(2).mean(dim=(0, 2, 3), keepdim=True).sqrt()).min()) for p in pres)


def conv5_input(model, x):
    """conv4's output (eval mode) rounded to float32, as the C side gets it."""
    model.eval()
    with torch.no_grad():
        return model.stage_outputs(x)[-2].float().double()


def train_case(tag, model, pre, images64, labels):
    """One training step of conv5 + head, twice: from the images, and from
    conv5's input (stored); see the docstring."""
    model.eval()
    x = preprocess(images64, pre)
    with torch.no_grad():
        fstd = float(model.stage_outputs(x)[-1].mean(dim=(2, 3)).std())
    # Head scaled so that the logits are O(1) (float32 values: stored so).
    head_w = torch.tensor(np.float32(rs.standard_normal((4, 2048)) / (np.sqrt(2048) * fstd)), dtype=DT)
    head_b = torch.tensor(np.float32(rs.standard_normal(4) * 0.1), dtype=DT)
    put(tag + "/predictions/kernel", head_w.t())
    put(tag + "/predictions/bias", head_b)
    feats = conv5_input(model, x)
    put(tag + "/conv5_input", nhwc(feats))
    stage = model.trained_stage()
    start = copy.deepcopy(stage.state_dict())
    put(tag + "/relu_margin", relu_margin(stage, feats))
    mods = model.modules_by_keras_name()
    for p in model.parameters():
        p.requires_grad_(False)
    for how, run in (("from_input", lambda: model.stage_outputs(x)[-1]), ("from_features", lambda: stage(feats))):
        stage.load_state_dict(start)
        model.eval()
        stage.train()
        for p in stage.parameters():
            p.grad = None
            p.requires_grad_(True)
        hw, hb = head_w.clone().requires_grad_(True), head_b.clone().requires_grad_(True)
        z = run().mean(dim=(2, 3)) @ hw.t() + hb
        loss = F.cross_entropy(z, torch.tensor(labels, dtype=torch.long))
        loss.backward()
        pre = "%s/%s/" % (tag, how)
        put(pre + "loss", loss)
        for pname, stride in GRADS:
            layer, kind = pname.split("/")
            if layer == "predictions":
                g = hw.grad.t() if kind == "kernel" else hb.grad
            else:
                mod = mods[layer]
                g = {"kernel": mod.weight, "gamma": mod.weight, "beta": mod.bias}[kind].grad
                if kind == "kernel":
                    g = g.permute(2, 3, 1, 0)  # OIHW -> HWIO
            flat = g.contiguous().reshape(-1)
            if how == "from_features":
                put(pre + "grad/%s/sample" % pname, flat[::stride])
                put(pre + "grad/%s/stride" % pname, np.array([stride], np.int32))
            put(pre + "grad/%s/sumsq" % pname, (flat ** 2).sum())
        for bn in AFTER:
            put(pre + "after/%s/moving_mean" % bn, mods[bn].running_mean)
            put(pre + "after/%s/moving_variance" % bn, mods[bn].running_var)
    stage.load_state_dict(start)
    model.eval()


def vgg19_keras(W):
    convs = [2, 2, 4, 4, 4]

    def stage_outputs(x):
        outs = []
        for b in range(5):
            for k in range(convs[b]):
                name = "block%d_conv%d" % (b + 1, k + 1)
                x = F.relu(F.conv2d(x, hwio_to_oihw(W[name + "/kernel"]),
                                    torch.tensor(W[name + "/bias"], dtype=DT), padding=1))
            x = F.max_pool2d(x, 2)
            outs.append(x)
        return outs
    assert len(W) == 2 * sum(convs)
    return stage_outputs


def vgg19_torchvision(sd):
    features = torchvision.models.vgg19().features
    features.load_state_dict({k[len("features."):]: v for k, v in sd.items()}, strict=True)
    assert all(k.startswith("features.") for k in sd)
    features.double().eval()

    def stage_outputs(x):
        outs = []
        for layer in features:
            x = layer(x)
            if isinstance(layer, nn.MaxPool2d):
                outs.append(x)
        return outs
    return stage_outputs


def self_check(sd):
    """The Keras module built as v1.5 (stride in the 3x3, no biases, eps
    1e-5) from the torchvision weights must be torchvision's resnet50."""
    ref = TorchvisionResNet50(sd)
    mine = KerasResNet50(v15=True, bias=False, eps=1e-5)
    mine.load_canonical(tv_to_canonical(sd))
    mine.double().eval()
    ref.eval()
    x = preprocess(np.random.RandomState(1).randint(0, 256, size=(1, 64, 64, 3)).astype(np.uint8), "torch")
    with torch.no_grad():
        a, b = mine.stage_outputs(x)[-1], ref.stage_outputs(x)[-1]
    err = float((a - b).abs().max() / b.abs().max())
    assert err < 1e-12, err


def make_images(r, n, size):
    """Quadrants of different colour, gradient and noise level: unlike
    plain noise, the positions of conv5's 2x2 map then differ, so the batch
    statistics of the trained BN are not a large common mean over a small
    spread (which would make its backward ill-conditioned)."""
    imgs = np.zeros((n, size, size, 3))
    h = size // 2
    yy, xx = np.mgrid[0:h, 0:h] / h
    for i in range(n):
        for qy in range(2):
            for qx in range(2):
                base = r.uniform(0, 255, 3)
                slope = r.uniform(-80, 80, (2, 3))
                noise = r.standard_normal((h, h, 3)) * r.uniform(5, 60)
                q = base + yy[..., None] * slope[0] + xx[..., None] * slope[1] + noise
                imgs[i, qy * h:(qy + 1) * h, qx * h:(qx + 1) * h] = q
    return np.clip(np.rint(imgs), 0, 255).astype(np.uint8)


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: make_backbone_fixtures.py R50_KERAS.h5 R50_TV.safetensors VGG19_KERAS.h5 "
                 "VGG19_TV.safetensors OUT.safetensors")
    torch.manual_seed(0)
    r50t_sd = load_safetensors(sys.argv[2])
    self_check(r50t_sd)
    r50k = KerasResNet50()
    r50k.load_canonical(load_keras_h5(sys.argv[1]))
    r50k.double().eval()
    r50t = TorchvisionResNet50(r50t_sd)
    r50t.eval()

    images32 = make_images(rs, 2, 32)
    # The 64 px images of the training step: of CANDIDATES draws, the one
    # whose ReLUs in conv5 stay farthest from their kinks (relu_margin).
    best = None
    for k in range(CANDIDATES):
        imgs = make_images(np.random.RandomState(100 + k), 2, 64)
        margin = min(relu_margin(m.trained_stage(), conv5_input(m, preprocess(imgs, pre)))
                     for m, pre in ((r50k, "caffe"), (r50t, "torch")))
        if best is None or margin > best[0]:
            best = (margin, k, imgs)
    print("images64: draw %d of %d, ReLU margin %.3g" % (best[1], CANDIDATES, best[0]))
    images64 = best[2]
    labels = np.array([1, 3], np.int32)
    put("images32", images32)
    put("images64", images64)
    put("labels", labels)

    features_case("r50k", r50k.stage_outputs, RESNET_STAGE_ENDS, "caffe", images32, images64)
    tiny_var_case("r50k", r50k, "caffe", images32)
    train_case("r50k", r50k, "caffe", images64, labels)

    features_case("r50t", r50t.stage_outputs, RESNET_STAGE_ENDS, "torch", images32, images64)
    tiny_var_case("r50t", r50t, "torch", images32)
    train_case("r50t", r50t, "torch", images64, labels)

    features_case("v19k", vgg19_keras(load_keras_h5(sys.argv[3])), VGG_STAGE_ENDS, "caffe", images32, images64)
    features_case("v19t", vgg19_torchvision(load_safetensors(sys.argv[4])), VGG_STAGE_ENDS, "torch",
                  images32, images64)
    save_safetensors(sys.argv[5], out)


if __name__ == "__main__":
    main()
