"""PNG charts of explanations: global importance and one customer's waterfall."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loyalty.explain import (
    OUTPUT_NAMES,
    VISIT_HISTORY,
    Explanations,
    importance_plot,
    waterfall_plot,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def explanations() -> Explanations:
    rng = np.random.default_rng(0)
    n, m = 30, 20
    names = (*(f"feature_{i}" for i in range(m)), VISIT_HISTORY)
    values = rng.normal(scale=0.05, size=(n, m + 1, len(OUTPUT_NAMES)))
    base = np.array([0.4, 0.4, 0.3, 0.2, 0.1])
    return Explanations(
        customer_ids=np.arange(100, 100 + n),
        feature_names=names,
        output_names=OUTPUT_NAMES,
        base_values=base,
        values=values,
        predictions=base + values.sum(axis=1),
        feature_values=rng.normal(size=(n, m + 1)),
    )


def _is_png(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 2000 and path.read_bytes()[:8] == PNG


def test_importance_plot(explanations: Explanations, tmp_path: Path) -> None:
    out = importance_plot(explanations, path=tmp_path / "plots" / "importance.png")
    assert out == tmp_path / "plots" / "importance.png" and _is_png(out)
    tier = importance_plot(explanations, "tier:gold", path=tmp_path / "gold.png",
                           max_features=50)
    assert _is_png(tier)


def test_waterfall_plot(explanations: Explanations, tmp_path: Path) -> None:
    out = waterfall_plot(explanations, 3, path=str(tmp_path / "w.png"))
    assert out == tmp_path / "w.png" and _is_png(out)
    assert _is_png(waterfall_plot(explanations, 0, "platinum", path=tmp_path / "p.png",
                                  max_features=40))


def test_unknown_output(explanations: Explanations, tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        importance_plot(explanations, "diamond", path=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
