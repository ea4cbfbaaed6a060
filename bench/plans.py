"""Walking PostgreSQL's EXPLAIN (FORMAT JSON) plans: every node, and the tables scanned.

Used by bench/scale_bench.py (partition pruning at 1 M and 10 M documents) and by
tests/test_registry_partitions.py (the same question asked of small tables).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def plan_nodes(plan: Any) -> Iterator[dict[str, Any]]:
    """Every node of a plan as EXPLAIN returned it: a list, a {"Plan": …} or its JSON text."""
    if isinstance(plan, str):
        plan = json.loads(plan)
    if isinstance(plan, list):
        for item in plan:
            yield from plan_nodes(item)
        return
    node = plan.get("Plan", plan)
    yield node
    for child in node.get("Plans", ()):
        yield from plan_nodes(child)


def scans(plan: Any) -> Iterator[tuple[str, int]]:
    """(table, times run) of each scan node; the count is 0 without ANALYZE or when pruned
    at execution."""
    for node in plan_nodes(plan):
        if "Relation Name" in node:
            yield node["Relation Name"], node.get("Actual Loops", 0)
