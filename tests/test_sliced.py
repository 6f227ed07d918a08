"""codegen/sliced.py: the count limits and the layout of the sliced pointwise constants."""

from __future__ import annotations

import numpy as np

from codegen import pack
from codegen.ir import SignThreshold
from codegen.sliced import count_limit, pw_sliced_constants, sliced_words


def test_count_limit_matches_the_threshold_for_every_count():
    """acc = alpha (n - 2 count) against threshold t: the output is -1 exactly when
    (count > K) XOR negative, for every count 0..n."""
    rng = np.random.default_rng(0)
    for _ in range(3000):
        alpha = int(rng.integers(1, 50))
        n = int(rng.integers(0, 60))
        t = int(rng.integers(-alpha * (n + 3), alpha * (n + 3) + 1))
        if rng.random() < 0.05:
            t = int(rng.choice([-(1 << 30), 1 << 30]))
        negative = bool(rng.integers(0, 2))
        k = count_limit(t, negative, alpha, n)
        assert -1 <= k <= n
        for count in range(n + 1):
            acc = alpha * (n - 2 * count)
            plus = acc <= t if negative else acc >= t
            assert (not plus) == ((count > k) != negative), (t, negative, alpha, n, count)


def test_constants_layout():
    """Lane vectors [words(cout)][cin][2] and limit planes [words(cout)][2][8]."""
    rng = np.random.default_rng(1)
    cout, cin, alpha = 40, 7, 3
    codes = rng.integers(-1, 2, (cout, cin, 1, 1)).astype(np.int8)
    thr = rng.integers(-20, 21, (cout, 3)).astype(np.int32)
    direction = rng.choice(np.array([-1, 1], np.int8), cout)
    out = SignThreshold(threshold=thr, direction=direction, residual="r")
    res_c = 24
    words = pw_sliced_constants(codes, alpha, out, res_c)
    assert words.dtype == np.uint32 and words.size == sliced_words(cin, cout)
    lanes = words[:2 * 2 * cin].reshape(2, cin, 2)
    planes = words[2 * 2 * cin:].reshape(2, 2, 8)
    for o in range(cout):
        g, lane = divmod(o, 32)
        for i in range(cin):
            assert (lanes[g, i, 0] >> lane) & 1 == (codes[o, i, 0, 0] == -1)
            assert (lanes[g, i, 1] >> lane) & 1 == (codes[o, i, 0, 0] == 1)
        n = int((codes[o] != 0).sum())
        neg = bool(direction[o] < 0)
        plus, minus = (thr[o, 2], thr[o, 0]) if o < res_c else (thr[o, 1], thr[o, 1])
        for r, t in enumerate((plus, minus)):
            value = sum(((int(planes[g, r, b]) >> lane) & 1) << b for b in range(8))
            assert value == count_limit(int(t), neg, alpha, n) + 1
    assert not (planes[1] >> 8).any()  # lanes 8..31 of the second word: past cout
    assert pack.words(cout) == 2
