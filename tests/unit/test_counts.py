"""The one counts type: reasons under groups, merging mapped batches, nesting for the run record."""

from __future__ import annotations

import pytest

from newsflow.counts import Counts


def test_add_group_and_nest() -> None:
    counts = Counts()
    counts.add("extracted", 3)
    counts.add_reason("rejected", "paywall")
    counts.add_reason("rejected", "paywall")
    counts.add_reason("rejected", "http_404")
    counts.add("fallback", 0)  # zero adds nothing
    assert counts == {"extracted": 3, "rejected:paywall": 2, "rejected:http_404": 1}
    assert counts["missing"] == 0 and "missing" not in counts and "fallback" not in counts
    assert counts.group("rejected") == {"http_404": 1, "paywall": 2}
    assert counts.nested() == {"extracted": 3, "rejected": {"http_404": 1, "paywall": 2}}
    assert list(counts) == ["extracted", "rejected:http_404", "rejected:paywall"]


def test_merge_of_mapped_batches_and_a_name_clash() -> None:
    merged = Counts.merged([{"pages_read": 2, "rejected:empty": 1}, Counts({"pages_read": 5})])
    assert merged.to_dict() == {"pages_read": 7, "rejected:empty": 1}
    clash = Counts({"feeds": 1, "feeds:changed": 2})
    assert clash.nested() == {"feeds": {"unspecified": 1, "changed": 2}}
    with pytest.raises(TypeError, match="not an integer"):
        Counts({"seconds": 1.5})  # type: ignore[dict-item]  # what the check is for
