"""Tabular models through the real binary: /v1/predict, the Open Inference Protocol v2,
row-level caching, hot swap of model files, feedback, and the batch-scoring command.

Expected outputs come from the committed engine fixtures (Tests/LocalModelsTests/Fixtures/forest,
written by scripts/forest_fixtures.py with onnxruntime, xgboost and lightgbm) and from
models/iris-forest.json for the shipped default model.
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import time
from pathlib import Path

import pytest

from harness import (
    ADMIN_TOKEN,
    REPO_ROOT,
    assert_openai_error,
    cache_status,
    copy_shipped_config,
    link_shipped_assets,
    metric_sum,
    parse_metrics,
    run_cli,
    tenant_id,
    toml_table,
    route_toml,
    wait_until,
    write_atomic,
)

FIXTURES = REPO_ROOT / "Tests" / "LocalModelsTests" / "Fixtures" / "forest"
IRIS = json.loads((REPO_ROOT / "models" / "iris-forest.json").read_text())
TOLERANCE = 1e-6


def fixture(name: str) -> dict:
    case = json.loads((FIXTURES / name / "case.json").read_text())
    case["path"] = FIXTURES / name / case["model"]
    return case


def json_rows(case: dict) -> list[tuple[int, list]]:
    """Fixture rows JSON can carry (NaN is null; rows with infinities are left out)."""
    return [(i, row) for i, row in enumerate(case["inputs"]) if not any(isinstance(v, str) for v in row)]


def forest_backend(name: str, path: Path, **options) -> str:
    values = {"type": "forest", "file": str(path)}
    values.update(options)
    return toml_table(f"[backends.{name}]", values)


def predict_route(name: str, models: list[str], backends: list, **options) -> str:
    return route_toml(name, kinds=["predict"], models=models, backends=backends, **options)


def assert_close(actual: list[float], expected: list[float], what: str) -> None:
    assert len(actual) == len(expected), f"{what}: {actual} vs {expected}"
    for a, e in zip(actual, expected):
        assert abs(a - e) <= TOLERANCE, f"{what}: {actual} vs {expected}"


CASES = ["onnx_rf_iris_zipmap", "onnx_gb_breast_cancer_binary_zipmap", "onnx_rf_diabetes_regressor",
         "xgb_binary_nan", "xgb_multiclass", "xgb_regression_deep", "lgb_binary_nan", "lgb_multiclass",
         "lgb_regression_zero_as_missing", "lgb_binary_categorical"]


@pytest.fixture(scope="module")
def tabular(request, tmp_path_factory, tollgate_bin):
    """A gateway serving one model per fixture format, plus a copy used for hot swaps."""
    from harness import module_gateway

    policies = []
    for name in CASES:
        case = fixture(name)
        # xgb_binary_nan always goes through the engine thread, so batching can be seen.
        options = {"inline_max_us": 0} if name == "xgb_binary_nan" else {}
        policies.append(forest_backend(name.replace("_", "-"), case["path"], **options))
        policies.append(predict_route(name, [name], [name.replace("_", "-")]))
    return module_gateway(request, tmp_path_factory, tollgate_bin, policies={"20-forest.toml": "\n".join(policies)})


# ------------------------------------------------------------------ the shipped default


def test_default_config_answers_predict_out_of_the_box(make_gateway, tmp_path):
    config = copy_shipped_config(tmp_path / "default")
    gw = make_gateway(start=False, config_text=config.read_text(), env={"TOLLGATE_ADMIN_TOKEN": ADMIN_TOKEN},
                      name="default")
    for policy in (tmp_path / "default" / "policies").glob("*.toml"):
        gw.write_policy(policy.name, policy.read_text(), atomic=False)
    link_shipped_assets(gw.workdir)
    gw.start()

    rows = [example["input"] for example in IRIS["examples"]]
    response = gw.post("/v1/predict", {"model": "iris", "inputs": rows})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "prediction" and body["model"] == "iris"
    assert body["classes"] == IRIS["class_labels"]
    for example, prediction in zip(IRIS["examples"], body["predictions"]):
        assert prediction["label"] == example["label"]
        assert_close(prediction["probabilities"], example["probabilities"], "iris default model")
    named = gw.post("/v1/predict", {"model": "iris", "inputs": [dict(zip(IRIS["feature_names"], rows[0]))]})
    assert named.json()["predictions"][0]["label"] == IRIS["examples"][0]["label"]

    assert gw.get("/v2/health/ready").status_code == 200
    meta = gw.get("/v2/models/iris").json()
    assert meta["name"] == "iris" and meta["inputs"][0]["shape"] == [-1, 4]
    assert [o["name"] for o in meta["outputs"]] == ["label", "probabilities"]
    infer = gw.post("/v2/models/iris/infer", {
        "id": "req-1",
        "inputs": [{"name": "input", "shape": [len(rows), 4], "datatype": "FP32", "data": rows}],
    })
    assert infer.status_code == 200, infer.text
    outputs = {o["name"]: o for o in infer.json()["outputs"]}
    assert infer.json()["id"] == "req-1"
    assert outputs["label"]["data"] == [e["label"] for e in IRIS["examples"]]
    assert outputs["probabilities"]["shape"] == [len(rows), 3]
    assert_close(outputs["probabilities"]["data"], [p for e in IRIS["examples"] for p in e["probabilities"]], "v2")
    assert "iris" in [m["id"] for m in gw.get("/v1/models").json()["data"]]


# ------------------------------------------------------------------ exactness through the gateway


@pytest.mark.parametrize("name", CASES)
def test_predictions_match_the_reference_library(tabular, name):
    case = fixture(name)
    rows = json_rows(case)
    response = tabular.post("/v1/predict", {"model": name, "inputs": [row for _, row in rows]})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == len(rows)
    for (index, _), prediction in zip(rows, predictions):
        if case["task"] == "classification":
            assert_close(prediction["probabilities"], case["expected_probabilities"][index], f"{name} row {index}")
            assert prediction["label"] == case["expected_labels"][index], f"{name} row {index}"
        else:
            assert_close([prediction["value"]], case["expected_values"][index], f"{name} row {index}")


def test_v2_infer_matches_the_reference_with_fp64_tensors(tabular):
    case = fixture("lgb_multiclass")
    rows = json_rows(case)[:20]
    data = [row for _, row in rows]
    response = tabular.post("/v2/models/lgb_multiclass/infer", {
        "inputs": [{"name": "input", "shape": [len(data), case["feature_count"]], "datatype": "FP64", "data": data}],
        "outputs": [{"name": "probabilities"}],
    })
    assert response.status_code == 200, response.text
    outputs = response.json()["outputs"]
    assert [o["name"] for o in outputs] == ["probabilities"]
    expected = [p for index, _ in rows for p in case["expected_probabilities"][index]]
    assert_close(outputs[0]["data"], expected, "v2 lgb_multiclass")


# ------------------------------------------------------------------ bad input


def test_bad_inputs_get_400_saying_what_was_expected(tabular):
    width = fixture("xgb_multiclass")["feature_count"]
    short = tabular.post("/v1/predict", {"model": "xgb_multiclass", "inputs": [[1.0, 2.0]]})
    error = assert_openai_error(short, 400, what="wrong feature count")
    assert f"takes {width} features" in error["message"] and error["param"] == "inputs[0]"
    text = tabular.post("/v1/predict", {"model": "xgb_multiclass", "inputs": [["a"] * width]})
    assert assert_openai_error(text, 400, what="strings")["param"] == "inputs[0][0]"
    named = tabular.post("/v1/predict", {"model": "onnx_rf_iris_zipmap", "inputs": [{"a": 1}]})
    assert "no feature names" in assert_openai_error(named, 400, what="objects without names")["message"]
    assert_openai_error(tabular.post("/v1/predict", {"model": "nope", "inputs": [[1]]}), 404, what="unknown model")
    assert_openai_error(tabular.post("/v1/predict", content=b'{"model": "xgb_multiclass", "inputs": [[1,'), 400,
                        what="truncated JSON")
    assert_openai_error(tabular.post("/v1/predict", {"inputs": [[1]]}), 400, what="no model")
    assert_openai_error(tabular.get("/v1/predict"), 405, what="GET predict")
    shape = tabular.post("/v2/models/xgb_multiclass/infer", {
        "inputs": [{"name": "input", "shape": [1, width + 1], "datatype": "FP32", "data": [0.0] * (width + 1)}]})
    assert f"expected [rows, {width}]" in assert_openai_error(shape, 400, what="v2 shape")["message"]
    assert_openai_error(tabular.get("/v2/models/nope"), 404, what="v2 unknown model")
    # The gateway still answers normally afterwards.
    good = tabular.post("/v1/predict", {"model": "xgb_multiclass", "inputs": [[0.0] * width]})
    assert good.status_code == 200


# ------------------------------------------------------------------ row-level cache


def test_rows_seen_before_are_not_computed_again(tabular):
    case = fixture("lgb_regression_zero_as_missing")
    rows = [row for _, row in json_rows(case)]
    first = tabular.post("/v1/predict", {"model": case["name"], "inputs": rows[:3]}, api_key="rows-tenant")
    assert first.status_code == 200
    assert cache_status(first).fwd == "miss" and first.headers["x-tollgate-computed-rows"] == "3"
    mixed = tabular.post("/v1/predict", {"model": case["name"], "inputs": [rows[1], rows[5], rows[0]]},
                         api_key="rows-tenant")
    status = cache_status(mixed)
    assert status.fwd == "partial" and "rows 2/3 cached" in status.raw, status.raw
    assert [p["cached"] for p in mixed.json()["predictions"]] == [True, False, True]
    assert mixed.json()["predictions"][0]["value"] == first.json()["predictions"][1]["value"]
    again = tabular.post("/v1/predict", {"model": case["name"], "inputs": [rows[5], rows[2]]}, api_key="rows-tenant")
    assert cache_status(again).hit and again.headers["x-tollgate-computed-rows"] == "0"
    assert "age" in again.headers
    # Another tenant does not read these rows.
    other = tabular.post("/v1/predict", {"model": case["name"], "inputs": [rows[5]]}, api_key="someone-else")
    assert cache_status(other).fwd == "miss"
    # Purge by model and tenant removes exactly the rows this tenant stored for it.
    purged = tabular.purge(model=case["name"], tenant=tenant_id("rows-tenant"))
    assert purged == 4, purged  # rows 0, 1, 2 and 5
    after = tabular.post("/v1/predict", {"model": case["name"], "inputs": [rows[5]]}, api_key="rows-tenant")
    assert cache_status(after).fwd == "miss"


def test_concurrent_single_rows_are_batched_and_all_correct(tabular):
    case = fixture("xgb_binary_nan")
    rows = json_rows(case)

    def one(item):
        index, row = item
        response = tabular.post("/v1/predict", {"model": case["name"], "inputs": [row]},
                                headers={"Cache-Control": "no-store"})
        assert response.status_code == 200, response.text
        return index, response.json()["predictions"][0]["probabilities"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(one, rows * 3))
    for index, probabilities in answers:
        assert_close(probabilities, case["expected_probabilities"][index], f"concurrent row {index}")
    samples = parse_metrics(tabular.admin("GET", "/metrics").text)
    backend = case["name"].replace("_", "-")
    batches = metric_sum(samples, lambda n, l: n == "tollgate_forest_engine_batches_total" and l.get("backend") == backend)
    requests = metric_sum(samples, lambda n, l: n == "tollgate_forest_engine_batch_requests_sum" and l.get("backend") == backend)
    assert requests >= len(answers) and 0 < batches < requests, (batches, requests)


# ------------------------------------------------------------------ hot swap, broken files, feedback


def test_model_file_replaced_in_place_is_hot_swapped_without_errors(make_gateway, tmp_path):
    model = tmp_path / "live.onnx"
    shutil.copy(fixture("onnx_rf_iris_zipmap")["path"], model)
    gw = make_gateway(policies={"30-live.toml": forest_backend("live", model, version="a")
                                + predict_route("live", ["live"], ["live"], cache={"enabled": False})})
    case = fixture("onnx_rf_iris_zipmap")
    row = json_rows(case)[0][1]
    before = gw.post("/v1/predict", {"model": "live", "inputs": [row]}).json()["predictions"][0]["probabilities"]
    assert_close(before, case["expected_probabilities"][0], "before the swap")

    errors, seen = [], set()
    stop = time.monotonic() + 20

    def hammer():
        while time.monotonic() < stop and len(seen) < 2:
            response = gw.post("/v1/predict", {"model": "live", "inputs": [row]})
            if response.status_code != 200:
                errors.append(response.text)
            else:
                seen.add(tuple(response.json()["predictions"][0]["probabilities"]))

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(hammer) for _ in range(4)]
        time.sleep(0.5)
        tmp = tmp_path / ".live.onnx.tmp"
        shutil.copy(REPO_ROOT / "models" / "iris-forest.onnx", tmp)
        tmp.replace(model)
        for future in futures:
            future.result()
    assert not errors, errors[:3]
    iris = next(e for e in IRIS["examples"])
    after = gw.post("/v1/predict", {"model": "live", "inputs": [iris["input"]]}).json()["predictions"][0]
    assert_close(after["probabilities"], iris["probabilities"], "after the swap")
    assert len(seen) == 2, "requests saw the old model, then the new one"


def test_a_broken_model_file_is_rejected_and_the_old_model_keeps_serving(make_gateway, tmp_path):
    model = tmp_path / "m.json"
    shutil.copy(fixture("xgb_multiclass")["path"], model)
    gw = make_gateway(policies={"30-m.toml": forest_backend("m", model) + predict_route("m", ["m"], ["m"])})
    case = fixture("xgb_multiclass")
    row = json_rows(case)[0][1]
    assert gw.post("/v1/predict", {"model": "m", "inputs": [row]}).status_code == 200
    write_atomic(model, model.read_text()[:5000])  # truncated
    reload = gw.reload_policies()
    assert reload.status_code in (400, 409, 422), reload.text
    assert "m.json" in reload.text
    answer = gw.post("/v1/predict", {"model": "m", "inputs": [row]}, headers={"Cache-Control": "no-cache"})
    assert answer.status_code == 200
    assert_close(answer.json()["predictions"][0]["probabilities"], case["expected_probabilities"][0], "old model")


def test_feedback_updates_the_rolling_accuracy_metric(tabular):
    case = fixture("onnx_rf_iris_zipmap")
    rows = json_rows(case)[:10]
    answer = tabular.post("/v1/predict", {"model": case["name"], "inputs": [r for _, r in rows]}).json()
    truths = [case["expected_labels"][i] for i, _ in rows]
    truths[0] = next(label for label in case["class_labels"] if label != answer["predictions"][0]["label"])
    reply = tabular.post("/v1/feedback", {"id": answer["id"], "labels": truths})
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == 10
    assert abs(reply.json()["models"][0]["accuracy"] - 0.9) < 1e-9
    twice = tabular.post("/v1/feedback", {"feedback": [{"id": answer["predictions"][1]["id"], "label": truths[1]}]})
    assert twice.json()["duplicates"] == 1
    unknown = tabular.post("/v1/feedback", {"feedback": [{"id": "pred_nothing-0", "label": 1}]})
    assert assert_openai_error(unknown, 404, what="unknown prediction")["code"] == "prediction_not_found"
    samples = parse_metrics(tabular.admin("GET", "/metrics").text)
    accuracy = metric_sum(samples, lambda n, l: n == "tollgate_model_accuracy" and l.get("model") == case["name"])
    assert abs(accuracy - 0.9) < 1e-9


# ------------------------------------------------------------------ command line


def test_check_config_names_a_model_that_does_not_load(tollgate_bin, tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "config.toml").write_text('[server]\npolicies_dir = "policies"\n')
    (tmp_path / "bad.txt").write_text("tree\nversion=v4\nnum_class=1\n")
    (tmp_path / "policies" / "p.toml").write_text(
        forest_backend("bad", tmp_path / "bad.txt") + predict_route("bad", ["bad"], ["bad"]))
    result = run_cli(tollgate_bin, "check-config", "--config", str(tmp_path / "config.toml"), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "p.toml:1: backends.bad.file:" in result.stdout + result.stderr
    assert "bad.txt" in result.stdout + result.stderr


def test_predict_command_scores_csv_and_json_in_input_order(tollgate_bin, tmp_path):
    case = fixture("lgb_binary_nan")
    rows = json_rows(case)
    csv = tmp_path / "rows.csv"
    lines = ["id," + ",".join(f"f{i}" for i in range(case["feature_count"]))]
    names = [f"f{i}" for i in range(case["feature_count"])]
    for index, row in rows:
        lines.append(f"r{index}," + ",".join("" if v is None else repr(v) for v in row))
    csv.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = run_cli(tollgate_bin, "predict", "--model", str(case["path"]), "--input", str(csv), "--output", str(out),
                     "--feature-names", ",".join(names))
    assert result.returncode == 0, result.stderr
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(scored) == len(rows)
    for (index, _), answer in zip(rows, scored):
        assert_close(answer["probabilities"], case["expected_probabilities"][index], f"csv row {index}")
        assert answer["label"] == case["expected_labels"][index]

    regression = fixture("xgb_regression_deep")
    data = tmp_path / "rows.json"
    data.write_text(json.dumps([row for _, row in json_rows(regression)]))
    result = run_cli(tollgate_bin, "predict", "--model", str(regression["path"]), "--input", str(data))
    assert result.returncode == 0, result.stderr
    values = [json.loads(line)["value"] for line in result.stdout.splitlines()]
    expected = [regression["expected_values"][i][0] for i, _ in json_rows(regression)]
    assert_close(values, expected, "json regression")

    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n")
    failed = run_cli(tollgate_bin, "predict", "--model", str(case["path"]), "--input", str(bad))
    assert failed.returncode != 0 and "bad.csv:1" in failed.stderr, failed.stderr
