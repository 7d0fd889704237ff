"""The tree is the architecture: these keep it so as the code grows."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parent.parent / "service"
DOMAIN = SERVICE / "domain"
# Each domain package may use the shared kernel and the packages listed before it, never after.
LAYERS = ["store", "content", "search", "popularity", "recommend"]
MAX_LINES = 500


def imported(path: Path) -> set[str]:
    """Absolute names of what a module imports (relative imports resolved)."""
    package = ".".join(path.relative_to(SERVICE.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(SERVICE)): n for p in SERVICE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long


def test_the_domain_knows_nothing_of_http():
    for path in DOMAIN.rglob("*.py"):
        web = {name for name in imported(path) if name.split(".")[0] in ("flask", "flask_restx", "werkzeug")}
        assert not web, f"{path.relative_to(SERVICE)} imports {web}"


def test_domain_packages_depend_only_on_those_before_them():
    for rank, layer in enumerate(LAYERS):
        later = {f"service.domain.{name}" for name in LAYERS[rank + 1:]} | {"service.domain.indexes"}
        for path in (DOMAIN / layer).rglob("*.py"):
            wrong = {name for name in imported(path) if any(name == x or name.startswith(x + ".") for x in later)}
            assert not wrong, f"{path.relative_to(SERVICE)} ({layer}) uses {sorted(wrong)}"
