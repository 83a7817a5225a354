"""A duration's summary read from its values sorted (each as often as it was counted), as /kpis reads each
day's values, is the summary of its histogram: the same count, sum, middle values and p90 — so the same
mean, median and p90 — whatever the values, their repeats and how the days are put together."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics import domain
from services.metrics.domain import Bucket, Summary

FIRST_RESPONSE = domain.METRICS["first_response"]
days_of_values = st.lists(st.lists(st.integers(min_value=0, max_value=400_000), max_size=40), min_size=1, max_size=12)


def histogram_summary(values: list[int]) -> Summary:
    hist = Counter(values)
    ordered = sorted(hist)
    return Summary.of_sorted(ordered, [hist[v] for v in ordered])


@settings(max_examples=300, deadline=None)
@given(days_of_values)
def test_the_summary_of_the_days_sorted_values_is_the_summary_of_their_histogram(days: list[list[int]]):
    values = sorted(v for day in days for v in day)
    if not values:
        return
    assert Summary.of_values(values) == histogram_summary(values)


@settings(max_examples=200, deadline=None)
@given(days_of_values)
def test_figures_from_the_summary_equal_the_figures_from_every_value(days: list[list[int]]):
    values = [v for day in days for v in day]
    if not values:
        return
    every, summarised = Bucket(), Bucket()
    for value, count in Counter(values).items():
        every.add(FIRST_RESPONSE.name, value, count)
    summarised.summarise(FIRST_RESPONSE.name, Summary.of_values(sorted(values)))
    assert summarised.times(FIRST_RESPONSE) == every.times(FIRST_RESPONSE)
    assert (every.median(FIRST_RESPONSE), every.p90(FIRST_RESPONSE)) == (domain.median(Counter(values)),
                                                                         domain.p90(Counter(values)))  # fmt: skip


def test_an_even_count_has_two_middle_values_and_the_p90_is_the_nearest_rank():
    assert Summary.of_values([1, 2, 3, 10]) == Summary(4, 16, 2, 3, 10)
    assert Summary.of_values([5]) == Summary(1, 5, 5, 5, 5)
    assert Summary.of_values(list(range(1, 11))) == Summary(10, 55, 5, 6, 9)  # rank ⌈0.9 × 10⌉ = 9
    assert Summary.of_values(list(range(1, 12))).p90 == 10  # rank ⌈9.9⌉ = 10
