"""gt.nn.modules.utils against torch.nn.modules.utils: the tuple parsers, the padding and
output-size helpers and consume_prefix_in_state_dict_if_present."""

from __future__ import annotations

from collections import OrderedDict

import pytest

import graphtorch as gt

from . import torch

tutils = pytest.importorskip("torch.nn.modules.utils")
gutils = gt.nn.modules.utils


@pytest.mark.parametrize("name", ["_single", "_pair", "_triple", "_quadruple"])
@pytest.mark.parametrize("value", [3, 2.5, (1, 2), [4, 5, 6], "ab", range(3)])
def test_tuple_parsers_match_pytorch(name, value):
    assert getattr(gutils, name)(value) == getattr(tutils, name)(value)
    assert getattr(gutils, name).__name__ == name


def test_ntuple_and_helpers_match_pytorch():
    assert gutils._ntuple(5)(1) == tutils._ntuple(5)(1)
    assert gutils._reverse_repeat_tuple((1, 2, 3), 2) == tutils._reverse_repeat_tuple((1, 2, 3), 2)
    assert gutils._list_with_default([None, 4], [8, 9, 10]) == \
        tutils._list_with_default([None, 4], [8, 9, 10])
    assert gutils._list_with_default(5, [1]) == 5
    for mod in (gutils, tutils):
        with pytest.raises(ValueError, match="Input dimension should be at least 3"):
            mod._list_with_default([1, 2], [3, 4])


def test_consume_prefix_matches_pytorch():
    def state():
        sd = OrderedDict([("module.a", 1), ("module.b.c", 2), ("other", 3)])
        sd._metadata = OrderedDict([("", {}), ("module", {"v": 1}), ("module.b", {"v": 2})])
        return sd
    ours, theirs = state(), state()
    gutils.consume_prefix_in_state_dict_if_present(ours, "module.")
    torch.nn.modules.utils.consume_prefix_in_state_dict_if_present(theirs, "module.")
    assert list(ours.items()) == list(theirs.items())
    assert list(ours._metadata.items()) == list(theirs._metadata.items())
