"""The back-end contract (hwsim.backend): a third hardware kind from the test tree works everywhere (issue 9)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import hwsim
from hwsim import backend
from hwsim.cli import main
from hwsim.errors import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
import toy_backend  # noqa: E402


@pytest.fixture
def toy():
    be = backend.register(toy_backend.ToyBackend())
    yield be
    backend.unregister("toy")


def test_builtin_backends_satisfy_the_protocol():
    assert backend.names()[:2] == ("reram", "photonic")
    for be in backend.backends():
        assert isinstance(be, backend.Backend)
        assert be.default_preset in be.presets
        cfg = be.resolve_config()
        assert cfg == be.get_preset(be.default_preset)
        structure, tile = be.pruning_unit(cfg)
        assert structure == "xbar_tiles" and min(tile) >= 1
        json.dumps(be.config_to_dict(cfg))
        for o in be.options:
            if o.key is not None:  # every config option names a real dotted field
                value = be.config_to_dict(cfg)
                for part in o.key.split("."):
                    value = value[part]


def test_cost_with_a_third_backend(toy, capsys):
    assert main(["cost", "--hardware", "toy", "--model", "lenet5", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["hardware"] == "toy" and rep["preset"] == "small"
    import models

    net = models.get("lenet5", pretrained=True)
    nnz = sum(int(np.count_nonzero(l.effective_weight())) * l.mvms_per_inference for l in net.weighted_layers())
    static_energy = sum(l["static_power_w"] * l["latency_s"] for l in rep["layers"])
    assert rep["total"]["energy_j"] == pytest.approx(nnz * 0.23e-12 + static_energy, rel=1e-12)
    assert rep["layers"][0]["latency_s"] == pytest.approx(28 * 28 * 64 / 1e9)  # conv1: 784 MVMs x 64 rows at 1 GHz
    # its option works, is validated like TOML, and is refused for other hardware
    assert main(["cost", "--hardware", "toy", "--array-rows", "8", "--model", "lenet5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["array"]["rows"] == 8
    assert main(["cost", "--hardware", "toy", "--array-rows", "0", "--model", "lenet5"]) == 2
    assert "array.rows must be a positive integer" in capsys.readouterr().err
    assert main(["cost", "--hardware", "reram", "--array-rows", "8", "--model", "lenet5"]) == 2
    assert "--array-rows: only for --hardware toy" in capsys.readouterr().err


def test_evaluate_with_a_third_backend(toy, capsys, fmnist_test):
    assert main(["evaluate", "--model", "lenet-300-100", "--hardware", "toy", "--limit", "500", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hardware"] == "toy" and 0.8 < out["accuracy"] <= 1.0


def test_prune_with_a_third_backend(toy, tmp_path, capsys, fmnist_test):
    import models

    base = toy.cost(toy.map(models.get("lenet-300-100", pretrained=True))).total.energy_j
    assert main(["prune", "--model", "lenet-300-100", "--hardware", "toy", "--metric", "energy_j",
                 "--budget", str(0.5 * base), "--finetune-epochs", "0", "--train-limit", "6000", "--limit", "500",
                 "--out", str(tmp_path / "p.npz"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["hardware"] == "toy" and res["baseline_energy_j"] == pytest.approx(base)
    assert res["energy_j"] <= 0.5 * base and res["report"]["total"]["energy_j"] == pytest.approx(res["energy_j"])


def test_warmup_reaches_every_backend(toy):
    hwsim.warmup()
    assert toy.warmed


def test_registry_refuses_bad_backends(toy):
    with pytest.raises(ConfigError, match="already registered"):
        backend.register(toy_backend.ToyBackend())
    with pytest.raises(ConfigError, match="unknown hardware 'nope'"):
        backend.get("nope")

    class Half:
        name = "half"

    with pytest.raises(ConfigError, match="lacks"):
        backend.register(Half())


def test_dotted_overrides_are_validated_like_toml():
    from hwsim import photonic, reram

    assert reram.resolve_config(overrides={"adc.bits": 6}).adc.bits == 6
    assert photonic.resolve_config("harris2014_reck", overrides={"mesh.tile": 8}).mesh.tile == 8
    for be, key, bad, match in ((reram, "adc.resolution", 6, "unknown config key 'adc.resolution'"),
                                (reram, "adc.bits", 6.5, "'adc.bits' must be of type int"),
                                (photonic, "mesh.tile", 1, r"mesh.tile: tile size K must be an integer in \[2"),
                                (photonic, "optoelectronics.dac_energy_j", -1.0,
                                 "optoelectronics.dac_energy_j must be a finite number >= 0")):
        with pytest.raises(ConfigError, match=match):
            be.resolve_config(overrides={key: bad})


def test_no_hardware_name_decides_behaviour_outside_the_backends():
    """Outside the back-end packages, only the registry line holds a string that names a built-in back-end or its
    package (``"reram"``, ``"hwsim.photonic"``, ...); prose in docstrings, comments and help texts may mention them."""
    import ast

    names = {"reram", "photonic"}
    root = Path(hwsim.__file__).parent
    hits = []
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith(tuple(f"{n}/" for n in names)):
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                v = node.value
                if v in names or any(v == f"hwsim.{n}" or v.startswith(f"hwsim.{n}.") for n in names):
                    hits.append(f"{rel}:{node.lineno}")
    assert hits == ["backend.py:28", "backend.py:28", "backend.py:28", "backend.py:28"], hits


def _module_imports(path: Path, module: str, package: bool, names: set[str], lazy: bool) -> set[str]:
    """hwsim modules that ``module`` imports: at module level only, or (``lazy``) also inside functions."""
    import ast

    tree = ast.parse(path.read_text())
    nodes = ast.walk(tree) if lazy else (n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    base = module.split(".") if package else module.split(".")[:-1]
    out = set()
    for n in nodes:
        if isinstance(n, ast.Import):
            targets = [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            stem = ".".join(base[:len(base) - n.level + 1] + ([n.module] if n.module else [])) if n.level else n.module
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in names else stem for a in n.names]
        else:
            continue
        out |= {t for t in targets if t in names and t != module}
    return out


def _import_cycles(lazy: bool) -> list[list[str]]:
    root = Path(hwsim.__file__).parent
    files = {("hwsim." + ".".join(p.relative_to(root).with_suffix("").parts)).replace(".__init__", ""): p
             for p in root.rglob("*.py")}
    names = set(files) | {"hwsim"}
    graph = {m: _module_imports(p, m, p.name == "__init__.py", names, lazy) for m, p in files.items()}
    cycles, state = [], {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack + [t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return cycles


def test_no_import_cycles():
    """The graph of module-level imports between hwsim modules (parsed with ast) has no cycle. Imports inside
    functions are the way a back-end reaches the layers above it lazily; their cycles are listed, so a new one fails."""
    assert _import_cycles(lazy=False) == []
    lazy = {" -> ".join(c) for c in _import_cycles(lazy=True)}
    assert lazy <= LAZY_CYCLES, lazy - LAZY_CYCLES


#: The photonic back-end's ``hwsim prune --phase-power-reg`` runs hwsim.prune's phase-pruning schedules, which run
#: on hwsim.photonic's mesh physics: the back-end reaches the pruning layer above it only when the command runs.
LAZY_CYCLES = {"hwsim.photonic -> hwsim.photonic.backend -> hwsim.photonic.phase_domain -> hwsim.prune.photonic_phases"
               " -> hwsim.photonic"}
