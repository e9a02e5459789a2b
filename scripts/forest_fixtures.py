#!/usr/bin/env python3
"""Reference fixtures for the in-process tree-ensemble engine (ONNX-ML, XGBoost JSON, LightGBM text).

Trains small tree ensembles on data sets that ship inside scikit-learn (or synthetic ones),
exports them the way users do (skl2onnx, Booster.save_model("model.json"), save_model("model.txt")),
and records what the reference runtime answers for a fixed set of input rows:

  ONNX      onnxruntime, CPU, intra_op_num_threads=1 (scikit-learn's own answers under sklearn_*)
  XGBoost   Booster.predict(DMatrix(X, missing=nan)), nthread=1 (+ output_margin=True as margins)
  LightGBM  Booster.predict(X float64, num_threads=1)  (+ raw_score=True as margins)

ONNX forms skl2onnx does not write (ai.onnx.ml 3 *_as_tensor doubles, ai.onnx.ml 5 TreeEnsemble, split modes
other than BRANCH_LEQ, BRANCH_MEMBER, missing_value_tracks_true, multi-target regressors) are made by rewriting
its export with onnx.helper; onnx.checker and onnxruntime must accept the result, and onnxruntime's answers for
it are the expected values (sklearn's are not recorded for those).

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
                 rng_seed=SEED, n_splits=16, ties=False, target_opset=None, rewrite=None, extra_rows=None):
    """rewrite(model, est) -> (model to write, model to read split thresholds from) turns the skl2onnx
    export into a form skl2onnx does not write (see the hand-rewritten fixtures below); extra_rows(rows,
    pool) adds rows after the standard ones."""
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
    split_model = None
    if rewrite is not None:
        model, split_model = rewrite(model, est)
    out_dir = os.path.join(FIXTURE_DIR, name)
    os.makedirs(out_dir, exist_ok=True)
    model_path = os.path.join(out_dir, "model.onnx")
    onnx.save_model(model, model_path)
    model = onnx.load(model_path)

    rng = np.random.RandomState(rng_seed)
    splits, n_trees, depth = onnx_splits(split_model if split_model is not None else model)
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
        if extra_rows is not None:
            extra_rows(rows, pool)

    rows = build_rows(pool_test, splits, "le", rng, n_splits=n_splits, variants=variants, extra=extra)
    X = rows.matrix()
    if not double_input:
        # The engine casts float64 -> float32 like numpy astype; store float32-representable inputs.
        X = X.astype(np.float32).astype(np.float64)
    input_dtype = np.float64 if double_input else np.float32

    class_labels = onnx_class_labels(model) if task == "classification" else None
    labels, values = ort_predict(model_path, X, input_dtype, task, class_labels)
    # A rewritten model is not what scikit-learn computes, so its answers are not recorded.
    sk_labels, sk_values = sklearn_reference(est, X, task) if rewrite is None else (None, None)

    node = onnx_tree_node(model)
    if node.op_type == "TreeEnsemble":
        n_trees = len(tree_attrs(node)["tree_roots"])
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
        if rewrite is None:
            case["sklearn_labels"] = sk_labels
            case["sklearn_probabilities"] = sk_values
    else:
        case["expected_values"] = finite_rows(values)
        if rewrite is None:
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
# ONNX forms skl2onnx does not write, made by rewriting its export: *_as_tensor doubles
# (ai.onnx.ml 3), TreeEnsemble (ai.onnx.ml 5), other split modes, BRANCH_MEMBER, missing-value flags
# ---------------------------------------------------------------------------------------------


def tree_attrs(node):
    """The tree node's attributes as Python values: tensors as numpy arrays, strings decoded."""
    from onnx import helper, numpy_helper

    out = {}
    for at in node.attribute:
        v = helper.get_attribute_value(at)
        if hasattr(v, "dims"):
            v = numpy_helper.to_array(v)
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [x.decode() for x in v]
        elif isinstance(v, bytes):
            v = v.decode()
        out[at.name] = v
    return out


def tensor_attr(values, dtype):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(values, dtype=dtype))


def set_tree_node(model, op_type, attrs, ml_opset):
    """Replaces the tree node (same inputs and outputs) and the ai.onnx.ml opset import; rechecks the model."""
    import onnx
    from onnx import helper

    old = onnx_tree_node(model)
    new = helper.make_node(op_type, list(old.input), list(old.output), domain="ai.onnx.ml", name=old.name,
                           **{k: attrs[k] for k in sorted(attrs)})
    nodes = [new if n is old else n for n in model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    for o in model.opset_import:
        if o.domain == "ai.onnx.ml":
            o.version = ml_opset
    onnx.checker.check_model(model)
    return model


def legacy_trees(a, prefix):
    """Legacy attributes as {tree: {"root": id, "nodes": {id: (mode, feature, value, true, false)},
    "weights": {id: [(output, weight), ...]}}}, trees in file order."""
    values = a.get("nodes_values")
    if values is None:
        values = a["nodes_values_as_tensor"]
    weights = a.get(prefix + "_weights")
    if weights is None:
        weights = a[prefix + "_weights_as_tensor"]
    trees = {}
    for i, t in enumerate(a["nodes_treeids"]):
        tree = trees.setdefault(t, {"root": a["nodes_nodeids"][i], "nodes": {}, "weights": {}})
        tree["nodes"][a["nodes_nodeids"][i]] = (a["nodes_modes"][i], a["nodes_featureids"][i], float(values[i]),
                                                a["nodes_truenodeids"][i], a["nodes_falsenodeids"][i])
    for t, n, c, w in zip(a[prefix + "_treeids"], a[prefix + "_nodeids"], a[prefix + "_ids"], weights):
        trees[t]["weights"].setdefault(n, []).append((c, float(w)))
    return trees


def sklearn_thresholds(est):
    """skl2onnx numbers RandomForest/ExtraTrees trees as estimators_ and GradientBoostingRegressor's as
    estimators_[:, 0], with sklearn's node indices as node ids."""
    trees = est.estimators_[:, 0] if getattr(est.estimators_, "ndim", 1) == 2 else est.estimators_
    return lambda t, n: float(trees[t].tree_.threshold[n])


def forest_weight(est, t, n, c):
    """RandomForest/ExtraTrees class weight as skl2onnx computes it, in float64."""
    v = est.estimators_[t].tree_.value[n][0]
    return float(v[c] / v.sum() / len(est.estimators_))


def boosting_weight(est, t, n, c):
    """GradientBoostingRegressor leaf weight as skl2onnx computes it, in float64."""
    return float(est.learning_rate * est.estimators_[t, 0].tree_.value[n][0][0])


def chain(first, second):
    """Two rewrites in turn; split thresholds come from the first one's result."""
    def rewrite(model, est):
        model, split_model = first(model, est)
        split_copy = type(model)()
        split_copy.CopyFrom(split_model)
        model, _ = second(model, est)
        return model, split_copy

    return rewrite


def with_double_tensors(est_thresholds, weight_of, base_of=None, prefix="class"):
    """ai.onnx.ml 3 rewrite for a DOUBLE-input export: nodes_values_as_tensor with sklearn's float64
    thresholds (skl2onnx rounds them to float32), <prefix>_weights_as_tensor and base_values_as_tensor as
    float64 values recomputed from the sklearn model, nodes_hitrates_as_tensor; the plain float lists are
    dropped. A regressor's output is declared FLOAT (onnxruntime's TreeEnsembleRegressor writes float)."""
    from onnx import TensorProto

    def rewrite(model, est):
        node = onnx_tree_node(model)
        a = tree_attrs(node)
        thresholds = est_thresholds(est)
        a["nodes_values_as_tensor"] = tensor_attr(
            [0.0 if m == "LEAF" else thresholds(t, n)
             for m, t, n in zip(a["nodes_modes"], a["nodes_treeids"], a["nodes_nodeids"])],
            np.float64)
        del a["nodes_values"]
        floats = a.pop(prefix + "_weights")
        doubles = [weight_of(est, t, n, c) for t, n, c in zip(a[prefix + "_treeids"], a[prefix + "_nodeids"],
                                                            a[prefix + "_ids"])]
        assert np.array_equal(np.float32(doubles), np.float32(floats)), "recomputed weights differ from skl2onnx's"
        a[prefix + "_weights_as_tensor"] = tensor_attr(doubles, np.float64)
        a["nodes_hitrates_as_tensor"] = tensor_attr(a.pop("nodes_hitrates"), np.float64)
        if base_of is not None:
            base = base_of(est)
            assert np.array_equal(np.float32(base), np.float32(a.pop("base_values")))
            a["base_values_as_tensor"] = tensor_attr(base, np.float64)
        set_tree_node(model, node.op_type, a, 3)
        for o in model.graph.output:
            if o.type.tensor_type.elem_type == TensorProto.DOUBLE:
                o.type.tensor_type.elem_type = TensorProto.FLOAT
        return model, model

    return rewrite


def mixed_modes(t, node_index, mode, feature, value, categories):
    """An equivalent node in another mode, cycling by node index: (mode, value or members, swap children,
    missing_value_tracks_true). For float32 inputs x <= t is x < nextup(t), !(x > t), !(x >= nextup(t)); NaN
    takes the false branch of whichever comparison is written, so each form sends NaN its own way (and every
    third node overrides that with missing_value_tracks_true). A split on an integer category column becomes
    BRANCH_EQ / BRANCH_NEQ for one category, else BRANCH_MEMBER with the categories on one side."""
    track = node_index % 3 == 2
    if feature in categories:
        cats = categories[feature]
        below = [c for c in cats if c <= value]
        above = [c for c in cats if c > value]
        if len(below) == 1:
            return "BRANCH_EQ", float(below[0]), False, track
        if len(above) == 1:
            return "BRANCH_NEQ", float(above[0]), False, track
        # The big column keeps its upper side, so the set has members over 30 (not unrolled by onnxruntime).
        if max(cats) > 30:
            return "BRANCH_MEMBER", [float(c) for c in above], True, track
        return "BRANCH_MEMBER", [float(c) for c in below], False, track
    form = node_index % 4
    if form == 0:
        return "BRANCH_LEQ", value, False, track
    if form == 1:
        return "BRANCH_LT", up32(value), False, track
    if form == 2:
        return "BRANCH_GT", value, True, track
    return "BRANCH_GTE", up32(value), True, track


def to_tree_ensemble(a, prefix, *, n_targets, dtype, leaf_value, aggregate=1, post_transform=0, per_target=False,
                     remode=None, thresholds=None):
    """TreeEnsemble (ai.onnx.ml 5) attributes for a legacy export: each tree laid out depth-first from its
    root. leaf_value(tree, node, weights) gives the leaf's [(target, weight)] (one entry, or one per target
    with per_target, which writes one tree per target); remode(...) rewrites split modes (mixed_modes);
    thresholds(tree, node) overrides split values. post_transform uses onnxruntime's numbering (1 LOGISTIC,
    2 SOFTMAX), which swaps the TreeEnsemble specification's 1 and 2."""
    code = {"BRANCH_LEQ": 0, "BRANCH_LT": 1, "BRANCH_GTE": 2, "BRANCH_GT": 3, "BRANCH_EQ": 4, "BRANCH_NEQ": 5,
            "BRANCH_MEMBER": 6}
    out = {k: [] for k in ["nodes_modes", "nodes_splits", "nodes_featureids", "nodes_truenodeids",
                           "nodes_trueleafs", "nodes_falsenodeids", "nodes_falseleafs",
                           "nodes_missing_value_tracks_true", "leaf_targetids", "leaf_weights", "tree_roots"]}
    members = []
    trees = legacy_trees(a, prefix)
    targets = range(n_targets) if per_target else [None]
    for t, tree in trees.items():
        for target in targets:
            def emit(n):
                mode, feature, value, true_id, false_id = tree["nodes"][n]
                if mode == "LEAF":
                    for c, w in leaf_value(t, n, tree["weights"].get(n, []), target):
                        out["leaf_targetids"].append(int(c))
                        out["leaf_weights"].append(w)
                    return True, len(out["leaf_weights"]) - 1
                if thresholds is not None:
                    value = thresholds(t, n)
                position = len(out["nodes_modes"])
                for k in out:
                    if k.startswith("nodes_"):
                        out[k].append(None)
                mode, split, swap, track = remode(t, position, mode, feature, value) if remode else (mode, value, False, False)
                out["nodes_modes"][position] = code[mode]
                if mode == "BRANCH_MEMBER":
                    members.extend(split + [float("nan")])
                    split = 0.0
                out["nodes_splits"][position] = split
                out["nodes_featureids"][position] = feature
                out["nodes_missing_value_tracks_true"][position] = int(track)
                first, second = (false_id, true_id) if swap else (true_id, false_id)
                for side, child in (("true", first), ("false", second)):
                    leaf, index = emit(child)
                    out[f"nodes_{side}leafs"][position] = int(leaf)
                    out[f"nodes_{side}nodeids"][position] = index
                return False, position

            leaf, root = emit(tree["root"])
            assert not leaf, "a one-leaf tree needs a self-referencing node"
            out["tree_roots"].append(root)
    attrs = {k: v for k, v in out.items() if k not in ("nodes_modes", "nodes_splits", "leaf_weights")}
    attrs["nodes_modes"] = tensor_attr(out["nodes_modes"], np.uint8)
    attrs["nodes_splits"] = tensor_attr(out["nodes_splits"], dtype)
    attrs["leaf_weights"] = tensor_attr(out["leaf_weights"], dtype)
    if members:
        attrs["membership_values"] = tensor_attr(members, dtype)
    attrs.update(n_targets=n_targets, aggregate_function=aggregate, post_transform=post_transform)
    return attrs


def as_tree_ensemble(prefix, n_targets, make_kwargs):
    """Rewrite to TreeEnsemble (to_tree_ensemble(**make_kwargs(est))); the output keeps skl2onnx's name
    (the probabilities' for a classifier export) and is declared [N, n_targets] of the input type."""
    from onnx import helper

    def rewrite(model, est):
        node = onnx_tree_node(model)
        split_model = type(model)()
        split_model.CopyFrom(model)
        attrs = to_tree_ensemble(tree_attrs(node), prefix, n_targets=n_targets, **make_kwargs(est))
        elem = model.graph.input[0].type.tensor_type.elem_type
        out_name = model.graph.output[0].name if prefix == "target" else node.output[1]
        for n in list(model.graph.node):
            if n is not node:
                model.graph.node.remove(n)
        node.output[:] = [out_name] if prefix == "class" else list(node.output)
        del model.graph.output[:]
        model.graph.output.append(helper.make_tensor_value_info(out_name, elem, [None, n_targets]))
        set_tree_node(model, "TreeEnsemble", attrs, 5)
        return model, split_model

    return rewrite


def as_legacy_regressor(*, n_targets, post_transform, remode=None, weight_fix=None):
    """A classifier export rewritten as a multi-target TreeEnsembleRegressor (class i -> target i)."""
    from onnx import TensorProto, helper

    def rewrite(model, est):
        node = onnx_tree_node(model)
        split_model = type(model)()
        split_model.CopyFrom(model)
        a = tree_attrs(node)
        r = {k: a[k] for k in a if k.startswith("nodes_")}
        for src, dst in (("treeids", "treeids"), ("nodeids", "nodeids"), ("ids", "ids"), ("weights", "weights")):
            r["target_" + dst] = a["class_" + src]
        if weight_fix is not None:
            r["target_weights"] = [weight_fix(w) for w in r["target_weights"]]
        if remode is not None:
            for i, m in enumerate(r["nodes_modes"]):
                if m == "LEAF":
                    continue
                mode, value, swap, track = remode(r["nodes_treeids"][i], i, m, r["nodes_featureids"][i],
                                                  float(r["nodes_values"][i]))
                r["nodes_modes"][i], r["nodes_values"][i] = mode, value
                r["nodes_missing_value_tracks_true"][i] = int(track)
                if swap:
                    r["nodes_truenodeids"][i], r["nodes_falsenodeids"][i] = (r["nodes_falsenodeids"][i],
                                                                             r["nodes_truenodeids"][i])
        r.update(n_targets=n_targets, post_transform=post_transform)
        out_name = node.output[1]
        for n in list(model.graph.node):
            if n is not node:
                model.graph.node.remove(n)
        node.output[:] = [out_name]
        del model.graph.output[:]
        model.graph.output.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [None, n_targets]))
        set_tree_node(model, "TreeEnsembleRegressor", r, 1)
        return model, split_model

    return rewrite


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

        # Forms skl2onnx does not write, made by rewriting its export (see "ONNX forms skl2onnx does not
        # write" above). sklearn_* answers are not recorded for these: the rewritten model is not sklearn's.
        X, y = dataset("wine")
        Xtr, Xte, ytr, yte = split_data(X, y, 31)
        out["onnx_rf_wine_opset3_double_tensors"] = partial(onnx_fixture,
            "onnx_rf_wine_opset3_double_tensors",
            RandomForestClassifier(n_estimators=8, max_depth=5, random_state=31),
            Xtr, ytr, Xte, task="classification", zipmap=False, double_input=True,
            rewrite=with_double_tensors(sklearn_thresholds, forest_weight, prefix="class"),
            notes="RandomForestClassifier(n_estimators=8, max_depth=5) on wine, DoubleTensorType input, rewritten "
                  "to ai.onnx.ml opset 3: nodes_values_as_tensor holds sklearn's float64 thresholds (skl2onnx "
                  "would round them to float32), class_weights_as_tensor the float64 class fractions / "
                  "n_estimators, nodes_hitrates_as_tensor doubles; the plain float lists are removed. onnxruntime "
                  "compares the double input with the double thresholds and sums the double weights in double; "
                  "rows one float64 ulp either side of a threshold test that no float32 rounding happens.")

        X, y = dataset("diabetes")
        Xtr, Xte, ytr, yte = split_data(X, y, 32, stratify=False)
        out["onnx_gb_diabetes_opset3_double_tensors"] = partial(onnx_fixture,
            "onnx_gb_diabetes_opset3_double_tensors",
            GradientBoostingRegressor(n_estimators=12, max_depth=3, learning_rate=0.2, random_state=32),
            Xtr, ytr, Xte, task="regression", zipmap=False, double_input=True,
            rewrite=with_double_tensors(sklearn_thresholds, boosting_weight,
                                        base_of=lambda est: [float(est.init_.constant_[0][0])], prefix="target"),
            notes="GradientBoostingRegressor(n_estimators=12, max_depth=3, learning_rate=0.2) on diabetes, "
                  "DoubleTensorType input, rewritten to ai.onnx.ml opset 3 TreeEnsembleRegressor with "
                  "nodes_values_as_tensor (sklearn's float64 thresholds), target_weights_as_tensor (learning_rate * "
                  "leaf value in float64), base_values_as_tensor ([mean of y_train] in float64); output declared "
                  "FLOAT, which is what onnxruntime's TreeEnsembleRegressor writes.")

        Xtr, Xte, ytr, yte = split_data(X, y, 33, stratify=False)
        out["onnx_rf_diabetes_tree_ensemble_average"] = partial(onnx_fixture,
            "onnx_rf_diabetes_tree_ensemble_average",
            RandomForestRegressor(n_estimators=8, max_depth=5, random_state=33),
            Xtr, ytr, Xte, task="regression", zipmap=False,
            rewrite=as_tree_ensemble("target", 1, lambda est: dict(
                dtype=np.float32, aggregate=0,
                leaf_value=lambda t, n, w, target: [(0, float(np.float32(est.estimators_[t].tree_.value[n][0][0])))])),
            notes="RandomForestRegressor(n_estimators=8, max_depth=5) on diabetes rewritten as one ai.onnx.ml "
                  "opset 5 TreeEnsemble: float32 nodes_splits, leaf_weights = the undivided float32 leaf means, "
                  "aggregate_function 0 (AVERAGE: float sum of the 8 leaves / 8), n_targets 1, no base values.")

        from sklearn.datasets import make_regression

        Xr, yr = make_regression(n_samples=600, n_features=4, noise=5.0, random_state=34)
        rng = np.random.RandomState(34)
        cat, big = rng.randint(0, 10, size=len(Xr)), rng.randint(0, 60, size=len(Xr))
        yr = yr + np.where(np.isin(cat, [2, 5, 7]), 80.0, 0.0) + np.where(np.isin(big % 7, [1, 3]), -60.0, 0.0) + big
        Xc = np.column_stack([Xr, cat, big]).astype(np.float64)
        Xtr, Xte, ytr, yte = split_data(Xc, yr, 34, stratify=False)
        categories = {4: list(range(10)), 5: list(range(60))}

        def category_rows(rows, pool):
            for j, (f, v) in enumerate([(4, 2.5), (4, -0.5), (4, -1.0), (4, 10.0), (4, 1e6), (4, np.nan), (4, 0.0),
                                        (4, 7.0), (4, 4.999), (5, 31.0), (5, 45.5), (5, -0.7), (5, 59.0), (5, 60.0),
                                        (5, 1e6), (5, np.nan), (5, 30.0), (5, 2.9), (5, -3.0), (5, 58.5)]):
                r = pool[j].copy()
                r[f] = v
                rows.add(r, f"category f{f} = {v!r}")
        out["onnx_tree_ensemble_member_modes"] = partial(onnx_fixture,
            "onnx_tree_ensemble_member_modes",
            RandomForestRegressor(n_estimators=6, max_depth=6, random_state=34),
            Xtr, ytr, Xte, task="regression", zipmap=False, extra_rows=category_rows,
            rewrite=as_tree_ensemble("target", 1, lambda est: dict(
                dtype=np.float32, leaf_value=lambda t, n, w, target: w,
                remode=partial(mixed_modes, categories=categories))),
            notes="RandomForestRegressor(n_estimators=6, max_depth=6) on make_regression (4 features) plus integer "
                  "category columns f4 (0..9) and f5 (0..59), rewritten as an ai.onnx.ml opset 5 TreeEnsemble with "
                  "every split mode: numeric splits cycle through BRANCH_LEQ t, BRANCH_LT nextup32(t), BRANCH_GT t "
                  "and BRANCH_GTE nextup32(t) with swapped children; category splits become BRANCH_EQ / BRANCH_NEQ "
                  "(one category on a side) or BRANCH_MEMBER: f4's sets are small (onnxruntime unrolls them into "
                  "exact equality tests), f5's hold members over 30 (onnxruntime truncates the input to an integer "
                  "and looks it up); every third node has missing_value_tracks_true. Rows with non-integer, "
                  "negative, unseen and NaN categories show where these forms differ from the original <= split.")

        def default_model_file(model, est):
            import onnx

            default = onnx.load(os.path.join(MODELS_DIR, "iris-forest.onnx"))
            return default, default
        X, y = dataset("iris")
        out["onnx_default_iris_forest"] = partial(onnx_fixture,
            "onnx_default_iris_forest",
            RandomForestClassifier(n_estimators=16, max_depth=5, random_state=42),
            X, y, X, task="classification", zipmap=False, ties=True, rewrite=default_model_file,
            notes="The gateway's default model models/iris-forest.onnx (written by default_model() above, "
                  "byte for byte the same file) with the standard threshold, NaN and infinity rows: the test "
                  "bundle sees only Tests/LocalModelsTests/Fixtures, so the file is copied here.")

        X, y = dataset("iris")
        names = np.array(["setosa", "versicolor", "virginica"])
        Xtr, Xte, ytr, yte = split_data(X, names[y], 35)
        out["onnx_rf_iris_string_labels"] = partial(onnx_fixture,
            "onnx_rf_iris_string_labels",
            RandomForestClassifier(n_estimators=6, max_depth=4, random_state=35),
            Xtr, ytr, Xte, task="classification", zipmap=True, ties=True,
            notes="RandomForestClassifier(n_estimators=6, max_depth=4) on iris with string targets: skl2onnx "
                  "writes classlabels_strings and a ZipMap keyed by them; the label output is a string tensor.")

        X, y = dataset("wine")
        Xtr, Xte, ytr, yte = split_data(X, y, 36)
        out["onnx_et_wine_regressor_softmax_zero_modes"] = partial(onnx_fixture,
            "onnx_et_wine_regressor_softmax_zero_modes",
            ExtraTreesClassifier(n_estimators=6, max_depth=5, random_state=36),
            Xtr, ytr, Xte, task="regression", zipmap=False,
            rewrite=as_legacy_regressor(n_targets=3, post_transform="SOFTMAX_ZERO",
                                        remode=partial(mixed_modes, categories={}),
                                        weight_fix=lambda w: w if w != 0 else 1e-9),
            notes="ExtraTreesClassifier(n_estimators=6, max_depth=5) on wine rewritten as an ai.onnx.ml opset 1 "
                  "TreeEnsembleRegressor with n_targets 3 (class i -> target i), post_transform SOFTMAX_ZERO, "
                  "splits cycling through BRANCH_LEQ / BRANCH_LT / BRANCH_GT / BRANCH_GTE (as in "
                  "onnx_tree_ensemble_member_modes) with missing_value_tracks_true on every third node, and zero "
                  "class weights replaced by 1e-9: onnxruntime's SOFTMAX_ZERO treats scores within 1e-7 of zero as "
                  "zero (scaled by exp(-max), left out of the sum).")

        Xtr, Xte, ytr, yte = split_data(X, y, 37)
        trees37 = 5
        out["onnx_rf_wine_tree_ensemble_probit_double"] = partial(onnx_fixture,
            "onnx_rf_wine_tree_ensemble_probit_double",
            RandomForestClassifier(n_estimators=trees37, max_depth=4, random_state=37),
            Xtr, ytr, Xte, task="regression", zipmap=False, double_input=True,
            rewrite=chain(with_double_tensors(sklearn_thresholds, forest_weight, prefix="class"),
                          as_tree_ensemble("class", 3, lambda est: dict(
                              dtype=np.float64, post_transform=4, per_target=True,
                              leaf_value=lambda t, n, w, target: [
                                  (target, 0.96 * dict(w).get(target, 0.0) + 0.02 / trees37)]))),
            notes="RandomForestClassifier(n_estimators=5, max_depth=4) on wine rewritten as an ai.onnx.ml opset 5 "
                  "TreeEnsemble on a DOUBLE input: sklearn's float64 thresholds, one tree per (forest tree, class) "
                  "with leaf weight 0.96 * class fraction / 5 + 0.02 / 5 so every target sum is inside (0, 1), "
                  "n_targets 3, post_transform 4 (PROBIT). The output is double. onnxruntime's PROBIT is "
                  "sqrt(2) * erfinv(2x - 1) with Winitzki's approximation of erfinv, off the exact value by up "
                  "to ~1e-4.")

        Xtr, Xte, ytr, yte = split_data(X, y, 38)
        out["onnx_et_wine_tree_ensemble_softmax"] = partial(onnx_fixture,
            "onnx_et_wine_tree_ensemble_softmax",
            ExtraTreesClassifier(n_estimators=4, max_depth=4, random_state=38),
            Xtr, ytr, Xte, task="regression", zipmap=False,
            rewrite=as_tree_ensemble("class", 3, lambda est: dict(
                dtype=np.float32, post_transform=2, per_target=True,
                leaf_value=lambda t, n, w, target: [(target, 4 * dict(w).get(target, 0.0))])),
            notes="ExtraTreesClassifier(n_estimators=4, max_depth=4) on wine rewritten as an ai.onnx.ml opset 5 "
                  "TreeEnsemble on a FLOAT input, one tree per (forest tree, class), leaf weight 4 * class "
                  "fraction / 4, n_targets 3, post_transform 2. onnxruntime reads 2 as SOFTMAX (its own enum's "
                  "order: NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO, PROBIT), although the TreeEnsemble "
                  "specification lists 2 as LOGISTIC; the expected values are softmax, as onnxruntime answers.")

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
