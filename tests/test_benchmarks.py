"""The benchmark suite runs end to end (tiny sizes) and writes a consistent report, so it cannot rot."""

import json
import subprocess
import sys

import pytest

from benchmarks import run as bench
from benchmarks import training

# The benchmark suite is a maintainer tool, run on the default (TensorFlow) backend: its report compares
# TensorFlow's configurations (XLA, steps per execution) with PyTorch eager. Running its tiny configuration
# on one backend keeps it from rotting; on JAX it cost 64 s of CI's 30-minute budget.
pytestmark = pytest.mark.backends("tensorflow", reason="the benchmark suite runs on the default TensorFlow backend")


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    """Run the entry point's main() (what `python benchmarks/run.py` and `python -m benchmarks` call) in its
    tiny configuration, without PyTorch and notebooks. In-process: a subprocess would add a TensorFlow import."""
    out = tmp_path_factory.mktemp("bench")
    assert bench.main(["--tiny", "--no-torch", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text()), (out / "report.md").read_text()


def test_script_and_module_entry_points_parse_their_arguments():
    # The two command lines a user types; --help exits before any measurement.
    for command in ([str(bench.ROOT / "benchmarks" / "run.py")], ["-m", "benchmarks"]):
        done = subprocess.run([sys.executable, *command, "--help"], capture_output=True, text=True,
                              cwd=bench.ROOT, timeout=120)
        assert done.returncode == 0 and "--quick" in done.stdout, done.stderr[-2000:]


def test_entry_point_writes_report_json_and_plot(tiny_report):
    out, results, report = tiny_report
    assert (out / "throughput.png").stat().st_size > 1000
    assert results["preset"] == "tiny" and results["notebooks"] == []
    for section in ("## 1. SimpleCNN", "## 2. Convolutions", "## 3. The NumPy", "## 4. Input", "## 5. Notebooks",
                    "## 6. Pretrained EfficientNet-Lite0"):
        assert section in report


def test_training_section_is_consistent(tiny_report):
    _, results, report = tiny_report
    tr = results["training"]
    assert tr["params_keras"] == 620_362  # the seed's SimpleCNN (the PyTorch model has the same count)
    assert tr["torch"] == "not measured (--no-torch)" and tr["params_torch"] is None
    assert "PyTorch eager: not measured" in report
    rows = {r["config"]: r for r in tr["rows"]}
    assert set(rows) == {label for label, _, _ in training.configurations(False, tr["backend"])}
    if tr["backend"] == "tensorflow":
        assert rows["keras fit, XLA on"]["jit_compile"] and not rows["keras fit, XLA off"]["jit_compile"]
        assert rows["keras fit, 16 steps/execution"]["steps_per_execution"] == 16
        # cnnkit's defaults match one plain-Keras configuration, which measures its overhead.
        assert rows["cnnkit fit"]["steps_per_execution"] == 16 and not rows["cnnkit fit"]["jit_compile"]
        assert "cnnkit fit / keras fit, 16 steps/execution (identical settings), training" in tr["ratios"]
    for r in rows.values():
        assert r["train_images_per_s"] > 0 and r["infer_images_per_s"] > 0
        assert len(r["train_seconds"]) == tr["repeats"]
    ratio = tr["ratios"]["cnnkit fit / keras fit (each with its defaults), training"]
    assert ratio == pytest.approx(rows["cnnkit fit"]["train_images_per_s"] / rows["keras fit"]["train_images_per_s"])


def test_compute_and_pipeline_sections(tiny_report):
    _, results, _ = tiny_report
    conv = results["conv"]
    # SimpleCNN's three convs: 32*32*32*27 + 16*16*64*288 + 8*8*128*576 MACs per image.
    assert conv["conv_macs_per_image"] == 32 * 32 * 32 * 27 + 16 * 16 * 64 * 288 + 8 * 8 * 128 * 576
    assert [r["layer"] for r in conv["layers"]] == ["conv1", "conv2", "conv3"]
    assert results["matmul"]["peak_gflops"] > 0
    ref = results["reference_conv"]
    assert ref["max_abs_difference"] < 1e-3
    assert [r["method"] for r in ref["rows"]] == ["numpy loops", "numpy im2col", "keras Conv2D"]
    assert all(p["per_s"] > 0 for p in results["pipeline"]["generators"] + results["pipeline"]["feeding"])


def test_pretrained_section_measures_the_imagenet_model(tiny_report):
    """Latencies are recorded, never asserted: the section must run and describe the right model."""
    _, results, report = tiny_report
    pre = results["pretrained"]
    assert pre["params_trainable"] == 4_652_008 and pre["input"] == [224, 224, 3]
    assert pre["top1"]["index"] in range(281, 286)  # Chelsea is a cat: the timed model is the real one
    assert [r["method"] for r in pre["latency"]] == ["predict_on_batch", "model(x, training=False)"]
    assert all(r["median_ms"] > 0 and len(r["times_ms"]) == r["calls"] for r in pre["latency"])
    assert pre["best_median_ms"] == min(r["median_ms"] for r in pre["latency"])
    assert pre["meets_target"] == (pre["best_median_ms"] < pre["target_ms"]) and pre["target_ms"] == 100
    assert f"Target < 100 ms per photo: {'met' if pre['meets_target'] else 'NOT met'}" in report


def test_report_says_when_pytorch_is_not_installed(monkeypatch, tiny_report):
    monkeypatch.setattr(training, "torch_version", lambda: None)
    assert training.torch_status(use_torch=True) == (None, "not installed")
    assert "pytorch eager" not in [label for label, _, _ in training.configurations(False)]
    assert [label for label, _, _ in training.configurations(True)][-1] == "pytorch eager"
    assert "keras fit, XLA on" not in [label for label, _, _ in training.configurations(False, "torch")]
    _, results, _ = tiny_report
    results = json.loads(json.dumps(results))
    results["training"]["torch"] = "not installed"
    assert "PyTorch eager: not installed" in bench.markdown(results)


def test_arguments():
    assert bench.parse_args(["--quick"]).notebooks == "none"
    assert bench.parse_args([]).notebooks == "quick" and bench.parse_args([]).preset == "full"
    assert bench.parse_args(["--tiny", "--notebooks", "full"]).notebooks == "full"
    with pytest.raises(SystemExit):
        bench.parse_args(["--quick", "--tiny"])


def _cpuinfo(vendor: str, family: int, flags: str, mhz: float = 2600.0) -> str:
    return (f"processor : 0\nvendor_id : {vendor}\ncpu family : {family}\nmodel : 17\nmodel name : test CPU\n"
            f"cpu MHz : {mhz}\nflags : fpu sse sse2 {flags}\n\nprocessor : 1\nvendor_id : other\n")


@pytest.mark.parametrize("vendor, family, flags, per_cycle", [
    ("AuthenticAMD", 25, "avx avx2 fma avx512f", 32),   # Zen 4: AVX-512 on 256-bit pipes
    ("AuthenticAMD", 26, "avx avx2 fma avx512f", 64),   # Zen 5: full 512-bit pipes
    ("GenuineIntel", 6, "avx avx2 fma avx512f", 64),
    ("GenuineIntel", 6, "avx avx2 fma", 32),
    ("GenuineIntel", 6, "avx", 16),
    ("GenuineIntel", 6, "", 8),
])
def test_theoretical_peak_is_cores_times_flops_per_cycle_times_clock(vendor, family, flags, per_cycle):
    from benchmarks import compute

    peak = compute.cpu_peak(_cpuinfo(vendor, family, flags), cores=2)
    assert peak["flops_per_cycle"] == per_cycle and peak["family"] == family
    if not compute.Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").exists():
        assert peak["clock_ghz"] == pytest.approx(2.6)
    assert peak["peak_gflops"] == pytest.approx(2 * per_cycle * peak["clock_ghz"], abs=0.05)


def test_measured_clock_counts_one_addition_per_cycle():
    """The clock program's additions per second are a plausible clock: a loop the compiler
    removed, or additions overlapped instead of chained, would give tens of GHz."""
    from benchmarks import compute

    # 50 M iterations, as the report. CI on an Intel Xeon read 17.3 GHz with add-immediate chains
    # (folded at rename since Golden Cove): the program now adds a register.
    ghz, how = compute.measured_clock_ghz(cores=1, iterations=50_000_000, trials=1)
    if compute.shutil.which("cc") is None and compute.shutil.which("gcc") is None and compute.shutil.which("clang") is None:
        assert ghz is None and "compiler" in how
        return
    assert ghz is not None, how
    assert 0.5 < ghz < 7.0, f"expected a CPU clock between 0.5 and 7 GHz, received {ghz} GHz ({how})"


def test_measured_clock_raises_the_peak_above_a_base_clock():
    from benchmarks import compute

    cpuinfo = _cpuinfo("GenuineIntel", 6, "avx avx2 fma", mhz=100.0)  # a clock below any real one
    peak = compute.cpu_peak(cpuinfo, cores=1, measure_clock=True)
    if peak["clock_source"].startswith("measured"):
        assert peak["clock_ghz"] > 0.5 and peak["reported_clock_ghz"] == pytest.approx(0.1)
        assert peak["peak_gflops"] == pytest.approx(32 * peak["clock_ghz"], abs=0.05)
    else:  # no C compiler: the reported clock stands, and the source says why it was not measured
        assert peak["clock_ghz"] == pytest.approx(0.1), peak["clock_source"]


def test_efficiencies_are_quoted_against_a_possible_peak(tiny_report):
    _, results, report = tiny_report
    mm = results["matmul"]
    theoretical = mm["theoretical"]["peak_gflops"]
    assert "Theoretical float32 peak" in report and "cores busy" in report
    if theoretical:  # Linux: the peak the % columns use never exceeds what the hardware can do
        assert mm["peak_gflops"] <= theoretical
        assert mm["above_theoretical"] == (mm["measured_peak_gflops"] > theoretical)
