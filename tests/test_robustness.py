"""Issue 15, nothing lost and nothing silent: one regression test per root cause, with the issue's recipe
(test names ``test_rcNN_...``), plus the atomic-output helpers and the CLI's error funnel."""
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hwsim import atomic_io
from hwsim.cli import main
from hwsim.errors import ConfigError, DataError, HwsimError, MappingError
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
