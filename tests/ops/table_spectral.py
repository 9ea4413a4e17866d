"""Op-table rows: istft's window-envelope check (istft_envelope_check), exercised through
stft -> istft round trips with a window tensor (the op's gradient is the identity)."""

from __future__ import annotations

from .harness import Row


def _round_trip(m, x, window):
    spec = m.stft(x, 8, hop_length=2, window=window, return_complex=True)
    return m.istft(spec * 0.5, 8, hop_length=2, window=window, length=x.shape[-1])


ROWS = [
    Row("istft_envelope_check", _round_trip, [((2, 24), (8,)), ((30,), (8,))],
        dtypes=("float32", "float64"), low=0.2, high=1.0, name="istft_window"),
]
