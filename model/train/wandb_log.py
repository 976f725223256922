"""Optional Weights & Biases logging of the training metrics (issue 19.5), beside
``metrics.jsonl`` and TensorBoard (``model/train/metrics.py``), never instead of them.

Off by default and never required: ``wandb`` is the ``wandb`` extra, imported only when
``m6 pretrain --wandb PROJECT`` asks for it (without it the command says
``install m6[wandb]: pip install 'm6[wandb]'`` and exits 2, ``m6/cli.py``). Only metrics go to
W&B (the numbers of each ``MetricsLogger.log`` record under ``<kind>/<name>``, as in TensorBoard,
and the resolved run config, beside W&B's own system metrics); no checkpoint, data, code, git
state or console output is sent.

A run folder keeps its W&B run id in ``wandb-run-id``, so a resumed training continues the same
W&B run (``resume="allow"``) instead of starting a second one, the way torchtitan and Lightning
resume their W&B runs. Where W&B sends the data is W&B's own setting: ``--wandb-mode offline``
(or ``WANDB_MODE=offline``) writes the run under ``<run folder>/wandb/`` for a later
``wandb sync``; ``online`` needs ``wandb login``.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_ID_FILE = "wandb-run-id"
MODES = ("online", "offline", "disabled")


@dataclass(frozen=True)
class WandbOptions:
    """Where the metrics of a run go in W&B. ``mode`` None leaves it to W&B's own settings
    (``WANDB_MODE``, ``wandb login``)."""

    project: str
    name: str | None = None
    entity: str | None = None
    mode: str | None = None

    def __post_init__(self) -> None:
        if not self.project.strip():
            raise ValueError("--wandb needs a project name")
        if self.mode is not None and self.mode not in MODES:
            raise ValueError(f"W&B mode must be one of {', '.join(MODES)}, got {self.mode!r}")


def run_id(out_dir: Path) -> str:
    """The W&B run id of the run folder ``out_dir``: read, or made and written once."""
    path = out_dir / RUN_ID_FILE
    if path.is_file():
        rid = path.read_text(encoding="utf-8").strip()
        if re.fullmatch(r"[a-z0-9]{1,64}", rid):
            return rid
    rid = secrets.token_hex(4)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(rid + "\n", encoding="utf-8")
    tmp.replace(path)
    return rid


def scalars(values: dict[str, Any], kind: str) -> dict[str, float]:
    """The finite numbers of one metrics record, named ``<kind>/<name>`` like TensorBoard's."""
    return {f"{kind}/{k}": v for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


class WandbSink:
    """One W&B run for the main rank of a training run."""

    def __init__(self, options: WandbOptions, out_dir: str | Path, config: dict[str, Any]):
        import wandb  # the optional extra: only here, only when asked for

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=options.project, entity=options.entity, name=options.name,
            mode=options.mode, dir=str(out), id=run_id(out), resume="allow", config=config,
            # metrics, not the console (tqdm's bar stays on the terminal), no code, git state
            # or launch job of the user's checkout
            settings=wandb.Settings(console="off", save_code=False, disable_code=True,
                                    disable_git=True, disable_job_creation=True),
        )

    def log(self, step: int, values: dict[str, Any], kind: str) -> None:
        data = scalars(values, kind)
        if data:
            self.run.log(data, step=step)

    def close(self) -> None:
        import wandb

        self.run.finish()
        # wandb's core process writes the run file after finish() returns; without teardown,
        # which waits for it, an offline run file here was left with only its 7-byte header in
        # 1 of 4 runs when the process ended right after training
        wandb.teardown()
