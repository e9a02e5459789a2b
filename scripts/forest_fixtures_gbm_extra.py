#!/usr/bin/env python3
"""Extra XGBoost / LightGBM fixtures for the forest engine's loaders, beyond scripts/forest_fixtures.py.

Each covers a semantic the main fixtures do not reach, in the same case.json format (it reuses that
script's helpers for rows, encoding and prediction):

  xgb_categorical       categorical splits (enable_categorical): listed categories go right, negative,
                        fractional-rounding-in-float32, huge and NaN categories
  xgb_dart_poisson      dart booster (weight_drop scales each tree) with count:poisson (exp, log base)
  xgb_multi_target      two regression targets in one tree (multi_output_tree, leaf_weights rows)
  lgb_rf_binary         boosting=rf: average_output divides the summed leaves by the iterations
  lgb_multiclassova     multiclassova with sigmoid:1.5, one unnormalised sigmoid per class
  lgb_poisson_constant  poisson (exp) whose first tree is a constant (num_leaves=1, empty split arrays)
  lgb_edge_zero_band    a hand-written model: stumps with thresholds in and around LightGBM's zero
                        band [-kZeroThreshold, kZeroThreshold] under every missing type and default side

Writes Tests/LocalModelsTests/Fixtures/forest/<name>/. Deterministic with the versions pinned in
scripts/requirements-forest.txt. Note that a full rerun of scripts/forest_fixtures.py clears the fixture
folder; rerun this script after it.

Usage: python3 scripts/forest_fixtures_gbm_extra.py [--only NAME ...]
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import forest_fixtures as ff  # noqa: E402

KZ = ff.f32(1e-35)  # LightGBM's kZeroThreshold, the float 1e-35f held in a double


def write_case(name, fmt, model_file, task, X, pred, margin, tags, n_classes, notes, reference, **more):
    case = {"name": name, "format": fmt, "model": model_file, "task": task, "feature_count": X.shape[1]}
    if task == "classification":
        case["class_labels"] = list(range(n_classes))
    case["inputs"] = ff.encode_matrix(X)
    if task == "classification":
        if pred.ndim == 1:
            case["expected_labels"] = [int(v > 0.5) for v in pred]
            case["expected_probabilities"] = ff.finite_rows(np.stack([1.0 - pred, pred], axis=1))
        else:
            case["expected_labels"] = [int(v) for v in np.argmax(pred, axis=1)]
            case["expected_probabilities"] = ff.finite_rows(pred)
    else:
        case["expected_values"] = ff.finite_rows(pred)
    case["margins"] = ff.finite_rows(margin)
    case["row_tags"] = tags
    case.update(more)
    case["reference"] = reference
    case["notes"] = notes + f" Versions: {ff.versions_text()}."
    ff.write_json(os.path.join(ff.FIXTURE_DIR, name, "case.json"), case)
    return case


# ---------------------------------------------------------------------------------------------
# XGBoost
# ---------------------------------------------------------------------------------------------


def xgb_trees_view(model_json):
    """The document as xgb_splits reads it: a dart booster keeps its trees one level down."""
    booster = model_json["learner"]["gradient_booster"]
    if booster["name"] == "dart":
        return {"learner": {"gradient_booster": booster["gbtree"]}}
    return model_json


def xgb_custom_fixture(name, params, rounds, X_train, y_train, X_test, *, task, n_classes, notes,
                       feature_types=None, edge_rows=None, n_splits=8):
    """ff.xgb_fixture for what it cannot train: categorical features and dart boosters."""
    import xgboost as xgb

    categorical = feature_types is not None
    params = dict(params, nthread=1, seed=0, tree_method="hist")
    dtrain = xgb.DMatrix(X_train, label=y_train, missing=np.nan, feature_types=feature_types,
                         enable_categorical=categorical, nthread=1)
    bst = xgb.train(params, dtrain, num_boost_round=rounds)
    out_dir = os.path.join(ff.FIXTURE_DIR, name)
    os.makedirs(out_dir, exist_ok=True)
    model_path = os.path.join(out_dir, "model.json")
    bst.save_model(model_path)
    with open(model_path) as f:
        model_json = json.load(f)
    splits, n_trees, depth = ff.xgb_splits(xgb_trees_view(model_json))
    if categorical:
        splits = [s for s in splits if feature_types[s.feature] != "c"]

    def variants(t):
        lo = ff.down32(t)
        return [("threshold", t), ("threshold+1ulp32", ff.up32(t)), ("threshold-1ulp32", lo),
                ("float64 just below threshold, rounds up to it in float32", t - (t - lo) * 0.25)]

    rng = np.random.RandomState(ff.SEED)
    # DMatrix refuses +-inf, as in ff.xgb_fixture.
    rows = ff.build_rows(X_test, splits, "lt", rng, n_splits=n_splits, variants=variants, inf=False,
                         extra=edge_rows)
    X = rows.matrix()
    bst = xgb.Booster(model_file=model_path)
    bst.set_param({"nthread": 1})
    d = xgb.DMatrix(X, missing=np.nan, feature_types=feature_types, enable_categorical=categorical, nthread=1)
    pred = np.asarray(bst.predict(d), dtype=np.float64)
    margin = np.asarray(bst.predict(d, output_margin=True), dtype=np.float64)
    if pred.ndim == 2 and n_classes == 2:
        pred = pred[:, 0]
    return write_case(
        name, "xgboost", "model.json", task, X, pred, margin, rows.tags, n_classes, notes=notes,
        reference="xgboost Booster(model_file).predict(DMatrix(X float64, missing=nan"
                  + (", feature_types, enable_categorical=True" if categorical else "")
                  + ")), nthread=1; margins = output_margin=True. Outputs are float32 stored exactly as doubles.",
        trees=n_trees, max_depth=depth, objective=model_json["learner"]["objective"]["name"],
        base_score_json=model_json["learner"]["learner_model_param"]["base_score"])


def xgb_categorical():
    rng = np.random.RandomState(31)
    n = 1200
    cat = rng.randint(0, 12, size=n).astype(np.float64)
    num = rng.normal(size=(n, 2))
    logit = np.where(np.isin(cat, [0, 3, 5, 8]), 1.5, -1.0) + num[:, 0] - 0.5 * num[:, 1]
    y = (rng.rand(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    X = np.column_stack([cat, num])
    X[rng.rand(n) < 0.05, 0] = np.nan

    def edge_rows(rows, pool):
        edge = [0.0, -0.0, -0.5, -1.0, -1e-30, 0.49999, 0.9999999999, 2.9999, 2.9999999999, 3.0, 3.5,
                5.99999999, 7.0, 8.0, 11.0, 12.0, 100.0, 1e6, 16777215.0, 16777216.0, 3.0e9, -3.0e9, 3.4e38,
                np.nan]
        for k, v in enumerate(edge):
            r = pool[k].copy()
            r[0] = v
            rows.add(r, f"category f0 = {v!r}")

    return xgb_custom_fixture(
        "xgb_categorical",
        {"objective": "binary:logistic", "max_depth": 3, "eta": 0.5, "max_cat_to_onehot": 1},
        8, X[:900], y[:900], X[900:], task="classification", n_classes=2, feature_types=["c", "q", "q"],
        edge_rows=edge_rows,
        notes="xgb.train binary:logistic, 8 rounds, max_depth 3, one categorical feature f0 (feature_types "
              "['c','q','q'], enable_categorical, max_cat_to_onehot 1 so splits are partition-based) with 5% NaN. "
              "XGBoost rounds f0 to float32, sends a NaN the default way, sends the listed categories "
              "(tree.categories) right and everything else left, including any negative value (-0.5 is no "
              "category) and anything from 2^24 up; 2.9999999999 rounds to 3.0 in float32.")


def xgb_dart_poisson():
    X, _ = ff.dataset("diabetes")
    rng = np.random.RandomState(32)
    y = rng.poisson(np.exp((X[:, 2] + X[:, 8]) * 8 + 1.0)).astype(np.float64)
    Xtr, Xte, ytr, yte = ff.split_data(X, y, 32, stratify=False)
    return xgb_custom_fixture(
        "xgb_dart_poisson",
        {"booster": "dart", "objective": "count:poisson", "max_depth": 3, "eta": 0.3, "rate_drop": 0.3,
         "skip_drop": 0.0, "sample_type": "uniform", "normalize_type": "tree"},
        12, Xtr, ytr, Xte, task="regression", n_classes=0,
        notes="xgb.train booster dart (rate_drop 0.3, so weight_drop differs from 1 for most trees), "
              "count:poisson on synthetic counts over diabetes features. Prediction scales each tree's leaf by "
              "its weight_drop in float32 and adds it to the float32 margin, which starts at log(base_score); "
              "the value is exp(margin).")


def xgb_multi_target():
    X, y = ff.dataset("diabetes")
    Y = np.column_stack([y, X[:, 2] * 100 + X[:, 3] * 50])
    Xtr, Xte, Ytr, Yte = ff.split_data(X, Y, 33, stratify=False)
    return xgb_custom_fixture(
        "xgb_multi_target",
        {"objective": "reg:squarederror", "multi_strategy": "multi_output_tree", "max_depth": 3, "eta": 0.3},
        6, Xtr, Ytr, Xte, task="regression", n_classes=0,
        notes="xgb.train reg:squarederror with two targets and multi_strategy multi_output_tree: each leaf "
              "holds one value per target (tree.leaf_weights, the leaf's right_children entry is its row), "
              "base_score holds one intercept per target. Values are the two float32 margins.")


# ---------------------------------------------------------------------------------------------
# LightGBM
# ---------------------------------------------------------------------------------------------


def lgb_rf_binary():
    X, y = ff.dataset("breast_cancer")
    rng = np.random.RandomState(41)
    Xn = ff.with_nans(X, rng, 0.05)
    Xtr, Xte, ytr, yte = ff.split_data(Xn, y, 41)
    return ff.lgb_fixture(
        "lgb_rf_binary",
        {"boosting": "rf", "objective": "binary", "num_leaves": 15, "bagging_fraction": 0.7, "bagging_freq": 1,
         "feature_fraction": 0.8, "min_data_in_leaf": 5},
        12, Xtr, ytr, Xte, task="classification", n_classes=2, n_splits=10,
        notes="lgb.train boosting rf (average_output in the header), binary, 12 iterations, bagging 0.7, "
              "breast_cancer with 5% NaN. predict divides the summed leaves by the 12 iterations before the "
              "sigmoid; raw_score (margins) is the undivided sum.")


def lgb_multiclassova():
    X, y = ff.dataset("wine")
    Xtr, Xte, ytr, yte = ff.split_data(X, y, 42)
    return ff.lgb_fixture(
        "lgb_multiclassova",
        {"objective": "multiclassova", "num_class": 3, "sigmoid": 1.5, "num_leaves": 7, "learning_rate": 0.2,
         "min_data_in_leaf": 5},
        8, Xtr, ytr, Xte, task="classification", n_classes=3, n_splits=10,
        notes="lgb.train multiclassova (one-vs-all), num_class 3, sigmoid 1.5, 8 iterations (24 trees), wine. "
              "predict returns 1 / (1 + exp(-1.5 s)) per class, not normalised; label = argmax.")


def lgb_booster_fixture(name, bst, X_test, *, task, n_classes, notes, n_splits=8):
    """ff.lgb_fixture for a booster trained here, in ways a single lgb.train call cannot."""
    import lightgbm as lgb

    out_dir = os.path.join(ff.FIXTURE_DIR, name)
    os.makedirs(out_dir, exist_ok=True)
    model_path = os.path.join(out_dir, "model.txt")
    bst.save_model(model_path)
    bst = lgb.Booster(model_file=model_path)
    splits, n_trees, depth = ff.lgb_splits(bst.dump_model())

    def variants(t):
        return [("threshold", t), ("threshold+1ulp64", ff.up64(t)), ("threshold-1ulp64", ff.down64(t)),
                ("float32(threshold)", ff.f32(t))]

    rows = ff.build_rows(X_test, splits, "le", np.random.RandomState(ff.SEED), n_splits=n_splits,
                         variants=variants)
    X = rows.matrix()
    pred, margin = ff.lgb_predict(model_path, X)
    return write_case(
        name, "lightgbm", "model.txt", task, X, pred, margin, rows.tags, n_classes, notes=notes,
        reference="lightgbm Booster(model_file).predict(X float64, num_threads=1); margins = raw_score=True.",
        trees=n_trees, max_depth=depth, objective=bst.dump_model()["objective"],
        decision_types=ff.lgb_decision_types(model_path))


def lgb_poisson_constant():
    """A constant tree (num_leaves=1) only arises where a first iteration cannot split: train that
    first, then continue from it (init_model)."""
    import lightgbm as lgb

    X, _ = ff.dataset("diabetes")
    rng = np.random.RandomState(43)
    y = rng.poisson(np.exp(X[:, 2] * 6 + 1.5)).astype(np.float64)
    Xtr, Xte, ytr, yte = ff.split_data(X, y, 43, stratify=False)
    params = {"objective": "poisson", "num_leaves": 5, "learning_rate": 0.3, "min_data_in_leaf": 20,
              "num_threads": 1, "seed": 0, "deterministic": True, "force_row_wise": True, "verbose": -1}
    ds = lgb.Dataset(Xtr, label=ytr, free_raw_data=False)
    first = lgb.train(dict(params, min_gain_to_split=1e12), ds, num_boost_round=1)
    assert first.dump_model()["tree_info"][0]["num_leaves"] == 1
    bst = lgb.train(params, ds, num_boost_round=8, init_model=first)
    return lgb_booster_fixture(
        "lgb_poisson_constant", bst, Xte, task="regression", n_classes=0,
        notes="lgb.train poisson: one iteration that cannot split (min_gain_to_split 1e12), which leaves a "
              "constant tree (num_leaves=1, empty split arrays) holding log(mean), then 8 more iterations "
              "continued from it (init_model), diabetes features, synthetic counts; predict returns exp(raw).")


def edge_model_text():
    """Stumps on 8 features, one threshold each, under decision types 0, 2, 4, 6, 8, 10 (missing type
    None / Zero / NaN, default right / left): 48 trees, leaf right = 2^(k-19), left = 0, so every
    tree's direction shows in the sum exactly."""
    thresholds = [0.0, KZ, -KZ, 5e-36, -5e-36, ff.up64(KZ), ff.down64(-KZ), 1e-300]
    decision_types = [0, 2, 4, 6, 8, 10]
    trees = []
    for d_index, decision in enumerate(decision_types):
        for f, t in enumerate(thresholds):
            k = d_index * len(thresholds) + f
            trees.append("\n".join([
                f"Tree={k}", "num_leaves=2", "num_cat=0", f"split_feature={f}", "split_gain=1",
                f"threshold={t!r}", f"decision_type={decision}", "left_child=-1", "right_child=-2",
                f"leaf_value=0 {2.0 ** (k - 19)!r}", "leaf_weight=1 1", "leaf_count=1 1", "internal_value=0",
                "internal_weight=2", "internal_count=2", "is_linear=0", "shrinkage=1"]) + "\n\n\n")
    names = " ".join(f"f{f}" for f in range(len(thresholds)))
    infos = " ".join("[-1:1]" for _ in thresholds)
    sizes = " ".join(str(len(t)) for t in trees)
    header = ["tree", "version=v4", "num_class=1", "num_tree_per_iteration=1", "label_index=0",
              f"max_feature_idx={len(thresholds) - 1}", "objective=regression", f"feature_names={names}",
              f"feature_infos={infos}", f"tree_sizes={sizes}", ""]
    return "\n".join(header) + "\n" + "".join(trees) + "end of trees\n\nfeature_importances:\n\npandas_categorical:null\n"


def lgb_edge_zero_band():
    import lightgbm as lgb

    name = "lgb_edge_zero_band"
    out_dir = os.path.join(ff.FIXTURE_DIR, name)
    os.makedirs(out_dir, exist_ok=True)
    model_path = os.path.join(out_dir, "model.txt")
    with open(model_path, "w") as f:
        f.write(edge_model_text())
    bst = lgb.Booster(model_file=model_path)

    values = [0.0, -0.0, KZ, -KZ, ff.up64(KZ), -ff.up64(KZ), ff.down64(KZ), -ff.down64(KZ), 1e-35, -1e-35,
              5e-36, -5e-36, ff.up64(5e-36), ff.down64(-5e-36), 1e-36, -1e-36, 5e-324, -5e-324, 1e-300, -1e-300,
              ff.up64(1e-300), ff.down64(1e-300), 2e-35, -2e-35, 1.0, -1.0, np.nan, np.inf, -np.inf]
    rows = ff.Rows(8)
    for v in values:
        rows.add(np.full(8, v), f"all features = {v!r}")
    rng = np.random.RandomState(44)
    for k in range(40):
        rows.add(np.array([values[i] for i in rng.randint(len(values), size=8)]), "mixed")
    X = rows.matrix()
    pred = np.asarray(bst.predict(X, num_threads=1), dtype=np.float64)
    margin = np.asarray(bst.predict(X, num_threads=1, raw_score=True), dtype=np.float64)
    return write_case(
        name, "lightgbm", "model.txt", "regression", X, pred, margin, rows.tags, 0,
        notes="Hand-written model (loaded by lightgbm, written here as is): 48 stumps, feature f carries "
              "threshold [0, kZ, -kZ, 5e-36, -5e-36, nextUp(kZ), nextDown(-kZ), 1e-300][f] with "
              "kZ = kZeroThreshold = float(1e-35), under decision_type 0, 2, 4, 6, 8, 10 (tree k: type "
              "index k // 8). Leaf right = 2^(k-19), left = 0. The C API reads any |x| <= kZ as 0.0 before "
              "the trees see it; missing type None then reads NaN as 0.0, Zero sends [-kZ, kZ] and NaN the "
              "default way, NaN sends NaN the default way.",
        reference="lightgbm Booster(model_file).predict(X float64, num_threads=1); margins = raw_score=True.",
        trees=48, objective="regression", decision_types=[0, 2, 4, 6, 8, 10])


FIXTURES = {
    "xgb_categorical": xgb_categorical,
    "xgb_dart_poisson": xgb_dart_poisson,
    "xgb_multi_target": xgb_multi_target,
    "lgb_rf_binary": lgb_rf_binary,
    "lgb_multiclassova": lgb_multiclassova,
    "lgb_poisson_constant": lgb_poisson_constant,
    "lgb_edge_zero_band": lgb_edge_zero_band,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="fixture names to (re)generate; default all")
    args = ap.parse_args()
    names = args.only or sorted(FIXTURES)
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        print("unknown fixtures:", ", ".join(unknown), file=sys.stderr)
        return 2
    print("versions:", ff.versions_text())
    for name in names:
        case = FIXTURES[name]()
        print(f"{name:24} {case['format']:9} {case['task']:15} {len(case['inputs']):>4} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
