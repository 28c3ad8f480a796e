"""cnnkit's benchmark suite: one command, a Markdown + JSON report and a plot under ``benchmarks/results/``.

Usage:
    python benchmarks/run.py --quick               # about 2 minutes on a 2-core CPU
    python benchmarks/run.py                       # the full run, with quick-mode notebook times
    python benchmarks/run.py --notebooks full      # adds full-mode notebook times (long)
    python -m benchmarks ...                        # the same

Measured, as ratios within one run on one machine (absolute numbers move with
the machine and its load; ratios much less):

1. SimpleCNN (the seed's model, 32x32x3, batch 64) training and inference
   images/s: cnnkit's recipe vs plain ``model.fit``, XLA on and off, and the
   seed's PyTorch model in eager mode (when PyTorch is installed).
2. Achieved GFLOP/s of the convolutions vs a measured matrix-product peak.
3. The NumPy reference convolutions (loops, im2col) vs ``keras.layers.Conv2D``.
4. Images/s delivered by the data generators and input pipelines vs the
   images/s the model consumes.
5. Wall time of each notebook (quick mode; full mode on request).
6. The pretrained EfficientNet-Lite0 on one 224x224 photo: load time, warm
   latency per call (target < 100 ms), batch throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/run.py` from anywhere
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

RESULTS = ROOT / "benchmarks" / "results"

# Sizes per preset. Quick and full differ in sizes and repeats only, never in what runs.
# ref_conv = (batch, side, channels) of the reference-convolution input (SimpleCNN's conv2 at full size).
SIZES = {
    "tiny": {"train_images": 64, "epochs": 1, "repeats": 1, "matmul": 256, "conv_repeats": 1,
             "ref_conv": (2, 8, 8), "generator_images": 32, "feed_images": 256, "pretrained_calls": 2},
    "quick": {"train_images": 2560, "epochs": 1, "repeats": 5, "matmul": 2048, "conv_repeats": 5,
              "ref_conv": (16, 16, 32), "generator_images": 256, "feed_images": 4096,
              "pretrained_calls": 10},
    "full": {"train_images": 5120, "epochs": 1, "repeats": 7, "matmul": 2048, "conv_repeats": 7,
             "ref_conv": (64, 16, 32), "generator_images": 1024, "feed_images": 8192,
             "pretrained_calls": 20},
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (about 2 minutes)")
    parser.add_argument("--tiny", action="store_true", help="smallest sizes: checks that the suite runs (tests use it)")
    parser.add_argument("--notebooks", choices=("none", "quick", "full"), default=None,
                        help="time the notebooks in this mode (default: quick for the full run, none with --quick/--tiny)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison even if PyTorch is installed")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"output directory (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.quick and args.tiny:
        parser.error("choose one of --quick and --tiny")
    args.preset = "tiny" if args.tiny else "quick" if args.quick else "full"
    if args.notebooks is None:
        args.notebooks = "quick" if args.preset == "full" else "none"
    return args


def machine() -> dict:
    """What the numbers were measured on."""
    import keras
    import numpy as np

    from cnnkit import device

    report = device.describe()
    cpu = next((d.description for d in report.devices if d.kind == "CPU" and d.description), platform.machine())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "keras": keras.__version__, "backend": keras.backend.backend(), "devices": [str(d) for d in report.devices]}


def run(args: argparse.Namespace, log=print) -> dict:
    """Run every section with the sizes of ``args.preset``; return the results (JSON-ready)."""
    from benchmarks import compute, notebooks, pipeline, pretrained, training

    size = SIZES[args.preset]
    results = {"preset": args.preset, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine()}
    clock = time.perf_counter()

    log("1/6 SimpleCNN training and inference throughput")
    results["training"] = training.run(size["train_images"], size["epochs"], size["repeats"],
                                       use_torch=not args.no_torch, log=log)
    consumed = next(r["train_images_per_s"] for r in results["training"]["rows"] if r["config"] == "cnnkit fit")

    log("2/6 matmul peak and conv GFLOP/s")
    results["matmul"] = compute.matmul_peak(size["matmul"], repeats=size["conv_repeats"])
    results["conv"] = compute.conv_gflops(repeats=size["conv_repeats"], train_images_per_s=consumed)

    log("3/6 NumPy reference convolution vs Conv2D")
    batch, side, channels = size["ref_conv"]
    results["reference_conv"] = compute.reference_conv(batch, side, channels, filters=2 * channels,
                                                       repeats=size["conv_repeats"])

    log("4/6 data generators and input pipelines")
    results["pipeline"] = {"model_consumes_per_s": consumed,
                           "generators": pipeline.generators(size["generator_images"]),
                           "feeding": pipeline.feeding(size["feed_images"])}

    log(f"5/5 notebooks ({args.notebooks})")
    results["notebooks"] = [] if args.notebooks == "none" else notebooks.time_notebooks(args.notebooks, log=log)

    log("6/6 pretrained EfficientNet-Lite0 on one 224x224 photo")
    results["pretrained"] = pretrained.run(calls=size["pretrained_calls"], log=log)
    results["seconds"] = time.perf_counter() - clock
    return results


# ---------------------------------------------------------------- report


def _fmt(value, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def markdown(results: dict) -> str:
    """The report as Markdown."""
    tr, mm, conv, ref, pipe = (results[k] for k in ("training", "matmul", "conv", "reference_conv", "pipeline"))
    m = results["machine"]
    lines = [
        "# cnnkit benchmark report", "",
        f"Preset `{results['preset']}`, {results['started']}, {results['seconds']:.0f} s in all. "
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, Keras {m['keras']} "
        f"({m['backend']} backend), PyTorch {tr['torch']}. "
        "Absolute numbers depend on the machine and its load; the ratios, measured in one run "
        "with the configurations interleaved, are what to compare.", "",
        "## 1. SimpleCNN throughput (32x32x3, batch 64)", "",
        f"{tr['num_images']} random images, {tr['epochs']} epoch(s) per timing, best of {tr['repeats']} "
        f"interleaved timings after a warm-up (medians in `results.json`). Parameters: Keras {tr['params_keras']:,}"
        + (f", PyTorch {tr['params_torch']:,}" if tr["params_torch"] else "") + ".", "",
        "| configuration | XLA | steps/execution | training images/s | (median) | inference images/s | (median) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['config']} | {'on' if r['jit_compile'] else 'off'} | {r['steps_per_execution']} | "
              f"{_fmt(r['train_images_per_s'])} | {_fmt(r['train_images_per_s_median'])} | "
              f"{_fmt(r['infer_images_per_s'])} | {_fmt(r['infer_images_per_s_median'])} |" for r in tr["rows"]]
    lines += ["", "| ratio | value |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in tr["ratios"].items()]
    if tr["params_torch"] is None:
        lines += ["", f"PyTorch eager: {tr['torch']} (install PyTorch to add the comparison)."]
    lines += [
        "", "## 2. Convolutions vs the hardware", "",
        *_peak_lines(mm), "",
        "| layer | input | MACs / image | ms / batch of 64 | GFLOP/s | % of theoretical peak |", "|---|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['layer']} | {'x'.join(map(str, r['input']))} | {r['macs_per_image']:,} | "
              f"{1000 * r['seconds_per_batch']:.2f} | {r['gflops']:.1f} | {100 * r['gflops'] / mm['peak_gflops']:.0f} % |"
              for r in conv["layers"]]
    lines += ["", f"All conv layers, forward: {conv['conv_forward_gflops']:.1f} GFLOP/s "
              f"({100 * conv['conv_forward_gflops'] / mm['peak_gflops']:.0f} % of peak). The conv layers hold "
              f"{100 * conv['conv_macs_per_image'] / conv['model_macs_per_image']:.0f} % of the model's "
              f"{conv['model_macs_per_image']:,} MACs per image."]
    if "train_gflops_estimate" in conv:
        lines += [f"Training (cnnkit fit), estimated as 3 x forward FLOPs x images/s: "
                  f"{conv['train_gflops_estimate']:.1f} GFLOP/s ({100 * conv['train_gflops_estimate'] / mm['peak_gflops']:.0f} % of peak)."]
    lines += [
        "", "## 3. The NumPy reference convolution vs Conv2D", "",
        f"Input {'x'.join(map(str, ref['input']))}, {ref['filters']} filters 3x3, same padding; outputs agree to "
        f"{ref['max_abs_difference']:.1e}.", "",
        "| method | seconds | GFLOP/s | times slower than Conv2D |", "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['method']} | {r['seconds']:.4f} | {r['gflops']:.2f} | {r['slower_than_keras']:.1f} |"
              for r in ref["rows"]]
    lines += ["", "## 4. Input pipeline vs the model", "",
              f"The model trains on {pipe['model_consumes_per_s']:,.0f} images/s (cnnkit fit).", "",
              "| generator (run once, before training) | per second |", "|---|---:|"]
    lines += [f"| {g['generator']} | {g['per_s']:,.0f} {g['unit']} |" for g in pipe["generators"]]
    lines += ["", "| pipeline (runs every epoch) | images/s | x what SimpleCNN consumes |", "|---|---:|---:|"]
    lines += [f"| {f['pipeline']} | {f['per_s']:,.0f} | {f['per_s'] / pipe['model_consumes_per_s']:.1f} |"
              for f in pipe["feeding"]]
    lines += ["", "The detection scenes (64x64) feed notebook 05's detector, not SimpleCNN: compare them "
              "with the detector's own training speed there."]
    lines += ["", "## 5. Notebooks", ""]
    if results["notebooks"]:
        lines += ["| notebook | mode | seconds |", "|---|---|---:|"]
        lines += [f"| {r['notebook']} | {r['mode']} | {_fmt(r['seconds'], 1) if r['seconds'] is not None else 'FAILED: ' + r['error']} |"
                  for r in results["notebooks"]]
    else:
        lines += ["Not timed in this run (`--notebooks quick` or `--notebooks full` times them)."]
    from benchmarks import pretrained

    lines += ["", "## 6. Pretrained EfficientNet-Lite0, one photo", ""] + pretrained.markdown(results["pretrained"])
    return "\n".join(lines) + "\n"


def _peak_lines(mm: dict) -> list[str]:
    """The theoretical peak, the measured matrix products beside it, and which one the % columns use."""
    th = mm["theoretical"]
    clock = f"{th['clock_ghz']:.2f} GHz" if th["clock_ghz"] else "unknown clock"
    if th.get("reported_clock_ghz") and th["clock_ghz"] != th["reported_clock_ghz"]:
        clock += f" (the machine reports {th['reported_clock_ghz']:.2f} GHz, its base clock)"
    lines = [f"Theoretical float32 peak: {th['cores']} cores x {th['flops_per_cycle']} FLOP/cycle "
             f"({th['why']}; {th['model']}, family {th['family']} model {th['model_number']}) x {clock} "
             f"({th['clock_source']}) = {_fmt(th['peak_gflops'], 1)} GFLOP/s.", ""]
    for lib in ("numpy", "tensorflow"):
        gflops = mm[f"{lib}_gflops"]
        if gflops is None:
            continue
        share = f", {100 * gflops / th['peak_gflops']:.0f} % of the theoretical peak" if th["peak_gflops"] else ""
        lines.append(f"- {'NumPy' if lib == 'numpy' else 'TensorFlow'} matrix product ({mm['size']}x{mm['size']}): "
                     f"{gflops:.1f} GFLOP/s{share}, {mm[f'{lib}_cores_busy']:.1f} cores busy.")
    lines.append("")
    if mm["above_theoretical"]:
        lines.append(f"The measured {mm['measured_peak_gflops']:.1f} GFLOP/s is above the theoretical peak: the "
                     "clock ran above the one measured or the timer is off.")
    if mm["theoretical"]["peak_gflops"]:
        lines.append(f"The % columns below are of the theoretical peak, {mm['peak_gflops']:.1f} GFLOP/s: no code "
                     "can pass it, and the best matrix product shows how much of it a tuned library reaches.")
    else:
        lines.append(f"The machine does not say its clock, so the % columns are of the best measured matrix "
                     f"product, {mm['peak_gflops']:.1f} GFLOP/s.")
    return lines


def plot(results: dict):
    """Training and inference images/s per configuration, and conv GFLOP/s against the matmul peak."""
    from cnnkit.viz.core import grid_axes

    fig, (ax_tp, ax_fl) = grid_axes(2, ncols=2, panel_size=4.0, aspect=0.8)
    rows = results["training"]["rows"]
    labels = [r["config"].replace(", ", "\n") for r in rows]
    ys = range(len(rows))
    ax_tp.barh([y + 0.2 for y in ys], [r["train_images_per_s"] for r in rows], height=0.4, label="training")
    ax_tp.barh([y - 0.2 for y in ys], [r["infer_images_per_s"] for r in rows], height=0.4, label="inference")
    ax_tp.set_yticks(list(ys), labels, fontsize=7)
    ax_tp.invert_yaxis()
    ax_tp.set_xlabel("images / s")
    ax_tp.set_title("SimpleCNN, batch 64", fontsize=9)
    ax_tp.legend(fontsize=7)
    conv, peak = results["conv"], results["matmul"]["peak_gflops"]
    names = [r["layer"] for r in conv["layers"]] + ["all convs"]
    values = [r["gflops"] for r in conv["layers"]] + [conv["conv_forward_gflops"]]
    ax_fl.bar(names, values, color="tab:green")
    matmul = results["matmul"]["measured_peak_gflops"]
    for level, label, style in ((peak, "theoretical peak", "--"), (matmul, "best matmul", ":")):
        ax_fl.axhline(level, color="black", linestyle=style, linewidth=1)
        ax_fl.text(len(names) - 0.5, level, f"{label} {level:.0f}", ha="right", va="bottom", fontsize=7)
    ax_fl.set_ylabel("GFLOP/s (forward)")
    ax_fl.set_title("conv layers vs the hardware", fontsize=9)
    ax_fl.tick_params(labelsize=7)
    return fig


def write(results: dict, out: Path) -> list[Path]:
    """Write ``report.md``, ``results.json`` and ``throughput.png`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.md", out / "results.json", out / "throughput.png"]
    paths[0].write_text(markdown(results), encoding="utf-8")
    paths[1].write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    fig = plot(results)
    fig.savefig(paths[2])
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def main(argv=None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    args = parse_args(argv)
    import cnnkit  # noqa: F401  (imports Keras quietly: no TensorFlow start-up logs in the output)

    start = time.perf_counter()
    results = run(args)
    for path in write(results, args.out):
        print(f"wrote {path}")
    print(f"benchmark ({args.preset}) finished in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
