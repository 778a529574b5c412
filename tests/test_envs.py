"""requirements.txt, the conda env files and the rules agree on every pin."""

import re

import yaml
from conftest import REPO


def requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
            assert m, f"requirements.txt: {line!r} is not pinned with =="
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def env_files():
    return sorted((REPO / "envs").glob("*.yaml"))


def test_torch_is_pinned_exactly():
    pins = requirement_pins()
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"


def test_env_files_pin_what_requirements_pin():
    pins = requirement_pins()
    assert env_files()
    for path in env_files():
        env = yaml.safe_load(path.read_text())
        assert env["channels"] == ["conda-forge", "nodefaults"], path.name
        pip = [d for d in env["dependencies"] if isinstance(d, dict)]
        assert len(pip) == 1 and pip[0].get("pip"), f"{path.name}: expected one pip: section"
        for spec in pip[0]["pip"]:
            name, version = spec.split("==")
            key = name.lower().replace("_", "-")
            assert pins.get(key) == version, f"{path.name}: {spec} but requirements.txt pins {pins.get(key)}"
        conda = [d for d in env["dependencies"] if isinstance(d, str)]
        assert all(re.fullmatch(r"[a-z0-9_\-]+=[0-9.]+", d) for d in conda), f"{path.name}: unpinned {conda}"


def test_every_rule_uses_an_existing_env_file():
    used = set()
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        n_rules = len(re.findall(r"^rule \w+:", text, flags=re.M))
        envs = re.findall(r'conda:\s*\n\s*"\.\./envs/([\w\-]+\.yaml)"', text)
        assert len(envs) == n_rules, f"{smk.name}: {n_rules} rules but {len(envs)} conda: directives"
        used.update(envs)
    assert used <= {p.name for p in env_files()}
