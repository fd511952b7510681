#!/usr/bin/python3
"""Reference .npy files for tests/io/test-npy.c, written by numpy itself.

    /usr/bin/python3 tests/reference/make_npy_fixtures.py tests/fixtures/npy

The C test writes the same arrays with ck_npy_create/ck_npy_write and
compares the bytes (header, padding to 64, data), and reads every file
back with ck_npy_read. Values are k/4 - 1: exact in float32, so the C side
recomputes them without rounding questions.
"""
import os
import sys

import numpy as np
from numpy.lib import format as npf


def values(shape):
    n = int(np.prod(shape)) if shape else 1
    return (np.arange(n, dtype=np.float64) / 4 - 1).astype(np.float32).reshape(shape)


def main(out):
    os.makedirs(out, exist_ok=True)
    # The shapes ck-features writes ((n, d) and (n, h, w, c)) and the edges
    # of numpy's tuple repr: one dimension "(5,)", none "()", an empty array.
    for name, shape in [("f4_3x4", (3, 4)), ("f4_2x3x3x2", (2, 3, 3, 2)), ("f4_5", (5,)),
                        ("f4_scalar", ()), ("f4_0x7", (0, 7))]:
        np.save(os.path.join(out, name + ".npy"), values(shape))
    # Readers must take format 2.0 (uint32 header length) too.
    with open(os.path.join(out, "f4_3x4_v2.npy"), "wb") as f:
        npf.write_array(f, values((3, 4)), version=(2, 0))
    # Refused by the reader, with a clear message.
    np.save(os.path.join(out, "f8_3x4.npy"), values((3, 4)).astype(np.float64))
    np.save(os.path.join(out, "f4_3x4_fortran.npy"), np.asfortranarray(values((3, 4))))


if __name__ == "__main__":
    main(sys.argv[1])
