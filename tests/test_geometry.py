"""autograd_cnn/_geometry.py: the output-size formula and the reach of far-padded windows,
against brute force over every small geometry."""
import itertools

from autograd_cnn._geometry import window_output_size, window_reach


def _windows(n, k, s, lo, hi, d):
    """Input positions read by each window, by sliding it one step at a time."""
    out = []
    start = -lo
    while start + d * (k - 1) <= n - 1 + hi:
        out.append([start + d * t for t in range(k)])
        start += s
    return out


def test_output_size_and_reach_against_brute_force():
    for n, k, s, lo, hi, d in itertools.product(range(1, 6), range(1, 4), range(1, 5),
                                                range(0, 8), range(0, 8), range(1, 3)):
        windows = _windows(n, k, s, lo, hi, d)
        o = window_output_size(n, k, s, lo, hi, d)
        assert o == len(windows), (n, k, s, lo, hi, d)
        if not o:
            continue
        r = window_reach(n, k, s, lo, hi, d, o)
        # windows whose extent meets the input (a dilated one may straddle it between taps)
        touching = [j for j, w in enumerate(windows) if w[0] <= n - 1 and w[-1] >= 0]
        if not touching:
            assert r.first > r.last
            continue
        assert (r.first, r.last) == (touching[0], touching[-1])
        # the cropped, re-padded axis slides the same windows over the same input positions
        m = n - r.crop[0] - r.crop[1]
        inner = _windows(m, k, s, r.pad[0], r.pad[1], d)
        assert len(inner) == r.last - r.first + 1
        for j, w in zip(touching, inner):
            assert [p + r.crop[0] for p in w] == windows[j]
        assert max(r.pad) <= d * (k - 1)
