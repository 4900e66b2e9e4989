"""Make the compact replay set a shipped fault model carries beside its weights.

    .venv/bin/python tools/make_replay_set.py --data PATH/TO/cwru --model models/fault-cwru

(``../shared/data/cwru`` is an example of such a folder on a development checkout.)

Fine-tuning mixes a share of these windows into every batch so the model keeps its
original classes, and scores the validation windows before and after (the forgetting
check); see docs/finetune.md. The windows come from the model's own recordings, cut by the
structured split in its card: training windows from each file's training region, validation
windows from its validation region (hop half a window, picked at random with ``--seed``).
Stored as float16 (``replay.safetensors``, at most :data:`MAX_BYTES`), described in the
card's ``training_data.replay_set`` (file, windows per class, source files, sha256).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop.ml.constants import REPLAY_FILE
from desktop.ml.model_files.card import ModelCard
from desktop.ml.training.replay import replay_from_folder, write_replay_set

#: The replay set ships in the repository and the installer: keep it small.
MAX_BYTES = 3_000_000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="folder of CWRU .mat files")
    p.add_argument("--model", type=Path, required=True, help="model folder (card.json inside)")
    p.add_argument("--train-per-class", type=int, default=48)
    p.add_argument("--eval-per-class", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    card = ModelCard.load(args.model)
    data = replay_from_folder(card, args.data, args.seed,
                              per_class=(args.train_per_class, args.eval_per_class))
    if not data.available:
        print(f"make_replay_set: {data.note}", file=sys.stderr)
        return 1
    card.training_data["replay_set"] = write_replay_set(data, card, args.model)
    size = (args.model / REPLAY_FILE).stat().st_size
    if size > MAX_BYTES:
        (args.model / REPLAY_FILE).unlink()
        print(f"make_replay_set: {size} bytes is over {MAX_BYTES}; use fewer windows per class",
              file=sys.stderr)
        return 1
    card.save(args.model)
    info = card.training_data["replay_set"]
    print(f"wrote {args.model / REPLAY_FILE}: {size / 1e6:.2f} MB, "
          f"{sum(info['windows_per_class']['train'].values())} training + "
          f"{sum(info['windows_per_class']['validation'].values())} validation windows from "
          f"{len(info['source_files'])} files, sha256 {info['sha256'][:12]}…")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
