"""Issue 15, nothing lost and nothing silent: one regression test per root cause, with the issue's recipe
(test names ``test_rcNN_...``), plus the atomic-output helpers and the CLI's error funnel."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hwsim import atomic_io
from hwsim.cli import main
from hwsim.errors import ConfigError, DataError, MappingError
from hwsim.weights_io import read_weights

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import hostile  # noqa: E402

HWSIM = [sys.executable, "-m", "hwsim"]


# ---- 1. the weights reader lets no foreign exception out ----------------------------------------------------------
@pytest.mark.parametrize("recipe", sorted(hostile.READER_RECIPES))
def test_rc01_hostile_weights_file_is_one_data_error(tmp_path, recipe, capsys):
    path = hostile.READER_RECIPES[recipe](tmp_path / f"{recipe}.npz")
    with pytest.raises(DataError, match=f"weights file '{path}'"):
        read_weights(path)
    assert main(["cost", "--hardware", "reram", "--weights", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwsim: error: weights file") and err.count("\n") == 1 and "Traceback" not in err


def test_rc01_huge_header_allocates_nothing(tmp_path):
    import tracemalloc

    path = hostile.huge_header(tmp_path / "bomb.npz")
    tracemalloc.start()
    with pytest.raises(DataError, match=r"claims shape \(1000000, 1000000\)"):
        read_weights(path)
    assert tracemalloc.get_traced_memory()[1] < 50_000_000
    tracemalloc.stop()


def test_rc01_corrupt_npy_header_is_named_not_a_pickle_problem(tmp_path):
    path = hostile.corrupt_npy_header(tmp_path / "hdr.npz")
    with pytest.raises(DataError, match="corrupt .npy header") as exc:
        read_weights(path)
    assert "pickle" not in str(exc.value)


def test_rc01_header_shape_disagreeing_with_the_data_is_refused(tmp_path):
    path = hostile.write_zip(tmp_path / "short.npz", {"fc1.npy": hostile.npy_header_claiming((4, 4))})
    with pytest.raises(DataError, match="holds 64 bytes"):
        read_weights(path)


def test_rc01_fortran_order_and_bzip2_members_still_read(tmp_path):
    w = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    path = hostile.write_zip(tmp_path / "f.npz", {"a.npy": hostile.npy_bytes(w)}, zipfile.ZIP_BZIP2)
    np.testing.assert_array_equal(read_weights(path).weights[0][1], w)


# ---- 6. output locations are checked before any work -------------------------------------------------------------
@pytest.mark.parametrize("out, problem", [("sub", "is a folder"), ("/proc/p.npz", "cannot write"),
                                          ("p.txt", "must end in .npz")])
def test_rc06_prune_out_refused_before_work(tmp_path, monkeypatch, capsys, out, problem):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    import models

    monkeypatch.setattr(models, "workload", lambda *a, **k: pytest.fail("work started before --out was checked"))
    assert main(["prune", "--model", "lenet-300-100", "--out", out]) == 2
    assert problem in capsys.readouterr().err


def test_rc06_prune_out_in_a_missing_folder_is_created_first(tmp_path):
    p = atomic_io.check_output_file(tmp_path / "a" / "b" / "p.npz", "--out", ".npz")
    assert p.parent.is_dir()


def test_rc06_phase_domain_prune_out_refused_before_work(tmp_path, monkeypatch, capsys):
    import models

    monkeypatch.setattr(models, "workload", lambda *a, **k: pytest.fail("work started before --out was checked"))
    assert main(["prune", "--model", "lenet-300-100", "--hardware", "photonic", "--phase-power-reg", "1e-4",
                 "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_rc06_demo_out_at_an_existing_file_refused_before_work(tmp_path, monkeypatch, capsys):
    import hwsim.demo as demo

    monkeypatch.setattr(demo, "_run_demo", lambda *a, **k: pytest.fail("work started before --out was checked"))
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["demo", "--out", str(f)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    assert main(["demo", "--out", str(tmp_path / "mine")]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


# ---- 10. interrupted writes destroy nothing ---------------------------------------------------------------------------
def test_rc10_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    import models
    from hwsim import prune as hp

    net = models.get("lenet-300-100", pretrained=True)
    p = hp.save(net, tmp_path / "p.npz")
    before = p.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def interrupted(*a, **k):  # the second member: a SIGINT in the middle of np.savez
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        hp.save(net.copy(), p)
    monkeypatch.undo()
    assert p.read_bytes() == before and len(calls) == 2
    assert sorted(x.name for x in tmp_path.iterdir()) == ["p.npz"]  # no temporary left behind


def test_rc10_temporaries_of_killed_writers_are_cleaned_by_the_next_write(tmp_path):
    """A SIGKILL between the temporary's creation and its rename leaves ``.hwsim-tmp-NAME.PID.*``; the next write of
    NAME deletes it when PID is gone, never a temporary a live process is writing, nor other files' temporaries."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".hwsim-tmp-r.json.{dead.pid}.abc123"
    live = tmp_path / f".hwsim-tmp-r.json.{os.getppid()}.def456"
    other = tmp_path / f".hwsim-tmp-s.json.{dead.pid}.ghi789"
    for f in (stale, live, other):
        f.write_bytes(b"partial")
    atomic_io.write_text(tmp_path / "r.json", "{}")
    assert (tmp_path / "r.json").read_text() == "{}"
    assert not stale.exists() and live.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r.json", live.name, other.name])


def test_rc10_output_folder_replaced_whole_or_not_at_all(tmp_path):
    out = tmp_path / "out"
    with atomic_io.output_folder(out) as stage:
        (stage / "a.csv").write_text("1")
    assert atomic_io.verify_folder(out)["files"].keys() == {"a.csv"}
    with pytest.raises(KeyboardInterrupt):
        with atomic_io.output_folder(out) as stage:
            (stage / "b.csv").write_text("2")
            raise KeyboardInterrupt
    assert sorted(x.name for x in out.iterdir()) == ["MANIFEST.json", "a.csv"]
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out"]
    with atomic_io.output_folder(out) as stage:
        (stage / "b.csv").write_text("2")
    assert sorted(x.name for x in out.iterdir()) == ["MANIFEST.json", "b.csv"]


def test_rc10_verify_folder_refuses_incomplete_or_tampered_folders(tmp_path):
    out = tmp_path / "out"
    with atomic_io.output_folder(out) as stage:
        (stage / "a.csv").write_text("1")
    (out / "a.csv").write_text("2")
    with pytest.raises(DataError, match="checksum"):
        atomic_io.verify_folder(out)
    (out / "MANIFEST.json").unlink()
    with pytest.raises(DataError, match="no MANIFEST.json"):
        atomic_io.verify_folder(out)


def test_rc10_sigint_prints_no_traceback_and_exits_130(monkeypatch, capsys):
    from hwsim.cli import zoo

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(zoo, "run", interrupted)
    assert main(["models"]) == 130
    assert capsys.readouterr().err == ""
    with pytest.raises(KeyboardInterrupt):
        main(["--debug", "models"])


# ---- the CLI funnel -----------------------------------------------------------------------------------------------
def test_funnel_unexpected_exception_is_one_line_traceback_only_with_debug(monkeypatch, capsys):
    from hwsim.cli import zoo

    def broken(args):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(zoo, "run", broken)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert err == "hwsim: error: internal error (RuntimeError: boom second line); rerun with --debug for the " \
                  "traceback and please report it\n"
    with pytest.raises(RuntimeError):
        main(["--debug", "models"])


def test_funnel_broken_pipe_is_quiet():
    proc = subprocess.run(f"{sys.executable} -m hwsim models | head -c 10", shell=True, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""


# ---- 2. dtypes the reader accepts are the kernels' dtypes; values outside float32's range are refused -------------
@pytest.mark.parametrize("dtype", [np.float16, ">f8", ">f4", np.longdouble])
@pytest.mark.parametrize("hardware", ["reram", "photonic"])
def test_rc02_foreign_dtypes_cost_like_float32(tmp_path, capsys, dtype, hardware):
    w = hostile.lenet_weights()
    np.savez(tmp_path / "ref.npz", **{k: v.astype(np.float16).astype(np.float32) for k, v in w.items()})
    np.savez(tmp_path / "w.npz", **{k: v.astype(dtype) for k, v in w.items()})
    out = []
    for f in ("ref.npz", "w.npz"):
        assert main(["cost", "--hardware", hardware, "--weights", str(tmp_path / f), "--json"]) == 0
        out.append(json.loads(capsys.readouterr().out)["total"])
    if dtype == np.float16:
        assert out[0] == out[1]
    else:
        assert out[0]["tiles"] == out[1]["tiles"]


@pytest.mark.parametrize("model", [None, "lenet-300-100"])
def test_rc02_weights_below_float32_range_refused_alike_with_and_without_model(tmp_path, capsys, model):
    w = {k: v.astype(np.float64) for k, v in hostile.lenet_weights().items()}
    w["fc2"] = w["fc2"] * 1e-300
    np.savez(tmp_path / "tiny.npz", **w)
    args = ["cost", "--hardware", "reram", "--weights", str(tmp_path / "tiny.npz")] + (["--model", model] if model else [])
    assert main(args) == 2
    assert "below float32's smallest" in capsys.readouterr().err


# ---- 3. fully pruned and degenerate layers work on both back-ends --------------------------------------------------
@pytest.mark.parametrize("hardware", ["reram", "photonic"])
def test_rc03_fully_pruned_layer_evaluates(tmp_path, capsys, hardware):
    import models

    net = models.get("lenet-300-100", pretrained=True)
    masks = [np.ones(l.shape, bool) for l in net.weighted_layers()]
    masks[1][:] = False
    net.set_masks(masks)
    net.save(tmp_path / "p.npz")
    assert main(["evaluate", "--model", "lenet-300-100", "--weights", str(tmp_path / "p.npz"), "--hardware",
                 hardware, "--limit", "50", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 50


@pytest.mark.parametrize("w", [np.zeros((3, 5)), np.full((1, 1), 0.7), np.full((1, 1), -2.0), np.zeros((1, 1)),
                               np.pad(np.ones((2, 2)), ((0, 30), (0, 200)))])
@pytest.mark.parametrize("hardware", ["reram", "photonic"])
def test_rc03_degenerate_matrices_cost(w, hardware):
    from hwsim import backend

    be = backend.get(hardware)
    rep = be.cost(be.map([w], be.resolve_config()))
    assert all(np.isfinite(v) for v in rep.total.to_dict().values())


@pytest.mark.parametrize("hardware", ["reram", "photonic"])
def test_rc03_smallest_subnormal_weights_refused_cleanly(hardware):
    from hwsim import backend

    be = backend.get(hardware)
    with pytest.raises(MappingError, match="below float32's smallest"):
        be.map([np.full((4, 4), 5e-324)], be.resolve_config())


# ---- 4. overflow is an error, never a silent accuracy ----------------------------------------------------------------
def test_rc04_huge_weights_refused(tmp_path, capsys):
    w = {k: v.astype(np.float64) * 1e300 for k, v in hostile.lenet_weights().items()}
    np.savez(tmp_path / "huge.npz", **w)
    assert main(["evaluate", "--model", "lenet-300-100", "--weights", str(tmp_path / "huge.npz"), "--limit", "20"]) == 2
    assert "exceeds float32's range" in capsys.readouterr().err


def test_rc04_huge_programming_file_gains_are_an_error(tmp_path, capsys):
    src = Path(__file__).parents[1] / "experiments" / "out" / "prune_photonic_final_programming.npz"
    d = dict(np.load(src))
    d["layer0.gains"] = np.full_like(d["layer0.gains"], 1e300)
    np.savez(tmp_path / "g.npz", **d)
    with pytest.warns(RuntimeWarning):
        status = main(["evaluate", "--model", "lenet-300-100", "--hardware", "photonic", "--phases",
                       str(tmp_path / "g.npz"), "--limit", "20"])
    assert status == 2 and "outputs overflowed" in capsys.readouterr().err


def test_rc04_huge_sigma_refused(capsys):
    assert main(["evaluate", "--model", "lenet-300-100", "--hardware", "reram", "--sigma", "1e300",
                 "--limit", "20"]) == 2
    assert "nonideal.sigma" in capsys.readouterr().err


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_rc04_photonic_weights_at_the_float_maximum_refused(tmp_path, capsys, json_flag):
    np.savez(tmp_path / "m.npz", a=np.full((4, 4), np.finfo(np.float64).max))
    assert main(["cost", "--hardware", "photonic", "--weights", str(tmp_path / "m.npz")] + json_flag) == 2
    err = capsys.readouterr().err
    assert "exceeds float32's range" in err and "Traceback" not in err


@pytest.mark.parametrize("toml", ["[heater]\nloss_db = 1e300\n", "[mzi]\ncoupler_loss_db = 1e300\n",
                                  "[optoelectronics]\ncoupling_loss_db = 1e300\n"])
def test_rc04_toml_losses_of_1e300_are_one_line_errors(tmp_path, capsys, toml):
    (tmp_path / "c.toml").write_text(toml)
    assert main(["cost", "--hardware", "photonic", "--config", str(tmp_path / "c.toml"), "--model", "lenet5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwsim: error: the light path of a 16-mode core loses ") and err.count("\n") == 1
    assert "more than 300 dB" in err


# ---- 5. sizes are bounded before allocation --------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["crossbar.rows", "crossbar.cols", "adc.cols_per_adc"])
def test_rc05_sizes_of_2_31_refused_with_the_range(key):
    from hwsim import reram

    with pytest.raises(ConfigError, match=rf"{key}.*\[1, 4096\], got 2147483648"):
        reram.resolve_config(overrides={key: 2**31})


# ---- 7. counts and seeds ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["evaluate", "--model", "lenet-300-100", "--limit", "-1"],
                                  ["evaluate", "--model", "lenet-300-100", "--seed", "-1"],
                                  ["cost", "--hardware", "reram", "--model", "vgg16", "--seed", "-3"],
                                  ["prune", "--model", "lenet-300-100", "--out", "p.npz", "--train-limit", "-5"],
                                  ["prune", "--model", "lenet-300-100", "--out", "p.npz", "--score-samples", "0"],
                                  ["prune", "--model", "lenet-300-100", "--out", "p.npz", "--limit", "-1"]])
def test_rc07_negative_counts_and_seeds_refused(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and "must be >= " in capsys.readouterr().err


def test_rc07_negative_limit_refused_by_the_loader():
    from models import fashion_mnist

    with pytest.raises(DataError, match="limit must be a positive integer"):
        fashion_mnist.load("test", limit=-1)


# ---- 8. every flag used or refused --------------------------------------------------------------------------------
@pytest.mark.parametrize("args, flag", [   # --sparsity on a trainable model prunes it (tests/test_cli_issue13.py)
    (["--model", "lenet5", "--sparsity", "1.5"], "--sparsity"),
    (["--model", "lenet5", "--pattern", "block"], "--pattern"),
    (["--model", "lenet5", "--sparsity", "0.5", "--pattern", "block"], "--pattern"),
    (["--weights", "w.npz", "--pattern", "magnitude"], "--pattern"),
])
def test_rc08_synthetic_sparsity_flags_refused_where_ignored(args, flag, capsys):
    assert main(["cost", "--hardware", "reram"] + args) == 2
    assert capsys.readouterr().err.startswith(f"hwsim: error: {flag}")


@pytest.mark.parametrize("extra", [["--model", "lenet-300-100"], ["--sparsity", "0.5"]])
def test_rc08_model_and_sparsity_refused_with_phases(extra, capsys):
    src = Path(__file__).parents[1] / "experiments" / "out" / "prune_photonic_final_programming.npz"
    assert main(["cost", "--hardware", "photonic", "--phases", str(src)] + extra) == 2
    assert "not with --phases" in capsys.readouterr().err


# ---- 9. HWSIM_DATA_DIR is validated like --data-dir -------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["missing", "empty", "wrong"])
def test_rc09_bad_hwsim_data_dir_refused_not_ignored(tmp_path, monkeypatch, capsys, kind):
    d = tmp_path / "d"
    if kind != "missing":
        d.mkdir()
    if kind == "wrong":
        (d / "readme.txt").write_text("not IDX")
    monkeypatch.setenv("HWSIM_DATA_DIR", str(d))
    assert main(["evaluate", "--model", "lenet-300-100", "--limit", "10"]) == 2
    assert "HWSIM_DATA_DIR" in capsys.readouterr().err


# ---- 11. the API refuses what it cannot honour ---------------------------------------------------------------------
@pytest.mark.parametrize("mvms", [1.5, 2.0, "2", True])
def test_rc11_matrix_layer_mvms_must_be_an_integer(mvms):
    from hwsim import reram
    from hwsim.workload import MatrixLayer

    with pytest.raises(MappingError, match="mvms_per_inference must be an integer"):
        reram.map([MatrixLayer("a", np.ones((2, 2)), mvms)], reram.resolve_config())


@pytest.mark.parametrize("y", [[0, 1, 10], [-1, 0, 1], [0.5, 1.0, 2.0]])
def test_rc11_accuracy_refuses_labels_out_of_range(y):
    import models

    net = models.get("lenet-300-100")
    with pytest.raises(DataError, match=r"labels must be integers in \[0, 9\]"):
        net.accuracy(np.zeros((3, 1, 28, 28), np.float32), np.array(y))


@pytest.mark.parametrize("structure, kw", [("unstructured", {}), ("block", {"block": (2, 2)})])
@pytest.mark.parametrize("fill", [np.inf, -np.inf])
def test_rc11_select_with_infinite_scores_honours_the_sparsity(structure, kw, fill):
    from hwsim.prune import select

    masks = select([np.full((8, 8), fill)], 0.5, structure=structure, **kw)
    assert masks[0].sum() == 32


def test_rc11_reconstruct_refuses_complex_phases():
    import dataclasses

    from hwsim.photonic.mesh import decompose, reconstruct

    p = decompose(np.eye(4), "clements")
    with pytest.raises(MappingError, match="theta must be real phases"):
        reconstruct(dataclasses.replace(p, theta=p.theta + 1j))


def test_funnel_debug_accepted_after_the_command(monkeypatch):
    from hwsim.cli import zoo

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(zoo, "run", broken)
    with pytest.raises(RuntimeError):
        main(["models", "--debug"])


def test_rc10_outputs_get_the_umask_permissions_not_tempfile_private_ones(tmp_path):
    """Outputs are written through tempfile (0600 files, 0700 folders); they end with the permissions a plain
    open()/mkdir() gives under the umask, so a report can be shared; a replaced file keeps its own mode."""
    import stat
    mask = os.umask(0o022)
    os.umask(mask)
    atomic_io.write_text(tmp_path / "a.txt", "x")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o666 & ~mask
    (tmp_path / "b.txt").write_text("old")
    os.chmod(tmp_path / "b.txt", 0o640)
    atomic_io.write_text(tmp_path / "b.txt", "new")
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o640
    with atomic_io.output_folder(tmp_path / "out") as stage:
        (stage / "r.csv").write_text("a\n")
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~mask
