"""The training experiment of an apply run's model bundle, read again for the report's evaluation: a
base being scored has no outcomes, so what the plan is worth can only be judged on the experiment."""

from __future__ import annotations

import copy
from typing import Any

from engine.errors import HookyardError
from engine.flow import Flow


def training_flow(pipeline: Any, cate_step: Any) -> Flow | None:
    """The bundle's fitting pipeline run again up to its cate step, with the bundle's fitted encoders
    (its source as saved: the experiment's rows with outcomes and treatments), or None when the run
    has no bundle, the bundle saved no pipeline or its source cannot be read now."""
    from engine.config import from_dict
    from engine.report import ROWS

    bundle = pipeline.bundle if getattr(pipeline, "model", None) else None
    document = None if bundle is None else copy.deepcopy(bundle.pipeline)
    if not document or cate_step.id not in bundle.plugins:
        return None
    ids = [step.get("id") for step in document.get("steps", [])]
    if cate_step.id not in ids:
        return None
    document["steps"] = document["steps"][:ids.index(cate_step.id) + 1]
    head = {k: v for k, v in document.get("pipeline", {}).items() if k not in ("report", "fit_sample")}
    document["pipeline"] = {**head, "model": str(bundle.path)}
    try:
        return from_dict(document, registry=pipeline.registry).run(collect=ROWS).flow
    except (HookyardError, OSError):
        return None
