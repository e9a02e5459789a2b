#!/usr/bin/env python3
"""Reference fixtures for the in-process tree-ensemble engine (ONNX-ML, XGBoost JSON, LightGBM text).

Trains small tree ensembles on data sets that ship inside scikit-learn (or synthetic ones),
exports them the way users do (skl2onnx, Booster.save_model("model.json"), save_model("model.txt")),
and records what the reference runtime answers for a fixed set of input rows:

  ONNX      onnxruntime, CPU, intra_op_num_threads=1 (scikit-learn's own answers under sklearn_*)
  XGBoost   Booster.predict(DMatrix(X, missing=nan)), nthread=1 (+ output_margin=True as margins)
  LightGBM  Booster.predict(X float64, num_threads=1)  (+ raw_score=True as margins)

Rows: real held-out rows, rows with one feature set exactly to a split threshold read from the
model file and to its float32 (and, for LightGBM, float64) neighbours, NaN rows, +-inf rows where
the reference accepts them, and a few format-specific edge rows (see row_tags in each case.json).

Writes Tests/LocalModelsTests/Fixtures/forest/<name>/{model file, case.json} and the gateway's
default model models/iris-forest.onnx (+ models/iris-forest.json). Deterministic: rerunning with
the versions pinned in scripts/requirements-forest.txt rewrites identical files.

Usage: python3 scripts/forest_fixtures.py [--default-model-only] [--only NAME ...]
"""
import argparse
from functools import partial
import json
import math
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURE_DIR = os.path.join(ROOT, "Tests", "LocalModelsTests", "Fixtures", "forest")
MODELS_DIR = os.path.join(ROOT, "models")

SEED = 20240607

# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


def versions():
    import lightgbm
    import onnx
    import onnxruntime
    import skl2onnx
    import sklearn
    import xgboost

    return {
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "xgboost": xgboost.__version__,
        "lightgbm": lightgbm.__version__,
    }


def versions_text():
    return ", ".join(f"{k} {v}" for k, v in versions().items())


def f32(x):
    """float64 value of the nearest float32 (numpy astype semantics: round to nearest even)."""
    return float(np.float32(x))


def up32(x):
    return float(np.nextafter(np.float32(x), np.float32(np.inf)))


def down32(x):
    return float(np.nextafter(np.float32(x), np.float32(-np.inf)))


def up64(x):
    return float(np.nextafter(np.float64(x), np.inf))


def down64(x):
    return float(np.nextafter(np.float64(x), -np.inf))


def encode_input(v):
    v = float(v)
    if math.isnan(v):
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def decode_input(v):
    if v is None:
        return float("nan")
    if v == "inf":
        return float("inf")
    if v == "-inf":
        return float("-inf")
    return float(v)


def encode_matrix(X):
    return [[encode_input(v) for v in row] for row in np.asarray(X, dtype=np.float64)]


def decode_matrix(rows):
    return np.array([[decode_input(v) for v in row] for row in rows], dtype=np.float64)


def finite_rows(a):
    """Nested lists of Python floats (repr precision); outputs must be finite."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    assert np.all(np.isfinite(a)), "reference produced a non-finite output"
    return [[float(v) for v in row] for row in a]


def same(a, b):
    """Exact equality, NaN == NaN."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def _dumps(obj, level=0):
    """JSON with one row of numbers per line (floats in repr precision, no NaN/inf literals)."""
    pad, inner = " " * level, " " * (level + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (list, dict)) for v in obj):
        return "[\n" + ",\n".join(inner + _dumps(v, level + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def write_json(path, obj):
    text = _dumps(obj)
    assert json.loads(text) == obj
    with open(path, "w") as f:
        f.write(text + "\n")


# ---------------------------------------------------------------------------------------------
# split extraction (from the written model files) and input rows
# ---------------------------------------------------------------------------------------------


class Split:
    """One internal node: feature, threshold as the model file holds it, path from the root.

    path: list of (feature, threshold, went_left) where "left" is the branch taken when the
    comparison (op) holds: 'le' (x <= t, ONNX BRANCH_LEQ, LightGBM) or 'lt' (x < t, XGBoost).
    """

    def __init__(self, tree, depth, feature, threshold, path):
        self.tree, self.depth, self.feature, self.threshold, self.path = tree, depth, feature, threshold, path


def make_reproducible(model, graph_name):
    """skl2onnx names the graph with a random uuid and orders opset_import by set iteration (string
    hashing is randomised per process): fix both so reruns write byte-identical files."""
    model.graph.name = graph_name
    imports = sorted((o.domain, o.version) for o in model.opset_import)
    del model.opset_import[:]
    for domain, version in imports:
        o = model.opset_import.add()
        o.domain, o.version = domain, version
    return model


def onnx_tree_node(model):
    for n in model.graph.node:
        if n.domain == "ai.onnx.ml" and n.op_type.startswith("TreeEnsemble"):
            return n
    raise ValueError("no TreeEnsemble node")


def onnx_splits(model):
    from onnx import helper, numpy_helper

    node = onnx_tree_node(model)
    a = {}
    for at in node.attribute:
        v = helper.get_attribute_value(at)
        a[at.name] = numpy_helper.to_array(v).tolist() if hasattr(v, "dims") else v
    values = a.get("nodes_values") or a.get("nodes_values_as_tensor")
    modes = [m.decode() if isinstance(m, bytes) else m for m in a["nodes_modes"]]
    index = {}
    for i, (t, n) in enumerate(zip(a["nodes_treeids"], a["nodes_nodeids"])):
        index[(t, n)] = i
    splits, max_depth = [], 0
    trees = sorted(set(a["nodes_treeids"]))
    for t in trees:
        stack = [(0, [], 0)]
        while stack:
            nid, path, depth = stack.pop()
            i = index[(t, nid)]
            if modes[i] == "LEAF":
                max_depth = max(max_depth, depth)
                continue
            assert modes[i] == "BRANCH_LEQ", modes[i]
            f, thr = int(a["nodes_featureids"][i]), float(values[i])
            splits.append(Split(t, depth, f, thr, path))
            stack.append((a["nodes_truenodeids"][i], path + [(f, thr, True)], depth + 1))
            stack.append((a["nodes_falsenodeids"][i], path + [(f, thr, False)], depth + 1))
    return splits, len(trees), max_depth


def xgb_splits(model_json):
    trees = model_json["learner"]["gradient_booster"]["model"]["trees"]
    splits, max_depth = [], 0
    for t, tree in enumerate(trees):
        left, right = tree["left_children"], tree["right_children"]
        feat, cond = tree["split_indices"], tree["split_conditions"]
        stack = [(0, [], 0)]
        while stack:
            nid, path, depth = stack.pop()
            if left[nid] == -1:
                max_depth = max(max_depth, depth)
                continue
            f, thr = int(feat[nid]), f32(cond[nid])
            splits.append(Split(t, depth, f, thr, path))
            stack.append((left[nid], path + [(f, thr, True)], depth + 1))
            stack.append((right[nid], path + [(f, thr, False)], depth + 1))
    return splits, len(trees), max_depth


def lgb_splits(dump):
    splits, max_depth, decision_types = [], 0, set()
    for t, info in enumerate(dump["tree_info"]):
        stack = [(info["tree_structure"], [], 0)]
        while stack:
            node, path, depth = stack.pop()
            if "split_feature" not in node:
                max_depth = max(max_depth, depth)
                continue
            f = int(node["split_feature"])
            if node["decision_type"] == "<=":
                thr = float(node["threshold"])
                splits.append(Split(t, depth, f, thr, path))
                lp, rp = path + [(f, thr, True)], path + [(f, thr, False)]
            else:  # categorical: not a numeric threshold; do not constrain base rows on it
                lp = rp = path
            stack.append((node["left_child"], lp, depth + 1))
            stack.append((node["right_child"], rp, depth + 1))
    return splits, len(dump["tree_info"]), max_depth


def satisfies(row, path, op):
    for f, thr, went_left in path:
        x = row[f]
        if math.isnan(x):
            return False
        holds = x <= thr if op == "le" else x < thr
        if holds != went_left:
            return False
    return True


def force_path(row, path, op):
    row = row.copy()
    for f, thr, went_left in path:
        x = row[f]
        holds = (x <= thr if op == "le" else x < thr) if not math.isnan(x) else None
        if holds == went_left:
            continue
        if op == "le":
            row[f] = thr if went_left else up32(thr)
        else:
            row[f] = down32(thr) if went_left else thr
    return row if satisfies(row, path, op) else None


def pick_splits(splits, rng, count):
    """About half shallow (depth <= 1) splits, the rest drawn from anywhere; distinct (f, t)."""
    seen, chosen = set(), []

    def take(pool, n):
        order = rng.permutation(len(pool))
        for i in order:
            if n <= 0:
                break
            s = pool[i]
            if (s.feature, s.threshold) in seen:
                continue
            seen.add((s.feature, s.threshold))
            chosen.append(s)
            n -= 1

    take([s for s in splits if s.depth <= 1], count // 2)
    take(splits, count - len(chosen))
    return chosen


class Rows:
    def __init__(self, n_features):
        self.n_features = n_features
        self.rows, self.tags = [], []

    def add(self, row, tag):
        row = np.asarray(row, dtype=np.float64)
        assert row.shape == (self.n_features,)
        self.rows.append(row)
        self.tags.append(tag)

    def matrix(self):
        return np.vstack(self.rows)


def build_rows(X_test, splits, op, rng, *, n_test=40, n_splits=16, variants, nan=True, inf=True,
               extra=None):
    """variants(t) -> list of (tag, value) for the split's feature."""
    n_features = X_test.shape[1]
    rows = Rows(n_features)
    pool = X_test[rng.permutation(len(X_test))]
    for r in pool[:n_test]:
        rows.add(r, "test")

    chosen = pick_splits(splits, rng, n_splits)
    for k, s in enumerate(chosen):
        base = None
        for r in pool:
            if satisfies(r, s.path, op):
                base = r
                break
        if base is None:
            base = force_path(pool[k % len(pool)], s.path, op)
        if base is None:
            continue
        for tag, value in variants(s.threshold):
            r = base.copy()
            r[s.feature] = value
            rows.add(r, f"{tag} f{s.feature} tree{s.tree} depth{s.depth}")

    if nan:
        root_features = sorted({s.feature for s in splits if s.depth == 0})
        for k in range(8):
            r = pool[k].copy()
            cols = rng.choice(n_features, size=min(n_features, 1 + k % 3), replace=False)
            r[cols] = np.nan
            rows.add(r, "nan " + ",".join(f"f{c}" for c in sorted(cols)))
        for k, f in enumerate(root_features[:4]):
            r = pool[10 + k].copy()
            r[f] = np.nan
            rows.add(r, f"nan root-split f{f}")
        rows.add(np.full(n_features, np.nan), "nan all")
    if inf:
        root_features = sorted({s.feature for s in splits if s.depth == 0}) or [0]
        for k, (f, v) in enumerate([(root_features[0], np.inf), (root_features[0], -np.inf),
                                    (root_features[-1], np.inf), (rng.randint(n_features), -np.inf)]):
            r = pool[20 + k].copy()
            r[f] = v
            rows.add(r, f"{'+' if v > 0 else '-'}inf f{f}")
    if extra is not None:
        extra(rows, pool)
    return rows


def variants_f32(t):
    return [("threshold", t), ("threshold+1ulp32", up32(t)), ("threshold-1ulp32", down32(t))]


# ---------------------------------------------------------------------------------------------
# data sets
# ---------------------------------------------------------------------------------------------


def split_data(X, y, seed, test_size=0.3, stratify=True):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y if stratify else None)


def dataset(name):
    from sklearn import datasets

    loader = {"iris": datasets.load_iris, "wine": datasets.load_wine,
              "breast_cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}[name]
    X, y = loader(return_X_y=True)
    return X.astype(np.float64), y


def with_nans(X, rng, rate):
    X = X.copy()
    X[rng.rand(*X.shape) < rate] = np.nan
    return X


# ---------------------------------------------------------------------------------------------
# ONNX (skl2onnx + onnxruntime)
# ---------------------------------------------------------------------------------------------


def ort_session(path_or_bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path_or_bytes, so, providers=["CPUExecutionProvider"])


def onnx_class_labels(model):
    from onnx import helper

    node = onnx_tree_node(model)
    for at in node.attribute:
        if at.name == "classlabels_int64s":
            return [int(v) for v in helper.get_attribute_value(at)]
        if at.name == "classlabels_strings":
            return [v.decode() for v in helper.get_attribute_value(at)]
    return None


def ort_predict(path, X, input_dtype, task, class_labels):
    """Batch run, plus the same rows one by one: both must agree bit for bit."""
    sess = ort_session(path)
    name = sess.get_inputs()[0].name
    Xin = X.astype(input_dtype)

    def run(Xb):
        out = sess.run(None, {name: Xb})
        if task == "regression":
            return None, np.asarray(out[0], dtype=np.float64)
        labels, probs = out[0], out[1]
        if isinstance(probs, list):  # ZipMap: list of {label: prob}
            probs = np.array([[d[c] for c in class_labels] for d in probs], dtype=np.float32)
        labels = [v if isinstance(v, str) else int(v) for v in np.asarray(labels).ravel()]
        return labels, np.asarray(probs, dtype=np.float64)

    labels, values = run(Xin)
    for i in range(len(Xin)):
        l1, v1 = run(Xin[i:i + 1])
        assert same(v1[0], values[i]), f"onnxruntime row {i}: batch and single-row runs differ"
        if labels is not None:
            assert l1[0] == labels[i]
    return labels, values


def sklearn_reference(est, X, task):
    """scikit-learn's own answers (X cast to float32 as sklearn trees do); null where it refuses."""
    Xf = X.astype(np.float32)
    out_labels, out_values = [], []
    for i in range(len(Xf)):
        try:
            if task == "regression":
                v = np.asarray(est.predict(Xf[i:i + 1]), dtype=np.float64).reshape(-1)
                out_values.append([float(x) for x in v])
            else:
                p = est.predict_proba(Xf[i:i + 1])[0]
                lab = est.predict(Xf[i:i + 1])[0]
                out_values.append([float(x) for x in p])
                out_labels.append(lab.item() if hasattr(lab, "item") else lab)
        except ValueError:
            out_values.append(None)
            if task != "regression":
                out_labels.append(None)
    return out_labels, out_values


def tie_rows(est, pool, rng, rows, limit=4):
    """Rows where scikit-learn's two largest class probabilities are exactly equal (votes tie)."""
    found = 0
    n = len(pool)
    for _ in range(3000):
        a, b = pool[rng.randint(n)], pool[rng.randint(n)]
        lam = rng.choice([0.25, 0.5, 0.75])
        x = ((1 - lam) * a + lam * b).astype(np.float32).astype(np.float64)
        if np.any(np.isnan(x)):
            continue
        p = np.sort(est.predict_proba(x.astype(np.float32).reshape(1, -1))[0])[::-1]
        if p[0] == p[1]:
            rows.add(x, "tie (sklearn top-2 probabilities equal)")
            found += 1
            if found >= limit:
                break


def onnx_fixture(name, est, X_train, y_train, X_test, *, task, zipmap, notes, double_input=False,
                 rng_seed=SEED, n_splits=16, ties=False, target_opset=None):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    import onnx

    est.fit(X_train, y_train)
    n_features = X_train.shape[1]
    tensor_type = DoubleTensorType if double_input else FloatTensorType
    options = None if zipmap or task == "regression" else {id(est): {"zipmap": False}}
    kwargs = {"target_opset": target_opset} if target_opset else {}
    model = convert_sklearn(est, initial_types=[("input", tensor_type([None, n_features]))],
                            options=options, **kwargs)
    make_reproducible(model, name)
    out_dir = os.path.join(FIXTURE_DIR, name)
    os.makedirs(out_dir, exist_ok=True)
    model_path = os.path.join(out_dir, "model.onnx")
    onnx.save_model(model, model_path)
    model = onnx.load(model_path)

    rng = np.random.RandomState(rng_seed)
    splits, n_trees, depth = onnx_splits(model)
    if double_input:
        def variants(t):
            return [("threshold", t), ("threshold+1ulp64", up64(t)), ("threshold-1ulp64", down64(t)),
                    ("threshold+1ulp32", up32(t)), ("threshold-1ulp32", down32(t)),
                    ("between ulp32 below and threshold (rounds to threshold in float32)",
                     t - (t - down32(t)) * 0.25)]
        pool_test = X_test
        n_splits = 10
    else:
        variants = variants_f32
        pool_test = X_test.astype(np.float32).astype(np.float64)

    def extra(rows, pool):
        rows.add(np.zeros(n_features), "all zeros")
        r = pool[30].copy()
        r[0] = -0.0
        rows.add(r, "-0.0 f0")
        if ties:
            tie_rows(est, pool, rng, rows)

    rows = build_rows(pool_test, splits, "le", rng, n_splits=n_splits, variants=variants, extra=extra)
    X = rows.matrix()
    if not double_input:
        # The engine casts float64 -> float32 like numpy astype; store float32-representable inputs.
        X = X.astype(np.float32).astype(np.float64)
    input_dtype = np.float64 if double_input else np.float32

    class_labels = onnx_class_labels(model) if task == "classification" else None
    labels, values = ort_predict(model_path, X, input_dtype, task, class_labels)
    sk_labels, sk_values = sklearn_reference(est, X, task)

    node = onnx_tree_node(model)
    case = {
        "name": name,
        "format": "onnx",
        "model": "model.onnx",
        "task": task,
        "feature_count": n_features,
    }
    if task == "classification":
        case["class_labels"] = class_labels
    case["inputs"] = encode_matrix(X)
    if task == "classification":
        case["expected_labels"] = labels
        case["expected_probabilities"] = finite_rows(values)
        case["sklearn_labels"] = sk_labels
        case["sklearn_probabilities"] = sk_values
    else:
        case["expected_values"] = finite_rows(values)
        case["sklearn_values"] = sk_values
    case["row_tags"] = rows.tags
    case["onnx_input"] = {"name": "input", "dtype": "float64" if double_input else "float32"}
    case["onnx_outputs"] = [o.name for o in model.graph.output]
    case["onnx_opset_import"] = [[o.domain, o.version] for o in model.opset_import]
    case["onnx_operator"] = node.op_type
    case["zipmap"] = bool(zipmap and task == "classification")
    case["trees"] = n_trees
    case["max_depth"] = depth
    case["reference"] = ("onnxruntime InferenceSession, CPUExecutionProvider, intra_op_num_threads=1, "
                         f"input cast with numpy astype({'float64' if double_input else 'float32'}); "
                         "batch and single-row runs checked identical")
    case["notes"] = notes + f" Versions: {versions_text()}."
    write_json(os.path.join(out_dir, "case.json"), case)
    return case


# ---------------------------------------------------------------------------------------------
# XGBoost
# ---------------------------------------------------------------------------------------------


def xgb_predict(model_path, X):
    import xgboost as xgb

    bst = xgb.Booster(model_file=model_path)
    bst.set_param({"nthread": 1})
    d = xgb.DMatrix(X, missing=np.nan, nthread=1)
    return (np.asarray(bst.predict(d), dtype=np.float64),
            np.asarray(bst.predict(d, output_margin=True), dtype=np.float64))


def xgb_fixture(name, params, rounds, X_train, y_train, X_test, *, task, n_classes, notes, n_splits=12,
                rng_seed=SEED):
    import xgboost as xgb

    params = dict(params, nthread=1, seed=0, tree_method="hist")
    dtrain = xgb.DMatrix(X_train, label=y_train, missing=np.nan, nthread=1)
    bst = xgb.train(params, dtrain, num_boost_round=rounds)
    out_dir = os.path.join(FIXTURE_DIR, name)
    os.makedirs(out_dir, exist_ok=True)
    model_path = os.path.join(out_dir, "model.json")
    bst.save_model(model_path)
    with open(model_path) as f:
        model_json = json.load(f)

    rng = np.random.RandomState(rng_seed)
    splits, n_trees, depth = xgb_splits(model_json)

    def variants(t):
        lo, hi = down32(t), up32(t)
        return [("threshold", t), ("threshold+1ulp32", hi), ("threshold-1ulp32", lo),
                ("float64 just below threshold, rounds up to it in float32", t - (t - lo) * 0.25),
                ("float64 below threshold, rounds down to ulp32 below in float32", t - (t - lo) * 0.75)]

    def extra(rows, pool):
        rows.add(np.zeros(X_train.shape[1]), "all zeros")
        r = pool[30].copy()
        r[0] = -0.0
        rows.add(r, "-0.0 f0")
        r = pool[31].copy()
        r[1] = 3.4e38
        rows.add(r, "huge finite 3.4e38 f1")

    # DMatrix refuses +-inf unless missing=inf ("Input data contains `inf`"), so no inf rows.
    rows = build_rows(X_test, splits, "lt", rng, n_splits=n_splits, variants=variants, inf=False, extra=extra)
    X = rows.matrix()
    pred, margin = xgb_predict(model_path, X)

    case = {"name": name, "format": "xgboost", "model": "model.json", "task": task,
            "feature_count": X.shape[1]}
    if task == "classification":
        case["class_labels"] = list(range(n_classes))
    case["inputs"] = encode_matrix(X)
    if task == "classification":
        if n_classes == 2:
            p = pred.reshape(-1)
            case["expected_labels"] = [int(v > 0.5) for v in p]
            case["expected_probabilities"] = finite_rows(np.stack([1.0 - p, p], axis=1))
        else:
            case["expected_labels"] = [int(v) for v in np.argmax(pred, axis=1)]
            case["expected_probabilities"] = finite_rows(pred)
    else:
        case["expected_values"] = finite_rows(pred)
    case["margins"] = finite_rows(margin)
    case["row_tags"] = rows.tags
    lmp = model_json["learner"]["learner_model_param"]
    case["trees"] = n_trees
    case["max_depth"] = depth
    case["objective"] = model_json["learner"]["objective"]["name"]
    case["base_score_json"] = lmp["base_score"]
    case["reference"] = ("xgboost Booster(model_file).predict(DMatrix(X float64, missing=nan)), nthread=1; "
                         "margins = output_margin=True. XGBoost casts inputs to float32 and compares x < "
                         "split_condition; outputs are float32 (stored exactly as doubles). "
                         "Binary: expected_probabilities = [1 - p, p] computed in float64 from the float32 p.")
    case["notes"] = notes + f" Versions: {versions_text()}."
    write_json(os.path.join(out_dir, "case.json"), case)
    return case


# ---------------------------------------------------------------------------------------------
# LightGBM
# ---------------------------------------------------------------------------------------------


def lgb_predict(model_path, X):
    import lightgbm as lgb

    bst = lgb.Booster(model_file=model_path)
    return (np.asarray(bst.predict(X, num_threads=1), dtype=np.float64),
            np.asarray(bst.predict(X, num_threads=1, raw_score=True), dtype=np.float64))


def lgb_decision_types(model_path):
    types = set()
    with open(model_path) as f:
        for line in f:
            if line.startswith("decision_type="):
                types.update(int(v) for v in line.split("=", 1)[1].split())
    return sorted(types)


def lgb_fixture(name, params, rounds, X_train, y_train, X_test, *, task, n_classes, notes,
                categorical=None, n_splits=14, rng_seed=SEED, extra_rows=None):
    import lightgbm as lgb

    params = dict(params, num_threads=1, seed=0, deterministic=True, force_row_wise=True, verbose=-1)
    ds = lgb.Dataset(X_train, label=y_train, categorical_feature=categorical or "auto", free_raw_data=False)
    bst = lgb.train(params, ds, num_boost_round=rounds)
    out_dir = os.path.join(FIXTURE_DIR, name)
    os.makedirs(out_dir, exist_ok=True)
    model_path = os.path.join(out_dir, "model.txt")
    bst.save_model(model_path)
    bst = lgb.Booster(model_file=model_path)
    dump = bst.dump_model()

    rng = np.random.RandomState(rng_seed)
    splits, n_trees, depth = lgb_splits(dump)

    def variants(t):
        return [("threshold", t), ("threshold+1ulp64", up64(t)), ("threshold-1ulp64", down64(t)),
                ("float32(threshold)", f32(t)), ("threshold+1ulp32", up32(t)), ("threshold-1ulp32", down32(t))]

    def extra(rows, pool):
        n_features = X_train.shape[1]
        rows.add(np.zeros(n_features), "all zeros")
        # LightGBM's kZeroThreshold is the double 1e-35f = 1.0000000180025095e-35: |x| <= it counts as zero
        zt = f32(1e-35)
        for k, v in enumerate([-0.0, 1e-36, -1e-36, 1e-35, zt, -zt, up64(zt), -up64(zt), 2e-35, 5e-324]):
            r = pool[30 + k].copy()
            f = splits[0].feature if splits else 0
            if categorical and f in categorical:
                f = 0
            r[f] = v
            rows.add(r, f"near-zero {v!r} f{f} (LightGBM kZeroThreshold = 1e-35f)")
        if extra_rows is not None:
            extra_rows(rows, pool)

    rows = build_rows(X_test, splits, "le", rng, n_splits=n_splits, variants=variants, extra=extra)
    X = rows.matrix()
    pred, margin = lgb_predict(model_path, X)

    case = {"name": name, "format": "lightgbm", "model": "model.txt", "task": task,
            "feature_count": X.shape[1]}
    if task == "classification":
        case["class_labels"] = list(range(n_classes))
    case["inputs"] = encode_matrix(X)
    if task == "classification":
        if n_classes == 2:
            p = pred.reshape(-1)
            case["expected_labels"] = [int(v > 0.5) for v in p]
            case["expected_probabilities"] = finite_rows(np.stack([1.0 - p, p], axis=1))
        else:
            case["expected_labels"] = [int(v) for v in np.argmax(pred, axis=1)]
            case["expected_probabilities"] = finite_rows(pred)
    else:
        case["expected_values"] = finite_rows(pred)
    case["margins"] = finite_rows(margin)
    case["row_tags"] = rows.tags
    case["trees"] = n_trees
    case["max_depth"] = depth
    case["objective"] = dump["objective"]
    case["decision_types"] = lgb_decision_types(model_path)
    if categorical:
        case["categorical_features"] = list(categorical)
    case["reference"] = ("lightgbm Booster(model_file).predict(X float64, num_threads=1); margins = "
                         "raw_score=True. LightGBM compares in float64 (x <= threshold). "
                         "Binary: expected_probabilities = [1 - p, p] in float64.")
    case["notes"] = notes + f" Versions: {versions_text()}."
    write_json(os.path.join(out_dir, "case.json"), case)
    return case


# ---------------------------------------------------------------------------------------------
# the fixtures
# ---------------------------------------------------------------------------------------------


def fixtures():
    from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier, GradientBoostingRegressor,
                                  RandomForestClassifier, RandomForestRegressor)

    out = {}

    def onnx_cases():
        X, y = dataset("iris")
        Xtr, Xte, ytr, yte = split_data(X, y, 1)
        out["onnx_rf_iris_zipmap"] = partial(
            onnx_fixture, "onnx_rf_iris_zipmap", RandomForestClassifier(n_estimators=10, max_depth=4, random_state=1),
            Xtr, ytr, Xte, task="classification", zipmap=True, ties=True,
            notes="RandomForestClassifier(n_estimators=10, max_depth=4) on iris (3 classes), skl2onnx default "
                  "ZipMap output (seq(map(int64, float))) converted to dense rows ordered by class_labels. "
                  "Leaf class_weights are per-leaf class fractions already divided by n_estimators; "
                  "post_transform NONE; probabilities are the plain sum.")

        X, y = dataset("breast_cancer")
        Xtr, Xte, ytr, yte = split_data(X, y, 2)
        out["onnx_rf_breast_cancer_deep"] = partial(onnx_fixture,
            "onnx_rf_breast_cancer_deep",
            RandomForestClassifier(n_estimators=24, max_depth=12, max_features=1, random_state=2),
            Xtr, ytr, Xte, task="classification", zipmap=False, ties=True,
            notes="RandomForestClassifier(n_estimators=24, max_depth=12, max_features=1) on breast_cancer (binary, 30 features), "
                  "zipmap False. Binary case: skl2onnx writes ONE weight per leaf, class_ids all 0, weight = "
                  "P(class 1 | leaf) / n_estimators; onnxruntime outputs [1 - s, s] and label = classlabels[1] iff "
                  "s > 0.5 (all weights positive, no base_values). Tie rows (s exactly 0.5 in sklearn) included.")

        X, y = dataset("wine")
        Xtr, Xte, ytr, yte = split_data(X, y, 3)
        out["onnx_et_wine"] = partial(
            onnx_fixture, "onnx_et_wine", ExtraTreesClassifier(n_estimators=15, max_depth=6, random_state=3),
            Xtr, ytr, Xte, task="classification", zipmap=False, ties=True,
            notes="ExtraTreesClassifier(n_estimators=15, max_depth=6) on wine (3 classes, 13 features), zipmap False.")

        X, y = dataset("breast_cancer")
        Xtr, Xte, ytr, yte = split_data(X, y, 4)
        out["onnx_gb_breast_cancer_binary_zipmap"] = partial(onnx_fixture,
            "onnx_gb_breast_cancer_binary_zipmap",
            GradientBoostingClassifier(n_estimators=20, max_depth=3, learning_rate=0.2, random_state=4),
            Xtr, ytr, Xte, task="classification", zipmap=True,
            notes="GradientBoostingClassifier(n_estimators=20, max_depth=3, learning_rate=0.2) on breast_cancer "
                  "(binary), ZipMap output. skl2onnx: one score per leaf with class_ids all 0, class_weights = "
                  "learning_rate * leaf value (float32), base_values = [log-odds prior] (ONE value), "
                  "post_transform LOGISTIC; onnxruntime outputs [1 - sigmoid(s), sigmoid(s)] and label = 1 iff "
                  "raw score s > 0 (weights not all positive).")

        X, y = dataset("wine")
        Xtr, Xte, ytr, yte = split_data(X, y, 5)
        out["onnx_gb_wine_multiclass"] = partial(onnx_fixture,
            "onnx_gb_wine_multiclass",
            GradientBoostingClassifier(n_estimators=12, max_depth=3, learning_rate=0.3, random_state=5),
            Xtr, ytr, Xte, task="classification", zipmap=False,
            notes="GradientBoostingClassifier(n_estimators=12, max_depth=3, learning_rate=0.3) on wine (3 classes), "
                  "zipmap False: 12 iterations x 3 classes = 36 trees, tree k contributes to class k % 3 "
                  "(class_ids), base_values = 3 values (the init estimator's log priors), post_transform SOFTMAX.")

        X, y = dataset("diabetes")
        Xtr, Xte, ytr, yte = split_data(X, y, 6, stratify=False)
        out["onnx_rf_diabetes_regressor"] = partial(
            onnx_fixture, "onnx_rf_diabetes_regressor", RandomForestRegressor(n_estimators=20, max_depth=6, random_state=6),
            Xtr, ytr, Xte, task="regression", zipmap=False,
            notes="RandomForestRegressor(n_estimators=20, max_depth=6) on diabetes (10 features, targets 25..346). "
                  "target_weights are leaf means already divided by n_estimators, aggregate SUM, no base_values.")
        out["onnx_gb_diabetes_regressor"] = partial(onnx_fixture,
            "onnx_gb_diabetes_regressor",
            GradientBoostingRegressor(n_estimators=30, max_depth=3, learning_rate=0.1, random_state=7),
            Xtr, ytr, Xte, task="regression", zipmap=False,
            notes="GradientBoostingRegressor(n_estimators=30, max_depth=3, learning_rate=0.1) on diabetes. "
                  "target_weights = learning_rate * leaf value, base_values = [mean of y_train], aggregate SUM.")

        X, y = dataset("wine")
        Xtr, Xte, ytr, yte = split_data(X, y, 8)
        out["onnx_rf_wine_double_input"] = partial(onnx_fixture,
            "onnx_rf_wine_double_input",
            RandomForestClassifier(n_estimators=10, max_depth=5, random_state=8),
            Xtr, ytr, Xte, task="classification", zipmap=False, double_input=True,
            notes="RandomForestClassifier(n_estimators=10, max_depth=5) on wine (3 classes) exported with "
                  "DoubleTensorType input, zipmap False. skl2onnx 1.20 still writes ai.onnx.ml opset 1 attributes "
                  "(float32 nodes_values / class_weights, NO *_as_tensor). onnxruntime feeds the float64 input "
                  "WITHOUT casting it to float32: x(double) <= (double)threshold_f32. Inputs are NOT rounded to "
                  "float32 here; rows between a threshold and its float32 neighbours test this. The probability "
                  "output is float32. (A DoubleTensorType RandomForestRegressor is not usable: skl2onnx declares a "
                  "double output that onnxruntime refuses to load.)")

    def xgb_cases():
        X, y = dataset("breast_cancer")
        rng = np.random.RandomState(11)
        Xn = with_nans(X, rng, 0.1)
        Xtr, Xte, ytr, yte = split_data(Xn, y, 11)
        out["xgb_binary_nan"] = partial(xgb_fixture,
            "xgb_binary_nan",
            {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "base_score": 0.3},
            20, Xtr, ytr, Xte, task="classification", n_classes=2,
            notes="xgb.train binary:logistic, 20 rounds, max_depth 3, eta 0.3, base_score 0.3 (non-default), "
                  "breast_cancer with 10% NaN in train and test (default_left learned per node). "
                  "base_score in the JSON is a probability ('[3E-1]' in xgboost 3.x, a bracketed list); "
                  "the margin starts at logit(0.3). p = sigmoid(margin).")

        X, y = dataset("wine")
        Xtr, Xte, ytr, yte = split_data(X, y, 12)
        out["xgb_multiclass"] = partial(xgb_fixture,
            "xgb_multiclass",
            {"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "eta": 0.3},
            10, Xtr, ytr, Xte, task="classification", n_classes=3,
            notes="xgb.train multi:softprob, num_class 3, 10 rounds (30 trees, tree i -> class i % 3 via "
                  "tree_info), max_depth 3, wine. base_score left default: xgboost 3.x estimates one intercept "
                  "PER CLASS and writes them as a bracketed list in learner_model_param.base_score (margin space "
                  "for softprob; see base_score_json).")

        X, y = dataset("diabetes")
        Xtr, Xte, ytr, yte = split_data(X, y, 13, stratify=False)
        out["xgb_regression_deep"] = partial(xgb_fixture,
            "xgb_regression_deep",
            {"objective": "reg:squarederror", "max_depth": 10, "eta": 0.2, "min_child_weight": 1},
            25, Xtr, ytr, Xte, task="regression", n_classes=0,
            notes="xgb.train reg:squarederror, 25 rounds, max_depth 10 (deep), diabetes. base_score left "
                  "default: xgboost estimates it (mean of y) and stores it as a bracketed list.")

    def lgb_cases():
        X, y = dataset("breast_cancer")
        rng = np.random.RandomState(21)
        Xn = with_nans(X, rng, 0.1)
        Xtr, Xte, ytr, yte = split_data(Xn, y, 21)
        out["lgb_binary_nan"] = partial(lgb_fixture,
            "lgb_binary_nan",
            {"objective": "binary", "num_leaves": 15, "learning_rate": 0.2, "min_data_in_leaf": 5},
            20, Xtr, ytr, Xte, task="classification", n_classes=2,
            notes="lgb.train binary, 20 rounds, num_leaves 15, breast_cancer with 10% NaN in train and test "
                  "(use_missing default: missing_type NaN where the feature had NaN in training).")

        X, y = dataset("wine")
        Xtr, Xte, ytr, yte = split_data(X, y, 22)
        out["lgb_multiclass"] = partial(lgb_fixture,
            "lgb_multiclass",
            {"objective": "multiclass", "num_class": 3, "num_leaves": 7, "learning_rate": 0.2,
             "min_data_in_leaf": 5},
            10, Xtr, ytr, Xte, task="classification", n_classes=3,
            notes="lgb.train multiclass (softmax), num_class 3, 10 rounds (30 trees, tree i -> class i % 3), "
                  "num_leaves 7, wine. Trained without NaN: NaN inputs follow missing_type None (NaN -> 0.0).")

        X, y = dataset("diabetes")
        rng = np.random.RandomState(23)
        Xz = X.copy()
        Xz[rng.rand(*X.shape) < 0.15] = 0.0
        Xtr, Xte, ytr, yte = split_data(Xz, y, 23, stratify=False)
        out["lgb_regression_zero_as_missing"] = partial(lgb_fixture,
            "lgb_regression_zero_as_missing",
            {"objective": "regression", "num_leaves": 15, "learning_rate": 0.1, "min_data_in_leaf": 5,
             "zero_as_missing": True},
            25, Xtr, ytr, Xte, task="regression", n_classes=0,
            notes="lgb.train regression (L2), 25 rounds, num_leaves 15, zero_as_missing=True, diabetes with 15% "
                  "of the values set to exactly 0.0 in train and test. missing_type Zero: 0.0, |x| <= 1e-35 and "
                  "NaN all take the default direction.")

        from sklearn.datasets import make_classification

        Xc, yc = make_classification(n_samples=1500, n_features=6, n_informative=4, n_redundant=0,
                                     random_state=24)
        rng = np.random.RandomState(24)
        cat = rng.randint(0, 10, size=len(Xc))
        # make the category matter: flip labels for a few categories
        yc = np.where(np.isin(cat, [2, 5, 7]), 1 - yc, yc)
        Xc = np.column_stack([Xc, cat.astype(np.float64)])
        Xtr, Xte, ytr, yte = split_data(Xc, yc, 24)
        k = Xc.shape[1] - 1

        def cat_rows(rows, pool):
            for j, v in enumerate([-1.0, -3.0, 10.0, 25.0, np.nan, 2.5, 3.99, -0.5, 0.0, 9.0, 1e6]):
                r = pool[j].copy()
                r[k] = v
                rows.add(r, f"categorical f{k} = {v!r}")
        out["lgb_binary_categorical"] = partial(lgb_fixture,
            "lgb_binary_categorical",
            {"objective": "binary", "num_leaves": 15, "learning_rate": 0.2, "min_data_per_group": 20,
             "cat_smooth": 5, "min_data_in_leaf": 10},
            20, Xtr, ytr, Xte, task="classification", n_classes=2, categorical=[k], extra_rows=cat_rows,
            notes=f"lgb.train binary on make_classification (6 numeric features) plus an integer categorical "
                  f"column f{k} (categories 0..9, categorical_feature=[{k}]); labels flipped for categories "
                  f"2, 5, 7 so categorical splits are used (decision_type bit 0 set, cat_boundaries/cat_threshold "
                  f"bitsets). Test rows include negative, unseen (10, 25, 1e6), non-integer (2.5, 3.99, -0.5) "
                  f"and NaN categories.")

    onnx_cases()
    xgb_cases()
    lgb_cases()
    return out


# ---------------------------------------------------------------------------------------------
# verification: reload every model from disk and re-predict from case.json's inputs
# ---------------------------------------------------------------------------------------------


def verify(name):
    d = os.path.join(FIXTURE_DIR, name)
    with open(os.path.join(d, "case.json")) as f:
        case = json.load(f)
    X = decode_matrix(case["inputs"])
    model_path = os.path.join(d, case["model"])
    assert len(case["inputs"]) == len(case["row_tags"])
    if case["format"] == "onnx":
        dtype = np.float64 if case["onnx_input"]["dtype"] == "float64" else np.float32
        if dtype == np.float32:
            assert same(X, X.astype(np.float32).astype(np.float64)), "inputs not float32-representable"
        labels, values = ort_predict(model_path, X, dtype, case["task"], case.get("class_labels"))
        margins = None
    elif case["format"] == "xgboost":
        values, margins = xgb_predict(model_path, X)
        labels = None
    else:
        values, margins = lgb_predict(model_path, X)
        labels = None
    if case["task"] == "classification":
        if values.ndim == 1:
            p = values
            values = np.stack([1.0 - p, p], axis=1)
            labels = [int(v > 0.5) for v in p]
        elif labels is None:
            labels = [int(v) for v in np.argmax(values, axis=1)]
        assert labels == case["expected_labels"], f"{name}: labels differ after reload"
        assert same(values, case["expected_probabilities"]), f"{name}: probabilities differ after reload"
    else:
        assert same(values.reshape(len(X), -1), case["expected_values"]), f"{name}: values differ after reload"
    if margins is not None:
        assert same(margins.reshape(len(X), -1), case["margins"]), f"{name}: margins differ after reload"
    return case


# ---------------------------------------------------------------------------------------------
# the gateway's default model
# ---------------------------------------------------------------------------------------------

IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]
IRIS_EXAMPLES = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


def default_model():
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import RandomForestClassifier

    X, y = dataset("iris")
    est = RandomForestClassifier(n_estimators=16, max_depth=5, random_state=42).fit(X, y)
    model = convert_sklearn(est, initial_types=[("input", FloatTensorType([None, 4]))],
                            options={id(est): {"zipmap": False}})
    make_reproducible(model, "iris_forest")
    model.doc_string = ("Tollgate default model: scikit-learn RandomForestClassifier(n_estimators=16, max_depth=5, "
                        "random_state=42) trained on all of iris; inputs " + ", ".join(IRIS_FEATURES) +
                        " (cm); classes 0,1,2 = " + ", ".join(IRIS_CLASSES) + ".")
    os.makedirs(MODELS_DIR, exist_ok=True)
    path = os.path.join(MODELS_DIR, "iris-forest.onnx")
    onnx.save_model(model, path)

    sess = ort_session(path)
    examples = []
    for row in IRIS_EXAMPLES:
        label, probs = sess.run(None, {"input": np.array([row], dtype=np.float32)})
        idx = int(label[0])
        examples.append({"input": row, "label_index": idx, "label": IRIS_CLASSES[idx],
                         "probabilities": [float(v) for v in probs[0]],
                         "sklearn_probabilities": [float(v) for v in
                                                   est.predict_proba(np.array([row], dtype=np.float32))[0]]})
    meta = {
        "model": "iris-forest.onnx",
        "format": "onnx",
        "task": "classification",
        "input_name": "input",
        "input_dtype": "float32",
        "outputs": [o.name for o in model.graph.output],
        "feature_names": IRIS_FEATURES,
        "class_labels": IRIS_CLASSES,
        "onnx_class_labels": onnx_class_labels(model),
        "trees": 16,
        "max_depth": 5,
        "examples": examples,
        "notes": "Probabilities from onnxruntime (intra_op_num_threads=1). The ONNX file carries int64 class "
                 "labels 0,1,2; class_labels maps them to names. Regenerate with "
                 "python3 scripts/forest_fixtures.py --default-model-only. Versions: " + versions_text() + ".",
    }
    write_json(os.path.join(MODELS_DIR, "iris-forest.json"), meta)
    for ex in examples:
        print(f"iris-forest {ex['input']} -> {ex['label']} {ex['probabilities']}")
    return meta


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--default-model-only", action="store_true", help="write only models/iris-forest.onnx")
    ap.add_argument("--only", nargs="*", help="fixture names to (re)generate; default all")
    args = ap.parse_args()

    print("versions:", versions_text())
    default_model()
    if args.default_model_only:
        return 0

    table = fixtures()
    names = args.only or sorted(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        print("unknown fixtures:", ", ".join(unknown), file=sys.stderr)
        return 2
    if not args.only and os.path.isdir(FIXTURE_DIR):
        shutil.rmtree(FIXTURE_DIR)
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    print(f"{'fixture':38} {'format':9} {'task':15} {'cls':>3} {'feat':>4} {'trees':>5} {'depth':>5} {'rows':>4}")
    for name in names:
        table[name]()
        case = verify(name)
        print(f"{name:38} {case['format']:9} {case['task']:15} {len(case.get('class_labels') or []):>3} "
              f"{case['feature_count']:>4} {case['trees']:>5} {case['max_depth']:>5} {len(case['inputs']):>4}")
    print("all fixtures reloaded from disk and reproduced exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
