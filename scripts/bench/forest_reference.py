#!/usr/bin/env python3
"""Reference throughput of the tree-ensemble runtimes the in-process forest engine replaces.

Trains three benchmark models on the same synthetic data (make_classification: 4 classes,
32 features, 16 informative; 20000 training rows, 10000 held-out benchmark rows) and writes,
into --out (default .bench/forest, git-ignored):

  rf.onnx        RandomForestClassifier(100 trees, max_depth 10) via skl2onnx, zipmap False, input "input"
  xgb.json       xgboost multi:softprob, 4 classes, 100 rounds, max_depth 8 (Booster.save_model)
  lgb.txt        lightgbm multiclass, 4 classes, 100 rounds, num_leaves 255 (Booster.save_model)
  X.f32, X.f64   the 10000 x 32 benchmark rows, raw little-endian float32 / float64, row-major
  meta.json      shapes, file names, training parameters, library versions

Then measures rows per second for onnxruntime (intra_op_num_threads 1 and 2), scikit-learn
predict_proba (n_jobs 1 and 2), xgboost inplace_predict (nthread 1 and 2) and lightgbm predict
(num_threads 1 and 2), each at batch sizes 1, 64 and 10000: every measurement runs about
--seconds, split into repeats, and reports the median rows/s over the repeats. Also the
onnxruntime single-row latency p50/p99 in microseconds. Prints a table; --json FILE writes
every figure. About 2 minutes on a 2-core machine.

Usage: python3 scripts/bench/forest_reference.py [--out .bench/forest] [--json FILE] [--seconds 1.2]
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

SEED = 1234
N_TRAIN, N_BENCH, N_FEATURES, N_CLASSES = 20000, 10000, 32, 4
BATCHES = (1, 64, 10000)
THREADS = (1, 2)


def versions():
    import lightgbm
    import onnx
    import onnxruntime
    import skl2onnx
    import sklearn
    import xgboost

    return {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
            "xgboost": xgboost.__version__, "lightgbm": lightgbm.__version__}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------


def train(out_dir):
    import lightgbm as lgb
    import xgboost as xgb
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    import onnx

    os.makedirs(out_dir, exist_ok=True)
    X, y = make_classification(n_samples=N_TRAIN + N_BENCH, n_features=N_FEATURES, n_informative=16,
                               n_redundant=4, n_classes=N_CLASSES, n_clusters_per_class=2, random_state=SEED)
    Xtr, ytr, Xb, yb = X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]
    Xb32 = np.ascontiguousarray(Xb.astype("<f4"))
    Xb64 = np.ascontiguousarray(Xb.astype("<f8"))
    Xb32.tofile(os.path.join(out_dir, "X.f32"))
    Xb64.tofile(os.path.join(out_dir, "X.f64"))
    timings = {}

    t = time.perf_counter()
    rf = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=SEED, n_jobs=-1).fit(Xtr, ytr)
    timings["rf_train_s"] = time.perf_counter() - t
    model = convert_sklearn(rf, initial_types=[("input", FloatTensorType([None, N_FEATURES]))],
                            options={id(rf): {"zipmap": False}})
    model.graph.name = "bench_rf"
    onnx.save_model(model, os.path.join(out_dir, "rf.onnx"))

    t = time.perf_counter()
    bst = xgb.train({"objective": "multi:softprob", "num_class": N_CLASSES, "max_depth": 8, "eta": 0.1,
                     "tree_method": "hist", "seed": SEED, "nthread": os.cpu_count() or 1},
                    xgb.DMatrix(Xtr, label=ytr), num_boost_round=100)
    timings["xgb_train_s"] = time.perf_counter() - t
    bst.save_model(os.path.join(out_dir, "xgb.json"))

    t = time.perf_counter()
    lgbm = lgb.train({"objective": "multiclass", "num_class": N_CLASSES, "num_leaves": 255, "learning_rate": 0.1,
                      "seed": SEED, "deterministic": True, "verbose": -1, "num_threads": os.cpu_count() or 1},
                     lgb.Dataset(Xtr, label=ytr), num_boost_round=100)
    timings["lgb_train_s"] = time.perf_counter() - t
    lgbm.save_model(os.path.join(out_dir, "lgb.txt"))

    accuracy = {
        "sklearn_rf": float(np.mean(rf.predict(Xb32) == yb)),
        "xgboost": float(np.mean(np.argmax(bst.inplace_predict(Xb32), axis=1) == yb)),
        "lightgbm": float(np.mean(np.argmax(lgbm.predict(Xb64), axis=1) == yb)),
    }
    rf_nodes = int(sum(e.tree_.node_count for e in rf.estimators_))
    lgb_leaves = int(sum(t["num_leaves"] for t in lgbm.dump_model()["tree_info"]))
    meta = {
        "rows": N_BENCH, "features": N_FEATURES, "classes": N_CLASSES,
        "inputs": {"X.f32": "float32 little-endian, row-major", "X.f64": "float64 little-endian, row-major"},
        "models": {
            "rf.onnx": {"library": "scikit-learn + skl2onnx", "trees": 100, "max_depth": 10, "nodes": rf_nodes,
                        "input": "input", "zipmap": False},
            "xgb.json": {"library": "xgboost", "objective": "multi:softprob", "rounds": 100, "trees": 100 * N_CLASSES,
                         "max_depth": 8},
            "lgb.txt": {"library": "lightgbm", "objective": "multiclass", "rounds": 100, "trees": lgbm.num_trees(),
                        "num_leaves": 255, "total_leaves": lgb_leaves},
        },
        "data": {"generator": "sklearn.datasets.make_classification", "n_samples": N_TRAIN + N_BENCH,
                 "n_informative": 16, "n_redundant": 4, "random_state": SEED,
                 "train_rows": "first 20000", "bench_rows": "last 10000"},
        "holdout_accuracy": accuracy,
        "train_seconds": timings,
        "versions": versions(),
    }
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return rf, Xb32, Xb64, meta


# ---------------------------------------------------------------------------------------------
# measurement
# ---------------------------------------------------------------------------------------------


def batches_of(X, size):
    n = len(X)
    if size >= n:
        return [X]
    count = max(1, min(n // size, 512))
    return [np.ascontiguousarray(X[i * size:(i + 1) * size]) for i in range(count)]


def measure(fn, X, batch, seconds, repeats=5):
    """Median rows/s over `repeats` slices of about seconds/repeats each (at least one call each)."""
    parts = batches_of(X, batch)
    fn(parts[0])  # warm-up
    per_repeat = seconds / repeats
    rates = []
    k = 0
    for _ in range(repeats):
        rows, start = 0, time.perf_counter()
        while True:
            b = parts[k % len(parts)]
            k += 1
            fn(b)
            rows += len(b)
            elapsed = time.perf_counter() - start
            if elapsed >= per_repeat:
                break
        rates.append(rows / elapsed)
    return {"rows_per_s": statistics.median(rates), "repeats": repeats, "min": min(rates), "max": max(rates)}


def latency(fn, X, seconds):
    parts = batches_of(X, 1)
    for b in parts[:50]:
        fn(b)
    samples = []
    deadline = time.perf_counter() + seconds
    k = 0
    while time.perf_counter() < deadline or len(samples) < 200:
        b = parts[k % len(parts)]
        k += 1
        t0 = time.perf_counter_ns()
        fn(b)
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()

    def pct(p):
        return samples[min(len(samples) - 1, int(p / 100.0 * len(samples)))] / 1000.0

    return {"p50_us": pct(50), "p99_us": pct(99), "mean_us": sum(samples) / len(samples) / 1000.0,
            "samples": len(samples)}


def runners(out_dir, rf, threads):
    import lightgbm as lgb
    import onnxruntime as ort
    import xgboost as xgb

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(out_dir, "rf.onnx"), so, providers=["CPUExecutionProvider"])
    out_names = [sess.get_outputs()[1].name]

    def run_ort(x):
        return sess.run(out_names, {"input": x})

    rf.set_params(n_jobs=threads)

    def run_sklearn(x):
        return rf.predict_proba(x)

    bst = xgb.Booster(model_file=os.path.join(out_dir, "xgb.json"))
    bst.set_param({"nthread": threads})

    def run_xgb(x):
        return bst.inplace_predict(x)

    lgbm = lgb.Booster(model_file=os.path.join(out_dir, "lgb.txt"))

    def run_lgb(x):
        return lgbm.predict(x, num_threads=threads)

    # name -> (callable, which input array)
    return {
        "onnxruntime": (run_ort, "f32"),
        "sklearn": (run_sklearn, "f32"),
        "xgboost": (run_xgb, "f32"),
        "lightgbm": (run_lgb, "f64"),
    }


def agreement(out_dir, rf, X32):
    """How far onnxruntime's probabilities are from scikit-learn's on the benchmark rows."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(out_dir, "rf.onnx"), so, providers=["CPUExecutionProvider"])
    p_ort = sess.run(None, {"input": X32})[1]
    p_sk = rf.predict_proba(X32)
    return float(np.abs(p_ort - p_sk).max())


def fmt_rate(v):
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, ".bench", "forest"), help="where models and inputs go")
    ap.add_argument("--json", help="write all figures to this file")
    ap.add_argument("--seconds", type=float, default=1.2, help="time per measurement (default 1.2)")
    args = ap.parse_args()

    started = time.perf_counter()
    print(f"training benchmark models into {args.out} ...", flush=True)
    rf, X32, X64, meta = train(args.out)
    print("  train seconds:", {k: round(v, 1) for k, v in meta["train_seconds"].items()},
          "holdout accuracy:", meta["holdout_accuracy"], flush=True)
    inputs = {"f32": X32, "f64": X64}
    max_diff = agreement(args.out, rf, X32)

    results = {}
    for threads in THREADS:
        for name, (fn, kind) in runners(args.out, rf, threads).items():
            for batch in BATCHES:
                r = measure(fn, inputs[kind], batch, args.seconds)
                results.setdefault(name, {}).setdefault(f"threads={threads}", {})[f"batch={batch}"] = r
                print(f"  {name:12} threads={threads} batch={batch:<6} {fmt_rate(r['rows_per_s']):>8} rows/s",
                      flush=True)

    lat = {}
    for threads in THREADS:
        fn, _ = runners(args.out, rf, threads)["onnxruntime"]
        lat[f"threads={threads}"] = latency(fn, X32, args.seconds)

    print()
    print(f"rows/s (median of 5 repeats, ~{args.seconds:g}s each measurement); {os.cpu_count()} CPUs, {cpu_model()}")
    header = f"| {'runtime':12} | thr | " + " | ".join(f"batch {b:>5}" for b in BATCHES) + " |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for name in results:
        for threads in THREADS:
            row = results[name][f"threads={threads}"]
            cells = " | ".join(f"{fmt_rate(row[f'batch={b}']['rows_per_s']):>11}" for b in BATCHES)
            print(f"| {name:12} | {threads:>3} | {cells} |")
    print()
    for k, v in lat.items():
        print(f"onnxruntime single-row latency ({k}): p50 {v['p50_us']:.1f} us, p99 {v['p99_us']:.1f} us "
              f"({v['samples']} calls)")
    print(f"onnxruntime vs scikit-learn max |probability difference| on the 10000 rows: {max_diff:.3g}")
    total = time.perf_counter() - started
    print(f"total {total:.0f} s")

    if args.json:
        doc = {
            "benchmark": "forest_reference",
            "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "platform": platform.platform()},
            "seconds_per_measurement": args.seconds,
            "batches": list(BATCHES),
            "threads": list(THREADS),
            "inputs": {"onnxruntime": "float32", "sklearn": "float32", "xgboost": "float32 (inplace_predict)",
                       "lightgbm": "float64"},
            "rows_per_s": results,
            "onnxruntime_single_row_latency": lat,
            "onnxruntime_vs_sklearn_max_abs_diff": max_diff,
            "models": meta,
            "total_seconds": total,
        }
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
