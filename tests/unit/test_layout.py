"""The package's folders show its architecture only while no module imports its own importers."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _imports() -> dict[str, set[str]]:
    """Each module's module-level imports of other retrobatch modules."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        found: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("retrobatch"):
                found.add(node.module or "")
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[module] = found
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    for start in sorted(graph):
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = state.get(start, 1) if state.get(start) == 2 else 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif state.get(child) is None:
                state[child] = 1
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
    return None


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = _imports()
    assert "retrobatch.check.submissions" in graph  # the walk sees the package
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
