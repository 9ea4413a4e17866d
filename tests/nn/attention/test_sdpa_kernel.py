"""gt.nn.attention.SDPBackend and sdpa_kernel against torch.nn.attention: members and
values, the state restored on exit, errors; attention results unchanged inside."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.nn.attention import SDPBackend, _cur_sdpa_kernel_backends, sdpa_kernel

from .. import close, torch

tattn = pytest.importorskip("torch.nn.attention")


def test_members_and_values_match_pytorch():
    ours = {name: int(member) for name, member in SDPBackend.__members__.items()}
    theirs = {name: int(member.value) for name, member in
              tattn.SDPBackend.__members__.items()}
    assert ours == theirs
    assert str(SDPBackend.MATH) == "SDPBackend.MATH"


def test_choice_is_scoped_and_restored():
    before = _cur_sdpa_kernel_backends()
    with sdpa_kernel(SDPBackend.MATH) as ctx:
        assert ctx == {}
        assert _cur_sdpa_kernel_backends() == [SDPBackend.MATH]
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH], set_priority=True):
            assert _cur_sdpa_kernel_backends(with_priority=True) == [
                SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]
        assert _cur_sdpa_kernel_backends() == [SDPBackend.MATH]
    assert _cur_sdpa_kernel_backends() == before


@pytest.mark.parametrize("bad", ["math", 0, (SDPBackend.MATH,)])
def test_invalid_backends_raise_as_pytorch(bad):
    tbad = (tattn.SDPBackend.MATH,) if isinstance(bad, tuple) else bad
    with pytest.raises(AssertionError) as theirs, tattn.sdpa_kernel(tbad):
        pass
    with pytest.raises(AssertionError) as ours, sdpa_kernel(bad):
        pass
    assert str(ours.value) == str(theirs.value)


def test_attention_unchanged_inside():
    q = np.random.default_rng(0).standard_normal((2, 3, 5, 4)).astype(np.float32)
    with sdpa_kernel([SDPBackend.MATH]), tattn.sdpa_kernel([tattn.SDPBackend.MATH]):
        ours = gt.nn.functional.scaled_dot_product_attention(*[gt.tensor(q)] * 3,
                                                             is_causal=True)
        theirs = torch.nn.functional.scaled_dot_product_attention(*[torch.tensor(q)] * 3,
                                                                  is_causal=True)
    close(ours, theirs)
