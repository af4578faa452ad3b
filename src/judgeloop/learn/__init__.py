"""Learning from judgments: reward models, best-of-n re-ranking and DPO.

Needs the ``[train]`` extra. torch, transformers, trl and sentence-transformers are
imported inside the functions that use them, so importing this package (or anything
that imports it) stays light. Nothing here touches the database: the service reads and
writes the store, these functions take rows and files.

- `learn.data`: preference pairs from exported datasets (any format `export` writes).
- `learn.reward_cpu`: the default reward model (frozen or fine-tuned MiniLM + a
  Bradley-Terry head), trained on the CPU in minutes, saved in a versioned folder.
- `learn.reward_trl`: TRL's `RewardTrainer` for any local Hugging Face model (GPU).
- `learn.rerank`: best-of-n with any reward model.
- `learn.dpo`: TRL's `DPOTrainer` for a local policy model (GPU).
"""
