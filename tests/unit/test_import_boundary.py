"""Only plugins/newsflow/airflow/ and dags/ may import Airflow: the package stays plain Python."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "plugins" / "newsflow"
ADAPTER = PACKAGE / "airflow"


def _airflow_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.extend(
            f"{path}:{node.lineno}: {n}" for n in names if n == "airflow" or n.startswith("airflow.")
        )
    return found


def test_no_airflow_import_outside_the_adapter() -> None:
    roots = [PACKAGE, REPO_ROOT / "bench"]
    offenders = []
    for root in roots:
        for path in root.rglob("*.py"):
            if ADAPTER in path.parents:
                continue
            offenders.extend(_airflow_imports(path))
    assert offenders == []


def test_the_scan_would_catch_an_airflow_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from airflow.sdk import dag\nimport airflow\n")
    assert len(_airflow_imports(sample)) == 2


def test_importing_every_package_module_leaves_airflow_unloaded() -> None:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ADAPTER in path.parents or path.name == "__main__.py":
            continue
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(".".join(parts))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
