"""The package's layers import downwards only (../shared/DESIGN.md): checked on the source with ``ast``."""

import ast
import pathlib

import sb3_ddpg_ext

# Lowest first. The top-level modules (noise.py, schedules.py, __init__.py) are the public facade above ddpg/.
LAYERS = ["common", "ddpg", "diagnostics", "experiment", "report", "benchmarking", "tuning", "cli"]
PACKAGE = pathlib.Path(sb3_ddpg_ext.__file__).parent


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "sb3_ddpg_ext" or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def _imports(path: pathlib.Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def test_every_module_belongs_to_a_layer():
    names = {path.relative_to(PACKAGE).parts[0].removesuffix(".py") for path in PACKAGE.rglob("*.py")}
    facade = {"__init__", "__main__", "noise", "schedules"}
    assert names - facade == set(LAYERS)


def test_no_module_imports_from_a_layer_above_its_own():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _layer(".".join(("sb3_ddpg_ext", *path.relative_to(PACKAGE).with_suffix("").parts)))
        if here is None:
            continue
        for line, module in _imports(path):
            there = _layer(module)
            if there is not None and there > here:
                upward.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert upward == []


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from sb3_ddpg_ext.cli import main\nimport sb3_ddpg_ext.tuning.study\n")
    assert [_layer(module) for _, module in _imports(bad)] == [LAYERS.index("cli"), LAYERS.index("tuning")]
