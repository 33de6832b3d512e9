"""The network picture: readable at 100+ nodes, escaped, and the same bytes for the same packet."""
from __future__ import annotations

import random
import re

import pytest

from duanka.publish.svg import network_svg


def graph(n: int, seed: int = 11, key_roles: int = 3, layout: bool = True) -> dict:
    rng = random.Random(seed)
    kinds = ["person", "account", "phone", "device", "case"]
    nodes = []
    for i in range(n):
        kind = "person" if i < key_roles else kinds[i % len(kinds)]
        nodes.append({"node": f"{kind}:{i:05d}", "kind": kind, "value": f"{i:05d}", "label": f"L{i}",
                      "role": "collector" if i < key_roles else "member",
                      "x": rng.random() if layout else None, "y": rng.random() if layout else None})
    edges = [[nodes[i]["node"], nodes[rng.randrange(i)]["node"], "holder"] for i in range(1, n)]
    return {"nodes": nodes, "edges": edges}


def radius(svg: str) -> float:
    return float(re.search(r'<circle [^>]*r="([\d.]+)"', svg).group(1))


CASES = [
    ("small group: every node labelled", 20, 20, 9.0),
    ("at the limit of 40: every node labelled", 40, 40, 9.0),
    ("120 nodes: only the 3 key roles labelled, smaller nodes", 120, 3, 5.2),
    ("400 nodes: smallest nodes, key roles still labelled", 400, 3, 3.0),
]


@pytest.mark.parametrize("what,n,labels,r", CASES, ids=[c[0] for c in CASES])
def test_labels_and_node_size(what: str, n: int, labels: int, r: float) -> None:
    svg = network_svg(graph(n))
    node_labels = re.findall(r'<text x="[\d.]+" y="[\d.]+" fill="#222">', svg)
    assert len(node_labels) == labels
    assert radius(svg) == pytest.approx(r, abs=0.05)
    assert svg.count("<title>") == n, "every node keeps a tooltip"
    assert svg.count("<line ") == n - 1 + 1, "every edge drawn, plus the legend rule"


def test_legend_names_roles_and_kinds() -> None:
    svg = network_svg(graph(5))
    for word in ("组织者", "收卡人", "卡农", "空壳公司", "违规网点", "账户", "电话", "设备", "案件"):
        assert word in svg


def test_text_is_escaped_and_no_url_is_named() -> None:
    g = graph(3)
    g["nodes"][0]["label"] = '<script>alert("x")</script>'
    svg = network_svg(g)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "http" not in svg


def test_nodes_without_layout_are_still_placed_and_output_is_deterministic() -> None:
    svg = network_svg(graph(12, layout=False))
    assert svg.count("<title>") == 12 and "nan" not in svg
    assert network_svg(graph(60)) == network_svg(graph(60))


def test_empty_graph_says_so() -> None:
    assert "无网络关系数据" in network_svg({"nodes": [], "edges": []})
