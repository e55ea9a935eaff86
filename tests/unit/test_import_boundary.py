"""Import boundaries the layout promises.

Only plugins/newsflow/airflow/ and dags/ import Airflow: the package stays plain Python.
Only the CLI imports the dev tooling (``newsflow.devstack``): no stage, no DAG, no Airflow
task can start a service or run ``apt-get``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "plugins" / "newsflow"
ADAPTER = PACKAGE / "airflow"
DEVSTACK = PACKAGE / "devstack"
CLI = PACKAGE / "cli"


def _imports_of(path: Path, package: str) -> list[str]:
    """``file:line: module`` for every import statement that reaches ``package`` in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from newsflow import devstack`` names the package among the imported names
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        hits = [n for n in names if n == package or n.startswith(f"{package}.")]
        if hits:
            found.append(f"{path}:{node.lineno}: {hits[0]}")
    return found


def _airflow_imports(path: Path) -> list[str]:
    return _imports_of(path, "airflow")


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


def test_only_the_cli_imports_the_dev_tooling() -> None:
    offenders = []
    for root in (PACKAGE, REPO_ROOT / "dags"):
        for path in root.rglob("*.py"):
            if DEVSTACK in path.parents or CLI in path.parents:
                continue
            offenders.extend(_imports_of(path, "newsflow.devstack"))
    assert offenders == []


def test_the_scan_would_catch_a_devstack_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from newsflow import devstack\nfrom newsflow.devstack.local_es import up\n")
    assert len(_imports_of(sample, "newsflow.devstack")) == 2


def _modules(*skip: Path) -> list[str]:
    """Dotted names of the package's modules, but those under ``skip`` and the Airflow adapter."""
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(folder in path.parents for folder in (ADAPTER, *skip)) or path.name == "__main__.py":
            continue
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(".".join(parts))
    return modules


def test_importing_the_package_leaves_airflow_and_stages_leave_devstack_unloaded() -> None:
    stages = _modules(CLI, DEVSTACK)
    everything = _modules()
    assert "newsflow.index.bulk" in stages and "newsflow.cli" not in stages
    assert "newsflow.cli" in everything and "newsflow.devstack.local_es" in everything
    code = (
        "import importlib, sys\n"
        f"for name in {stages!r}:\n    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('newsflow.devstack')))\n"
        f"for name in {everything!r}:\n    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-2:] == ["[]", "[]"]


def _private_uses(path: Path) -> list[str]:
    """Uses of the package's private names in ``path``: imported, read as attributes, or patched."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bound: set[str] = set()  # names this file binds to something of the package
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("newsflow")
        ):
            for alias in node.names:
                bound.add(alias.asname or alias.name)
                if alias.name.startswith("_"):
                    found.append(f"{path}:{node.lineno}: imports {node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            bound.update(
                a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("newsflow")
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                found.append(f"{path}:{node.lineno}: reads {node.value.id}.{node.attr}")
        elif isinstance(node, ast.Call) and len(node.args) >= 2:
            target, name = node.args[0], node.args[1]
            if (
                isinstance(target, ast.Name)
                and target.id in bound
                and isinstance(name, ast.Constant)
                and isinstance(name.value, str)
                and name.value.startswith("_")
            ):
                found.append(f"{path}:{node.lineno}: patches {target.id}.{name.value}")
    return found


def test_tests_and_bench_use_only_public_names_of_the_package() -> None:
    offenders = []
    for root in (REPO_ROOT / "tests", REPO_ROOT / "bench"):
        for path in root.rglob("*.py"):
            offenders.extend(_private_uses(path))
    assert offenders == []


def test_the_scan_would_catch_private_uses(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "from newsflow.index import bulk\nfrom newsflow.flows.plan import _fill\n"
        "bulk._plan(1)\nmonkeypatch.setattr(bulk, '_plan', None)\nself._private = 1\n"
    )
    assert len(_private_uses(sample)) == 3
