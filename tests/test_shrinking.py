"""benchbox.shrinking: the one shrinking interface the contract, chat and adversarial rooms use.
Pure functions over a `fails` test that here counts its calls instead of re-sending a request."""

from __future__ import annotations

from benchbox.contract.model import Contract
from benchbox.contract.shrink import batch_view, item_index, shrink
from benchbox.shrinking import bisect_prefix, confirm, ddmin


def test_bisect_finds_the_shortest_failing_prefix_and_its_witness() -> None:
    calls: list[int] = []

    def fails(rows: list[int]) -> str | None:
        calls.append(len(rows))
        return f"500 with {len(rows)} rows" if 13 in rows else None

    rows = list(range(20))
    shrunk = bisect_prefix(rows, len(rows), lambda k: rows[:k], fails)
    assert shrunk.value == list(range(14)) and shrunk.witness == "500 with 14 rows" and shrunk.minimal
    assert len(calls) <= 5  # log2(20), not one per row


def test_bisect_cut_short_is_not_minimal() -> None:
    rows = list(range(1000))
    shrunk = bisect_prefix(rows, len(rows), lambda k: rows[:k], lambda r: "x" if 999 in r else None, max_steps=2)
    assert shrunk.value == rows and shrunk.witness is None and not shrunk.minimal


def test_contract_shrink_speaks_the_same_interface() -> None:
    body = {"instances": [[0.0], [1.0], [2.0], [3.0]]}
    view = batch_view(Contract(url="http://x/predict", method="POST", protocol="json", source=None), body)
    assert view is not None and view.size == 4
    shrunk = shrink(view, lambda b: "bad" if [1.0] in b["instances"] else None)
    assert shrunk.value == {"instances": [[0.0], [1.0]]} and shrunk.witness == "bad" and shrunk.minimal


def test_a_finding_that_names_one_item_shrinks_to_that_item_alone() -> None:
    body = {"instances": [[0.0], [1.0], [2.0], [3.0]]}
    view = batch_view(Contract(url="http://x/predict", method="POST", protocol="json", source=None), body)
    assert view is not None
    sent: list[object] = []

    def bad_row(b: dict) -> str | None:
        sent.append(b)
        return "bad" if [2.0] in b["instances"] else None

    shrunk = shrink(view, bad_row, "/predictions/2/class_index")
    assert shrunk.value == {"instances": [[2.0]]} and shrunk.witness == "bad" and shrunk.minimal
    assert len(sent) == 1  # the named row was tried first, alone

    # A failure that needs the batch (the row alone passes) still falls back to the prefix.
    shrunk = shrink(view, lambda b: "bad" if len(b["instances"]) >= 3 else None, "/predictions/2/class_index")
    assert shrunk.value == {"instances": [[0.0], [1.0], [2.0]]} and shrunk.minimal


def test_item_index_reads_the_item_a_pointer_names() -> None:
    assert item_index("/predictions/12/probabilities") == 12 and item_index("/predictions/0") == 0
    assert item_index("/predictions") is None and item_index("") is None and item_index("/model_version") is None


def test_ddmin_stops_when_fails_stops_answering() -> None:
    budget = [3]

    def fails(text: str) -> str | None:
        if budget[0] == 0:
            return None
        budget[0] -= 1
        return text if "X" in text else None

    shrunk = ddmin("aaaaaaaaXaaaaaaa", fails)
    assert "X" in shrunk.value and len(shrunk.value) < 16


def test_confirm_claims_minimal_only_when_the_recheck_fails_the_same_way() -> None:
    assert confirm("case", lambda c: "same").minimal
    assert not confirm("case", lambda c: None).minimal
    assert not confirm("case", lambda c: "same", shrunk=False).minimal
