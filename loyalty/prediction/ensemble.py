"""Stacking: base models' out-of-fold predictions, combined by logistic regressions.

``fit`` runs every base model through a K-fold split (stratified on churn) so that each row
gets a prediction from a model that never saw it. Those out-of-fold predictions are

* the meta-features: the logit of each base model's churn probability, and the log of each
  base model's tier probabilities;
* the evidence for each base model (`oof_metrics_`): a base model earns its place when the
  ensemble with it scores better out of fold than without it.

The churn meta-learner is a logistic regression on the logits, i.e. Platt scaling of a
weighted vote: its output is a calibrated probability even where a base model is over- or
under-confident. The tier meta-learner is a multinomial logistic regression on the log
probabilities (a weighted geometric pooling, recalibrated). The ensemble's own out-of-fold
metrics come from refitting the meta-learners within the same folds, so they are not measured
on rows that fitted them. Finally every base model is refitted on all rows.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted
from tqdm import tqdm

from loyalty.prediction._base import (
    EPS,
    FORMAT_VERSION,
    as_predictions,
    check_feature_names,
    check_format,
    check_targets,
    empty_predictions,
    expand_classes,
    logit,
    params_from_json,
    read_json,
    write_json,
)
from loyalty.prediction.boosting import BoostingModel
from loyalty.prediction.inputs import TIERS, ModelInputs, Predictions
from loyalty.prediction.sequence import SequenceModel
from loyalty.prediction.tabular import TabularModel

MANIFEST = "manifest.json"
META_LEARNERS = "meta_learners.joblib"
ENSEMBLE = "ensemble"  # the key of the ensemble's own row in `oof_metrics_`
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

BaseModelSpec = Callable[[], Any] | Any  # a factory (class, function) or an unfitted estimator


class StackingEnsemble(BaseEstimator):
    """Churn and tier from several base models, stacked (see the module docstring).

    ``base_models`` maps a name (also the name of its folder when saved) to a factory of an
    unfitted model with the `TabularModel` API (``fit(inputs, churn, tier)``,
    ``predict_proba``, ``save``, classmethod ``load``), or to an unfitted estimator, which is
    cloned. ``None`` means `TabularModel`, `SequenceModel` and `BoostingModel` with their
    default parameters and ``seed``; ``use_boosting=False`` leaves out the base model named
    ``"boosting"``. ``meta_c`` is the inverse L2 strength of both meta-learners.
    """

    def __init__(self, base_models: Mapping[str, BaseModelSpec] | None = None, n_folds: int = 5,
                 seed: int = 0, use_boosting: bool = True, meta_c: float = 1.0,
                 progress: bool = False, verbose: int = 0) -> None:
        self.base_models = base_models
        self.n_folds = n_folds
        self.seed = seed
        self.use_boosting = use_boosting
        self.meta_c = meta_c
        self.progress = progress
        self.verbose = verbose

    # -- fitting -----------------------------------------------------------------------------

    def _factories(self) -> dict[str, Callable[[], Any]]:
        if self.base_models is None:
            specs: dict[str, BaseModelSpec] = {
                "tabular": functools.partial(TabularModel, seed=self.seed),
                "sequence": functools.partial(SequenceModel, seed=self.seed),
                "boosting": functools.partial(BoostingModel, seed=self.seed)}
        else:
            specs = dict(self.base_models)
        if not self.use_boosting:
            specs.pop("boosting", None)
        if not specs:
            raise ValueError("the ensemble needs at least one base model")
        for name in specs:
            if not _NAME.fullmatch(name) or name == ENSEMBLE:
                raise ValueError(f"base model name {name!r} must be a plain folder name "
                                 f"(letters, digits, _ . -) other than {ENSEMBLE!r}")
        return {name: _as_factory(spec) for name, spec in specs.items()}

    def fit(self, inputs: ModelInputs, churn: Any, tier: Any) -> StackingEnsemble:
        churn, tier = check_targets(inputs, churn, tier)
        factories = self._factories()
        names = tuple(factories)
        folds = list(StratifiedKFold(n_splits=self.n_folds, shuffle=True,
                                     random_state=self.seed).split(np.zeros(len(churn)), churn))
        oof_churn = np.zeros((len(inputs), len(names)))
        oof_tier = np.zeros((len(inputs), len(names), len(TIERS)))
        with tqdm(total=len(names) * (len(folds) + 1), desc="stacking", unit=" fit",
                  disable=not (self.progress or self.verbose)) as bar:
            for b, name in enumerate(names):
                for k, (train, held_out) in enumerate(folds):
                    bar.set_postfix_str(f"{name}, fold {k + 1}/{len(folds)}")
                    model = factories[name]().fit(inputs.take(train), churn[train], tier[train])
                    predicted = model.predict_proba(inputs.take(held_out))
                    oof_churn[held_out, b] = predicted.churn
                    oof_tier[held_out, b] = predicted.tier
                    bar.update()

            x_churn, x_tier = _churn_features(oof_churn), _tier_features(oof_tier)
            self.meta_churn_ = _fit_meta(x_churn, churn, self.meta_c)
            self.meta_tier_ = _fit_meta(x_tier, tier, self.meta_c)

            # The ensemble's out-of-fold predictions: meta-learners refitted without each fold.
            ens_churn = np.zeros(len(inputs))
            ens_tier = np.zeros((len(inputs), len(TIERS)))
            for train, held_out in folds:
                meta_churn = _fit_meta(x_churn[train], churn[train], self.meta_c)
                meta_tier = _fit_meta(x_tier[train], tier[train], self.meta_c)
                ens_churn[held_out] = _predict_churn(meta_churn, x_churn[held_out])
                ens_tier[held_out] = _predict_tier(meta_tier, x_tier[held_out])
            self.oof_metrics_ = {name: _metrics(churn, tier, oof_churn[:, b], oof_tier[:, b])
                                 for b, name in enumerate(names)}
            self.oof_metrics_[ENSEMBLE] = _metrics(churn, tier, ens_churn, ens_tier)

            fitted = {}
            for name in names:
                bar.set_postfix_str(f"{name}, all rows")
                fitted[name] = factories[name]().fit(inputs, churn, tier)
                bar.update()
        self._set_fitted(fitted, tuple(inputs.feature_names),
                         tuple(inputs.sequence_feature_names), int(inputs.sequences.shape[1]))
        return self

    def _set_fitted(self, base_models: dict[str, Any], feature_names: tuple[str, ...],
                    sequence_feature_names: tuple[str, ...], n_steps: int) -> None:
        self.base_models_ = base_models
        self.feature_names_ = feature_names
        self.sequence_feature_names_ = sequence_feature_names
        self.n_steps_ = n_steps
        names = tuple(base_models)
        self.meta_feature_names_ = {
            "churn": [f"logit_churn[{name}]" for name in names],
            "tier": [f"log_tier[{name}:{tier}]" for name in names for tier in TIERS]}
        self.meta_weights_ = {
            "churn": _weights(self.meta_churn_, self.meta_feature_names_["churn"],
                              ("stay", "churn")),
            "tier": _weights(self.meta_tier_, self.meta_feature_names_["tier"], TIERS)}

    # -- predicting ----------------------------------------------------------------------------

    def base_predictions(self, inputs: ModelInputs) -> dict[str, Predictions]:
        """Each base model's predictions (the models refitted on all rows)."""
        check_is_fitted(self, "base_models_")
        check_feature_names(inputs, self.feature_names_, self.sequence_feature_names_,
                            type(self).__name__)
        return {name: model.predict_proba(inputs) for name, model in self.base_models_.items()}

    def predict_proba(self, inputs: ModelInputs) -> Predictions:
        base = self.base_predictions(inputs)
        if len(inputs) == 0:
            return empty_predictions()
        churn = _churn_features(np.stack([p.churn for p in base.values()], axis=1))
        tier = _tier_features(np.stack([p.tier for p in base.values()], axis=1))
        return as_predictions(_predict_churn(self.meta_churn_, churn),
                              _predict_tier(self.meta_tier_, tier))

    # -- saving --------------------------------------------------------------------------------

    def save(self, path_dir: str | Path) -> Path:
        """One folder: ``manifest.json``, ``meta_learners.joblib`` and a subfolder per base
        model, written by that model's own ``save``."""
        check_is_fitted(self, "base_models_")
        path = Path(path_dir)
        path.mkdir(parents=True, exist_ok=True)
        entries = []
        for name, model in self.base_models_.items():
            model.save(path / name)
            kind = type(model)
            entries.append({"name": name, "path": name,
                            "class": f"{kind.__module__}.{kind.__qualname__}"})
        joblib.dump({"churn": self.meta_churn_, "tier": self.meta_tier_}, path / META_LEARNERS)
        params = self.get_params()
        params.pop("base_models")  # factories are code; the manifest names the classes instead
        write_json(path / MANIFEST, {
            "format_version": FORMAT_VERSION, "class": type(self).__name__, "params": params,
            "feature_names": self.feature_names_,
            "sequence_feature_names": self.sequence_feature_names_, "n_steps": self.n_steps_,
            "tiers": TIERS, "base_models": entries,
            "meta_features": self.meta_feature_names_, "oof_metrics": self.oof_metrics_,
            "meta_weights": self.meta_weights_})
        return path

    @classmethod
    def load(cls, path_dir: str | Path) -> StackingEnsemble:
        """The ensemble saved by `save`. Its ``base_models`` parameter becomes unfitted clones
        of the loaded base models, so refitting it trains the same kinds of models again."""
        path = Path(path_dir)
        manifest = read_json(path / MANIFEST)
        check_format(manifest, cls.__name__, path)
        base = {entry["name"]: _import_class(entry["class"]).load(path / entry["path"])
                for entry in manifest["base_models"]}
        meta = joblib.load(path / META_LEARNERS)
        params = params_from_json(manifest["params"])
        ensemble = cls(base_models={name: clone(model) for name, model in base.items()},
                       **params)
        ensemble.meta_churn_, ensemble.meta_tier_ = meta["churn"], meta["tier"]
        ensemble.oof_metrics_ = manifest["oof_metrics"]
        ensemble._set_fitted(base, tuple(manifest["feature_names"]),
                             tuple(manifest["sequence_feature_names"]), int(manifest["n_steps"]))
        return ensemble


def _as_factory(spec: BaseModelSpec) -> Callable[[], Any]:
    if isinstance(spec, type) or not hasattr(spec, "fit"):
        if not callable(spec):
            raise TypeError(f"a base model must be a factory or an estimator, got {spec!r}")
        return spec
    return functools.partial(clone, spec)


def _import_class(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    kind = getattr(importlib.import_module(module), name, None)
    if not isinstance(kind, type) or not hasattr(kind, "load"):
        raise ValueError(f"{dotted} is not a model class with a load method")
    return kind


def _churn_features(churn: np.ndarray) -> np.ndarray:
    """(n, B) churn probabilities -> (n, B) logits."""
    return logit(churn)


def _tier_features(tier: np.ndarray) -> np.ndarray:
    """(n, B, T) tier probabilities -> (n, B * T) log probabilities."""
    return np.log(np.clip(tier, EPS, 1.0)).reshape(len(tier), -1)


def _fit_meta(x: np.ndarray, y: np.ndarray, c: float) -> Any:
    if len(np.unique(y)) < 2:  # one class: nothing to weigh, predict it
        return DummyClassifier(strategy="prior").fit(x, y)
    return LogisticRegression(C=c, max_iter=2000).fit(x, y)


def _predict_churn(meta: Any, x: np.ndarray) -> np.ndarray:
    return expand_classes(meta.predict_proba(x), meta.classes_, 2)[:, 1]


def _predict_tier(meta: Any, x: np.ndarray) -> np.ndarray:
    return expand_classes(meta.predict_proba(x), meta.classes_, len(TIERS))


def _metrics(churn: np.ndarray, tier: np.ndarray, p_churn: np.ndarray,
             p_tier: np.ndarray) -> dict[str, float]:
    """Churn ROC-AUC (NaN with one class), Brier score and log-loss; tier macro-F1 (over the
    tiers present in the labels), accuracy and log-loss."""
    p_churn = np.clip(p_churn, EPS, 1.0 - EPS)
    p_tier = np.clip(p_tier, EPS, 1.0)
    p_tier = p_tier / p_tier.sum(axis=1, keepdims=True)
    predicted_tier = np.argmax(p_tier, axis=1)
    two_classes = len(np.unique(churn)) == 2
    return {
        "churn_roc_auc": float(roc_auc_score(churn, p_churn)) if two_classes else float("nan"),
        "churn_brier": float(brier_score_loss(churn, p_churn)),
        "churn_log_loss": float(log_loss(churn, p_churn, labels=[0, 1])),
        "tier_macro_f1": float(f1_score(tier, predicted_tier, average="macro",
                                        labels=np.unique(tier), zero_division=0)),
        "tier_accuracy": float(accuracy_score(tier, predicted_tier)),
        "tier_log_loss": float(log_loss(tier, p_tier, labels=np.arange(len(TIERS)))),
    }


def _weights(meta: Any, feature_names: list[str], class_names: tuple[str, ...]) -> dict[str, Any]:
    """A meta-learner's coefficients by name. A binary logistic regression has one row, for
    its second class; a multinomial one has a row per class seen in training."""
    classes = [class_names[int(c)] for c in meta.classes_]
    if isinstance(meta, DummyClassifier):
        return {"constant": dict(zip(classes, meta.class_prior_.tolist(), strict=True))}
    rows = classes[1:] if meta.coef_.shape[0] == 1 else classes
    return {"intercept": dict(zip(rows, meta.intercept_.tolist(), strict=True)),
            "coef": {row: dict(zip(feature_names, coef.tolist(), strict=True))
                     for row, coef in zip(rows, meta.coef_, strict=True)}}
