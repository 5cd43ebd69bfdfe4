"""LightGBM on exactly the inputs of our hybrid model, scored by the same metrics.

    npx demand-insights eval cdnow --data ../shared/data/cdnow/CDNOW_master.txt --export-folds .local/folds
    pip install lightgbm pandas        # numpy comes with them
    python3 bench/lightgbm_cross_check.py .local/folds --json

`--export-folds` writes each cross-fitting fold's training and test rows as our learners see
them (BTYD fitted inside the training fold, the same inner early-stopping group) and our pooled
out-of-fold predictions. This script fits LightGBM per fold on the same rows, stops it early on
the same inner group, rescales CLV to the training customers' total as our model does, and
prints the pooled metrics of both. It answers one question: is a figure ours misses reachable
by a mature gradient-boosting library on the same features?

Python because LightGBM is the reference the protocol measures (no JavaScript binding exists);
it is a cross-check run by hand, not part of `npm test`.
"""

import argparse
import json
import math
import os
import sys

import lightgbm as lgb
import numpy as np
import pandas as pd

ID = "customer_id"
META = [ID, "inner_group", "churned", "spend"]
BASE = dict(learning_rate=0.03, num_leaves=15, min_data_in_leaf=40, verbose=-1, seed=1, deterministic=True, num_threads=1)

# name -> (objective parameters, base margin from the BTYD CLV as ours uses)
CLV_VARIANTS = {
    "tweedie-1.5": (dict(objective="tweedie", tweedie_variance_power=1.5), False),
    "tweedie-1.5+btyd-margin": (dict(objective="tweedie", tweedie_variance_power=1.5, num_leaves=7, lambda_l2=10), True),
    "tweedie-1.7+btyd-margin": (dict(objective="tweedie", tweedie_variance_power=1.7, num_leaves=7, lambda_l2=10), True),
    "tweedie-1.9+btyd-margin": (dict(objective="tweedie", tweedie_variance_power=1.9, num_leaves=7, lambda_l2=10), True),
    # The best of some twenty-five LightGBM settings tried by hand on CDNOW.
    "tweedie-1.8+btyd-margin+bagging": (
        dict(objective="tweedie", tweedie_variance_power=1.8, num_leaves=7, lambda_l2=10, bagging_fraction=0.7, bagging_freq=1, feature_fraction=0.7),
        True,
    ),
}


def read(path):
    return pd.read_csv(path, dtype={ID: str}, keep_default_na=False)


def average_ranks(values):
    return pd.Series(values).rank(method="average").to_numpy()


def roc_auc(scores, labels):
    ranks = average_ranks(scores)
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return (ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def id_key(customer_id):
    # The protocols order integer ids numerically ("9" < "10"), others as strings.
    return (0, int(customer_id), "") if customer_id.isdigit() else (1, 0, customer_id)


def top_share(predictions, targets, ids, fraction=0.1):
    order = sorted(range(len(ids)), key=lambda i: (-predictions[i], id_key(ids[i])))
    k = math.ceil(fraction * len(ids))
    return targets[order[:k]].sum() / targets.sum()


def clv_metrics(predictions, targets, ids):
    spearman = np.corrcoef(average_ranks(predictions), average_ranks(targets))[0, 1]
    return {
        "mae": float(np.abs(predictions - targets).mean()),
        "rmse": float(np.sqrt(((predictions - targets) ** 2).mean())),
        "spearman": float(spearman),
        "top10Share": float(top_share(predictions, targets, ids)),
        "totalRatio": float(predictions.sum() / targets.sum()),
    }


def churn_metrics(probabilities, churned):
    return {"rocAuc": float(roc_auc(probabilities, churned)), "brier": float(((probabilities - churned) ** 2).mean())}


def boost(params, train, target, features, margin=None):
    held = train.inner_group == 0
    margin = np.zeros(len(train)) if margin is None else margin
    fit = lgb.Dataset(train.loc[~held, features], target[~held], init_score=margin[~held])
    stop = lgb.Dataset(train.loc[held, features], target[held], init_score=margin[held])
    return lgb.train({**BASE, **params}, fit, 5000, valid_sets=[stop], callbacks=[lgb.early_stopping(200, verbose=False)])


def btyd_margin(table):
    return np.log(np.maximum(table.btydClv.to_numpy(), 0.01))


def fold_predictions(train, test):
    features = [c for c in train.columns if c not in META]
    out = {"churn": None, "clv": {}}
    churn = boost(dict(objective="binary"), train, train.churned.to_numpy(), features)
    out["churn"] = churn.predict(test[features])
    for name, (params, with_margin) in CLV_VARIANTS.items():
        margins = (btyd_margin(train), btyd_margin(test)) if with_margin else (None, None)
        model = boost(params, train, train.spend.to_numpy(), features, margins[0])
        def raw(table, margin):
            score = model.predict(table[features], raw_score=True)
            return np.exp(score + (0 if margin is None else margin))
        scale = train.spend.sum() / raw(train, margins[0]).sum()
        out["clv"][name] = raw(test, margins[1]) * scale
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folds", help="directory written by `eval --export-folds`")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()

    ours = read(os.path.join(args.folds, "predictions.csv"))
    pooled = {"ids": [], "churned": [], "spend": [], "churn": [], "clv": {name: [] for name in CLV_VARIANTS}}
    fold = 0
    while os.path.exists(os.path.join(args.folds, f"fold{fold}_train.csv")):
        train = read(os.path.join(args.folds, f"fold{fold}_train.csv"))
        test = read(os.path.join(args.folds, f"fold{fold}_test.csv"))
        predicted = fold_predictions(train, test)
        pooled["ids"] += list(test[ID])
        pooled["churned"].append(test.churned.to_numpy())
        pooled["spend"].append(test.spend.to_numpy())
        pooled["churn"].append(predicted["churn"])
        for name in CLV_VARIANTS:
            pooled["clv"][name].append(predicted["clv"][name])
        fold += 1
    if fold == 0:
        sys.exit(f"{args.folds}: no fold0_train.csv; run `eval --export-folds {args.folds}` first")

    ids = pooled["ids"]
    churned = np.concatenate(pooled["churned"])
    spend = np.concatenate(pooled["spend"])
    ours = ours.set_index(ID).loc[ids]
    result = {
        "customers": len(ids),
        "ours": {
            "churn": churn_metrics(ours.churn_probability.to_numpy(), churned),
            "clv": clv_metrics(ours.clv.to_numpy(), spend, ids),
        },
        "lightgbm": {
            "churn": churn_metrics(np.concatenate(pooled["churn"]), churned),
            "clv": {name: clv_metrics(np.concatenate(parts), spend, ids) for name, parts in pooled["clv"].items()},
        },
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{len(ids)} customers, {fold} folds, pooled out-of-fold")
    print(f"{'churn':40} {'ROC-AUC':>8} {'Brier':>8}")
    for name, metrics in (("ours", result["ours"]["churn"]), ("lightgbm binary", result["lightgbm"]["churn"])):
        print(f"{name:40} {metrics['rocAuc']:8.4f} {metrics['brier']:8.4f}")
    print(f"{'clv':40} {'MAE':>8} {'RMSE':>8} {'Spearman':>9} {'top-10%':>8} {'ratio':>7}")
    rows = [("ours", result["ours"]["clv"])] + [(f"lightgbm {name}", m) for name, m in result["lightgbm"]["clv"].items()]
    for name, m in rows:
        print(f"{name:40} {m['mae']:8.3f} {m['rmse']:8.2f} {m['spearman']:9.4f} {m['top10Share']:8.4f} {m['totalRatio']:7.4f}")


if __name__ == "__main__":
    main()
