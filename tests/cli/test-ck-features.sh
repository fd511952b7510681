#!/usr/bin/env bash
# ck-features: rows in order with their names, the poolings against the
# unpooled maps, --layer, --tta flip against a flipped copy, the exit codes
# and nothing left behind on an error. Images from ck-synth (64 px, the
# input size, so that resizing leaves them as they are), random VGG16
# weights from ck-weights; .npy files read with od (no numpy in CI).
. "$CK_TESTDATA/lib.sh" ck-features ck-synth ck-weights ck-augment

# The header dict of a .npy file, and its data as one float per line.
npy_dict() { head -c $((10 + $(od -An -tu2 -j8 -N2 "$1"))) "$1" | tail -c +11 | tr -d '\n' | sed 's/ *$//'; }
npy_data() { od -An -v -tf4 -w4 -j $((10 + $(od -An -tu2 -j8 -N2 "$1"))) "$1" | tr -d ' '; }
# Largest |a-b| / (1e-3 + |b|) over two float lists (files).
max_rel() { paste "$1" "$2" | awk '{ d = $1 - $2; d = d < 0 ? -d : d; b = $2 < 0 ? -$2 : $2;
  r = d / (1e-3 + b); if (r > m) m = r } END { printf "%.3g\n", m + 0 }'; }
close() { [ "$(awk -v r="$1" 'BEGIN { print (r <= 1e-5) }')" = 1 ]; }
# Between runs of other batch sizes: OpenBLAS's sums for a row depend on
# the row count of the GEMM (its AVX2 kernels: up to 1.1e-4 here through
# the 13 layers); another image's row is off by order 1.
close_batch() { [ "$(awk -v r="$1" 'BEGIN { print (r <= 1e-3) }')" = 1 ]; }

ck-synth -o "$T/syn" -c 2 -n 5 -t 2 -S 64 -j 1 >/dev/null 2>&1 || { echo "FAIL: ck-synth" >&2; exit 1; }
ck-weights random --seed 11 -o "$T/w.h5" >/dev/null 2>&1 || { echo "FAIL: ck-weights random" >&2; exit 1; }
M="$T/syn/train_master.tsv"
# fp32 convolutions: auto picks Winograd by shape, so rows would move by
# ~1e-4 between runs of other batch sizes.
F="ck-features -w $T/w.h5 -j 1 --input-size 64 --conv-algo fp32"

# --help, --version, usage errors (exit 2, a hint, nothing written).
expect 0 ck-features --help
has "$out" "Usage: ck-features"
expect 0 ck-features --version
has "$out" "ck-features (ck)"
expect 2 ck-features -m "$M" -o "$T/x.npy"
has "$err" "no weights"
has "$err" "Try 'ck-features --help'"
expect 2 $F -m "$M"
has "$err" "no output"
expect 2 $F -o "$T/x.npy"
has "$err" "no images"
expect 2 $F -m "$M" -o "$T/x.npy" "$T/syn/train/train_00000.png"
expect 2 $F -m "$M" -o -
has "$err" "standard output"
expect 2 $F -m "$M" -o "$T/x.npy" --pool mean
expect 2 $F -m "$M" -o "$T/x.npy" --input-size 48
expect 2 $F -m "$M" -o "$T/x.npy" --tta rotate
expect 2 $F -m "$M" -o "$T/x.npy" --conv-algo fast
expect 2 $F -m "$M" -o "$T/x.npy" --tta flip --pool none
has "$err" "--tta goes with --pool avg or max"
expect 2 $F -m "$M" -o "$T/x.npy" --names "$T/x.npy"
expect 2 $F -m "$M" -o "$M"
has "$err" "is the input -m"
expect 2 $F -m "$M" -o "$T/x.npy" --names "$M"
has "$err" "is the input -m"
expect 2 $F -m "$M" -o ''
expect 2 $F -m "$M" -o "$T/x.npy" --names ''
# An unknown layer: exit 2 once the weights say which backbone, with names.
expect 2 $F -m "$M" -o "$T/x.npy" --layer block9_pool
has "$err" "no layer 'block9_pool' in vgg16"
has "$err" "block3_pool"
has "$err" "Try 'ck-features --help'"
[ -e "$T/x.npy" ] || [ -e "$T/x.npy.names" ] && fail "a usage error left a file"

# avg (the default): one row of 512 per image, names in manifest order.
expect 0 $F -m "$M" -i "$T/syn/train" -o "$T/avg.npy"
has "$err" "wrote $T/avg.npy (5, 512) of block5_pool (avg)"
[ "$(npy_dict "$T/avg.npy")" = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 512), }" ] ||
  fail "avg header: $(npy_dict "$T/avg.npy")"
[ $(( $(od -An -tu2 -j8 -N2 "$T/avg.npy") % 64 )) = 54 ] || fail "data not aligned to 64"
cmp -s "$T/avg.npy.names" <(tail -n +2 "$M" | cut -f1) || fail "names: $(cat "$T/avg.npy.names")"
[ $(($(stat -c %s "$T/avg.npy") - 128)) = $((5 * 512 * 4)) ] || fail "avg size $(stat -c %s "$T/avg.npy")"

# none: the maps (64 px -> 2x2x512 at block5_pool); avg and max are their
# mean and max over positions, flatten the same bytes in 2-D.
expect 0 $F -m "$M" -i "$T/syn/train" -o "$T/none.npy" --pool none --names "$T/none.txt"
[ "$(npy_dict "$T/none.npy")" = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2, 2, 512), }" ] ||
  fail "none header: $(npy_dict "$T/none.npy")"
cmp -s "$T/none.txt" "$T/avg.npy.names" || fail "--names: $(cat "$T/none.txt")"
[ -e "$T/none.npy.names" ] && fail "--names given, but OUT.npy.names written too"
npy_data "$T/none.npy" >"$T/none.f"
npy_data "$T/avg.npy" >"$T/avg.f"
# Row r, position p, channel c is line r*2048 + p*512 + c.
awk '{ r = int((NR - 1) / 2048); c = (NR - 1) % 512; s[r * 512 + c] += $1; m = r * 512 + c;
       if (!(m in x) || $1 > x[m]) x[m] = $1 }
     END { for (k = 0; k < 5 * 512; k++) { printf "%.9g\n", s[k] / 4 > "'"$T/mean.f"'";
                                             printf "%.9g\n", x[k] > "'"$T/max.f"'" } }' "$T/none.f"
r=$(max_rel "$T/avg.f" "$T/mean.f")
close "$r" || fail "avg rows differ from the mean of the maps over h,w (rel $r)"
awk '{ s += ($1 < 0 ? -$1 : $1) } END { exit !(s > 0) }' "$T/avg.f" || fail "avg rows are all zero"
expect 0 $F -m "$M" -i "$T/syn/train" -o "$T/max.npy" --pool max
npy_data "$T/max.npy" >"$T/maxr.f"
r=$(max_rel "$T/maxr.f" "$T/max.f")
[ "$r" = 0 ] || fail "max rows differ from the max of the maps over h,w (rel $r)"
cmp -s "$T/mean.f" "$T/max.f" && fail "max equals mean: the maps do not vary over positions"
expect 0 $F -m "$M" -i "$T/syn/train" -o "$T/flat.npy" --pool flatten
[ "$(npy_dict "$T/flat.npy")" = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2048), }" ] ||
  fail "flatten header: $(npy_dict "$T/flat.npy")"
cmp -s <(tail -c +129 "$T/flat.npy") <(tail -c +129 "$T/none.npy") || fail "flatten is not the maps in NHWC order"

# --layer: an earlier layer's maps (64 px -> 8x8x256 at block3_pool).
expect 0 $F -m "$M" -i "$T/syn/train" -o "$T/b3.npy" --layer block3_pool --pool none
[ "$(npy_dict "$T/b3.npy")" = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 8, 8, 256), }" ] ||
  fail "block3_pool header: $(npy_dict "$T/b3.npy")"
has "$err" "of block3_pool (none)"

# Image arguments: their order and names as given; batches of another size
# give the same rows up to summation order.
cd "$T/syn/train" || exit 1
expect 0 $F -o "$T/args.npy" -b 2 train_00004.png train_00000.png
cd - >/dev/null || exit 1
printf 'train_00004.png\ntrain_00000.png\n' | cmp -s - "$T/args.npy.names" || fail "argument names"
npy_data "$T/args.npy" >"$T/args.f"
r=$(max_rel "$T/args.f" <(sed -n '2049,2560p' "$T/avg.f"; sed -n '1,512p' "$T/avg.f"))
close_batch "$r" || fail "argument rows are not the manifest's rows 4 and 0 (rel $r)"
r=$(max_rel "$T/args.f" <(sed -n '1,512p' "$T/avg.f"; sed -n '2049,2560p' "$T/avg.f"))
close_batch "$r" && fail "rows 0 and 4 swapped pass for the argument rows (rel $r): the check cannot tell"

# --tta flip: the mean of the image's row and its mirror image's row.
ck-augment --flip h:1 -o - "$T/syn/train/train_00002.png" >"$T/flip.png" 2>/dev/null || fail "ck-augment flip"
expect 0 $F -o "$T/pair.npy" "$T/syn/train/train_00002.png" "$T/flip.png"
expect 0 $F -o "$T/tta.npy" --tta flip "$T/syn/train/train_00002.png"
npy_data "$T/pair.npy" | awk '{ v[NR] = $1 } END { for (c = 1; c <= 512; c++) printf "%.9g\n", (v[c] + v[c + 512]) / 2 }' >"$T/pair.f"
npy_data "$T/tta.npy" >"$T/tta.f"
r=$(max_rel "$T/tta.f" "$T/pair.f")
close_batch "$r" || fail "--tta flip is not the mean of the image and its mirror image (rel $r)"
cmp -s "$T/tta.f" <(sed -n '1025,1536p' "$T/avg.f") && fail "--tta flip changed nothing"

# ResNet50: the backbone is the weights file's; 2048 channels at the end.
ck-weights random --arch resnet50 --seed 5 -o "$T/r50.h5" >/dev/null 2>&1 || fail "ck-weights random --arch resnet50"
expect 0 ck-features -w "$T/r50.h5" -j 1 -m "$M" -i "$T/syn/train" -o "$T/r50.npy"
[ "$(npy_dict "$T/r50.npy")" = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2048), }" ] ||
  fail "resnet50 header: $(npy_dict "$T/r50.npy")"
has "$err" "of conv5_block3_out (avg)"
expect 2 ck-features -w "$T/r50.h5" -m "$M" -o "$T/x.npy" --layer block5_pool
has "$err" "no layer 'block5_pool' in resnet50"
has "$err" "conv5_block3_out"
# A block's add is fused into its last convolution: its value is the
# block output's; the projection shortcut, computed before, is still there.
expect 1 ck-features -w "$T/r50.h5" -j 1 -m "$M" -i "$T/syn/train" -o "$T/x.npy" --layer conv2_block1_add
has "$err" "nearest computed value is conv2_block1_out"
expect 0 ck-features -w "$T/r50.h5" -j 1 -m "$M" -i "$T/syn/train" -o "$T/b1.npy" --layer conv2_block1_0_bn --pool none
[ "$(npy_dict "$T/b1.npy")" = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 8, 8, 256), }" ] ||
  fail "conv2_block1_0_bn header: $(npy_dict "$T/b1.npy")"

# An unreadable image: exit 1 naming it, and no .npy or names file.
printf 'not a png' >"$T/syn/train/train_00003.png"
expect 1 $F -m "$M" -i "$T/syn/train" -o "$T/bad.npy"
has "$err" "train_00003.png"
[ -e "$T/bad.npy" ] || [ -e "$T/bad.npy.names" ] && fail "a failed run left a file"
ls "$T" | grep -q '\.tmp\.' && fail "a failed run left a temporary"
# ... and an earlier output stays as it was.
cp "$T/avg.npy" "$T/keep.npy"
expect 1 $F -m "$M" -i "$T/syn/train" -o "$T/avg.npy"
cmp -s "$T/avg.npy" "$T/keep.npy" || fail "a failed run changed the earlier output"

# A full disk (docs/outputs.md's hook): exit 1, nothing written.
CK_FAULT_WRITE=1:ENOSPC expect 1 $F -m "$M" -i "$T/syn/train" -o "$T/full.npy"
has "$err" "full.npy"
[ -e "$T/full.npy" ] || [ -e "$T/full.npy.names" ] && fail "a failed write left a file"

[ "$fails" = 0 ] && echo "test-ck-features: OK" || echo "test-ck-features: $fails failure(s)"
exit $((fails > 0))
