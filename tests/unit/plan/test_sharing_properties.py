"""Properties of the agreement check: only terms both partners signed, between exactly the
plan's two partners however their ids are spelled, put an individual session in force."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.errors import Conflict
from services.plan.domain.sharing import in_force_of
from tests.unit.plan.support_builders import AGREEMENT, ALEX, SAM, agreement_view

SPELLINGS = (str.upper, str.title, lambda s: f" {s}\t", lambda s: unicodedata.normalize("NFD", s))
ids = st.sampled_from((ALEX, SAM, "client-earlier", "client-alex2"))


@given(
    signed=st.frozensets(st.sampled_from((ALEX, SAM))),
    mode=st.sampled_from(("no-secrets", "limited-secrets", "strict")),
)
def test_terms_are_in_force_only_when_both_partners_signed(signed: frozenset[str], mode: str):
    view = agreement_view(mode, signed=tuple(sorted(signed)))
    if signed != {ALEX, SAM}:
        with pytest.raises(Conflict) as refused:
            in_force_of(view, [ALEX, SAM])
        assert refused.value.extra["missing_agreement"]["unsigned"] == sorted({ALEX, SAM} - signed)
        return
    found = in_force_of(view, [ALEX, SAM])
    assert (found.agreement_id, found.mode) == (AGREEMENT, mode)


@given(held=st.tuples(ids, ids), how=st.integers(0, 3))
def test_an_agreement_counts_only_between_the_plans_two_partners_however_spelled(
    held: tuple[str, str], how: int
):
    view = {**agreement_view(), "partner_ids": [SPELLINGS[how](p) for p in held]}
    if sorted(held) == [ALEX, SAM]:
        assert in_force_of(view, [SAM, ALEX]).agreement_id == AGREEMENT
    else:
        with pytest.raises(Conflict):
            in_force_of(view, [ALEX, SAM])
