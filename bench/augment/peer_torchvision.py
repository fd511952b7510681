#!/usr/bin/python3
"""The peer of ck-augment for bench/augment/run.sh: the same pipeline written
the way a torchvision user would (PIL decode, RandomResizedCrop, RandomAffine
rotation + translation, horizontal flip, RandomErasing, PIL encode).

  peer_torchvision.py --list FILES.txt --images DIR --out DIR [--size 32]
                      [--format png|jpg] [--procs N]
  peer_torchvision.py --make-jpegs DIR --from DIR --count N [--side 256]

Prints "loop_seconds S": the wall time from the first worker's first image
to the last worker's last image, that is without Python's start-up (the
interpreter, import torch/torchvision in each worker), which the time of the
whole command includes. The workers wait for each other after their imports,
so that their loops run side by side, not beside another's import.
"""
import argparse
import multiprocessing as mp
import os
import sys
import time


def work(args, names, worker, barrier=None):
    import torch
    from PIL import Image
    from torchvision import transforms as T

    torch.set_num_threads(1)
    torch.manual_seed(1234 + worker)
    pipe = T.Compose([
        T.RandomResizedCrop(args.size, scale=(0.8, 1.0)),
        T.RandomAffine(degrees=15, translate=(0.1, 0.1),
                       interpolation=T.InterpolationMode.BILINEAR),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.RandomErasing(p=0.5),
        T.ToPILImage(),
    ])
    ext = "jpg" if args.format == "jpg" else "png"
    if barrier is not None:
        barrier.wait(timeout=600)
    start = time.time()  # wall clock, comparable across the workers
    for name in names:
        with Image.open(os.path.join(args.images, name)) as im:
            out = pipe(im.convert("RGB"))
        stem = os.path.splitext(os.path.basename(name))[0]
        path = os.path.join(args.out, f"{stem}_aug00.{ext}")
        if ext == "jpg":
            out.save(path, quality=args.quality)
        else:
            out.save(path)
    return start, time.time()


def run_worker(args, names, worker, barrier, results):
    results.put(work(args, names, worker, barrier))


def make_jpegs(args):
    from PIL import Image, ImageFilter
    os.makedirs(args.make_jpegs, exist_ok=True)
    names = sorted(f for f in os.listdir(getattr(args, "from")) if f.endswith(".png"))
    for i in range(args.count):
        src = os.path.join(getattr(args, "from"), names[i % len(names)])
        with Image.open(src) as im:
            big = im.convert("RGB").resize((args.side, args.side), Image.BICUBIC)
            big = big.filter(ImageFilter.DETAIL)
            big.save(os.path.join(args.make_jpegs, f"photo_{i:05d}.jpg"), quality=90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list")
    ap.add_argument("--images", default=".")
    ap.add_argument("--out")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--format", default="png")
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--make-jpegs")
    ap.add_argument("--from")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--side", type=int, default=256)
    args = ap.parse_args()
    if args.make_jpegs:
        make_jpegs(args)
        return
    with open(args.list) as f:
        names = [line.strip() for line in f if line.strip()]
    os.makedirs(args.out, exist_ok=True)
    if args.procs <= 1:
        spans = [work(args, names, 0)]
    else:
        barrier, results = mp.Barrier(args.procs), mp.Queue()
        procs = [mp.Process(target=run_worker, args=(args, names[k::args.procs], k, barrier, results))
                 for k in range(args.procs)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        if any(p.exitcode != 0 for p in procs):
            sys.exit("peer_torchvision.py: a worker failed")
        spans = [results.get() for _ in procs]
    print(f"loop_seconds\t{max(e for _, e in spans) - min(s for s, _ in spans):.4f}")


if __name__ == "__main__":
    sys.exit(main())
