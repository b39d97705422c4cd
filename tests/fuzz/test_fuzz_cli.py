"""Fuzz family: the command line. Hostile values for every flag of ``hwsim cost`` and ``hwsim evaluate`` and for
every key of a TOML configuration. Oracle: status 0, or 2 with one line ``hwsim: error: ...`` (argparse: its usage
and one error line); never an internal error or a traceback; a status-0 ``--json`` result is finite JSON."""
import contextlib
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile
from hwsim import backend
from hwsim.cli import main

SETTINGS = settings(max_examples=max(5, hostile.EXAMPLES // 2), deadline=None, derandomize=hostile.EXAMPLES <= 50,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
VALUES = st.sampled_from(["-1", "0", "1", "2", "8", "0.5", "1.5", "1e300", "-1e300", "nan", "inf", "-inf",
                          "2147483648", "abc", "", "dense", "ou", "clements", "reck", "isaac", "1e-320"])
TOML_VALUES = st.sampled_from(["-1", "0", "1", "0.5", "1e300", "-1e300", "nan", "inf", "2147483648", "1e-320",
                               '"x"', "true", "[1]", "4", "16"])


def _leaves(d: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        if k in ("preset", "derived"):
            continue
        out += _leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [prefix + k]
    return out


KEYS = {be.name: _leaves(be.config_to_dict(be.resolve_config())) for be in backend.backends()
        if be.name in ("reram", "photonic")}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    np.savez(d / "w.npz", a=rng.standard_normal((20, 12)), b=rng.standard_normal((5, 20)))
    return d


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse
            status = exc.code
    return status, out.getvalue(), err.getvalue()


def _check(argv: list[str]) -> None:
    status, out, err = _run(argv)
    assert status in (0, 2), (argv, status, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    if status == 2:
        lines = [l for l in err.splitlines() if "error:" in l]
        assert len(lines) == 1, (argv, err)
    elif "--json" in argv:
        obj = json.loads(out)  # allow_nan=False on our side: NaN would have been refused
        assert all(np.isfinite(v) for v in obj["total"].values() if isinstance(v, float))


@SETTINGS
@given(st.sampled_from(["reram", "photonic"]), st.data())
def test_fuzz_cost_flags(files, hardware, data):
    hostile.CASES["cli cost flags"] += 1
    flags = {"reram": ["--mapping", "--adc-bits", "--sigma", "--preset", "--seed", "--sparsity", "--pattern"],
             "photonic": ["--mesh", "--tile", "--preset", "--seed", "--sparsity", "--pattern", "--phase-noise"]}
    argv = ["cost", "--hardware", hardware, "--json"]
    argv += data.draw(st.sampled_from([["--weights", str(files / "w.npz")], ["--model", "lenet5"],
                                       ["--model", "resnet18"]]))
    for flag in data.draw(st.lists(st.sampled_from(flags[hardware]), max_size=3, unique=True)):
        argv += [flag, data.draw(VALUES)]
    _check(argv)


@SETTINGS
@given(st.sampled_from(["reram", "photonic"]), st.data())
def test_fuzz_toml_config(files, hardware, data):
    hostile.CASES["cli toml config"] += 1
    key = data.draw(st.sampled_from(KEYS[hardware]))
    table, name = key.rsplit(".", 1) if "." in key else ("", key)
    toml = (f"[{table}]\n" if table else "") + f"{name} = {data.draw(TOML_VALUES)}\n"
    path = files / f"c_{hostile.CASES['cli toml config']}.toml"
    path.write_text(toml)
    _check(["cost", "--hardware", hardware, "--config", str(path), "--weights", str(files / "w.npz"), "--json"])


@SETTINGS
@given(st.sampled_from(["reram", "photonic", None]), st.data())
def test_fuzz_evaluate_flags(hardware, data):
    hostile.CASES["cli evaluate flags"] += 1
    argv = ["evaluate", "--model", "lenet-300-100", "--limit", data.draw(st.sampled_from(["-1", "0", "3", "x"]))]
    if hardware:
        argv += ["--hardware", hardware]
        flag = {"reram": "--sigma", "photonic": "--phase-noise"}[hardware]
        if data.draw(st.booleans()):
            argv += [flag, data.draw(VALUES)]
    if data.draw(st.booleans()):
        argv += ["--seed", data.draw(VALUES)]
    _check(argv)
